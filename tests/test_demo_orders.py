"""The demo load mails a few purchase orders through the real intake: `worker dev` shows the review queue's Orders.

Before, the demo loaded a year of CDC events and reference data only: the Orders tab stayed empty, and the
product's second half (PDF order by email -> parsed, matched -> human review) was never seen in dev.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from worker.demo import (
    HISTORY_SKIPPED,
    LOADED,
    MARK,
    ORDERS_PENDING,
    load_demo_if_empty,
)
from worker.demo_orders import (
    DATE_FORMATS,
    ORDERS,
    ORDERS_DIR,
    PO_DATE_MARK,
    SHIP_DATE_MARK,
    dated,
    mail_demo_orders,
)
from worker.env import Env
from worker.intake import pipeline
from worker.intake.store import spool_dir
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.storage import Bucket

NOW = datetime(2026, 11, 20, 16, 45, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
ITEMS = """
SELECT r.status, r.customer_id, r.po_number, r.line_count, r.flags_json, r.parsed_json, r.pdf_key, e.door, e.sender,
       e.status
FROM review_items r JOIN inbound_email_log e ON e.id = r.email_id ORDER BY r.id
"""
STAGE = "SELECT outcome FROM webhook_receipts WHERE event_id = ? AND source = 'demo'"
COUNTS = "SELECT (SELECT count(*) FROM inbound_email_log), (SELECT count(*) FROM review_items)"


@pytest.fixture
async def demo(env: Env):
    """env after `worker dev`'s demo load at NOW."""
    env.clock = lambda: NOW
    try:
        assert await load_demo_if_empty(env) is not None
        yield env
    finally:
        await pipeline.shutdown(env)


async def test_the_demo_orders_are_in_the_review_queue_as_the_intake_left_them(demo: Env) -> None:
    rows = [tuple(r) for r in await demo.db.fetchall(ITEMS)]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("pending", "1187", "DF-458120", 5), ("pending", "1187", "DF-458133", 3), ("pending", "1203", "RUSD-PO-26114", 3)]
    flags = [{(f["code"], f.get("line_no")) for f in json.loads(r[4])} for r in rows]
    assert flags[0] == set() and flags[2] == set()  # clean: every line matched by its code at the program price
    assert flags[1] == {("price_deviation", 1), ("unknown_item", 3)}
    contacts = {r[0] for r in await demo.db.fetchall("SELECT lower(email) FROM customer_contacts")}
    assert {(r[7], r[9]) for r in rows} == {("demo", "processed")} and {r[8] for r in rows} <= contacts
    today = NOW.astimezone(demo.settings.timezone).date()
    for order, row in zip(ORDERS, rows, strict=True):
        parsed = json.loads(row[5])
        assert parsed["po_date"] == (today - timedelta(days=order.days_before)).isoformat()
        assert parsed["requested_ship_date"] == (today + timedelta(days=order.ship_after)).isoformat()
        assert all(line["item_id"] for line in parsed["lines"]) or order.po_number == "DF-458133"
        pdf = await demo.bucket.get(row[6])  # stored as real mail's PDFs are
        assert pdf.startswith(b"%PDF")
        for fmt in DATE_FORMATS:
            assert PO_DATE_MARK.strftime(fmt).encode() not in pdf and SHIP_DATE_MARK.strftime(fmt).encode() not in pdf


async def test_a_resumed_or_repeated_load_mails_no_order_twice(demo: Env) -> None:
    before = tuple(await demo.db.fetchone(COUNTS))
    assert before == (3, 3)
    await demo.db.write(lambda conn: conn.execute(
        "UPDATE webhook_receipts SET outcome = ? WHERE event_id = ? AND source = 'demo'", (HISTORY_SKIPPED, MARK)))
    demo.clock = lambda: LATER  # a restart: the load resumes the year that ended at NOW
    summary = await load_demo_if_empty(demo)
    assert summary is not None and summary["resumed"] and summary["orders"] == ["skipped"] * 3
    assert tuple(await demo.db.fetchone(COUNTS)) == before
    assert await load_demo_if_empty(demo) is None  # loaded: nothing happens
    assert tuple(await demo.db.fetchone(COUNTS)) == before


@pytest.mark.parametrize("endpoint", ["", "s3"])
async def test_without_a_bucket_the_demo_has_no_orders_and_spools_nothing(env: Env, endpoint: str) -> None:
    # No endpoint (every call unavailable), or a bucket not created yet (a test's live server: tests/test_demo.py).
    env.bucket = Bucket(endpoint and env.bucket.endpoint, "not-created")
    assert await mail_demo_orders(env, NOW) is None
    assert not spool_dir(env).exists() or not any(spool_dir(env).iterdir())


async def test_orders_a_load_could_not_mail_are_mailed_at_the_next_start(env: Env) -> None:
    # Before, the load was marked done without them: a bucket down at the first `worker dev` meant no orders, ever.
    env.clock, bucket = (lambda: NOW), env.bucket
    env.bucket = Bucket(bucket.endpoint, "not-created")
    try:
        summary = await load_demo_if_empty(env)
        assert summary is not None and summary["orders"] is None
        assert tuple(await env.db.fetchone(COUNTS)) == (0, 0)
        assert (await env.db.fetchone(STAGE, (MARK,)))[0] == ORDERS_PENDING
        assert await load_demo_if_empty(env) is None  # still down: nothing mailed, nothing else redone
        events = (await env.db.fetchone("SELECT count(*) FROM events"))[0]
        env.bucket, env.clock = bucket, (lambda: LATER)  # it answers at a later start
        assert await load_demo_if_empty(env) == {"orders": ["processed"] * 3, "resumed": True}
        assert tuple(await env.db.fetchone(COUNTS)) == (3, 3)
        dates = [json.loads(r[5])["po_date"] for r in await env.db.fetchall(ITEMS)]
        today = NOW.astimezone(env.settings.timezone).date()  # the year's end, not the later start's day
        assert dates == [(today - timedelta(days=o.days_before)).isoformat() for o in ORDERS]
        assert (await env.db.fetchone(STAGE, (MARK,)))[0] == LOADED
        assert (await env.db.fetchone("SELECT count(*) FROM events"))[0] >= events  # no year replayed
        assert await load_demo_if_empty(env) is None
    finally:
        await pipeline.shutdown(env)


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: o.file)
def test_each_pdf_takes_its_dates_in_place_of_the_placeholders(order) -> None:
    pdf = (ORDERS_DIR / order.file).read_bytes()
    po = parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=PO_DATE_MARK))
    assert (po.po_number, po.po_date, po.requested_ship_date) == (order.po_number, PO_DATE_MARK, SHIP_DATE_MARK)
    day = NOW.date()
    moved = dated(pdf, day, day + timedelta(days=3))
    assert len(moved) == len(pdf)  # same length: the xref's offsets still hold
    again = parse_purchase_order(extract_pdf(moved, 50), ParseHints(today=day))
    assert (again.po_date, again.requested_ship_date) == (day, day + timedelta(days=3))
    assert again.lines == po.lines and again.total == po.total
    assert [f for f in again.findings if f.severity == "error"] == []
    assert [f for f in po.findings if f.severity == "error"] == []
