"""POST /api/proposed-actions and the JSON twins over real HTTP: auth, 422 messages, staging, filters."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.ar_fixtures import invoice, update_invoice
from tests.helpers import TEST_INTAKE_TOKEN
from tests.review_seed import add_action, add_review_item, seed_reference, sign_in
from worker.decisions import DecisionError, decide_action

AUTH = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}"}
CUSTOMER = {"kind": "propose_create_customer", "companyName": "Bayside Bistro LLC", "email": "ap@baysidebistro.com",
            "phone": "+1 (201) 555-0199", "terms": "Net 30", "creditLimit": 15000,
            "address": {"addr1": "12 Harbor Way", "city": "Hoboken", "state": "NJ", "zip": "07030"},
            "note": "Asked for a trade account on the phone"}


@pytest.fixture
def api(server):
    server.run(server.env.db.write(seed_reference))
    return server, httpx.Client(base_url=server.url, timeout=30)


def post(client, body, headers=AUTH):
    return client.post("/api/proposed-actions", content=json.dumps(body), headers={**headers,
                                                                                  "Content-Type": "application/json"})


def test_create_customer_is_staged_for_review(api):
    server, client = api
    response = post(client, CUSTOMER)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "create_customer" and body["status"] == "staged" and not body["duplicate"]
    kind, status, source, payload = server.run(server.env.db.fetchone(
        "SELECT kind, status, source, payload_json FROM proposed_actions WHERE id = ?", (body["id"],)))
    assert (kind, status, source) == ("create_customer", "staged", "api")
    stored = json.loads(payload)
    assert stored["companyName"] == "Bayside Bistro LLC" and stored["address"]["country"] == "US"
    assert stored["creditLimit"] == "15000"  # Decimal kept exact as text
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM events WHERE type = 'action.proposed'"))[0] == 1
    # It shows up on the Actions tab for a reviewer.
    page = sign_in(server.url).get("/review/actions").text
    assert "New customer" in page and "Bayside Bistro LLC" in page


def test_possible_duplicate_customer_is_pointed_out(api):
    _, client = api
    body = post(client, {**CUSTOMER, "companyName": "driscoll foods"}).json()
    items = client.get("/api/proposed-actions", headers=AUTH).json()["items"]
    assert next(i for i in items if i["id"] == body["id"])["payload"]["possible_duplicate_of"] == ["1187"]


def test_idempotency_key_stages_once(api):
    server, client = api
    first = post(client, CUSTOMER, {**AUTH, "Idempotency-Key": "chat-42"})
    second = post(client, CUSTOMER, {**AUTH, "Idempotency-Key": "chat-42"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"] and second.json()["duplicate"]
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM proposed_actions"))[0] == 1


def test_idempotency_key_reused_with_a_different_body_is_409_and_kept(api):
    server, client = api
    hold = {"kind": "propose_credit_hold", "customer_id": "1187", "reason": "90+ days"}
    call = {"kind": "propose_collection_call", "customer_id": "2201", "note": "call them about INV-9"}
    first = post(client, hold, {**AUTH, "Idempotency-Key": "k1"})
    assert first.status_code == 201
    # The same request spelled differently (key order, spacing, blanks the model strips) is still a retry.
    retry = client.post("/api/proposed-actions", content=b'{ "reason": " 90+ days", "customer_id": "1187",'
                        b' "kind": "propose_credit_hold" }', headers={**AUTH, "Idempotency-Key": "k1"})
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"] and retry.json()["duplicate"]
    second = post(client, call, {**AUTH, "Idempotency-Key": "k1"})
    assert second.status_code == 409, second.text
    problem = second.json()
    assert second.headers["content-type"].startswith("application/problem+json")
    message = (f"'k1' was already used for proposed action {first.json()['id']} with a different request body; "
               "send a new key for a new proposal")
    assert problem["errors"] == [{"field": "Idempotency-Key", "message": message}]
    assert problem["detail"] == f"conflicting proposal: Idempotency-Key: {message}"
    letter = server.run(server.env.db.fetchone("SELECT source, reason, payload FROM dead_letters WHERE id = ?",
                                               (problem["dead_letter_id"],)))
    assert (letter["source"], letter["reason"]) == ("proposed-actions", f"Idempotency-Key: {message}")
    assert json.loads(bytes(letter["payload"])) == call
    rows = server.run(server.env.db.fetchall("SELECT kind, customer_id FROM proposed_actions"))
    assert [tuple(r) for r in rows] == [("service_hold", "1187")]
    # A new key stages it.
    assert post(client, call, {**AUTH, "Idempotency-Key": "k2"}).status_code == 201


def test_a_key_staged_before_digests_were_kept_still_answers_as_a_duplicate(api):
    server, client = api
    first = post(client, CUSTOMER, {**AUTH, "Idempotency-Key": "old"}).json()
    server.run(server.env.db.write(lambda conn: conn.execute(
        "UPDATE events SET payload_json = json_remove(payload_json, '$.request_sha256'), dedupe_key = NULL"
        " WHERE type = 'action.proposed'")))
    again = post(client, {**CUSTOMER, "note": "something else"}, {**AUTH, "Idempotency-Key": "old"})
    assert again.status_code == 200 and again.json()["id"] == first["id"]


@pytest.mark.parametrize("body, field, message", [
    ({**CUSTOMER, "kind": "propose_wire_transfer"}, "kind", ("unknown kind 'propose_wire_transfer'; allowed: "
                                                            "propose_create_customer")),
    ({k: v for k, v in CUSTOMER.items() if k != "kind"}, "kind", "required; allowed:"),
    ({**CUSTOMER, "companyName": ""}, "companyName", "at least 1 character"),
    ({**CUSTOMER, "email": "not-an-email"}, "email", "should match pattern"),
    # The pattern (pydantic's Rust regex) took these; the drafts' own rule (mail_address) sends to neither.
    ({**CUSTOMER, "email": "jos\u00e9@example.com"}, "email", "is not one email address a sender can use"),
    ({"kind": "propose_collection_email", "customer_id": "1187", "to": ["ap\x1cx@driscollfoods.com"], "subject": "s",
      "body": "b"}, "to.0", "is not one email address a sender can use"),
    ({**CUSTOMER, "address": {"city": "Hoboken"}}, "address.addr1", "Field required"),
    ({**CUSTOMER, "discount": 50}, "discount", "Extra inputs are not permitted"),
    ({"kind": "propose_collection_email", "customer_id": "1187", "to": [], "subject": "s", "body": "b"}, "to",
     "at least 1 item"),
    ({"kind": "propose_collection_email", "customer_id": "1187", "to": ["ap@driscollfoods.com"],
      "subject": "Past due\r\nBcc: e@v.example", "body": "b"}, "subject", "should match pattern"),
    ({"kind": "propose_credit_hold", "customer_id": "9999", "reason": "90+ days"}, "customer_id",
     "no customer with ns_id '9999'"),
])
def test_invalid_proposals_get_422_naming_the_field(api, body, field, message):
    server, client = api
    response = post(client, body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == field and message in e["message"] for e in problem["errors"]), problem
    assert field in problem["detail"] and message in problem["detail"]
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM proposed_actions"))[0] == 0


def test_rejected_proposals_are_kept_but_never_replayed_as_changes(api):
    from worker.db import connect
    from worker.deadletters import replay_dead_letters

    server, client = api
    body = {"kind": "propose_create_customer", "companyName": "", "email": "not-an-email"}
    response = post(client, body)
    assert response.status_code == 422
    letter_id = response.json()["dead_letter_id"]
    row = server.run(server.env.db.fetchone("SELECT source, reason, payload FROM dead_letters WHERE id = ?",
                                            (letter_id,)))
    assert row["source"] == "proposed-actions" and json.loads(bytes(row["payload"])) == body
    assert response.json()["detail"].removeprefix("invalid proposal: ") == row["reason"]
    conn = connect(server.env.settings.db.path)
    try:
        assert replay_dead_letters(conn, now=lambda: "2026-11-22T00:00:00Z") == []  # pending CDC letters only
        [outcome] = replay_dead_letters(conn, letter_id=letter_id, now=lambda: "2026-11-22T00:00:00Z")
    finally:
        conn.close()
    assert outcome == {"id": letter_id, "ok": False, "state": "not replayed",
                       "result": "a proposed-actions letter is kept for the record, not replayed"}


@pytest.mark.parametrize("body, key, field, message", [
    ({"kind": "propose_credit_hold", "customer_id": "9999", "reason": "90+ days"}, None, "customer_id",
     "no customer with ns_id '9999' in the mirror"),
    ({"kind": "propose_credit_hold", "customer_id": "1187", "reason": "90+ days"}, "x" * 200, "Idempotency-Key",
     "must be 1 to 128 characters, got 200"),
    ({"kind": "propose_credit_hold", "customer_id": "1187", "reason": "90+ days"}, "", "Idempotency-Key",
     "must be 1 to 128 characters, got 0"),
])
def test_every_refused_proposal_is_kept_with_its_dead_letter_id(api, body, key, field, message):
    server, client = api
    response = post(client, body, AUTH if key is None else {**AUTH, "Idempotency-Key": key})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"] == [{"field": field, "message": message}]
    row = server.run(server.env.db.fetchone("SELECT source, reason, payload, headers_json FROM dead_letters WHERE id = ?",
                                            (problem["dead_letter_id"],)))
    assert row["source"] == "proposed-actions" and row["reason"] == f"{field}: {message}"
    assert json.loads(bytes(row["payload"])) == body
    assert json.loads(row["headers_json"] or "{}") == ({} if key is None else {"Idempotency-Key": key})
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM proposed_actions"))[0] == 0


def test_a_bad_key_and_a_bad_body_are_named_together(api):
    server, client = api
    response = post(client, {**CUSTOMER, "companyName": ""}, {**AUTH, "Idempotency-Key": "x" * 129})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key", "companyName"]
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM dead_letters"))[0] == 1


def test_not_json_is_422(api):
    _, client = api
    response = client.post("/api/proposed-actions", content=b"{nope", headers=AUTH)
    assert response.status_code == 422 and "Invalid JSON" in response.json()["detail"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TEST_INTAKE_TOKEN}])
def test_bearer_token_required(api, headers):
    server, client = api
    assert post(client, CUSTOMER, headers).status_code == 401
    assert server.run(server.env.db.fetchone("SELECT count(*) FROM proposed_actions"))[0] == 0


def test_not_configured_is_503_naming_the_setting(make_env):
    # As POST /api/inbound-email and the webhook: our configuration is missing, not the sender's credentials (401).
    from tests.helpers import live_server
    from worker.config import Secrets

    env = make_env()
    env.secrets = Secrets()
    with live_server(env) as live:
        reply = httpx.post(live.url + "/api/proposed-actions", json=CUSTOMER, headers=AUTH, timeout=30)
        staged = live.run(env.db.fetchone("SELECT count(*) FROM proposed_actions"))[0]
    assert reply.status_code == 503 and reply.headers["retry-after"] == "60"
    assert reply.json()["detail"] == "proposing actions is not configured: INTAKE_TOKEN is not set" and staged == 0


def test_json_twins_filter_and_page(api):
    server, client = api
    def seed(conn):
        for i in range(5):
            add_action(conn, "call_task", {"note": f"call {i}"}, customer_id="1187")
        add_action(conn, "collection_email", {"to": ["a@b.co"], "subject": "s", "body": "b"}, customer_id="2201")
        add_review_item(conn)
        add_review_item(conn, customer_id="2201", status="rejected")
    server.run(server.env.db.write(seed))
    page1 = client.get("/api/proposed-actions?kind=call_task&limit=3", headers=AUTH).json()
    assert [i["payload"]["note"] for i in page1["items"]] == ["call 4", "call 3", "call 2"]
    page2 = client.get(f"/api/proposed-actions?kind=call_task&limit=3&cursor={page1['next_cursor']}", headers=AUTH).json()
    assert [i["payload"]["note"] for i in page2["items"]] == ["call 1", "call 0"] and page2["next_cursor"] is None
    by_customer = client.get("/api/proposed-actions?customer_id=2201", headers=AUTH).json()["items"]
    assert [i["kind"] for i in by_customer] == ["collection_email"]
    assert client.get("/api/proposed-actions?status=bogus", headers=AUTH).status_code == 400
    assert client.get("/api/proposed-actions?limit=1000", headers=AUTH).status_code == 400
    items = client.get("/api/review-items?status=pending", headers=AUTH).json()["items"]
    assert len(items) == 1 and items[0]["parsed"]["po_number"] == "DF-40412" and items[0]["customer_name"] == "Driscoll Foods"
    # A review session works too (the page's cookie), instead of the bearer token.
    reviewer = sign_in(server.url)
    assert len(reviewer.get("/api/review-items").json()["items"]) == 2


def test_a_collection_email_names_only_invoices_owed_now_and_keeps_their_amounts(api):
    server, client = api

    def invoices(conn):
        invoice(conn, "9101", "1187", tran_date="2026-08-01", due_date="2026-08-31", total=1200.0, remaining=800.0)
        invoice(conn, "9102", "1187", tran_date="2026-08-01", due_date="2026-08-31", total=300.0, remaining=0.004)
        invoice(conn, "9103", "2201", tran_date="2026-08-01", due_date="2026-08-31", total=50.0)
        invoice(conn, "9104", "1187", tran_date="2026-08-01", due_date="2026-08-31", total=70.0, remaining_unknown=True)
        invoice(conn, "9105", "1187", tran_date="2026-08-01", due_date="2026-08-31", total=90.0,
                deleted_at="2026-11-01T00:00:00.000Z")

    server.run(server.env.db.write(invoices))
    email = {"kind": "propose_collection_email", "customer_id": "1187", "to": ["ap@driscollfoods.com"],
             "subject": "Past due", "body": "Please pay INV9101."}
    refused = post(client, {**email, "invoices": ["9101", "9102", "9103", "9104", "9105", "9199"]})
    assert refused.status_code == 422
    assert [(e["field"], e["message"]) for e in refused.json()["errors"]] == [
        ("invoices.1", "invoice 9102 is paid or closed (nothing remaining)"),
        ("invoices.2", "invoice 9103 belongs to customer 2201, not 1187"),
        ("invoices.3", "invoice 9104 has no known amount remaining (NetSuite sent none)"),
        ("invoices.4", "invoice 9105 was deleted in NetSuite"),
        ("invoices.5", "invoice 9199 is not in the mirror")]
    staged = post(client, {**email, "invoices": ["9101", "9101"]})
    assert staged.status_code == 201, staged.text
    payload = json.loads(server.run(server.env.db.fetchone(
        "SELECT payload_json FROM proposed_actions WHERE id = ?", (staged.json()["id"],)))[0])
    assert payload["invoices"] == [{"invoice_id": "9101", "number": "INV9101", "amount_remaining": 800.0}]
    assert "invoices" not in json.loads(server.run(server.env.db.fetchone(  # without the list: free text, as before
        "SELECT payload_json FROM proposed_actions WHERE id = ?", (post(client, email).json()["id"],)))[0])


def test_approving_a_proposed_email_whose_invoice_was_paid_since_is_refused(api):
    server, client = api
    server.run(server.env.db.write(lambda conn: invoice(conn, "9111", "1187", tran_date="2026-08-01",
                                                        due_date="2026-08-31", total=500.0)))
    staged = post(client, {"kind": "propose_collection_email", "customer_id": "1187", "to": ["ap@driscollfoods.com"],
                           "subject": "Past due", "body": "Please pay INV9111.", "invoices": ["9111"]}).json()
    seen = server.run(server.env.db.fetchone("SELECT updated_at FROM proposed_actions WHERE id = ?",
                                             (staged["id"],)))[0]
    server.run(server.env.db.write(lambda conn: update_invoice(conn, "9111", amount_remaining=0.0,
                                                               last_modified="2026-11-21T10:00:00.000Z")))
    with pytest.raises(DecisionError) as refused:
        server.run(server.env.db.write(decide_action, staged["id"], "mike", True, "2026-11-22T09:00:00.000Z",
                                       seen=seen))
    assert str(refused.value) == ("INV9111 was paid or closed in NetSuite since this email was drafted: approving "
                                  "it would ask for money the customer does not owe. Reject it, and propose it "
                                  "again naming what is still owed")
    assert server.run(server.env.db.fetchone("SELECT status FROM proposed_actions WHERE id = ?",
                                             (staged["id"],)))[0] == "staged"
