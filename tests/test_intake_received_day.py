"""An email's POs are judged as of the day it arrived, not the day an attempt finally read it (a retry after a
Claude outage may come days later)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from tests.test_email_fixtures import order_pdf
from tests.test_intake_audit import _customer_mail
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw


async def test_a_ship_date_still_ahead_on_arrival_is_no_finding_when_read_days_later(seeded):
    pdf, expected = order_pdf("classic_grid", seed=12)
    ship = expected.requested_ship_date
    real = seeded.clock
    try:
        seeded.clock = lambda: datetime.combine(ship - timedelta(days=1), time(15), UTC)
        received = await accept_raw(seeded, _customer_mail(pdf), door="http")
        seeded.clock = lambda: datetime.combine(ship + timedelta(days=3), time(15), UTC)  # after an outage
        assert await process_email(seeded, received.email_id) == "processed"
    finally:
        seeded.clock = real
    [parsed] = [json.loads(r[0]) for r in await seeded.db.fetchall(
        "SELECT parsed_json FROM review_items WHERE email_id = ?", (received.email_id,))]
    # Was: "requested ship date … had passed when the order was received (<the retry's day>)".
    assert "ship_date_past" not in {f["code"] for f in parsed.get("findings", [])}
