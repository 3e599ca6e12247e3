"""Order-proof: any permutation and batching of a change stream (with duplicates and deletes) gives
the same mirror as in-order delivery, one event at a time."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cdc_support import customer, event, sales_order
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import connect, run_in_transaction
from worker.migrations import apply_schema

# Every table the mirror writes, with the columns that must match (surrogate ids left out).
SNAPSHOT = {
    "customers": "*", "transactions": "*", "transaction_lines": "*", "item_fulfillment": "*",
    "item_fulfillment_lines": "*", "shipments": "fulfillment_id, package_no, tracking_number, carrier, weight",
    "shipping_events": "fulfillment_id, from_status, to_status, occurred_at, source_event_id",
    "webhook_receipts": "event_id",
}
TIMES = [f"2026-11-20T14:0{m}:00Z" for m in range(4)]  # few distinct times: ties are common


@st.composite
def change(draw: st.DrawFn, n: int) -> dict[str, Any]:
    """One change to one of a few records; content depends on the event so winners are visible."""
    kind = draw(st.sampled_from(["customer", "salesorder", "itemfulfillment"]))
    record_id = draw(st.sampled_from(["1", "2"]))
    when = draw(st.sampled_from(TIMES))
    event_id = f"sn-{n}"
    if draw(st.integers(0, 4)) == 0:
        return event(event_id, kind, record_id, when, None, "delete")
    if kind == "customer":
        record = customer(record_id, f"Name {event_id}")
    elif kind == "salesorder":
        lines = [(str(i), float(draw(st.integers(1, 5))), 2.5) for i in range(draw(st.integers(0, 3)))]
        record = sales_order(record_id, "1", lines)
        if draw(st.integers(0, 2)) == 0:
            record["item"] = {"links": []}  # REST without expandSubResources: the lines are not in this event
    else:
        status = draw(st.sampled_from(["A", "B", "C", {"id": "C", "refName": "Shipped"}]))
        packages = [{"packageTrackingNumber": f"1Z{event_id}{i}", "packageWeight": 1.5} for i in range(draw(st.integers(0, 2)))]
        record = {"id": record_id, "tranId": f"IF{event_id}", "entity": {"id": "1"}, "shipStatus": status,
                  "packageList": {"packages": packages},
                  "item": {"items": [{"item": {"id": "9"}, "quantity": draw(st.integers(1, 3))}]}}
        # A sublist not expanded, or not sent at all: its rows stay as the newest event that had them left them.
        if draw(st.booleans()):
            record["item"] = {"links": []}
        if draw(st.booleans()):
            del record["packageList"]
    return event(event_id, kind, record_id, when, record, draw(st.sampled_from(["create", "update"])))


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """A stream of distinct changes, and the same stream shuffled, with repeats, cut into random batches."""
    size = draw(st.integers(1, 14))
    stream = [draw(change(n)) for n in range(size)]
    repeats = draw(st.lists(st.sampled_from(stream), max_size=5))
    shuffled = draw(st.permutations(stream + repeats))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(shuffled) - 1)), max_size=4)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True) if shuffled[a:b]]
    return stream, batches


def deliver(conn: sqlite3.Connection, batch: list[dict[str, Any]]) -> None:
    accepted, rejected = validate_events(batch)
    assert not rejected, [r.reason for r in rejected]
    run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z")


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {table: sorted((tuple(r) for r in conn.execute(f"SELECT {cols} FROM {table}")), key=repr)
            for table, cols in SNAPSHOT.items()}


def fresh() -> sqlite3.Connection:
    conn = connect(":memory:")
    apply_schema(conn)
    return conn


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_any_order_and_batching_gives_the_in_order_mirror(case: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]) -> None:
    stream, batches = case
    in_order = fresh()
    for one in sorted(stream, key=lambda e: (e["last_modified"], e["operation"] == "delete", e["event_id"])):
        deliver(in_order, [one])
    shuffled = fresh()
    for batch in batches:
        deliver(shuffled, batch)
    assert snapshot(shuffled) == snapshot(in_order)
    # And delivering everything again changes nothing (idempotent by event_id).
    before = snapshot(shuffled)
    for batch in batches:
        deliver(shuffled, batch)
    assert snapshot(shuffled) == before


def test_the_property_can_fail_without_the_version_guard() -> None:
    """Guard against a vacuous property: naive last-arrival-wins delivery would differ."""
    older = event("sn-1", "customer", "1", TIMES[1], customer("1", "Newer name? no: older"))
    newer = event("sn-2", "customer", "1", TIMES[2], customer("1", "Newest name"))
    conn = fresh()
    deliver(conn, [newer])
    deliver(conn, [older])
    assert conn.execute("SELECT company_name FROM customers").fetchone()[0] == "Newest name"
