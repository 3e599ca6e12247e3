"""apply._apply_new (single updates of unseen records, list by list) writes exactly what the general plan path writes."""

from __future__ import annotations

from typing import Any

import pytest

from bench.webhook import stream  # the bench's realistic mix: every record type, lines, packages
from worker.cdc import apply
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import connect, run_in_transaction
from worker.migrations import apply_schema

TABLES = ("customers", "transactions", "transaction_lines", "item_fulfillment", "item_fulfillment_lines", "shipments",
          "customer_invoice", "customer_invoice_lines", "customer_payment", "payment_application", "events",
          "webhook_receipts", "shipping_events", "item_fulfillment_status_log")


def _run(batches: list[list[dict[str, Any]]]) -> tuple[dict[str, list[tuple[Any, ...]]], list[dict[str, int]]]:
    conn = connect(":memory:")
    apply_schema(conn)
    counts = []
    for batch in batches:
        accepted, rejected = validate_events(batch)
        assert not rejected
        result = run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z")
        counts.append({**result.counts(), "outcomes": sorted(result.outcomes.items())})
    tables = {t: sorted((tuple(r) for r in conn.execute(f"SELECT * FROM {t}")), key=repr) for t in TABLES}
    conn.close()
    return tables, counts


def test_shortcut_matches_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    events = list(stream(600))
    events[7] = {**events[7], "operation": "delete", "record": None}  # a delete of an unseen record too
    batches = [events[:250], events[250:], events[100:300]]  # new records, held records, and duplicates
    taken = []
    real_new = apply._apply_new
    monkeypatch.setattr(apply, "_apply_new", lambda *a: (taken.extend(a[1]), real_new(*a)))
    fast = _run(batches)
    assert len(taken) > 300  # the shortcut really ran

    def planned(mirror, unseen, result, received_at, writes, ledger):  # type: ignore[no-untyped-def]
        for ev in unseen:
            apply._apply_planned(mirror, ev.record_id, [ev], {}, result, received_at, writes, ledger)
    monkeypatch.setattr(apply, "_apply_new", planned)
    assert fast == _run(batches)
