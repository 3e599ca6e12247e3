"""A refused form says what is wrong beside the field it is about: that field is marked invalid, described by the
message and autofocused (an action's card; the order form's fields, its summary linking to each)."""

from __future__ import annotations

import re

import pytest

from handlers.review.actions import refused_field
from handlers.review.order_form import error_field
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    hidden,
    parsed_po,
    seed_reference,
    sign_in,
)
from tests.test_review_order_charges import page_form, po_queue


@pytest.mark.parametrize(("message", "field"), [
    ("a reason is required to reject", "reason"),
    ("the reason is longer than 500 characters", "reason"),
    ("subject must be one line", "subject"),
    ("body cannot be empty", "body"),
    ("body is longer than 20000 characters", "body"),
    ("bodyguard cannot be empty", None),  # a name, not a prefix
    ("Sales order SO-9801 was deleted in NetSuite", None),  # about the action, not a field
])
def test_a_refusal_names_its_field(message, field):
    assert refused_field(message, ["subject", "body"]) == field


def tag(page: str, name: str) -> str:
    """The opening tag of the form field `name` (an input or a textarea)."""
    return re.search(rf'<(?:input|textarea|select)\b[^>]*\bname="{name}"[^>]*>', page).group(0)


def test_an_emptied_body_is_refused_beside_the_body(server):
    email = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                         add_action(conn, "collection_email", COLLECTION_EMAIL))[1]))
    client = sign_in(server.url)
    seen = hidden(client.get("/review/actions").text, "version")
    page = client.post(f"/review/actions/{email}", data={"csrf": client.csrf, "op": "save", "version": seen,
                                                         "subject": "Past due", "body": "  "})
    assert page.status_code == 422
    body = tag(page.text, "body")
    assert f'aria-describedby="action-{email}-error"' in body and 'aria-invalid="true"' in body and "autofocus" in body
    assert f'<p class="error" id="action-{email}-error" role="alert">body cannot be empty</p>' in page.text
    assert "autofocus" not in tag(page.text, "subject") and "aria-invalid" not in tag(page.text, "reason")
    assert page.text.count("autofocus") == 1


def test_a_refusal_about_the_action_is_said_on_its_card(server):
    email = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                         add_action(conn, "collection_email", COLLECTION_EMAIL))[1]))
    client = sign_in(server.url)
    page = client.post(f"/review/actions/{email}", data={"csrf": client.csrf, "op": "approve",
                                                         "version": "2026-01-01T00:00:00.000Z", "subject": "Past due"})
    assert page.status_code == 422
    card = page.text[page.text.index(f'id="action-{email}"'):]
    assert re.search(rf'<p class="error" id="action-{email}-error" role="alert">[^<]*changed', card), card[:1500]
    assert "aria-invalid" not in card and "autofocus" in tag(card, "subject")  # the first field, as before


ROWS = [{"no": "1", "code": "", "item": "DF-10023", "desc": "", "qty": "abc", "uom": "", "price": "2", "drop": ""},
        {"no": "2", "code": "", "item": "", "desc": "", "qty": "", "uom": "", "price": "", "drop": "1"},  # dropped
        {"no": "", "code": "", "item": "", "desc": "", "qty": "3", "uom": "", "price": "", "drop": ""}]  # new: 3


@pytest.mark.parametrize(("message", "field"), [
    ("line 1: quantity: Input should be a valid decimal", "l0_qty"),
    ("line 3: choose an item", "l2_item"),  # a new row, numbered after the PO's
    ("line 1: item 'X' is not in the item list", "l0_item"),
    ("line 1: price: Input should be greater than 0", "l0_price"),
    ("line 9: price: no such line", None),
    ("charge 2 (Freight, 35.00): choose the NetSuite item it is booked as", "c1_item"),
    ("charge 1: amount: must not be zero", "c0_amount"),
    ("order date: Input should be a valid date", "tran_date"),
    ("ship date: 2026-11-01 is before the order date 2026-11-20", "ship_date"),
    ("customer: String should have at least 1 character", "customer_id"),
    ("customer '4410' is not in the mirror (or was deleted)", "customer_id"),
    ("memo: shorten your memo to at most 900 characters", "memo"),
    ("a reason is required to reject", "reason"),
    ("the order needs at least one line", None),
    ("not approved: the order's currency for the customer chosen is USD", None),
])
def test_an_order_refusal_names_its_field(message, field):
    assert error_field(message, ROWS) == field


def test_each_summary_entry_links_to_its_field_which_is_invalid_and_the_first_focused(server):
    _server, item, client = po_queue(server, parsed_po())
    page = client.get(f"/review/orders/{item}").text
    refused = client.post(f"/review/orders/{item}/approve", data=page_form(client, page, l0_qty="abc", c0_off="1")).text
    summary = re.search(r'<ul class="error" role="alert">(.*?)</ul>', refused).group(1)
    links = re.findall(r'<li id="(error-\d)"><a href="#(\w+)">([^<]*)</a></li>', summary)
    assert [(e, f) for e, f, _ in links] == [("error-1", "l1_item"), ("error-2", "l0_qty")], summary
    assert links[1][2].startswith("line 1: quantity: ")
    qty, item_field = tag(refused, "l0_qty"), tag(refused, "l1_item")
    assert 'id="l0_qty" aria-invalid="true" aria-describedby="error-2"' in qty and "autofocus" not in qty
    assert 'id="l1_item" aria-invalid="true" aria-describedby="error-1" autofocus' in item_field
    assert refused.count("autofocus") == 1 and "aria-invalid" not in tag(refused, "l0_price")
