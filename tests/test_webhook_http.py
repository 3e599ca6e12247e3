"""POST /api/ns-webhook over real HTTP against the running app (the `server` fixture)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.cdc_support import customer, event, post_events, sales_order, signed_headers
from tests.helpers import LiveServer, live_server


def rows(server: LiveServer, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in server.run(server.env.db.fetchall(sql, params))]


def nothing_stored(server: LiveServer) -> None:
    for table in ("customers", "webhook_receipts", "dead_letters", "events"):
        assert rows(server, f"SELECT count(*) FROM {table}") == [(0,)], table


CUSTOMER = event("sn-1", "customer", "1187", "2026-11-20T14:03:11Z", customer("1187", "Driscoll Foods"), "create")


def test_single_event_applies_and_replies_counts(server: LiveServer) -> None:
    response = post_events(httpx, server.url, CUSTOMER)
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": 1, "duplicate": 0, "stale": 0, "rejected": 0, "events": 1,
                               "rejected_events": []}
    assert rows(server, "SELECT company_name, terms, credit_limit, deleted_at FROM customers WHERE ns_id='1187'") == [
        ("Driscoll Foods", "Net 30", 50000.0, None)]
    assert rows(server, "SELECT type, entity_id FROM events") == [("customer.created", "1187")]


def test_duplicate_and_stale_are_counted(server: LiveServer) -> None:
    assert post_events(httpx, server.url, [CUSTOMER]).status_code == 200
    older = event("sn-0", "customer", "1187", "2026-11-19T09:00:00Z", customer("1187", "Driscoll (old)"))
    response = post_events(httpx, server.url, [CUSTOMER, older])
    assert response.status_code == 200
    assert response.json()["applied"] == 0 and response.json()["duplicate"] == 1 and response.json()["stale"] == 1
    assert rows(server, "SELECT company_name FROM customers") == [("Driscoll Foods",)]
    assert rows(server, "SELECT count(*) FROM events") == [(1,)]


def test_an_event_id_reused_for_an_edit_is_refused_by_name_not_counted_as_a_duplicate(server: LiveServer) -> None:
    assert post_events(httpx, server.url, CUSTOMER).status_code == 200
    edited = event("sn-1", "customer", "1187", "2026-11-20T15:00:00Z", customer("1187", "Driscoll Foods Inc"))
    for _ in range(2):  # the sender retries the 422: the same letter, not a second one
        response = post_events(httpx, server.url, edited)
        assert response.status_code == 422, response.text
        [refused] = response.json()["rejected_events"]
        assert refused["reason"].startswith("event_id sn-1 was already received for customer 1187 (create, "
                                            "last_modified 2026-11-20T14:03:11.000Z); this event is customer 1187 "
                                            "(update, last_modified 2026-11-20T15:00:00.000Z)")
    assert rows(server, "SELECT id, reason FROM dead_letters") == [(refused["dead_letter_id"], refused["reason"])]
    assert rows(server, "SELECT company_name FROM customers") == [("Driscoll Foods",)]
    assert post_events(httpx, server.url, CUSTOMER).json()["duplicate"] == 1  # a true retry is still a duplicate


def test_mixed_batch_applies_valid_and_dead_letters_invalid(server: LiveServer) -> None:
    bad_type = event("sn-2", "vendor", "9", "2026-11-20T14:03:11Z", {"id": "9"})
    bad_qty = event("sn-3", "salesorder", "77", "2026-11-20T14:03:11Z", sales_order("77", "1187", [("5", 1, 2.0)]))
    bad_qty["record"]["item"]["items"][0]["quantity"] = "a dozen"
    no_id = {"event_id": "sn-4", "record_type": "customer", "operation": "update", "last_modified": "2026-11-20T14:03:11Z",
             "record": {}}
    good_so = event("sn-5", "salesorder", "78", "2026-11-20T15:00:00Z", sales_order("78", "1187", [("5", 2, 3.5)]), "create")
    response = post_events(httpx, server.url, [CUSTOMER, bad_type, bad_qty, no_id, good_so])
    assert response.status_code == 422, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (body["applied"], body["rejected"], body["events"]) == (2, 3, 5)
    reasons = {r["index"]: r["reason"] for r in body["rejected_events"]}
    assert reasons[1].startswith("events[1].record_type: Input should be 'customer', 'contact'")
    assert reasons[2] == "events[2].record.item.items[0].quantity: Input should be a valid number, unable to parse string as a number"
    assert reasons[3] == "events[3].record_id: Field required"
    assert [r["event_id"] for r in body["rejected_events"]] == ["sn-2", "sn-3", "sn-4"]
    letters = rows(server, "SELECT id, source, reason, payload FROM dead_letters ORDER BY id")
    assert [(source, reason) for _, source, reason, _ in letters] == [("ns-webhook", reasons[i]) for i in (1, 2, 3)]
    assert json.loads(letters[0][3]) == bad_type
    assert [r["dead_letter_id"] for r in body["rejected_events"]] == [row[0] for row in letters]
    assert rows(server, "SELECT ns_id FROM transactions") == [("78",)]
    assert rows(server, "SELECT type FROM events ORDER BY id") == [("customer.created",), ("salesorder.created",)]
    # The sender retries the 422: the valid events are duplicates, the rejected ones keep their letters.
    again = post_events(httpx, server.url, [CUSTOMER, bad_type, bad_qty, no_id, good_so]).json()
    assert (again["duplicate"], again["rejected"]) == (2, 3)
    assert [r["dead_letter_id"] for r in again["rejected_events"]] == [row[0] for row in letters]
    assert rows(server, "SELECT count(*) FROM dead_letters") == [(3,)]


def test_unparseable_body_is_kept_whole(server: LiveServer) -> None:
    body = b'{"events": [{"event_id": "sn-1", '
    response = httpx.post(server.url + "/api/ns-webhook", content=body, headers=signed_headers(body))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("body is not valid JSON: Expecting property name enclosed in double quotes")
    assert rows(server, "SELECT source, payload FROM dead_letters") == [("ns-webhook", body)]


VALID_CUSTOMER = (b'{"event_id": "sn-1", "record_type": "customer", "record_id": "7", "operation": "update", '
                  b'"last_modified": "2026-11-20T14:03:11Z", "record": {"companyName": "Acme", "creditLimit": 50000}}')


@pytest.mark.parametrize(("body", "detail"), [
    (b'{"event_id": "sn-1", "record": {"companyName": "\\udc80"}}', "body contains an unpaired surrogate escape"),
    (b'{"event_id": ' + b"9" * 5000 + b"}", "body cannot be read: Exceeds the limit (4300 digits)"),
    (b'{"events": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "body is nested too deeply to read"),
    # Not JSON (RFC 8259) although json.loads reads them: they were applied, stored as inf and as null in raw_json.
    (VALID_CUSTOMER.replace(b"50000", b"NaN"), "body contains NaN, which is not a JSON value"),
    (VALID_CUSTOMER.replace(b"50000", b"-Infinity"), "body contains -Infinity, which is not a JSON value"),
    (VALID_CUSTOMER.replace(b"50000", b"1e400"), "body contains the number 1e400, too large to hold"),
])
def test_json_python_cannot_hold_is_a_400_not_a_500(server: LiveServer, body: bytes, detail: str) -> None:
    response = httpx.post(server.url + "/api/ns-webhook", content=body, headers=signed_headers(body))
    assert response.status_code == 400 and response.json()["detail"].startswith(detail), response.text
    assert rows(server, "SELECT payload FROM dead_letters") == [(body,)]


def test_an_event_with_a_stray_events_key_is_refused_and_kept_not_dropped(server: LiveServer) -> None:
    # It was read as an empty batch: 200 with nothing applied and nothing kept.
    body = VALID_CUSTOMER[:-1] + b', "events": []}'
    response = httpx.post(server.url + "/api/ns-webhook", content=body, headers=signed_headers(body))
    assert response.status_code == 400
    assert response.json()["detail"].startswith('body has both "events" and an event\'s event_id, record_type, '
                                                'record_id, operation, last_modified, record: send one event, or '
                                                '{"events": [...]}')
    assert rows(server, "SELECT payload FROM dead_letters") == [(body,)]


def test_wrong_shape_is_kept_whole(server: LiveServer) -> None:
    body = b'[1, 2, 3]'
    response = httpx.post(server.url + "/api/ns-webhook", content=body, headers=signed_headers(body))
    assert response.status_code == 400
    assert "body must be a JSON object" in response.json()["detail"]
    assert rows(server, "SELECT count(*) FROM dead_letters") == [(1,)]


def test_too_many_events(server: LiveServer) -> None:
    limit = server.env.settings.limits.webhook_batch_events
    events = [event(f"sn-{i}", "customer", str(i), "2026-11-20T14:03:11Z", {"id": str(i)}) for i in range(limit + 1)]
    response = post_events(httpx, server.url, events)
    assert response.status_code == 413
    assert f"batch has {limit + 1} events; the limit is {limit}" in response.json()["detail"]
    assert rows(server, "SELECT count(*) FROM customers") == [(0,)]
    assert rows(server, "SELECT count(*) FROM dead_letters") == [(1,)]


def test_body_over_the_limit_is_413_before_anything(make_env: Any) -> None:
    env = make_env()
    env.settings = env.settings.model_copy(
        update={"limits": env.settings.limits.model_copy(update={"webhook_body_bytes": 2000})})
    with live_server(env) as server:
        big = json.dumps({"events": [CUSTOMER] * 10}).encode()
        assert len(big) > 2000
        response = httpx.post(server.url + "/api/ns-webhook", content=big, headers=signed_headers(big))
        assert response.status_code == 413
        assert "exceeds the limit of 2000 bytes" in response.json()["detail"]

        def chunks() -> Any:  # no Content-Length: the streamed byte count is what is enforced
            yield big[:1000]
            yield big[1000:]

        response = httpx.post(server.url + "/api/ns-webhook", content=chunks(), headers=signed_headers(big))
        assert response.status_code == 413
        nothing_stored(server)


def _refused(server: LiveServer, headers: dict[str, str], body: bytes, message: str) -> None:
    response = httpx.post(server.url + "/api/ns-webhook", content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert message in response.json()["detail"]
    nothing_stored(server)


BODY = json.dumps(CUSTOMER).encode()


def test_forged_signature(server: LiveServer) -> None:
    forged = "whsec_" + base64.b64encode(b"attacker's guess at it!!").decode()
    _refused(server, signed_headers(BODY, secret=forged), BODY, "no valid signature")


def test_tampered_body(server: LiveServer) -> None:
    _refused(server, signed_headers(BODY), BODY.replace(b"Driscoll", b"Dxiscoll"), "no valid signature")


def test_stale_signature(server: LiveServer) -> None:
    old = datetime.now(UTC) - timedelta(minutes=6)
    _refused(server, signed_headers(BODY, at=old), BODY, "stale webhook-timestamp")


def test_future_signature(server: LiveServer) -> None:
    ahead = datetime.now(UTC) + timedelta(minutes=6)
    _refused(server, signed_headers(BODY, at=ahead), BODY, "future webhook-timestamp")


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(server: LiveServer, header: str) -> None:
    headers = signed_headers(BODY)
    del headers[header]
    _refused(server, headers, BODY, f"missing header: {header}")


def test_rotated_signatures_any_one_matches(server: LiveServer) -> None:
    old = "whsec_" + base64.b64encode(b"retired secret, rotated").decode()
    headers = signed_headers(BODY, msg_id="msg_rot")
    stale_sig = signed_headers(BODY, secret=old, msg_id="msg_rot", at=datetime.fromtimestamp(
        int(headers["webhook-timestamp"]), UTC))["webhook-signature"]
    headers["webhook-signature"] = f"{stale_sig} {headers['webhook-signature']}"
    assert httpx.post(server.url + "/api/ns-webhook", content=BODY, headers=headers).status_code == 200


def test_several_configured_secrets(make_env: Any, secrets: Any) -> None:
    new = "whsec_" + base64.b64encode(b"next quarter's secret!!!").decode()
    current = secrets.ns_webhook_secret.get_secret_value()
    env = make_env()
    env.secrets = secrets.model_copy(update={"ns_webhook_secret": type(secrets.ns_webhook_secret)(f"{new} {current}")})
    with live_server(env) as server:
        assert post_events(httpx, server.url, CUSTOMER, secret=new).status_code == 200
        assert post_events(httpx, server.url, CUSTOMER).json()["duplicate"] == 1


def test_missing_secret_is_our_503(make_env: Any, secrets: Any) -> None:
    env = make_env()
    env.secrets = secrets.model_copy(update={"ns_webhook_secret": None})
    with live_server(env) as server:
        response = post_events(httpx, server.url, CUSTOMER)
        assert response.status_code == 503
        assert response.json()["detail"] == "webhook secret not configured"
        nothing_stored(server)


def _payment(ns_id: str, customer_id: str, applied: list[tuple[str, float]]) -> dict[str, Any]:
    # NetSuite's apply lines carry `line` = the line of the document applied to: 0 for an invoice.
    return {"id": ns_id, "tranId": f"PYMT{ns_id}", "tranDate": "2026-11-20", "customer": {"id": customer_id},
            "payment": sum(amount for _, amount in applied),
            "apply": {"items": [{"doc": {"id": inv}, "line": 0, "apply": True, "amount": amount, "type": "Invoice"}
                                for inv, amount in applied] + [{"doc": {"id": "999"}, "line": 0, "apply": False}]}}


def test_a_payment_applied_to_two_invoices_keeps_both_applications(server: LiveServer) -> None:
    pay = event("sn-7", "customerpayment", "501", "2026-11-20T15:00:00Z", _payment("501", "1187", [("11", 60.0), ("12", 40.0)]))
    response = post_events(httpx, server.url, [CUSTOMER, pay])
    assert response.status_code == 200, response.text
    assert rows(server, "SELECT line_no, invoice_id, amount FROM payment_application ORDER BY line_no") == [
        (1, "11", 60.0), (2, "12", 40.0)]  # numbered by position: both `line` values are 0


REFUSE = ("CREATE TRIGGER refuse_acme BEFORE INSERT ON customers WHEN NEW.company_name = 'Refused Co' "
          "BEGIN SELECT RAISE(ABORT, 'refused by a constraint'); END")


def test_an_event_the_database_refuses_is_dead_lettered_and_the_rest_applies(server: LiveServer) -> None:
    # A constraint the data breaks (here a trigger standing in for one) must not cost the batch: the
    # refused event is named and kept, the others commit, and a replay after the fix applies it.
    server.run(server.env.db.write(lambda conn: conn.execute(REFUSE)))
    refused = event("sn-8", "customer", "1188", "2026-11-20T14:05:00Z", customer("1188", "Refused Co"), "create")
    so = event("sn-9", "salesorder", "78", "2026-11-20T15:00:00Z", sales_order("78", "1187", [("5", 2, 3.5)]), "create")
    response = post_events(httpx, server.url, [CUSTOMER, refused, so])
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["applied"], body["rejected"]) == (2, 1)
    [rejection] = body["rejected_events"]
    assert (rejection["index"], rejection["event_id"]) == (1, "sn-8")
    assert rejection["reason"] == "could not be written: IntegrityError: refused by a constraint"
    [(letter, reason, payload)] = rows(server, "SELECT id, reason, payload FROM dead_letters")
    assert (letter, reason) == (rejection["dead_letter_id"], rejection["reason"])
    # A replayable event, its time to the microsecond (the version key's), so a replay orders where it did.
    assert json.loads(payload) == {**refused, "last_modified": "2026-11-20T14:05:00.000000Z"}
    assert rows(server, "SELECT ns_id FROM customers") == [("1187",)]
    assert rows(server, "SELECT event_id FROM webhook_receipts ORDER BY event_id") == [("sn-1",), ("sn-9",)]

    env = {**os.environ, "WORKER_DB_PATH": str(server.env.settings.db.path)}
    still = subprocess.run([sys.executable, "-m", "worker.cli", "replay-dead-letters"], capture_output=True, text=True,
                           env=env, timeout=120)  # before the fix: refused again, so the letter stays pending
    assert "refused by a constraint" in still.stdout + still.stderr, still.stdout + still.stderr
    assert rows(server, "SELECT replayed_at, attempts FROM dead_letters") == [(None, 1)]
    server.run(server.env.db.write(lambda conn: conn.execute("DROP TRIGGER refuse_acme")))  # the fix
    done = subprocess.run([sys.executable, "-m", "worker.cli", "replay-dead-letters"], capture_output=True, text=True,
                          env={**os.environ, "WORKER_DB_PATH": str(server.env.settings.db.path)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"dead letter {letter}: replayed: applied 1" in done.stdout
    assert rows(server, "SELECT ns_id, company_name FROM customers ORDER BY ns_id") == [
        ("1187", "Driscoll Foods"), ("1188", "Refused Co")]
