"""A fulfillment ledger payload's `tracking_numbers` are the packages the fulfillment holds right after that event,
however the events were batched: several events of one fulfillment in one batch (a webhook body, a backfill
transaction) each list what one-by-one delivery lists, not the batch's final set."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cdc_support import event, fresh_db, ref
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.cdc.versions import legacy_key
from worker.db import run_in_transaction

NOT_EXPANDED = {"links": []}  # REST without expandSubResources: the sublist is not in the event
BASE = {"id": "900", "tranId": "IF900", "entity": ref("customer", "7"), "shipStatus": {"id": "C", "refName": "Shipped"}}


def packages(*numbers: str) -> dict[str, Any]:
    return {"items": [{"packageTrackingNumber": n} for n in numbers]}


A = event("e1", "itemfulfillment", "900", "2026-11-20T10:00:00Z", BASE | {"packageList": packages("A")})
AB = event("e2", "itemfulfillment", "900", "2026-11-20T11:00:00Z", BASE | {"packageList": packages("A", "B")})
UPS = event("e3", "itemfulfillment", "900", "2026-11-20T12:00:00Z",
            BASE | {"packageList": NOT_EXPANDED, "packageUps": {"items": [{"packageTrackingNumberUps": "U"}]}})
OLD = "2026-11-20T08:00:00.000Z"  # a fulfillment mirrored before version 19
SEEN = event("e0", "itemfulfillment", "900", "2026-11-20T09:00:00Z", BASE | {"packageUps": {"items": []}})


def deliver(conn: sqlite3.Connection, batch: list[dict[str, Any]]) -> None:
    accepted, rejected = validate_events(json.loads(json.dumps(batch)))
    assert not rejected, [r.reason for r in rejected]
    run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z")


def ledger(conn: sqlite3.Connection) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each event's ledger row: (type, payload) by event_id (an event appends at most one)."""
    rows = [(kind, json.loads(payload)) for kind, payload in conn.execute("SELECT type, payload_json FROM events")]
    return {payload["event_id"]: (kind, payload) for kind, payload in rows}


def tracking(conn: sqlite3.Connection) -> dict[str, list[str] | None]:
    return {event_id: payload.get("tracking_numbers") for event_id, (_, payload) in ledger(conn).items()}


def one_by_one(tmp_path: Path, events: list[dict[str, Any]], before: list[dict[str, Any]] = ()) -> sqlite3.Connection:
    conn = fresh_db(tmp_path / "one_by_one.sqlite3")
    for ev in [*before, *events]:
        deliver(conn, [ev])
    return conn


@pytest.mark.parametrize("before", [[], [SEEN]], ids=["first seen in the batch", "known"])
def test_each_event_of_a_batch_lists_the_packages_it_left(tmp_path: Path, before: list[dict[str, Any]]) -> None:
    conn = fresh_db(tmp_path / "batched.sqlite3")
    for ev in before:
        deliver(conn, [ev])
    deliver(conn, [A, AB, UPS])
    want = {"e1": ["A"], "e2": ["A", "B"], "e3": ["A", "B", "U"]}
    assert {k: v for k, v in tracking(conn).items() if k != "e0"} == want  # before: ["A", "B", "U"] thrice
    assert ledger(conn) == ledger(one_by_one(tmp_path, [A, AB, UPS], before))


def test_a_stale_events_sublists_list_the_packages_as_it_left_them(tmp_path: Path) -> None:
    # The newer UPS-only event first, then the older one whose package list wins (a `sublists_updated` event).
    conn = fresh_db(tmp_path / "batched.sqlite3")
    deliver(conn, [UPS, AB])
    assert ledger(conn)["e2"][0] == "itemfulfillment.sublists_updated"
    assert tracking(conn) == {"e3": ["U"], "e2": ["A", "B", "U"]}  # before: e3 listed A and B, not yet held
    assert ledger(conn) == ledger(one_by_one(tmp_path, [UPS, AB]))


def test_a_delete_and_a_revival_in_one_batch(tmp_path: Path) -> None:
    gone = event("e4", "itemfulfillment", "900", "2026-11-20T13:00:00Z", None, "delete")
    back = event("e5", "itemfulfillment", "900", "2026-11-20T14:00:00Z", BASE | {"packageList": packages("C")})
    conn = fresh_db(tmp_path / "batched.sqlite3")
    deliver(conn, [A, UPS, gone, back])
    assert tracking(conn) == {"e1": ["A"], "e3": ["A", "U"], "e4": None, "e5": ["C", "U"]}
    assert ledger(conn) == ledger(one_by_one(tmp_path, [A, UPS, gone, back]))


def test_rows_of_no_known_sublist_are_listed_until_a_package_sublist_replaces_them(tmp_path: Path) -> None:
    # Mirrored before version 19 (source NULL): any package sublist's event replaces them, as before.
    def seeded(name: str) -> sqlite3.Connection:
        conn = fresh_db(tmp_path / name)
        _legacy_fulfillment(conn, "900")
        return conn

    plain = event("e6", "itemfulfillment", "900", "2026-11-20T10:30:00Z", BASE)  # no package sublist
    batched, single = seeded("batched.sqlite3"), seeded("single.sqlite3")
    deliver(batched, [plain, UPS, A])
    for ev in (plain, UPS, A):
        deliver(single, [ev])
    assert tracking(batched) == {"e6": None, "e3": ["U"], "e1": ["A", "U"]}
    assert ledger(batched) == ledger(single)


def _legacy_fulfillment(conn: sqlite3.Connection, ns_id: str) -> None:
    """A fulfillment as mirrored before its package sublists had versions: rows of no known sublist."""
    with conn:
        # Sublist versions NULL: the data's. (A row without cdc_data_version too is tests/test_cdc_legacy_tombstone.py's.)
        conn.execute("INSERT INTO item_fulfillment (ns_id, customer_id, last_modified, raw_json, cdc_version, "
                     "cdc_data_version) VALUES (?, '7', ?, '{}', ?, ?)", (ns_id, OLD, *[legacy_key(OLD)] * 2))
        conn.executemany("INSERT INTO shipments (fulfillment_id, package_no, tracking_number) VALUES (?, ?, ?)",
                         [(ns_id, 1, "OLD1"), (ns_id, 2, "OLD2")])


# --- any batching: the ledger one-by-one delivery writes -----------------------------------------------------

TIMES = [f"2026-11-20T14:0{m}:00Z" for m in range(3)]  # few: stale events and ties are common
SUBLISTS = (("packageList", "packageTrackingNumber"), ("packageUps", "packageTrackingNumberUps"),
            ("packageFedex", "packageTrackingNumberFedEx"))


@st.composite
def fulfillment_event(draw: st.DrawFn, n: int) -> dict[str, Any]:
    """A change of one of two fulfillments (one mirrored before version 19), carrying any of its package sublists."""
    record_id, event_id = draw(st.sampled_from(["1", "2"])), f"sn-{n}"
    when = draw(st.sampled_from(TIMES))
    if draw(st.integers(0, 5)) == 0:
        return event(event_id, "itemfulfillment", record_id, when, None, "delete")
    record: dict[str, Any] = {"id": record_id, "entity": ref("customer", draw(st.sampled_from(["7", "8"]))),
                              "shipStatus": draw(st.sampled_from(["A", "C"]))}
    for name, field in SUBLISTS:
        shape = draw(st.sampled_from(["expanded", "links", "absent"]))
        if shape == "expanded":
            numbers = [draw(st.sampled_from([f"{name}-{event_id}-{i}", f"{name}-same", ""])) for i in
                       range(draw(st.integers(0, 2)))]
            record[name] = {"items": [{field: number} for number in numbers]}
        elif shape == "links":
            record[name] = NOT_EXPANDED
    return event(event_id, "itemfulfillment", record_id, when, record, draw(st.sampled_from(["create", "update"])))


@st.composite
def batchings(draw: st.DrawFn) -> tuple[bool, list[list[dict[str, Any]]]]:
    """Whether fulfillment 2 is held from before version 19, and a stream (repeats too) cut into batches."""
    stream = [draw(fulfillment_event(n)) for n in range(draw(st.integers(1, 9)))]
    arrival = draw(st.permutations(stream + draw(st.lists(st.sampled_from(stream), max_size=2))))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(arrival) - 1)), max_size=3)))
    return draw(st.booleans()), [arrival[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrival)], strict=True)
                                 if arrival[a:b]]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batchings())
def test_any_batching_writes_the_ledger_of_one_by_one_delivery(case: tuple[bool, list[list[dict[str, Any]]]]) -> None:
    legacy, batches = case
    with tempfile.TemporaryDirectory() as tmp:
        batched, single = fresh_db(Path(tmp) / "batched.sqlite3"), fresh_db(Path(tmp) / "single.sqlite3")
        try:
            for conn in (batched, single) if legacy else ():
                _legacy_fulfillment(conn, "2")
            for batch in batches:
                deliver(batched, batch)
                for ev in batch:
                    deliver(single, [ev])
            assert ledger(batched) == ledger(single)
        finally:
            batched.close()
            single.close()
