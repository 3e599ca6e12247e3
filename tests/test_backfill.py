"""`worker backfill`: the webhook's apply code over a JSON-lines export, in big transactions, resumable."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cdc_support import customer, event, sales_order
from worker.backfill import backfill_events, backfill_file

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
    assert dead[0][0] == "backfill" and dead[0][1].startswith("line 3: not a JSON event: Expecting property name")
    assert dead[0][2] == b'{"event_id": "broken",'
    assert dead[1][1] == "line 5: operation: Input should be 'create', 'update' or 'delete'"
    assert json.loads(dead[1][2])["event_id"] == "bad-1"


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
