"""`worker backfill`'s dead letters: every bad line (unreadable, invalid, refused by the database) is kept with
its line number and the line as read, in one process and in two, and a replay after a fix applies it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cdc_support import customer, event, fresh_db
from worker import backfill
from worker.backfill import backfill_file
from worker.cdc import intake, models
from worker.deadletters import replay_dead_letters

BOM = b"\xef\xbb\xbf"
CLOCK = iter(f"2026-11-22T00:00:{s:02d}.000Z" for s in range(60))
REFUSED = "could not be written: IntegrityError: refused by a constraint"


def line(event_id: str, ns_id: str, **changes: Any) -> bytes:
    """A customer event's line, as json.dumps spells it."""
    return json.dumps({**event(event_id, "customer", ns_id, "2026-11-20T10:00:00Z", customer(ns_id, f"C{ns_id}")),
                       **changes}).encode()


def odd(text: bytes) -> bytes:
    """The same event spelled as no encoder would: 5E4 and 50000.00 for 50000.0, extra spaces, an escape."""
    return (text.replace(b'"creditLimit": 50000.0', b'"creditLimit":   5E4', 1)
            .replace(b'"custentity_esc_industry": "Food"', b'"custentity_esc_industry" : "F\\u006fod"', 1))


def letters(db: Path) -> dict[str, bytes]:
    """Each dead letter's payload by the label its reason starts with ("line 7")."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT reason, payload FROM dead_letters ORDER BY id").fetchall()
    return {reason.split(": ", 1)[0]: bytes(payload) for reason, payload in rows}


def reasons(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT reason FROM dead_letters"))


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "two processes"])
def test_an_invalid_line_is_kept_as_read_not_re_encoded(tmp_path: Path, parallel: bool) -> None:
    # Valid JSON that fails validation: before, the letter was the event re-encoded (1.50 became 1.5, 1E2
    # 100.0, the spacing gone). CRLF endings, a BOM and a blank line keep the numbering of an editor.
    invalid = odd(line("v-1", "1", record_type="vendor")).replace(b"}}", b', "amount": 1.50, "big": 1E2}}')
    merge = odd(line("m-1", "6", operation="merge"))
    lines = [BOM + b"  " + invalid + b" \t", line("c-2", "2"), b"", b"{not json}", line("c-5", "5"), merge,
             line("c-7", "7")]
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\r\n".join(lines) + b"\r\n")
    db = tmp_path / "db.sqlite3"
    counts = backfill_file(db, export, progress=False, batch_size=2, parallel=parallel)
    assert (counts["applied"], counts["rejected"]) == (3, 3)
    # The bytes the JSON decoder read: the line without its ending, the whitespace around it and a first
    # line's BOM; everything between byte for byte, as an unreadable line's letter always was.
    assert letters(db) == {"line 1": invalid, "line 4": b"{not json}", "line 6": merge}
    assert [r.split(": ", 2)[1] for r in reasons(db)] == ["record_type", "not a JSON event", "operation"]


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "two processes"])
def test_a_line_the_database_refuses_is_kept_with_its_number_as_read_and_replays(tmp_path: Path,
                                                                                 parallel: bool) -> None:
    # Before, such a letter had no line number and held the event rebuilt from what was prepared.
    db = tmp_path / "db.sqlite3"
    conn = fresh_db(db)
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON customers WHEN NEW.ns_id IN ('1', '7') "
                 "BEGIN SELECT RAISE(ABORT, 'refused by a constraint'); END")
    first, seventh = odd(line("c-1", "1")), odd(line("c-7", "7"))
    # batch_size 3: line 7 is in the second chunk, whose reading starts after line 3, before a blank line.
    lines = [BOM + first, line("c-2", "2"), b"not json", b"  ", line("c-5", "5"), line("c-6", "6"), seventh,
             line("c-8", "8")]
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\r\n".join(lines) + b"\r\n")
    counts = backfill_file(db, export, progress=False, batch_size=3, parallel=parallel)
    assert (counts["applied"], counts["rejected"]) == (4, 3)
    assert letters(db) == {"line 1": first, "line 3": b"not json", "line 7": seventh}
    unreadable = "line 3: not a JSON event: the line is not valid JSON: Expecting value (line 1, column 1)"
    assert reasons(db) == [f"line 1: {REFUSED}", unreadable, f"line 7: {REFUSED}"]

    conn.execute("DROP TRIGGER refuse")  # the fix
    outcomes = replay_dead_letters(conn, now=lambda: next(CLOCK))
    assert sorted((o["ok"], o.get("applied")) for o in outcomes) == [(False, None), (True, 1), (True, 1)]
    rows = conn.execute("SELECT ns_id, credit_limit, company_name FROM customers WHERE ns_id IN ('1', '7')")
    assert sorted(map(tuple, rows)) == [("1", 50000.0, "C1"), ("7", 50000.0, "C7")]
    assert conn.execute("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL").fetchone()[0] == 1
    conn.close()


class StricterCustomer(models.CustomerRecord):
    """A deployed bug: this version wrongly insisted on a phone number."""

    phone: str


def test_an_invalid_line_replays_after_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(models.RECORD_MODELS, "customer", StricterCustomer)
    monkeypatch.setattr(intake, "RECORD_MODELS", models.RECORD_MODELS)
    db = tmp_path / "db.sqlite3"
    conn = fresh_db(db)
    spelled = odd(line("c-1", "1"))
    export = tmp_path / "export.jsonl"
    export.write_bytes(spelled + b"\n" + line("c-2", "2") + b"\n")
    counts = backfill_file(db, export, progress=False, parallel=False)
    assert counts["rejected"] == 2
    assert letters(db)["line 1"] == spelled
    assert "line 1: record.phone: Field required" in reasons(db)
    monkeypatch.undo()  # the fix is deployed

    outcomes = replay_dead_letters(conn, now=lambda: next(CLOCK))
    assert [(o["ok"], o["applied"]) for o in outcomes] == [(True, 1), (True, 1)]
    row = conn.execute("SELECT credit_limit, json_extract(raw_json, '$.custentity_esc_industry') FROM customers "
                       "WHERE ns_id = '1'").fetchone()
    assert tuple(row) == (50000.0, "Food")
    conn.close()


def test_a_file_changed_since_it_was_read_gives_no_line(tmp_path: Path) -> None:
    # A refused event's line is read again from the file; if the file no longer holds that event there, the
    # letter falls back to the event as prepared (without a line number) rather than naming the wrong line.
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\n".join([line("c-1", "1"), b"oops", line("c-2", "2")]) + b"\n")
    with export.open("rb") as handle:
        [(prepared, _, position, origin)] = list(backfill._prepared(backfill._chunks(backfill._lines(handle), 10)))
    line_of = backfill._line_finder(export, origin, position)
    assert line_of(prepared[1]) == ("line 3", line("c-2", "2"))
    export.write_bytes(b"\n".join([line("c-1", "1"), line("x-2", "2")]) + b"\n")
    assert backfill._line_finder(export, origin, position)(prepared[1]) is None
    export.unlink()
    assert backfill._line_finder(export, origin, position)(prepared[0]) is None


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "two processes"])
def test_a_webhook_batch_on_one_line_is_named_as_such_and_replays_as_the_batch(tmp_path: Path, parallel: bool) -> None:
    # Its letter said "event_id: Field required; record_type: Field required; …", yet replayed fine untouched.
    db = tmp_path / "db.sqlite3"
    batch = json.dumps({"events": [json.loads(line("c-8", "8")), json.loads(line("c-9", "9"))]}).encode()
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\n".join([line("c-1", "1"), batch, line("c-2", "2")]) + b"\n")
    counts = backfill_file(db, export, progress=False, batch_size=2, parallel=parallel)
    assert (counts["applied"], counts["rejected"]) == (2, 1)
    assert reasons(db) == ['line 2: a batch of 2 events on one line ({"events": [...]}): a backfill reads one event '
                           "per line; `worker replay-dead-letters` applies this letter as the batch it is"]
    conn = fresh_db(db)
    assert [o.get("applied") for o in replay_dead_letters(conn, now=lambda: next(CLOCK))] == [2]
    assert [r[0] for r in conn.execute("SELECT ns_id FROM customers ORDER BY ns_id")] == ["1", "2", "8", "9"]
    conn.close()


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "two processes"])
def test_an_event_id_reused_for_another_record_is_kept_with_its_line_and_stays_pending(tmp_path: Path,
                                                                                     parallel: bool) -> None:
    # Before, a reused event_id (in the same chunk or a later one) counted as a duplicate: the change was lost.
    db = tmp_path / "db.sqlite3"
    same_chunk, later_chunk = odd(line("c-1", "3")), line("c-2", "4")
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\n".join([line("c-1", "1"), same_chunk, line("c-2", "2"), line("c-1", "1"), later_chunk])
                       + b"\n")
    counts = backfill_file(db, export, progress=False, batch_size=2, parallel=parallel)
    assert (counts["applied"], counts["duplicate"], counts["rejected"]) == (2, 1, 2)
    assert letters(db) == {"line 2": same_chunk, "line 5": later_chunk}
    assert reasons(db)[0].startswith("line 2: event_id c-1 was already received for customer 1 (update, "
                                     "last_modified 2026-11-20T10:00:00.000Z); this event is customer 3 (update,")
    conn = fresh_db(db)
    outcomes = replay_dead_letters(conn, now=lambda: next(CLOCK))
    assert [o["ok"] for o in outcomes] == [False, False]  # still refused, still kept for a person to settle
    assert [r[0] for r in conn.execute("SELECT ns_id FROM customers ORDER BY ns_id")] == ["1", "2"]
    assert conn.execute("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL").fetchone()[0] == 2
    conn.close()
