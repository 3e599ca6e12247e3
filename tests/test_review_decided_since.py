"""An order decided (approved or rejected, by someone else) after its page was loaded: whatever that page's form then
posts to Approve (a stale token's form, Search, Add rows, a refused approval) or Reject, the answer shows the order
as decided, by whom and when, with nothing done (422): never the form as that page had it. A valid approval posted
again is still a double submit (303, "already approved"). Over real HTTP; the message itself directly."""

from __future__ import annotations

import html
import re

import pytest

from handlers.review.orders import decided_since
from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in
from tests.test_review_orders import approve_form
from worker.decisions import approve_order, reject_order
from worker.env import iso
from worker.netsuite_shape import ReviewedOrder

STALE = "A" * 43  # shaped as our tokens (an earlier sign-in's), not this session's
TYPED = {"l1_item": "MY-TYPED-ITEM", "l0_qty": "7", "memo": "dock <4>", "reason": "typed reason"}
ANNAS = ReviewedOrder.model_validate({
    "customer_id": "1187", "po_number": "DF-40412", "tran_date": "2026-11-19", "memo": "approved by anna",
    "lines": [{"line_no": 1, "item_id": "5001", "quantity": 12, "unit_price": "98.50"},
              {"line_no": 2, "item_id": "5002", "quantity": 20, "unit_price": "61.00"}]})


@pytest.fixture
def order(server):
    """One open order and a signed-in client (mike)."""
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                        add_review_item(conn, parsed=parsed_po()))[1]))
    return server, item, sign_in(server.url)


def decide_as_anna(server, item: int, decision: str) -> None:
    """Anna's decision, made meanwhile as her own form would (worker.decisions)."""
    now = iso(server.env.clock())
    if decision == "approved":
        server.run(server.env.db.write(approve_order, item, "anna", ANNAS, now))
    else:
        server.run(server.env.db.write(reject_order, item, "anna", "a copy of DF-40411", now))


def state(server, item: int) -> tuple:
    return (tuple(server.run(server.env.db.fetchone(
        "SELECT status, decided_by, decision_reason, updated_at FROM review_items WHERE id = ?", (item,)))),
        server.run(server.env.db.fetchone("SELECT count(*) FROM proposed_actions"))[0],
        server.run(server.env.db.fetchone("SELECT count(*) FROM customer_item_xref"))[0])


def errors(page: str) -> list[str]:
    found = re.search(r'<ul class="error" role="alert">(.*?)</ul>', page, re.DOTALL)
    return [html.unescape(e) for e in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []


def assert_shown_as_decided(page: str, decision: str) -> None:
    assert "MY-TYPED-ITEM" not in page and "dock &lt;4&gt;" not in page  # was: the posted form
    assert re.fullmatch(rf"Nothing was done: this order was {decision} by anna at \d{{4}}-\d\d-\d\d \d\d:\d\d UTC "
                        r"after this form was loaded\. It is shown as decided, not as the form had it\.",
                        " | ".join(errors(page))), errors(page)
    assert f"This order was {decision} by anna" in page and "Approve → sales order" not in page
    if decision == "approved":  # the sales order anna approved, not the PO as read
        assert 'class="notice approved-action"' in page and 'name="memo" value="approved by anna"' in page
        assert 'name="l1_item" value="CHS-MOZZ-LMPS"' in page
    else:
        assert 'name="l1_item" value=""' in page  # the PO as read: its line 2 matched no item


@pytest.mark.parametrize("decision", ["approved", "rejected"])
@pytest.mark.parametrize("posted", [
    {"csrf": STALE},  # the case found: a form from an earlier sign-in came back as posted, for a closed order
    {"csrf": STALE, "add_rows": "1"},
    {"customer_id": ""},  # a refused approval (customer and line 2's item)
    {"add_rows": "1"}, {"add_charge": "1"}, {"search": "1", "find": "melt"},
], ids=["stale-token", "stale-add-rows", "refused", "add-rows", "add-charge", "search"])
def test_an_approve_post_for_an_order_decided_since_shows_it_decided(order, decision, posted):
    server, item, client = order
    form = approve_form(client, item, **TYPED)
    decide_as_anna(server, item, decision)
    before = state(server, item)
    again = client.post(f"/review/orders/{item}/approve", data={**form, **posted})
    assert again.status_code == 422, again.text
    assert_shown_as_decided(again.text, decision)
    assert state(server, item) == before


@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_a_stale_rejection_of_an_order_decided_since_says_so(order, decision):
    server, item, client = order
    form = approve_form(client, item, csrf=STALE, **TYPED)
    decide_as_anna(server, item, decision)
    before = state(server, item)
    refused = client.post(f"/review/orders/{item}/reject", data=form)
    # It was shown as decided already; the message said "It is shown again as you sent it".
    assert refused.status_code == 422 and "shown again as you sent it" not in refused.text
    assert_shown_as_decided(refused.text, decision)
    assert state(server, item) == before


def test_a_valid_approval_of_an_order_decided_since_is_a_double_submit(order):
    server, item, client = order
    form = approve_form(client, item, l1_item="CHS-MOZZ-LMPS")
    decide_as_anna(server, item, "rejected")
    again = client.post(f"/review/orders/{item}/approve", data=form)
    assert again.status_code == 303 and again.headers["location"] == f"/review/orders/{item}"
    page = client.get(again.headers["location"]).text
    assert "this order was already rejected by anna at" in page and "This order was rejected by anna" in page
    assert "Approve → sales order" not in page
    assert state(server, item)[0][:2] == ("rejected", "anna")


@pytest.mark.parametrize(("item", "said"), [
    ({"status": "approved", "decided_by": "anna", "decided_at": "2026-11-20T14:05:09.123Z"},
     "this order was approved by anna at 2026-11-20 14:05 UTC after"),
    ({"status": "rejected", "decided_by": None, "decided_at": None}, "this order was rejected after"),
])
def test_decided_since_names_who_and_when_if_known(item, said):
    assert said in decided_since(item)
