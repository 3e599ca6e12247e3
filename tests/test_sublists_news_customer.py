"""A stale event whose sublists win is news for the customer its row names at that point of delivery.

Within a batch, its ledger row named the customer of the batch's last data event: a fulfillment's older event
bringing packages, then a newer one moving the fulfillment to another customer, named the new customer on the
packages' news, where delivering the two one by one names the customer the row held when the packages arrived.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.cdc_support import event, fresh_db, ref
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import run_in_transaction


def fulfillment(customer: str, *tracking: str) -> dict[str, Any]:
    record = {"id": "62", "tranId": "IF-62", "entity": ref("customer", customer), "shipStatus": "C"}
    if tracking:
        record["packageList"] = {"packages": [{"packageTrackingNumber": t} for t in tracking]}
    return record


HELD = [event("sn-1", "itemfulfillment", "62", "2026-11-21T10:00:00Z", fulfillment("7", "1Z1")),
        event("sn-2", "itemfulfillment", "62", "2026-11-21T12:00:00Z", fulfillment("7"))]  # packages left out
BATCH = [event("sn-3", "itemfulfillment", "62", "2026-11-21T11:00:00Z", fulfillment("7", "1Z2")),  # stale, packages win
         event("sn-4", "itemfulfillment", "62", "2026-11-21T13:00:00Z", fulfillment("8"))]  # moved to customer 8


def deliver(conn: sqlite3.Connection, events: list[dict[str, Any]]) -> None:
    accepted, rejected = validate_events(json.loads(json.dumps(events)))
    assert not rejected
    run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-22T00:00:00.000Z")


def news(conn: sqlite3.Connection) -> list[tuple[str, dict[str, Any]]]:
    return [(kind, json.loads(payload)) for kind, payload in conn.execute("SELECT type, payload_json FROM events "
                                                                          "WHERE id > 2 ORDER BY id")]


def test_the_packages_news_names_the_customer_the_row_held_then_as_one_by_one_delivery_does(tmp_path: Path) -> None:
    one_by_one, batched = fresh_db(tmp_path / "one.sqlite3"), fresh_db(tmp_path / "batch.sqlite3")
    for conn in (one_by_one, batched):
        for ev in HELD:
            deliver(conn, [ev])
    for ev in BATCH:
        deliver(one_by_one, [ev])
    deliver(batched, BATCH)
    assert news(batched) == news(one_by_one)
    (kind, packages), (_, moved) = news(batched)
    assert kind == "itemfulfillment.sublists_updated"
    assert (packages["customer_id"], packages["tracking_numbers"]) == ("7", ["1Z2"])
    assert moved["customer_id"] == "8"
    assert batched.execute("SELECT customer_id FROM item_fulfillment").fetchone()[0] == "8"
