"""The currency an approved order is booked in, over real HTTP: /api/review-items names it beside
`approved_total` (`approved_currency`) and the approved order's page says the same. Approving in the customer's
own currency sends none, so NetSuite books the customer's record currency, which the PO's may differ from; a
currency nobody knows is null. Plus the rule itself (pure)."""

from __future__ import annotations

import html
import json
import re

import pytest

from handlers.review.approved import approved_currency, as_booked
from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in
from tests.test_review_currency import eur_po
from tests.test_review_orders import approve_form, db
from worker.intake.lines import order_currency


@pytest.fixture
def queue(server):
    """Reference data (customer 1187's currency in NetSuite: US dollars, as "USA") and a signed-in client."""
    def write(conn):
        seed_reference(conn)
        conn.execute("UPDATE customers SET raw_json = ? WHERE ns_id = '1187'",
                     (json.dumps({"id": "1187", "currency": {"id": "1", "refName": "USA"}}),))
    server.run(server.env.db.write(write))
    return server, sign_in(server.url)


def add(server, parsed):
    return server.run(server.env.db.write(lambda conn: add_review_item(conn, parsed=parsed)))


def api_item(client, item):
    found = [i for i in client.get("/api/review-items", params={"status": "approved"}).json()["items"]
             if i["id"] == item]
    assert len(found) == 1
    return found[0]


def notice(page):
    found = re.search(r'<p class="notice approved-action">(.*?)</p>', page, re.DOTALL)
    assert found, "the page names the approved action"
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()))


def test_a_euro_po_booked_in_the_customers_dollars_is_named_as_booked(queue):
    server, client = queue
    item = add(server, eur_po("EUR"))
    form = approve_form(client, item, currency="USA", shown_for="1187", approve_unconverted="1", unconverted_in="USA")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    # The customer's own currency: none is sent, NetSuite books its record's (US dollars), not the PO's euros.
    assert "currency" not in json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])
    found = api_item(client, item)
    assert (found["approved_total"], found["approved_currency"]) == (2462.0, "USD")  # was no currency at all
    page = client.get(f"/review/orders/{item}").text
    # Was: the PO's EUR selected and no word of the unconverted booking (the payload names no currency).
    assert 'value="USA" selected' in page and "booked in USD: prices are not converted" in page
    assert "booked in USD" in notice(page)


def test_a_po_booked_in_its_own_currency_is_named_by_its_code(queue):
    server, client = queue
    item = add(server, eur_po("Euro"))
    assert client.post(f"/review/orders/{item}/approve", data=approve_form(client, item)).status_code == 303
    assert json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])["currency"] == {"refName": "Euro"}
    assert api_item(client, item)["approved_currency"] == "EUR"
    assert "booked in EUR" in notice(client.get(f"/review/orders/{item}").text)


def test_a_currency_nobody_knows_is_null_and_an_open_item_has_none(queue):
    server, client = queue
    server.run(server.env.db.write(lambda conn: conn.execute(
        "UPDATE customers SET raw_json = '{\"id\": \"1187\"}' WHERE ns_id = '1187'")))
    item = add(server, eur_po(None))
    form = approve_form(client, item)
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    assert "currency" not in json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])
    assert api_item(client, item)["approved_currency"] is None  # the customer's, which the mirror does not name
    assert "the customer's currency in NetSuite, which the mirror does not name" in notice(
        client.get(f"/review/orders/{item}").text)
    pending = add(server, parsed_po(po_number="DF-9"))
    (open_item,) = client.get("/api/review-items", params={"status": "pending"}).json()["items"]
    assert open_item["id"] == pending and open_item["approved_currency"] is None


UNKNOWN = "the customer's currency in NetSuite, which the mirror does not name"


def currency_select(page):
    found = re.search(r'<select name="currency">(.*?)</select>', page, re.DOTALL)
    assert found, "the page shows the currency select"
    return [(value, html.unescape(name), bool(chosen)) for value, chosen, name in
            re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', found.group(1))]


def test_an_unknown_booked_currency_is_not_shown_as_the_pos(queue):
    server, client = queue
    server.run(server.env.db.write(lambda conn: conn.execute(
        "UPDATE customers SET raw_json = ? WHERE ns_id = '1187'",
        (json.dumps({"id": "1187", "currency": {"id": "3", "refName": "Canadian Dollar"}}),))))
    item = add(server, eur_po("CAD"))
    # The open form: the reviewer's choice, defaulting to the PO's (by design).
    assert ("CAD", "CAD (read from the PO)", True) in currency_select(client.get(f"/review/orders/{item}").text)
    assert client.post(f"/review/orders/{item}/approve", data=approve_form(client, item)).status_code == 303
    # The customer's own ("CAD" is its "Canadian Dollar"): none is sent, NetSuite books its record's.
    assert "currency" not in json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])
    assert api_item(client, item)["approved_currency"] == "CAD"
    assert currency_select(client.get(f"/review/orders/{item}").text)[0] == ("CAD", "CAD (read from the PO)", True)
    server.run(server.env.db.write(lambda conn: conn.execute(  # the mirror no longer names the customer's
        "UPDATE customers SET raw_json = '{\"id\": \"1187\"}' WHERE ns_id = '1187'")))
    assert api_item(client, item)["approved_currency"] is None
    page = client.get(f"/review/orders/{item}").text
    assert UNKNOWN in notice(page)
    # Was: "CAD (read from the PO)" selected, as if booked in it.
    assert currency_select(page) == [("", f"unknown: {UNKNOWN}", True)]
    assert f"no comparable price: the order is booked in {UNKNOWN}" in html.unescape(page)


def test_as_booked_keeps_a_known_currency_and_says_an_unknown_one():
    read = order_currency("CAD", None)
    assert as_booked(read, "CAD") is read
    unknown = as_booked(read, None)
    assert (unknown.booked, unknown.sent, unknown.warning, unknown.unconverted) == (None, None, None, None)
    assert [v for v, _ in unknown.choices] == [""] and "does not name" in unknown.not_compared
    assert unknown.shown == read.shown == "CAD"  # the PO's figures keep their currency's name


@pytest.mark.parametrize(("payload", "customer", "named"), [
    ({"currency": {"id": "1"}}, "CAD", "USD"),  # the payload's: the base currency record
    ({"currency": {"refName": "Canadian Dollar"}}, None, "CAD"),
    ({"currency": {"id": "4"}}, "USA", "currency #4"),  # an id alone, spelled as per-currency totals are keyed
    ({}, "Canadian Dollar", "CAD"),  # none sent: the customer's record currency
    ({}, "3", "currency #3"),
    ({}, None, None),  # neither known
    ({"currency": "EUR"}, "USA", None),  # a damaged reference names nothing; not the customer's either
])
def test_the_approved_currency(payload, customer, named):
    assert approved_currency(payload, customer) == named
