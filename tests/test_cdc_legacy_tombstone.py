"""A row mirrored without version columns (an older loader's) keeps its data's version through a delete.

Its data version is read from its last_modified (versions.legacy_key) while the row holds it; a delete's tombstone
overwrote last_modified and left cdc_data_version NULL, so the update reviving it was `created` when the delete came
alone and `updated` when both shared a batch (found by tests/test_cdc_tracking_per_event.py's property test). Now the
tombstone keeps the data's version: the row had data before it was deleted, so the revival is an update either way.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cdc_support import event, fresh_db
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.cdc.versions import legacy_key
from worker.db import run_in_transaction

OLD = "2026-11-20T08:00:00.000Z"
DELETE = event("d1", "customer", "77", "2026-11-20T09:00:00Z", operation="delete")
REVIVE = event("u1", "customer", "77", "2026-11-20T10:00:00Z", {"entityId": "C77", "companyName": "Corner Deli"})
STALE = event("u0", "customer", "77", "2026-11-20T07:00:00Z", {"entityId": "C77", "companyName": "Older Deli"})


def legacy_db(path: Path) -> sqlite3.Connection:
    conn = fresh_db(path)
    with conn:  # as an older loader wrote it: data and last_modified, no version columns
        conn.execute("INSERT INTO customers (ns_id, entity_id, company_name, last_modified, raw_json) "
                     "VALUES ('77', 'C77', 'Corner Deli', ?, '{}')", (OLD,))
    return conn


def deliver(conn: sqlite3.Connection, batch: list[dict[str, Any]]) -> None:
    accepted, rejected = validate_events(json.loads(json.dumps(batch)))
    assert not rejected, [r.reason for r in rejected]
    run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z")


def outcome(conn: sqlite3.Connection) -> tuple[list[tuple[str, str]], tuple[Any, ...]]:
    ledger = [(json.loads(payload)["event_id"], kind) for kind, payload in
              conn.execute("SELECT type, payload_json FROM events ORDER BY id")]
    row = conn.execute("SELECT company_name, cdc_data_version, cdc_version, deleted_at FROM customers "
                       "WHERE ns_id = '77'").fetchone()
    return sorted(ledger), tuple(row)


@pytest.mark.parametrize("events", [[DELETE, REVIVE], [DELETE, STALE, REVIVE], [STALE, DELETE]],
                         ids=["delete, revival", "delete, stale update, revival", "stale update, delete"])
def test_a_legacy_rows_delete_keeps_its_data_version_whatever_the_batching(tmp_path: Path, events) -> None:
    one = legacy_db(tmp_path / "one.sqlite3")
    for ev in events:
        deliver(one, [ev])
    together = legacy_db(tmp_path / "together.sqlite3")
    deliver(together, events)
    assert outcome(one) == outcome(together)


def test_the_tombstone_of_a_legacy_row_holds_the_version_of_the_data_it_keeps(tmp_path: Path) -> None:
    conn = legacy_db(tmp_path / "db.sqlite3")
    deliver(conn, [DELETE])
    assert tuple(conn.execute("SELECT cdc_data_version, company_name FROM customers").fetchone()) == \
        (legacy_key(OLD), "Corner Deli")
    deliver(conn, [REVIVE])
    assert outcome(conn)[0] == [("d1", "customer.deleted"), ("u1", "customer.updated")]


def test_a_delete_of_a_record_never_seen_still_holds_no_data_version(tmp_path: Path) -> None:
    conn = fresh_db(tmp_path / "db.sqlite3")
    deliver(conn, [event("d9", "customer", "99", "2026-11-20T09:00:00Z", operation="delete")])
    assert tuple(conn.execute("SELECT cdc_data_version, deleted_at IS NOT NULL FROM customers").fetchone()) == (None, 1)
    deliver(conn, [event("u9", "customer", "99", "2026-11-20T10:00:00Z", {"entityId": "C99"})])
    assert [tuple(r) for r in conn.execute("SELECT type FROM events ORDER BY id")] == [("customer.created",)]
