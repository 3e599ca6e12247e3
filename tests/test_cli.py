"""The `worker` command as a user runs it: serve against an external S3, hash-password, config errors."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from worker.passwords import verify_password
from worker.seaweed import free_port

REPO = Path(__file__).resolve().parent.parent


def run_worker(*args, env=None, input=None, timeout=60):
    environ = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], env=environ, input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def test_serve_with_an_external_s3_answers_healthz(tmp_path, s3, bucket_name):
    port = free_port()
    environ = {**os.environ, "WORKER_DB_PATH": str(tmp_path / "serve.sqlite3"), "WORKER_S3_ENDPOINT": s3.endpoint,
               "WORKER_S3_BUCKET": bucket_name}
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "serve", "--port", str(port), "--smtp-port", "0",
                             "--no-cron"], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
    assert f"http://127.0.0.1:{port}" in out
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
