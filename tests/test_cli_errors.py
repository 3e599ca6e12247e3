"""The `worker` command's failures the operator must fix: one `worker: ...` line and a non-zero exit, no traceback."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cdc_support import customer, event

REPO = Path(__file__).resolve().parent.parent


def run_worker(*args: str, db: Path, config: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    options = ["--config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "worker.cli", *options, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def config_with(tmp_path: Path, old: str, new: str) -> Path:
    """The repo's wrangler-like.toml with one line changed."""
    text = (REPO / "wrangler-like.toml").read_text()
    assert old in text
    path = tmp_path / "wrangler-like.toml"
    path.write_text(text.replace(old, new))
    return path


def one_line(done: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed command (asserting there is no traceback)."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("worker: "), done.stderr
    return lines[0]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(event("c-1", "customer", "1", "2026-11-20T10:00:00Z", customer("1", "Acme"))) + "\n")
    return path


def test_backfill_waits_for_a_locked_database_only_as_long_as_configured(tmp_path: Path, export: Path) -> None:
    db = tmp_path / "db.sqlite3"
    config = config_with(tmp_path, "busy_timeout_ms = 30000", "busy_timeout_ms = 300")
    assert run_worker("db", "init", db=db, config=config).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock for longer than the configured wait
    command = [sys.executable, "-m", "worker.cli", "--config", str(config), "backfill", str(export)]
    proc = subprocess.Popen(command, cwd=REPO, env={**os.environ, "WORKER_DB_PATH": str(db)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The lock is let go after 20 s at most: a backfill still waiting then (the default 30 s, not the
        # configured 0.3 s) gets it and succeeds, which the asserts below refuse.
        proc.wait(20)
    except subprocess.TimeoutExpired:
        pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    out, err = proc.communicate(timeout=60)
    done = subprocess.CompletedProcess(command, proc.returncode, out, err)
    assert done.returncode == 1, out + err
    assert one_line(done) == f"worker: {db}: database is locked (still busy after [db] busy_timeout_ms = 300)"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM webhook_receipts").fetchone()[0] == 0  # it gave up: nothing applied


DATABASE_COMMANDS = [["db", "init"], ["cron", "hot"], ["backfill", "{export}"], ["replay-dead-letters"],
                     ["import-reference", "{reference}"]]


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    from worker.reference import FILE_NAMES

    directory = tmp_path / "reference"
    directory.mkdir()
    (directory / FILE_NAMES[0]).write_text("")
    return directory


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: " ".join(c))
def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, export: Path, reference: Path,
                                                   command: list[str]) -> None:
    db = tmp_path / "notes.sqlite3"
    db.write_bytes(b"these are my notes, not a database\n" * 200)
    done = run_worker(*(a.format(export=export, reference=reference) for a in command), db=db)
    assert done.returncode == 1
    assert one_line(done) == f"worker: {db}: file is not a database"


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: " ".join(c))
def test_a_database_from_a_newer_worker_is_refused_in_one_line(tmp_path: Path, export: Path, reference: Path,
                                                              command: list[str]) -> None:
    from worker.migrations import LATEST

    db = tmp_path / "newer.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    done = run_worker(*(a.format(export=export, reference=reference) for a in command), db=db)
    assert done.returncode == 1
    assert one_line(done) == (f"worker: {db}: database schema version {LATEST + 1} is newer than this worker's "
                              f"({LATEST})")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST + 1
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0  # untouched


def test_an_unusable_configuration_file_is_a_usage_error(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    directory = run_worker("db", "init", db=db, config=tmp_path)
    assert directory.returncode == 2
    assert one_line(directory) == f"worker: {tmp_path}: cannot read the configuration: Is a directory"
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes((REPO / "wrangler-like.toml").read_bytes() + "# Caf\u00e9\n".encode("latin-1"))
    undecodable = run_worker("db", "init", db=db, config=latin1)
    assert undecodable.returncode == 2
    assert one_line(undecodable).startswith(f"worker: {latin1}: not UTF-8 text: byte 0xe9 at offset ")
    assert not db.exists()


def test_an_unknown_log_level_is_a_usage_error(tmp_path: Path) -> None:
    done = run_worker("--log-level", "bogus", "db", "init", db=tmp_path / "db.sqlite3")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "argument --log-level: unknown level 'bogus'" in done.stderr
    assert run_worker("--log-level", "debug", "db", "init", db=tmp_path / "db.sqlite3").returncode == 0


def test_only_the_operator_s_problems_become_one_line() -> None:
    """A failure of our own code (a bug) keeps its traceback: failure_message has no line for it."""
    from worker.cli import failure_message
    from worker.config import load_settings

    settings = load_settings(REPO / "wrangler-like.toml", environ={"WORKER_DB_PATH": "/data/gfs.sqlite3"})
    assert failure_message(sqlite3.OperationalError("disk I/O error"), settings) == "/data/gfs.sqlite3: disk I/O error"
    assert failure_message(PermissionError(13, "Permission denied", "/data"), settings) == "/data: Permission denied"
    assert failure_message(sqlite3.ProgrammingError("Incorrect number of bindings supplied"), settings) is None
    assert failure_message(KeyError("applied"), settings) is None
    assert failure_message(ValueError("bad"), settings) is None


def hash_password_on_a_terminal(keys: bytes) -> tuple[int, str]:
    """Run `worker hash-password` on a real pseudo-terminal, type keys at its prompt; (exit code, screen)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its controlling tty, so Ctrl-C there is a real SIGINT
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "worker.cli", "hash-password"])
    screen = b""
    try:
        deadline = time.monotonic() + 60
        while b"Password: " not in screen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                screen += os.read(fd, 4096)
        time.sleep(0.2)  # the prompt is written before echo is turned off
        os.write(fd, keys)
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # EIO: the child has exited and closed the terminal
                    break
                if not data:
                    break
                screen += data
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), screen.decode("utf-8", "replace")


@pytest.mark.parametrize(("keys", "code", "message"), [
    (b"\x03", 130, "worker: interrupted: no password read"),
    (b"\x04", 1, "worker: no password: end of input"),
    (b"hunter\xff2\r", 1, "worker: the password is not valid UTF-8 text"),
], ids=["ctrl-c", "ctrl-d", "not-utf-8"])
def test_hash_password_at_a_terminal_fails_in_one_line_without_the_password(keys: bytes, code: int,
                                                                           message: str) -> None:
    exit_code, screen = hash_password_on_a_terminal(keys)
    assert exit_code == code, screen
    assert "Traceback" not in screen and "hunter" not in screen and "position" not in screen, screen
    assert screen.strip().splitlines()[-1] == message, screen
    assert screen.count("worker: ") == 1


def test_hash_password_from_a_pipe_refuses_a_byte_that_is_not_utf_8_without_naming_it() -> None:
    done = subprocess.run([sys.executable, "-m", "worker.cli", "hash-password"], input=b"hunter\xff2\n", cwd=REPO,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr == b"worker: the password is not valid UTF-8 text\n"


@pytest.mark.parametrize(("stdin", "code", "stderr"), [
    (b"", 1, b"worker: no password: end of input\n"),  # `printf "" | worker hash-password`: no line at all
    (b"\n", 2, b"worker: empty password\n"),
], ids=["end-of-input", "empty-line"])
def test_hash_password_from_a_pipe_tells_end_of_input_from_an_empty_line(stdin: bytes, code: int,
                                                                         stderr: bytes) -> None:
    done = subprocess.run([sys.executable, "-m", "worker.cli", "hash-password"], input=stdin, cwd=REPO,
                          capture_output=True, timeout=60, check=False)
    assert (done.returncode, done.stderr, done.stdout) == (code, stderr, b"")


def test_hash_password_names_no_part_of_a_password_it_cannot_hash() -> None:
    from worker.passwords import hash_password

    with pytest.raises(ValueError, match="^the password is not valid UTF-8 text$") as raised:
        hash_password("hunter\udcff2")
    assert raised.value.__context__ is None and raised.value.__cause__ is None  # no UnicodeError holding it


@pytest.mark.parametrize(("value", "zone"), [
    ("9999-12-31T23:00-06:00", "UTC"),  # year 10000 in UTC: was an OverflowError traceback, exit 1
    ("9999-12-31T23:00", "America/Chicago"),  # fine in UTC (the syntax check), year 10000 read in TIMEZONE
    ("0001-01-01", "Asia/Tokyo"),  # local midnight of datetime's first day is in year 0 in UTC
    ("0001-01-02", "UTC"),  # warm and cold look back up to a year from as-of: was an OverflowError, a failed run
    ("1899-12-31T23:59", "UTC"),  # the day before the floor
])
def test_cron_as_of_out_of_datetimes_range_is_a_usage_error(tmp_path: Path, value: str, zone: str) -> None:
    db = tmp_path / "db.sqlite3"
    config = config_with(tmp_path, 'TIMEZONE = "UTC"', f'TIMEZONE = "{zone}"')
    done = run_worker("cron", "cold", "--as-of", value, db=db, config=config)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert f"argument --as-of: out of range: {value!r} (a date from 1900-01-01 to 9999-12-30)" in done.stderr
    assert not db.exists()


@pytest.mark.parametrize("tier", ["warm", "cold"])
def test_cron_as_of_on_the_earliest_date_runs(tmp_path: Path, tier: str) -> None:
    """1900-01-01 is accepted and every job's look-back from it (retention, history) stays in datetime's range."""
    db = tmp_path / "db.sqlite3"
    done = run_worker("cron", tier, "--as-of", "1900-01-01", db=db, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"cron {tier}: ok" in done.stdout
