"""What the `worker` command prints itself, besides its `worker: ...` lines, is redacted too (SPEC: secrets never
appear in logs): a bug's traceback and a thread's on stderr, and the report lines on stdout that quote an error, a
rejected row or the S3 endpoint (which may carry the access keys). Each runs the real command with AWS credentials
in its environment; a bug is planted by patching a module before running worker.cli as `python -m` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.test_cli_messages_redacted import KEY_ID, SECRET_KEY, run_worker
from worker.config import SECRET_VARIABLES
from worker.reference import FILE_NAMES
from worker.seaweed import EmbeddedS3, free_port

REPO = Path(__file__).resolve().parent.parent
AS_MAIN = "import runpy, sys; sys.argv[0] = 'worker'; runpy.run_module('worker.cli', run_name='__main__', alter_sys=True)"


def run_patched(patch: str, *args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """run_worker after `patch` (Python source) has run in the same process."""
    script = tmp_path / "patched_worker.py"
    script.write_text(f"{patch}\n{AS_MAIN}\n")
    environ = {var: value for var, value in os.environ.items() if var not in SECRET_VARIABLES.values()}
    environ |= {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "PYTHONPATH": str(REPO),
                "WORKER_DB_PATH": str(tmp_path / "db.sqlite3"), "WORKER_STATE_DIR": str(tmp_path / "state"), **env}
    return subprocess.run([sys.executable, str(script), *args], cwd=REPO, env=environ, capture_output=True, text=True,
                          timeout=120, check=False)


def assert_no_credential(done: subprocess.CompletedProcess) -> None:
    for text in (done.stdout, done.stderr):
        assert KEY_ID not in text and SECRET_KEY not in text, text


BUG = """
import os
import worker.migrations

def apply_schema(conn):
    try:
        raise KeyError(os.environ["AWS_ACCESS_KEY_ID"])
    except KeyError as exc:
        raise ValueError(f"cannot reach postgres://u:{os.environ['AWS_SECRET_ACCESS_KEY']}@db.example") from exc

worker.migrations.apply_schema = apply_schema
"""


def test_a_bug_s_traceback_is_printed_whole_but_redacted(tmp_path: Path) -> None:
    done = run_patched(BUG, "db", "init", tmp_path=tmp_path)
    assert done.returncode == 1  # as Python gives for an uncaught exception
    assert_no_credential(done)
    err = done.stderr
    assert err.startswith("Traceback (most recent call last):\n"), err
    assert "KeyError: '[redacted]'\n\nThe above exception was the direct cause of the following exception:" in err
    assert 'in cmd_db_init\n    version = apply_schema(conn)' in err  # the stack stays the report
    assert err.endswith("ValueError: cannot reach postgres://u:[redacted]@db.example\n")


THREAD = """
import os, threading
import worker.migrations

real = worker.migrations.apply_schema

def apply_schema(conn):
    def leak():
        raise RuntimeError(f"token {os.environ['AWS_SECRET_ACCESS_KEY']} refused")
    thread = threading.Thread(target=leak, name="leaky")
    thread.start()
    thread.join()
    return real(conn)

worker.migrations.apply_schema = apply_schema
"""


def test_a_thread_s_traceback_is_printed_redacted(tmp_path: Path) -> None:
    done = run_patched(THREAD, "db", "init", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr  # a thread's exception does not stop the command
    assert_no_credential(done)
    assert done.stderr.startswith("Exception in thread leaky:\nTraceback (most recent call last):\n"), done.stderr
    assert done.stderr.endswith("RuntimeError: token [redacted] refused\n")


FAILING_JOB = """
import asyncio, gc, os
import cron

async def leaky(env, as_of):
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]

    async def forgotten():
        raise RuntimeError(f"forgotten task saw {secret}")

    task = asyncio.ensure_future(forgotten())
    await asyncio.sleep(0)  # it runs and fails; no one retrieves its exception
    del task
    gc.collect()  # asyncio logs "Task exception was never retrieved" as the task goes
    raise ConnectionError(f"s3 at http://AKID:{secret}@s3.example refused")

cron.JOBS["hot"] = [("leaky", leaky)]
"""


def test_a_cron_run_s_error_is_printed_redacted(tmp_path: Path) -> None:
    done = run_patched(FAILING_JOB, "cron", "hot", tmp_path=tmp_path)
    assert done.returncode == 1
    assert_no_credential(done)
    assert done.stdout.endswith(" {} error: leaky: ConnectionError: s3 at http://AKID:[redacted]@s3.example refused\n")
    # The task asyncio reports goes through the JSON logs, redacted there.
    logged = [json.loads(line) for line in done.stderr.splitlines()]
    forgotten = next(entry for entry in logged if entry["msg"].startswith("Task exception was never retrieved"))
    assert forgotten["exc"].endswith("RuntimeError: forgotten task saw [redacted]")


def test_backfill_and_replay_lines_quoting_a_rejected_event_are_redacted(tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text(json.dumps({"event_id": "e-1", "record_type": "customer", "record_id": SECRET_KEY,
                                  "operation": "update", "last_modified": "2026-11-20T10:00:00Z",
                                  "record": {"id": "2"}}) + "\n")
    backfill = run_worker("backfill", str(export), tmp_path=tmp_path)
    assert backfill.returncode == 1
    assert_no_credential(backfill)
    assert backfill.stdout.startswith("  dead-lettered line 1: record.id '2' does not match record_id '[redacted]'\n")
    replay = run_worker("replay-dead-letters", tmp_path=tmp_path)
    assert replay.returncode == 1
    assert_no_credential(replay)
    assert replay.stdout == ("dead letter 1: still failing: applied 0, duplicate 0, stale 0, rejected 1; still "
                             "rejected: record.id '2' does not match record_id '[redacted]'\n"
                             "0 of 1 dead letters replayed\n")


def test_an_import_s_rejected_row_quoting_a_secret_is_redacted(tmp_path: Path) -> None:
    directory = tmp_path / "reference"
    directory.mkdir()
    assert "pricing_master.csv" in FILE_NAMES
    (directory / "pricing_master.csv").write_text(
        f"item_id,customer_id,unit_price,uom,effective_from,effective_to\n501,,{SECRET_KEY},CS,,\n")
    done = run_worker("import-reference", str(directory), tmp_path=tmp_path)
    assert done.returncode == 1
    assert_no_credential(done)
    assert done.stdout.endswith(
        "  rejected pricing_master.csv:2: unit_price: Input should be a valid decimal (got '[redacted]')\n")


def test_serve_prints_an_endpoint_holding_the_keys_redacted(tmp_path: Path, s3: EmbeddedS3, bucket_name: str) -> None:
    port = free_port()
    endpoint = s3.endpoint.replace("http://", f"http://{KEY_ID}:{SECRET_KEY}@")
    environ = {var: value for var, value in os.environ.items() if var not in SECRET_VARIABLES.values()}
    environ |= {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "WORKER_S3_ENDPOINT": endpoint,
                "WORKER_S3_BUCKET": bucket_name, "WORKER_DB_PATH": str(tmp_path / "db.sqlite3")}
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "serve", "--port", str(port), "--smtp-port", "0",
                             "--no-cron"], cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert done.returncode == 0, err
    assert_no_credential(done)
    host_port = s3.endpoint.removeprefix("http://")
    assert f"  s3:       http://[redacted]:[redacted]@{host_port} bucket {bucket_name}\n" in out


STARTUP_BUG = """
import os
import worker.app

def reviewers(env):
    raise RuntimeError(f"session store at redis://:{os.environ['AWS_SECRET_ACCESS_KEY']}@cache refused")

worker.app.reviewers = reviewers
"""


def test_a_bug_in_the_app_s_startup_prints_its_traceback_redacted(tmp_path: Path, s3: EmbeddedS3,
                                                                   bucket_name: str) -> None:
    done = run_patched(STARTUP_BUG, "serve", "--port", str(free_port()), "--smtp-port", "0", "--no-cron",
                       tmp_path=tmp_path, WORKER_S3_ENDPOINT=s3.endpoint, WORKER_S3_BUCKET=bucket_name)
    assert done.returncode == 1
    assert_no_credential(done)
    plain = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert plain[0] == "Traceback (most recent call last):", done.stderr
    assert plain[-2:] == ["RuntimeError: session store at redis://:[redacted]@cache refused",
                          "worker: cannot start: RuntimeError: session store at redis://:[redacted]@cache refused"]
