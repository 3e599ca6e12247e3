"""Read helpers for workflow handlers: a consistent read-only snapshot off the event loop.

The shared pricing helpers (worker/pricing.py) are plain functions of a sqlite3 connection, like every
writer function; aiosqlite's pooled readers cannot run them. A workflow therefore reads through a short-lived
read-only sqlite3 connection in a worker thread, inside one read transaction, so a sales order, its lines and
the prices it is compared with all come from the same committed state.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from worker.env import Env
from worker.pricing import ProgramTerms

T = TypeVar("T")


def _in_snapshot(path: str, busy_timeout_ms: int, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    conn = sqlite3.connect(path, uri=True, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("BEGIN")  # deferred: one snapshot for every query fn makes, no write lock taken
        try:
            return fn(conn, *args)
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()


async def read_snapshot(env: Env, fn: Callable[..., T], *args: Any) -> T:
    """Run fn(conn, *args) on a read-only connection to env's database, in a thread, in one snapshot."""
    uri = env.db.path.resolve().as_uri() + "?mode=ro"
    return await asyncio.to_thread(_in_snapshot, uri, env.db.busy_timeout_ms, fn, args)


def standard_program(env: Env) -> ProgramTerms:
    """The configured `standard` program (customers without a customer_program row)."""
    standard = env.settings.programs["standard"]
    return ProgramTerms("standard", standard.markup_pct, standard.freight_terms, standard.payment_terms_days,
                        standard.usda_eligible)


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
