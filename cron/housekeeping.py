"""Housekeeping jobs: stale leases and abandoned runs (hot), receipt retention and database maintenance (cold)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from worker.env import Env, iso

EXPIRE_LEASES = "DELETE FROM cron_leases WHERE expires_at <= ?"
# A run still 'running' with no live lease was abandoned by a crashed process.
ABANDON_RUNS = """
UPDATE cron_runs SET status = 'failed', finished_at = :now, error = 'abandoned: the process died mid-run'
WHERE status = 'running' AND NOT EXISTS (
    SELECT 1 FROM cron_leases l WHERE l.tier = cron_runs.tier AND l.holder = cron_runs.holder)
"""


def _expire(conn: sqlite3.Connection, now: str) -> dict[str, int]:
    leases = conn.execute(EXPIRE_LEASES, (now,)).rowcount
    runs = conn.execute(ABANDON_RUNS, {"now": now}).rowcount
    return {"leases_expired": leases, "runs_abandoned": runs}


async def expire_stale_leases(env: Env, as_of: datetime) -> dict[str, int]:
    """Drop expired leases and mark the runs that held them as abandoned."""
    return await env.db.write(_expire, iso(env.clock()))


# Receipts are appended in time order, so the oldest are the lowest rowids: a prune reads from the start
# and stops at the first young receipt instead of scanning the table (received_at has no index).
OLDEST_RECEIPTS = "SELECT rowid, received_at FROM webhook_receipts ORDER BY rowid LIMIT ?"
DELETE_RECEIPTS_THROUGH = "DELETE FROM webhook_receipts WHERE rowid <= ?"
PRUNE_CHUNK = 10_000  # receipts per transaction: the writer is never held for long


def prune_receipts_before(conn: sqlite3.Connection, cutoff: str, limit: int = PRUNE_CHUNK) -> int:
    """Delete up to `limit` of the oldest receipts received before cutoff; returns how many."""
    last = None
    for rowid, received_at in conn.execute(OLDEST_RECEIPTS, (limit,)):
        if received_at >= cutoff:
            break
        last = rowid
    return conn.execute(DELETE_RECEIPTS_THROUGH, (last,)).rowcount if last is not None else 0


async def prune_receipts(env: Env, as_of: datetime) -> dict[str, int]:
    """Drop webhook receipts older than [retention] webhook_receipts_days, a chunk per transaction.

    Safe for idempotency: an event redelivered after its receipt is gone carries a version the mirror
    already holds, so the version guard answers it as stale and writes nothing but a new receipt.
    """
    cutoff = iso(as_of - timedelta(days=env.settings.retention.webhook_receipts_days))
    pruned = 0
    while deleted := await env.db.write(prune_receipts_before, cutoff):
        pruned += deleted
    return {"receipts_pruned": pruned}


def _maintain(conn: sqlite3.Connection) -> dict[str, int]:
    conn.execute("PRAGMA optimize")
    busy, log_frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return {"wal_frames": log_frames, "checkpointed": checkpointed, "busy": busy}


async def database_maintenance(env: Env, as_of: datetime) -> dict[str, int]:
    """PRAGMA optimize and a truncating WAL checkpoint, outside any transaction."""
    return await env.db.write_unlocked(_maintain)
