"""The currency an order under review is booked in, against the customer's in NetSuite (audit BG)."""

from __future__ import annotations

import re

import pytest

from handlers.review.order_form import order_currency
from tests.test_review_currency import orders  # noqa: F401  (fixture)


def _warning(page: str) -> str | None:
    found = re.search(r'<p class="warn currency">(.*?)</p>', page, re.DOTALL)
    return found and found.group(1)


@pytest.mark.parametrize(("po", "customer", "warns"), [
    ("CAD", "3", False),  # SuiteQL's internal id of the customer's currency may be the PO's CAD (was a warning)
    ("USD", "3", True),  # "3" is not the base currency's id: surely not US dollars
    ("CAD", "USA", True),
    ("CAD", "EUR", True),
])
def test_a_currency_given_by_id_is_not_taken_for_another(po, customer, warns):
    assert (order_currency(po, customer).warning is not None) is warns


def test_no_false_currency_warning_for_a_customer_currency_given_by_id(orders):  # noqa: F811
    _server, add, client = orders
    item = add("CAD", "3")
    # Was: "The PO is in CAD, but this customer's currency in NetSuite is currency #3 …"
    assert _warning(client.get(f"/review/orders/{item}").text) is None
