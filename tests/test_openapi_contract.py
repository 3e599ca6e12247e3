"""/schema/openapi.json is the API contract (SPEC 3.3): each operation documents exactly the codes it answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from handlers.inbound_email import ACCEPTED_TYPES
from handlers.proposed_actions import STAGED_AS
from tests.cdc_support import customer, event, post_events
from tests.helpers import TEST_INTAKE_TOKEN, LiveServer
from tests.review_seed import sign_in
from worker.app import create_app
from worker.auth import COOKIE
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


AUTH = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}"}
# A valid value for each required query parameter, so a probe reaches the parameter it is about.
REQUIRED = {"q": "Driscoll"}


def query_parameters(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, parameter) for every documented query parameter."""
    return [(path, p) for path, ops in schema["paths"].items() for op in ops.values()
            for p in op.get("parameters", []) if p["in"] == "query"]


def get(server: LiveServer, path: str, **params: Any) -> httpx.Response:
    query = {name: value for name, value in {**REQUIRED, **params}.items() if value is not None}
    return httpx.get(server.url + path, params=query, headers=AUTH, timeout=30)


def test_documented_integer_bounds_are_exact_and_the_servers(schema: dict[str, Any], server: LiveServer) -> None:
    """Each documented minimum and maximum is an integer the server takes, and one beyond it is a 400
    (the cursor's maximum was the float 2**63, which the server refused; the search's limit had none)."""
    bounded = {(path, p["name"]): p["schema"] for path, p in query_parameters(schema)
               if p["schema"].get("type") == "integer"}
    assert set(bounded) == {("/api/review-items", "limit"), ("/api/review-items", "cursor"),
                            ("/api/proposed-actions", "limit"), ("/api/proposed-actions", "cursor"),
                            ("/api/customers", "limit")}
    for (path, name), bounds in bounded.items():
        low, high = bounds.get("minimum"), bounds.get("maximum")
        assert type(low) is int and type(high) is int, (path, name, bounds)  # not a float (nor a bool)
        for value, status in ((low, 200), (high, 200), (low - 1, 400), (high + 1, 400)):
            response = get(server, path, **{name: value})
            assert response.status_code == status, (path, name, value, response.text)
    assert bounded[("/api/review-items", "cursor")]["maximum"] == 2**63 - 1
    assert (bounded[("/api/customers", "limit")]["minimum"], bounded[("/api/customers", "limit")]["maximum"]) == (1, 50)


def test_the_search_query_is_documented_as_required_and_bounded(schema: dict[str, Any], server: LiveServer) -> None:
    q = next(p for path, p in query_parameters(schema) if path == "/api/customers" and p["name"] == "q")
    assert q["required"] is True and "default" not in q["schema"]
    assert (q["schema"]["minLength"], q["schema"]["maxLength"]) == (1, 100)
    assert get(server, "/api/customers", q=None).status_code == 400  # absent: as documented, not optional
    assert get(server, "/api/customers", q="x" * 100).status_code == 200
    assert re.search(q["schema"]["pattern"], "   ") is None  # only whitespace: the pattern wants a non-space
    for refused in ("x" * 101, "   "):
        assert get(server, "/api/customers", q=refused).status_code == 400


def check_values(table: str) -> list[str]:
    """The statuses schema.sql allows in a table (its CHECK constraint)."""
    block = (REPO / "schema.sql").read_text().split(f"CREATE TABLE IF NOT EXISTS {table} (", 1)[1].split(");", 1)[0]
    found = re.search(r"status\s+TEXT NOT NULL CHECK \(status IN \(([^)]*)\)\)", block)
    assert found, table
    return re.findall(r"'([^']*)'", found.group(1))


@pytest.mark.parametrize(("path", "table"), [("/api/review-items", "review_items"),
                                             ("/api/proposed-actions", "proposed_actions")])
def test_status_filters_list_their_choices(schema: dict[str, Any], server: LiveServer, path: str, table: str) -> None:
    """The status filter's choices are the table's statuses ("" for all): each is taken, anything else is a 400."""
    status = next(p for at, p in query_parameters(schema) if at == path and p["name"] == "status")
    assert status["schema"]["enum"] == ["", *check_values(table)]
    for value in status["schema"]["enum"]:
        assert get(server, path, status=value).status_code == 200, value
    assert get(server, path, status="bogus").status_code == 400


def proposals() -> list[dict[str, Any]]:
    """One valid proposal of each kind (the customer ones name a customer the mirror may not hold)."""
    return [
        {"kind": "propose_create_customer", "companyName": "Openapi Foods", "email": "ap@openapi.example",
         "creditLimit": 5000, "address": {"addr1": "1 Main St", "city": "Springfield"}},
        {"kind": "propose_credit_hold", "customer_id": "1187", "reason": "120 days past due"},
        {"kind": "propose_collection_call", "customer_id": "1187", "note": "call about INV-1",
         "due_date": "2026-12-01"},
        {"kind": "propose_collection_email", "customer_id": "1187", "to": ["ap@driscoll.example"], "subject": "Overdue",
         "body": "Please pay.", "invoices": ["77"]},
        {"kind": "propose_pricing_review", "customer_id": "1187", "item_id": "EGG-15DZ", "note": "below cost",
         "quoted_price": "12.50"},
    ]


def body_schema(schema: dict[str, Any], path: str, media_type: str = "application/json") -> dict[str, Any]:
    body = schema["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    return body["content"][media_type]["schema"]  # type: ignore[no-any-return]


def test_the_proposal_body_is_documented(schema: dict[str, Any], server: LiveServer) -> None:
    """The five kinds, as the server validates them: valid ones pass the schema, refused ones fail it."""
    documented = body_schema(schema, "/api/proposed-actions")
    assert sorted(b["properties"]["kind"]["const"] for b in documented["oneOf"]) == sorted(STAGED_AS)
    validator = jsonschema.Draft202012Validator(documented)
    for proposal in proposals():
        assert not list(validator.iter_errors(proposal)), proposal
    for wrong in ({**proposals()[0], "extra": 1}, {"kind": "propose_nothing"}, {**proposals()[1], "reason": ""}):
        assert list(validator.iter_errors(wrong)), wrong
        refused = httpx.post(server.url + "/api/proposed-actions", json=wrong, headers=AUTH, timeout=30)
        assert refused.status_code == 422, refused.text
    staged = httpx.post(server.url + "/api/proposed-actions", json=proposals()[0], headers=AUTH, timeout=30)
    assert staged.status_code == 201, staged.text


def test_the_webhook_and_email_bodies_are_documented(schema: dict[str, Any], server: LiveServer) -> None:
    one = event("sn-1", "customer", "1187", "2026-11-20T14:03:11Z", customer("1187", "Driscoll Foods"), "create")
    validator = jsonschema.Draft202012Validator(body_schema(schema, "/api/ns-webhook"))
    for body in (one, {"events": [one]}):
        assert not list(validator.iter_errors(body)), body
    for wrong in ({"events": [one], **one}, {"events": {}}, {**one, "operation": "upsert"}):
        assert list(validator.iter_errors(wrong)), wrong
    assert post_events(httpx, server.url, one).status_code == 200
    assert post_events(httpx, server.url, [{**one, "event_id": "sn-2"}]).status_code == 200
    email = schema["paths"]["/api/inbound-email"]["post"]["requestBody"]
    assert email["required"] is True and list(email["content"]) == list(ACCEPTED_TYPES) == ["message/rfc822"]


def header_parameters(schema: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in schema["paths"][path]["post"].get("parameters", []) if p["in"] == "header"}


def test_headers_the_handlers_read_are_documented(schema: dict[str, Any], server: LiveServer) -> None:
    webhook = header_parameters(schema, "/api/ns-webhook")
    assert sorted(webhook) == ["webhook-id", "webhook-signature", "webhook-timestamp"]
    assert all(p["required"] for p in webhook.values())
    key = header_parameters(schema, "/api/proposed-actions")["Idempotency-Key"]
    assert key["required"] is False and (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 128)
    body = {**proposals()[0], "companyName": "Keyed Foods"}
    for value, status in (("k" * 128, 201), ("k" * 129, 422)):
        response = httpx.post(server.url + "/api/proposed-actions", json=body, timeout=30,
                              headers={**AUTH, "Idempotency-Key": value})
        assert response.status_code == status, response.text


def probe(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    """A request to an operation that gets past its parameters and body to its authentication."""
    url = path.replace("{ns_id}", "1187")
    if method == "GET":
        return client.get(url, params=REQUIRED if path == "/api/customers" else None, headers=headers)
    if path == "/api/inbound-email":
        return client.post(url, content=b"Subject: hi\r\n\r\nhello\r\n",
                           headers={**headers, "Content-Type": "message/rfc822"})
    return client.post(url, json={**proposals()[0], "companyName": f"Probe {len(headers)}"}, headers=headers)


def test_security_is_documented_as_the_routes_authenticate(schema: dict[str, Any], server: LiveServer) -> None:
    """Bearer INTAKE_TOKEN and the review session cookie are security schemes; an operation lists bearer when it
    takes the token, the session when it takes the cookie, and answers 401 without either."""
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == schemes["bearer"] | {"type": "http", "scheme": "bearer"}
    assert schemes["reviewSession"] == schemes["reviewSession"] | {"type": "apiKey", "in": "cookie", "name": COOKIE}
    session = sign_in(server.url)
    anonymous = httpx.Client(base_url=server.url, timeout=30)
    secured = 0
    for method, path in sorted(ANSWERS):
        if path in ("/healthz", "/api/ns-webhook"):  # open, and signed by headers (documented above)
            assert "security" not in schema["paths"][path][method.lower()]
            continue
        accepts = {name for requirement in schema["paths"][path][method.lower()]["security"] for name in requirement}
        assert "bearer" in accepts, (method, path)
        assert probe(anonymous, method, path, {}).status_code == 401, (method, path)
        assert probe(anonymous, method, path, AUTH).status_code in (200, 201, 202, 404), (method, path)
        with_cookie = probe(session, method, path, {}).status_code
        assert (with_cookie != 401) == ("reviewSession" in accepts), (method, path, with_cookie)
        secured += 1
    assert secured == 6
