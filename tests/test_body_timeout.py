"""A request body that stalls or trickles is answered 408 and its connection closed, under both servers; a
slow but steady body still arrives (limits.body_idle_seconds between chunks, body_min_bytes_per_second overall)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cdc_support import customer, event, signed_headers
from tests.helpers import TEST_INTAKE_TOKEN, live_server
from worker.body_timeout import body_deadline, too_slow
from worker.env import Env

IDLE = 0.5
MIN_RATE = 100  # bytes/s: a ~250-byte event sent in five chunks 0.3 s apart averages ~170
BODY = json.dumps(event("sn-1", "customer", "1187", "2026-11-20T14:03:11Z", customer("1187", "Driscoll Foods"))).encode()


def with_idle(make_env: Callable[..., Env], seconds: float, min_rate: float = MIN_RATE) -> Env:
    env = make_env()
    env.settings = env.settings.model_copy(update={"limits": env.settings.limits.model_copy(
        update={"body_idle_seconds": seconds, "body_min_bytes_per_second": min_rate})})
    return env


def request_head(path: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", *(f"{k}: {v}" for k, v in headers.items()), f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (raises if it stays open past timeout)."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_stalled_webhook_body_gets_408_and_nothing_is_applied(make_env: Callable[..., Env], server: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    env = with_idle(make_env, IDLE)
    body = BODY
    with live_server(env, server=server) as live:
        live.run(env.bucket.ensure_bucket())
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            sock.sendall(request_head("/api/ns-webhook", signed_headers(body), len(body)) + body[:20])
            time.sleep(IDLE / 5)  # a gap under the limit: the server must still be reading
            sock.sendall(body[20:40])
            reply = read_until_closed(sock, timeout=10)  # closed: a later request must not read the body's rest
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), reply
        assert b"content-type: application/problem+json" in head.lower()  # as /schema/openapi.json says
        assert b"no request body data for 0.5 s (limits.body_idle_seconds)" in payload
        # Refused for the gap after the second chunk, not before it: the server had read all 40 bytes.
        [refused] = [r for r in caplog.records if r.name == "worker.http" and r.getMessage().startswith("request body")]
        assert (refused.getMessage(), refused.bytes) == ("request body stalled", 40)
        assert live.run(env.db.fetchall("SELECT count(*) FROM webhook_receipts"))[0][0] == 0


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_headers_then_nothing_names_the_idle_limit(make_env: Callable[..., Env], server: str) -> None:
    # No byte of the body ever comes: the grace and the gap end together, and the gap is what happened (the
    # 408 named the minimum rate, pointing at the wrong setting).
    env = with_idle(make_env, IDLE)
    with live_server(env, server=server) as live:
        live.run(env.bucket.ensure_bucket())
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            sock.sendall(request_head("/api/ns-webhook", signed_headers(BODY), len(BODY)))
            reply = read_until_closed(sock, timeout=10)
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), reply
        assert b"limits.body_idle_seconds" in payload and b"body_min_bytes_per_second" not in payload


def test_stalled_email_body_gets_408_and_leaves_no_file(make_env: Callable[..., Env]) -> None:
    env = with_idle(make_env, IDLE)
    headers = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}", "Content-Type": "message/rfc822"}
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            sock.sendall(request_head("/api/inbound-email", headers, 10_000) + b"From: buyer@example.com\r\n")
            reply = read_until_closed(sock, timeout=10)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        incoming = Path(env.settings.state_dir) / "incoming"
        assert not incoming.exists() or list(incoming.iterdir()) == []
        assert live.run(env.db.fetchall("SELECT count(*) FROM inbound_email_log"))[0][0] == 0


def test_slow_but_steady_body_is_accepted(make_env: Callable[..., Env]) -> None:
    # Five chunks 0.3 s apart: 1.2 s in all, more than the idle limit, but no gap reaches it.
    env = with_idle(make_env, IDLE)
    body = BODY
    with live_server(env, server="granian") as live:
        live.run(env.bucket.ensure_bucket())
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            sock.sendall(request_head("/api/ns-webhook", {**signed_headers(body), "Connection": "close"}, len(body)))
            step = -(-len(body) // 5)
            for at in range(0, len(body), step):
                time.sleep(0.3)
                sock.sendall(body[at:at + step])
            reply = read_until_closed(sock, timeout=10)
        assert reply.startswith(b"HTTP/1.1 200"), reply
        assert live.run(env.db.fetchall("SELECT company_name FROM customers"))[0][0] == "Driscoll Foods"


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_body_trickling_in_under_the_minimum_rate_gets_408(make_env: Callable[..., Env], server: str) -> None:
    # A byte every 0.3 s: no gap reaches the idle limit, but 0.5 s of grace plus 1/100 s a byte runs out fast.
    env = with_idle(make_env, IDLE)
    body = BODY
    with live_server(env, server=server) as live:
        live.run(env.bucket.ensure_bucket())
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            sock.sendall(request_head("/api/ns-webhook", signed_headers(body), len(body)))
            sent, reply = 0, b""
            sock.settimeout(0.3)
            while sent < len(body) and not reply:
                try:
                    sock.sendall(body[sent:sent + 1])
                    sent += 1
                    reply = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:  # closed by the server mid-send
                    break
            reply += read_until_closed(sock, timeout=10)
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), reply
        assert b"arrived at under 100 bytes/s" in payload and b"limits.body_min_bytes_per_second" in payload
        assert sent < 20  # cut off a few bytes in, not after the whole trickle
        assert live.run(env.db.fetchall("SELECT count(*) FROM webhook_receipts"))[0][0] == 0


def test_body_deadline_is_the_grace_plus_what_the_minimum_rate_allows() -> None:
    assert body_deadline(100.0, 60, 500, 0) == 160.0
    assert body_deadline(100.0, 60, 500, 25_000_000) == 100.0 + 60 + 50_000  # 25 MB at 500 B/s: about 14 h


def test_the_minimum_rate_is_named_only_when_the_bytes_came_slower_than_it_allows() -> None:
    assert not too_slow(100.0, 100.0, 0, 500)  # nothing came: a stall
    assert not too_slow(100.0, 100.5, 20, 10)  # 20 bytes by 100.5 at 10 B/s was fast enough (2 s allowed)
    assert too_slow(100.0, 103.0, 20, 10)  # 20 bytes took 3 s: the deadline came before a gap could
