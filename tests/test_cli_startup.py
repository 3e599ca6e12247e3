"""`worker serve` / `worker dev` that cannot start: one line naming the cause, a non-zero exit, at once.

Each case runs the real command in a subprocess against the session's SeaweedFS; a run that hangs
(as one did while the database's reader threads outlived a failed startup) fails on its timeout.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.seaweed import EmbeddedS3, free_port

REPO = Path(__file__).resolve().parent.parent
SERVERS = ["granian", "uvicorn"]


@pytest.fixture
def environ(tmp_path: Path, s3: EmbeddedS3, bucket_name: str) -> dict[str, str]:
    return {**os.environ, "WORKER_DB_PATH": str(tmp_path / "serve.sqlite3"), "WORKER_S3_ENDPOINT": s3.endpoint,
            "WORKER_S3_BUCKET": bucket_name}


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program is listening on."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


def start(command: str, *options: str, environ: dict[str, str], server: str = "granian") -> subprocess.CompletedProcess:
    """Run `worker COMMAND` expecting it to give up by itself: the timeout is the test of 'promptly'."""
    return subprocess.run([sys.executable, "-m", "worker.cli", command, "--server", server, "--no-cron", *options]
                          if command == "serve" else
                          [sys.executable, "-m", "worker.cli", command, "--server", server, *options],
                          env=environ, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def last_line(done: subprocess.CompletedProcess) -> str:
    """The command's own message: the last line of stderr; no traceback anywhere (log lines are JSON)."""
    assert "Traceback" not in done.stderr, done.stderr
    plain = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(plain) == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == plain[0]
    return plain[0]


@pytest.mark.parametrize("command", ["serve", "dev"])
def test_a_malformed_review_users_is_refused_before_anything_starts(environ: dict[str, str], command: str) -> None:
    environ["REVIEW_USERS"] = "alice:notahash"
    done = start(command, "--port", str(free_port()), "--smtp-port", str(free_port()), environ=environ)
    assert done.returncode == 2
    assert last_line(done) == "worker: REVIEW_USERS entry 1 (alice): not a hash from `worker hash-password`"
    assert done.stdout == "" and not Path(environ["WORKER_DB_PATH"]).exists()


@pytest.mark.parametrize("damage", ["cut short", "cost mistyped", "name too long"])
def test_a_review_users_entry_nobody_could_sign_in_with_is_refused_before_anything_starts(
        environ: dict[str, str], damage: str) -> None:
    # Accepted before, then every sign-in failed: a hash damaged in transit, a name sign-in cuts to 64 characters.
    from worker.passwords import hash_password

    good = hash_password("pw-correct-123")
    name, encoded = {"cut short": ("ann", good[:-2]), "cost mistyped": ("ann", good.replace("$16384$", "$1638$", 1)),
                     "name too long": ("a" * 65, good)}[damage]
    environ["REVIEW_USERS"] = f"mike:{good},{name}:{encoded}"
    done = start("serve", "--port", str(free_port()), "--smtp-port", str(free_port()), environ=environ)
    assert done.returncode == 2
    reason = "the name is longer than 64 characters" if damage == "name too long" else \
        "not a hash from `worker hash-password`"
    assert last_line(done) == f"worker: REVIEW_USERS entry 2 ({name}): {reason}"
    assert good.split("$")[4] not in done.stderr and done.stdout == "" and not Path(environ["WORKER_DB_PATH"]).exists()


@pytest.mark.parametrize("command", ["serve", "cron"])
def test_a_token_with_a_space_inside_is_refused_by_name_before_anything_starts(environ: dict[str, str],
                                                                               command: str) -> None:
    # A trailing newline is trimmed (a secret mounted from a file); one inside cannot be meant, and no bearer
    # request could ever match it: every POST /api/inbound-email was a 401 with nothing logged.
    environ["INTAKE_TOKEN"] = "S3CR\nQZ9\n"
    options = ("--port", str(free_port()), "--smtp-port", "0") if command == "serve" else ("hot",)
    done = subprocess.run([sys.executable, "-m", "worker.cli", command, *options], env=environ, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert last_line(done).startswith("worker: INTAKE_TOKEN: has a space, a control or a non-ASCII character inside")
    assert "S3CR" not in done.stderr and "QZ9" not in done.stderr
    assert done.stdout == "" and not Path(environ["WORKER_DB_PATH"]).exists()


@pytest.mark.parametrize(("command", "var", "value", "problem"), [
    ("serve", "WORKER_S3_ENDPOINT", "127.0.0.1:9000", "bucket.endpoint: '127.0.0.1:9000' is not an http:// or https://"),
    ("serve", "WORKER_S3_ENDPOINT", "http://[::1", "bucket.endpoint: 'http://[::1' is not a URL (Invalid IPv6 URL)"),
    ("cron", "AWS_REGION", "us east 1", "bucket.region: 'us east 1' is not a region name"),
])
def test_an_s3_endpoint_or_region_boto3_cannot_use_is_a_configuration_error(
        environ: dict[str, str], command: str, var: str, value: str, problem: str) -> None:
    # They were boto3's ValueError / InvalidRegionError with a 40-50 line traceback.
    environ[var] = value
    options = ("--port", str(free_port()), "--smtp-port", "0") if command == "serve" else ("hot",)
    done = subprocess.run([sys.executable, "-m", "worker.cli", command, *options], env=environ, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    line = last_line(done)
    assert line.startswith("worker: ") and f": invalid configuration: {problem}" in line, line
    assert done.stdout == "" and not Path(environ["WORKER_DB_PATH"]).exists()


@pytest.mark.parametrize("server", SERVERS)
def test_a_taken_smtp_port_stops_the_server_in_one_line(environ: dict[str, str], taken_port: int, server: str) -> None:
    done = start("serve", "--port", str(free_port()), "--smtp-port", str(taken_port), environ=environ, server=server)
    assert done.returncode == 1
    line = last_line(done)
    assert line.startswith("worker: cannot start: ") and f"('127.0.0.1', {taken_port})" in line, line
    assert "address already in use" in line.lower()


def test_dev_with_a_taken_smtp_port_stops_before_loading_the_demo(environ: dict[str, str], taken_port: int) -> None:
    done = start("dev", "--port", str(free_port()), "--smtp-port", str(taken_port), environ=environ)
    assert done.returncode == 1
    assert "address already in use" in last_line(done).lower()
    with sqlite3.connect(environ["WORKER_DB_PATH"]) as conn:  # the port is bound before the demo year is loaded
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (0,)


def test_an_s3_endpoint_that_does_not_answer_stops_the_server_in_one_line(environ: dict[str, str]) -> None:
    # It was a traceback ending in StorageUnavailable.
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = start("serve", "--port", str(free_port()), "--smtp-port", "0",
                 environ={**environ, "WORKER_S3_ENDPOINT": endpoint})
    assert done.returncode == 1
    line = last_line(done)
    assert line.startswith(f"worker: cannot start: {endpoint}: object storage unreachable"), line
    assert line.endswith(f"(bucket {environ['WORKER_S3_BUCKET']})"), line


@pytest.fixture
def shared_port() -> Iterator[int]:
    """A port a server that binds as granian does (SO_REUSEPORT) is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("holder", ["taken_port", "shared_port"])
def test_a_taken_http_port_stops_the_server_in_one_line(environ: dict[str, str], holder: str, server: str,
                                                       request: pytest.FixtureRequest) -> None:
    # shared_port: granian binds with SO_REUSEPORT, so a second worker on the port started, and the kernel split
    # webhooks and mail between two databases.
    port = request.getfixturevalue(holder)
    done = start("serve", "--port", str(port), "--smtp-port", "0", environ=environ, server=server)
    assert done.returncode == 1
    line = last_line(done)
    assert line.startswith(f"worker: cannot start: http://127.0.0.1:{port}: "), line
    assert "address already in use" in line.lower()


@pytest.mark.parametrize("server", SERVERS)
def test_a_database_from_a_newer_worker_stops_the_server_in_one_line(environ: dict[str, str], server: str) -> None:
    from worker.migrations import LATEST

    db = Path(environ["WORKER_DB_PATH"])
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    done = start("serve", "--port", str(free_port()), "--smtp-port", "0", environ=environ, server=server)
    assert done.returncode == 1
    assert last_line(done) == (f"worker: cannot start: {db}: database schema version {LATEST + 1} is newer than "
                               f"this worker's ({LATEST})")


def test_a_port_out_of_range_is_a_usage_error(environ: dict[str, str]) -> None:
    done = start("serve", "--port", "99999", environ=environ)
    assert done.returncode == 2 and "argument --port: 99999 is not a port (1-65535)" in done.stderr
    smtp = start("serve", "--port", str(free_port()), "--smtp-port", "-1", environ=environ)
    assert smtp.returncode == 2 and "argument --smtp-port: -1 is not a port (0-65535)" in smtp.stderr


def test_a_bug_in_the_app_s_startup_keeps_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the operator's problems are reduced to a line: a bug is shown with its traceback, then named."""
    from worker.cli import _startup_failure
    from worker.config import load_settings
    from worker.serving import StartupError

    settings = load_settings(REPO / "wrangler-like.toml", environ={})
    try:
        {}["missing"]
    except KeyError as exc:
        bug = exc
    assert _startup_failure(StartupError("'missing'", bug), settings) == "KeyError: 'missing'"
    assert "Traceback" in capsys.readouterr().err
    port = StartupError("http://127.0.0.1:1: Address already in use")
    assert _startup_failure(port, settings) == "http://127.0.0.1:1: Address already in use"
    assert capsys.readouterr().err == ""
