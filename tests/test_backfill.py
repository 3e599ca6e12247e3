"""`worker backfill`: the webhook's apply code over a JSON-lines export, in big transactions, resumable."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.webhook import stream as bench_stream
from tests.cdc_support import customer, event, sales_order
from worker.backfill import backfill_events, backfill_file
from worker.cli import BACKFILLED_SINCE, _backfill_counts
from worker.migrations import apply_schema

REPO = Path(__file__).resolve().parent.parent


def stream(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append(event(f"c-{i}", "customer", str(i), "2026-11-20T10:00:00Z", customer(str(i), f"Customer {i}")))
        out.append(event(f"so-{i}", "salesorder", str(1000 + i), "2026-11-20T11:00:00Z",
                         sales_order(str(1000 + i), str(i), [("1", 1, 2.0), ("2", 3, 1.5)]), "create"))
    return out


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_events_in_batches_and_rerun_is_harmless(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    events = stream(30)
    first = backfill_events(db, events[:25], progress=False, batch_size=7)  # an interrupted run
    assert (first["applied"], first["batches"]) == (25, 4)
    resumed = backfill_events(db, events, progress=False, batch_size=7)
    assert (resumed["applied"], resumed["duplicate"], resumed["rejected"]) == (35, 25, 0)
    assert (count(db, "customers"), count(db, "transactions"), count(db, "transaction_lines")) == (30, 30, 60)
    assert count(db, "events") == 60  # customer.created + salesorder.created, once each
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT DISTINCT source FROM webhook_receipts").fetchall() == [("backfill",)]


def test_each_transaction_has_its_own_received_at_however_quick(tmp_path: Path, monkeypatch: Any) -> None:
    # The interruption message counts transactions as distinct received_at: at --batch-size 1 several
    # transactions fell in one millisecond, and 1,807 were reported of 2,155 committed.
    monkeypatch.setattr("worker.backfill.utcnow", lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # a stopped clock
    db = tmp_path / "db.sqlite3"
    assert backfill_events(db, stream(10), progress=False, batch_size=1)["batches"] == 20
    with sqlite3.connect(db) as conn:
        stamps = [row[0] for row in conn.execute("SELECT received_at FROM webhook_receipts ORDER BY rowid")]
    assert len(set(stamps)) == 20 and stamps == sorted(stamps)
    assert stamps[0] == "2026-11-23T09:00:00.000Z"  # the clock as it is, when it moves on between transactions
    assert _backfill_counts(db, BACKFILLED_SINCE, {"receipt": 0, "letter": 0}) == (20, 20)


def test_file_with_bad_lines_dead_letters_them_with_line_numbers(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    events = stream(3)
    lines = [json.dumps(e) for e in events]
    lines.insert(2, '{"event_id": "broken", ')
    lines.insert(4, json.dumps({**events[0], "event_id": "bad-1", "operation": "merge"}))
    lines.insert(5, "")
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    counts = backfill_file(db, path, progress=False, batch_size=4)
    assert (counts["applied"], counts["rejected"]) == (6, 2)
    with sqlite3.connect(db) as conn:
        dead = conn.execute("SELECT source, reason, payload FROM dead_letters ORDER BY id").fetchall()
    assert dead[0][0] == "backfill"
    assert dead[0][1].startswith("line 3: not a JSON event: the line is not valid JSON: Expecting property name")
    assert dead[0][2] == b'{"event_id": "broken",'
    assert dead[1][1] == "line 5: operation: Input should be 'create', 'update' or 'delete'"
    assert json.loads(dead[1][2])["event_id"] == "bad-1"


@pytest.mark.parametrize("path", ["parallel", "one process"])
def test_ids_with_control_characters_are_refused_not_looked_up_cut_short(tmp_path: Path, path: str) -> None:
    # SQLite's json_each cuts a string at U+0000: "7\u0000" was looked up as "7", so an older event overwrote the
    # newer one, and an event id "e\u0000" sent twice was a UNIQUE error dead-lettered for ever.
    db = tmp_path / "db.sqlite3"
    newer = event("n", "customer", "7\x00", "2026-11-20T12:00:00Z", customer("7\x00", "NEWER"))
    older = event("o", "customer", "7\x00", "2026-11-20T08:00:00Z", customer("7\x00", "OLDER"))
    twice = event("e\x00", "customer", "8", "2026-11-20T08:00:00Z", customer("8", "Eight"))
    good = event("g", "customer", "9", "2026-11-20T08:00:00Z", customer("9", "Nine"))
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in [newer, older, twice, twice, good] * 300))
    counts = backfill_file(db, export, progress=False, batch_size=2 if path == "one process" else 5000,
                           parallel=path == "parallel")
    assert (counts["applied"], counts["duplicate"], counts["rejected"]) == (1, 299, 1200)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT ns_id FROM customers").fetchall() == [("9",)]
        reasons = {r[0].split(": ", 1)[1] for r in conn.execute("SELECT reason FROM dead_letters")}
    assert reasons == {"record_id: must not contain control characters (U+0000 at 1)",
                       "event_id: must not contain control characters (U+0000 at 1)"}


def test_odd_lines_are_dead_lettered_byte_for_byte_and_never_crash_the_run(tmp_path: Path) -> None:
    # Valid JSON syntax Python cannot hold as text, and a line that is not UTF-8: each is one dead letter
    # naming its line, the good lines around them apply, and a replay refuses the bytes again rather than
    # applying a "repaired" line.
    db = tmp_path / "db.sqlite3"
    good = [json.dumps(e).encode() for e in stream(2)]
    odd = [b'{"event_id": "big", "n": ' + b"7" * 5000 + b"}",  # past Python's 4,300-digit int limit
           b"[" * 50_000 + b"]" * 50_000,  # deeper than any decoder recurses
           b'{"event_id": "s", "record_type": "customer", "record": {"companyName": "\\ud800"}}',  # a lone surrogate
           json.dumps(event("l1", "customer", "9", "2026-11-20T10:00:00Z", customer("9", "Caf\u00e9"))).encode()
           .replace(b"Caf\\u00e9", b"Caf\xe9")]  # Latin-1, not UTF-8
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join([good[0], *odd, *good[1:]]) + b"\n")
    counts = backfill_file(db, path, progress=False, batch_size=3)
    assert (counts["applied"], counts["rejected"]) == (4, 4)
    with sqlite3.connect(db) as conn:
        dead = conn.execute("SELECT id, reason, payload FROM dead_letters ORDER BY id").fetchall()
    assert [reason.split(": ", 2)[:2] for _, reason, _ in dead] == [[f"line {n}", "not a JSON event"] for n in (2, 3, 4, 5)]
    assert "4300 digits" in dead[0][1] and "nested too deeply" in dead[1][1]
    assert "unpaired surrogate escape (\\ud800)" in dead[2][1] and "not UTF-8 text" in dead[3][1]
    assert [payload for _, _, payload in dead] == odd
    from worker.deadletters import replay_dead_letters
    conn = sqlite3.connect(db, isolation_level=None)
    outcomes = replay_dead_letters(conn, letter_id=dead[3][0], now=lambda: "2026-11-22T00:00:00.000Z")
    assert not outcomes[0]["ok"] and "still unreadable: body is not UTF-8 text" in outcomes[0]["result"], outcomes
    assert count(db, "customers") == 2
    assert conn.execute("SELECT replayed_at FROM dead_letters WHERE id = ?", (dead[3][0],)).fetchone() == (None,)


def test_cli_backfill(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in stream(5)))
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    run = [sys.executable, "-m", "worker.cli", "backfill", str(path), "--batch-size", "3"]
    done = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "applied 10, duplicate 0, stale 0, rejected 0 in 4 transactions" in done.stdout
    again = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert "applied 0, duplicate 10" in again.stdout
    missing = subprocess.run([*run[:4], str(tmp_path / "nope.jsonl")], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_cli_refuses_an_export_that_is_not_json_lines_before_writing_anything(tmp_path: Path) -> None:
    # A gzip export was read line by line: 5,621 dead letters of binary fragments that no replay could apply.
    import gzip

    db = tmp_path / "db.sqlite3"
    text = "".join(json.dumps(e) + "\n" for e in stream(5))
    exports = {"export.jsonl.gz": (gzip.compress(text.encode()), "gzip-compressed: decompress it first"),
               "export-utf16.jsonl": (text.encode("utf-16"), "UTF-16 text: save it as UTF-8"),
               "a-directory": (None, "a directory"),
               "a-pipe": (None, "not a regular file (a pipe or device)")}
    (tmp_path / "a-directory").mkdir()
    os.mkfifo(tmp_path / "a-pipe")
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    for name, (content, why) in exports.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        done = subprocess.run([sys.executable, "-m", "worker.cli", "backfill", str(tmp_path / name)], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and f"{name}: {why}" in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.stderr
    assert not db.exists() or count(db, "dead_letters") == count(db, "webhook_receipts") == 0


def bench_mix(n: int) -> list[dict[str, Any]]:
    """bench/webhook.py's mix (every record type, lines, packages, payments) with stale repeats."""
    return list(bench_stream(n))


# Columns stamped with the time of the run differ between two runs; everything else must be equal. A
# batch applied slice by slice appends the same ledger events, grouped by record type per slice.
COMPARED = {"customers": "*", "transactions": "*", "transaction_lines": "*", "item_fulfillment": "*",
            "item_fulfillment_lines": "*", "shipments": "*", "shipping_events": "*", "customer_invoice": "*",
            "customer_invoice_lines": "*", "customer_payment": "*", "payment_application": "*",
            "events": "payload_json, type, entity_type, entity_id",  # ids follow apply order; payloads name the event
            "webhook_receipts": "event_id, record_type, record_id, operation, last_modified, outcome, source",
            "dead_letters": "id, source, reason, payload"}


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2").fetchall()
                for table, columns in COMPARED.items()}


def export_with_bad_lines(path: Path, n: int) -> None:
    lines = [json.dumps(e) for e in bench_mix(n)]
    lines.insert(1234, '{"event_id": "torn')
    lines.insert(2500, json.dumps({**json.loads(lines[10]), "event_id": "bad-op", "operation": "merge"}))
    lines.insert(4000, "")
    path.write_text("\n".join(lines) + "\n")


def test_two_processes_write_exactly_what_one_does(tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export_with_bad_lines(export, 6000)
    # 2,500 per transaction: the reader sends slices of 1,000, so batches are applied slice by slice.
    one = backfill_file(tmp_path / "one.sqlite3", export, progress=False, batch_size=2500, parallel=False)
    two = backfill_file(tmp_path / "two.sqlite3", export, progress=False, batch_size=2500, parallel=True)
    assert one == two
    assert (two["applied"] + two["stale"], two["rejected"], two["batches"]) == (6000, 2, 3)
    assert snapshot(tmp_path / "one.sqlite3") == snapshot(tmp_path / "two.sqlite3")
    reasons = [row[2] for row in snapshot(tmp_path / "two.sqlite3")["dead_letters"]]
    assert reasons[0].startswith("line 1235: not a JSON event") and reasons[1].startswith("line 2501: operation:")
    again = backfill_file(tmp_path / "two.sqlite3", export, progress=False, batch_size=2500, parallel=True)
    assert (again["applied"], again["duplicate"]) == (0, 6000)


def test_an_event_the_database_refuses_is_dead_lettered_and_the_backfill_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with sqlite3.connect(db) as conn:  # a constraint the data breaks (a trigger standing in for one)
        apply_schema(conn)
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON customers WHEN NEW.ns_id = '1' "
                     "BEGIN SELECT RAISE(ABORT, 'refused by a constraint'); END")
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(e) + "\n" for e in stream(3)).encode())  # with a BOM
    counts = backfill_file(db, path, progress=False, batch_size=4)
    assert (counts["applied"], counts["rejected"]) == (5, 1)  # line 1 is read despite the BOM
    with sqlite3.connect(db) as conn:
        [(source, reason, payload)] = conn.execute("SELECT source, reason, payload FROM dead_letters").fetchall()
        # Named by its line, and kept as the line (tests/test_backfill_letters.py has the details).
        assert (source, reason) == ("backfill", "line 3: could not be written: IntegrityError: refused by a constraint")
        assert payload == json.dumps(stream(3)[2]).encode()
        assert [r[0] for r in conn.execute("SELECT ns_id FROM customers ORDER BY ns_id")] == ["0", "2"]
        assert count(db, "transactions") == 3  # the order of the refused customer still mirrors


def test_writer_failure_stops_the_reader_and_a_rerun_resumes(tmp_path: Path, monkeypatch: Any) -> None:
    import multiprocessing

    from worker import backfill

    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in bench_mix(5000)))
    real, calls = backfill.apply_prepared, []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 4:  # the second slice of the second transaction
            raise OSError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(backfill, "apply_prepared", failing)
    db = tmp_path / "db.sqlite3"
    with pytest.raises(OSError, match="disk on fire"):
        backfill_file(db, export, progress=False, batch_size=2000, parallel=True)
    assert multiprocessing.active_children() == []  # the reader was stopped, not left behind
    assert count(db, "webhook_receipts") == 2000  # the first transaction only: the second rolled back whole
    monkeypatch.setattr(backfill, "apply_prepared", real)
    resumed = backfill_file(db, export, progress=False, batch_size=2000, parallel=True)
    assert (resumed["duplicate"], resumed["applied"] + resumed["stale"]) == (2000, 3000)
    clean = tmp_path / "clean.sqlite3"
    backfill_file(clean, export, progress=False, batch_size=2000, parallel=False)
    assert snapshot(db)["customer_invoice_lines"] == snapshot(clean)["customer_invoice_lines"]


def test_reader_failure_is_reported_with_its_cause(tmp_path: Path) -> None:
    from worker.backfill import BackfillError

    with pytest.raises(BackfillError, match="IsADirectoryError"):
        backfill_file(tmp_path / "db.sqlite3", tmp_path, progress=False, parallel=True)


def test_a_slice_that_cannot_be_decoded_stops_the_backfill_with_its_cause(tmp_path: Path, monkeypatch: Any) -> None:
    import multiprocessing

    from worker import backfill

    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in bench_mix(3000)))
    real, calls = backfill.decode_chunk, []

    def corrupt(data: bytes) -> Any:  # the writer's side decodes; the second slice arrives damaged
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("truncated msgpack")
        return real(data)

    monkeypatch.setattr(backfill, "decode_chunk", corrupt)
    db = tmp_path / "db.sqlite3"
    with pytest.raises(backfill.BackfillError, match="(?s)could not be decoded.*truncated msgpack"):
        backfill_file(db, export, progress=False, batch_size=1000, parallel=True)
    assert multiprocessing.active_children() == []
    assert count(db, "webhook_receipts") == 1000  # the first slice's transaction stays; a re-run resumes


def test_cli_backfill_of_a_large_file_uses_the_reader_process(tmp_path: Path) -> None:
    from worker.backfill import PARALLEL_FROM_BYTES

    db, export = tmp_path / "db.sqlite3", tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in bench_mix(12_000)))
    assert export.stat().st_size >= PARALLEL_FROM_BYTES
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    # Past the size threshold the CLI (single-threaded) forks its reader; it must write what one process writes.
    done = subprocess.run([sys.executable, "-m", "worker.cli", "backfill", str(export), "--batch-size", "4000"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "rejected 0 in 3 transactions" in done.stdout
    backfill_file(tmp_path / "one.sqlite3", export, progress=False, batch_size=4000, parallel=False)
    assert snapshot(db) == snapshot(tmp_path / "one.sqlite3")
