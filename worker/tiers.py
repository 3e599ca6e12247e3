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
# A cron whose ticks are further apart than this (cold, nightly) catches up: at start it fires the tick it missed
# while the worker was down, and while it runs, a tick whose run did not finish (its process killed, a shutdown): its
# next tick is too far off to stand in, and its product is dated (a night's health scores). Closer ticks (hot, warm)
# are left to the next one, minutes away, which does all the pending work anyway.
CATCH_UP_PERIOD = timedelta(hours=1)
# How often the scheduler looks at those ticks again after start: a killed run's lease has to expire first (its
# heartbeat died with it), and another process's run (`worker cron`) may be killed at any time.
CATCH_UP_RECHECK = timedelta(minutes=1)
# Interrupted runs of one tick (the scheduled one included) after which it is not fired again: a run that kills its
# process every time (memory, a poisoned row) must not be restarted every few minutes for ever.
MAX_TICK_ATTEMPTS = 3
# The tier's runs for the tick or a later one (a `worker cron` since then counts): finished_by_itself says which did it.
RUNS_SINCE = "SELECT scheduled_at, status, error FROM cron_runs WHERE tier = ? AND scheduled_at >= ?"
# Whether any tier started before a time: the deployment was up then (rowid order: the oldest rows answer first).
RAN_BEFORE = "SELECT EXISTS (SELECT 1 FROM cron_runs WHERE started_at < ?)"
# Whether a live holder has the tier (a run under way, here or in another process, or a dead run's lease not yet
# expired): a tick fired now would only be `skipped`, so it waits for a later look.
LEASE_LIVE = "SELECT EXISTS (SELECT 1 FROM cron_leases WHERE tier = ? AND expires_at > ?)"
# How a run stopped from outside says so, as one of its '; '-joined errors: cron.housekeeping.ABANDON_RUNS (the hot
# tier, for a run whose process died), run_tier's own for a shutdown or a lease taken over. A job's failure
# ('JOB: Type: message') is none of these: that run finished by itself, and running it again would fail again.
INTERRUPTIONS = ("abandoned:", "cancelled before it started", "cancelled during ", "lease lost during ")


async def run_scheduler(env: Env, stop: asyncio.Event) -> None:
    """Fire each configured cron on its schedule (UTC, like Cloudflare) until `stop` is set."""
    running: set[asyncio.Task[TierRun | None]] = set()
    latest: dict[str, asyncio.Task[TierRun | None]] = {}  # each cron's latest run fired here
    given_up: set[tuple[str, datetime]] = set()  # ticks logged as not fired again

    def fire(cron: str, at: datetime) -> None:
        task = asyncio.create_task(_scheduled(env, cron, at))
        running.add(task)
        task.add_done_callback(running.discard)
        latest[cron] = task

    async def catch_up(now: datetime, at_start: bool) -> None:
        # A cron whose run from here is under way is left alone: it may not hold its lease yet.
        busy = {cron for cron, task in latest.items() if not task.done()}
        for cron, at, attempts in await _ticks_to_catch_up(env, now, busy, given_up):
            if attempts == 0 and at_start:
                log.warning("cron tick missed while the worker was down: firing it now",
                            extra={"cron": cron, "scheduled_at": iso(at)})
            else:
                log.warning("cron tick has no run that finished (killed, stopped or skipped): firing it again",
                            extra={"cron": cron, "scheduled_at": iso(at), "interrupted_runs": attempts})
            fire(cron, at)

    try:
        started = env.clock()
        await catch_up(started, at_start=True)
        recheck = started + CATCH_UP_RECHECK
        due = {cron: at for cron in env.settings.triggers.crons if (at := _next_tick(cron, started))}
        while not stop.is_set():
            if not due:  # every cron was dropped (_next_tick logged why): idle until shutdown
                await stop.wait()
                break
            cron = min(due, key=due.__getitem__)
            wake = min(due[cron], recheck)
            delay = (wake - env.clock()).total_seconds()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                    break
                except TimeoutError:
                    pass
            now = env.clock()
            if now < wake - CLOCK_STEP_TOLERANCE:
                # Woken by the elapsed time, yet the wall clock is before the wake-up: it stepped back while we
                # slept (an NTP step). Kept, the dues would fire nothing for the length of the step, then a
                # run dated ahead of the clock; so every cron is rescheduled from now, and fires on its next tick.
                due = {c: following for c in due if (following := _next_tick(c, now))}
                recheck = now + CATCH_UP_RECHECK
                continue
            if now < due[cron] - CLOCK_STEP_TOLERANCE:  # woken for the catch-up look, before the cron's tick
                await catch_up(now, at_start=False)
                recheck = now + CATCH_UP_RECHECK
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


def finished_by_itself(status: str, error: str | None) -> bool:
    """Whether a run did its tick: ok, or failed for a job's error; not one `running` (it may be dead), `skipped`,
    or stopped from outside (abandoned by its dead process, cancelled by a shutdown, its lease lost)."""
    if status == "ok":
        return True
    return status == "failed" and not any(part.startswith(INTERRUPTIONS) for part in (error or "").split("; "))


def tick_attempts(tick: datetime, runs: list[tuple[str, str, str | None]]) -> int:
    """How many runs of `tick` itself started (skipped ones never did), from (scheduled_at, status, error) rows."""
    return sum(1 for at, status, _ in runs if at == iso(tick) and status != "skipped")


def tick_missed(tick: datetime, last_scheduled: str | None, ran_before: bool) -> bool:
    """Whether the tier missed `tick`: no run that finished by itself was for that tick or a later one
    (`last_scheduled`: the newest such run's scheduled_at, ISO strings compare), and the deployment was up at the
    tick: the tier ran before, or another tier did (`ran_before`; the first night of a deployment restarted across
    it), or a run of the tick started. A database no tier ran on before the tick (a first start, `worker dev`, a
    test server) fires nothing."""
    if last_scheduled is None:
        return ran_before
    return last_scheduled < iso(tick)


async def _ticks_to_catch_up(env: Env, now: datetime, busy: set[str],
                             given_up: set[tuple[str, datetime]]) -> list[tuple[str, datetime, int]]:
    """The (cron, tick, interrupted runs of it) to fire now, at most one each: a catch-up cron's latest tick that
    tick_missed, while no live run holds the tier, unless it was interrupted MAX_TICK_ATTEMPTS times (logged once).

    A failure to tell is logged and fires nothing: the schedule itself goes on."""
    missed = []
    for cron in env.settings.triggers.crons:
        try:
            if cron in busy or (tick := catch_up_tick(cron, now)) is None:
                continue
            tier = tier_for_cron(env, cron)
            runs = [tuple(row) for row in await env.db.fetchall(RUNS_SINCE, (tier, iso(tick)))]
            done = max((at for at, status, error in runs if finished_by_itself(status, error)), default=None)
            attempts = tick_attempts(tick, runs)
            ran_before = attempts > 0 or bool((await env.db.fetchone(RAN_BEFORE, (iso(tick),)))[0])
            if not tick_missed(tick, done, ran_before) or (await env.db.fetchone(LEASE_LIVE, (tier, iso(now))))[0]:
                continue
            if attempts < MAX_TICK_ATTEMPTS:
                missed.append((cron, tick, attempts))
            elif (cron, tick) not in given_up:  # no live lease: every run of the tick ended interrupted
                given_up.add((cron, tick))
                log.error("cron tick not fired again: its runs were interrupted too often",
                          extra={"cron": cron, "scheduled_at": iso(tick), "interrupted_runs": attempts})
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
