"""Ctrl-C (a real SIGINT) during `worker backfill`: it stops at once, says how far it got, and a re-run resumes."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.webhook import stream

REPO = Path(__file__).resolve().parent.parent
INTERRUPTED = re.compile(r"worker: interrupted after (\d+) transactions \((\d+) events committed\); "
                         r"run the same command again to resume")


def receipts(db: Path) -> int:
    """Receipts committed so far, read beside the writer (WAL); 0 while the schema is not there yet."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM webhook_receipts").fetchone()[0]
    except sqlite3.Error:
        return 0


def children(pid: int) -> list[int]:
    """Processes whose parent is pid (the backfill's reader), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_ctrl_c_stops_a_backfill_at_once_and_a_rerun_resumes(tmp_path: Path) -> None:
    total = 60_000  # ~37 MB: several seconds of work, read by the second process
    db, export = tmp_path / "db.sqlite3", tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in stream(total)))
    command = [sys.executable, "-m", "worker.cli", "backfill", str(export), "--batch-size", "2000"]
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (receipts(db) and children(proc.pid)) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        readers = children(proc.pid)
        assert readers and proc.poll() is None, "no transaction committed with the reader running"
        before = receipts(db)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    committed = receipts(db)
    assert proc.returncode == 130, err
    assert 0 < committed < total, f"not stopped part-way: {committed} of {total} events committed"
    # At once: nothing committed after Ctrl-C but the one transaction that may have landed between counting
    # and the signal (a backfill that went on would commit a few more of its 2000-event transactions).
    assert committed - before in (0, 2000), f"{committed - before} events committed after Ctrl-C"
    assert out == ""
    match = INTERRUPTED.fullmatch(err.strip())
    assert match, err
    transactions, events = int(match[1]), int(match[2])
    assert events == committed == transactions * 2000  # whole transactions only: the one in progress rolled back
    assert not any(Path(f"/proc/{pid}").exists() for pid in readers), "the reader process was left running"

    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    counts = {k: int(v) for k, v in re.findall(r"(applied|duplicate|stale|rejected) (\d+)", again.stdout)}
    assert counts["duplicate"] == committed and counts["rejected"] == 0, again.stdout
    assert counts["applied"] + counts["stale"] + counts["duplicate"] == total, again.stdout
    assert receipts(db) == total


def test_a_killed_backfill_does_not_leave_its_reader_running(tmp_path: Path) -> None:
    # Was: the reader kept its inherited copy of the pipe's read end, so after SIGKILL (or SIGTERM, the OOM
    # killer) of the writer its writes blocked for good, holding the export open and ~55 MB.
    db, export = tmp_path / "db.sqlite3", tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in stream(60_000)))
    command = [sys.executable, "-m", "worker.cli", "backfill", str(export), "--batch-size", "2000"]
    proc = subprocess.Popen(command, cwd=REPO, env={**os.environ, "WORKER_DB_PATH": str(db)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (receipts(db) and children(proc.pid)) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        [reader] = children(proc.pid)
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while running(reader) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(reader), "the reader outlived its killed writer"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def running(pid: int) -> bool:
    """The process exists and is not a zombie (one reparented to a PID 1 that does not reap stays a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def opened(pid: int, path: Path) -> bool:
    """The process holds path open (from /proc)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if Path(os.readlink(fd)) == path:
                return True
        except OSError:
            continue
    return False


def test_ctrl_c_stops_a_backfill_waiting_for_another_writers_lock(tmp_path: Path) -> None:
    # Was: SQLite's busy handler sleeps through signals, so Ctrl-C took effect only when busy_timeout_ms ran out.
    db, export = tmp_path / "db.sqlite3", tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in stream(10)))
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    subprocess.run([sys.executable, "-m", "worker.cli", "db", "init"], cwd=REPO, env=env, check=True, timeout=60)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for longer than anyone would wait at a terminal
    command = [sys.executable, "-m", "worker.cli", "backfill", str(export)]  # the default busy_timeout_ms: 30 s
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not opened(proc.pid, db) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the backfill ended without waiting for the lock"
        time.sleep(1)  # well inside its wait for the lock
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)  # 10 s: a wait that ignored Ctrl-C would last 29 s more
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 130, err
    assert out == ""
    assert err.strip() == ("worker: interrupted after 0 transactions (0 events committed); "
                           "run the same command again to resume"), err
    assert receipts(db) == 0
