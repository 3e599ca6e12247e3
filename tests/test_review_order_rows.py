"""Rows on the order form over real HTTP: Add rows gives a hand-entered order as many lines as it needs (up to
MAX_ROWS), keeps what was typed and decides nothing; every re-render keeps a blank row to fill."""

from __future__ import annotations

import json
import re

import pytest

from handlers.review.order_form import MAX_ROWS
from tests.review_seed import hidden
from tests.test_review_order_edits import db, manual, value  # noqa: F401  (the needs-manual order, signed in)

SIX = [("CHS-CHED-40", "2", "98.50"), ("OIL-CAN-35", "3", "42.25"), ("FLR-AP-50", "4", "18.40"),
       ("CHS-MOZZ-LMPS", "5", "61.00"), ("5003", "6", "42.25"), ("CHS-CHED-40", "7", "98.50")]
FIELDS = ("no", "code", "item", "desc", "qty", "uom", "price", "parsed")


def page_form(client, page, **changes):
    """The form as the page shows it (header, every row's fields), with changes, as a browser would post it."""
    form = {"csrf": client.csrf, "n": hidden(page, "n"), "find": value(page, "find"), "po_number": value(page, "po_number"),
            "tran_date": re.search(r'name="tran_date" type="date" value="([^"]*)"', page).group(1),
            "ship_date": "", "memo": value(page, "memo")}
    chosen = re.search(r'<option value="([^"]*)" selected>', page)
    form["customer_id"] = chosen.group(1) if chosen else ""
    for i in range(int(form["n"])):
        for field in FIELDS:
            found = re.search(rf'name="l{i}_{field}" value="([^"]*)"', page)
            assert found, f"no field l{i}_{field}"
            form[f"l{i}_{field}"] = found.group(1)
    return form | changes


def typed(rows, start=0):
    return {f"l{start + i}_{k}": v for i, (item, qty, price) in enumerate(rows)
            for k, v in (("item", item), ("qty", qty), ("price", price))}


def untouched(server, item):
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("needs_manual",)]
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]


def test_a_hand_entered_order_gets_six_lines_through_add_rows(manual):  # noqa: F811
    server, item, client = manual
    first = client.get(f"/review/orders/{item}").text
    assert hidden(first, "n") == "3"
    # The three rows the page offers, filled, with the header; Add rows keeps all of it and adds five blank rows.
    form = page_form(client, first, customer_id="1187", memo="call before delivery", **typed(SIX[:3]), add_rows="1")
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 200, response.text  # was: no way to get a fourth row
    page = response.text
    assert hidden(page, "n") == "8" and 'class="error"' not in page
    assert [(value(page, f"l{i}_item"), value(page, f"l{i}_qty")) for i in range(3)] == [(c, q) for c, q, _ in SIX[:3]]
    assert value(page, "memo") == "call before delivery" and '<option value="1187" selected>' in page
    assert all(value(page, f"l{i}_item") == "" for i in range(3, 8))
    untouched(server, item)
    # The next three lines in the new rows; the two left blank are not lines.
    approved = client.post(f"/review/orders/{item}/approve", data=page_form(client, page, **typed(SIX[3:], start=3)))
    assert approved.status_code == 303, approved.text
    (payload_json,), = db(server, "SELECT payload_json FROM proposed_actions WHERE review_item_id = ?", (item,))
    lines = json.loads(payload_json)["item"]["items"]
    assert [(ln["item"]["id"], ln["quantity"]) for ln in lines] == [
        ("5001", 2), ("5003", 3), ("5004", 4), ("5002", 5), ("5003", 6), ("5001", 7)]


def test_a_search_and_a_refused_approval_keep_a_blank_row(manual):  # noqa: F811
    server, item, client = manual
    full = page_form(client, client.get(f"/review/orders/{item}").text, customer_id="1187", **typed(SIX[:3]))
    searched = client.post(f"/review/orders/{item}/approve", data=full | {"search": "1", "find": "harbor"}).text
    assert hidden(searched, "n") == "4" and value(searched, "l3_item") == ""  # was 3: every row taken
    refused = client.post(f"/review/orders/{item}/approve", data=full | {"ship_date": "2000-01-01"})
    assert refused.status_code == 422 and hidden(refused.text, "n") == "4"
    # A form that still has a blank row gets no other.
    again = client.post(f"/review/orders/{item}/approve", data=page_form(client, searched, search="1")).text
    assert hidden(again, "n") == "4"
    untouched(server, item)


def test_add_rows_stops_at_the_most_rows_the_page_can_approve(manual):  # noqa: F811
    server, item, client = manual
    base = page_form(client, client.get(f"/review/orders/{item}").text, customer_id="1187", **typed(SIX[:1]))
    near = client.post(f"/review/orders/{item}/approve", data=base | {"n": str(MAX_ROWS - 2), "add_rows": "1"})
    assert near.status_code == 200 and hidden(near.text, "n") == str(MAX_ROWS)  # two more, not five
    full = client.post(f"/review/orders/{item}/approve", data=base | {"n": str(MAX_ROWS), "add_rows": "1"})
    assert full.status_code == 422 and hidden(full.text, "n") == str(MAX_ROWS)
    assert (f"no rows were added: this page can approve at most {MAX_ROWS} rows; enter a longer order in NetSuite "
            "or split it") in full.text
    assert value(full.text, "l0_item") == "CHS-CHED-40"
    # A full form that is searched gets no blank row beyond the limit (it would then be refused on approval).
    searched = client.post(f"/review/orders/{item}/approve", data=base | {"n": str(MAX_ROWS), "search": "1"})
    assert searched.status_code == 200 and hidden(searched.text, "n") == str(MAX_ROWS)
    untouched(server, item)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_add_rows_without_the_csrf_token_is_refused(manual, token):  # noqa: F811
    _server, item, client = manual
    form = page_form(client, client.get(f"/review/orders/{item}").text, add_rows="1")
    form.pop("csrf") if token is None else form.update(csrf=token)
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 403 and "security token" in response.text


def test_add_rows_is_a_button_of_the_approve_form_after_the_disabled_default(manual):  # noqa: F811
    _server, item, client = manual
    page = client.get(f"/review/orders/{item}").text
    form = page[page.index(f'<form method="post" action="/review/orders/{item}/approve"'):]
    form = form[:form.index("</form>")]
    button = re.search(r'<button type="submit" name="add_rows" value="1" formnovalidate[^>]*>Add 5 rows</button>', form)
    assert button and form.index("disabled hidden") < button.start()
