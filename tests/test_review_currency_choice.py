"""A PO in one currency booked in another on the review order page, over real HTTP: choosing the customer's
currency converts nothing, so the PO's figures keep their currency, the page says the prices are booked as typed,
and neither the price list nor the PO's total is compared with them (audit BQ3)."""

from __future__ import annotations

import json
import re

import pytest

from tests.review_seed import add_review_item, seed_reference, sign_in
from tests.test_review_currency import checks, eur_po
from tests.test_review_orders import approve_form, db
from worker.intake.lines import order_currency

NOT_CONVERTED = "The PO&#39;s prices are in EUR, and the order is booked in USD: prices are not converted."


@pytest.fixture
def euro_po_of_a_dollar_customer(server):
    """A EUR PO from customer 1187, whose currency in NetSuite is US dollars."""
    def write(conn):
        seed_reference(conn)
        conn.execute("UPDATE customers SET raw_json = ? WHERE ns_id = '1187'",
                     (json.dumps({"id": "1187", "currency": {"id": "1", "refName": "USA"}}),))
        return add_review_item(conn, parsed=eur_po("EUR"))
    return server, server.run(server.env.db.write(write)), sign_in(server.url)


def order_total_line(page: str) -> str:
    found = re.search(r'<p class="totals order-total">(.*?)</p>', page, re.DOTALL)
    assert found, "the page shows the sales order's total"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_booking_a_euro_po_in_dollars_keeps_its_euros_named_and_compares_nothing(euro_po_of_a_dollar_customer):
    server, item, client = euro_po_of_a_dollar_customer
    page = client.get(f"/review/orders/{item}").text  # booked in EUR, as read: the figures are the PO's
    assert "On the PO, in EUR: subtotal 2,462.00" in page and NOT_CONVERTED not in page
    form = approve_form(client, item, currency="USA", shown_for="1187")  # "USD (this customer's in NetSuite)"
    page = client.post(f"/review/orders/{item}/approve", data={**form, "search": "1"}).text
    # Was: "On the PO: subtotal 2,462.00" (bare: US dollars), "Price" and the euro prices judged as dollars.
    assert "On the PO, in EUR: subtotal 2,462.00" in page and "Unit price (EUR)</th>" in page
    assert NOT_CONVERTED in page and "are booked as they are, in USD" in page
    assert 'class="ok"' not in page and 'class="bad"' not in page
    assert checks(page)[:2] == ["no comparable price: the PO&#39;s prices are in EUR, not converted to USD"] * 2
    # Was: "… 2,462.00 match", a dollar total matched with a euro one.
    shown = order_total_line(page)
    assert 'class="sum-ok"' not in page and "differ by" not in shown
    assert shown.startswith("This sales order before tax, in USD: 2,462.00 · the PO's total less tax, in EUR: "
                            "2,497.00 not compared: the currencies differ")
    # Approving books what was chosen, as documented, once confirmed (test_review_currency_confirm): the customer's
    # own currency, which NetSuite books unnamed.
    confirmed = {**form, "approve_unconverted": "1", "unconverted_in": "USA"}
    assert client.post(f"/review/orders/{item}/approve", data=confirmed).status_code == 303
    assert "currency" not in json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])


@pytest.mark.parametrize(("po", "customer", "sign_only", "chosen", "shown", "unconverted"), [
    ("EUR", "USA", False, "USA", "EUR", True),  # was shown bare, as US dollars
    ("EUR", "USA", False, None, "EUR", False),  # booked as read
    ("eur", "Euro", False, "Euro", "EUR", False),  # one currency however spelled
    ("USD", "CAD", False, "CAD", None, True),  # "USD" printed: its figures stay US dollars, booked as CAD
    ("USD", "CAD", True, "USD", None, False),  # a bare "$": the choice says which dollars they are
    ("USD", "CAD", True, "CAD", "CAD", False),
    ("CAD", "3", False, "3", "CAD", False),  # an id may be the PO's currency: not said to differ
    (None, "EUR", False, "USD", None, False),  # no currency on the PO: its figures are in what is booked
])
def test_the_pos_own_currency_stays_beside_its_amounts(po, customer, sign_only, chosen, shown, unconverted):
    found = order_currency(po, customer, sign_only=sign_only, chosen=chosen)
    assert found.shown == shown and (found.unconverted is not None) is unconverted
    assert not unconverted or found.not_compared.startswith("the PO's prices are in")
