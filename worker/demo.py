"""Demo data: a seeded year of a food distributor as CDC events, loaded by `worker dev` into an empty database.

`generate(now)` plays the year (worker/demo_data/story.py) against the curated reference files in
data/reference/ and returns webhook-format events (SPEC 4). `load_demo_if_empty(env)` imports those reference
files and pushes the events through the backfill, the same apply code as the webhook. Only the last
RECENT_DAYS of the year are left for the workflows: history is not news, and a year of old orders would bury
the review queue under proposals nobody needs.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from worker.env import Env
from worker.reference import import_reference

log = logging.getLogger("worker.demo")
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
SEED = 20261122
RECENT_DAYS = 14
DRISCOLL = "1187"
IS_EMPTY = "SELECT NOT EXISTS (SELECT 1 FROM customers)"


def generate(now: datetime, *, seed: int = SEED, reference_dir: Path = REFERENCE_DIR) -> list[dict[str, Any]]:
    """A year of CDC events ending at `now`, the same for the same (now, seed)."""
    from worker.demo_data.story import Story

    return Story(now.astimezone(UTC), seed, reference_dir).play()


def bucket(days_past_due: int) -> str:
    """SPEC 6 aging bucket of a number of days past due."""
    if days_past_due <= 0:
        return "current"
    return "1-30" if days_past_due <= 30 else "31-60" if days_past_due <= 60 else "61-90" if days_past_due <= 90 else "90+"


def summarize(events: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """What the events amount to: counts per type, revenue share per customer, open AR per bucket."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        latest[(event["record_type"], event["record_id"])] = event["record"]
    invoices = [r for (kind, _id), r in latest.items() if kind == "invoice"]
    revenue: dict[str, float] = defaultdict(float)
    buckets: dict[str, float] = defaultdict(float)
    for inv in invoices:
        revenue[inv["entity"]["id"]] += inv["total"]
        if inv["amountRemaining"] > 0:
            due = date.fromisoformat(inv["dueDate"])
            buckets[bucket((today - due).days)] += inv["amountRemaining"]
    total = sum(revenue.values())
    return {"events": len(events), "records": dict(Counter(kind for kind, _id in latest)),
            "revenue": round(total, 2), "driscoll_share": round(revenue[DRISCOLL] / total, 3) if total else 0.0,
            "open_ar_by_bucket": {b: round(v, 2) for b, v in sorted(buckets.items())},
            "credit_memos": sum(1 for kind, _id in latest if kind == "creditmemo")}


def _split(events: list[dict[str, Any]], now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cutoff = (now - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    history = [e for e in events if e["last_modified"] < cutoff]
    return history, events[len(history):]  # events are in last_modified order


def _skip_history(conn: sqlite3.Connection, consumers: list[str]) -> int:
    from worker.ledger import advance_cursor, last_event_id

    head = last_event_id(conn)
    for consumer in consumers:
        advance_cursor(conn, consumer, head)
    return head


async def load_demo_if_empty(env: Env, *, reference_dir: Path = REFERENCE_DIR) -> dict[str, Any] | None:
    """Import the demo reference files and backfill a year of events, once, into an empty database."""
    from worker.backfill import backfill_events
    from worker.flows.registry import WORKFLOWS

    row = await env.db.fetchone(IS_EMPTY)
    if not row or not row[0]:
        return None
    now = env.clock()
    events = generate(now, reference_dir=reference_dir)
    history, recent = _split(events, now)
    report = await env.db.write(import_reference, reference_dir)
    # The backfill opens its own connection; running it on the write thread keeps this process's writes
    # queued behind it instead of racing it for SQLite's lock.
    path = env.db.path
    first = await env.db.write_unlocked(lambda _conn: backfill_events(path, history, progress=False))
    skipped_to = await env.db.write(_skip_history, [w.name for w in WORKFLOWS])
    second = await env.db.write_unlocked(lambda _conn: backfill_events(path, recent, progress=False))
    summary = summarize(events, now.astimezone(env.settings.timezone).date())
    summary |= {"reference": {f.file: f.summary() for f in report.files}, "history_events": len(history),
                "recent_events": len(recent), "workflow_cursor": skipped_to,
                "backfill": [first, second]}
    log.info("demo data loaded", extra={"events": len(events), "driscoll_share": summary["driscoll_share"]})
    return summary

