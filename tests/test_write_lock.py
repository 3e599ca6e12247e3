"""begin_immediate: waits for another writer in short steps (Ctrl-C can stop it), as long as busy_timeout says."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from worker.write_lock import begin_immediate


def connection(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    return conn


def test_a_lock_held_past_the_timeout_is_database_is_locked_and_the_timeout_is_kept(tmp_path: Path) -> None:
    holder, waiter = connection(tmp_path / "db", 0), connection(tmp_path / "db", 350)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        begin_immediate(waiter)
    assert not waiter.in_transaction
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 350


def test_the_lock_is_taken_once_the_other_writer_lets_go(tmp_path: Path) -> None:
    holder, waiter = connection(tmp_path / "db", 0), connection(tmp_path / "db", 30_000)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.35, holder.execute, ("ROLLBACK",))  # several of the waiter's steps later
    release.start()
    try:
        begin_immediate(waiter)
    finally:
        release.join()
    assert waiter.in_transaction
    waiter.execute("ROLLBACK")
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


def test_other_errors_are_not_waited_on(tmp_path: Path) -> None:
    conn = connection(tmp_path / "db", 30_000)
    conn.execute("BEGIN")
    with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
        begin_immediate(conn)
