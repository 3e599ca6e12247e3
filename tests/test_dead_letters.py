"""Dead letters: kept whole with the reason, replayed through the same code after a fix, idempotently."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cdc_support import customer, event, fresh_db
from worker.cdc import models
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import run_in_transaction
from worker.cli import _interrupt_between_steps
from worker.deadletters import replay_dead_letters, store_dead_letter

REPO = Path(__file__).resolve().parent.parent
CLOCK = iter(f"2026-11-21T00:00:{s:02d}.000Z" for s in range(60))


def receive(conn: sqlite3.Connection, *events: dict[str, Any]) -> dict[str, int]:
    """What the webhook does with a batch: apply the valid events, dead-letter the invalid ones."""
    accepted, rejected = validate_events(json.loads(json.dumps(list(events))))
    return run_in_transaction(conn, apply_batch, accepted, rejected, source="webhook", received_at="2026-11-21T00:00:00Z",
                              dead_letter_source="ns-webhook").counts()


def letters(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute("SELECT id, replayed_at IS NOT NULL, replay_result, attempts FROM dead_letters")]


class StricterCustomer(models.CustomerRecord):
    """A deployed bug: this version wrongly insisted on a phone number."""

    phone: str


def test_replay_after_a_fix_applies_and_marks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = fresh_db(tmp_path / "db.sqlite3")
    good = event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme"))
    monkeypatch.setitem(models.RECORD_MODELS, "customer", StricterCustomer)
    from worker.cdc import intake
    monkeypatch.setattr(intake, "RECORD_MODELS", models.RECORD_MODELS)
    assert receive(conn, good)["rejected"] == 1
    reason = conn.execute("SELECT reason FROM dead_letters").fetchone()[0]
    assert reason == "events[0].record.phone: Field required"
    monkeypatch.undo()  # the fix is deployed

    outcomes = replay_dead_letters(conn, now=lambda: next(CLOCK))
    assert [(o["ok"], o["applied"]) for o in outcomes] == [(True, 1)]
    assert conn.execute("SELECT company_name FROM customers").fetchone()[0] == "Acme"
    assert conn.execute("SELECT source FROM webhook_receipts").fetchone()[0] == "replay"
    assert letters(conn) == [(1, 1, "applied 1, duplicate 0, stale 0, rejected 0", 1)]
    # Pending-only by default: nothing left; by id it runs again and changes nothing.
    assert replay_dead_letters(conn, now=lambda: next(CLOCK)) == []
    again = replay_dead_letters(conn, letter_id=1, now=lambda: next(CLOCK))
    assert (again[0]["ok"], again[0]["state"], again[0]["applied"], again[0]["duplicate"]) == (True, "replayed again", 0, 1)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    # The letter keeps the record of the replay that applied it; the re-run is counted.
    assert letters(conn) == [(1, 1, "applied 1, duplicate 0, stale 0, rejected 0", 2)]


def test_still_failing_letters_stay_pending(tmp_path: Path) -> None:
    conn = fresh_db(tmp_path / "db.sqlite3")
    receive(conn, event("sn-1", "vendor", "7", "2026-11-20T10:00:00Z", {"id": "7"}))
    run_in_transaction(conn, store_dead_letter, "ns-webhook", "body is not valid JSON", b'{"events": [', "now")
    outcomes = replay_dead_letters(conn, now=lambda: next(CLOCK))
    assert [o["ok"] for o in outcomes] == [False, False]
    assert "still rejected: record_type: Input should be 'customer'" in outcomes[0]["result"]
    assert outcomes[1]["result"].startswith("still unreadable: body is not valid JSON")
    assert [(row[1], row[3]) for row in letters(conn)] == [(0, 1), (0, 1)]
    replay_dead_letters(conn, now=lambda: next(CLOCK))
    assert [row[3] for row in letters(conn)] == [2, 2]
    assert conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0] == 2  # replay never adds letters


def test_unknown_id(tmp_path: Path) -> None:
    conn = fresh_db(tmp_path / "db.sqlite3")
    with pytest.raises(LookupError, match="no dead letter with id 42"):
        replay_dead_letters(conn, letter_id=42, now=lambda: next(CLOCK))


def test_cli_replays_a_whole_body_letter(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    conn = fresh_db(db)
    body = json.dumps({"events": [event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme"))]})
    run_in_transaction(conn, store_dead_letter, "ns-webhook", "database was read-only", body, "now")
    conn.close()
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    done = subprocess.run([sys.executable, "-m", "worker.cli", "replay-dead-letters", "--id", "1"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "dead letter 1: replayed: applied 1" in done.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT company_name FROM customers").fetchone()[0] == "Acme"
    assert conn.execute("SELECT replayed_at IS NOT NULL FROM dead_letters").fetchone()[0] == 1


def test_a_refused_event_replayed_after_an_older_one_still_wins(tmp_path: Path) -> None:
    # The letter of an event the database refused keeps its time to the microsecond: written as the column's
    # milliseconds, its replay ordered below an older event applied in between, and was counted stale.
    conn = fresh_db(tmp_path / "db.sqlite3")
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON customers WHEN NEW.company_name = 'Newest Name' "
                 "BEGIN SELECT RAISE(ABORT, 'refused by a constraint'); END")
    assert receive(conn, event("sn-8", "customer", "1188", "2026-11-20T14:05:00.123900Z",
                               customer("1188", "Newest Name")))["rejected"] == 1
    [payload] = [bytes(r[0]) for r in conn.execute("SELECT payload FROM dead_letters")]
    assert json.loads(payload)["last_modified"] == "2026-11-20T14:05:00.123900Z"
    assert receive(conn, event("sn-9", "customer", "1188", "2026-11-20T14:05:00.123100Z",
                               customer("1188", "Older Name")))["applied"] == 1
    conn.execute("DROP TRIGGER refuse")  # the fix
    [outcome] = replay_dead_letters(conn, now=lambda: next(CLOCK))
    assert (outcome["ok"], outcome["applied"], outcome["stale"]) == (True, 1, 0)
    assert conn.execute("SELECT company_name FROM customers").fetchone()[0] == "Newest Name"


def test_a_letter_another_run_replayed_meanwhile_is_left_alone(tmp_path: Path) -> None:
    # Two replays at once (two `worker replay-dead-letters`): both list the same pending letters; the second
    # to reach a letter, in its own transaction, finds it replayed and neither re-applies nor re-marks it.
    from worker.deadletters import letters_to_replay, replay_letter

    conn = fresh_db(tmp_path / "db.sqlite3")
    body = json.dumps({"events": [event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme"))]})
    run_in_transaction(conn, store_dead_letter, "ns-webhook", "database was read-only", body, "now")
    listed_by_the_second_run = letters_to_replay(conn)
    [first] = replay_dead_letters(conn, now=lambda: "2026-11-21T00:00:01.000Z")
    assert first["state"] == "replayed"
    [(ident, _)] = listed_by_the_second_run
    second = run_in_transaction(conn, replay_letter, ident, now="2026-11-21T00:00:02.000Z")
    assert (second["ok"], second["state"]) == (True, "already replayed")
    assert second["result"] == ("replayed at 2026-11-21T00:00:01.000Z (applied 1, duplicate 0, stale 0, rejected 0) "
                                "by another run")
    assert letters(conn) == [(1, 1, "applied 1, duplicate 0, stale 0, rejected 0", 1)]
    assert conn.execute("SELECT count(*) FROM webhook_receipts").fetchone()[0] == 1


def blocked_writing(proc: subprocess.Popen, deadline: float) -> bool:
    """Whether proc is (or, by deadline, gets) blocked writing to a full pipe."""
    while time.monotonic() < deadline and proc.poll() is None:
        if Path(f"/proc/{proc.pid}/wchan").read_text().endswith("pipe_write"):  # or anon_pipe_write
            return True
        time.sleep(0.01)
    return False


def replay_meeting_a_held_lock(tmp_path: Path, *, interrupt: bool = False,
                               ) -> tuple[subprocess.CompletedProcess, sqlite3.Connection]:
    """`worker replay-dead-letters` over 500 pending letters, stopped midway by another writer holding the lock
    past the command's busy timeout (or by Ctrl-C: SIGINT, when interrupt). Returns the run and the database.

    Midway for sure: its stdout is a pipe of one page that nobody reads until the command is blocked writing
    to it, so a command reporting as it goes is between two letters, well before the last one, when the other
    writer takes the lock (before the fix it wrote nothing until every letter was replayed)."""
    db = tmp_path / "db.sqlite3"
    conn = fresh_db(db)
    conn.execute("BEGIN")
    for i in range(1, 501):
        body = json.dumps({"events": [event(f"sn-{i}", "customer", str(i), "2026-11-20T10:00:00Z",
                                            customer(str(i), f"C{i}"))]})
        store_dead_letter(conn, "ns-webhook", "database was read-only", body, "now")
    conn.execute("COMMIT")
    conn.close()
    config = tmp_path / "wrangler-like.toml"
    config.write_text((REPO / "wrangler-like.toml").read_text().replace("busy_timeout_ms = 30000",
                                                                         "busy_timeout_ms = 200"))
    command = [sys.executable, "-m", "worker.cli", "--config", str(config), "replay-dead-letters"]
    proc = subprocess.Popen(command, cwd=REPO, env={**os.environ, "WORKER_DB_PATH": str(db)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)  # about 55 lines of outcomes
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        assert blocked_writing(proc, time.monotonic() + 120), "never blocked writing its report"
        if interrupt:
            proc.send_signal(signal.SIGINT)
        else:
            holder.execute("BEGIN IMMEDIATE")  # free at once: the command is between two letters
        out, err = proc.communicate(timeout=120)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(command, proc.returncode, out, err), sqlite3.connect(db)


def test_cli_reports_the_letters_replayed_before_a_database_error(tmp_path: Path) -> None:
    # Outcomes used to be printed after the last letter: a database error on letter k (a lock held past the
    # busy timeout, a full disk) left the k-1 letters replayed and committed before it unreported.
    done, conn = replay_meeting_a_held_lock(tmp_path)
    assert done.returncode == 1, done.stdout[-500:] + done.stderr
    *lines, summary = done.stdout.splitlines()
    committed = [row[0] for row in conn.execute("SELECT id FROM dead_letters WHERE replayed_at IS NOT NULL ORDER BY id")]
    assert 0 < len(committed) < 500
    assert lines == [f"dead letter {i}: replayed: applied 1, duplicate 0, stale 0, rejected 0" for i in committed]
    assert summary == f"{len(committed)} of 500 dead letters replayed before the error"
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == len(committed)
    db = tmp_path / "db.sqlite3"
    assert done.stderr == f"worker: {db}: database is locked (still busy after [db] busy_timeout_ms = 200)\n"


def test_cli_says_how_many_letters_were_replayed_before_ctrl_c(tmp_path: Path) -> None:
    # Ctrl-C used to end the run with no summary: the lines printed were true, but not how many were done.
    done, conn = replay_meeting_a_held_lock(tmp_path, interrupt=True)
    assert done.returncode == 130, done.stdout[-500:] + done.stderr
    *lines, summary = done.stdout.splitlines()
    committed = conn.execute("SELECT count(*) FROM dead_letters WHERE replayed_at IS NOT NULL").fetchone()[0]
    assert 0 < committed < 500
    assert lines == [f"dead letter {i}: replayed: applied 1, duplicate 0, stale 0, rejected 0"
                     for i in range(1, committed + 1)]
    assert summary == f"{committed} of 500 dead letters replayed before the interruption"
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == committed


def test_ctrl_c_stops_a_replay_between_two_letters_and_a_second_one_at_once() -> None:
    # Raised where it landed, Ctrl-C could fall between a letter's commit and its report, whose line an
    # interrupted write then lost (PYTHONUNBUFFERED): the summary counted a letter the lines did not show.
    with _interrupt_between_steps() as interrupted:
        assert not interrupted()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0)  # a bytecode boundary, where Python runs the handler
        assert interrupted()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
