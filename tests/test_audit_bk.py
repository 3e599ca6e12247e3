"""Audit BK: BOM-less UTF-16/32 backfills, out-of-range dead letter ids, a webhook body limit above the ceiling."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_backfill import stream
from worker.backfill import not_json_lines
from worker.cli import main

REPO = Path(__file__).resolve().parent.parent


def worker(*args: str, db: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKER_DB_PATH": str(db)}
    extra = ["--config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "worker.cli", *extra, *args], check=False, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_backfill_refuses_utf16_and_utf32_without_a_byte_order_mark(tmp_path: Path, codec: str) -> None:
    # iconv -t utf-16le and .NET's Encoding.Unicode without preamble write no BOM: each line was a dead letter.
    db = tmp_path / "db.sqlite3"
    export = tmp_path / "export.jsonl"
    export.write_bytes("".join(json.dumps(e) + "\n" for e in stream(3)).encode(codec))
    done = worker("backfill", str(export), db=db)
    name = codec.replace("-", "").upper().replace("UTF", "UTF-")  # utf-16-le -> UTF-16LE
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{export}: {name} text without a byte-order mark: save it as UTF-8 (iconv -f {name} -t UTF-8); " \
           "nothing was loaded" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT (SELECT count(*) FROM dead_letters) + "
                                "(SELECT count(*) FROM webhook_receipts)").fetchone() == (0,)


def test_utf8_exports_are_not_mistaken_for_wide_text() -> None:
    # Only NULs where a wide encoding puts them in an ASCII first character: UTF-8 JSON has no raw NUL.
    for head in (b'{"event_id"', b"\r\n{", b"\xef\xbb\xbf{\"e", b"{}", b"{\x00\"e\"", b"  \n\n"):
        assert not_json_lines(head) is None, head
    assert not_json_lines(b" \x00\n\x00") == ("UTF-16LE text without a byte-order mark: save it as UTF-8 "
                                            "(iconv -f UTF-16LE -t UTF-8)")


@pytest.mark.parametrize("letter_id", [str(1 << 63), str(10**30), str(-(1 << 63) - 1), str((1 << 63) - 1), "-1"])
def test_replay_of_an_id_beyond_sqlite_integers_is_no_such_letter(tmp_path: Path, letter_id: str,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # 2**63 used to end in an OverflowError traceback (exit 1) where 2**63 - 1 says there is no such letter.
    monkeypatch.setenv("WORKER_DB_PATH", str(tmp_path / "db.sqlite3"))
    assert main(["replay-dead-letters", "--id", letter_id]) == 2
    assert capsys.readouterr().err == f"worker: no dead letter with id {int(letter_id)}\n"


def test_cli_replay_of_a_huge_id_is_one_line(tmp_path: Path) -> None:
    done = worker("replay-dead-letters", "--id", str(1 << 63), db=tmp_path / "db.sqlite3")
    assert (done.returncode, done.stderr) == (2, f"worker: no dead letter with id {1 << 63}\n")
