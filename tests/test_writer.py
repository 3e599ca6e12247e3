"""One writer: concurrent writes from many tasks and a second process never see 'database is locked'."""

import asyncio
import sqlite3
import subprocess
import sys

import pytest

from worker.db import Database, DatabaseUnavailable

INSERT = "INSERT INTO events (type, entity_type, entity_id, payload_json, created_at) VALUES (?, 'test', ?, '{}', 'now')"


def insert(conn: sqlite3.Connection, who: str, n: int) -> int:
    for i in range(n):
        conn.execute(INSERT, (who, str(i)))
    return n


async def test_concurrent_writes_and_reads(settings):
    db = Database(settings.db.path)
    await db.open()
    try:
        writers = [db.write(insert, f"task-{t}", 20) for t in range(60)]
        readers = [db.fetchone("SELECT count(*) FROM events") for _ in range(60)]
        results = await asyncio.gather(*writers, *readers)
        assert sum(results[:60]) == 1200
        assert (await db.fetchone("SELECT count(*) FROM events"))[0] == 1200
    finally:
        await db.close()


async def test_another_process_writing_at_the_same_time(settings):
    """A second process (like `worker cron`) holds write transactions while we write: busy_timeout queues us."""
    db = Database(settings.db.path)
    await db.open()
    script = f"""
import sqlite3, time
from worker.db import connect, run_in_transaction
conn = connect({str(settings.db.path)!r})
def work(c):
    for i in range(50):
        c.execute("INSERT INTO events (type, entity_type, entity_id, payload_json, created_at) VALUES ('other', 'test', ?, '{{}}', 'now')", (str(i),))
    time.sleep(0.02)
for _ in range(40):
    run_in_transaction(conn, work)
"""
    try:
        other = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
        await asyncio.gather(*(db.write(insert, f"mine-{t}", 10) for t in range(100)))
        _, err = await asyncio.to_thread(other.communicate, timeout=120)
        assert other.returncode == 0, err
        assert (await db.fetchone("SELECT count(*) FROM events WHERE type = 'other'"))[0] == 2000
        assert (await db.fetchone("SELECT count(*) FROM events WHERE type LIKE 'mine-%'"))[0] == 1000
    finally:
        await db.close()


async def test_a_failing_write_rolls_back_completely(env):
    def half_then_fail(conn):
        insert(conn, "doomed", 5)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await env.db.write(half_then_fail)
    assert (await env.db.fetchone("SELECT count(*) FROM events WHERE type = 'doomed'"))[0] == 0
    assert await env.db.write(insert, "after", 1) == 1  # the writer is still usable


async def test_readers_cannot_write(env):
    async with env.db.read() as conn:
        with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only|attempt to write"):
            await conn.execute(INSERT, ("x", "1"))


async def test_read_only_database_file_is_unavailable_not_a_crash(tmp_path):
    path = tmp_path / "ro.sqlite3"
    db = Database(path)
    await db.open()
    await db.close()
    uri_db = Database(path)
    await uri_db.open()
    # Simulate the disk turning read-only under a running worker.
    await uri_db.write_unlocked(lambda c: c.execute("PRAGMA query_only = ON"))
    with pytest.raises(DatabaseUnavailable, match="database unavailable"):
        await uri_db.write(insert, "x", 1)
    await uri_db.close()


async def test_read_sync_runs_plain_functions_on_a_read_only_snapshot(tmp_path):
    """Sync helpers (pricing, scoring) read through read_sync, even from a path URIs would mangle."""
    db = Database(tmp_path / "odd #name?.sqlite3")
    await db.open()
    try:
        await db.write(insert, "seen", 3)
        count = await db.read_sync(lambda conn, t: conn.execute("SELECT count(*) FROM events WHERE type = ?",
                                                                 (t,)).fetchone()[0], "seen")
        assert count == 3
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.read_sync(insert, "sneaky", 1)
    finally:
        await db.close()
