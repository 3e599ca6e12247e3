"""Reliability test support: `worker serve` / `worker cron` as real subprocesses, and their state on disk.

The crash and fault tests need a server they can `kill -9`, so it runs as its own process (own session,
so the kill reaches its PDF extractor children too), with its own copy of wrangler-like.toml (so the
state dir, spool and lease lengths are the test's), the session SeaweedFS and a free HTTP and SMTP port.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.helpers import TEST_INTAKE_TOKEN, TEST_REVIEWER, TEST_WEBHOOK_SECRET
from worker.seaweed import free_port

REPO = Path(__file__).resolve().parents[2]
LOCK_MESSAGES = ("database is locked", "database table is locked")


def config_copy(directory: Path, lease_seconds: dict[str, int] | None = None) -> Path:
    """The repo's wrangler-like.toml copied into `directory` (state lands there), leases optionally shortened."""
    text = (REPO / "wrangler-like.toml").read_text()
    for tier, seconds in (lease_seconds or {}).items():
        text, count = re.subn(rf"(?m)^{tier} = \d+$", f"{tier} = {seconds}", text, count=1)
        assert count == 1, f"no lease line for tier {tier} in wrangler-like.toml"
    path = directory / "wrangler-like.toml"
    path.write_text(text)
    return path


class WorkerProcess:
    """`worker serve --no-cron` in a subprocess that can be started, SIGKILLed and restarted on the same ports."""

    def __init__(self, directory: Path, *, s3_endpoint: str, bucket: str, reviewer_hash: str | None = None,
                 lease_seconds: dict[str, int] | None = None, server: str = "granian") -> None:
        self.directory = directory
        self.config = config_copy(directory, lease_seconds)
        self.db_path = directory / "gfs.sqlite3"
        self.state_dir = directory / ".worker"
        self.log_path = directory / "worker.log"
        self.port, self.smtp_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.s3_endpoint, self.bucket, self.server = s3_endpoint, bucket, server
        self.reviewer_hash = reviewer_hash
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def environ(self) -> dict[str, str]:
        """The process environment: test secrets, this test's database, config and bucket."""
        environ = {**os.environ, "WORKER_CONFIG": str(self.config), "WORKER_DB_PATH": str(self.db_path),
                   "WORKER_S3_ENDPOINT": self.s3_endpoint, "WORKER_S3_BUCKET": self.bucket,
                   "NS_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET, "INTAKE_TOKEN": TEST_INTAKE_TOKEN,
                   "PYTHONPATH": str(REPO)}
        if self.reviewer_hash:
            environ["REVIEW_USERS"] = f"{TEST_REVIEWER[0]}:{self.reviewer_hash}"
        environ.pop("ANTHROPIC_API_KEY", None)
        return environ

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "worker.cli", *args], cwd=REPO, env=self.environ(),
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)

    def start(self, timeout: float = 90) -> WorkerProcess:
        """Start serving and wait for /healthz to answer 200."""
        assert self.proc is None, "already running"
        self.proc = self._spawn(["serve", "--port", str(self.port), "--smtp-port", str(self.smtp_port), "--no-cron",
                                 "--server", self.server])
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker serve exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"worker serve not healthy within {timeout}s; log:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server and everything it started (no shutdown code runs: a crash)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), SIGKILL if it takes longer than 30 s."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        pgid, self.proc = self.proc.pid, None
        # Children of the session (PDF extractor processes) must not outlive the test: they are ours.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def cron(self, tier: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run `worker cron TIER` against the same database and bucket; returns the finished process."""
        return subprocess.run([sys.executable, "-m", "worker.cli", "cron", tier, *extra], cwd=REPO, env=self.environ(),
                              capture_output=True, text=True, timeout=timeout)

    def log_text(self) -> str:
        """Everything the server processes logged so far (JSON lines)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def db(self) -> sqlite3.Connection:
        """A plain sqlite3 connection to the server's database (recovers the WAL after a kill)."""
        conn = sqlite3.connect(self.db_path, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn


def s3_client(endpoint: str) -> Any:
    """A boto3 client for checking what really is in the bucket."""
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="worker", aws_secret_access_key="worker",
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                                               retries={"max_attempts": 2}))


def object_exists(client: Any, bucket: str, key: str) -> bool:
    """True if the key is in the bucket."""
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def lock_errors(log_text: str) -> list[str]:
    """Log lines that mention SQLite lock errors (the app must never surface them)."""
    return [line for line in log_text.splitlines() if any(m in line.lower() for m in LOCK_MESSAGES)]


def fill(directory: Path) -> Path:
    """Write a file until the disk refuses another byte."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as out:
        for chunk in (1 << 16, 4096, 512):  # big writes first, then top up what is left
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler
