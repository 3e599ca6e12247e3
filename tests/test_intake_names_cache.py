"""The intake's index of customer names (worker/intake/customers.py) stays right across every change the mirror
makes to a customer's names or liveness, in whatever order of last_modified the changes arrive, and is never
shared between two databases; it is not rebuilt when nothing it reads changed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cdc_support import customer, event, fresh_db
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import connect, run_in_transaction
from worker.intake import customers as intake_customers
from worker.intake.customers import match_customer
from worker.migrations import apply_schema
from worker.po.model import PurchaseOrder

OWN = frozenset({"gfs.local"})
T09, T10, T1030, T1045, T11, T12 = ("2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", "2026-11-20T10:30:00Z",
                                    "2026-11-20T10:45:00Z", "2026-11-20T11:00:00Z", "2026-11-20T12:00:00Z")


def deliver(conn: sqlite3.Connection, *events: dict[str, Any]) -> None:
    accepted, rejected = validate_events(json.loads(json.dumps(list(events))))
    assert not rejected, [r.reason for r in rejected]
    run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z")


def printed(conn: sqlite3.Connection, name: str) -> str | None:
    """The customer a PO whose buyer is `name` matches (the sender says nothing)."""
    return match_customer(conn, ["someone@gmail.com"], PurchaseOrder(buyer=name), OWN).customer_id


@pytest.fixture
def two(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Acme Produce (1, modified 10:00) and Beacon Dairy (2, modified 11:00), the index already built."""
    deliver(conn, event("sn-1", "customer", "1", T10, customer("1", "Acme Produce")),
            event("sn-2", "customer", "2", T11, customer("2", "Beacon Dairy")))
    assert (printed(conn, "Acme Produce"), printed(conn, "Beacon Dairy")) == ("1", "2")
    return conn


def test_a_rename_older_than_the_newest_customer_is_seen(two: sqlite3.Connection) -> None:
    # CDC brought Beacon (11:00) first; Acme's rename (10:30) arrives after it: count, max(last_modified) and
    # deletions all stay as they were
    deliver(two, event("sn-3", "customer", "1", T1030, customer("1", "Cobalt Farms")))
    assert printed(two, "Cobalt Farms") == "1"
    assert printed(two, "Acme Produce") is None


def test_an_entity_id_change_alone_is_seen(two: sqlite3.Connection) -> None:
    deliver(two, event("sn-3", "customer", "1", T1030, customer("1", "Acme Produce", entityId="Delta Greens")))
    assert printed(two, "Delta Greens") == "1"


def test_a_deletion_and_a_revival_in_one_batch_are_seen(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-1", "customer", "1", T09, customer("1", "Acme Produce")),
            event("sn-2", "customer", "2", T09, customer("2", "Beacon Dairy")),
            event("sn-3", "customer", "3", T11, customer("3", "Cobalt Farms")))
    deliver(conn, event("sn-4", "customer", "2", T10, None, "delete"))
    assert (printed(conn, "Acme Produce"), printed(conn, "Beacon Dairy")) == ("1", None)
    # Acme deleted, Beacon back: as many rows, tombstones and the same newest last_modified as before
    deliver(conn, event("sn-5", "customer", "1", T1030, None, "delete"),
            event("sn-6", "customer", "2", T1045, customer("2", "Beacon Dairy")))
    assert (printed(conn, "Acme Produce"), printed(conn, "Beacon Dairy")) == (None, "2")


def test_a_change_written_through_another_connection_is_seen(two: sqlite3.Connection, tmp_path: Path) -> None:
    other = connect(tmp_path / "conn.sqlite3")
    try:
        deliver(other, event("sn-3", "customer", "1", T1030, customer("1", "Cobalt Farms")))
    finally:
        other.close()
    assert printed(two, "Cobalt Farms") == "1"


def test_two_databases_never_share_an_index(tmp_path: Path) -> None:
    # Same number of customers, same last_modified, no tombstones: only the ids differ.
    made = []
    for where, ns_id in ((":memory:", "1"), (":memory:", "2"), (tmp_path / "a.sqlite3", "3")):
        conn = connect(where)
        apply_schema(conn)
        deliver(conn, event("sn-1", "customer", ns_id, T10, customer(ns_id, "Acme Produce")))
        made.append(conn)
    assert [printed(conn, "Acme Produce") for conn in made] == ["1", "2", "3"]
    assert [printed(conn, "Acme Produce") for conn in made] == ["1", "2", "3"]  # each from its own cache
    # a new database at the path of a discarded one
    made[2].close()
    (tmp_path / "a.sqlite3").unlink()
    again = fresh_db(tmp_path / "a.sqlite3")
    deliver(again, event("sn-1", "customer", "4", T10, customer("4", "Acme Produce")))
    assert printed(again, "Acme Produce") == "4"


def test_the_index_is_not_rebuilt_when_no_name_changed(two: sqlite3.Connection, monkeypatch) -> None:
    normalized: list[str | None] = []
    real = intake_customers.normalize_name
    monkeypatch.setattr(intake_customers, "normalize_name", lambda name: normalized.append(name) or real(name))
    assert printed(two, "Beacon Dairy") == "2"
    # a newer edit of something else (email, terms) and a namesake key computed by worker/decisions.py
    deliver(two, event("sn-3", "customer", "2", T12, customer("2", "Beacon Dairy", email="new@beacon.example")))
    two.execute("UPDATE customers SET name_key = 'beacon dairy' WHERE ns_id = '2'")
    assert printed(two, "Beacon Dairy") == "2"
    assert normalized == []
    deliver(two, event("sn-4", "customer", "3", T09, customer("3", "Cobalt Farms")))  # a new customer: rebuilt
    assert printed(two, "Cobalt Farms") == "3"
    assert len(normalized) == 6  # company and entity name of each of the three


def test_a_rolled_back_rename_never_passes_for_a_later_one(two: sqlite3.Connection) -> None:
    # The intake's transaction sees its own uncommitted rename, then rolls back; another rename follows
    two.execute("BEGIN IMMEDIATE")
    two.execute("UPDATE customers SET company_name = 'Cobalt Farms', entity_id = NULL WHERE ns_id = '1'")
    assert printed(two, "Cobalt Farms") == "1"
    two.execute("ROLLBACK")
    deliver(two, event("sn-3", "customer", "2", T12, customer("2", "Delta Greens")))
    assert (printed(two, "Cobalt Farms"), printed(two, "Acme Produce"), printed(two, "Delta Greens")) == (None, "1", "2")


def test_a_customer_deleted_outright_is_forgotten(two: sqlite3.Connection) -> None:
    two.execute("DELETE FROM customers WHERE ns_id = '1'")
    assert printed(two, "Acme Produce") is None


def stamp(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT stamp FROM customer_names_stamp").fetchone()[0]


@pytest.mark.parametrize(("change", "restamps"), [
    ("UPDATE customers SET company_name = 'Cobalt Farms' WHERE ns_id = '1'", True),
    ("UPDATE customers SET entity_id = 'C-1' WHERE ns_id = '1'", True),
    ("UPDATE customers SET is_inactive = 1 WHERE ns_id = '1'", True),
    ("UPDATE customers SET deleted_at = 't' WHERE ns_id = '1'", True),
    ("DELETE FROM customers WHERE ns_id = '1'", True),
    (("UPDATE customers SET company_name = company_name, entity_id = entity_id, is_inactive = is_inactive, "
      "deleted_at = deleted_at, email = 'x@y.example', last_modified = 'u' WHERE ns_id = '1'"), False),
    ("UPDATE customers SET name_key = 'acme' WHERE ns_id = '1'", False),  # worker/decisions.py's lazy key
])
def test_the_stamp_moves_with_every_change_the_index_may_read_and_no_other(two: sqlite3.Connection, change: str,
                                                                           restamps: bool) -> None:
    before = stamp(two)
    two.execute(change)
    assert (stamp(two) != before) is restamps


def test_a_tombstone_delivered_again_or_a_revival_restamps_only_when_liveness_changes(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-1", "customer", "1", T09, customer("1", "Acme Produce")),
            event("sn-2", "customer", "1", T10, None, "delete"))
    before = stamp(conn)
    deliver(conn, event("sn-3", "customer", "1", T1030, None, "delete"))  # a later tombstone: still deleted
    assert stamp(conn) == before
    deliver(conn, event("sn-4", "customer", "1", T11, customer("1", "Acme Produce")))
    assert stamp(conn) != before and printed(conn, "Acme Produce") == "1"


def test_an_older_database_gains_the_stamp_and_its_triggers_at_start(tmp_path: Path) -> None:
    old = fresh_db(tmp_path / "old.sqlite3")
    old.executescript("DROP TRIGGER customers_names_changed; DROP TRIGGER customers_names_removed; "
                      "DROP TABLE customer_names_stamp;")  # as the worker before them left it
    deliver(old, event("sn-1", "customer", "1", T10, customer("1", "Acme Produce")))
    apply_schema(old)
    shape = "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'customer%' ORDER BY name"
    assert old.execute(shape).fetchall() == fresh_db(tmp_path / "new.sqlite3").execute(shape).fetchall()
    assert old.execute("SELECT count(*) FROM customer_names_stamp").fetchone()[0] == 1
    assert printed(old, "Acme Produce") == "1"
    old.execute("UPDATE customers SET company_name = 'Cobalt Farms' WHERE ns_id = '1'")
    assert printed(old, "Cobalt Farms") == "1"
