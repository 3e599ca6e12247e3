"""The cold tier's WAL checkpoint never holds writes up for long while a read is open elsewhere."""

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from cron import housekeeping
from cron.housekeeping import database_maintenance
from worker.db import Database

BUSY_TIMEOUT_MS = 20_000  # the connection's own: the checkpoint used to wait this long for the reader
READ_HELD = 5.0  # seconds the other connection holds its read (a generous bound, far above CHECKPOINT_BUSY_MS)
EVENT = ("INSERT INTO events (type, entity_type, entity_id, payload_json, created_at) "
         "VALUES ('test.x', 't', '1', '{}', '2026-01-01T00:00:00.000Z')")


async def busy_timeout(db):
    return await db.write_unlocked(lambda c: c.execute("PRAGMA busy_timeout").fetchone()[0])


@pytest.fixture
async def db(tmp_path):
    db = Database(tmp_path / "gfs.sqlite3", busy_timeout_ms=BUSY_TIMEOUT_MS)
    await db.open(readers=1)
    yield db
    await db.close()


async def test_a_read_held_elsewhere_does_not_hold_writes_up(db):
    """Another connection holds a read snapshot: the checkpoint gives up quickly (busy = 1) and the write queued
    behind it on the write thread (a webhook) commits while that read is still open, not once it ends."""
    await db.write(lambda c: c.execute(EVENT))
    holding, release, released = threading.Event(), threading.Event(), threading.Event()

    def reader():
        conn = sqlite3.connect(db.path, isolation_level=None)
        try:
            conn.execute("BEGIN")
            conn.execute("SELECT count(*) FROM events").fetchone()
            holding.set()
            release.wait(READ_HELD)
            conn.execute("COMMIT")
        finally:
            released.set()
            conn.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert await asyncio.to_thread(holding.wait, 10)
        counts, _ = await asyncio.gather(database_maintenance(SimpleNamespace(db=db), datetime.now(UTC)),
                                         db.write(lambda c: c.execute(EVENT)))
        assert not released.is_set(), "the write waited for the other connection's read to end"
        assert counts["busy"] == 1
        assert await busy_timeout(db) == BUSY_TIMEOUT_MS
    finally:
        release.set()
        thread.join()
    assert (await database_maintenance(SimpleNamespace(db=db), datetime.now(UTC)))["busy"] == 0  # next night


async def test_the_busy_timeout_is_restored_when_the_checkpoint_fails(db, monkeypatch):
    monkeypatch.setattr(housekeeping, "CHECKPOINT", "PRAGMA wal_checkpoint(TRUNCATE")  # a syntax error
    with pytest.raises(sqlite3.OperationalError):
        await database_maintenance(SimpleNamespace(db=db), datetime.now(UTC))
    assert await busy_timeout(db) == BUSY_TIMEOUT_MS
