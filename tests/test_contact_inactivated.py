"""customer_contacts.inactivated_at: when a contact became inactive, kept across later edits (the contact
churn signal dates a leaving by it, not by last_modified, which any edit moves)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cdc_support import NS, event, ref
from tests.test_schema import DROP_V13, DROP_V15, DROP_V17, DROP_V18, DROP_V19
from worker.cdc import apply, fast
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.cdc.versions import inactive_since
from worker.db import connect, run_in_transaction
from worker.migrations import LATEST, apply_schema

JAN, FEB, MAR, JUN, JUL = ("2026-01-15T09:00:00Z", "2026-02-01T09:00:00Z", "2026-03-01T09:00:00Z",
                           "2026-06-20T09:00:00Z", "2026-07-15T09:00:00Z")


def contact(ns_id: str = "c1", *, inactive: bool = False, title: str = "AP", **extra: Any) -> dict[str, Any]:
    return {"links": [{"rel": "self", "href": f"{NS}/contact/{ns_id}"}], "id": ns_id, "firstName": "Ann",
            "lastName": "One", "email": "ann@example.com", "title": title, "company": ref("customer", "1"),
            "isInactive": inactive, **extra}


def fresh() -> sqlite3.Connection:
    conn = connect(":memory:")
    apply_schema(conn)
    return conn


def deliver(conn: sqlite3.Connection, *events: dict[str, Any]) -> None:
    accepted, rejected = validate_events(list(events))
    assert not rejected, [r.reason for r in rejected]
    run_in_transaction(conn, apply_batch, accepted, [], source="t", received_at="2026-08-01T00:00:00.000Z")


def since(conn: sqlite3.Connection, ns_id: str = "c1") -> str | None:
    return conn.execute("SELECT inactivated_at FROM customer_contacts WHERE ns_id = ?", (ns_id,)).fetchone()[0]


def test_inactivation_is_dated_by_its_event_and_later_edits_keep_the_date() -> None:
    conn = fresh()
    deliver(conn, event("sn-1", "contact", "c1", JAN, contact()))
    assert since(conn) is None  # active
    deliver(conn, event("sn-2", "contact", "c1", FEB, contact(inactive=True)))
    assert since(conn) == "2026-02-01T09:00:00.000Z"
    deliver(conn, event("sn-3", "contact", "c1", JUN, contact(inactive=True, title="ex-AP")))  # a June title edit
    assert since(conn) == "2026-02-01T09:00:00.000Z"
    assert tuple(conn.execute("SELECT title, last_modified FROM customer_contacts").fetchone()) == (
        "ex-AP", "2026-06-20T09:00:00.000Z")
    deliver(conn, event("sn-2", "contact", "c1", FEB, contact(inactive=True)))  # a re-delivery
    deliver(conn, event("sn-0", "contact", "c1", "2026-01-20T09:00:00Z", contact(inactive=True)))  # stale
    assert since(conn) == "2026-02-01T09:00:00.000Z"
    deliver(conn, event("sn-4", "contact", "c1", JUL, None, "delete"))  # a tombstone keeps the data it held
    assert since(conn) == "2026-02-01T09:00:00.000Z"


def test_reactivation_clears_it_and_a_new_inactivation_dates_it_again() -> None:
    conn = fresh()
    deliver(conn, event("sn-1", "contact", "c1", JAN, contact(inactive=True)))  # arrives inactive
    assert since(conn) == "2026-01-15T09:00:00.000Z"
    deliver(conn, event("sn-2", "contact", "c1", MAR, contact()))
    assert since(conn) is None
    deliver(conn, event("sn-3", "contact", "c1", JUN, contact(inactive=True)))
    assert since(conn) == "2026-06-20T09:00:00.000Z"


@pytest.mark.parametrize("order", [1, -1])
def test_one_batch_gives_what_one_by_one_in_order_delivery_gives(order: int) -> None:
    events = [event("sn-1", "contact", "c1", JAN, contact()),
              event("sn-2", "contact", "c1", FEB, contact(inactive=True)),
              event("sn-3", "contact", "c1", JUN, contact(inactive=True, title="ex-AP"))]
    one_by_one, batched = fresh(), fresh()
    for ev in events:
        deliver(one_by_one, ev)
    deliver(batched, *events[::order])
    assert since(batched) == since(one_by_one) == "2026-02-01T09:00:00.000Z"
    # On a held row too: active, then inactive and edited in one batch; inactive, then active and inactive again.
    deliver(batched, *[event("sn-4", "contact", "c1", "2026-07-01T09:00:00Z", contact()),
                       event("sn-5", "contact", "c1", JUL, contact(inactive=True)),
                       event("sn-6", "contact", "c1", "2026-07-20T09:00:00Z", contact(inactive=True, title="x"))][::order])
    assert since(batched) == "2026-07-15T09:00:00.000Z"


def test_the_pydantic_path_dates_it_as_the_gate_does() -> None:
    gate, slow = fresh(), fresh()
    odd = {k: v for k, v in contact(inactive=True).items() if k != "isInactive"} | {"isinactive": True}
    accepted, _ = validate_events([event("sn-1", "contact", "c1", JAN, odd)])
    assert not isinstance(accepted[0].record, fast.ContactRecord)  # SuiteQL's spelling: not the gate's
    accepted, _ = validate_events([event("sn-1", "contact", "c1", JAN, contact(inactive=True))])
    assert isinstance(accepted[0].record, fast.ContactRecord)
    deliver(gate, event("sn-1", "contact", "c1", JAN, contact(inactive=True)))
    deliver(slow, event("sn-1", "contact", "c1", JAN, odd))
    assert since(gate) == since(slow) == "2026-01-15T09:00:00.000Z"


def test_the_new_record_shortcut_writes_what_the_plan_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    batches = [[event(f"sn-{n}", "contact", f"c{n}", JAN, contact(f"c{n}", inactive=n % 2 == 0)) for n in range(6)],
               [event(f"sn-{n + 10}", "contact", f"c{n}", JUN, contact(f"c{n}", inactive=n % 3 == 0)) for n in range(6)]]

    def run() -> list[tuple[Any, ...]]:
        conn = fresh()
        for batch in batches:
            deliver(conn, *batch)
        return sorted(tuple(r) for r in conn.execute("SELECT * FROM customer_contacts"))

    shortcut = run()
    assert {row[0]: row[-1] for row in shortcut} == {  # JAN where it was and stayed inactive, JUN where it turned
        "c0": "2026-01-15T09:00:00.000Z", "c1": None, "c2": None, "c3": "2026-06-20T09:00:00.000Z", "c4": None,
        "c5": None}

    def planned(mirror, unseen, result, received_at, writes, ledger):  # type: ignore[no-untyped-def]
        for ev in unseen:
            apply._apply_planned(mirror, ev.record_id, [ev], {}, result, received_at, writes, ledger)
    monkeypatch.setattr(apply, "_apply_new", planned)
    assert run() == shortcut


def test_inactive_since_is_in_order_delivery_of_the_events_newer_than_the_data() -> None:
    k = {n: f"2026-0{n}-01T00:00:00.000000Z|0|sn-{n}" for n in range(1, 8)}
    t = {n: f"2026-0{n}-01T00:00:00.000Z" for n in range(1, 8)}
    assert inactive_since(None, None, [(k[3], True, t[3]), (k[2], True, t[2])]) == t[2]
    assert inactive_since(t[1], k[2], [(k[3], True, t[3])]) == t[1]  # held inactive since t1: stays
    assert inactive_since(t[1], k[4], [(k[3], False, t[3])]) == t[1]  # stale: nothing changes
    assert inactive_since(t[1], k[2], [(k[5], True, t[5]), (k[3], False, t[3])]) == t[5]
    assert inactive_since(None, k[2], [(k[3], False, t[3])]) is None


def test_version_13_dates_contacts_already_inactive_by_their_last_modified(tmp_path: Any) -> None:
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 12;")
    conn.executemany("INSERT INTO customer_contacts (ns_id, customer_id, is_inactive, last_modified, deleted_at, "
                     "cdc_version, cdc_data_version) VALUES (?, '1', ?, ?, ?, ?, ?)",
                     [("c1", 0, "2026-01-15T09:00:00.000Z", None, None, None),
                      ("c2", 1, "2026-02-01T09:00:00.000Z", None, "2026-02-01T09:00:00.000000Z|0|sn-2",
                       "2026-02-01T09:00:00.000000Z|0|sn-2"),
                      ("c3", 1, "2026-03-01T09:00:00.000Z", "2026-03-01T09:00:00.000Z", None, None)])
    assert apply_schema(conn) == LATEST
    assert dict(conn.execute("SELECT ns_id, inactivated_at FROM customer_contacts")) == {
        "c1": None, "c2": "2026-02-01T09:00:00.000Z", "c3": "2026-03-01T09:00:00.000Z"}
    shape = "PRAGMA table_info(customer_contacts)"
    assert conn.execute(shape).fetchall() == fresh().execute(shape).fetchall()
    deliver(conn, event("sn-9", "contact", "c2", JUN, contact("c2", inactive=True, title="ex-AP")))  # a later edit
    assert since(conn, "c2") == "2026-02-01T09:00:00.000Z"


# Delivery order: every column, inactivated_at included, comes out as one-by-one in-order delivery gives it
# under any batching, any order within a batch, re-deliveries and deletes. (Out of order across batches an
# event older than the data already held is stale and its inactivation is lost: see versions.inactive_since.)
TIMES = [f"2026-11-20T14:0{m}:00Z" for m in range(4)]  # few distinct times: ties are common


@st.composite
def stream(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    size = draw(st.integers(1, 12))
    events = []
    for n in range(size):
        record_id, when = draw(st.sampled_from(["c1", "c2"])), draw(st.sampled_from(TIMES))
        if draw(st.integers(0, 5)) == 0:
            events.append(event(f"sn-{n}", "contact", record_id, when, None, "delete"))
        else:
            events.append(event(f"sn-{n}", "contact", record_id, when,
                                contact(record_id, inactive=draw(st.booleans()), title=f"t{n}")))
    events.sort(key=lambda e: (e["last_modified"], e["operation"] == "delete", int(e["event_id"][3:])))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, size - 1)), max_size=4)))
    batches = [draw(st.permutations(events[a:b])) for a, b in zip([0, *cuts], [*cuts, size], strict=True) if events[a:b]]
    repeats = draw(st.lists(st.sampled_from(events), max_size=4))  # re-deliveries after the fact
    return events, [*batches, repeats] if repeats else batches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream())
def test_any_batching_and_order_within_batches_gives_the_in_order_contacts(
        case: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]) -> None:
    events, batches = case
    in_order, batched = fresh(), fresh()
    for ev in events:
        deliver(in_order, ev)
    for batch in batches:
        deliver(batched, *batch)
    rows = "SELECT * FROM customer_contacts ORDER BY ns_id"
    assert [tuple(r) for r in batched.execute(rows)] == [tuple(r) for r in in_order.execute(rows)]
