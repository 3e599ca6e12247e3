"""The cold tier's receipt retention: old webhook_receipts go in chunks, and a late redelivery changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.webhook import stream  # every record type, with lines and packages
from cron.housekeeping import PRUNE_CHUNK, prune_receipts, prune_receipts_before
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import connect
from worker.env import iso
from worker.migrations import apply_schema

NIGHT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
RECEIPT = ("INSERT INTO webhook_receipts (event_id, record_type, record_id, operation, last_modified, outcome, "
           "received_at) VALUES (?, 'customer', '1', 'update', '2026-01-01T00:00:00.000Z', 'applied', ?)")


def test_a_prune_takes_the_oldest_receipts_and_stops_at_the_first_young_one(tmp_path):
    conn = connect(tmp_path / "r.sqlite3")
    apply_schema(conn)
    received = ["2026-01-01T00:00:00.000Z"] * 3 + ["2026-06-01T00:00:00.000Z"] + ["2026-01-02T00:00:00.000Z"]
    conn.executemany(RECEIPT, [(f"e{n}", at) for n, at in enumerate(received)])
    assert prune_receipts_before(conn, "2026-03-01T00:00:00.000Z", limit=2) == 2
    assert prune_receipts_before(conn, "2026-03-01T00:00:00.000Z", limit=2) == 1
    # e4 is old too, but was appended after a young receipt (clocks of two writers): it goes once e3 is old
    assert prune_receipts_before(conn, "2026-03-01T00:00:00.000Z", limit=2) == 0
    assert [r[0] for r in conn.execute("SELECT event_id FROM webhook_receipts ORDER BY rowid")] == ["e3", "e4"]
    conn.close()


async def test_the_job_prunes_past_the_retention_in_chunks(env):
    assert env.settings.retention.webhook_receipts_days == 180
    old, young = iso(NIGHT - timedelta(days=181)), iso(NIGHT - timedelta(days=179))
    rows = [(f"old-{n}", old) for n in range(PRUNE_CHUNK * 2 + 5)] + [(f"young-{n}", young) for n in range(7)]
    await env.db.write(lambda conn: conn.executemany(RECEIPT, rows))
    assert await prune_receipts(env, NIGHT) == {"receipts_pruned": PRUNE_CHUNK * 2 + 5}
    left = await env.db.fetchall("SELECT count(*), min(received_at) FROM webhook_receipts")
    assert tuple(left[0]) == (7, young)
    assert await prune_receipts(env, NIGHT) == {"receipts_pruned": 0}


async def test_a_redelivery_after_its_receipt_was_pruned_changes_neither_mirror_nor_ledger(env):
    events = list(stream(5))  # a customer, an order, a fulfillment, an invoice, a payment

    def deliver(conn, received_at):
        accepted, rejected = validate_events(events)
        return apply_batch(conn, accepted, rejected, source="webhook", received_at=received_at).counts()

    first = await env.db.write(deliver, iso(NIGHT - timedelta(days=200)))
    assert first == {"applied": 5, "duplicate": 0, "stale": 0, "rejected": 0}
    mirror = "SELECT (SELECT group_concat(raw_json) FROM customer_invoice), (SELECT count(*) FROM events), " \
             "(SELECT count(*) FROM shipping_events), (SELECT count(*) FROM customer_invoice_lines)"
    before = tuple((await env.db.fetchall(mirror))[0])
    assert await prune_receipts(env, NIGHT) == {"receipts_pruned": 5}

    again = await env.db.write(deliver, iso(NIGHT))
    assert again == {"applied": 0, "duplicate": 0, "stale": 5, "rejected": 0}
    assert tuple((await env.db.fetchall(mirror))[0]) == before
    receipts = await env.db.fetchall("SELECT outcome, count(*) FROM webhook_receipts GROUP BY outcome")
    assert [tuple(r) for r in receipts] == [("stale", 5)]
