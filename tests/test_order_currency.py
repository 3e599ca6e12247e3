"""The currency an order under review is booked in, against the customer's in NetSuite (audit BG)."""

from __future__ import annotations

import json
import re

import pytest

from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in
from tests.test_review_currency import checks, orders  # noqa: F401  (fixture)
from tests.test_review_orders import approve_form, db
from worker.flows.reads import label
from worker.intake.lines import NO_CURRENCY, order_currency
from worker.po.values import (
    DOLLAR_SIGN_ONLY,
    detect_currency,
    dollar_sign_only,
    written_with_dollar_sign,
)


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


# --- BG2: a bare "$" on the PO of a customer who buys in another dollar --------------------------------------------

@pytest.mark.parametrize(("texts", "found"), [
    (["Cheddar 12 CS @ $98.50", "Total $2,497.00"], ("USD", DOLLAR_SIGN_ONLY)),  # was ("USD", 0.8)
    (["Total US$2,497.00"], ("USD", 0.9)),  # US dollars named: no longer only a "$"
    (["Total USD 2,497.00 $"], ("USD", 0.9)),
    (["Total C$2,497.00"], ("CAD", 0.9)),
    (["Currency: CAD", "Total $2,497.00"], ("CAD", 0.95)),
    (["Total €2.497,00"], ("EUR", 0.8)),
    (["Total 2,497.00"], (None, 0.0)),
])
def test_a_bare_dollar_sign_is_read_as_us_dollars_of_its_own_confidence(texts, found):
    assert detect_currency(texts) == found


@pytest.mark.parametrize(("currency", "dollar"), [
    ("CAD", True), ("Canadian Dollar", True), (" aud ", True), ("MXN", True),
    ("USD", False), ("US Dollar", False), ("USA", False), ("EUR", False), ("3", False), (None, False),
])
def test_written_with_dollar_sign(currency, dollar):
    assert written_with_dollar_sign(currency) is dollar


def test_dollar_sign_only_reads_the_parse():
    assert dollar_sign_only({"currency": "USD", "confidence": {"currency": DOLLAR_SIGN_ONLY}})
    assert not dollar_sign_only({"currency": "USD", "confidence": {"currency": 0.9}})
    assert not dollar_sign_only({"currency": "USD", "confidence": "junk"}) and not dollar_sign_only({})


@pytest.mark.parametrize(("customer", "sign_only", "booked", "compared"), [
    ("CAD", True, "CAD", False),  # was USD, price-checked as dollars
    ({"id": "3", "refName": "Canadian Dollar"}, True, "Canadian Dollar", False),
    ("USA", True, "USD", True),  # a US customer's "$" stays US dollars
    (None, True, "USD", True),  # no customer currency known: as before
    ("3", True, "USD", False),  # an id alone may be any currency: US dollars, warned and not compared
    ("CAD", False, "USD", False),  # "USD" printed for a CAD customer: booked as read, but not compared
])
def test_the_booked_currency_of_a_dollar_po(customer, sign_only, booked, compared):
    found = order_currency("USD", label(customer), sign_only=sign_only)
    assert found.booked == booked and (found.not_compared is None) is compared
    assert (booked, True) in [(v, v == booked) for v, _ in found.choices]  # the form offers (and selects) it
    assert found.warning is not None or compared


def test_the_reviewers_choice_is_taken_only_among_the_choices():
    assert order_currency("USD", "CAD", sign_only=True, chosen="USD").booked == "USD"
    assert order_currency("USD", "CAD", sign_only=True, chosen="EUR").booked == "CAD"  # not offered
    assert order_currency(None, None, chosen=NO_CURRENCY).booked is None
    assert [v for v, _ in order_currency(None, None).choices] == [NO_CURRENCY, "USD"]


def _sign_only_po() -> dict:
    parsed = parsed_po()
    parsed["confidence"] = {**parsed["confidence"], "currency": DOLLAR_SIGN_ONLY}  # the parser saw only "$"
    parsed["lines"][1]["item_id"] = "5002"  # both lines priced: 98.50 (customer price) and 61.00 + 3%
    return parsed


@pytest.fixture
def canadian(server):
    """A "$" PO from customer 1187, whose currency in NetSuite is CAD (customer 2201's is not mirrored)."""
    def write(conn):
        seed_reference(conn)
        conn.execute("UPDATE customers SET raw_json = ? WHERE ns_id = '1187'",
                     (json.dumps({"id": "1187", "currency": {"id": "3", "refName": "CAD"}}),))
        return add_review_item(conn, parsed=_sign_only_po())
    return server, server.run(server.env.db.write(write)), sign_in(server.url)


def _selected_currency(page: str) -> str:
    select = re.search(r'<select name="currency">(.*?)</select>', page, re.DOTALL)
    assert select, "the form has a currency choice"
    return re.search(r'<option value="([^"]*)" selected>', select.group(1)).group(1)


def _payload(server) -> dict:
    return json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])


def test_a_bare_dollar_po_of_a_canadian_customer_is_booked_in_its_currency(canadian):
    server, item, client = canadian
    page = client.get(f"/review/orders/{item}").text
    assert _selected_currency(page) == "CAD"
    assert ("The PO shows only &#34;$&#34;, which CAD is written with too: the order is booked in this customer&#39;s "
            "currency, CAD.") in _warning(page)
    # Was: "98.50 (+0.0%) customer price" in green, the Canadian prices read as US dollars.
    assert 'class="ok"' not in page
    assert checks(page)[:2] == ["no comparable price: the order is in CAD; prices on file are in US dollars"] * 2
    form = approve_form(client, item, currency="CAD", shown_for="1187")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    assert "currency" not in _payload(server)  # was {"id": "1"}, US dollars: NetSuite books the customer's, CAD


def test_the_reviewer_may_book_it_in_us_dollars_and_its_prices_stay_unjudged(canadian):
    server, item, client = canadian
    form = approve_form(client, item, currency="USD", shown_for="1187")
    page = client.post(f"/review/orders/{item}/approve", data={**form, "search": "1"}).text  # re-shown as posted
    assert _selected_currency(page) == "USD" and 'class="ok"' not in page
    assert checks(page)[0] == ("no comparable price: the order is booked in USD; this customer&#39;s currency in "
                               "NetSuite is CAD")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    assert _payload(server)["currency"] == {"id": "1"}


def test_a_currency_chosen_for_another_customer_is_not_approved(canadian):
    server, item, client = canadian
    # CAD was offered for 1187; posted with customer 2201 (no currency mirrored: its "$" is US dollars).
    form = approve_form(client, item, currency="CAD", shown_for="1187", customer_id="2201")
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 422 and "the order&#39;s currency for the customer chosen is USD" in response.text
    assert 'name="currency"' not in response.text  # US dollars, the one currency the page knows for 2201
    assert not db(server, "SELECT id FROM proposed_actions")
    forged = approve_form(client, item, currency="JPY", shown_for="1187")
    assert client.post(f"/review/orders/{item}/approve", data=forged).status_code == 422


def test_a_dollar_po_of_a_customer_with_no_currency_mirrored_is_still_checked_in_dollars(server):
    def write(conn):
        seed_reference(conn)
        return add_review_item(conn, parsed=_sign_only_po())
    item = server.run(server.env.db.write(write))
    client = sign_in(server.url)
    page = client.get(f"/review/orders/{item}").text
    assert 'name="currency"' not in page and _warning(page) is None  # US dollars the one currency known
    assert checks(page)[:2] == ["98.50 (+0.0%) customer price", "62.83 (+1.9%) list plus markup"]
