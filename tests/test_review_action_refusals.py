"""An action form sent after the action was closed (by another reviewer, a workflow, the warm tick) is refused
with who, when and why, and keeps the reviewer's text; a double submit still just redirects. Deciding, saving or
a refusal keeps the list's filters and page. Over real HTTP against the live server; the pure helpers directly."""

from __future__ import annotations

import re

import pytest

from cron.aging import action_plans, refresh_aging
from handlers.review.actions import Refused, double_submit, page_url
from tests import ar_fixtures as fx
from tests import test_stale_plans as sp
from tests.review_seed import COLLECTION_EMAIL, add_action, seed_reference, sign_in
from worker.decisions import decide_action
from worker.env import iso

UTC_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
REWRITE = "Hello Maria,\n\nA long careful rewrite of the body.\n\nThank you,\nGFS AR"


def version(page: str, action_id: int) -> str:
    return re.search(rf'id="action-{action_id}".*?name="version" value="([^"]*)"', page, re.DOTALL).group(1)


def card(page: str, action_id: int) -> str | None:
    found = re.search(rf'<article class="card action" id="action-{action_id}">.*?</article>', page, re.DOTALL)
    return found and found.group(0)


def notice(page: str) -> str | None:
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', page, re.DOTALL)
    return found and found.group(1)


def ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="card action" id="action-(\d+)"', page)]


def older(page: str) -> str | None:
    found = re.search(r'<a href="([^"]*)">Older', page)
    return found and found.group(1).replace("&amp;", "&")


def row(server, action_id: int) -> tuple:
    return tuple(server.run(server.env.db.fetchone(
        "SELECT status, decided_by, decision_reason, payload_json FROM proposed_actions WHERE id = ?", (action_id,))))


@pytest.fixture
def email(server) -> int:
    return server.run(server.env.db.write(lambda c: (seed_reference(c), add_action(c, "collection_email",
                                                                                   COLLECTION_EMAIL))[1]))


def decide_as(server, reviewer: str, action_id: int, approve: bool, seen: str, reason: str | None = None) -> None:
    """Another person's decision, made as their own form would (worker.decisions)."""
    server.run(server.env.db.write(decide_action, action_id, reviewer, approve, iso(server.env.clock()), seen=seen,
                                   reason=reason))


# --- a form for an action closed since the page was loaded -------------------------------------------------------

def test_rejected_by_someone_else_comes_back_422_with_who_when_why_and_the_rewrite(server, email):
    mike = sign_in(server.url)
    page = mike.get("/review/actions").text
    decide_as(server, "anna", email, False, version(page, email), reason="wrong contact <b>")
    before = row(server, email)
    form = {"csrf": mike.csrf, "version": version(page, email), "subject": "My subject", "body": REWRITE}
    refused = mike.post(f"/review/actions/{email}", data={**form, "op": "approve"})
    # Was: 303 to the staged list, "already rejected by anna at 2026-…T…Z; nothing changed", the card and the
    # rewrite gone and the reason nowhere.
    assert refused.status_code == 422
    assert re.search(rf"Action {email}: rejected by anna at {UTC_TIME}, before your form was sent: wrong contact "
                     r"&lt;b&gt;\. Nothing was saved or decided", notice(refused.text))
    shown = card(refused.text, email)
    assert shown and ids(refused.text) == [email]  # the closed action's card, though only staged ones are listed
    assert re.search(r'<p class="meta">rejected by anna at \d{4}-\d\d-\d\d \d\d:\d\d UTC: wrong contact &lt;b&gt;</p>',
                     shown)
    assert "Your text, not saved (the action was rejected after you loaded the page)" in shown
    assert "<pre>My subject</pre>" in shown and "A long careful rewrite of the body." in shown
    assert row(server, email) == before
    for op, extra in (("save", {}), ("reject", {"reason": "my own reason"})):
        again = mike.post(f"/review/actions/{email}", data={**form, "op": op, **extra})
        assert again.status_code == 422 and "rejected by anna" in notice(again.text)
        assert "A long careful rewrite of the body." in card(again.text, email)
    assert "<dt>Reason</dt><dd><pre>my own reason</pre></dd>" in card(again.text, email)
    assert row(server, email) == before


def test_superseded_by_the_warm_tick_while_editing_is_refused_naming_the_plan(server):
    env = server.env
    server.run(sp.driscoll(env))
    email, call = server.run(sp.planned(env))
    mike = sign_in(server.url)
    page = mike.get("/review/actions").text
    server.run(fx.write(env, fx.update_invoice, "9002", amount_remaining=1_000.0))  # partly paid: the plan is redrawn
    server.run(refresh_aging(env, sp.at("2026-05-31", 12, 15)))
    server.run(action_plans(env, sp.at("2026-05-31", 12, 15)))
    assert row(server, email["id"])[:2] == ("rejected", "ar_aging_action_plan")
    refused = mike.post(f"/review/actions/{email['id']}", data={
        "csrf": mike.csrf, "version": version(page, email["id"]), "op": "approve",
        "subject": "Rewritten subject", "body": REWRITE})
    assert refused.status_code == 422
    assert re.search(rf"rejected by ar_aging_action_plan at {UTC_TIME}, before your form was sent: superseded by "
                     r"plan \w+: INV9002 .* was partly paid", notice(refused.text))
    assert "Rewritten subject" in card(refused.text, email["id"])
    rejected = mike.post(f"/review/actions/{call['id']}", data={  # the call has no text to edit, only a reason
        "csrf": mike.csrf, "version": version(page, call["id"]), "op": "reject", "reason": "Maria asked us to wait"})
    assert rejected.status_code == 422 and "<pre>Maria asked us to wait</pre>" in card(rejected.text, call["id"])
    # the redrawn plan is listed too, under the refused card
    assert ids(rejected.text)[0] == call["id"] and len(ids(rejected.text)) == 3


def test_a_double_submit_still_redirects_but_another_tabs_rewrite_is_kept(server, email):
    mike = sign_in(server.url)
    page = mike.get("/review/actions").text
    form = {"csrf": mike.csrf, "version": version(page, email), "op": "approve", "subject": "Two invoices past 60",
            "body": COLLECTION_EMAIL["body"].replace("\n", "\r\n")}
    assert mike.post(f"/review/actions/{email}", data=form).status_code == 303
    again = mike.post(f"/review/actions/{email}", data=form)  # the same form sent twice: nothing of it is lost
    assert again.status_code == 303 and again.headers["location"] == "/review/actions"
    assert re.search(rf"this action was already approved by mike at {UTC_TIME}; nothing changed",
                     mike.get("/review/actions").text)
    # the same reviewer's other tab, loaded at the same version, with a rewrite: that text would be lost
    other_tab = mike.post(f"/review/actions/{email}", data={**form, "body": REWRITE})
    assert other_tab.status_code == 422 and "A long careful rewrite" in card(other_tab.text, email)
    rejected = mike.post(f"/review/actions/{email}", data={**form, "op": "reject", "reason": "no"})
    assert rejected.status_code == 422 and "approved by mike" in notice(rejected.text)


def test_a_double_submitted_rejection_after_an_edit_redirects(server, email):
    mike = sign_in(server.url)
    seen = version(mike.get("/review/actions").text, email)
    mike.post(f"/review/actions/{email}", data={"csrf": mike.csrf, "version": seen, "op": "save", "subject": "Edited"})
    form = {"csrf": mike.csrf, "version": version(mike.get("/review/actions").text, email), "op": "reject",
            "reason": "paid\r\nthis morning ", "subject": "Edited", "body": REWRITE}
    assert mike.post(f"/review/actions/{email}", data=form).status_code == 303
    assert mike.post(f"/review/actions/{email}", data=form).status_code == 303  # from the edited version
    stale = mike.post(f"/review/actions/{email}", data={**form, "version": seen})  # the page before the edit
    assert stale.status_code == 422


def test_double_submit_is_the_same_reviewer_decision_version_and_text():
    closed = {"decided_by": "mike", "status": "approved", "decision_reason": None,
              "payload_json": '{"subject": "S", "body": "B\\n", "to": ["x"]}'}
    posted = Refused(1, {"subject": "S", "body": "B\r\n"}, "", "V1")
    assert double_submit(closed, "V1", "mike", "approve", posted)
    assert double_submit(dict(closed, status="executed"), "V1", "mike", "approve", posted)
    assert not double_submit(closed, "V1", "anna", "approve", posted)
    assert not double_submit(closed, "V0", "mike", "approve", posted)
    assert not double_submit(closed, "V1", "mike", "reject", posted)
    assert not double_submit(closed, "V1", "mike", "save", posted)
    assert not double_submit(closed, "V1", "mike", "approve", Refused(1, {"body": "Other"}, "", "V1"))
    assert not double_submit(closed, None, "mike", "approve", Refused(1, {}, "", ""))
    rejected = dict(closed, status="rejected", decision_reason="paid")
    assert double_submit(rejected, "V1", "mike", "reject", Refused(1, {"body": "edits are not kept"}, " paid ", "V1"))
    assert not double_submit(rejected, "V1", "mike", "reject", Refused(1, {}, "other reason", "V1"))


# --- filters and page ---------------------------------------------------------------------------------------------

def test_page_url_keeps_the_filters_and_the_anchor_asked_for():
    plain = {"status": "staged", "kind": "", "customer": "", "cursor": 0}
    assert page_url(plain) == "/review/actions" and page_url(plain, 7) == "/review/actions#action-7"
    held = {"status": "staged", "kind": "service_hold", "customer": "2201", "cursor": 22}
    assert page_url(held, 7) == "/review/actions?kind=service_hold&customer=2201&cursor=22#action-7"
    assert page_url({"status": "rejected", "kind": "a&b", "customer": "", "cursor": 0}) == \
        "/review/actions?status=rejected&kind=a%26b"


@pytest.fixture
def two_kinds(server):
    def seed(conn):
        seed_reference(conn)
        for i in range(40):
            add_action(conn, "call_task", {"note": f"call {i}"}, customer_id="1187")
            add_action(conn, "service_hold", {"reason": f"hold {i}"}, customer_id="2201")
    server.run(server.env.db.write(seed))
    return sign_in(server.url)


FILTERED = "/review/actions?kind=service_hold&customer=2201"


def test_deciding_saving_and_refusals_keep_the_filtered_page(server, two_kinds):
    client = two_kinds
    calls = "/review/actions?kind=call_task&customer=1187"
    first = client.get(calls).text
    assert older(first) == "/review/actions?status=staged&kind=call_task&customer=1187&cursor=21"
    second = client.get(older(first)).text
    assert ids(second) == list(range(19, 0, -2))
    form = {"csrf": client.csrf, "status": "staged", "kind": "call_task", "customer": "1187", "cursor": "21"}
    assert re.search(r'name="kind" value="call_task">.*name="cursor" value="21">', card(second, 19), re.DOTALL)
    # Was: every redirect went to the bare staged list (page 1, all kinds), and a refusal showed default filters.
    approved = client.post("/review/actions/19", data={**form, "op": "approve", "version": version(second, 19)})
    assert approved.status_code == 303 and approved.headers["location"] == calls + "&cursor=21"
    saved = client.post("/review/actions/17", data={**form, "op": "save", "note": "x", "version": version(second, 17)})
    assert saved.status_code == 303 and saved.headers["location"] == calls + "&cursor=21#action-17"
    first_page = client.post("/review/actions/3", data={**form, "cursor": "", "op": "save", "note": "y",
                                                         "version": version(second, 3)})
    assert first_page.headers["location"] == calls  # saved, but not on the first page: no anchor to jump to
    blank = client.post("/review/actions/15", data={**form, "op": "reject", "reason": "", "version": version(second, 15)})
    assert blank.status_code == 422 and ids(blank.text) == list(range(17, 0, -2))
    assert '<option selected>Call task</option>' in blank.text and 'name="customer" value="1187" size' in blank.text
    assert older(blank.text) is None and '<a href="/review/actions?status=staged&amp;kind=call_task&amp;customer=1187">' \
        '« Newest</a>' in blank.text


def test_a_refused_card_put_in_front_leaves_the_older_link_as_listed(server, two_kinds):
    client = two_kinds
    first = client.get(FILTERED).text
    decide_as(server, "anna", 80, True, version(first, 80))
    form = {"csrf": client.csrf, "kind": "service_hold", "customer": "2201", "op": "approve",
            "version": version(first, 80), "reason": ""}
    refused = client.post("/review/actions/80", data=form)
    assert refused.status_code == 422 and "approved by anna" in notice(refused.text)
    # Was: next_cursor taken after the refused card was put in front (31 rows): no Older link, 30 listed rows lost one.
    shown = ids(refused.text)
    assert shown[0] == 80 and shown[1:] == list(range(78, 18, -2)) and len(shown) == 31
    assert older(refused.text) == "/review/actions?status=staged&kind=service_hold&customer=2201&cursor=20"


@pytest.mark.parametrize("field, value", [("status", "bogus"), ("cursor", "-1"), ("cursor", "9223372036854775808"),
                                          ("cursor", "٣")])
def test_a_forged_filter_field_is_a_400_and_nothing_is_done(server, email, field, value):
    client = sign_in(server.url)
    seen = version(client.get("/review/actions").text, email)
    response = client.post(f"/review/actions/{email}", data={"csrf": client.csrf, "op": "approve", "version": seen,
                                                             field: value})
    assert response.status_code == 400 and field in response.text
    assert row(server, email)[0] == "staged"
