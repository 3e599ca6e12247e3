"""The `worker` command as a user runs it: serve against an external S3, hash-password, config errors."""

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests import ar_fixtures as fx
from worker.as_of import check_as_of, parse_as_of
from worker.passwords import verify_password
from worker.seaweed import free_port

REPO = Path(__file__).resolve().parent.parent


def run_worker(*args, env=None, input=None, timeout=60):
    environ = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], env=environ, input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def test_serve_with_an_external_s3_answers_healthz(tmp_path, s3, bucket_name):
    port, smtp_port = free_port(), free_port()
    environ = {**os.environ, "WORKER_DB_PATH": str(tmp_path / "serve.sqlite3"), "WORKER_S3_ENDPOINT": s3.endpoint,
               "WORKER_S3_BUCKET": bucket_name}
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "serve", "--host", "0.0.0.0", "--port", str(port),
                             "--smtp-port", str(smtp_port), "--no-cron"], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert response is not None, proc.stderr.read() if proc.poll() is not None else "no answer"
        assert response.status_code == 200, response.text
        assert response.json()["bucket"] == "ok" and response.headers["server"] == "granian"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http://0.0.0.0:{port}" in out
    assert f"smtp:     127.0.0.1:{smtp_port} for" in out  # SMTP listens on 127.0.0.1 only, whatever --host is
    assert "whsec" not in out + err


def test_serve_without_s3_refuses_clearly(tmp_path):
    done = run_worker("serve", "--port", str(free_port()), env={"WORKER_DB_PATH": str(tmp_path / "x.sqlite3"),
                                                               "WORKER_S3_ENDPOINT": ""})
    assert done.returncode == 2
    assert "no S3 endpoint: set WORKER_S3_ENDPOINT" in done.stderr


def test_hash_password_reads_stdin_and_verifies():
    done = run_worker("hash-password", input="s3cret pass\n")
    assert done.returncode == 0, done.stderr
    encoded = done.stdout.strip()
    assert encoded.startswith("scrypt$") and ":" not in encoded and "," not in encoded
    assert verify_password("s3cret pass", encoded)
    assert not verify_password("s3cret pas", encoded)
    assert not verify_password("s3cret pass", "garbage")
    empty = run_worker("hash-password", input="\n")
    assert empty.returncode == 2 and "empty password" in empty.stderr


def test_config_error_exits_2_with_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((REPO / "wrangler-like.toml").read_text().replace('TIMEZONE = "UTC"', 'TIMEZONE = "Nowhere/Land"'))
    done = run_worker("--config", str(bad), "db", "init")
    assert done.returncode == 2
    assert "vars.TIMEZONE: unknown time zone 'Nowhere/Land'" in done.stderr


def test_cron_as_of_must_be_iso():
    done = run_worker("cron", "warm", "--as-of", "last tuesday")
    assert done.returncode == 2 and "not an ISO-8601 datetime" in done.stderr


def test_as_of_without_an_offset_is_read_in_the_company_zone():
    chicago = ZoneInfo("America/Chicago")  # UTC-5 in July
    assert parse_as_of("2026-07-01", chicago) == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # local midnight
    assert parse_as_of("2026-07-01T08:30", chicago) == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert parse_as_of("2026-07-01T00:15:00Z", chicago) == datetime(2026, 7, 1, 0, 15, tzinfo=UTC)
    assert parse_as_of("2026-07-01T00:00-03:00", chicago) == datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    assert parse_as_of("2026-07-01", ZoneInfo("UTC")) == datetime(2026, 7, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="not an ISO-8601 datetime: 'last tuesday'"):
        parse_as_of("last tuesday", chicago)


def test_as_of_later_than_now_is_refused_naming_both():
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert check_as_of("2026-07-01", datetime(2026, 7, 1, 5, 0, tzinfo=UTC), now) is None
    assert check_as_of("x", now, now) is None
    problem = check_as_of("2026-09-15", datetime(2026, 9, 15, 5, 0, tzinfo=UTC), now)
    assert problem.startswith("--as-of 2026-09-15 (2026-09-15T05:00:00.000Z) is later than now "
                              "(2026-07-01T12:00:00.000Z)")


@pytest.mark.parametrize("tier", ["warm", "cold"])
def test_cron_refuses_a_future_as_of_without_writing(tmp_path, tier):
    db = tmp_path / "x.sqlite3"
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    done = run_worker("cron", tier, "--as-of", future, env={"WORKER_DB_PATH": str(db)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"--as-of {future} (" in done.stderr and "is later than now (" in done.stderr
    assert not db.exists() and done.stdout == ""


def test_cron_as_of_date_is_the_company_date_in_timezone(tmp_path):
    """`--as-of 2026-07-01` in Chicago ages as of July 1st there, not June 30th (UTC midnight)."""
    config = tmp_path / "w.toml"
    config.write_text((REPO / "wrangler-like.toml").read_text().replace('TIMEZONE = "UTC"',
                                                                          'TIMEZONE = "America/Chicago"'))
    environ = {"WORKER_DB_PATH": str(tmp_path / "t.sqlite3")}
    assert run_worker("--config", str(config), "db", "init", env=environ).returncode == 0
    conn = sqlite3.connect(tmp_path / "t.sqlite3")
    fx.customer(conn, "100", "Acme")
    fx.invoice(conn, "A", "100", tran_date="2026-05-31", due_date="2026-06-30", total=100)
    conn.commit()
    done = run_worker("--config", str(config), "cron", "warm", "--as-of", "2026-07-01", env=environ)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = conn.execute("SELECT as_of, days_past_due, bucket FROM ar_aging_snapshot").fetchall()
    scheduled = conn.execute("SELECT scheduled_at FROM cron_runs WHERE tier = 'warm'").fetchone()[0]
    conn.close()
    assert rows == [("2026-07-01", 1, "1-30")] and scheduled == "2026-07-01T05:00:00.000Z"
