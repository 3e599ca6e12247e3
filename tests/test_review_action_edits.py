"""What a browser posts is what the reviewer meant: untouched drafts are not edits, CRLF reasons fit their
maxlength, a refused action form keeps the reviewer's text, and two tabs on the sign-in page both sign in.
Pure logic directly; form behaviour over real HTTP and in Debian's headless Chromium (Playwright)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
import pytest

from handlers.review.actions import Refused, form_values
from handlers.review.login import (
    LOGIN_TOKEN_REUSE,
    LOGIN_TOKEN_SECONDS,
    login_token_age,
    new_login_token,
)
from handlers.review.payload_text import describe_payload
from tests.browser_support import sign_in_browser
from tests.helpers import TEST_REVIEWER
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_review_item,
    hidden,
    seed_reference,
    sign_in,
)
from worker.decisions import DecisionError, _reason, apply_edits

# A drafted body ends with its sign-off's newline (collection SIGN_OFF, dispute templates keep_trailing_newline).
DRAFT = dict(COLLECTION_EMAIL, body=COLLECTION_EMAIL["body"] + "\n")
REASON = ("Line of reason text.\n" * 48)[:1000]  # 1000 characters as a browser counts them, 47 of them newlines


def as_posted(text: str) -> str:
    """A textarea's text as a browser submits it: line ends as CRLF (and the leading newline eaten)."""
    return text.replace("\n", "\r\n")


# --- pure -------------------------------------------------------------------------------------------------------

def test_an_untouched_draft_ending_in_a_newline_is_no_edit_and_keeps_its_text():
    payload, changed = apply_edits(DRAFT, {"subject": DRAFT["subject"], "body": as_posted(DRAFT["body"]).rstrip()})
    assert changed == [] and payload == DRAFT
    payload, changed = apply_edits(DRAFT, {"body": "  " + DRAFT["body"].replace("\n", "\r") + "  "})  # lone CRs
    assert changed == [] and payload["body"].endswith("GFS AR\n")
    payload, changed = apply_edits(DRAFT, {"body": as_posted("Hello,\n\nOne invoice is past due.\n")})
    assert changed == ["body"] and payload["body"] == "Hello,\n\nOne invoice is past due."


def test_edit_limits_match_the_forms_maxlength():
    assert apply_edits(DRAFT, {"subject": "s" * 200})[1] == ["subject"]
    with pytest.raises(DecisionError, match="subject is longer than 200 characters"):
        apply_edits(DRAFT, {"subject": "s" * 201})
    long_subject = dict(DRAFT, subject="s" * 250)  # as drafted, longer than a reviewer may type: still approvable
    assert apply_edits(long_subject, {"subject": "s" * 250})[1] == []
    lines = as_posted("x\n" * 10_000)  # 20,000 characters as the textarea counts them, 30,000 as posted
    assert apply_edits(DRAFT, {"body": lines})[1] == ["body"]
    with pytest.raises(DecisionError, match="body is longer than 20000 characters"):
        apply_edits(DRAFT, {"body": lines + "xx"})


def test_a_reason_is_measured_and_stored_with_newlines_as_the_browser_counts_them():
    assert _reason(as_posted(REASON)) == REASON.strip() and "\r" not in _reason("a\rb\r\nc")
    assert _reason("a\rb\r\nc") == "a\nb\nc"
    with pytest.raises(DecisionError, match="longer than 1000"):
        _reason(as_posted(REASON) + "x" * 30)


def test_form_values_keep_a_refused_post_unless_the_action_changed_since():
    row = {"id": 7, "updated_at": "v2", "payload": DRAFT, "view": describe_payload("collection_email", DRAFT)}
    assert form_values(row, None) == {"fields": {"subject": DRAFT["subject"], "body": DRAFT["body"]},
                                      "version": "v2", "reason": "", "unsaved": [], "refused": False}
    posted = {"subject": "", "body": "My rewrite", "note": "not a field here"}
    again = form_values(row, Refused(7, posted, "too early", "v2"))
    assert again["fields"] == {"subject": "", "body": "My rewrite"} and again["version"] == "v2"
    assert again["reason"] == "too early" and again["unsaved"] == [] and again["refused"]
    assert form_values(row, Refused(8, posted, "", "v2")) == form_values(row, None)  # another action's form
    stale = form_values(row, Refused(7, {"subject": DRAFT["subject"], "body": "My rewrite"}, "", "v1"))
    assert stale["fields"]["body"] == DRAFT["body"] and stale["version"] == "v2"  # no blind overwrite
    assert stale["unsaved"] == [("body", "My rewrite")]


def test_login_tokens_say_when_they_were_made_and_cannot_be_forged():
    key, other = b"k" * 32, b"o" * 32
    token = new_login_token(key, 1_000)
    assert login_token_age(key, token, 1_000) == 0 and login_token_age(key, token, 4_600) == 3_600
    assert new_login_token(key, 1_000) != token  # a fresh nonce each time
    nonce = token.split(".")[0]
    for bad in (None, "", nonce, token + "x", token.replace(".1000.", ".2000."), new_login_token(other, 1_000)):
        assert login_token_age(key, bad, 1_000) is None
    assert login_token_age(key, token, 999) is None  # made in the future


# --- over real HTTP ---------------------------------------------------------------------------------------------

def action_row(server, action_id):
    return tuple(server.run(server.env.db.fetchone(
        "SELECT status, payload_json, created_at, updated_at, decision_reason FROM proposed_actions WHERE id = ?",
        (action_id,))))


def version(page: str, action_id: int) -> str:
    return re.search(rf'id="action-{action_id}".*?name="version" value="([^"]*)"', page, re.DOTALL).group(1)


def test_saving_or_approving_an_untouched_draft_changes_nothing_and_it_can_still_be_redrafted(server):
    first, second = server.run(server.env.db.write(lambda conn: (
        seed_reference(conn), add_action(conn, "send_collection_email", DRAFT),
        add_action(conn, "send_collection_email", DRAFT))[1:]))
    client = sign_in(server.url)
    page = client.get("/review/actions").text
    untouched = {"csrf": client.csrf, "subject": DRAFT["subject"], "body": as_posted(DRAFT["body"]).rstrip()}
    saved = client.post(f"/review/actions/{first}", data={**untouched, "op": "save", "version": version(page, first)})
    assert "nothing to save: the text is unchanged" in client.get(saved.headers["location"]).text
    _, payload, created, updated, _ = action_row(server, first)
    assert json.loads(payload) == DRAFT and updated == created  # workflow_runner.REDRAFT still redrafts it
    client.post(f"/review/actions/{second}", data={**untouched, "op": "approve", "version": version(page, second)})
    status, payload, *_ = action_row(server, second)
    assert status == "approved" and json.loads(payload)["body"] == DRAFT["body"]
    events = server.run(server.env.db.fetchall("SELECT type, payload_json FROM events WHERE entity_type = ?",
                                               ("proposed_action",)))
    assert [(kind, json.loads(body)["edited"]) for kind, body in events] == [("action.approved", [])]


def test_a_refused_action_form_comes_back_as_posted_with_a_422(server):
    email = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                         add_action(conn, "collection_email", DRAFT))[1]))
    client = sign_in(server.url)
    seen = version(client.get("/review/actions").text, email)
    refused = client.post(f"/review/actions/{email}", data={
        "csrf": client.csrf, "version": seen, "op": "approve", "subject": " ", "body": "My <b>careful</b> rewrite"})
    assert refused.status_code == 422 and f"Action {email}: subject cannot be empty" in refused.text
    assert ">My &lt;b&gt;careful&lt;/b&gt; rewrite</textarea>" in refused.text and version(refused.text, email) == seen
    assert 'maxlength="200"' in refused.text and 'maxlength="20000"' in refused.text
    reject = client.post(f"/review/actions/{email}", data={
        "csrf": client.csrf, "version": seen, "op": "reject", "reason": " ", "subject": "Kept", "body": "Kept too"})
    assert reject.status_code == 422 and 'name="subject" value="Kept"' in reject.text and ">Kept too<" in reject.text
    assert action_row(server, email)[:2] == ("staged", json.dumps(DRAFT))


def test_two_loads_of_the_sign_in_page_share_one_token_so_either_form_signs_in(server):
    client = httpx.Client(base_url=server.url)
    first, second = client.get("/review/login"), client.get("/review/login")
    assert hidden(first.text, "csrf") == hidden(second.text, "csrf") == client.cookies["gfs_login"]
    assert "gfs_login" not in second.headers.get("set-cookie", "")  # reused, not overwritten
    for page in (first, second):  # the second tab signs in after the first did
        response = client.post("/review/login", data={"csrf": hidden(page.text, "csrf"), "username": TEST_REVIEWER[0],
                                                       "password": TEST_REVIEWER[1]})
        assert response.status_code == 303 and "gfs_review=" in response.headers["set-cookie"]


def test_an_old_or_foreign_sign_in_token_gets_a_fresh_form_not_a_dead_end(server):
    now = server.env.clock()
    client = httpx.Client(base_url=server.url)
    old = client.get("/review/login")
    server.env.clock = lambda: now + timedelta(seconds=LOGIN_TOKEN_REUSE + 1)
    renewed = client.get("/review/login")  # too old to show again: half its hour gone
    assert hidden(renewed.text, "csrf") == renewed.cookies["gfs_login"] != hidden(old.text, "csrf")
    server.env.clock = lambda: now + timedelta(seconds=LOGIN_TOKEN_SECONDS + 1)  # the old page's hour is up
    expired = httpx.post(server.url + "/review/login", cookies={"gfs_login": old.cookies["gfs_login"]},
                         data={"csrf": hidden(old.text, "csrf"), "username": "mike", "password": TEST_REVIEWER[1],
                               "next": "/review/actions"})
    assert expired.status_code == 403 and "The sign-in form had expired; sign in again." in expired.text
    assert 'value="mike"' in expired.text and hidden(expired.text, "next") == "/review/actions"
    assert "gfs_review" not in expired.headers.get("set-cookie", "") and TEST_REVIEWER[1] not in expired.text
    fresh = hidden(expired.text, "csrf")
    assert fresh == expired.cookies["gfs_login"] != hidden(old.text, "csrf")
    retried = httpx.post(server.url + "/review/login", cookies={"gfs_login": fresh},
                         data={"csrf": fresh, "username": "mike", "password": TEST_REVIEWER[1], "next": "/review/actions"})
    assert retried.status_code == 303 and retried.headers["location"] == "/review/actions"
    forged = httpx.post(server.url + "/review/login", cookies={"gfs_login": "attacker-chosen"},
                        data={"csrf": "attacker-chosen", "username": "mike", "password": TEST_REVIEWER[1]})
    assert forged.status_code == 403 and "gfs_review" not in forged.headers.get("set-cookie", "")


# --- in Chromium ------------------------------------------------------------------------------------------------

def signed_in_page(browser, server):
    page = browser.new_context().new_page()
    sign_in_browser(page, server.url)
    return page


def submit(page, selector):
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


@pytest.mark.browser
def test_in_chromium_a_refused_action_keeps_the_rewrite_and_an_untouched_draft_is_no_edit(server, browser):
    email, draft, reason = server.run(server.env.db.write(lambda conn: (
        seed_reference(conn), *(add_action(conn, "send_collection_email", DRAFT) for _ in range(3)))[1:]))
    page = signed_in_page(browser, server)
    page.goto(server.url + "/review/actions")
    card = f"#action-{email}"
    page.fill(f"{card} textarea[name=body]", "A long careful rewrite\nof the body.")
    page.fill(f"{card} input[name=subject]", " ")
    submit(page, f"{card} button[value=approve]")
    assert page.locator(".notice").inner_text() == f"Action {email}: subject cannot be empty"
    assert page.input_value(f"{card} textarea[name=body]") == "A long careful rewrite\nof the body."
    page.fill(f"{card} input[name=subject]", "Rewritten")
    submit(page, f"{card} button[value=approve]")
    status, payload, *_ = action_row(server, email)
    assert status == "approved" and json.loads(payload)["body"] == "A long careful rewrite\nof the body."
    # Untouched: Save says so and Approve records no edit (the browser posts CRLF, without the final newline).
    submit(page, f"#action-{draft} button[value=save]")
    assert "nothing to save" in page.locator(".notice").inner_text()
    submit(page, f"#action-{draft} button[value=approve]")
    status, payload, *_ = action_row(server, draft)
    assert status == "approved" and json.loads(payload)["body"] == DRAFT["body"]
    edited = server.run(server.env.db.fetchone("SELECT payload_json FROM events WHERE type = 'action.approved' "
                                               "AND entity_id = ?", (str(draft),)))[0]
    assert json.loads(edited)["edited"] == []
    assert page.get_attribute(f"#action-{reason} input[name=reason]", "maxlength") == "1000"
    assert page.get_attribute(f"#action-{reason} textarea[name=body]", "maxlength") == "20000"


@pytest.mark.browser
def test_in_chromium_a_1000_character_reason_with_newlines_is_taken_and_stored_with_lf(server, browser):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))[1]))
    page = signed_in_page(browser, server)
    page.goto(f"{server.url}/review/orders/{item}")
    page.fill("textarea[name=reason]", REASON)
    assert page.evaluate("document.querySelector('textarea[name=reason]').value.length") == 1000  # its maxlength
    submit(page, ".reject button")
    status, stored = server.run(server.env.db.fetchone(
        "SELECT status, decision_reason FROM review_items WHERE id = ?", (item,)))
    assert status == "rejected" and stored == REASON.strip()


@pytest.mark.browser
def test_in_chromium_two_tabs_on_the_sign_in_page_both_sign_in(server, browser):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))[1]))
    context = browser.new_context()
    tabs = [context.new_page(), context.new_page()]
    tabs[0].goto(f"{server.url}/review/orders/{item}")  # a session that ended under two open tabs
    tabs[1].goto(server.url + "/review/actions")
    for tab, landing in zip(tabs, (f"/review/orders/{item}", "/review/actions"), strict=True):
        tab.fill("input[name=username]", TEST_REVIEWER[0])
        tab.fill("input[name=password]", TEST_REVIEWER[1])
        submit(tab, "button[type=submit]")
        assert tab.url == server.url + landing and tab.locator(".error").count() == 0
        if tab is tabs[0]:  # the order is typed into before the second tab signs in
            tab.fill("input[name=l1_item]", "CHS-MOZZ-LMPS")
            tab.check("input[name=c0_off]")
            tab.fill("input[name=memo]", "dock 4")
    # The second sign-in kept the session, so the first tab's form (and its token) still approves.
    submit(tabs[0], "#approve button.primary")
    assert tabs[0].url == server.url + "/review/orders" and "queued for NetSuite" in tabs[0].inner_text(".notice")
    status, memo = server.run(server.env.db.fetchone(
        "SELECT r.status, json_extract(a.payload_json, '$.memo') FROM review_items r JOIN proposed_actions a "
        "ON a.review_item_id = r.id WHERE r.id = ?", (item,)))
    assert status == "approved" and memo.startswith("dock 4")
