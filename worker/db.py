"""The DB binding: one write thread for every write, aiosqlite connections for reads.

Like datasette's `execute_write_fn`, a write is a plain function of a sqlite3 connection that runs
on the single write thread inside `BEGIN IMMEDIATE ... COMMIT`. One thread means one writer per
process, so concurrent webhooks, mail and cron queue up instead of meeting "database is locked";
other processes (`worker cron`, `worker backfill`) wait on SQLite's lock through busy_timeout. The write thread
waits for that lock in steps of WAIT_STEP_MS, as the synchronous commands' main thread does (worker/write_lock.py),
so that a stopping process can give the wait up (Database.give_up_waiting) instead of sleeping through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from worker.migrations import apply_schema, refuse_newer
from worker.write_lock import WAIT_STEP_MS, begin_immediate, retry_while_busy

T = TypeVar("T")
MAX_ROWID = 2**63 - 1  # SQLite's largest INTEGER: a bound for ids taken from requests (cursors)
WRITER_BUSY_AFTER = 2.0  # seconds: a write probe still queued then means the writer is busy writing, not down


class DatabaseUnavailable(Exception):
    """The database cannot take the work now (disk full, read-only, locked too long): retry later."""


class WaitGivenUp(DatabaseUnavailable):
    """A write stopped waiting for another process's write lock, having written nothing: the process is stopping."""


def connect(path: Path | str, *, busy_timeout_ms: int = 30000) -> sqlite3.Connection:
    """Open a sqlite3 connection with the worker's pragmas (WAL, FULL sync, foreign keys).

    A database a newer worker wrote is refused (SchemaTooNew) before the pragmas: WAL mode rewrites its header.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    try:
        refuse_newer(conn)
        _pragmas(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_read_only(path: Path | str, *, busy_timeout_ms: int = 30000) -> sqlite3.Connection:
    """A read-only sqlite3 connection (autocommit): it can neither write nor create the file."""
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return conn


def _pragmas(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a 2xx promises the change survives power loss, not just a process crash.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def run_in_transaction(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run fn(conn, ...) inside BEGIN IMMEDIATE; commit on success, roll back on any error."""
    begin_immediate(conn)
    return _in_transaction(conn, fn, *args, **kwargs)


def _in_transaction(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(conn, ...) in the transaction just begun; commit on success, roll back on any error."""
    try:
        result = fn(conn, *args, **kwargs)
        conn.execute("COMMIT")  # inside the try: a failed COMMIT must not leave the writer inside a transaction
    except BaseException:
        # On disk full or I/O errors SQLite has already rolled back; a second ROLLBACK would hide the real cause.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


class Database:
    """Async facade: `await db.write(fn, ...)` on the write thread, `async with db.read()` for reads."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 30000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._writer: sqlite3.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._all_readers: list[aiosqlite.Connection] = []
        self._write_probe: asyncio.Future[str | None] | None = None
        self._wait_step_ms = min(WAIT_STEP_MS, busy_timeout_ms)  # the writer's own busy_timeout: see _taking_lock
        self._give_ups = 0  # give_up_waiting() calls: a write asked for before the latest one stops waiting
        self._committed = False  # a write has committed: from then on give_up_waiting() does nothing

    async def open(self, *, readers: int = 4) -> None:
        """Create or migrate the schema, start the write thread and the reader pool."""
        since = self._give_ups
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._writer = await self._on_writer(self._connect_writer)
        # Tried again whole while the lock is busy: one transaction that begins by taking it, idempotent.
        await self._on_writer(self._taking_lock, since, apply_schema, self._writer)
        self._readers = asyncio.Queue()
        for _ in range(readers):
            reader = await aiosqlite.connect(self.path)
            reader.row_factory = sqlite3.Row
            await reader.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await reader.execute("PRAGMA query_only = ON")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)

    async def close(self) -> None:
        """Close readers, then the writer, then stop the write thread."""
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._on_writer(self._writer.close)
            self._writer = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def give_up_waiting(self) -> None:
        """Make the writes asked for so far stop waiting for another process's write lock (WaitGivenUp, nothing
        written), as long as no write has committed yet; later writes wait as usual.

        For a process that is stopping: SQLite's wait sleeps through signals, up to busy_timeout_ms. Once a write
        has committed (a tier's lease), the writes after it may be the ones that undo it, so they wait as before.
        """
        if not self._committed:
            self._give_ups += 1

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(conn, *args) in one IMMEDIATE transaction on the write thread; returns its result."""
        if self._writer is None:
            raise DatabaseUnavailable("database is not open")
        try:
            return await self._on_writer(self._transaction, self._writer, self._give_ups, fn, args, kwargs)
        except sqlite3.OperationalError as exc:
            raise _translate(exc) from exc

    async def write_unlocked(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(conn) on the write thread without a transaction (VACUUM, checkpoints, PRAGMA optimize)."""
        if self._writer is None:
            raise DatabaseUnavailable("database is not open")
        return await self._on_writer(self._waiting_whole, self._writer, fn, args)

    def _connect_writer(self) -> sqlite3.Connection:
        conn = connect(self.path, busy_timeout_ms=self.busy_timeout_ms)
        conn.execute(f"PRAGMA busy_timeout = {self._wait_step_ms}")
        return conn

    def _transaction(self, conn: sqlite3.Connection, since: int, fn: Callable[..., T], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> T:
        """On the write thread: run_in_transaction, with the lock taken by _taking_lock."""
        self._taking_lock(since, begin_immediate, conn)
        result = _in_transaction(conn, fn, *args, **kwargs)
        self._committed = True
        return result

    def _taking_lock(self, since: int, take: Callable[..., T], *args: Any) -> T:
        """On the write thread: take(*args), which begins by taking the write lock, tried again while another
        process holds it, for up to busy_timeout_ms in all (write_lock.retry_while_busy: each try waits one step,
        the writer's busy_timeout); between two, a give_up_waiting() called after `since` (the write was asked for
        before it) ends the wait."""

        def stopping(exc: sqlite3.OperationalError) -> None:
            if self._give_ups != since:
                raise WaitGivenUp("database unavailable: gave up waiting for another process's write lock "
                                  "(stopping)") from exc

        return retry_while_busy(lambda: take(*args), self.busy_timeout_ms, stopping)

    def _waiting_whole(self, conn: sqlite3.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """On the write thread: fn(conn, *args) with the whole busy_timeout_ms for SQLite's own waits (checkpoints,
        VACUUM), as before the writer waited for the lock in steps."""
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        try:
            return fn(conn, *args)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._wait_step_ms}")

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Borrow a read-only aiosqlite connection from the pool."""
        if self._readers is None:
            raise DatabaseUnavailable("database is not open")
        reader = await self._readers.get()
        try:
            yield reader
        finally:
            self._readers.put_nowait(reader)

    async def fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """Run a read query and return every row."""
        async with self.read() as conn:
            async with conn.execute(sql, params) as cursor:
                return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        """Run a read query and return the first row or None."""
        async with self.read() as conn:
            async with conn.execute(sql, params) as cursor:
                return await cursor.fetchone()

    async def read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(conn, *args) on a short-lived read-only sqlite3 connection in a thread, in one snapshot.

        For plain functions of a sqlite3 connection (pricing, scoring inputs) that the aiosqlite readers
        cannot run; the read transaction makes everything fn reads come from one committed state.
        """
        return await asyncio.to_thread(self._in_snapshot, fn, args)

    def _in_snapshot(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = connect_read_only(self.path, busy_timeout_ms=self.busy_timeout_ms)
        try:
            conn.execute("BEGIN")  # deferred: a snapshot, no write lock taken
            try:
                return fn(conn, *args)
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()

    async def ping(self) -> None:
        """Raise if the database does not answer a trivial read, or DatabaseUnavailable if it cannot write now."""
        await self.fetchone("SELECT count(*) FROM sqlite_master")
        if self._writer is None:
            raise DatabaseUnavailable("database is not open")
        # A read answers on a full disk or a read-only file while every write fails: probe what writes need.
        if _free_bytes(self.path.parent) == 0:
            raise DatabaseUnavailable("database unavailable: database or disk is full")
        # One probe at a time, queued behind real writes; still queued after WRITER_BUSY_AFTER, the writer is
        # busy writing (working), and the probe finishes later for nobody (it waits for no lock, so it is quick).
        if self._write_probe is None or self._write_probe.done():
            self._write_probe = asyncio.ensure_future(self._on_writer(_probe_write, self._writer))
        done, _ = await asyncio.wait({self._write_probe}, timeout=WRITER_BUSY_AFTER)
        error = self._write_probe.result() if done else None
        if error is not None:
            raise DatabaseUnavailable(f"database unavailable: {error}")

    async def _on_writer(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))


def _free_bytes(directory: Path) -> int:
    """Bytes this process may still write there: root may use the blocks ext4 reserves for it, others not."""
    stat = os.statvfs(directory)
    return (stat.f_bfree if os.geteuid() == 0 else stat.f_bavail) * stat.f_frsize


def _probe_write(conn: sqlite3.Connection) -> str | None:
    """On the write thread: take the write lock and give it back; the reason it cannot be taken, or None.

    BEGIN IMMEDIATE fails at once on a read-only file or a query_only connection. It waits for no one
    (busy_timeout 0): another process holding the lock is writing, so the file takes writes.
    """
    if conn.in_transaction:  # cannot happen between writes; never touch a transaction that is not ours
        return None
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return None if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY else str(exc)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    return None


def _translate(exc: sqlite3.OperationalError) -> Exception:
    message = str(exc).lower()
    transient = ("locked", "busy", "disk is full", "readonly", "read-only", "disk i/o", "unable to open")
    if any(word in message for word in transient):
        return DatabaseUnavailable(f"database unavailable: {exc}")
    return exc
