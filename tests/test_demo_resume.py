"""A demo load cut short (`worker dev` killed mid-load) is finished at the next start; nothing else is touched.

The load used to count as done once `customers` had a row, that is after its first backfill batch: a restart left
5,000 of ~14k events and no workflow cursor for good. Each load here runs in a child process killed with SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import wait_for
from worker.db import connect
from worker.migrations import apply_schema

REPO = Path(__file__).resolve().parent.parent
# The load's own receipt and its stages (worker/demo.py MARK, STARTED, HISTORY_SKIPPED, LOADED, ORDERS_PENDING),
# spelled out: they are what databases hold.
MARK, STARTED, HISTORY_SKIPPED, LOADED = "demo-load", "started", "history skipped", "loaded"
ORDERS_PENDING = "orders pending"
NOW = datetime(2026, 11, 20, 16, 45, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # a restart's clock: the resumed year must still end at NOW

# `worker dev`'s load, as the app's lifespan runs it, in a process of its own. DEMO_PAUSE=N holds the process after
# the Nth backfill (1 history, 2 recent) returns, so the test can kill it at a step that has no window of its own.
CHILD = """
import asyncio, json, os, sys, time
from datetime import datetime
from worker import backfill
from worker.config import Secrets, load_settings
from worker.demo import load_demo_if_empty
from worker.env import build_env

pause, calls, real = int(os.environ.get("DEMO_PAUSE", "0")), [], backfill.backfill_events

def held(*args, **kwargs):
    result = real(*args, **kwargs)
    calls.append(1)
    if len(calls) == pause:
        print("paused", flush=True)
        time.sleep(600)
    return result

backfill.backfill_events = held
settings = load_settings(sys.argv[1], environ={"WORKER_DB_PATH": sys.argv[2]})
now = datetime.fromisoformat(sys.argv[3])
env = build_env(settings, Secrets.from_environ({}), clock=lambda: now)

async def main():
    await env.db.open()
    try:
        return await load_demo_if_empty(env)
    finally:
        await env.db.close()

summary = asyncio.run(main())
print(json.dumps(None if summary is None else {"resumed": summary.get("resumed"), "events": summary.get("events")}))
"""


def start(db: Path, now: datetime, pause: int = 0) -> subprocess.Popen[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), "DEMO_PAUSE": str(pause)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(REPO / "wrangler-like.toml"), str(db), now.isoformat()],
                            cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(db: Path, now: datetime) -> str:
    """Run a load to its end; its last output line."""
    child = start(db, now)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-3000:]
    return out.strip().splitlines()[-1]


def kill_when(child: subprocess.Popen[str], db: Path, probe: str) -> None:
    """SIGKILL the child as soon as `probe` (SQL) is true of its database."""
    def ready() -> bool:
        assert child.poll() is None, child.communicate()[1][-3000:]
        if not db.exists():
            return False
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return bool(conn.execute(probe).fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not there yet
            return False
        finally:
            conn.close()

    wait_for(ready, timeout=120, interval=0.003)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def query(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def state(db: Path) -> dict[str, object]:
    """What a load leaves: every table's rows, less the wall-clock times of the writes and the names cache's
    random stamp."""
    clock_columns = {("webhook_receipts", "received_at"), ("event_cursors", "updated_at"), ("events", "created_at"),
                     ("customer_item_xref", "updated_at"), ("customer_names_stamp", "stamp"),
                     ("customer_names_stamp", "database_id")}
    tables = [t for (t,) in query(db, TABLES)]
    dump: dict[str, object] = {}
    for table in tables:
        columns = [c[1] for c in query(db, f"PRAGMA table_info({table})") if (table, c[1]) not in clock_columns]
        dump[table] = sorted(query(db, f"SELECT {', '.join(columns)} FROM {table}"), key=repr)
    return dump


TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
RECEIPTS = f"SELECT count(*) FROM webhook_receipts WHERE event_id <> '{MARK}'"
CURSORS = "SELECT count(*) FROM event_cursors"
STAGE = f"SELECT outcome FROM webhook_receipts WHERE event_id = '{MARK}'"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A load never interrupted."""
    db = tmp_path_factory.mktemp("clean") / "gfs.sqlite3"
    assert finish(db, NOW) != "null"
    return db


def test_a_clean_load_marks_itself_loaded_with_the_cursors_past_the_history(clean):
    receipts, events = query(clean, RECEIPTS)[0][0], query(clean, "SELECT count(*) FROM events")[0][0]
    assert receipts > 14_000 and events == receipts
    assert query(clean, STAGE) == [(ORDERS_PENDING,)]  # loaded but for the orders: these children have no bucket
    ((head, consumers),) = query(clean, "SELECT max(last_event_id), count(*) FROM event_cursors")
    assert consumers >= 3 and query(clean, "SELECT count(DISTINCT last_event_id) FROM event_cursors") == [(1,)]
    assert 0 < head < events  # recent news is left to the workflows
    assert finish(clean, LATER) == "null"  # loaded, and the bucket still down: a restart does nothing


def test_killed_after_the_first_backfill_batch_the_load_is_finished_at_restart(clean, tmp_path):
    db = tmp_path / "gfs.sqlite3"
    child = start(db, NOW)
    kill_when(child, db, f"SELECT ({RECEIPTS}) > 0")
    receipts, cursors = query(db, RECEIPTS)[0][0], query(db, CURSORS)[0][0]
    assert 0 < receipts < 10_000 and cursors == 0  # what the audit saw

    said = finish(db, LATER)
    assert state(db) == state(clean)
    assert '"resumed": true' in said


def test_killed_after_the_last_backfill_the_cursors_stay_where_the_history_ends(clean, tmp_path):
    # The recent events are in but the load is not marked done: moving the cursors again would skip them.
    db = tmp_path / "gfs.sqlite3"
    child = start(db, NOW, pause=2)
    total = query(clean, RECEIPTS)[0][0]
    kill_when(child, db, f"SELECT ({RECEIPTS}) = {total}")
    assert query(db, STAGE) == [(HISTORY_SKIPPED,)]

    said = finish(db, LATER)
    assert state(db) == state(clean)
    assert '"resumed": true' in said


def test_a_demo_loaded_before_the_marker_existed_is_left_as_it_is(clean, tmp_path):
    db = tmp_path / "gfs.sqlite3"
    shutil.copy(clean, db)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM webhook_receipts WHERE event_id = ?", (MARK,))
        conn.execute("UPDATE event_cursors SET last_event_id = last_event_id + 7")  # the workflows moved on since
    conn.close()
    before = state(db)
    assert finish(db, LATER) == "null"
    assert state(db) == before


def test_a_database_with_real_data_and_no_marker_gets_no_demo(tmp_path):
    db = tmp_path / "gfs.sqlite3"
    conn = connect(db)
    apply_schema(conn)
    with conn:
        conn.execute("INSERT INTO customers (ns_id, company_name, last_modified) "
                     "VALUES ('9', 'Real Customer', '2026-01-01T00:00:00Z')")
        conn.execute("INSERT INTO webhook_receipts (event_id, record_type, record_id, operation, last_modified, "
                     "outcome, received_at) VALUES ('ns-1', 'customer', '9', 'create', '2026-01-01T00:00:00Z', "
                     "'applied', '2026-01-01T00:00:01Z')")
    conn.close()
    before = state(db)
    assert finish(db, NOW) == "null"
    assert state(db) == before


@pytest.mark.parametrize(("has_customers", "stage", "action"), [
    (False, None, "load"), (True, None, "leave"), (True, LOADED, "leave"), (False, LOADED, "leave"),
    (False, STARTED, "resume"), (True, STARTED, "resume"), (True, HISTORY_SKIPPED, "resume"),
    (True, ORDERS_PENDING, "orders"),
])
def test_plan(has_customers, stage, action):
    from worker.demo import plan

    assert plan(has_customers, stage) == action
