"""An approve post with a damaged row or charge count (a hand-made post: `n` or `cn` not a whole number) for an
order decided since its page was loaded: the order is shown as decided, nothing done (422), as for any other post
of its form; it was a 400 naming the count, before the order's status was read. An order still pending keeps the
400 naming the count (or the 422 with the limit for a count too large). Over real HTTP."""

from __future__ import annotations

import pytest

from tests.test_review_decided_since import (  # noqa: F401  (order: the live server with one PO, signed in)
    STALE,
    TYPED,
    assert_shown_as_decided,
    decide_as_anna,
    order,
    state,
)
from tests.test_review_orders import approve_form

DAMAGED = [{"n": "lots"}, {"n": "-1"}, {"n": "9" * 5000}, {"cn": "²"}, {"n": "lots", "csrf": STALE},
           {"n": "lots", "add_rows": "1"}, {"cn": "x", "search": "1"}]
DAMAGED_IDS = ["n-word", "n-negative", "n-5000-digits", "cn-superscript", "n-stale-token", "n-add-rows",
               "cn-search"]


@pytest.mark.parametrize("decision", ["approved", "rejected"])
@pytest.mark.parametrize("damage", [*DAMAGED, {"n": "99999999"}], ids=[*DAMAGED_IDS, "n-past-limit"])
def test_a_damaged_approve_post_for_an_order_decided_since_shows_it_decided(order, decision, damage):  # noqa: F811
    server, item, client = order
    form = approve_form(client, item, **TYPED)
    decide_as_anna(server, item, decision)
    before = state(server, item)
    again = client.post(f"/review/orders/{item}/approve", data={**form, **damage})
    assert again.status_code == 422, again.text[:300]  # was 400, naming the count
    assert_shown_as_decided(again.text, decision)
    assert state(server, item) == before


@pytest.mark.parametrize("damage", DAMAGED, ids=DAMAGED_IDS)
def test_a_damaged_approve_post_for_a_pending_order_is_still_a_400_naming_the_count(order, damage):  # noqa: F811
    server, item, client = order
    before = state(server, item)
    refused = client.post(f"/review/orders/{item}/approve", data={**approve_form(client, item, **TYPED), **damage})
    assert refused.status_code == 400, refused.text[:300]
    field = "n (the number of rows" if "n" in damage else "cn (the number of charges"
    assert f"{field} on the form): must be a whole number" in refused.text
    assert state(server, item) == before and before[0][0] == "pending"


def test_a_row_count_past_the_limit_for_a_pending_order_is_still_a_422_naming_it(order):  # noqa: F811
    server, item, client = order
    refused = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, n="99999999"))
    assert refused.status_code == 422
    assert "the order has 99,999,999 rows; at most 500 can be approved from this page" in refused.text
    assert state(server, item)[0][0] == "pending"
