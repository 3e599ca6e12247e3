"""Signing in again in the same browser (another tab's sign-in page, or /review/login while signed in) keeps the
reviewer's live session, so the forms open in other tabs still work; another reviewer's sign-in ends it. A form
whose token is from an earlier sign-in is shown again as posted (422), never applied and never lost. Over real HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from handlers.review.login import _settle_sessions
from tests.helpers import TEST_INTAKE_TOKEN, TEST_REVIEWER, TEST_WEBHOOK_SECRET
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_review_item,
    hidden,
    seed_reference,
)
from tests.test_review_orders import approve_form
from worker.auth import session_key, sign
from worker.config import Secrets
from worker.env import iso, utcnow

NAME, PASSWORD = TEST_REVIEWER
MEMO = "dock 4, typed by mike"
LIVE = "SELECT reviewer, expires_at FROM review_sessions WHERE ended_at IS NULL ORDER BY reviewer"


@pytest.fixture
def secrets(reviewer_hash: str) -> Secrets:
    """Two reviewers (the same password, hashed once): mike and anna."""
    return Secrets.from_environ({"NS_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET, "INTAKE_TOKEN": TEST_INTAKE_TOKEN,
                                 "REVIEW_USERS": f"{NAME}:{reviewer_hash},anna:{reviewer_hash}"})


@pytest.fixture
def seeded(server):
    """One open order and one staged collection email."""
    item, action = server.run(server.env.db.write(lambda conn: (
        seed_reference(conn), add_review_item(conn), add_action(conn, "collection_email", COLLECTION_EMAIL))[1:]))
    return server, item, action


def rows(server, sql, params=()):
    return [tuple(r) for r in server.run(server.env.db.fetchall(sql, params))]


def sign_in_from(browser: httpx.Client, page: str, user: str = NAME, next: str = "/review") -> httpx.Response:
    """Submit a sign-in page shown earlier in `browser` (a tab left open on it)."""
    response = browser.post("/review/login", data={"csrf": hidden(page, "csrf"), "username": user,
                                                   "password": PASSWORD, "next": next})
    assert response.status_code == 303, response.text
    return response


def signed_in(server, user: str = NAME) -> httpx.Client:
    browser = httpx.Client(base_url=server.url, timeout=30)
    sign_in_from(browser, browser.get("/review/login").text, user)
    return browser


def token_of(browser: httpx.Client, path: str) -> str:
    return hidden(browser.get(path).text, "csrf")


def test_two_tabs_sign_in_and_the_first_tab_s_open_form_still_approves(seeded):
    server, item, _action = seeded
    browser = httpx.Client(base_url=server.url, timeout=30)  # one browser: one cookie jar for both tabs
    tab_a, tab_b = browser.get(f"/review/login?next=/review/orders/{item}").text, browser.get("/review/login").text
    sign_in_from(browser, tab_a, next=f"/review/orders/{item}")
    browser.csrf = token_of(browser, f"/review/orders/{item}")  # tab A's order page, typed into
    form_a = approve_form(browser, item, l1_item="CHS-MOZZ-LMPS", memo=MEMO)
    first = browser.cookies["gfs_review"]
    sign_in_from(browser, tab_b, next="/review/actions")
    assert browser.cookies["gfs_review"] == first and token_of(browser, "/review/actions") == form_a["csrf"]
    approved = browser.post(f"/review/orders/{item}/approve", data=form_a)
    assert approved.status_code == 303, approved.text
    assert rows(server, "SELECT status, decided_by FROM review_items WHERE id = ?", (item,)) == [("approved", NAME)]
    assert len(rows(server, LIVE)) == 1  # no second session left open beside it


def test_signing_in_again_refreshes_the_kept_session_as_a_sign_in_would(server):
    now = utcnow()
    server.env.clock = lambda: now
    browser = signed_in(server)
    kept = browser.cookies["gfs_review"]
    server.env.clock = lambda: now + timedelta(hours=6)
    again = sign_in_from(browser, browser.get("/review/login").text)  # while signed in, at /review/login
    assert "max-age=43200" in again.headers["set-cookie"].lower() and browser.cookies["gfs_review"] == kept
    server.env.clock = lambda: now + timedelta(hours=17)  # past the first sign-in's 12 hours, within the second's
    assert browser.get("/review/orders").status_code == 200
    assert rows(server, LIVE) == [(NAME, iso(now + timedelta(hours=18)))]


def test_another_reviewer_signing_in_in_the_browser_gets_a_new_session_and_ends_the_first(server):
    browser = signed_in(server)
    mike = browser.cookies["gfs_review"]
    sign_in_from(browser, browser.get("/review/login").text, "anna")
    assert browser.cookies["gfs_review"] != mike and "anna" in browser.get("/review/orders").text
    assert [r[0] for r in rows(server, LIVE)] == ["anna"]  # one browser, one signed-in person
    left = httpx.get(server.url + "/review/orders", cookies={"gfs_review": mike})  # a copy of mike's cookie
    assert left.status_code == 303 and left.headers["location"].startswith("/review/login")


def test_a_wrong_password_leaves_the_browser_s_session_as_it_was(server):
    browser = signed_in(server)
    kept = browser.cookies["gfs_review"]
    page = browser.get("/review/login").text
    wrong = browser.post("/review/login", data={"csrf": hidden(page, "csrf"), "username": "anna", "password": "nope"})
    assert wrong.status_code == 401 and browser.cookies["gfs_review"] == kept
    assert browser.get("/review/orders").status_code == 200 and [r[0] for r in rows(server, LIVE)] == [NAME]


@pytest.mark.parametrize("cookie", ["ended", "unsigned", "signed-unknown"])
def test_only_a_live_session_of_the_reviewer_is_kept_never_one_the_client_names(server, cookie):
    browser = signed_in(server)
    if cookie == "ended":  # signed out in another tab: a kept copy of its cookie is not revived
        old = browser.cookies["gfs_review"]
        browser.post("/review/logout", data={"csrf": token_of(browser, "/review/orders")})
    elif cookie == "unsigned":
        old = "attacker-chosen-session-id"
    else:  # signed with the server's key, but no session of that id exists
        old = sign(session_key(server.env), "attacker-chosen-session-id")
    browser.cookies.delete("gfs_review")
    browser.cookies.set("gfs_review", old, domain=httpx.URL(server.url).host)  # as the server sets it
    sign_in_from(browser, browser.get("/review/login").text)
    new = browser.cookies["gfs_review"]
    assert new != old and browser.get("/review/orders").status_code == 200
    assert httpx.get(server.url + "/review/orders", cookies={"gfs_review": old}).status_code == 303


def _signed_out_and_in_again(browser: httpx.Client) -> None:
    """Another tab signs out and in: this browser's open forms now carry an ended session's token."""
    browser.post("/review/logout", data={"csrf": token_of(browser, "/review/orders")})
    sign_in_from(browser, browser.get("/review/login").text)


def test_an_order_form_from_an_ended_session_comes_back_as_typed_not_applied(seeded):
    server, item, _action = seeded
    browser = signed_in(server)
    browser.csrf = token_of(browser, f"/review/orders/{item}")
    form = approve_form(browser, item, l1_item="CHS-MOZZ-LMPS", memo=MEMO)
    _signed_out_and_in_again(browser)
    again = browser.post(f"/review/orders/{item}/approve", data=form)
    assert again.status_code == 422 and "loaded under an earlier sign-in" in again.text
    assert f'value="{MEMO}"' in again.text and 'value="CHS-MOZZ-LMPS"' in again.text
    fresh = hidden(again.text, "csrf")
    assert fresh != form["csrf"] and fresh == token_of(browser, "/review/orders")
    assert rows(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]
    assert rows(server, "SELECT count(*) FROM proposed_actions WHERE kind = 'create_sales_order'") == [(0,)]
    rejected = browser.post(f"/review/orders/{item}/reject", data={"csrf": form["csrf"], "reason": "typed <reason>"})
    assert rejected.status_code == 422 and "typed &lt;reason&gt;</textarea>" in rejected.text
    assert rows(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]
    resent = browser.post(f"/review/orders/{item}/approve", data={**form, "csrf": fresh})  # sent again from the page
    assert resent.status_code == 303, resent.text
    assert rows(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("approved",)]


def test_an_action_form_from_an_ended_session_comes_back_as_typed_not_applied(seeded):
    server, _item, action = seeded
    browser = signed_in(server)
    page = browser.get("/review/actions").text
    seen = re.search(rf'id="action-{action}".*?name="version" value="([^"]*)"', page, re.DOTALL).group(1)
    form = {"csrf": hidden(page, "csrf"), "version": seen, "op": "approve", "subject": COLLECTION_EMAIL["subject"],
            "body": "My careful rewrite"}
    _signed_out_and_in_again(browser)
    again = browser.post(f"/review/actions/{action}", data=form)
    assert again.status_code == 422 and f"Action {action}: Nothing was done" in again.text
    assert ">My careful rewrite</textarea>" in again.text and hidden(again.text, "csrf") != form["csrf"]
    assert rows(server, "SELECT status, payload_json LIKE '%rewrite%' FROM proposed_actions WHERE id = ?",
                (action,)) == [("staged", 0)]


def test_a_form_without_a_token_of_ours_is_still_refused(seeded):
    server, item, action = seeded
    browser = signed_in(server)
    for token in (None, "", "forged-token"):
        data = {"reason": "no", "op": "reject"} | ({} if token is None else {"csrf": token})
        for path in (f"/review/orders/{item}/approve", f"/review/orders/{item}/reject", f"/review/actions/{action}"):
            response = browser.post(path, data=data)
            assert response.status_code == 403 and "security token" in response.text


@pytest.mark.parametrize(("reviewer", "credential", "expires", "ended", "kept"), [
    ("mike", "c1", "2026-11-21T12:00:00.000Z", None, True),
    ("anna", "c1", "2026-11-21T12:00:00.000Z", None, False),  # someone else's: ended
    ("mike", "c0", "2026-11-21T12:00:00.000Z", None, False),  # opened with an old password
    ("mike", "c1", "2026-11-21T09:00:00.000Z", None, False),  # expired
    ("mike", "c1", "2026-11-21T12:00:00.000Z", "2026-11-21T09:30:00.000Z", False),  # signed out
])
def test_which_previous_session_a_sign_in_keeps(server, reviewer, credential, expires, ended, kept):
    insert = "INSERT INTO review_sessions (id_hash, reviewer, created_at, expires_at, ended_at, credential) " \
             "VALUES (?, ?, ?, ?, ?, ?)"

    def settle(conn):
        conn.execute(insert, ("previous", reviewer, "2026-11-21T08:00:00.000Z", expires, ended, credential))
        conn.execute(insert, ("opened", "mike", "2026-11-21T10:00:00.000Z", "2026-11-21T22:00:00.000Z", None, "c1"))
        return _settle_sessions(conn, "opened", "previous", "2026-11-21T10:00:00.000Z")

    assert server.run(server.env.db.write(settle)) is kept
    left = rows(server, "SELECT id_hash, expires_at, ended_at IS NOT NULL FROM review_sessions ORDER BY id_hash")
    if kept:  # the opened one is gone, the previous one runs to the opened one's end
        assert left == [("previous", "2026-11-21T22:00:00.000Z", 0)]
    else:  # the opened one stays, the previous one is ended
        assert left == [("opened", "2026-11-21T22:00:00.000Z", 0), ("previous", expires, 1)]
