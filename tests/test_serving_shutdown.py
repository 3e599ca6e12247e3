"""A stop (SIGTERM, SIGINT) ends the in-process cron scheduler at once, not after the last request in flight;
requests still in flight after the grace period, or at a second signal, are cut so that the app shuts down;
one cut before its answer began gets a 503 with Retry-After and an X-Request-ID.

The servers begin the app's lifespan shutdown only when every request has ended, and a slow upload may take
hours (limits.body_min_bytes_per_second); tiers kept firing all that time. worker serve shares its stop event.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.helpers import TEST_WEBHOOK_SECRET, LiveServer, live_server
from worker.env import Env
from worker.seaweed import EmbeddedS3, free_port

REPO = Path(__file__).resolve().parent.parent


def scheduler_running(live: LiveServer) -> bool:
    async def look() -> bool:
        return any(task.get_name() == "cron-scheduler" and not task.done() for task in asyncio.all_tasks())

    return bool(live.run(look()))


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_stop_ends_the_scheduler_while_a_request_is_still_in_flight(make_env: Callable[..., Env], server: str) -> None:
    env = make_env(scheduler=True)
    with live_server(env, server=server) as live:
        assert scheduler_running(live)
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            head = "POST /api/ns-webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            sock.sendall(f"{head}Content-Length: 1000\r\n\r\n{{".encode())  # the rest of the body never comes
            time.sleep(0.3)
            live.request_stop()
            deadline = time.monotonic() + 10
            while scheduler_running(live) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not scheduler_running(live)  # before: running until the request ended (the body's timeout here)


def cut_log(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.requests, r.why) for r in caplog.records
            if r.getMessage() == "stopping: requests still in flight are cancelled"]


def assert_refused_as_stopping(sock: socket.socket) -> None:
    """A request cut before it was answered gets what one arriving after the cut gets: a 503 problem with
    Retry-After and a request id, on a connection that closes."""
    sock.settimeout(5)
    reply = b""
    while chunk := sock.recv(4096):  # to the end: the connection closes
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    assert status.split(" ")[1] == "503", reply
    assert headers["retry-after"] == "5" and headers["connection"] == "close"
    assert headers["content-type"] == "application/problem+json"
    assert len(headers["x-request-id"]) == 16
    problem = json.loads(body)
    assert (problem["status"], problem["request_id"]) == (503, headers["x-request-id"])


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_request_still_in_flight_after_the_grace_is_cut_so_the_app_shuts_down(
        make_env: Callable[..., Env], server: str, caplog: pytest.LogCaptureFixture) -> None:
    # A slow upload (here a body that stalls; the body timeout is 60 s) used to hold the process until it ended.
    env = make_env()
    with live_server(env, server=server, grace=0.5) as live, socket.create_connection(("127.0.0.1", live.port)) as sock:
        head = "POST /api/ns-webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: 1000\r\n\r\n{{".encode())
        time.sleep(0.3)
        live.request_stop()
        assert live.stopped(timeout=30)  # a guard: without the cut, serving ends with the body timeout's 408
        assert_refused_as_stopping(sock)  # cut, not timed out (408), nor the server's bare 500
        assert cut_log(caplog) == [(1, "0.5 s after the stop")]
        assert env.db._writer is None  # the app's own shutdown ran: the database is closed


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_second_signal_cuts_the_requests_in_flight_at_once(tmp_path: Path, s3: EmbeddedS3, bucket_name: str,
                                                             server: str) -> None:
    port = free_port()
    environ = {**os.environ, "WORKER_DB_PATH": str(tmp_path / "serve.sqlite3"), "WORKER_S3_ENDPOINT": s3.endpoint,
               "WORKER_S3_BUCKET": bucket_name, "NS_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET}
    command = [sys.executable, "-m", "worker.cli", "serve", "--server", server, "--no-cron", "--port", str(port),
               "--smtp-port", "0"]
    proc = subprocess.Popen(command, env=environ, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/__live", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            head = "POST /api/ns-webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            sock.sendall(f"{head}Content-Length: 1000\r\n\r\n{{".encode())
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            time.sleep(1)
            assert proc.poll() is None  # the first signal lets the request in flight go on (for 30 s)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)  # a guard: the body's timeout would end the request at 60 s
            assert_refused_as_stopping(sock)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    [cut] = [json.loads(line) for line in err.splitlines() if "requests still in flight are cancelled" in line]
    assert (cut["requests"], cut["why"]) == (1, "a second signal")  # not the 30 s grace
