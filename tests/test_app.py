"""The app over real HTTP: health with dependency checks, problem details, request ids, dev trigger."""

import httpx

from tests.helpers import live_server
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
