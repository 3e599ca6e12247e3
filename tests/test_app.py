"""The app over real HTTP: health with dependency checks, problem details, request ids, dev trigger."""

import logging
import socket

import httpx
import pytest

from tests.helpers import TEST_INTAKE_TOKEN, live_server, wait_for
from worker.seaweed import free_port


def test_healthz_names_what_is_down(settings, secrets):
    from worker.env import build_env

    env = build_env(settings, secrets, bucket_endpoint=f"http://127.0.0.1:{free_port()}")
    with live_server(env) as live:
        response = httpx.get(live.url + "/healthz", timeout=30)
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False and body["db"] == "ok"
    # boto3 retries a refused connection with backoff; on a loaded machine the 5 s probe limit can come first.
    assert body["bucket"].startswith(("StorageUnavailable", "TimeoutError")) and body["detail"] == "unavailable: bucket"


def test_errors_are_problem_details_with_request_id(server):
    response = httpx.get(server.url + "/no/such/route", headers={"x-request-id": "trace-123"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert response.headers["x-request-id"] == "trace-123"


def test_hostile_request_id_is_replaced(server):
    response = httpx.get(server.url + "/healthz", headers={"x-request-id": "<script>" + "a" * 100})
    assert response.headers["x-request-id"] != "<script>" + "a" * 100
    assert len(response.headers["x-request-id"]) == 16


def test_openapi_is_served(server):
    assert httpx.get(server.url + "/schema").status_code == 200
    spec = httpx.get(server.url + "/schema/openapi.json").json()
    assert spec["info"]["title"] == "GFS edge worker"
    assert "/healthz" in spec["paths"]
    assert "/__scheduled" not in spec["paths"]


def test_scheduled_trigger_is_dev_only(server):
    response = httpx.get(server.url + "/__scheduled", params={"cron": "* * * * *"})
    assert response.status_code == 404


def test_scheduled_trigger_runs_the_tier_in_dev(make_env):
    env = make_env(dev=True)
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        ok = httpx.post(live.url + "/__scheduled", params={"cron": "0 3 * * *", "as_of": "2026-11-20T03:00:00+00:00"},
                        timeout=60)
        unknown = httpx.get(live.url + "/__scheduled", params={"cron": "1 2 3 4 5"})
        bad_date = httpx.get(live.url + "/__scheduled", params={"cron": "* * * * *", "as_of": "yesterday"})
        future = httpx.get(live.url + "/__scheduled", params={"cron": "* * * * *", "as_of": "2999-01-01"})
        runs = live.run(env.db.fetchall("SELECT tier, status, scheduled_at FROM cron_runs"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["tier"] == "cold" and ok.json()["status"] == "ok"
    assert [tuple(r) for r in runs] == [("cold", "ok", "2026-11-20T03:00:00.000Z")]
    assert unknown.status_code == 404 and "no tier is configured for cron '1 2 3 4 5'" in unknown.json()["detail"]
    assert bad_date.status_code == 400 and "as_of" in bad_date.json()["detail"]
    assert future.status_code == 400 and future.json()["detail"].startswith("as_of 2999-01-01 (")  # nothing run
    assert "is later than now" in future.json()["detail"]


def raw_head(port: int, path: str) -> tuple[str, bytes]:
    """A HEAD request over a bare socket: the response head, and every byte the server sent after it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TEST_INTAKE_TOKEN}\r\n"
                     "Connection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


@pytest.mark.parametrize("kind", ["uvicorn", "granian"])
def test_head_answers_as_get_without_the_body(make_env, kind):
    # Uptime probes use HEAD (RFC 9110: general-purpose servers must support it); before, every GET route was a 405.
    env = make_env()
    with live_server(env, server=kind) as live:
        live.run(env.bucket.ensure_bucket())
        auth = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}"}
        for path in ("/healthz", "/api/proposed-actions?limit=5", "/schema/openapi.json", "/no/such/route"):
            got, head = httpx.get(live.url + path, headers=auth, timeout=30), httpx.head(live.url + path, headers=auth,
                                                                                         timeout=30)
            assert head.status_code == got.status_code != 405, path
            for name in ("content-type", "content-length", "x-content-type-options"):
                assert head.headers.get(name) == got.headers.get(name), (path, name)
            status_line, rest = raw_head(live.port, path)
            assert status_line.startswith(f"HTTP/1.1 {got.status_code}") and rest == b"", (path, rest[:80])
        assert httpx.head(live.url + "/api/inbound-email", timeout=30).status_code == 405  # POST only, as for GET


async def test_head_as_get_drops_the_body_whatever_the_server():
    # uvicorn and granian drop a HEAD response's body themselves; the app does not count on a server doing so.
    from worker.app import head_as_get

    sent, seen = [], []

    async def app(scope, receive, send):
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"6")]})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"def"})

    async def send(message):
        sent.append(message)

    await head_as_get(app)({"type": "http", "method": "HEAD"}, None, send)
    assert seen == ["GET"] and [m.get("body") for m in sent] == [None, b""]
    assert sent[0]["headers"] == [(b"content-length", b"6")]


def test_the_access_log_names_a_head_request_head(server, caplog):
    # head_as_get hands the app a GET: the access line used to say GET for every uptime probe.
    caplog.set_level(logging.INFO, logger="worker.access")
    assert httpx.head(server.url + "/healthz", timeout=30).status_code == 200
    assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200

    def access_lines() -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in caplog.records if r.name == "worker.access"]

    # The line is written once the response has gone out, so the client can return before it is logged.
    wait_for(lambda: len(access_lines()) >= 2, timeout=30)
    assert access_lines() == [("HEAD", "/healthz"), ("GET", "/healthz")]


def test_static_answers_404_for_anything_but_a_served_file(server, caplog):
    # Before, names the file system refuses were 500s, and a NUL byte logged a traceback at ERROR per request.
    caplog.set_level(logging.INFO)
    for name in ("%00", "review.css%00", "review.css/x", "a" * 300, "nope.css", "..%2fREADME.md", ""):
        response = httpx.get(f"{server.url}/static/{name}", timeout=30)
        assert response.status_code == 404, (name, response.text[:200])
        assert response.headers["content-type"].startswith("application/problem+json")
        assert str(server.env.settings.state_dir.parent) not in response.text  # no server path in the detail
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    css = httpx.get(server.url + "/static/review.css", timeout=30)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and "etag" in css.headers
    head = httpx.head(server.url + "/static/review.css", timeout=30)
    assert head.status_code == 200 and head.headers["content-length"] == css.headers["content-length"]


def test_scheduled_answers_a_tick_older_than_the_aging_snapshot_409_and_a_failed_run_a_problem(make_env, monkeypatch):
    # Before, both were a 500 whose body was the bare run record; the stale tick also recorded a failed run.
    import cron

    env = make_env(dev=True)
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        assert httpx.post(live.url + "/__scheduled", params={"cron": "*/15 * * * *"}, timeout=60).status_code == 200
        stale = httpx.post(live.url + "/__scheduled", params={"cron": "*/15 * * * *", "as_of": "1900-01-01"},
                           timeout=60)
        same_day = httpx.post(live.url + "/__scheduled", params={"cron": "*/15 * * * *",
                                                                 "as_of": env.clock().isoformat()}, timeout=60)
        cold = httpx.post(live.url + "/__scheduled", params={"cron": "0 3 * * *", "as_of": "1900-01-01"}, timeout=60)

        async def boom(env, as_of):
            raise RuntimeError("disk on fire")

        monkeypatch.setitem(cron.JOBS, "warm", [("boom", boom)])
        failed = httpx.post(live.url + "/__scheduled", params={"cron": "*/15 * * * *"}, timeout=60)
        runs = live.run(env.db.fetchall("SELECT tier, status FROM cron_runs ORDER BY id"))
    assert stale.status_code == 409 and stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["detail"].startswith("as_of 1900-01-01 (company date 1900-01-01) is older than the latest "
                                             "aging snapshot (")
    assert same_day.status_code == 200 and cold.status_code == 200  # the cold tier does not refresh the aging
    assert failed.status_code == 500 and failed.headers["content-type"].startswith("application/problem+json")
    assert "boom: RuntimeError: disk on fire" in failed.json()["detail"] and failed.json()["tier"] == "warm"
    assert [tuple(r) for r in runs] == [("warm", "ok"), ("warm", "ok"), ("cold", "ok"), ("warm", "failed")]
