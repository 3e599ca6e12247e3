"""The event ledger: an append-only `events` table and one cursor per consumer.

Appends happen inside the writer's transaction that made the change, so an event exists if and only
if its change was committed. `dedupe_key` makes an append idempotent (INSERT OR IGNORE).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from worker.env import iso, utcnow

INSERT_EVENT = """
INSERT OR IGNORE INTO events (type, entity_type, entity_id, payload_json, created_at, dedupe_key)
VALUES (?, ?, ?, ?, ?, ?)
"""
GET_CURSOR = "SELECT last_event_id FROM event_cursors WHERE consumer = ?"
SET_CURSOR = """
INSERT INTO event_cursors (consumer, last_event_id, updated_at) VALUES (?, ?, ?)
ON CONFLICT (consumer) DO UPDATE SET last_event_id = max(last_event_id, excluded.last_event_id),
    updated_at = excluded.updated_at
"""


@dataclass(frozen=True)
class Event:
    """One row of the ledger."""

    id: int
    type: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any]
    created_at: str


def append_event(
    conn: sqlite3.Connection,
    type: str,
    entity_type: str,
    entity_id: str,
    payload: Mapping[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    created_at: str | None = None,
) -> int | None:
    """Append an event in the caller's transaction; returns its id, or None if dedupe_key was seen."""
    cursor = conn.execute(
        INSERT_EVENT,
        (type, entity_type, str(entity_id), json.dumps(payload or {}, default=str, separators=(",", ":")),
         created_at or iso(utcnow()), dedupe_key),
    )
    return cursor.lastrowid if cursor.rowcount else None


def read_cursor(conn: sqlite3.Connection, consumer: str) -> int:
    """The last event id the consumer has fully handled (0 if none)."""
    row = conn.execute(GET_CURSOR, (consumer,)).fetchone()
    return row[0] if row else 0


def advance_cursor(conn: sqlite3.Connection, consumer: str, event_id: int) -> None:
    """Move the consumer's cursor forward (never backward)."""
    conn.execute(SET_CURSOR, (consumer, event_id, iso(utcnow())))


def events_after(conn: sqlite3.Connection, after_id: int, types: Iterable[str], limit: int = 500) -> list[Event]:
    """Events with id > after_id of the given types, oldest first."""
    types = list(types)
    marks = ",".join("?" * len(types))
    rows = conn.execute(
        f"SELECT id, type, entity_type, entity_id, payload_json, created_at FROM events "
        f"WHERE id > ? AND type IN ({marks}) ORDER BY id LIMIT ?",
        (after_id, *types, limit),
    ).fetchall()
    return [Event(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]


def last_event_id(conn: sqlite3.Connection) -> int:
    """The newest event id (0 for an empty ledger)."""
    return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
