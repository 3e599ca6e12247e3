"""A cold run that did not finish (its process killed mid-run, a shutdown) is run again for its tick.

Audit CA: a `cron_runs` row of the tick, whatever its status, counted as the tick done, so the night killed
mid-run never got its health scores or plans. A tick is now done only by a run that finished by itself (ok, or
failed for a job's error); the scheduler looks again every CATCH_UP_RECHECK and fires the tick once the dead run's
lease has expired, up to MAX_TICK_ATTEMPTS interrupted runs of it.
"""

import asyncio
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import cron
from cron.housekeeping import expire_stale_leases
from tests import ar_fixtures as fx
from worker import tiers
from worker.env import iso

REPO = Path(__file__).resolve().parent.parent
LEASE = 2  # seconds: the killed run's lease, renewed by its heartbeat until the kill
NIGHT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
CUSTOMERS = ("100", "200", "300")
# `worker cron ...` with a job spliced in front of the cold tier that says it started, then sleeps: killed there,
# the run is `running`, its lease held, and no health score written.
SPLICED_CRON = """
import asyncio, os, sys
from pathlib import Path
import cron
from worker.cli import main

async def slow_job(env, as_of):
    Path(os.environ["SLOW_JOB_MARKER"]).write_text(str(os.getpid()))
    await asyncio.sleep(600)

cron.JOBS["cold"] = [("slow_job", slow_job), *cron.JOBS["cold"]]
sys.exit(main(sys.argv[1:]))
"""


def running_clock(start: datetime):
    """A wall clock reading `start` now and running at real speed."""
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


@pytest.fixture
async def cold_env(env, monkeypatch):
    """The env with customers to score, one daily cron for the cold tier (the real jobs), a short cold lease, and
    the scheduler's look-again period shortened from a minute."""
    for ns_id in CUSTOMERS:
        await fx.write(env, fx.customer, ns_id, f"Customer {ns_id}")
    monkeypatch.setattr(tiers, "CATCH_UP_RECHECK", timedelta(seconds=0.2))
    return env


def daily(env, tick: datetime) -> None:
    """Configure one cron, daily at the tick's time, for the cold tier."""
    cron_ = f"{tick.minute} {tick.hour} * * *"
    triggers = env.settings.triggers.model_copy(update={
        "crons": [cron_], "tiers": {cron_: "cold"}, "lease_seconds": {**env.settings.triggers.lease_seconds,
                                                                      "cold": LEASE}})
    env.settings = env.settings.model_copy(update={"triggers": triggers})


async def dead_run(env, tick: datetime, *, status="running", error=None, lease_expires: datetime | None = None):
    """A run of the tick as a killed process leaves it: its row, and its lease until that expires."""
    at = iso(tick + timedelta(seconds=1))
    finished = None if status == "running" else at

    def write(conn: sqlite3.Connection) -> None:
        conn.execute(tiers.INSERT_RUN, ("cold", None, iso(tick), at, status, "dead-host:1:x", finished, error))
        if lease_expires is not None:
            conn.execute("INSERT INTO cron_leases VALUES ('cold', 'dead-host:1:x', ?, ?)", (at, iso(lease_expires)))

    await env.db.write(write)


async def rows(env):
    return [tuple(r) for r in await env.db.fetchall("SELECT scheduled_at, status, error FROM cron_runs ORDER BY id")]


async def scores(env, day: date) -> int:
    return (await env.db.fetchone("SELECT count(*) FROM customer_health_scores WHERE as_of = ?", (day.isoformat(),)))[0]


async def schedule_for(env, seconds: float, until: str | None = None) -> None:
    """Run the real scheduler for `seconds`, or until a finished cold run matches `until` (SQL condition)."""
    stop = asyncio.Event()
    scheduler = asyncio.create_task(tiers.run_scheduler(env, stop))
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until and await env.db.fetchone(f"SELECT 1 FROM cron_runs WHERE status <> 'running' AND {until}"):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await scheduler


def kill_mid_run(env, tick: datetime, tmp_path: Path) -> None:
    """`worker cron cold --as-of TICK` in its own process, SIGKILLed inside its first job."""
    config, count = re.subn(r"(?m)^cold = \d+$", f"cold = {LEASE}", (REPO / "wrangler-like.toml").read_text())
    assert count == 1, "no cold lease line in wrangler-like.toml"
    config_path = tmp_path / "wrangler-like.toml"
    config_path.write_text(config)
    marker = tmp_path / "slow-job-started"
    environ = {**os.environ, "WORKER_CONFIG": str(config_path), "WORKER_DB_PATH": str(env.settings.db.path),
               "SLOW_JOB_MARKER": str(marker), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SPLICED_CRON, "cron", "cold", "--as-of", iso(tick)], cwd=REPO,
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, f"cron exited early ({proc.returncode}): {proc.stdout.read().decode()}"
            assert time.monotonic() < deadline, "the slow job never started"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()


async def test_a_cold_run_killed_mid_run_is_run_again_and_scores_the_night(cold_env, tmp_path, caplog):
    """A real `worker cron cold` killed inside its first job leaves its row `running` and its lease held; the
    scheduler (as `worker serve` starts it) waits for that lease to expire, fires the tick, and the night is scored."""
    env = cold_env
    tick = datetime.now(UTC).replace(second=0, microsecond=0)
    daily(env, tick)
    kill_mid_run(env, tick, tmp_path)
    assert await rows(env) == [(iso(tick), "running", None)]
    lease = await env.db.fetchone("SELECT holder, expires_at FROM cron_leases WHERE tier = 'cold'")
    assert lease is not None and f":{os.getpid()}:" not in lease["holder"], "the killed process's lease is left"
    assert await scores(env, tick.date()) == 0

    with caplog.at_level(logging.WARNING, logger="worker.cron"):
        await schedule_for(env, 30, until="id > 1")
    assert await rows(env) == [(iso(tick), "running", None), (iso(tick), "ok", None)]
    started = (await env.db.fetchone("SELECT started_at FROM cron_runs WHERE id = 2"))[0]
    assert started >= lease["expires_at"], "fired once the dead run's lease had expired, not `skipped` before"
    assert await scores(env, tick.date()) == len(CUSTOMERS)
    assert [r.interrupted_runs for r in caplog.records if "firing it again" in r.getMessage()] == [1]


@pytest.mark.parametrize("status, error", [
    ("running", None),  # the hot tier has not looked yet: the row still says running, its lease expired
    ("failed", "abandoned: the process died mid-run"),  # cron.housekeeping.ABANDON_RUNS marked it
    ("failed", "health_scores: ValueError: boom; cancelled during red_action_plans"),  # a shutdown stopped it
    ("failed", ("lease lost during health_scores: the cold lease expired and another run or expire_stale_leases "
                "took it; the run stopped")),
], ids=["running-dead", "abandoned", "cancelled", "lease-lost"])
async def test_a_restart_fires_a_tick_whose_run_did_not_finish(cold_env, status, error):
    """Restarted at 03:20 after the 03:00 run was stopped from outside: the tick runs again, as of 03:00."""
    env = cold_env
    daily(env, NIGHT)
    env.clock = running_clock(NIGHT + timedelta(minutes=20))
    await dead_run(env, NIGHT, status=status, error=error, lease_expires=NIGHT + timedelta(minutes=5))
    await schedule_for(env, 10, until="id > 1")
    assert (await rows(env))[1:] == [(iso(NIGHT), "ok", None)]
    assert await scores(env, NIGHT.date()) == len(CUSTOMERS)


async def test_the_hot_tier_marks_the_dead_run_abandoned_and_the_tick_still_runs(cold_env):
    """The real hot job on the dead run (lease expired), then the scheduler: abandoned, then run again."""
    env = cold_env
    daily(env, NIGHT)
    await dead_run(env, NIGHT, lease_expires=NIGHT + timedelta(minutes=5))
    env.clock = running_clock(NIGHT + timedelta(minutes=6))
    assert await expire_stale_leases(env, env.clock()) == {"leases_expired": 1, "runs_abandoned": 1}
    await schedule_for(env, 10, until="id > 1")
    assert [r[1:] for r in await rows(env)] == [("failed", "abandoned: the process died mid-run"), ("ok", None)]
    assert await scores(env, NIGHT.date()) == len(CUSTOMERS)


async def test_a_tick_whose_runs_keep_dying_is_not_fired_for_ever(cold_env, caplog):
    """MAX_TICK_ATTEMPTS runs of the tick all ended interrupted: several looks fire nothing, and say so once."""
    env = cold_env
    daily(env, NIGHT)
    for _ in range(tiers.MAX_TICK_ATTEMPTS - 1):
        await dead_run(env, NIGHT, status="failed", error="abandoned: the process died mid-run")
    await dead_run(env, NIGHT, lease_expires=NIGHT + timedelta(minutes=5))
    env.clock = running_clock(NIGHT + timedelta(minutes=20))
    with caplog.at_level(logging.WARNING, logger="worker.cron"):
        await schedule_for(env, 1.5)  # about 7 looks
    assert len(await rows(env)) == tiers.MAX_TICK_ATTEMPTS
    given_up = [r for r in caplog.records if "not fired again" in r.getMessage()]
    assert [(r.levelname, r.interrupted_runs) for r in given_up] == [("ERROR", tiers.MAX_TICK_ATTEMPTS)]
    assert await scores(env, NIGHT.date()) == 0


async def test_the_last_allowed_attempt_still_fires(cold_env):
    """One interrupted run fewer than the limit: the tick gets its last run."""
    env = cold_env
    daily(env, NIGHT)
    for _ in range(tiers.MAX_TICK_ATTEMPTS - 1):
        await dead_run(env, NIGHT, status="failed", error="abandoned: the process died mid-run")
    env.clock = running_clock(NIGHT + timedelta(minutes=20))
    await schedule_for(env, 10, until=f"id > {tiers.MAX_TICK_ATTEMPTS - 1}")
    assert (await rows(env))[-1] == (iso(NIGHT), "ok", None)


async def test_a_run_that_finished_by_itself_is_not_run_again(cold_env):
    """A run that failed for a job's error did its tick (running it again would fail again), as a later one does."""
    env = cold_env
    daily(env, NIGHT)
    await dead_run(env, NIGHT, status="failed", error="health_scores: ValueError: boom")
    env.clock = running_clock(NIGHT + timedelta(minutes=20))
    await schedule_for(env, 1)
    assert len(await rows(env)) == 1


async def test_a_live_run_is_waited_for_not_duplicated(cold_env):
    """The tick's run under way in another process (lease live, renewed): nothing fires beside it."""
    env = cold_env
    daily(env, NIGHT)
    await dead_run(env, NIGHT, lease_expires=NIGHT + timedelta(hours=1))
    env.clock = running_clock(NIGHT + timedelta(minutes=20))
    await schedule_for(env, 1)
    assert await rows(env) == [(iso(NIGHT), "running", None)]


async def test_the_errors_run_tier_writes_are_read_as_interrupted(env, monkeypatch):
    """The classification reads the very text run_tier records for a shutdown (here a real cancellation)."""
    started = asyncio.Event()

    async def stuck(env_, as_of):
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setitem(cron.JOBS, "cold", [("stuck", stuck)])
    run = asyncio.create_task(tiers.run_tier(env, "cold", scheduled_at=NIGHT))
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    status, error = (await rows(env))[0][1:]
    assert (status, error) == ("failed", "cancelled during stuck")
    assert not tiers.finished_by_itself(status, error)
    assert tiers.finished_by_itself("ok", None)
    assert tiers.finished_by_itself("failed", "health_scores: ValueError: boom; prune_receipts: OSError: disk")
    assert not tiers.finished_by_itself("skipped", "tier already running")
    assert not tiers.finished_by_itself("running", None)
    assert tiers.tick_attempts(NIGHT, [(iso(NIGHT), "skipped", None), (iso(NIGHT), "running", None),
                                       (iso(NIGHT + timedelta(hours=5)), "failed", "cancelled during x")]) == 1
