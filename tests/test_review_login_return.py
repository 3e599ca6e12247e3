"""A reviewer whose session ended comes back, after signing in, to the exact page and query string they asked for
(the Actions tab's filters and page kept), or for a form sent after it ended to the page the form was on; the
post-sign-in target stays a same-site path under /review. Over real HTTP, and in headless Chromium."""

from __future__ import annotations

import html
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest

from handlers.review.web import MAX_NEXT, safe_next, signin_next
from tests.browser_support import sign_in_browser
from tests.helpers import TEST_REVIEWER
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    hidden,
    seed_reference,
    sign_in,
)
from worker.env import utcnow

NAME, PASSWORD = TEST_REVIEWER
# A filtered, paged Actions list: a customer with a space and an ampersand, a kind, a status, a cursor.
FILTERED = "/review/actions?status=staged&kind=call_task&customer=Driscoll%20%26%20Sons&cursor=5"
STATUS = "SELECT status FROM proposed_actions WHERE id = ?"


@pytest.fixture
def expired(server):
    """A browser (cookie jar) whose review session has just run past its 12 hours, and one staged action."""
    action = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                          add_action(conn, "call_task", {"note": "call"}))[1]))
    now = utcnow()
    server.env.clock = lambda: now
    client = sign_in(server.url)
    server.env.clock = lambda: now + timedelta(hours=12, seconds=1)
    return server, client, action


def next_of(login_page: str) -> str:
    """The sign-in form's hidden `next`, as the browser sends it (HTML entities decoded)."""
    return html.unescape(hidden(login_page, "next"))


def sign_in_via(client: httpx.Client, redirect: httpx.Response) -> httpx.Response:
    """Follow a redirect to the sign-in page and submit it as a browser would; the sign-in's 303."""
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/review/login?next="), redirect.text
    page = client.get(redirect.headers["location"])
    assert page.status_code == 200
    done = client.post("/review/login", data={"csrf": hidden(page.text, "csrf"), "username": NAME,
                                              "password": PASSWORD, "next": next_of(page.text)})
    assert done.status_code == 303, done.text
    return done


@pytest.mark.parametrize("cookie", ["expired", "missing"])
def test_a_filtered_actions_url_opened_without_a_live_session_comes_back_with_its_filters(expired, cookie):
    _server, client, _action = expired
    if cookie == "missing":
        client.cookies.delete("gfs_review")
    asked = client.get(FILTERED)
    assert asked.headers["location"] == f"/review/login?next={quote(FILTERED, safe='')}"
    done = sign_in_via(client, asked)
    assert done.headers["location"] == FILTERED
    back = client.get(done.headers["location"])
    assert back.status_code == 200 and '<option selected>Call task</option>' in back.text
    assert 'name="customer" value="Driscoll &amp; Sons"' in back.text


def test_a_form_sent_after_the_session_ended_returns_to_the_filtered_list_it_was_on(expired):
    server, client, action = expired
    form = {"csrf": client.csrf, "op": "reject", "reason": "no", "status": "staged", "kind": "call_task",
            "customer": "Driscoll & Sons", "cursor": "5", "version": "x"}
    sent = client.post(f"/review/actions/{action}", data=form, headers={"Referer": server.url + FILTERED})
    done = sign_in_via(client, sent)
    assert done.headers["location"] == FILTERED
    assert server.run(server.env.db.fetchone(STATUS, (action,)))[0] == "staged"  # the POST is not replayed


@pytest.mark.parametrize(("referer", "page"), [
    (None, "/review/actions"),  # no Referer (stripped by the browser or a proxy): the form's page, unfiltered
    ("http://evil.example" + FILTERED, "/review/actions"),  # another site's: ignored
    ("{url}/review/orders?status=pending", "/review/actions"),  # a page this form is not on: ignored
    ("{url}/review/actions/{action}", "/review/actions"),  # the form's own POST-only address (a 422 shown there)
    ("{url}/review/actions", "/review/actions"),
    ("{url}/review/actions?" + "k=v&" * 1100, "/review/actions"),  # too long: the page without its query
    ("not a url at all", "/review/actions"),
], ids=lambda v: repr(v)[:40])
def test_a_form_s_return_page_takes_only_the_query_of_a_same_site_referer_on_that_page(expired, referer, page):
    server, client, action = expired
    headers = {"Referer": referer.format(url=server.url, action=action)} if referer else {}
    sent = client.post(f"/review/actions/{action}", data={"csrf": client.csrf, "op": "reject", "reason": "no"},
                       headers=headers)
    assert sent.headers["location"] == f"/review/login?next={quote(page, safe='')}"


@pytest.mark.parametrize("target", [
    "/review", "/review/actions", FILTERED, "/review/orders/7?find=caf%C3%A9", "/review?x=1",
    "/review/actions?customer=" + "%E2%82%AC" * 32,
])
def test_same_site_review_paths_are_kept_exactly(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "review", "/", "/orders", "//evil.example", "//evil.example/review", "/\\evil.example",
    "/review\\..\\evil", "https://evil.example/review", "http:/review", "javascript:alert(1)", "/reviewer",
    "/review.evil.example", "/review@evil.example", "/review\r\nSet-Cookie: a=b", "/review/actions\n",
    "/review/actions\r", "/review\t/x", "/review\x00", "/review\x7f", "/review?" + "a" * MAX_NEXT,
    " /review", "\t/review",
], ids=lambda t: repr(t)[:40])
def test_anything_else_goes_to_the_queue(target):
    assert safe_next(target) == "/review"


def test_an_overlong_query_is_left_out_rather_than_the_page():
    long_query = "customer=" + "a" * MAX_NEXT
    assert signin_next("GET", "/review/actions", long_query) == "/review/actions"
    assert signin_next("GET", "/review/actions", "kind=x") == "/review/actions?kind=x"


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example/review",
                                    "/review\r\nSet-Cookie: a=b", "/review?" + "a" * MAX_NEXT], ids=lambda t: repr(t)[:40])
def test_the_sign_in_page_and_form_refuse_an_unsafe_next(server, target):
    client = httpx.Client(base_url=server.url)
    page = client.get("/review/login", params={"next": target})
    assert page.status_code == 200 and next_of(page.text) == "/review"
    done = client.post("/review/login", data={"csrf": hidden(page.text, "csrf"), "username": NAME,
                                              "password": PASSWORD, "next": target})
    assert done.status_code == 303 and done.headers["location"] == "/review"


# ---- in Chromium: what a reviewer does ----

@pytest.mark.browser
def test_in_chromium_a_reload_and_a_form_after_the_session_ended_keep_the_actions_filters(server, browser):
    calls = server.run(server.env.db.write(lambda conn: (seed_reference(conn), [
        add_action(conn, "call_task", {"note": f"call {i}"}, customer_id="2201") for i in range(32)])[1]))
    server.run(server.env.db.write(lambda conn: add_action(conn, "collection_email", COLLECTION_EMAIL)))
    now = utcnow()
    server.env.clock = lambda: now
    context = browser.new_context()
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(server.url + "/review/actions?kind=call_task&customer=2201")
    page.click("text=Older »")  # the second page: the cursor is in the URL too
    page.wait_for_url("**cursor=*")
    filtered = page.url

    def sign_in_again() -> None:
        page.wait_for_url("**/review/login?next=*")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=username]", NAME)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    server.env.clock = lambda: now + timedelta(hours=12, seconds=1)
    page.reload()
    sign_in_again()
    assert page.url == filtered and page.locator("select[name=kind]").input_value() == "Call task"
    # The session ends again while a card on this page is open: Reject goes to the sign-in, then back here.
    server.env.clock = lambda: now + timedelta(hours=24, seconds=2)
    page.fill(f"#action-{calls[0]} input[name=reason]", "not needed")
    page.click(f"#action-{calls[0]} button[value=reject]")
    sign_in_again()
    assert page.url == filtered and page.locator(f"#action-{calls[0]}").is_visible()
    assert server.run(server.env.db.fetchone(STATUS, (calls[0],)))[0] == "staged"  # the form was not applied
    context.close()
