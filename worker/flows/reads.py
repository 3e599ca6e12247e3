"""Small helpers shared by the order workflows: the standard program, event record ids, raw records.

Workflows read plain-function snapshots through `env.db.read_sync` (see worker/db.py).
"""

from __future__ import annotations

import json
from typing import Any


def record_id(event: Any) -> str:
    """The NetSuite id of the record an event is about."""
    return str(event.payload.get("record_id") or event.entity_id)


def raw_record(text: str | None) -> dict[str, Any]:
    """A mirror row's raw_json as a dict ({} when absent or unreadable)."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def label(value: Any) -> str | None:
    """A NetSuite select value ({"id","refName"} or plain text) as text."""
    if isinstance(value, dict):
        value = value.get("refName") or value.get("refname") or value.get("id")
    return str(value).strip() if value not in (None, "") else None
