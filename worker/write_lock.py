"""Taking SQLite's write lock so that a stop can end the wait.

SQLite waits for another process's lock inside its busy handler, which sleeps through signals, and Python
raises KeyboardInterrupt only once that call returns: one wait of busy_timeout kept a Ctrl-C waiting that
long (28 s measured). The wait is cut into short waits with Python in between (retry_while_busy): on the main
thread, the only one signals reach, by begin_immediate; the server's writer thread by worker/db.py, which also
lets a stopping process give the wait up.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
WAIT_STEP_MS = 100  # how long a Ctrl-C may wait for the current step to end


def retry_while_busy(take: Callable[[], T], wait_ms: float,
                     between: Callable[[sqlite3.OperationalError], None] | None = None) -> T:
    """take(), which begins by taking the write lock on a connection whose busy_timeout is one step, tried again
    while another process holds the lock, for up to wait_ms in all ("database is locked" after). `between` sees
    each busy try's error and may raise to end the wait."""
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        try:
            return take()
        except sqlite3.OperationalError as exc:
            # Python's own OperationalErrors ("incomplete SQL statement") have no SQLite code.
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            if between is not None:
                between(exc)
            if time.monotonic() >= deadline:
                raise


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another writer up to the connection's busy_timeout ("database is locked" after)."""
    if threading.current_thread() is not threading.main_thread():
        conn.execute("BEGIN IMMEDIATE")
        return
    wait_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    if wait_ms <= WAIT_STEP_MS:
        conn.execute("BEGIN IMMEDIATE")
        return
    conn.execute(f"PRAGMA busy_timeout = {WAIT_STEP_MS}")
    try:
        retry_while_busy(lambda: conn.execute("BEGIN IMMEDIATE"), wait_ms)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
