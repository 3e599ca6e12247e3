"""A delete's ledger event (`<type>.deleted`) names the customer of the record's data as it stood just before the
delete, however the events were batched: when the same batch (a webhook `{"events": [...]}` body, a backfill
transaction) wrote the record's data first, that data's customer, not the row's as the batch found it (audit CG #1).
worker/flows/withdrawals.py trusts that customer for the withdrawal's run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import flows_support
from tests.cdc_support import event, fresh_db, sales_order
from tests.flows_support import PRICING_HEADER, load_reference, rows
from worker.backfill import backfill_events
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.cdc.versions import natural_id
from worker.db import connect
from worker.flows import assembly_item
from worker.migrations import apply_schema
from worker.workflow_runner import drain

CREATED = event("s1", "salesorder", "18", "2026-11-20T14:00:00Z", sales_order("18", "110", [("5", 1.0, 2.5)]), "create")
MOVED = event("s2", "salesorder", "18", "2026-11-20T14:01:00Z", sales_order("18", "222", [("5", 1.0, 2.5)]))
DELETED = event("s3", "salesorder", "18", "2026-11-20T14:02:00Z", None, "delete")
C, M, D = CREATED, MOVED, DELETED

# The same three changes cut into webhook batches; each must name customer 222 (the order's when it was deleted).
BATCHINGS = {
    "separate": [[C], [M], [D]],
    "all in one batch": [[C, M, D]],
    "update and delete in one batch": [[C], [M, D]],
    "create and update in one batch": [[C, M], [D]],
}


def deliver(conn: sqlite3.Connection, batch: list[dict[str, Any]]) -> None:
    accepted, rejected = validate_events(batch)
    assert not rejected, [r.reason for r in rejected]
    apply_batch(conn, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z")
    conn.commit()


def deleted_customers(conn: sqlite3.Connection) -> list[str | None]:
    return [json.loads(payload)["customer_id"] for (payload,) in conn.execute(
        "SELECT payload_json FROM events WHERE type = 'salesorder.deleted' ORDER BY id")]


@pytest.mark.parametrize("batches", BATCHINGS.values(), ids=BATCHINGS.keys())
def test_the_deleted_event_names_the_customer_the_order_had_when_deleted(tmp_path: Path, batches) -> None:
    conn = fresh_db(tmp_path / "w.db")
    for batch in batches:
        deliver(conn, batch)
    assert deleted_customers(conn) == ["222"]
    assert tuple(conn.execute("SELECT customer_id, deleted_at IS NOT NULL FROM transactions").fetchone()) == ("222", 1)


def test_created_and_deleted_in_one_batch_names_the_created_customer(tmp_path: Path) -> None:
    conn = fresh_db(tmp_path / "w.db")
    deliver(conn, [C, D])
    assert deleted_customers(conn) == ["110"]  # it named none: there was no row before the batch


def test_deleted_resurrected_and_deleted_again_in_one_batch(tmp_path: Path) -> None:
    """Each delete names the data before it: the held row's, then the resurrecting update's."""
    conn = fresh_db(tmp_path / "w.db")
    deliver(conn, [C])
    back = event("s4", "salesorder", "18", "2026-11-20T14:03:00Z", sales_order("18", "333", []))
    again = event("s5", "salesorder", "18", "2026-11-20T14:04:00Z", None, "delete")
    deliver(conn, [D, back, again])
    assert deleted_customers(conn) == ["110", "333"]


def test_a_backfill_transaction_names_the_same_customer(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    fresh_db(db).close()
    counts = backfill_events(db, [C, M, D], progress=False)
    assert counts["applied"] == 3 and counts["batches"] == 1
    with sqlite3.connect(db) as conn:
        assert deleted_customers(conn) == ["222"]


@st.composite
def cut_stream(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    """Orders moved between customers and deleted, in NetSuite's order (every event the newest), cut into batches."""
    stream = []
    for n in range(draw(st.integers(1, 12))):
        record_id, when = draw(st.sampled_from(["1", "2"])), f"2026-11-20T14:0{draw(st.integers(0, 3))}:00Z"
        record = None if draw(st.integers(0, 3)) == 0 else sales_order(record_id, draw(st.sampled_from(["110", "222"])), [])
        stream.append(event(f"sn-{n}", "salesorder", record_id, when, record, "update" if record else "delete"))
    stream.sort(key=lambda e: (e["last_modified"], e["operation"] == "delete", natural_id(e["event_id"])))
    cuts = sorted(draw(st.sets(st.integers(1, len(stream)), max_size=4)) | {len(stream)})
    return [stream[a:b] for a, b in zip([0, *cuts], cuts, strict=False) if stream[a:b]]


def memory_db() -> sqlite3.Connection:
    conn = connect(":memory:")
    apply_schema(conn)
    return conn


def ledger(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    # Sorted: a batch writes its ledger record by record; each payload names its event, so none tie.
    return sorted(tuple(r) for r in conn.execute("SELECT type, entity_id, payload_json FROM events"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut_stream())
def test_any_batching_of_an_in_order_stream_writes_the_one_by_one_ledger(batches) -> None:
    """In order, no event is stale, so the ledger (every deleted event's customer included) is batching-proof;
    out of order it is not (a delete before the record's data is a tombstone, with no event): not asserted."""
    one_by_one, batched = memory_db(), memory_db()
    for batch in batches:
        for one in batch:
            deliver(one_by_one, [one])
        deliver(batched, batch)
    assert ledger(batched) == ledger(one_by_one)


PROGRAMS = ("customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
            "1187,driscoll,15,prepaid,30,yes\n2200,driscoll,15,prepaid,30,yes\n")
ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
         "601,KIT-RS-BRK,Right Start Breakfast Kit,CS,1,48 kits\n")


@pytest.mark.parametrize("together", [False, True], ids=["separate", "one batch"])
async def test_the_withdrawal_of_an_order_moved_then_deleted_runs_for_its_last_customer(env, tmp_path, together):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, spec_items__csv=ITEMS,
                         pricing_master__csv=PRICING_HEADER)
    await flows_support.apply(env, flows_support.customer("1187", "Driscoll Foods"),
                              flows_support.customer("2200", "Harbor Kitchens"))
    order = flows_support.sales_order("9050", "1187", [("601", 1, 55.0)])
    await flows_support.apply(env, order)
    assert (await drain(env, [assembly_item.WORKFLOW]))["proposed"] == 1
    moved = {**order, "event_id": "mv-9050", "operation": "update", "last_modified": "2026-11-24T10:00:00Z",
             "record": {**order["record"], "entity": flows_support.ref("2200")}}
    gone = {**order, "event_id": "del-9050", "operation": "delete", "record": None,
            "last_modified": "2026-11-24T11:00:00Z"}
    if together:
        await flows_support.apply(env, moved, gone)
    else:
        await flows_support.apply(env, moved)
        await flows_support.apply(env, gone)
    assert (await drain(env, [assembly_item.WORKFLOW]))["withdrawn"] == 1
    [run] = await rows(env, """
        SELECT r.customer_id FROM workflow_run_log r JOIN events e ON e.id = r.trigger_event_id
        WHERE e.type = 'salesorder.deleted'""")
    assert run["customer_id"] == "2200"
    [note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id DESC LIMIT 1")
    assert note["observation"].startswith("Sales order SO-9050 for Harbor Kitchens was deleted in NetSuite")
