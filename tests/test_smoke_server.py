"""The live server fixture serves the real app over HTTP."""

import httpx


def test_healthz_over_real_http(server):
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["db"] == "ok" and body["bucket"] == "ok"
    assert response.headers["x-request-id"]
