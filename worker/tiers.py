"""Cron tier machinery: dispatch on the cron string, a lease per tier, a cron_runs row per run.

The jobs themselves live in `cron/` (JOBS: tier -> ordered jobs). A tier never runs twice at once:
the lease row in `cron_leases` belongs to one holder until released or expired, so a crashed run
lets go by itself and the next tick takes over. A live run renews its lease from a heartbeat while a job
runs; a run that finds its lease gone stops, since another run may already have the tier. The same
leases, keyed `workflow:NAME`, keep two tiers from draining one workflow at once (hold_lease).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from croniter import CroniterError, croniter

from worker.db import DatabaseUnavailable
from worker.env import Env, iso

log = logging.getLogger("worker.cron")
T = TypeVar("T")

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

HEARTBEATS_PER_LEASE = 3  # renewals per lease period: two may come late before the lease lapses
RETRY_FIRST_DELAY, RETRY_MAX_DELAY = 0.5, 30.0  # seconds between tries of a write that lets go of a lease


class LeaseLost(Exception):
    """The tier's lease is no longer this run's: it expired and another run or the hot tier took it."""


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


def _take_lease(conn: sqlite3.Connection, key: str, holder: str, now: datetime, ttl: int) -> bool:
    params = {"tier": key, "holder": holder, "now": iso(now), "expires": iso(now + timedelta(seconds=ttl))}
    conn.execute(ACQUIRE_LEASE, params)
    return conn.execute(LEASE_HOLDER, (key,)).fetchone()[0] == holder


def _release(conn: sqlite3.Connection, key: str, holder: str) -> None:
    conn.execute(RELEASE_LEASE, (key, holder))


def _acquire(conn: sqlite3.Connection, tier: str, cron: str | None, holder: str, now: datetime,
             scheduled_at: datetime, ttl: int) -> tuple[int, bool]:
    got = _take_lease(conn, tier, holder, now, ttl)
    status, finished, error = ("running", None, None) if got else ("skipped", iso(now), "tier already running")
    cursor = conn.execute(INSERT_RUN, (tier, cron, iso(scheduled_at), iso(now), status, holder, finished, error))
    return cursor.lastrowid, got


def _renew(conn: sqlite3.Connection, tier: str, holder: str, expires: datetime) -> bool:
    return conn.execute(RENEW_LEASE, (iso(expires), tier, holder)).rowcount == 1


def _finish(conn: sqlite3.Connection, run_id: int, tier: str, holder: str, now: datetime, status: str,
            counts: dict[str, object], error: str | None) -> None:
    conn.execute(FINISH_RUN, (iso(now), status, json.dumps(counts, default=str), error, run_id))
    _release(conn, tier, holder)


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
        await _holding_lease(env, tier, holder, ttl, _run_jobs(env, tier, holder, ttl, scheduled_at, progress))
    except LeaseLost as exc:
        log.error("cron tier stopped: lease lost", extra={"tier": tier, "run_id": run_id, "job": progress.job})
        progress.errors.append(f"lease lost during {progress.job}: {exc}")
    except asyncio.CancelledError:
        progress.errors.append(f"cancelled during {progress.job}")
        raise
    except Exception as exc:
        progress.errors.append(f"{type(exc).__name__} during {progress.job}: {exc}")
        raise
    finally:
        # Also when cancelled (shutdown) or crashed: a run left `running` with its lease held would block
        # the tier for lease_seconds. Shielded so the cancellation cannot drop the write from the queue;
        # retried, since a busy database at this moment would otherwise leave exactly that.
        status = "failed" if progress.errors else "ok"
        error = "; ".join(progress.errors) or None
        await asyncio.shield(_write_until_done(env, ttl, {"tier": tier, "run_id": run_id}, _finish, run_id, tier,
                                               holder, env.clock(), status, progress.counts, error))
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
        try:
            await _renew_lease(env, tier, holder, ttl)  # also a check: a lease lost between beats stops the next job
        except DatabaseUnavailable:  # a busy moment, as in the heartbeat: the next beat renews it in time
            log.warning("cron lease renewal failed; the heartbeat retries", extra={"tier": tier, "job": name})
    progress.job = None


async def hold_lease(env: Env, key: str, ttl: int, work: Coroutine[Any, Any, T]) -> T | None:
    """Await work holding the lease `key`, renewed while it runs; None, work not run, when another holder has it.

    Raises LeaseLost (work stopped) when a renewal finds the lease taken over. `key` must not be a tier name.
    """
    holder = new_holder()
    try:
        got = await env.db.write(_take_lease, key, holder, env.clock(), ttl)
    except BaseException:
        work.close()
        raise
    if not got:
        work.close()
        return None
    try:
        return await _holding_lease(env, key, holder, ttl, work)
    finally:
        await asyncio.shield(_write_until_done(env, ttl, {"lease": key}, _release, key, holder))


async def _write_until_done(env: Env, ttl: int, about: dict[str, object], fn: Callable[..., object],
                            *args: Any) -> bool:
    """env.db.write(fn, *args), retried with backoff while the database is busy, for at most ttl seconds.

    For the writes that let go of a lease: until one lands, the lease blocks its tier or workflow. After
    ttl the lease has expired anyway (and the hot tier marks the run abandoned), so giving up then costs nothing.
    """
    deadline, delay = time.monotonic() + ttl, RETRY_FIRST_DELAY
    while True:
        try:
            await env.db.write(fn, *args)
            return True
        except DatabaseUnavailable as exc:
            if time.monotonic() + delay > deadline:
                log.error("cron could not let go of a lease; it expires by itself", extra={**about, "error": str(exc)})
                return False
            log.warning("cron could not let go of a lease yet; retrying", extra={**about, "error": str(exc)})
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_DELAY)


async def _holding_lease(env: Env, tier: str, holder: str, ttl: int, work: Coroutine[Any, Any, T]) -> T:
    """Await work while a heartbeat renews the lease; if a renewal finds it lost, stop work, raise LeaseLost."""
    work_task = asyncio.ensure_future(work)
    heartbeat = asyncio.create_task(_heartbeat(env, tier, holder, ttl))
    try:
        await asyncio.wait({work_task, heartbeat}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        heartbeat.cancel()
        work_task.cancel()
        await asyncio.wait({work_task, heartbeat})  # the job has stopped before the run lets go of the lease
    if not heartbeat.cancelled():
        heartbeat.result()  # raises LeaseLost (the heartbeat only ends by raising)
    return work_task.result()


async def _heartbeat(env: Env, tier: str, holder: str, ttl: int) -> None:
    while True:
        await asyncio.sleep(ttl / HEARTBEATS_PER_LEASE)
        try:
            await _renew_lease(env, tier, holder, ttl)
        except DatabaseUnavailable:  # a busy moment: the next beat comes before the lease lapses
            log.warning("cron lease renewal failed; retrying at the next beat", extra={"tier": tier})


async def _renew_lease(env: Env, tier: str, holder: str, ttl: int) -> None:
    """Push the lease's expiry to now + ttl, or raise LeaseLost when it is no longer this run's."""
    if not await env.db.write(_renew, tier, holder, env.clock() + timedelta(seconds=ttl)):
        raise LeaseLost(f"the {tier} lease expired and another run or expire_stale_leases took it; the run stopped")


SHUTDOWN_GRACE_SECONDS = 30  # then running tiers are cancelled: they record themselves and let go of their leases


async def run_scheduler(env: Env, stop: asyncio.Event) -> None:
    """Fire each configured cron on its schedule (UTC, like Cloudflare) until `stop` is set."""
    due = {cron: at for cron in env.settings.triggers.crons if (at := _next_tick(cron, env.clock()))}
    running: set[asyncio.Task[TierRun | None]] = set()
    try:
        while not stop.is_set():
            if not due:  # every cron was dropped (_next_tick logged why): idle until shutdown
                await stop.wait()
                break
            cron = min(due, key=due.__getitem__)
            delay = (due[cron] - env.clock()).total_seconds()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                    break
                except TimeoutError:
                    pass
            now = env.clock()
            at = _latest_tick(cron, due[cron], now)
            task = asyncio.create_task(_scheduled(env, cron, at))
            running.add(task)
            task.add_done_callback(running.discard)
            # From now, not from the tick fired: after the wall clock jumps (a suspended machine, an NTP
            # step) the missed ticks are not replayed, each cron fires once, as of its latest tick.
            if (following := _next_tick(cron, max(now, at))) is None:
                del due[cron]
            else:
                due[cron] = following
        if running:
            await asyncio.wait(set(running), timeout=SHUTDOWN_GRACE_SECONDS)
    except Exception:
        log.exception("cron scheduler stopped: no tier runs until the worker restarts")
        raise
    finally:
        # Wait for the cancelled runs' final writes, so the caller closes the database only after them.
        leftover = set(running)
        for task in leftover:
            task.cancel()
        if leftover:
            await asyncio.wait(leftover)


def _next_tick(cron: str, after: datetime) -> datetime | None:
    """The cron's first tick after `after`; None (logged) when it never fires again, so the others go on."""
    try:
        return croniter(cron, after).get_next(datetime)
    except CroniterError as exc:  # config refuses such a cron; this guards the scheduler's other crons
        log.error("cron never fires; not scheduled", extra={"cron": cron, "error": str(exc)})
        return None


def _latest_tick(cron: str, due: datetime, now: datetime) -> datetime:
    """The tick to fire: `due`, or when the clock has run past later ticks too, the latest of them."""
    return max(due, croniter(cron, now).get_prev(datetime))


async def _scheduled(env: Env, cron: str, at: datetime) -> TierRun | None:
    try:
        return await run_tier(env, tier_for_cron(env, cron), scheduled_at=at, cron=cron)
    except Exception:
        log.exception("scheduled tier crashed", extra={"cron": cron})
        return None
