"""/schema/openapi.json is the API contract (SPEC 3.3): each operation documents exactly the codes it answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import TEST_INTAKE_TOKEN, LiveServer
from worker.app import create_app
from worker.config import Secrets, load_settings
from worker.env import build_env

REPO = Path(__file__).resolve().parent.parent
# Every status each operation can answer (500, an unexpected error, is the one left undocumented). 503 is a
# dependency down: the database (any route that reads or writes it), a secret not configured, the bucket or disk.
# 400 on a route with parameters is Litestar's own validation (its schema adds it whenever there are any).
ANSWERS = {
    ("GET", "/healthz"): {200, 503},
    ("POST", "/api/ns-webhook"): {200, 400, 401, 408, 413, 422, 503},  # 408: worker/body_timeout.py, any body
    ("POST", "/api/inbound-email"): {202, 400, 401, 408, 413, 415, 503},
    ("POST", "/api/proposed-actions"): {200, 201, 401, 408, 409, 413, 422, 503},
    ("GET", "/api/proposed-actions"): {200, 400, 401, 503},
    ("GET", "/api/review-items"): {200, 400, 401, 503},
    ("GET", "/api/customers"): {200, 400, 401, 503},
    ("GET", "/api/customers/{ns_id}"): {200, 400, 401, 404, 503},
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The app's OpenAPI document, built in-process (building the app opens nothing: no bucket needed)."""
    tmp = tmp_path_factory.mktemp("openapi")
    settings = load_settings(REPO / "wrangler-like.toml", environ={
        "WORKER_DB_PATH": str(tmp / "gfs.sqlite3"), "WORKER_S3_ENDPOINT": "http://127.0.0.1:1",
        "WORKER_S3_BUCKET": "openapi"})
    return create_app(build_env(settings, Secrets.from_environ({}))).openapi_schema.to_schema()


def test_every_operation_is_in_the_contract(schema: dict[str, Any]) -> None:
    documented = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert documented == set(ANSWERS)


@pytest.mark.parametrize("operation", sorted(ANSWERS), ids=" ".join)
def test_documented_codes_are_the_answered_ones(schema: dict[str, Any], operation: tuple[str, str]) -> None:
    method, path = operation
    responses = schema["paths"][path][method.lower()]["responses"]
    assert {int(code) for code in responses} == ANSWERS[operation]
    for code, response in responses.items():
        if int(code) >= 400 and operation != ("GET", "/healthz"):  # /healthz's 503 is its own body, ok false
            assert "application/problem+json" in response.get("content", {}), (code, response)


def test_an_oversized_proposal_is_413_naming_the_limit(server: LiveServer) -> None:
    limit = server.env.settings.limits.api_body_bytes
    response = httpx.post(server.url + "/api/proposed-actions", content=b" " * (limit + 1), timeout=30,
                          headers={"Authorization": f"Bearer {TEST_INTAKE_TOKEN}", "Content-Type": "application/json"})
    assert response.status_code == 413
    assert f"exceeds the limit of {limit} bytes" in response.json()["detail"]
