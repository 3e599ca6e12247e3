"""Test support for the CDC tests: NetSuite-shaped records, events, and the reference signer."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.helpers import TEST_WEBHOOK_SECRET
from worker.db import connect
from worker.migrations import apply_schema

NS = "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1"


def ref(kind: str, ident: str, name: str | None = None) -> dict[str, Any]:
    """A NetSuite REST reference with its links array, as the REST API returns it."""
    out: dict[str, Any] = {"links": [{"rel": "self", "href": f"{NS}/{kind}/{ident}"}], "id": ident}
    if name is not None:
        out["refName"] = name
    return out


def signed_headers(body: bytes, *, secret: str = TEST_WEBHOOK_SECRET, msg_id: str | None = None,
                   at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers made by the reference `standardwebhooks` signer."""
    at = at or datetime.now(UTC)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature,
            "content-type": "application/json"}


def event(event_id: str, record_type: str, record_id: str, last_modified: str, record: dict[str, Any] | None = None,
          operation: str = "update") -> dict[str, Any]:
    """One CDC event in the SPEC 4 envelope."""
    out: dict[str, Any] = {"event_id": event_id, "record_type": record_type, "record_id": record_id,
                           "operation": operation, "last_modified": last_modified}
    if record is not None:
        out["record"] = record
    return out


def customer(ns_id: str, name: str, **extra: Any) -> dict[str, Any]:
    """A customer record shaped like NetSuite REST's."""
    return {"links": [{"rel": "self", "href": f"{NS}/customer/{ns_id}"}], "id": ns_id, "entityId": name,
            "companyName": name, "email": f"ap@{name.lower().replace(' ', '')}.example", "isinactive": False,
            "terms": ref("term", "2", "Net 30"), "creditLimit": 50000.0, "custentity_esc_industry": "Food", **extra}


def sales_order(ns_id: str, customer_id: str, lines: list[tuple[str, float, float]], **extra: Any) -> dict[str, Any]:
    """A sales order with item.items[] lines of (item id, quantity, rate)."""
    items = [{"links": [], "line": n, "item": ref("inventoryitem", item, f"Item {item}"), "description": f"Item {item}",
              "quantity": qty, "units": "Case", "rate": rate, "amount": round(qty * rate, 2)}
             for n, (item, qty, rate) in enumerate(lines, start=1)]
    return {"id": ns_id, "tranId": f"SO{ns_id}", "tranDate": "2026-11-20", "entity": ref("customer", customer_id, "Cust"),
            "status": {"id": "pendingFulfillment", "refName": "Pending Fulfillment"}, "otherRefNum": f"PO-{ns_id}",
            "currency": ref("currency", "1", "USA"), "total": round(sum(q * r for _, q, r in lines), 2),
            "item": {"links": [], "items": items}, **extra}


def post_events(client: Any, url: str, events: list[dict[str, Any]] | dict[str, Any], **kwargs: Any) -> Any:
    """Sign and POST a batch (list) or a single event (dict)."""
    body = json.dumps({"events": events} if isinstance(events, list) else events).encode()
    return client.post(url + "/api/ns-webhook", content=body, headers=signed_headers(body, **kwargs))


def fresh_db(path: Path) -> sqlite3.Connection:
    """A migrated SQLite file with the worker's pragmas."""
    conn = connect(path)
    apply_schema(conn)
    return conn
