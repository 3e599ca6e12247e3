"""Taking SQLite's write lock so that Ctrl-C can stop the wait.

SQLite waits for another process's lock inside its busy handler, which sleeps through signals, and Python
raises KeyboardInterrupt only once that call returns: one wait of busy_timeout kept a Ctrl-C waiting that
long (28 s measured). On the main thread, the only one signals reach, the wait is cut into short waits with
Python in between; other threads (the server's writer) wait in one call as before.
"""

from __future__ import annotations

import sqlite3
import threading
import time

WAIT_STEP_MS = 100  # how long a Ctrl-C may wait for the current step to end


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another writer up to the connection's busy_timeout ("database is locked" after)."""
    if threading.current_thread() is not threading.main_thread():
        conn.execute("BEGIN IMMEDIATE")
        return
    wait_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    if wait_ms <= WAIT_STEP_MS:
        conn.execute("BEGIN IMMEDIATE")
        return
    deadline = time.monotonic() + wait_ms / 1000
    conn.execute(f"PRAGMA busy_timeout = {WAIT_STEP_MS}")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
