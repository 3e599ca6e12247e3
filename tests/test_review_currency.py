"""A purchase order in another currency on the review pages, over real HTTP: its lines have no comparable price
(the price list is in US dollars), its currency is named beside the amounts, approving carries it into the
sales order, and a PO whose currency is not the customer's own in NetSuite says so."""

from __future__ import annotations

import json
import re

import pytest

from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in
from tests.test_review_orders import approve_form, db
from worker.intake.lines import order_currency
from worker.netsuite_shape import currency_ref


def checks(page: str) -> list[str]:
    """The text of each row's price-check cell."""
    cells = re.findall(r'<td class="check">(.*?)</td>', page, re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


def eur_po(currency: str | None = "EUR") -> dict:
    parsed = parsed_po()
    parsed["currency"] = currency
    parsed["lines"][1]["item_id"] = "5002"  # both lines priced: 98.50 (customer price) and 61.00 + 3%
    return parsed


@pytest.fixture
def orders(server):
    """Reference data and a signed-in client; returns a function adding an order with the given PO currency."""
    server.run(server.env.db.write(seed_reference))

    def add(currency: str | None, customer_currency: dict | None = None) -> int:
        def write(conn):
            if customer_currency is not None:
                conn.execute("UPDATE customers SET raw_json = ? WHERE ns_id = '1187'",
                             (json.dumps({"id": "1187", "currency": customer_currency}),))
            return add_review_item(conn, parsed=eur_po(currency))
        return server.run(server.env.db.write(write))
    return server, add, sign_in(server.url)


def test_a_euro_po_is_not_price_checked_against_dollars_and_is_booked_in_euros(orders):
    server, add, client = orders
    item = add("EUR")
    page = client.get(f"/review/orders/{item}").text
    # Was: 98.50 (+0.0%) and 62.83 (+1.9%) in green, the euro prices read as dollars.
    assert 'class="ok"' not in page and 'class="bad"' not in page
    assert checks(page)[:2] == ["no comparable price: the order is in EUR; prices on file are in US dollars"] * 2
    assert "Unit price (EUR)</th>" in page and "On the PO, in EUR: subtotal 2,462.00" in page
    assert 'class="warn currency"' not in page  # the customer's currency is not mirrored: nothing to compare
    assert re.search(r'data-label="Total" class="num">EUR 2,497.00<', client.get("/review/orders").text)
    assert client.post(f"/review/orders/{item}/approve", data=approve_form(client, item)).status_code == 303
    payload = json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])
    assert payload["currency"] == {"refName": "EUR"}  # was absent: NetSuite booked it in the customer's currency


def test_a_dollar_po_is_checked_and_booked_in_dollars_with_bare_amounts(orders):
    server, add, client = orders
    item = add("USD")
    page = client.get(f"/review/orders/{item}").text
    assert checks(page)[:2] == ["98.50 (+0.0%) customer price", "62.83 (+1.9%) list plus markup"]
    assert "Unit price</th>" in page and "On the PO: subtotal" in page and "USD" not in page
    assert re.search(r'data-label="Total" class="num">2,497.00<', client.get("/review/orders").text)
    assert client.post(f"/review/orders/{item}/approve", data=approve_form(client, item)).status_code == 303
    assert json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])["currency"] == {"id": "1"}


def test_a_po_in_another_currency_than_the_customers_is_flagged(orders):
    _server, add, client = orders
    item = add("EUR", {"id": "1", "refName": "USA"})
    page = client.get(f"/review/orders/{item}").text
    assert ("The PO is in EUR, but this customer&#39;s currency in NetSuite is USD: NetSuite books the order in EUR "
            "only if the customer may buy in it, and refuses it otherwise.") in page
    assert 'class="ok"' not in page


def test_a_po_naming_no_currency_is_booked_in_the_customers_and_checked_in_it(orders):
    server, add, client = orders
    item = add(None, {"id": "4", "refName": "Euro"})
    page = client.get(f"/review/orders/{item}").text
    assert "The PO names no currency: NetSuite books the order in this customer&#39;s currency, EUR." in page
    assert checks(page)[:2] == ["no comparable price: the order is in EUR; prices on file are in US dollars"] * 2
    assert re.search(r'data-label="Total" class="num">EUR 2,497.00<', client.get("/review/orders").text)
    assert client.post(f"/review/orders/{item}/approve", data=approve_form(client, item)).status_code == 303
    assert "currency" not in json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])


@pytest.mark.parametrize(("po", "customer", "booked", "shown", "warns"), [
    ("USD", "USA", "USD", None, False),  # the same dollars, however NetSuite names them
    ("EUR", "EUR", "EUR", "EUR", False),
    ("eur", "EUR", "eur", "EUR", False),
    ("EUR", "USA", "EUR", "EUR", True),
    ("USD", "Euro", "USD", None, True),  # a dollar PO for a euro customer: NetSuite would refuse or it is misread
    (None, None, None, None, False),
    (None, "US Dollar", "US Dollar", None, False),
])
def test_order_currency(po, customer, booked, shown, warns):
    found = order_currency(po, customer)
    assert (found.booked, found.shown, found.warning is not None) == (booked, shown, warns)


def test_currency_ref():
    assert currency_ref(None) is None and currency_ref("  ") is None
    assert currency_ref("USD") == currency_ref("$") == {"id": "1"}  # the base currency's internal id
    assert currency_ref("4") == {"id": "4"}
    assert currency_ref(" EUR ") == {"refName": "EUR"}
