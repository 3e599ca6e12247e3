"""Approving a PO booked in another currency than the one it names, over real HTTP: its figures are booked as typed,
unconverted, so the server refuses (422, the warning as the error, nothing staged) until the reviewer ticks the box
that refusal offers; the approval event records the consent. Same-currency approvals ask nothing."""

from __future__ import annotations

import json

from tests.review_seed import add_review_item, hidden
from tests.test_review_currency import eur_po
from tests.test_review_currency_choice import euro_po_of_a_dollar_customer  # noqa: F401  (a EUR PO, USD customer)
from tests.test_review_orders import approve_form, db

BOX = "Book the figures as typed in USD: the PO&#39;s EUR prices are not converted"
WARNING = "The PO&#39;s prices are in EUR, and the order is booked in USD: prices are not converted."


def approval_event(server) -> dict:
    found = db(server, "SELECT payload_json FROM events WHERE type = 'review.approved'")
    assert len(found) == 1
    return json.loads(found[0][0])


def test_booking_a_euro_po_in_dollars_is_refused_until_the_box_is_ticked(euro_po_of_a_dollar_customer):  # noqa: F811
    server, item, client = euro_po_of_a_dollar_customer
    assert 'name="approve_unconverted"' not in client.get(f"/review/orders/{item}").text  # offered after a refusal
    # The currency select changed and Approve pressed straight away: the warning was never on the page.
    form = approve_form(client, item, currency="USA", shown_for="1187")
    refused = client.post(f"/review/orders/{item}/approve", data=form)
    assert refused.status_code == 422  # was 303: the euro figures booked as dollars, unconfirmed
    assert f"<li>not approved: {WARNING}" in refused.text and BOX in refused.text
    assert 'name="approve_unconverted" value="1">' in refused.text  # offered, not ticked
    assert hidden(refused.text, "unconverted_in") == "USA"
    assert 'value="USA" selected' in refused.text  # the form as typed
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]

    # A box ticked without naming the currency consented to (or naming another) is no consent.
    for given in ({}, {"unconverted_in": "EUR"}):
        again = client.post(f"/review/orders/{item}/approve", data={**form, "approve_unconverted": "1", **given})
        assert again.status_code == 422 and db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]

    ticked = {**form, "approve_unconverted": "1", "unconverted_in": hidden(refused.text, "unconverted_in")}
    assert client.post(f"/review/orders/{item}/approve", data=ticked).status_code == 303
    assert db(server, "SELECT kind, status FROM proposed_actions") == [("create_sales_order", "approved")]
    event = approval_event(server)
    assert event["approved_unconverted"] == BOX.replace("&#39;", "'")
    assert event["approved_despite"] is None


def test_a_ticked_box_survives_a_duplicate_refusal(euro_po_of_a_dollar_customer):  # noqa: F811
    server, item, client = euro_po_of_a_dollar_customer
    copy = server.run(server.env.db.write(lambda conn: add_review_item(conn, parsed=eur_po("EUR"))))
    assert client.post(f"/review/orders/{item}/approve", data=approve_form(client, item)).status_code == 303  # in EUR
    form = approve_form(client, copy, currency="USA", shown_for="1187", approve_unconverted="1", unconverted_in="USA")
    refused = client.post(f"/review/orders/{copy}/approve", data=form)
    # Refused as a duplicate: the unconverted box stays ticked, so ticking "approve anyway" is the last step.
    assert refused.status_code == 422 and 'name="approve_duplicate"' in refused.text
    assert 'name="approve_unconverted" value="1" checked>' in refused.text
    both = {**form, "approve_duplicate": "1", "duplicate_of": hidden(refused.text, "duplicate_of")}
    assert client.post(f"/review/orders/{copy}/approve", data=both).status_code == 303
    event = json.loads(db(server, "SELECT payload_json FROM events WHERE type = 'review.approved' AND entity_id = ?",
                          (str(copy),))[0][0])
    assert event["approved_unconverted"] and event["approved_despite"]


def test_an_order_booked_in_the_pos_own_currency_needs_no_confirmation(euro_po_of_a_dollar_customer):  # noqa: F811
    server, item, client = euro_po_of_a_dollar_customer
    response = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item))  # EUR, as read
    assert response.status_code == 303
    assert approval_event(server)["approved_unconverted"] is None
