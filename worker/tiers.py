"""Cron tier machinery: dispatch on the cron string, a lease per tier, a cron_runs row per run, the scheduler.

The jobs themselves live in `cron/` (JOBS: tier -> ordered jobs). A tier never runs twice at once: it
runs under the lease named after it (worker/leases.py), so a crashed run lets go by itself and the next
tick takes over, and a run that finds its lease gone stops, since another run may already have the tier.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from croniter import CroniterError, croniter

from worker.env import Env, iso
from worker.leases import (
    LeaseLost,
    acquire,
    holding_lease,
    new_holder,
    release,
    renew_lease,
    take_lease,
    write_until_done,
)

log = logging.getLogger("worker.cron")

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


def _acquire(conn: sqlite3.Connection, tier: str, cron: str | None, holder: str, now: datetime,
             scheduled_at: datetime, ttl: int) -> tuple[int, bool]:
    got = take_lease(conn, tier, holder, now, ttl)
    status, finished, error = ("running", None, None) if got else ("skipped", iso(now), "tier already running")
    cursor = conn.execute(INSERT_RUN, (tier, cron, iso(scheduled_at), iso(now), status, holder, finished, error))
    return cursor.lastrowid, got


def _finish(conn: sqlite3.Connection, run_id: int, tier: str, holder: str, now: datetime, status: str,
            counts: dict[str, object], error: str | None) -> None:
    conn.execute(FINISH_RUN, (iso(now), status, json.dumps(counts, default=str), error, run_id))
    release(conn, tier, holder)


async def run_tier(env: Env, tier: str, *, scheduled_at: datetime | None = None, cron: str | None = None,
                   holder: str | None = None) -> TierRun:
    """Run every job of a tier once under its lease; a failing job does not stop the others."""
    holder = holder or new_holder()
    started = env.clock()
    scheduled_at = scheduled_at or started
    ttl = env.settings.triggers.lease_seconds.get(tier, 900)

    async def let_go(taken: tuple[int, bool]) -> None:  # cancelled before the run began: it failed, lease released
        if taken[1]:
            await write_until_done(env, ttl, {"tier": tier, "run_id": taken[0]}, _finish, taken[0], tier, holder,
                                   env.clock(), "failed", {}, "cancelled before it started")

    run_id, got = await acquire(env, let_go, _acquire, tier, cron, holder, started, scheduled_at, ttl)
    if not got:
        log.info("cron tier skipped: lease held", extra={"tier": tier, "run_id": run_id})
        return TierRun(run_id, tier, "skipped", {}, "tier already running")
    progress = _Progress()
    try:
        await holding_lease(env, tier, holder, ttl, _run_jobs(env, tier, holder, ttl, scheduled_at, progress))
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
        await asyncio.shield(write_until_done(env, ttl, {"tier": tier, "run_id": run_id}, _finish, run_id, tier,
                                               holder, env.clock(), status, progress.counts, error))
        log.info("cron tier finished", extra={"tier": tier, "run_id": run_id, "status": status})
    return TierRun(run_id, tier, status, progress.counts, error)


@dataclass
class _Progress:
    """How far a run got: counts and errors per finished job, and the job under way."""

    counts: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    job: str | None = None


class JobDeclined(RuntimeError):
    """A job that did nothing for the reason its message states (a tick older than the data it would replace):
    the run fails saying so, and the log says it without a traceback, which is for bugs."""


async def _run_jobs(env: Env, tier: str, holder: str, ttl: int, scheduled_at: datetime, progress: _Progress) -> None:
    from cron import JOBS  # the job table; imported late so cron/ may import worker/ freely

    for name, job in JOBS[tier]:
        progress.job = name
        try:
            progress.counts[name] = await job(env, scheduled_at) or {}
        except Exception as exc:  # one job's failure is recorded; the tier goes on with the rest
            if isinstance(exc, JobDeclined):
                log.warning("cron job declined", extra={"tier": tier, "job": name, "error": str(exc)})
            else:
                log.exception("cron job failed", extra={"tier": tier, "job": name})
            progress.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        await renew_lease(env, tier, holder, ttl, job=name)  # also a check: a lease lost between beats stops the next job
    progress.job = None


SHUTDOWN_GRACE_SECONDS = 30  # then running tiers are cancelled: they record themselves and let go of their leases
# How far before its tick the clock may read when the scheduler wakes for it, and the tick still fire (timer and
# clock granularity); earlier than that, the wall clock has stepped back.
CLOCK_STEP_TOLERANCE = timedelta(seconds=1)
# A cron whose ticks are further apart than this (cold, nightly) fires at start the tick it missed while the
# worker was down: its next tick is too far off to stand in, and its product is dated (a night's health scores).
# Closer ticks (hot, warm) are left to the next one, minutes away, which does all the pending work anyway.
CATCH_UP_PERIOD = timedelta(hours=1)
# The latest tick a tier's runs cover: a run for the missed tick or a later one (`worker cron`, any status) did it.
LAST_SCHEDULED = "SELECT max(scheduled_at) FROM cron_runs WHERE tier = ?"
# Whether any tier started before a time: the deployment was up then (rowid order: the oldest rows answer first).
RAN_BEFORE = "SELECT EXISTS (SELECT 1 FROM cron_runs WHERE started_at < ?)"


async def run_scheduler(env: Env, stop: asyncio.Event) -> None:
    """Fire each configured cron on its schedule (UTC, like Cloudflare) until `stop` is set."""
    running: set[asyncio.Task[TierRun | None]] = set()

    def fire(cron: str, at: datetime) -> None:
        task = asyncio.create_task(_scheduled(env, cron, at))
        running.add(task)
        task.add_done_callback(running.discard)

    try:
        started = env.clock()
        for cron, at in await _missed_ticks(env, started):
            log.warning("cron tick missed while the worker was down: firing it now",
                        extra={"cron": cron, "scheduled_at": iso(at)})
            fire(cron, at)
        due = {cron: at for cron in env.settings.triggers.crons if (at := _next_tick(cron, started))}
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
            if now < due[cron] - CLOCK_STEP_TOLERANCE:
                # Woken by the elapsed time, yet the wall clock is before the tick: it stepped back while we
                # slept (an NTP step). Kept, the dues would fire nothing for the length of the step, then a
                # run dated ahead of the clock; so every cron is rescheduled from now, and fires on its next tick.
                due = {c: following for c in due if (following := _next_tick(c, now))}
                continue
            at = _latest_tick(cron, due[cron], now)
            fire(cron, at)
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


def catch_up_tick(cron: str, now: datetime) -> datetime | None:
    """The cron's latest tick at or before `now` when it ticks less often than CATCH_UP_PERIOD, else None."""
    tick = croniter(cron, now + timedelta(microseconds=1)).get_prev(datetime)  # +1 µs: a tick at `now` counts
    return tick if croniter(cron, tick).get_next(datetime) - tick > CATCH_UP_PERIOD else None


def tick_missed(tick: datetime, last_scheduled: str | None, ran_before: bool) -> bool:
    """Whether the tier missed `tick`: no run of it was for that tick or a later one (`last_scheduled`: its newest
    run's scheduled_at, ISO strings compare), and the deployment was up before the tick: the tier ran before, or
    another tier did (`ran_before`; the first night of a deployment restarted across it). A database no tier ran
    on before the tick (a first start, `worker dev`, a test server) fires nothing."""
    if last_scheduled is None:
        return ran_before
    return last_scheduled < iso(tick)


async def _missed_ticks(env: Env, now: datetime) -> list[tuple[str, datetime]]:
    """The (cron, tick) pairs to fire at start, at most one each, the latest, as after a wall clock jump.

    A failure to tell is logged and fires nothing: the schedule itself still starts."""
    missed = []
    for cron in env.settings.triggers.crons:
        try:
            if (tick := catch_up_tick(cron, now)) is None:
                continue
            row = await env.db.fetchone(LAST_SCHEDULED, (tier_for_cron(env, cron),))
            ran_before = row[0] is None and bool((await env.db.fetchone(RAN_BEFORE, (iso(tick),)))[0])
            if tick_missed(tick, row[0], ran_before):
                missed.append((cron, tick))
        except Exception:
            log.exception("cron catch-up check failed; a missed tick is not fired", extra={"cron": cron})
    return missed


def _latest_tick(cron: str, due: datetime, now: datetime) -> datetime:
    """The tick to fire: `due`, or when the clock has run past later ticks too, the latest of them."""
    return max(due, croniter(cron, now).get_prev(datetime))


async def _scheduled(env: Env, cron: str, at: datetime) -> TierRun | None:
    try:
        return await run_tier(env, tier_for_cron(env, cron), scheduled_at=at, cron=cron)
    except Exception:
        log.exception("scheduled tier crashed", extra={"cron": cron})
        return None
