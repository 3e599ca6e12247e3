"""A decided order's page, over real HTTP: an approved order shows the sales order as approved (its action's
payload: edited quantities, items filled in, rows added, charges carried or left off, the reviewer's memo) and
names its action; a rejected one shows the PO as read. /api/review-items gives the approved total beside the PO's.
Plus the payload read back (pure)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from handlers.review.approved import (
    approved_rows,
    approved_total,
    charges_carried,
    reviewers_memo,
    split_items,
)
from tests.review_seed import hidden, parsed_po
from tests.test_review_order_charges import approved, db, page_form, po_queue, value
from worker.netsuite_shape import ChargeLeftOff


def checked(page, name):
    return re.search(rf'name="{re.escape(name)}" value="1"[^>]*checked', page) is not None


def order_total(page):
    shown = re.sub(r"<[^>]+>", "", page[page.index('class="totals order-total"'):]).split("</p>")[0]
    return shown


def approve_with_edits(server, item, client):
    """The audit's approval: a quantity changed, an unmatched item filled in, a row added, freight left off, a memo."""
    page = client.get(f"/review/orders/{item}").text
    form = page_form(client, page, l0_qty="15", l1_item="CHS-MOZZ-LMPS", l2_item="FLR-AP-50", l2_desc="Flour AP",
                     l2_qty="3", l2_uom="BG", l2_price="18.40", c0_off="1", memo="dock 4 please")
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 303, response.text
    (action,), = db(server, "SELECT id FROM proposed_actions WHERE review_item_id = ?", (item,))
    return action


def test_an_approved_order_shows_what_was_approved_and_its_action(server):
    server, item, client = po_queue(server, parsed_po())  # lines 12 x 98.50 and 20 x 64.00, freight 35.00
    action = approve_with_edits(server, item, client)
    payload, _event = approved(server, item)
    assert payload["memo"] == "dock 4 please — PO charges left off: Freight 35.00"
    page = client.get(f"/review/orders/{item}").text
    # Was: the PO as read (quantity 12, line 2 without an item, no added row, freight carried, memo empty).
    assert [value(page, f"l0_{f}") for f in ("item", "qty", "price")] == ["CHS-CHED-40", "15", "98.5"]
    assert value(page, "l1_item") == "CHS-MOZZ-LMPS" and value(page, "l1_code") == "DF-207"
    assert [value(page, f"l2_{f}") for f in ("no", "item", "desc", "qty", "uom", "price")] == [
        "", "FLR-AP-50", "Flour AP", "3", "BG", "18.4"]
    assert value(page, "n") == "3"  # no blank row to fill on a decided order
    assert (value(page, "c0_desc"), value(page, "c0_amount")) == ("Freight", "35.00") and checked(page, "c0_off")
    assert value(page, "memo") == "dock 4 please"
    # 15 x 98.50 + 20 x 64.00 + 3 x 18.40, freight left off: not the PO's 2,497.00.
    assert "This sales order before tax: 2,812.70" in order_total(page)
    assert f'#action-{action}">proposed action #{action}</a> (approved)' in page and "This order was approved by" in page
    assert "<fieldset disabled>" in page


def test_a_carried_charge_shows_with_its_item_and_in_the_total(server):
    server, item, client = po_queue(server, parsed_po())
    page = client.get(f"/review/orders/{item}").text
    form = page_form(client, page, l1_item="CHS-MOZZ-LMPS", c0_item="frt")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    page = client.get(f"/review/orders/{item}").text
    assert value(page, "n") == "2" and value(page, "l1_item") == "CHS-MOZZ-LMPS"
    assert (value(page, "c0_desc"), value(page, "c0_amount"), value(page, "c0_item")) == ("Freight", "35.00", "FRT")
    assert not checked(page, "c0_off") and value(page, "memo") == ""
    assert "This sales order before tax: 2,497.00" in order_total(page)


def test_a_last_product_line_of_one_without_a_unit_stays_a_line(server):
    # Line 2 is one of an item without a unit, at the order's end but for the freight: shaped as a charge is.
    parsed = parsed_po()
    parsed["lines"][1] |= {"quantity": 1, "uom": None, "amount": 64.0}
    server, item, client = po_queue(server, parsed)
    page = client.get(f"/review/orders/{item}").text
    form = page_form(client, page, l1_item="CHS-MOZZ-LMPS", l1_uom="", c0_item="frt")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    payload, event = approved(server, item)
    assert payload["item"]["items"][1] == {"item": {"id": "5002"}, "quantity": 1, "rate": 64, "amount": 64.0,
                                           "description": "Mozzarella LMPS 6/5#"}
    assert event["charges_carried"] == 1  # what the payload cannot tell, recorded as approved
    page = client.get(f"/review/orders/{item}").text
    # Was: one row, and the mozzarella listed under charges above the freight (the total right all the same).
    assert value(page, "n") == "2" and hidden(page, "cn") == "1"
    assert [value(page, f"l1_{f}") for f in ("no", "code", "item", "qty", "uom")] == ["2", "DF-207", "CHS-MOZZ-LMPS",
                                                                                      "1", ""]
    assert (value(page, "c0_desc"), value(page, "c0_item")) == ("Freight", "FRT")
    assert "This sales order before tax: 1,281.00" in order_total(page)


def test_a_rejected_order_shows_the_po_as_read(server):
    server, item, client = po_queue(server, parsed_po())
    client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "reason": "duplicate fax"})
    page = client.get(f"/review/orders/{item}").text
    assert "This order was rejected" in page and "proposed action" not in page
    assert value(page, "l0_qty") == "12" and value(page, "l1_item") == "" and not checked(page, "c0_off")


def test_the_review_items_api_gives_the_approved_total_and_action(server):
    server, item, client = po_queue(server, parsed_po())
    action = approve_with_edits(server, item, client)
    (found,) = client.get("/api/review-items", params={"status": "approved"}).json()["items"]
    # `total` stays the PO's as read; what was approved is beside it (it was only 2497.0, the PO's).
    assert (found["total"], found["approved_total"], found["action_id"]) == (2497.0, 2812.7, action)
    assert found["approved_currency"] == "USD"  # the PO's, sent as the base currency record ({"id": "1"})
    server.run(server.env.db.write(lambda conn: conn.execute(
        "INSERT INTO review_items (status, customer_id, total, created_at, updated_at) "
        "VALUES ('pending', '1187', 10, 'x', 'x')")))
    pending = client.get("/api/review-items", params={"status": "pending"}).json()["items"]
    assert [(p["approved_total"], p["action_id"], p["approved_currency"]) for p in pending] == [(None, None, None)]


def test_the_action_partial_links_the_actions_tab():
    templates = Path(__file__).resolve().parents[1] / "templates"
    env = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(default=True))
    shown = env.get_template("order_approved.html").render(
        approved_action={"id": 24, "status": "approved", "url": "/review/actions?status=approved&cursor=25#action-24"})
    assert '<a href="/review/actions?status=approved&amp;cursor=25#action-24">proposed action #24</a>' in shown
    assert env.get_template("order_approved.html").render(approved_action=None).strip() == ""


PAYLOAD = {"entity": {"id": "1187"}, "tranDate": "2026-11-19", "memo": "dock 4 — PO charges left off: Freight 25.00",
           "item": {"items": [
               {"item": {"id": "5001"}, "quantity": 12, "rate": 98.5, "amount": 1182.0, "description": "Cheddar mild 40# block",
                "units": "CS"},
               {"item": {"id": "5004"}, "quantity": 1, "rate": 18.4, "amount": 18.4, "units": "BG"},
               {"item": {"id": "5090"}, "rate": 35.0, "amount": 35.0, "description": "Freight", "quantity": 1},
               {"item": {"id": "5091"}, "rate": -49.24, "amount": -49.24, "description": "Volume discount 2%"}]}}


def test_lines_and_charges_as_the_approval_recorded_them():
    one_of = {"item": {"id": "5004"}, "quantity": 1, "rate": 18.4, "amount": 18.4, "description": "Flour AP"}
    payload = {"item": {"items": [PAYLOAD["item"]["items"][0], one_of]}}
    # Approved since approvals record how many lines are carried charges: none here, whatever the last one looks like.
    assert [len(part) for part in split_items(payload, charges_carried({"charges_carried": 0}))] == [2, 0]
    assert [len(part) for part in split_items(PAYLOAD, 2)] == [2, 2]
    assert [len(part) for part in split_items(PAYLOAD, 3)] == [1, 3]  # as recorded, shape aside
    # Approved before: the charge-shaped run that ends the order (the flour reads as a charge), as is a count that
    # cannot be (every line a charge, a negative one, no number).
    for approval in ({}, {"charges_carried": 2}, {"charges_carried": -1}, {"charges_carried": "1"},
                     {"charges_carried": True}):
        assert [len(part) for part in split_items(payload, charges_carried(approval))] == [1, 1], approval


def test_the_payload_read_back():
    lines, charges = split_items(PAYLOAD)
    assert [i["item"]["id"] for i in lines] == ["5001", "5004"] and [i["item"]["id"] for i in charges] == ["5090", "5091"]
    assert approved_total(PAYLOAD) == Decimal("1186.16")
    rows = approved_rows(PAYLOAD, parsed_po(), {"5001": "CHS-CHED-40"})
    assert [(r["no"], r["code"], r["item"]) for r in rows] == [("1", "DF-118", "CHS-CHED-40"), ("", "", "5004")]
    freight = [ChargeLeftOff(description="Freight", amount=Decimal("25.00"))]
    assert reviewers_memo(PAYLOAD["memo"], freight) == "dock 4"
    assert reviewers_memo("PO charges left off: Freight 25.00", freight) == ""
    assert reviewers_memo("dock 4", []) == "dock 4"


def test_a_damaged_payload_shows_less_and_the_page_and_api_agree_on_its_total(server):
    server, item, client = po_queue(server, parsed_po())
    approve_with_edits(server, item, client)
    payload, _ = approved(server, item)
    payload["item"]["items"][0]["item"] = "5001"  # a reference that is no object
    payload["item"]["items"][1]["amount"] = "1280.00"  # an amount that is no JSON number
    server.run(server.env.db.write(lambda conn: conn.execute(
        "UPDATE proposed_actions SET payload_json = ? WHERE review_item_id = ?", (json.dumps(payload), item))))
    page = client.get(f"/review/orders/{item}")
    assert page.status_code == 200, page.text[-2000:]  # was a 500: 'str' object has no attribute 'get'
    assert value(page.text, "l0_qty") == "15" and "This sales order before tax: —" in order_total(page.text)
    (found,) = client.get("/api/review-items", params={"status": "approved"}).json()["items"]
    assert found["approved_total"] is None  # was 2812.7: SQL's sum read the text as a number, the page showed —
