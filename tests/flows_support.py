"""Support for the workflow tests: NetSuite-shaped records applied through the real CDC apply code."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.env import Env
from worker.reference import import_reference

_ids = itertools.count(1)
PRICING_HEADER = "item_id,customer_id,unit_price,uom,effective_from,effective_to\n"


def ref(ns_id: str, name: str | None = None) -> dict[str, Any]:
    return {"id": ns_id, "refName": name or ns_id}


def event(record_type: str, record: dict[str, Any], *, when: str = "2026-11-02T15:00:00Z",
          operation: str = "create") -> dict[str, Any]:
    return {"event_id": f"test-{next(_ids)}", "record_type": record_type, "record_id": record["id"],
            "operation": operation, "last_modified": when, "record": record}


def customer(ns_id: str, name: str, *, email: str | None = None, terms: str = "Net 30") -> dict[str, Any]:
    return event("customer", {"id": ns_id, "entityId": f"C{ns_id}", "companyName": name, "email": email,
                              "terms": ref("2", terms), "lastModifiedDate": "2026-01-05T10:00:00Z"})


def contact(ns_id: str, company: str, name: str, email: str | None, title: str) -> dict[str, Any]:
    first, last = name.split(" ", 1)
    return event("contact", {"id": ns_id, "entityId": name, "firstName": first, "lastName": last, "email": email,
                             "title": title, "company": ref(company)})


def sales_order(ns_id: str, customer_id: str, lines: list[tuple[str, float, float]], *, terms: str | None = "Net 30",
                tran_date: str = "2026-11-02", **extra: Any) -> dict[str, Any]:
    items = [{"line": n, "item": ref(item), "quantity": qty, "units": "CS", "rate": rate,
              "amount": round(qty * rate, 2)} for n, (item, qty, rate) in enumerate(lines, start=1)]
    record = {"id": ns_id, "tranId": f"SO-{ns_id}", "tranDate": tran_date, "entity": ref(customer_id),
              "status": ref("B", "Pending Fulfillment"), "total": round(sum(i["amount"] for i in items), 2),
              "item": {"items": items}, **extra}
    if terms:
        record["terms"] = ref("2", terms)
    return event("salesorder", record)


async def apply(env: Env, *events: dict[str, Any]) -> dict[str, int]:
    """Push webhook-format events through the same apply code the webhook uses."""
    def write(conn: sqlite3.Connection) -> dict[str, int]:
        accepted, rejected = validate_events(json.loads(json.dumps(list(events))))
        assert not rejected, [r.reason for r in rejected]
        return apply_batch(conn, accepted, [], source="test", received_at="2026-11-02T15:00:01Z").counts()

    return await env.db.write(write)


async def load_reference(env: Env, directory: Path, **files: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("__", ".")).write_text(text, encoding="utf-8")
    report = await env.db.write(import_reference, directory)
    assert report.ok, report.errors


async def rows(env: Env, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in await env.db.fetchall(sql, params)]


async def proposals(env: Env, kind: str | None = None) -> list[dict[str, Any]]:
    found = await rows(env, "SELECT * FROM proposed_actions WHERE ? IS NULL OR kind = ? ORDER BY id", (kind, kind))
    for p in found:
        p["payload"] = json.loads(p["payload_json"])
    return found
