"""Housekeeping jobs: stale leases and abandoned runs (hot), database maintenance (cold)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

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


def _maintain(conn: sqlite3.Connection) -> dict[str, int]:
    conn.execute("PRAGMA optimize")
    busy, log_frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return {"wal_frames": log_frames, "checkpointed": checkpointed, "busy": busy}


async def database_maintenance(env: Env, as_of: datetime) -> dict[str, int]:
    """PRAGMA optimize and a truncating WAL checkpoint, outside any transaction."""
    return await env.db.write_unlocked(_maintain)
