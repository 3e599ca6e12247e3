"""Cron machinery: dispatch by cron string, one run per tier at a time, every run recorded."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cron
from worker import tiers
from worker.db import Database
from worker.env import iso
from worker.leases import hold_lease
from worker.tiers import _acquire, run_tier, tier_for_cron

REPO = Path(__file__).resolve().parent.parent


def test_toml_and_code_list_the_same_tiers(settings):
    assert set(settings.triggers.tiers.values()) == set(cron.JOBS)
    for tier, jobs in cron.JOBS.items():
        names = [name for name, _ in jobs]
        assert len(names) == len(set(names)), f"duplicate job names in {tier}"


def test_dispatch_on_the_cron_string(make_env):
    env = make_env()
    assert tier_for_cron(env, "* * * * *") == "hot"
    assert tier_for_cron(env, "*/15 * * * *") == "warm"
    assert tier_for_cron(env, "0 3 * * *") == "cold"
    with pytest.raises(KeyError, match="no tier is configured for cron '5 5 5 5 5'"):
        tier_for_cron(env, "5 5 5 5 5")


async def test_a_run_is_recorded_with_counts(env):
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    result = await run_tier(env, "hot", scheduled_at=at, cron="* * * * *")
    assert result.status == "ok"
    row = await env.db.fetchone("SELECT * FROM cron_runs WHERE id = ?", (result.run_id,))
    assert row["tier"] == "hot" and row["status"] == "ok" and row["scheduled_at"] == "2026-11-20T12:00:00.000Z"
    assert row["finished_at"] and "expire_stale_leases" in json.loads(row["counts_json"])
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0  # released


async def test_two_concurrent_runs_of_a_tier_one_skips(env, monkeypatch):
    """Two processes' worth of writers (two Database objects) race for the same tier."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_job(env_, as_of):
        started.set()
        await release.wait()
        return {"done": 1}

    monkeypatch.setitem(cron.JOBS, "warm", [("slow", slow_job)])
    other_db = Database(env.settings.db.path)
    await other_db.open()
    other = type(env)(**{**env.__dict__, "db": other_db})
    try:
        first = asyncio.create_task(run_tier(env, "warm"))
        await started.wait()
        second = await run_tier(other, "warm")
        release.set()
        assert second.status == "skipped" and second.error == "tier already running"
        assert (await first).status == "ok"
    finally:
        await other_db.close()
    statuses = [r[0] for r in await env.db.fetchall("SELECT status FROM cron_runs WHERE tier = 'warm' ORDER BY id")]
    assert statuses == ["ok", "skipped"]


async def test_a_failing_job_fails_the_run_but_not_the_others(env, monkeypatch):
    async def broken(env_, as_of):
        raise RuntimeError("disk on fire")

    async def fine(env_, as_of):
        return {"n": 3}

    monkeypatch.setitem(cron.JOBS, "cold", [("broken", broken), ("fine", fine)])
    result = await run_tier(env, "cold")
    assert result.status == "failed" and "broken: RuntimeError: disk on fire" in result.error
    assert result.counts == {"fine": {"n": 3}}


def worker_cron(settings, *args):
    environ = {**os.environ, "WORKER_DB_PATH": str(settings.db.path)}
    return subprocess.run([sys.executable, "-m", "worker.cli", "cron", *args], env=environ, capture_output=True,
                          text=True, timeout=120, cwd=REPO)


async def test_worker_cron_processes_respect_the_lease(env, settings):
    """While another holder has the lease, `worker cron` exits 75; once it expires, the next run completes."""
    now = datetime.now(UTC)
    run_id, got = await env.db.write(_acquire, "cold", None, "crashed-host:1:dead", now, now, 3600)
    assert got
    blocked = await asyncio.to_thread(worker_cron, settings, "cold")
    assert blocked.returncode == 75, blocked.stdout + blocked.stderr
    assert "skipped" in blocked.stdout

    await env.db.write(lambda c: c.execute("UPDATE cron_leases SET expires_at = ?", (iso(now - timedelta(seconds=1)),)))
    done = await asyncio.to_thread(worker_cron, settings, "cold", "--as-of", "2026-11-20T03:00:00Z")
    assert done.returncode == 0, done.stdout + done.stderr
    hot = await asyncio.to_thread(worker_cron, settings, "hot")  # the hot tier marks the crashed run abandoned
    assert hot.returncode == 0, hot.stderr
    row = await env.db.fetchone("SELECT status, error FROM cron_runs WHERE id = ?", (run_id,))
    assert row["status"] == "failed" and "abandoned" in row["error"]


async def test_two_worker_cron_processes_at_once(settings, env):
    """Launched together, both finish cleanly: each either ran or was told the tier was running."""
    procs = await asyncio.gather(*(asyncio.to_thread(worker_cron, settings, "cold") for _ in range(2)))
    assert sorted(p.returncode for p in procs) in ([0, 0], [0, 75]), [p.stderr for p in procs]
    assert "database is locked" not in "".join(p.stderr for p in procs)


def stuck_hot_job(monkeypatch) -> asyncio.Event:
    """Make the hot tier one job, "stuck", that never ends; the event is set once it has started."""
    started = asyncio.Event()

    async def stuck(env_, as_of):
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setitem(cron.JOBS, "hot", [("stuck", stuck)])
    return started


async def test_a_cancelled_run_is_recorded_and_lets_go_of_its_lease(env, monkeypatch):
    """Shutdown cancelling a run mid-job: the run is `failed` ("cancelled") and the next run is not blocked."""
    started = stuck_hot_job(monkeypatch)
    task = asyncio.create_task(run_tier(env, "hot"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = await env.db.fetchone("SELECT status, error, finished_at FROM cron_runs")
    assert row["status"] == "failed" and row["error"] == "cancelled during stuck" and row["finished_at"]
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0
    monkeypatch.setitem(cron.JOBS, "hot", [])
    assert (await run_tier(env, "hot")).status == "ok"


class WriteLock:
    """Another process's write transaction on the test database: our writes wait for it (busy_timeout)."""

    def __init__(self, env):
        self.conn = sqlite3.connect(env.settings.db.path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self):
        self.conn.execute("ROLLBACK")
        self.conn.close()


async def cancel_while_the_lease_write_waits(env, coro):
    """Start coro, cancel it while its lease-taking write waits for the lock, then let the write land."""
    lock = WriteLock(env)
    task = asyncio.create_task(coro)
    await asyncio.sleep(0.3)  # the write is on the write thread, waiting for the lock
    task.cancel()
    await asyncio.sleep(0.1)
    lock.release()
    with pytest.raises(asyncio.CancelledError):
        await task
    await env.db.write(lambda conn: None)  # the write queue is FIFO: any write left behind has landed by now


async def test_a_run_cancelled_while_taking_its_lease_is_recorded_and_lets_go(env, monkeypatch):
    """SIGTERM or shutdown while the lease write waits for another process's lock: that write still lands,
    so the run it recorded is marked failed and its lease released; the tier is not blocked until expiry."""
    monkeypatch.setitem(cron.JOBS, "warm", [])
    await cancel_while_the_lease_write_waits(env, run_tier(env, "warm"))
    row = await env.db.fetchone("SELECT status, error, finished_at FROM cron_runs")
    assert (row["status"], row["error"]) == ("failed", "cancelled before it started") and row["finished_at"]
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0
    assert (await run_tier(env, "warm")).status == "ok"


async def test_a_workflow_lease_cancelled_while_being_taken_is_let_go(env):
    ran = []

    async def work():
        ran.append(1)
        return "done"

    await cancel_while_the_lease_write_waits(env, hold_lease(env, "workflow:w", 60, work()))
    assert ran == [] and (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0
    assert await hold_lease(env, "workflow:w", 60, work()) == "done"


async def test_scheduler_stop_cancels_unfinished_runs_before_returning(env, monkeypatch):
    """After the grace period the scheduler cancels its running tiers, so none is left `running` with a lease."""
    started = stuck_hot_job(monkeypatch)
    monkeypatch.setattr(tiers, "SHUTDOWN_GRACE_SECONDS", 0.01)
    triggers = env.settings.triggers.model_copy(update={"crons": ["* * * * *"], "tiers": {"* * * * *": "hot"}})
    env.settings = env.settings.model_copy(update={"triggers": triggers})
    env.clock = lambda: datetime(2026, 7, 1, 12, 0, 59, 950000, tzinfo=UTC)  # the hot tick is 50 ms away
    stop = asyncio.Event()
    scheduler = asyncio.create_task(tiers.run_scheduler(env, stop))
    await started.wait()
    stop.set()
    await scheduler
    row = await env.db.fetchone("SELECT status, error FROM cron_runs")
    assert (row["status"], row["error"]) == ("failed", "cancelled during stuck")
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0


T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def with_lease(env, tier, seconds):
    """The env with a short lease for one tier: its heartbeat beats every seconds/3 of wall time."""
    triggers = env.settings.triggers
    leases = {**triggers.lease_seconds, tier: seconds}
    env.settings = env.settings.model_copy(update={"triggers": triggers.model_copy(update={"lease_seconds": leases})})


async def lease_expires_at(env, tier, expected):
    """Poll (briefly) until the tier's lease expires at `expected`; False if it never does."""
    for _ in range(250):
        row = await env.db.fetchone("SELECT expires_at FROM cron_leases WHERE tier = ?", (tier,))
        if row and row[0] == iso(expected):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_job_longer_than_the_lease_keeps_the_tier(env, monkeypatch):
    """The heartbeat renews the lease while the job runs, so a tick after the first expiry is skipped."""
    now = [T0]
    env.clock = lambda: now[0]
    with_lease(env, "warm", 1)
    entered, release = [], asyncio.Event()

    async def slow(env_, as_of):
        entered.append(as_of)
        if len(entered) == 1:
            await release.wait()
        return {}

    monkeypatch.setitem(cron.JOBS, "warm", [("slow", slow)])
    first = asyncio.create_task(run_tier(env, "warm"))
    while not entered:
        await asyncio.sleep(0.01)
    now[0] = T0 + timedelta(seconds=0.9)
    assert await lease_expires_at(env, "warm", now[0] + timedelta(seconds=1)), "no heartbeat renewed the lease"
    now[0] = T0 + timedelta(seconds=1.5)  # past the lease as taken: only the renewal holds the tier
    second = await run_tier(env, "warm")
    release.set()
    assert (second.status, second.error) == ("skipped", "tier already running")
    assert (await first).status == "ok" and len(entered) == 1


async def test_a_run_whose_lease_is_taken_stops_its_job(env, monkeypatch):
    """A renewal that finds another holder cancels the job and fails the run with the reason."""
    env.clock = lambda: T0
    with_lease(env, "warm", 1)
    started, stopped = asyncio.Event(), []

    async def stuck(env_, as_of):
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append(as_of)
            raise

    monkeypatch.setitem(cron.JOBS, "warm", [("stuck", stuck)])
    first = asyncio.create_task(run_tier(env, "warm"))
    await started.wait()
    await env.db.write(lambda c: c.execute("UPDATE cron_leases SET holder = 'other-host:1:beef' WHERE tier = 'warm'"))
    result = await asyncio.wait_for(first, timeout=10)
    assert result.status == "failed" and stopped == [T0]
    assert result.error == ("lease lost during stuck: the warm lease expired and another run or "
                            "expire_stale_leases took it; the run stopped")
    row = await env.db.fetchone("SELECT status, error FROM cron_runs WHERE id = ?", (result.run_id,))
    assert (row["status"], row["error"]) == ("failed", result.error)
    assert (await env.db.fetchone("SELECT holder FROM cron_leases"))[0] == "other-host:1:beef"  # not released


async def test_a_run_that_lost_its_lease_between_beats_does_not_finish_ok(env, monkeypatch):
    """No beat was due (fake clock jumped past the lease), another run took the tier: the first fails, not `ok`."""
    now = [T0]
    env.clock = lambda: now[0]
    entered, release = [], asyncio.Event()

    async def slow(env_, as_of):
        entered.append(as_of)
        if len(entered) == 1:
            await release.wait()
        return {}

    monkeypatch.setitem(cron.JOBS, "warm", [("slow", slow), ("after", slow)])
    first = asyncio.create_task(run_tier(env, "warm"))
    while not entered:
        await asyncio.sleep(0.01)
    now[0] = T0 + timedelta(seconds=901)  # warm's lease is 900 s
    assert (await run_tier(env, "warm")).status == "ok"
    release.set()
    result = await first
    assert result.status == "failed" and result.error.startswith("lease lost during slow:")
    assert len(entered) == 3  # slow and after in the second run; the first stopped before `after`


def stepping_clock(start: datetime) -> tuple[list[timedelta], Callable[[], datetime]]:
    """A wall clock that runs from `start` at real speed, and the step to apply to it (as NTP would)."""
    step, began = [timedelta(0)], time.monotonic()
    return step, lambda: start + timedelta(seconds=time.monotonic() - began) + step[0]


async def test_after_the_clock_steps_back_the_scheduler_fires_on_the_next_tick(env, monkeypatch):
    """NTP steps the clock back ~59 min while the scheduler waits for 12:01: it fires at 11:02, not at 12:01 now
    (a run dated an hour ahead of the clock) and then nothing until the clock reaches 12:02 again."""
    monkeypatch.setitem(cron.JOBS, "hot", [])
    triggers = env.settings.triggers.model_copy(update={"crons": ["* * * * *"], "tiers": {"* * * * *": "hot"}})
    env.settings = env.settings.model_copy(update={"triggers": triggers})
    step, env.clock = stepping_clock(datetime(2026, 7, 1, 12, 0, 59, 900000, tzinfo=UTC))
    stop = asyncio.Event()
    scheduler = asyncio.create_task(tiers.run_scheduler(env, stop))
    try:
        await asyncio.sleep(0)  # the scheduler is waiting 0.1 s for 12:01 ...
        step[0] = -timedelta(minutes=59, seconds=0.5)  # ... and wakes at 11:01:59.5
        for _ in range(250):
            if await env.db.fetchone("SELECT 1 FROM cron_runs WHERE status <> 'running'"):
                break
            await asyncio.sleep(0.02)
        fired_by = env.clock()
    finally:
        stop.set()
        await scheduler
    rows = [tuple(r) for r in await env.db.fetchall("SELECT scheduled_at, status FROM cron_runs")]
    assert rows == [("2026-07-01T11:02:00.000Z", "ok")]
    assert fired_by < datetime(2026, 7, 1, 11, 2, 5, tzinfo=UTC)
