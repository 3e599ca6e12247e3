"""The SMTP door queues a message by its id, not its bytes: the background task reads it back from the bucket.

Each task waits for one of CONCURRENT_EMAILS intake slots; it held its whole message (up to 25 MB) all that while,
so 20 queued 15 MB messages grew the server by 300 MB (SPEC 5.1: stream, don't hold copies).
"""

from __future__ import annotations

import asyncio
import gc
import os
import smtplib
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

import handlers.smtp
from tests.helpers import LiveServer, live_server, wait_for
from tests.test_email_fixtures import (
    DRISCOLL,
    order_email,
    order_pdf,
    refusing_s3,
    seed_reference,
)
from worker.intake import pipeline
from worker.intake.pipeline import process_email
from worker.seaweed import free_port
from worker.storage import Bucket
from worker.tiers import run_tier

BIG = 3_000_000


@pytest.fixture
def held(make_env, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LiveServer, list[Any]]]:
    """The app with its SMTP door, both intake slots taken (release them with `release`), and what each call of
    `schedule` from the SMTP door was given."""
    scheduled: list[Any] = []

    def spy(env, email_id, source=None):
        scheduled.append(source)
        pipeline.schedule(env, email_id, source)

    monkeypatch.setattr(handlers.smtp, "schedule", spy)
    env = make_env(smtp_port=free_port())
    env.extras["intake_slots"] = asyncio.Semaphore(0)  # as if two long emails held both slots
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        live.run(env.db.write(seed_reference))
        yield live, scheduled


async def _release(live: LiveServer) -> None:
    slots: asyncio.Semaphore = live.env.extras["intake_slots"]  # type: ignore[assignment]
    for _ in range(pipeline.CONCURRENT_EMAILS):
        slots.release()


def _send(live: LiveServer, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", live.env.smtp_port, timeout=60) as client:
        assert client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], raw) == {}


def _log(live: LiveServer) -> list[dict]:
    return [dict(r) for r in live.run(live.env.db.fetchall("SELECT * FROM inbound_email_log ORDER BY id"))]


def _done(live: LiveServer, n: int) -> list[dict] | None:
    rows = _log(live)
    return rows if len(rows) == n and all(r["status"] not in ("received", "processing") for r in rows) else None


def _big(n: int) -> bytes:
    return order_email([(f"scan-{n}.bin", os.urandom(BIG))], ctype="application/octet-stream", subject=f"big {n}")


def test_queued_smtp_mail_holds_no_copy_of_its_bytes_and_is_still_read(held) -> None:
    live, scheduled = held
    orders = [order_pdf("classic_grid", seed=seed) for seed in (41, 42)]
    for pdf, _ in orders:
        _send(live, order_email([("po.pdf", pdf)]))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(4):  # 12 MB waiting for a slot
            _send(live, _big(n))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert scheduled == [None] * 6  # an id to read back from the bucket, not the message
    assert grown < BIG, f"{grown:,} bytes more while 4 x {BIG:,} byte messages wait"  # was over 4 x BIG
    waiting = [t for t in live.env.extras["intake_tasks"] if not t.done()]  # type: ignore[attr-defined]
    assert len(waiting) == 6

    live.run(_release(live))
    rows = wait_for(lambda: _done(live, 6), timeout=120)
    assert [r["status"] for r in rows[:2]] == ["processed", "processed"], [r["reason"] for r in rows]
    assert all(r["status"] == "needs_manual" for r in rows[2:]), [r["reason"] for r in rows]
    items = live.run(live.env.db.fetchall("SELECT email_id, po_number, customer_id FROM review_items ORDER BY email_id"))
    assert [tuple(i) for i in items[:2]] == [(rows[0]["id"], orders[0][1].po_number, DRISCOLL),
                                            (rows[1]["id"], orders[1][1].po_number, DRISCOLL)]


def test_bucket_down_after_the_250_is_an_uncounted_outage_then_read(held) -> None:
    # The message is in the bucket when the door answers; the task reads it back later, by which time the bucket
    # may be down: that attempt is given back, and the email is read once the bucket answers.
    live, scheduled = held
    pdf, expected = order_pdf("classic_grid", seed=43)
    raw = order_email([("po.pdf", pdf)])
    _send(live, raw)
    assert scheduled == [None]
    real = live.env.bucket
    with refusing_s3(503) as endpoint:
        live.env.bucket = Bucket(endpoint, real.bucket)
        live.run(_release(live))
        [row] = wait_for(lambda: _done(live, 1))
        live.env.bucket = real
    assert row["status"] == "failed" and row["attempts"] == 0 and "outage" in row["reason"], row["reason"]
    assert live.run(process_email(live.env, row["id"])) == "processed"  # the hot tier's retry, without its backoff
    [item] = live.run(live.env.db.fetchall("SELECT po_number, customer_id FROM review_items"))
    assert tuple(item) == (expected.po_number, DRISCOLL)
    assert live.run(real.get(_log(live)[0]["raw_key"])) == raw


def test_bucket_down_at_delivery_spools_schedules_nothing_and_the_hot_tier_reads_it(held) -> None:
    live, scheduled = held
    pdf, expected = order_pdf("classic_grid", seed=44)
    raw = order_email([("po.pdf", pdf)])
    real = live.env.bucket
    with refusing_s3(503) as endpoint:
        live.env.bucket = Bucket(endpoint, real.bucket)
        try:
            _send(live, raw)
        finally:
            live.env.bucket = real
    [row] = _log(live)
    assert row["status"] == "spooled" and scheduled == []  # the spool file is what keeps it, read by the hot tier
    live.run(_release(live))
    result = live.run(run_tier(live.env, "hot"), timeout=300)
    assert result.counts["upload_spooled_mail"]["uploaded"] == 1, result.counts
    [row] = _log(live)
    assert row["status"] == "processed" and row["attempts"] == 1, row["reason"]
    [item] = live.run(live.env.db.fetchall("SELECT po_number, customer_id FROM review_items"))
    assert tuple(item) == (expected.po_number, DRISCOLL)
    assert live.run(real.get(row["raw_key"])) == raw
