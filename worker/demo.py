"""Demo data: a seeded year of a food distributor as CDC events, loaded by `worker dev` into an empty database.

`generate(now)` plays the year (worker/demo_data/story.py) against the curated reference files in
data/reference/ and returns webhook-format events (SPEC 4). `load_demo_if_empty(env)` imports those reference
files and pushes the events through the backfill, the same apply code as the webhook. Only the last
RECENT_DAYS of the year are left for the workflows: history is not news, and a year of old orders would bury
the review queue under proposals nobody needs. Then a few purchase orders (data/demo_orders/, worker/demo_orders.py)
are mailed through the real intake, so the queue's Orders tab has work: their PDFs print placeholder dates that are
replaced, byte for byte, by dates around the demo's now. The load takes several transactions, so its own row in
webhook_receipts says how far it got: a load cut short (a killed `worker dev`) is resumed at the next start.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from worker.env import Env, iso, utcnow
from worker.reference import import_reference

log = logging.getLogger("worker.demo")
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
SEED = 20261122
RECENT_DAYS = 14
DRISCOLL = "1187"
# The load's own receipt (event_id MARK, source 'demo', beside its events' demo-000001...): written before anything,
# its outcome moves STARTED -> HISTORY_SKIPPED -> LOADED, and its last_modified keeps the `now` the year ends at, so a
# resumed load replays the very same events. Customers without this row are not the demo's (real data, or a demo
# loaded before the row existed): they are left alone.
MARK = "demo-load"
STARTED, HISTORY_SKIPPED, LOADED = "started", "history skipped", "loaded"
# Loaded but for the purchase orders, whose bucket did not answer: mailed at a later start, when it does.
ORDERS_PENDING = "orders pending"
LOAD_STATE = """
SELECT EXISTS (SELECT 1 FROM customers),
       (SELECT outcome FROM webhook_receipts WHERE event_id = :mark AND source = 'demo'),
       (SELECT last_modified FROM webhook_receipts WHERE event_id = :mark AND source = 'demo')
"""
MARK_STARTED = """
INSERT INTO webhook_receipts (event_id, record_type, record_id, operation, last_modified, outcome, source, received_at)
VALUES (:mark, 'demo', 'demo', 'load', :year_end, :started, 'demo', :received_at)
"""
LOAD_STAGE = "SELECT outcome FROM webhook_receipts WHERE event_id = :mark AND source = 'demo'"
SET_LOAD_STAGE = "UPDATE webhook_receipts SET outcome = :stage WHERE event_id = :mark AND source = 'demo'"


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


def plan(has_customers: bool, stage: str | None) -> str:
    """What `worker dev` does with a database: "load" the demo, "resume" one cut short, mail the "orders" a load
    could not, or "leave" it alone."""
    if stage is None:
        return "leave" if has_customers else "load"
    return {LOADED: "leave", ORDERS_PENDING: "orders"}.get(stage, "resume")


def _claim(conn: sqlite3.Connection, now: datetime) -> tuple[str, datetime]:
    """The plan and the year's end (the first load's `now` when resuming); a new load writes its receipt first."""
    has_customers, stage, year_end = conn.execute(LOAD_STATE, {"mark": MARK}).fetchone()
    action = plan(bool(has_customers), stage)
    if action in ("resume", "orders"):
        return action, datetime.fromisoformat(year_end)
    if action == "load":
        conn.execute(MARK_STARTED, {"mark": MARK, "year_end": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                                    "started": STARTED, "received_at": iso(utcnow())})
    return action, now


def _skip_history(conn: sqlite3.Connection, consumers: list[str]) -> int:
    """Move the workflows' cursors past the history, once: redone after the recent backfill began, it would
    move them past recent events too."""
    from worker.ledger import advance_cursor, last_event_id, read_cursor

    if conn.execute(LOAD_STAGE, {"mark": MARK}).fetchone()[0] == STARTED:
        head = last_event_id(conn)
        for consumer in consumers:
            advance_cursor(conn, consumer, head)
        conn.execute(SET_LOAD_STAGE, {"mark": MARK, "stage": HISTORY_SKIPPED})
    return read_cursor(conn, consumers[0])


def _finish(conn: sqlite3.Connection, stage: str = LOADED) -> None:
    conn.execute(SET_LOAD_STAGE, {"mark": MARK, "stage": stage})


async def load_demo_if_empty(env: Env, *, reference_dir: Path = REFERENCE_DIR) -> dict[str, Any] | None:
    """Import the demo reference files, backfill a year of events and mail the demo orders, once, into an empty
    database; finish a load cut short. Every step is safe to redo: the reference import changes nothing the second
    time, the backfill skips the receipts it has, the cursors move once, an order already logged is not mailed."""
    from worker.backfill import backfill_events
    from worker.demo_orders import mail_demo_orders
    from worker.flows.registry import WORKFLOWS

    action, now = await env.db.write(_claim, env.clock())
    if action == "leave":
        return None
    if action == "orders":
        if (orders := await mail_demo_orders(env, now)) is None:
            return None
        await env.db.write(_finish)
        log.info("demo orders mailed: the bucket answers now", extra={"orders": len(orders)})
        return {"orders": orders, "resumed": True}
    if action == "resume":
        log.info("demo data: resuming a load that was cut short", extra={"year_end": now.isoformat()})
    events = generate(now, reference_dir=reference_dir)
    history, recent = _split(events, now)
    # The company's date, as the CLI passes it: a dateless order's request is judged on it (worker/reference.py).
    today = env.clock().astimezone(env.settings.timezone).date().isoformat()
    report = await env.db.write(import_reference, reference_dir, today=today)
    # The backfill opens its own connection; running it on the write thread keeps this process's writes
    # queued behind it instead of racing it for SQLite's lock.
    path = env.db.path
    first = await env.db.write_unlocked(lambda _conn: backfill_events(path, history, progress=False))
    skipped_to = await env.db.write(_skip_history, [w.name for w in WORKFLOWS])
    second = await env.db.write_unlocked(lambda _conn: backfill_events(path, recent, progress=False))
    orders = await mail_demo_orders(env, now)  # after the year: the intake matches senders to its customers
    await env.db.write(_finish, LOADED if orders is not None else ORDERS_PENDING)
    summary = summarize(events, now.astimezone(env.settings.timezone).date())
    summary |= {"reference": {f.file: f.summary() for f in report.files}, "history_events": len(history),
                "recent_events": len(recent), "workflow_cursor": skipped_to,
                "backfill": [first, second], "orders": orders, "resumed": action == "resume"}
    log.info("demo data loaded", extra={"events": len(events), "driscoll_share": summary["driscoll_share"]})
    return summary

