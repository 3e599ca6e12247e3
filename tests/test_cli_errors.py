"""The `worker` command's failures the operator must fix: one `worker: ...` line and a non-zero exit, no traceback."""

from __future__ import annotations

import json
import os
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
    try:
        started = time.monotonic()
        done = run_worker("backfill", str(export), db=db, config=config, timeout=25)
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert took < 15, f"waited {took:.1f} s, not the configured 0.3 s"
    assert done.returncode == 1 and "database is locked" in done.stderr
