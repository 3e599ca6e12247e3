"""Audit BK: BOM-less UTF-16/32 backfills, out-of-range dead letter ids, a webhook body limit above the ceiling."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.ns_webhook import BODY_CEILING
from tests.test_backfill import stream
from worker.backfill import not_json_lines
from worker.cli import main
from worker.config import MAX_WEBHOOK_BODY_BYTES, ConfigError, load_settings

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


def config_with_webhook_limit(tmp_path: Path, limit: int) -> Path:
    text = (REPO / "wrangler-like.toml").read_text()
    assert "\n[limits]\n" in text
    path = tmp_path / "wrangler-like.toml"
    path.write_text(text.replace("\n[limits]\n", f"\n[limits]\nwebhook_body_bytes = {limit}\n", 1)
                    if "webhook_body_bytes" not in text else
                    "\n".join(f"webhook_body_bytes = {limit}" if line.startswith("webhook_body_bytes") else line
                              for line in text.splitlines()) + "\n")
    return path


def test_a_webhook_body_limit_above_the_framework_ceiling_is_refused_at_load(tmp_path: Path) -> None:
    # Above the handler's request_max_body_size the setting silently did nothing: a bare 413, no dead letter.
    assert BODY_CEILING == MAX_WEBHOOK_BODY_BYTES == 64 * 1024 * 1024
    at_most = load_settings(config_with_webhook_limit(tmp_path, MAX_WEBHOOK_BODY_BYTES), environ={})
    assert at_most.limits.webhook_body_bytes == MAX_WEBHOOK_BODY_BYTES
    config = config_with_webhook_limit(tmp_path, 70_000_000)
    with pytest.raises(ConfigError, match="limits.webhook_body_bytes: Input should be less than or equal to 67108864"):
        load_settings(config, environ={})
    done = worker("db", "init", db=tmp_path / "db.sqlite3", config=config)
    assert done.returncode == 2 and "limits.webhook_body_bytes: Input should be less than or equal to 67108864" \
        in done.stderr, done.stderr
    assert not (tmp_path / "db.sqlite3").exists()


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_a_batch_size_below_one_is_refused(tmp_path: Path, size: str) -> None:
    # 0 and negative sizes used to run silently as 1: a transaction per event.
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in stream(3)))
    done = worker("backfill", str(export), "--batch-size", size, db=tmp_path / "db.sqlite3")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"argument --batch-size: {size} is not a number of events (1 or more)" in done.stderr
    assert not (tmp_path / "db.sqlite3").exists()
