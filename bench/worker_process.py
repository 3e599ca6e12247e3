"""`worker serve` in a subprocess for bench scripts: free port, own config copy and state, embedded S3."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from worker.seaweed import free_port

REPO = Path(__file__).resolve().parent.parent


def start_worker_serve(tmp: Path, env: dict[str, str], *, db: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start `worker serve` with state under tmp (db defaults to tmp/serve.sqlite3); returns (process, URL)."""
    shutil.copy(REPO / "wrangler-like.toml", tmp / "wrangler-like.toml")
    environ = {**os.environ, "WORKER_DB_PATH": str(db or tmp / "serve.sqlite3"),
               "WORKER_CONFIG": str(tmp / "wrangler-like.toml"), **env}
    for var in ("WORKER_S3_ENDPOINT", "ANTHROPIC_API_KEY"):
        environ.pop(var, None)  # always the embedded SeaweedFS, never a real LLM
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "--log-level", "WARNING", "serve", "--port", str(port),
                             "--embedded-s3", "--smtp-port", "0", "--no-cron"], cwd=REPO, env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("worker serve did not become healthy in 90 s")
