"""The order page's reject reason is part of the order form, over real HTTP: Search, Add rows, Add a charge and a
refused approval bring back the reason typed; Reject posts the lines typed, so a refused rejection brings them back.
Rejecting still needs a reason; approving ignores it."""

from __future__ import annotations

import html
import re

import pytest

from tests.review_seed import (
    add_review_item,
    hidden,
    parsed_po,
    seed_reference,
    sign_in,
)
from tests.test_review_orders import approve_form

HALF_TYPED = 'Duplicate of DF-40411 <b>&amp; "resent"</b>\r\nsee the'  # as a browser posts a textarea (CRLF)
STALE = "A" * 43  # shaped as our tokens (an earlier sign-in's), not this session's


@pytest.fixture
def order(server):
    """One open order and a signed-in client."""
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                        add_review_item(conn, parsed=parsed_po()))[1]))
    return server, item, sign_in(server.url)


def db(server, sql, params=()):
    return [tuple(r) for r in server.run(server.env.db.fetchall(sql, params))]


def reason_box(page: str) -> str:
    """The reject reason as the page shows it (unescaped; the newline after the tag is the parser's to drop)."""
    box = re.search(r'<textarea name="reason"[^>]*>\n(.*?)</textarea>', page, re.DOTALL)
    assert box, "no reason box"
    return html.unescape(box.group(1))


def status(server, item):
    return db(server, "SELECT status, decision_reason FROM review_items WHERE id = ?", (item,))[0]


@pytest.mark.parametrize("button", [{"search": "1", "find": "melt"}, {"add_rows": "1"}, {"add_charge": "1"}])
def test_the_order_forms_other_buttons_bring_the_reason_back(order, button):
    server, item, client = order
    page = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, reason=HALF_TYPED, **button))
    assert page.status_code == 200, page.text
    assert reason_box(page.text) == HALF_TYPED  # was empty: the reject form was another form, not posted
    assert "<b>" not in page.text.split('name="reason"')[1].split("</textarea>")[0]  # escaped
    assert status(server, item) == ("pending", None)


def test_a_refused_approval_keeps_the_reason_and_an_approval_ignores_it(order):
    server, item, client = order
    refused = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, customer_id="",
                                                                               reason=HALF_TYPED))
    assert refused.status_code == 422 and reason_box(refused.text) == HALF_TYPED
    # A blank reason is no reason to refuse an approval, and a typed one is not recorded by it.
    approved = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, reason=HALF_TYPED,
                                                                                l1_item="CHS-MOZZ-LMPS"))
    assert approved.status_code == 303, approved.text
    assert status(server, item) == ("approved", None)


@pytest.mark.parametrize(("csrf", "reason", "error"), [
    (None, " \r\n ", "a reason is required to reject"),
    (None, "x" * 1001, "the reason is longer than 1000 characters"),
    (STALE, "typed <reason>", "loaded under an earlier sign-in"),
], ids=["blank", "too-long", "stale-token"])
def test_a_refused_rejection_brings_back_the_lines_as_typed(order, csrf, reason, error):
    server, item, client = order
    form = approve_form(client, item, l1_item="MY-TYPED-ITEM", l0_qty="7", memo="dock <4>", reason=reason,
                        csrf=csrf or client.csrf)
    refused = client.post(f"/review/orders/{item}/reject", data=form)
    assert refused.status_code == 422 and error in html.unescape(refused.text)
    assert 'name="l1_item" value="MY-TYPED-ITEM"' in refused.text and 'name="l0_qty" value="7"' in refused.text
    assert 'name="memo" value="dock &lt;4&gt;"' in refused.text  # was the order as read: the edits were lost
    assert reason_box(refused.text) == reason and hidden(refused.text, "csrf") == client.csrf
    assert status(server, item) == ("pending", None)
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]


def test_rejecting_with_the_order_form_records_the_reason_only(order):
    server, item, client = order
    form = approve_form(client, item, l1_item="MY-TYPED-ITEM", customer_id="", reason="duplicate of DF-40411 ")
    rejected = client.post(f"/review/orders/{item}/reject", data=form)
    assert rejected.status_code == 303 and rejected.headers["location"] == "/review/orders"
    assert status(server, item) == ("rejected", "duplicate of DF-40411")
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
    assert db(server, "SELECT count(*) FROM customer_item_xref") == [(0,)]


def test_a_reject_post_without_the_form_or_with_a_damaged_count_still_works(order):
    server, item, client = order
    for extra in ({}, {"n": "lots"}):
        refused = client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "reason": "", **extra})
        assert refused.status_code == 422 and "a reason is required to reject" in refused.text  # the order as read
        assert 'name="l0_item" value="' in refused.text and "DF-40412" in refused.text
    ok = client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "n": "lots", "reason": "no"})
    assert ok.status_code == 303 and status(server, item) == ("rejected", "no")


def test_the_reason_box_and_reject_button_belong_to_the_order_form(order):
    _server, item, client = order
    page = client.get(f"/review/orders/{item}").text
    start = page.index(f'<form method="post" action="/review/orders/{item}/approve"')
    form = page[start:page.index("</form>", start)]
    assert '<textarea name="reason" rows="2" maxlength="1000">' in form  # as long as before; not `required`
    assert f'formaction="/review/orders/{item}/reject" formnovalidate>Reject</button>' in form
    assert page.count("<form ") == 2 and 'class="signout"' in page  # sign-out and the order form: no reject form
