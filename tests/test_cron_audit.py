"""Cron audit G: tiers that drain one workflow, a busy database at a run's end, SIGTERM, crons that never
fire, clock jumps and cron_runs retention. Real SQLite files, real processes and signals; only Anthropic is faked."""

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

import cron
from cron.aging import refresh_aging
from tests import ar_fixtures as fx
from worker.claude import sdk
from worker.config import ConfigError, load_settings
from worker.db import Database
from worker.env import iso
from worker.ledger import append_event
from cron.housekeeping import prune_cron_runs, prune_runs_before
from worker.tiers import run_scheduler, run_tier
from worker.workflow_runner import Workflow, WorkflowResult, drain

REPO = Path(__file__).resolve().parent.parent


class FakeClaude:
    """Anthropic (the one thing a test cannot reach): records each draft request; the first may wait for
    `release`; each then fails with `fail`, or as unreachable (the flow then words the email from its template)."""

    def __init__(self, *, hold_first: bool = False, fail: Exception | None = None) -> None:
        self.requests: list[dict] = []
        self.drafting, self.release = asyncio.Event(), asyncio.Event()
        self.hold_first, self.fail = hold_first, fail
        self.messages = self

    async def create(self, **request):
        self.requests.append(request)
        self.drafting.set()
        if self.hold_first and len(self.requests) == 1:
            await self.release.wait()
        if self.fail is not None:
            raise self.fail
        raise sdk().APIConnectionError(request=httpx.Request("POST", "https://api.anthropic.com/v1/messages"))


async def overdue_customer(env):
    """A customer with two invoices 75 days past due, aged so that ar.bucket_changed events wait in the ledger."""
    due = (env.clock() - timedelta(days=75)).date().isoformat()

    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscollfoods.com", credit_limit=100_000.0)
        fx.contact(conn, "c1", "1187", "Maria Lopez", "maria@driscollfoods.com", title="Accounts Payable")
        fx.invoice(conn, "9001", "1187", tran_date=due, due_date=due, total=12_840.5)
        fx.invoice(conn, "9002", "1187", tran_date=due, due_date=due, total=2_300.0)
    await env.db.write(rows)
    await refresh_aging(env, env.clock())


async def plan_runs(env):
    rows = await env.db.fetchall("SELECT trigger_event_id, status, attempts FROM workflow_run_log "
                                 "WHERE workflow = 'ar_aging_action_plan' ORDER BY id")
    return [tuple(r) for r in rows]


async def other_process(env, *, busy_timeout_ms=30000):
    """The same database through a second Database object: another process's writer and readers."""
    db = Database(env.settings.db.path, busy_timeout_ms=busy_timeout_ms)
    await db.open()
    return type(env)(**{**env.__dict__, "db": db})


# 1. One drain of a workflow at a time, across tiers and processes; one attempt per tick.

async def test_a_workflow_another_process_is_draining_is_left_to_it(env):
    started, release, seen = asyncio.Event(), asyncio.Event(), []

    async def slow(env_, event):
        seen.append(event.id)
        started.set()
        await release.wait()
        return WorkflowResult(event.payload["customer_id"], "handled")

    workflow = Workflow("slow", ("test.happened",), slow)
    await env.db.write(lambda conn: append_event(conn, "test.happened", "customer", "A", {"customer_id": "A"}))
    other = await other_process(env)
    try:
        first = asyncio.create_task(drain(env, [workflow]))
        await started.wait()
        assert await asyncio.wait_for(drain(other, [workflow]), timeout=10) == {"busy": 1}
        release.set()
        assert (await first)["ok"] == 1
    finally:
        await other.db.close()
    assert len(seen) == 1
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0  # let go when done


async def test_hot_and_warm_at_the_same_minute_draft_each_plan_once(env):
    """Warm's action_plans fires while the hot tier is drafting the same plan: it leaves the workflow to hot."""
    await overdue_customer(env)
    claude = FakeClaude(hold_first=True)
    env.extras["anthropic_client"] = claude
    hot = asyncio.create_task(run_tier(env, "hot"))
    await claude.drafting.wait()
    warm = await run_tier(env, "warm")
    claude.release.set()
    hot_counts = (await hot).counts["drain_ledger"]
    assert warm.status == "ok" and warm.counts["action_plans"] == {"busy": 1}
    assert len(claude.requests) == 1, "the collection email was drafted twice"
    assert hot_counts["ok"] == 1 and hot_counts["proposed"] == 2
    assert [status for _, status, _ in await plan_runs(env)] == ["ok"]


async def test_a_failure_costs_one_attempt_per_tick_not_one_per_tier(env):
    """At 03:00 hot, warm and cold fire for the same tick: a transient failure is tried once, then on later ticks."""
    tick = env.clock()
    await overdue_customer(env)
    claude = FakeClaude(fail=ConnectionResetError("connection reset by peer"))
    env.extras["anthropic_client"] = claude
    runs = {tier: await run_tier(env, tier, scheduled_at=tick) for tier in ("hot", "warm", "cold")}
    assert runs["warm"].counts["action_plans"] == {"retry_next_tick": 1}
    assert runs["cold"].counts["red_action_plans"] == {"retry_next_tick": 1}
    [(event_id, status, attempts)] = await plan_runs(env)
    assert (status, attempts) == ("failed", 1)
    assert len(claude.requests) == 1

    await run_tier(env, "hot")  # the next minute: tried again
    assert await plan_runs(env) == [(event_id, "failed", 2)]
    del env.extras["anthropic_client"]  # the outage is over (no key: the template words the email)
    await run_tier(env, "hot")
    assert await plan_runs(env) == [(event_id, "ok", 3)]


# 2. A busy database when a job ends, or when the run records its end.

def lock_writer(env, seconds):
    """Hold SQLite's write lock from another connection (like `worker backfill`) for `seconds`."""
    conn = sqlite3.connect(env.settings.db.path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")

    def release():
        conn.execute("ROLLBACK")
        conn.close()

    handle = asyncio.get_running_loop().call_later(seconds, release)
    return handle, release


async def test_a_busy_database_when_a_job_ends_does_not_stop_the_tier(env, monkeypatch):
    busy = await other_process(env, busy_timeout_ms=200)

    async def first(env_, as_of):
        lock_writer(env_, 1.0)  # the lease renewal after this job, and the run's last write, find it held
        return {"n": 1}

    async def second(env_, as_of):
        return {"n": 2}

    monkeypatch.setitem(cron.JOBS, "cold", [("first", first), ("second", second)])
    try:
        result = await run_tier(busy, "cold")
    finally:
        await busy.db.close()
    assert (result.status, result.counts) == ("ok", {"first": {"n": 1}, "second": {"n": 2}})
    row = await env.db.fetchone("SELECT status, finished_at FROM cron_runs WHERE id = ?", (result.run_id,))
    assert row["status"] == "ok" and row["finished_at"]
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0


def stuck_job(monkeypatch, tier) -> asyncio.Event:
    started = asyncio.Event()

    async def stuck(env_, as_of):
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setitem(cron.JOBS, tier, [("stuck", stuck)])
    return started


async def test_a_cancelled_run_records_itself_once_the_database_is_free(env, monkeypatch):
    busy = await other_process(env, busy_timeout_ms=200)
    started = stuck_job(monkeypatch, "hot")
    try:
        task = asyncio.create_task(run_tier(busy, "hot"))
        await started.wait()
        lock_writer(env, 1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await busy.db.close()
    row = await env.db.fetchone("SELECT status, error FROM cron_runs")
    assert (row["status"], row["error"]) == ("failed", "cancelled during stuck")
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 0


async def test_recording_the_end_gives_up_once_the_lease_has_lapsed_anyway(env, monkeypatch, caplog):
    busy = await other_process(env, busy_timeout_ms=200)
    leases = {**busy.settings.triggers.lease_seconds, "hot": 1}
    busy.settings = busy.settings.model_copy(
        update={"triggers": busy.settings.triggers.model_copy(update={"lease_seconds": leases})})
    started = stuck_job(monkeypatch, "hot")
    handle = release = None
    try:
        task = asyncio.create_task(run_tier(busy, "hot"))
        await started.wait()
        handle, release = lock_writer(env, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # It gave up with the lock still held (for 10 s; the lease was 1 s): it did not wait for the database.
        probe = sqlite3.connect(env.settings.db.path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            probe.execute("BEGIN IMMEDIATE")
        probe.close()
    finally:
        if handle is not None:
            handle.cancel()
            release()
        await busy.db.close()
    assert any(r.getMessage() == "cron could not let go of a lease; it expires by itself" for r in caplog.records)
    # Its end unrecorded: the run still 'running' and its lease held, both left to expire
    assert [tuple(r) for r in await env.db.fetchall("SELECT status FROM cron_runs")] == [("running",)]
    assert (await env.db.fetchone("SELECT count(*) FROM cron_leases"))[0] == 1


# 3. SIGTERM stops `worker cron` like Ctrl-C does.

SLOW_CRON = """
import asyncio, sys
import cron
from worker import cli

async def slow(env, as_of):
    print("job started", flush=True)
    await asyncio.sleep(120)

cron.JOBS["cold"] = [("slow", slow)]
sys.exit(cli.main(["cron", "cold"]))
"""


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_worker_cron_and_the_run_lets_go(tmp_path, signum, exit_code):
    db = tmp_path / "db.sqlite3"
    script = tmp_path / "slow_cron.py"
    script.write_text(SLOW_CRON)
    environ = {**os.environ, "WORKER_DB_PATH": str(db), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "job started\n", proc.stderr.read()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == exit_code, err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status, error FROM cron_runs").fetchall() == [("failed", "cancelled during slow")]
        assert conn.execute("SELECT count(*) FROM cron_leases").fetchone()[0] == 0
    if signum == signal.SIGTERM:
        assert "worker: cron cold: stopped by SIGTERM" in err
        again = subprocess.run([sys.executable, "-m", "worker.cli", "cron", "cold"], cwd=REPO, env=environ,
                               capture_output=True, text=True, timeout=120, check=False)
        assert again.returncode == 0, again.stdout + again.stderr  # not blocked by a held lease


# 4. A cron that never fires.

def test_a_cron_that_never_fires_is_refused_at_load(tmp_path):
    text = (REPO / "wrangler-like.toml").read_text()
    text = text.replace('"0 3 * * *"]', '"0 3 * * *", "0 4 30 2 *"]', 1)
    text = text.replace('"0 3 * * *" = "cold"\n', '"0 3 * * *" = "cold"\n"0 4 30 2 *" = "cold"\n', 1)
    path = tmp_path / "wrangler-like.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert str(path) in str(err.value)
    assert "triggers: cron '0 4 30 2 *' never fires: no date matches it" in str(err.value)


def with_crons(env, tiers_by_cron):
    triggers = env.settings.triggers.model_copy(update={"crons": list(tiers_by_cron), "tiers": tiers_by_cron})
    env.settings = env.settings.model_copy(update={"triggers": triggers})


async def scheduler_runs(env, count, timeout=10.0):
    """Poll until `count` finished cron_runs rows exist; returns (tier, scheduled_at, status) of all."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await env.db.fetchall("SELECT tier, scheduled_at, status FROM cron_runs WHERE status <> 'running'")
        if len(rows) >= count or time.monotonic() > deadline:
            return [tuple(r) for r in rows]
        await asyncio.sleep(0.02)


async def test_the_scheduler_drops_a_cron_that_never_fires_and_runs_the_others(env, monkeypatch, caplog):
    monkeypatch.setitem(cron.JOBS, "hot", [])
    with_crons(env, {"* * * * *": "hot", "0 4 30 2 *": "cold"})  # as if config let it through
    env.clock = lambda: datetime(2026, 7, 1, 12, 0, 59, 950000, tzinfo=UTC)
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(env, stop))
    try:
        runs = await scheduler_runs(env, 1)
    finally:
        stop.set()
        await scheduler
    assert runs == [("hot", "2026-07-01T12:01:00.000Z", "ok")]
    [record] = [r for r in caplog.records if r.getMessage() == "cron never fires; not scheduled"]
    assert record.levelno == logging.ERROR and record.cron == "0 4 30 2 *"


# 5. A wall-clock jump.

async def test_after_a_clock_jump_a_cron_fires_once_as_of_its_latest_tick(env, monkeypatch):
    monkeypatch.setitem(cron.JOBS, "hot", [])
    with_crons(env, {"* * * * *": "hot"})
    now = [datetime(2026, 7, 1, 12, 0, 59, 950000, tzinfo=UTC)]
    env.clock = lambda: now[0]
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(env, stop))
    try:
        await asyncio.sleep(0)  # the scheduler is waiting for 12:01 ...
        now[0] = datetime(2026, 7, 1, 13, 0, 30, tzinfo=UTC)  # ... when the machine wakes from an hour's sleep
        await scheduler_runs(env, 1)
        await asyncio.sleep(0.3)  # replayed ticks would all start at once
    finally:
        stop.set()
        await scheduler
    rows = await env.db.fetchall("SELECT scheduled_at, status FROM cron_runs")
    assert [tuple(r) for r in rows] == [("2026-07-01T13:00:00.000Z", "ok")]


# 6. cron_runs retention.

async def test_prune_cron_runs_drops_runs_older_than_the_retention_in_chunks(env, monkeypatch):
    monkeypatch.setitem(cron.JOBS, "hot", [])
    today = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    days = env.settings.retention.cron_runs_days
    assert days == 90
    for age in (400, 200, 91, 89, 0):
        env.clock = lambda age=age: today - timedelta(days=age)
        await run_tier(env, "hot")
    cutoff = iso(today - timedelta(days=days))
    assert await env.db.write(prune_runs_before, cutoff, 2) == 2  # one chunk: the two oldest
    assert await prune_cron_runs(env, today) == {"cron_runs_pruned": 1}
    rows = await env.db.fetchall("SELECT started_at FROM cron_runs ORDER BY id")
    assert [r[0] for r in rows] == [iso(today - timedelta(days=89)), iso(today)]


async def test_the_cold_tier_prunes_cron_runs(env):
    assert ("prune_cron_runs", prune_cron_runs) in cron.JOBS["cold"]
