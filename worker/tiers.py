"""Cron tier machinery: dispatch on the cron string, a lease per tier, a cron_runs row per run.

The jobs themselves live in `cron/` (JOBS: tier -> ordered jobs). A tier never runs twice at once:
the lease row in `cron_leases` belongs to one holder until released or expired, so a crashed run
lets go by itself and the next tick takes over.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from croniter import croniter

from worker.env import Env, iso

log = logging.getLogger("worker.cron")

ACQUIRE_LEASE = """
INSERT INTO cron_leases (tier, holder, acquired_at, expires_at) VALUES (:tier, :holder, :now, :expires)
ON CONFLICT (tier) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at
WHERE cron_leases.expires_at <= :now OR cron_leases.holder = :holder
"""
LEASE_HOLDER = "SELECT holder FROM cron_leases WHERE tier = ?"
RENEW_LEASE = "UPDATE cron_leases SET expires_at = ? WHERE tier = ? AND holder = ?"
RELEASE_LEASE = "DELETE FROM cron_leases WHERE tier = ? AND holder = ?"
INSERT_RUN = """
INSERT INTO cron_runs (tier, cron, scheduled_at, started_at, status, holder, finished_at, error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
FINISH_RUN = "UPDATE cron_runs SET finished_at = ?, status = ?, counts_json = ?, error = ? WHERE id = ?"


@dataclass(frozen=True)
class TierRun:
    """What one invocation of a tier did."""

    run_id: int
    tier: str
    status: str  # ok | failed | skipped
    counts: dict[str, object]
    error: str | None = None


def tier_for_cron(env: Env, cron: str) -> str:
    """The tier a cron string runs, or KeyError naming the unknown cron."""
    try:
        return env.settings.triggers.tiers[cron]
    except KeyError:
        raise KeyError(f"no tier is configured for cron {cron!r}") from None


def new_holder() -> str:
    """A lease holder id unique to this process and call."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _acquire(conn: sqlite3.Connection, tier: str, cron: str | None, holder: str, now: datetime,
             scheduled_at: datetime, ttl: int) -> tuple[int, bool]:
    params = {"tier": tier, "holder": holder, "now": iso(now), "expires": iso(now + timedelta(seconds=ttl))}
    conn.execute(ACQUIRE_LEASE, params)
    got = conn.execute(LEASE_HOLDER, (tier,)).fetchone()[0] == holder
    status, finished, error = ("running", None, None) if got else ("skipped", iso(now), "tier already running")
    cursor = conn.execute(INSERT_RUN, (tier, cron, iso(scheduled_at), iso(now), status, holder, finished, error))
    return cursor.lastrowid, got


def _finish(conn: sqlite3.Connection, run_id: int, tier: str, holder: str, now: datetime, status: str,
            counts: dict[str, object], error: str | None) -> None:
    conn.execute(FINISH_RUN, (iso(now), status, json.dumps(counts, default=str), error, run_id))
    conn.execute(RELEASE_LEASE, (tier, holder))


async def run_tier(env: Env, tier: str, *, scheduled_at: datetime | None = None, cron: str | None = None,
                   holder: str | None = None) -> TierRun:
    """Run every job of a tier once under its lease; a failing job does not stop the others."""
    holder = holder or new_holder()
    started = env.clock()
    scheduled_at = scheduled_at or started
    ttl = env.settings.triggers.lease_seconds.get(tier, 900)
    run_id, got = await env.db.write(_acquire, tier, cron, holder, started, scheduled_at, ttl)
    if not got:
        log.info("cron tier skipped: lease held", extra={"tier": tier, "run_id": run_id})
        return TierRun(run_id, tier, "skipped", {}, "tier already running")
    progress = _Progress()
    try:
        await _run_jobs(env, tier, holder, ttl, scheduled_at, progress)
    except asyncio.CancelledError:
        progress.errors.append(f"cancelled during {progress.job}")
        raise
    except Exception as exc:
        progress.errors.append(f"{type(exc).__name__} during {progress.job}: {exc}")
        raise
    finally:
        # Also when cancelled (shutdown) or crashed: a run left `running` with its lease held would block
        # the tier for lease_seconds. Shielded so the cancellation cannot drop the write from the queue.
        status = "failed" if progress.errors else "ok"
        error = "; ".join(progress.errors) or None
        await asyncio.shield(env.db.write(_finish, run_id, tier, holder, env.clock(), status, progress.counts, error))
        log.info("cron tier finished", extra={"tier": tier, "run_id": run_id, "status": status})
    return TierRun(run_id, tier, status, progress.counts, error)


@dataclass
class _Progress:
    """How far a run got: counts and errors per finished job, and the job under way."""

    counts: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    job: str | None = None


async def _run_jobs(env: Env, tier: str, holder: str, ttl: int, scheduled_at: datetime, progress: _Progress) -> None:
    from cron import JOBS  # the job table; imported late so cron/ may import worker/ freely

    for name, job in JOBS[tier]:
        progress.job = name
        try:
            progress.counts[name] = await job(env, scheduled_at) or {}
        except Exception as exc:  # one job's failure is recorded; the tier goes on with the rest
            log.exception("cron job failed", extra={"tier": tier, "job": name})
            progress.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        await env.db.write(lambda c: c.execute(RENEW_LEASE, (iso(env.clock() + timedelta(seconds=ttl)), tier, holder)))
    progress.job = None


SHUTDOWN_GRACE_SECONDS = 30  # then running tiers are cancelled: they record themselves and let go of their leases


async def run_scheduler(env: Env, stop: asyncio.Event) -> None:
    """Fire each configured cron on its schedule (UTC, like Cloudflare) until `stop` is set."""
    crons = env.settings.triggers.crons
    schedule = {cron: croniter(cron, env.clock()) for cron in crons}
    due = {cron: it.get_next(datetime) for cron, it in schedule.items()}
    running: set[asyncio.Task[TierRun | None]] = set()
    try:
        while not stop.is_set():
            cron = min(due, key=due.__getitem__)
            delay = (due[cron] - env.clock()).total_seconds()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                    break
                except TimeoutError:
                    pass
            task = asyncio.create_task(_scheduled(env, cron, due[cron]))
            running.add(task)
            task.add_done_callback(running.discard)
            due[cron] = schedule[cron].get_next(datetime)
        if running:
            await asyncio.wait(set(running), timeout=SHUTDOWN_GRACE_SECONDS)
    finally:
        # Wait for the cancelled runs' final writes, so the caller closes the database only after them.
        leftover = set(running)
        for task in leftover:
            task.cancel()
        if leftover:
            await asyncio.wait(leftover)


async def _scheduled(env: Env, cron: str, at: datetime) -> TierRun | None:
    try:
        return await run_tier(env, tier_for_cron(env, cron), scheduled_at=at, cron=cron)
    except Exception:
        log.exception("scheduled tier crashed", extra={"cron": cron})
        return None
