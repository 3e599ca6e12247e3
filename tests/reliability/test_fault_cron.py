"""A cron tier killed mid-run: its lease holds off a second run, then expires; the next run completes, no duplicate events.

The killed process is a real `worker cron warm` (through tests/reliability/slow_cron.py, which splices a
slow job before or after the aging job); the following runs are in-process on the same SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import cron
from cron.aging import refresh_aging
from tests import ar_fixtures as fx
from tests.reliability.support import REPO, WorkerProcess
from worker.aging import ACTION_BUCKETS, bucket_for
from worker.config import Secrets, Settings
from worker.db import connect
from worker.env import Env, build_env
from worker.migrations import apply_schema
from worker.tiers import run_tier

D1, D2 = date(2026, 6, 1), date(2026, 6, 21)
DAYS_AT_D1 = (-15, -5, 10, 25, 28, 55, 58, 85, 88, 95)  # past due at D1; at D2 every one is 20 days later
LEASE = 3


def tick(day: date) -> datetime:
    """The warm tick at noon UTC of a day."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def expected_moves() -> set[tuple[str, str, str]]:
    """(invoice, from, to) for every invoice whose bucket differs between D1 and D2."""
    moves = set()
    for days in DAYS_AT_D1:
        before, after = bucket_for(days), bucket_for(days + (D2 - D1).days)
        if before != after:
            moves.add((f"inv{days}", before, after))
    return moves


def arrivals() -> set[tuple[str, str | None, str]]:
    """(invoice, None, bucket) for every invoice already 61+ days past due when first aged at D1."""
    return {(f"inv{days}", None, bucket_for(days)) for days in DAYS_AT_D1 if bucket_for(days) in ACTION_BUCKETS}


def seed(path: Path) -> None:
    """Customers and open invoices, written as the mirror would hold them."""
    conn = connect(path)
    apply_schema(conn)
    conn.execute("BEGIN")
    fx.customer(conn, "900", "Lease Test Foods")
    for days in DAYS_AT_D1:
        due = D1 - timedelta(days=days)
        fx.invoice(conn, f"inv{days}", "900", tran_date=(due - timedelta(days=30)).isoformat(), due_date=due.isoformat(),
                   total=100.0 + days)
    conn.execute("COMMIT")
    conn.close()


@pytest.fixture
def warm_with_aging(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm tier as configured, plus the aging job if the table does not list it yet."""
    jobs = list(cron.JOBS["warm"])
    if not any(job is refresh_aging for _, job in jobs):
        monkeypatch.setitem(cron.JOBS, "warm", [("refresh_aging", refresh_aging), *jobs])


@pytest.fixture
async def shared(worker_process: Callable[..., WorkerProcess], settings: Settings,
                 secrets: Secrets) -> Iterator[tuple[WorkerProcess, Env]]:
    """A worker directory (short warm lease) and an in-process env on the same database file."""
    worker = worker_process(lease_seconds={"warm": LEASE})
    seed(worker.db_path)
    triggers = settings.triggers.model_copy(update={"lease_seconds": {**settings.triggers.lease_seconds, "warm": LEASE}})
    local = settings.model_copy(update={"db": settings.db.model_copy(update={"path": worker.db_path}),
                                        "triggers": triggers})
    env = build_env(local, secrets)
    await env.db.open(readers=1)
    yield worker, env
    await env.db.close()


def kill_mid_run(worker: WorkerProcess, at: str) -> None:
    """Start `worker cron warm --as-of D2` with a slow job `at` the aging job; SIGKILL it inside the slow job."""
    marker = worker.directory / "slow-job-started"
    environ = {**worker.environ(), "SLOW_JOB_MARKER": str(marker), "SLOW_JOB_AT": at}
    with open(worker.log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, str(REPO / "tests/reliability/slow_cron.py"), "cron", "warm",
                                 "--as-of", tick(D2).isoformat()], cwd=REPO, env=environ, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert proc.poll() is None, f"cron exited early ({proc.returncode}):\n{worker.log_tail()}"
            assert time.monotonic() < deadline, "the slow job never started"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def bucket_events(path: Path) -> list[tuple[str, str, str]]:
    """Every ar.bucket_changed event as (invoice, from, to)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT payload_json FROM events WHERE type = 'ar.bucket_changed' ORDER BY id").fetchall()
    return [(p["invoice_id"], p["from"], p["to"]) for p in (json.loads(r[0]) for r in rows)]


async def killed_then_recovered(worker: WorkerProcess, env: Env, at: str) -> None:
    """The whole story for one kill position, with its assertions."""
    assert (await refresh_aging(env, tick(D1)))["transitions"] == len(arrivals())  # the baseline snapshot
    kill_mid_run(worker, at)
    committed = len(arrivals()) + (len(expected_moves()) if at == "after" else 0)  # aging commits in one transaction
    assert len(bucket_events(worker.db_path)) == committed
    second = await run_tier(env, "warm", scheduled_at=tick(D2))
    assert second.status == "skipped", "the killed run's lease must hold off another run until it expires"
    await asyncio.sleep(LEASE + 0.5)
    third = await run_tier(env, "warm", scheduled_at=tick(D2))
    assert third.status == "ok", third.error
    hot = await run_tier(env, "hot")
    assert hot.counts["expire_stale_leases"]["runs_abandoned"] == 1, hot.counts
    events = bucket_events(worker.db_path)
    assert len(events) == len(set(events)), f"duplicate ar.bucket_changed events: {events}"
    assert set(events) == expected_moves() | arrivals()
    runs = await env.db.fetchall("SELECT status, error FROM cron_runs WHERE tier = 'warm' ORDER BY id")
    assert [(r["status"], r["error"]) for r in runs] == [
        ("failed", "abandoned: the process died mid-run"), ("skipped", "tier already running"), ("ok", None)]


async def test_warm_tier_killed_after_aging_committed(shared: tuple[WorkerProcess, Env], warm_with_aging: None) -> None:
    await killed_then_recovered(*shared, at="after")


@pytest.mark.slow
async def test_warm_tier_killed_before_aging_ran(shared: tuple[WorkerProcess, Env], warm_with_aging: None) -> None:
    await killed_then_recovered(*shared, at="before")
