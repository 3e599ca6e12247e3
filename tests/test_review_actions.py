"""Actions and Observations tabs over real HTTP: readable payloads, edit, approve, reject, bulk triage."""

from __future__ import annotations

import base64
import json
import re
from types import SimpleNamespace

import pytest

from handlers.review.payload_text import describe_payload
from handlers.review.web import NOTICE_COOKIE, redirect_with_notice
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    seed_reference,
    sign_in,
)
from worker.auth import session_key, unsign


@pytest.fixture
def staged(server):
    def seed(conn):
        seed_reference(conn)
        email = add_action(conn, "collection_email", COLLECTION_EMAIL)
        call = add_action(conn, "call_task", {"note": "Call Driscoll AP about INV-88121", "phone": "201-555-0100"})
        hold = add_action(conn, "service_hold", {"reason": "90+ days past due", "amount": 14220.18})
        observations = [add_observation(conn, f"Observation {i}: <b>bold</b> claim") for i in range(3)]
        return email, call, hold, observations
    return server, server.run(server.env.db.write(seed)), sign_in(server.url)


def row(server, sql, params=()):
    found = server.run(server.env.db.fetchone(sql, params))
    return tuple(found) if found else None


def version(page: str, action_id: int) -> str:
    """The version (updated_at) an action's form on this page was rendered at."""
    match = re.search(rf'id="action-{action_id}".*?name="version" value="([^"]*)"', page, re.DOTALL)
    assert match, f"no version field for action {action_id}"
    return match.group(1)


def test_describe_payload_shows_an_email_as_an_email():
    view = describe_payload("collection_email", COLLECTION_EMAIL)
    assert view["is_email"] and view["headers"] == [("To", "ap@driscollfoods.com")]
    assert view["editable"] == ["subject", "body"] and view["fields"] == [("invoices", "INV-88121, INV-88140")]
    call = describe_payload("call_task", {"note": "x", "phone": "1"})
    assert describe_payload("send_collection_email", COLLECTION_EMAIL)["label"] == view["label"] == "Collection email"
    assert describe_payload("schedule_collection_call", {"note": "x"})["label"] == "Call task"
    assert not call["is_email"] and call["editable"] == ["note"] and call["label"] == "Call task"


def test_actions_page_renders_email_and_call_task(staged):
    _server, _, client = staged
    page = client.get("/review/actions")
    assert page.status_code == 200 and len(page.content) < 50_000
    assert "Collection email" in page.text and "<dt>To</dt><dd>ap@driscollfoods.com</dd>" in page.text
    assert 'name="subject" value="Past-due invoices INV-88121, INV-88140"' in page.text
    assert "Call Driscoll AP about INV-88121" in page.text and "90+ days past due" in page.text


def test_approve_collection_email_with_an_edit(staged):
    server, (email, *_), client = staged
    response = client.post(f"/review/actions/{email}", data={
        "csrf": client.csrf, "version": version(client.get("/review/actions").text, email), "op": "approve",
        "subject": "Two invoices past 60 days", "body": COLLECTION_EMAIL["body"]})
    assert response.status_code == 303
    status, payload, by = row(server, "SELECT status, payload_json, decided_by FROM proposed_actions WHERE id = ?",
                              (email,))
    assert (status, json.loads(payload)["subject"], by) == ("approved", "Two invoices past 60 days", "mike")
    assert row(server, "SELECT count(*) FROM events WHERE type = 'action.approved'") == (1,)
    again = client.post(f"/review/actions/{email}", data={"csrf": client.csrf, "op": "reject", "reason": "oops"})
    # not a double submit (another decision, from no version): refused, naming the approval, the reason kept
    assert again.status_code == 422 and "approved by mike at " in again.text and "<pre>oops</pre>" in again.text
    assert row(server, "SELECT status FROM proposed_actions WHERE id = ?", (email,)) == ("approved",)


def test_save_edit_then_reject_needs_reason(staged):
    server, (_, call, *_), client = staged
    client.post(f"/review/actions/{call}", data={"csrf": client.csrf, "op": "save", "note": "Call Dana in AP first",
                                                 "version": version(client.get("/review/actions").text, call)})
    assert json.loads(row(server, "SELECT payload_json FROM proposed_actions WHERE id = ?", (call,))[0])["note"] == \
        "Call Dana in AP first"
    blank = client.post(f"/review/actions/{call}", data={"csrf": client.csrf, "op": "reject", "reason": ""})
    assert blank.status_code == 422 and "a reason is required to reject" in blank.text
    assert row(server, "SELECT status FROM proposed_actions WHERE id = ?", (call,)) == ("staged",)
    client.post(f"/review/actions/{call}", data={"csrf": client.csrf, "op": "reject", "reason": "paid this morning",
                                                 "version": version(client.get("/review/actions").text, call)})
    assert row(server, "SELECT status, decision_reason FROM proposed_actions WHERE id = ?", (call,)) == \
        ("rejected", "paid this morning")


def test_approve_from_a_page_loaded_before_a_saved_edit_is_refused_and_keeps_the_edit(staged):
    server, (email, *_), anna = staged
    mike = sign_in(server.url)
    mikes_page = mike.get("/review/actions").text  # both reviewers have the action open
    saved = anna.post(f"/review/actions/{email}", data={
        "csrf": anna.csrf, "version": version(anna.get("/review/actions").text, email), "op": "save",
        "subject": COLLECTION_EMAIL["subject"], "body": "Corrected: one invoice past 60 days ($4,220.18)."})
    assert saved.status_code == 303
    stale = {"csrf": mike.csrf, "version": version(mikes_page, email), "subject": COLLECTION_EMAIL["subject"],
             "body": COLLECTION_EMAIL["body"]}
    refused = mike.post(f"/review/actions/{email}", data={**stale, "op": "approve", "subject": "Mike's subject"})
    assert refused.status_code == 422
    shown = refused.text
    assert re.search(rf"Action {email}: changed by mike at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC after you loaded the "
                     r"page; nothing was saved or decided. Review it again", shown)
    # The form shows the saved text at its version; what Mike posted is beside it, not lost and not in the form.
    assert "Corrected: one invoice past 60 days" in shown and version(shown, email) != stale["version"]
    assert 'name="subject" value="Past-due invoices' in shown and "Your text, not saved" in shown
    assert "Mike&#39;s subject" in shown.split('class="unsaved"')[1]
    for op in ("reject", "save"):
        mike.post(f"/review/actions/{email}", data={**stale, "op": op, "reason": "wrong amount", "body": "Other"})
    status, payload = row(server, "SELECT status, payload_json FROM proposed_actions WHERE id = ?", (email,))
    assert (status, json.loads(payload)["body"]) == ("staged", "Corrected: one invoice past 60 days ($4,220.18).")
    # Reviewed again from the current page, the approval goes through with the saved edit.
    mike.post(f"/review/actions/{email}", data={**stale, "version": version(shown, email), "op": "approve",
                                                 "body": "Corrected: one invoice past 60 days ($4,220.18)."})
    status, payload = row(server, "SELECT status, payload_json FROM proposed_actions WHERE id = ?", (email,))
    assert (status, json.loads(payload)["body"]) == ("approved", "Corrected: one invoice past 60 days ($4,220.18).")


def test_a_long_notice_is_cut_to_fit_its_signed_cookie_not_dropped(make_env):
    env = make_env()
    plain_http = SimpleNamespace(url=SimpleNamespace(scheme="http"), headers={})  # all it reads of a request
    response = redirect_with_notice(plain_http, env, "/review/actions", "é" * 200)  # 400 bytes; over 256 refused
    token = next(c.value for c in response.cookies if c.key == NOTICE_COOKIE)
    value = unsign(session_key(env), token, "notice")
    assert value is not None and base64.urlsafe_b64decode(value).decode() == "é" * 79  # no half character


def test_action_forms_need_csrf(staged):
    server, (email, *_), client = staged
    assert client.post(f"/review/actions/{email}", data={"op": "approve"}).status_code == 403
    assert client.post("/review/observations", data={"op": "rejected", "id": "1"}).status_code == 403
    assert row(server, "SELECT status FROM proposed_actions WHERE id = ?", (email,)) == ("staged",)
    assert row(server, "SELECT count(*) FROM reflexion_log WHERE status = 'needs_review'") == (3,)


def test_observations_one_and_bulk(staged):
    server, (*_, obs), client = staged
    page = client.get("/review/observations").text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "ar_aging_action_plan" in page
    client.post("/review/observations", data={"csrf": client.csrf, "row": f"{obs[0]}:rejected"})
    response = client.post("/review/observations", data={"csrf": client.csrf, "op": "approved_for_reuse",
                                                          "id": [str(i) for i in obs]})
    assert "2 observation(s) approved for reuse; 1 had already been triaged" in client.get(response.headers["location"]).text
    statuses = dict(server.run(server.env.db.fetchall("SELECT id, status FROM reflexion_log")))
    assert statuses == {obs[0]: "rejected", obs[1]: "approved_for_reuse", obs[2]: "approved_for_reuse"}
    nothing = client.post("/review/observations", data={"csrf": client.csrf, "op": "approved_for_reuse"})
    assert nothing.status_code == 422 and "Nothing was triaged" in nothing.text  # the tab again, not an error page
