"""SIGINT/SIGTERM stop `worker cron` at once while it waits for another process's write lock (audit BU2).

The run's writes wait on the write thread, where SQLite's busy handler sleeps through signals: the run used to
stop only once the lock was free, up to busy_timeout_ms. The write thread now waits in short steps, and a stop
gives the wait up while the run has written nothing; once it holds its lease, it still records itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli_interrupt import opened
from worker.db import Database, DatabaseUnavailable, WaitGivenUp

REPO = Path(__file__).resolve().parent.parent
EVENT = ("INSERT INTO events (type, entity_type, entity_id, payload_json, created_at) "
         "VALUES ('test.x', 't', '1', '{}', '2026-01-01T00:00:00.000Z')")


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another process's write transaction (a backfill, say): our writes wait for it."""
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_worker_cron_waiting_for_the_lock_before_it_is_released(tmp_path: Path, signum: int,
                                                                                exit_code: int) -> None:
    db = tmp_path / "db.sqlite3"
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    subprocess.run([sys.executable, "-m", "worker.cli", "db", "init"], cwd=REPO, env=env, check=True, timeout=60)
    holder = hold_write_lock(db)  # released only after the cron exited (or the wait below gave up on it)
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "cron", "hot"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not opened(proc.pid, db) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the cron ended without waiting for the lock"
        time.sleep(1)  # well inside its wait for the lock (busy_timeout_ms: 30 s)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)  # a wait that slept through the signal lasts 28 s more
        assert holder.in_transaction  # it exited while the other process still held the lock
    finally:
        stop(proc)
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == exit_code, err
    assert err.strip() == f"worker: cron hot: stopped by {signal.Signals(signum).name}"
    assert out == ""
    # It had taken nothing: no run recorded, no lease left behind.
    assert rows(db, "SELECT * FROM cron_runs") == [] and rows(db, "SELECT * FROM cron_leases") == []


LOCKED_OUT_CRON = """
import asyncio, pathlib, sys
import cron
from worker import cli

async def locked_out(env, as_of):
    print("job started", flush=True)
    while not pathlib.Path(sys.argv[1]).exists():  # the test holds the lock from then on
        await asyncio.sleep(0.02)
    await env.db.write(lambda conn: conn.execute("SELECT 1"))

cron.JOBS["hot"] = [("locked_out", locked_out)]
sys.exit(cli.main(["cron", "hot"]))
"""


@contextlib.contextmanager
def stopped_while_locked_out(tmp_path: Path, signum: int) -> Iterator[tuple[subprocess.Popen[str], sqlite3.Connection]]:
    """A cron run whose job waits for another process's write lock, stopped by `signum`: yields the process, still
    waiting for the lock to record itself, and the lock's holder (released on the way out)."""
    db, script, go = tmp_path / "db.sqlite3", tmp_path / "locked_out.py", tmp_path / "locked"
    script.write_text(LOCKED_OUT_CRON)
    env = {**os.environ, "WORKER_DB_PATH": str(db), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), str(go)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    holder = None
    try:
        assert proc.stdout.readline() == "job started\n", proc.stderr.read()
        holder = hold_write_lock(db)
        go.touch()
        time.sleep(0.5)  # the job's write waits for the lock
        proc.send_signal(signum)
        time.sleep(1)
        assert proc.poll() is None, "it stopped without recording its run"  # it waits to let go of its lease
        yield proc, holder
    finally:
        stop(proc)
        if holder is not None:
            if holder.in_transaction:
                holder.execute("ROLLBACK")
            holder.close()


def test_a_run_stopped_after_taking_its_lease_still_records_itself_once_the_lock_is_free(tmp_path: Path) -> None:
    with stopped_while_locked_out(tmp_path, signal.SIGTERM) as (proc, holder):
        holder.execute("ROLLBACK")
        _, err = proc.communicate(timeout=30)
    db = tmp_path / "db.sqlite3"
    assert proc.returncode == 143, err
    assert rows(db, "SELECT status, error FROM cron_runs") == [("failed", "cancelled during locked_out")]
    assert rows(db, "SELECT * FROM cron_leases") == []


def test_a_second_signal_kills_a_run_recording_itself_at_once(tmp_path: Path) -> None:
    """Audit BX F1: the second Ctrl-C only cancelled the recording write; closing then waited for the lock again."""
    with stopped_while_locked_out(tmp_path, signal.SIGINT) as (proc, holder):
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)  # busy_timeout_ms is 30 s
        assert holder.in_transaction  # it died while the other process still held the lock
    assert proc.returncode == -signal.SIGINT  # the default action: killed by the signal (a shell says 130)
    # Left as the lease's expiry finds it: the hot tier marks such a run failed.
    assert rows(tmp_path / "db.sqlite3", "SELECT status FROM cron_runs") == [("running",)]


@pytest.fixture
async def database(tmp_path: Path):
    db = Database(tmp_path / "db.sqlite3", busy_timeout_ms=60_000)
    await db.open(readers=1)
    yield db
    await db.close()


async def waiting(db: Database) -> asyncio.Future[object]:
    """A write that is waiting for the lock on the write thread."""
    write = asyncio.ensure_future(db.write(lambda conn: conn.execute(EVENT)))
    await asyncio.sleep(0.3)
    assert not write.done()
    return write


async def test_give_up_ends_the_wait_of_writes_asked_for_before_it_not_after(database: Database) -> None:
    holder = hold_write_lock(database.path)
    try:
        before = await waiting(database)
        database.give_up_waiting()
        after = asyncio.ensure_future(database.write(lambda conn: conn.execute(EVENT)))
        with pytest.raises(WaitGivenUp):
            await asyncio.wait_for(before, 10)  # busy_timeout_ms is 60 s
        assert holder.in_transaction and not after.done()  # given up while the lock was held; the later one waits
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await after
    assert (await database.fetchone("SELECT count(*) FROM events"))[0] == 1  # the write given up wrote nothing


async def test_give_up_does_nothing_once_a_write_has_committed(database: Database) -> None:
    await database.write(lambda conn: conn.execute(EVENT))  # like a tier's lease: what follows may let go of it
    holder = hold_write_lock(database.path)
    try:
        write = await waiting(database)
        database.give_up_waiting()
        await asyncio.sleep(0.3)
        assert not write.done()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await write
    assert (await database.fetchone("SELECT count(*) FROM events"))[0] == 2


async def test_an_error_sqlite_did_not_raise_is_not_hidden_by_the_lock_wait(tmp_path: Path, monkeypatch) -> None:
    """Audit BX F2: an OperationalError without an SQLite error code (Python's own "incomplete SQL statement") became
    an AttributeError in the wait for the lock at open."""
    def incomplete(_conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("incomplete SQL statement")

    monkeypatch.setattr("worker.db.apply_schema", incomplete)
    db = Database(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(sqlite3.OperationalError, match="incomplete SQL statement"):
            await db.open(readers=1)
    finally:
        await db.close()


async def test_the_wait_in_steps_still_lasts_busy_timeout_ms(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3", busy_timeout_ms=600)
    await db.open(readers=1)
    holder = hold_write_lock(db.path)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="database is locked"):
            await db.write(lambda conn: conn.execute(EVENT))
        assert time.monotonic() - started >= 0.55
        assert await db.write_unlocked(lambda conn: conn.execute("PRAGMA busy_timeout").fetchone()[0]) == 600
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await db.close()
