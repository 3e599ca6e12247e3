"""A PO's charges on the order form, over real HTTP: freight, surcharges and discounts are carried onto the sales
order as lines of the NetSuite item the reviewer names, or left off and named in its memo; never dropped unsaid.
Plus the payload's shape (pure) and the price review of the order NetSuite sends back."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from decimal import Decimal

import pytest

from handlers.review.order_form import charges_from_parsed, reviewed_order
from tests.flows_support import (
    PRICING_HEADER,
    apply,
    customer,
    load_reference,
    proposals,
    rows,
    sales_order,
)
from tests.review_seed import (
    add_review_item,
    hidden,
    parsed_po,
    seed_reference,
    sign_in,
)
from worker.flows import assembly_item, quote_review
from worker.netsuite_shape import (
    ChargeLeftOff,
    OrderCharge,
    ReviewedLine,
    ReviewedOrder,
    salesorder_payload,
)
from worker.workflow_runner import drain

# The distributor's discount and other-charge items, as operations add them to spec_items.csv.
CHARGE_ITEMS = [("5090", "FRT", "Freight charge", None), ("5091", "DISC-VOL", "Volume discount", None)]
DISCOUNT = {"description": "Volume discount 2%", "amount": -49.24}
FIELDS = ("no", "code", "item", "desc", "qty", "uom", "price", "parsed")


def audited_po(**changes):
    """The audit's PO: lines of 2,462.00, a 2% volume discount, no freight, total 2,412.76."""
    return parsed_po() | {"freight": None, "other_charges": [DISCOUNT], "total": 2412.76} | changes


def po_queue(server, parsed):
    def seed(conn):
        seed_reference(conn)
        conn.executemany("INSERT INTO spec_items (item_id, item_code, description, uom) VALUES (?, ?, ?, ?)",
                         CHARGE_ITEMS)
        return add_review_item(conn, parsed=parsed)
    return server, server.run(server.env.db.write(seed)), sign_in(server.url)


@pytest.fixture
def audited(server):
    return po_queue(server, audited_po())


@pytest.fixture
def freight_and_discount(server):
    return po_queue(server, audited_po(freight=25.0, total=2437.76))


def value(page, name):
    found = re.search(rf'name="{re.escape(name)}"(?: type="date")? value="([^"]*)"', page)
    assert found, f"no input {name!r}"
    return html.unescape(found.group(1))


def page_form(client, page, **changes):
    """The form as the page shows it (header, rows, charges), with changes, as a browser would post it."""
    form = {"csrf": client.csrf, "n": hidden(page, "n"), "cn": hidden(page, "cn") if 'name="cn"' in page else "0",
            "find": value(page, "find"),
            "po_number": value(page, "po_number"), "tran_date": value(page, "tran_date"),
            "ship_date": value(page, "ship_date"), "memo": value(page, "memo")}
    chosen = re.search(r'<option value="([^"]*)" selected>', page)
    form["customer_id"] = chosen.group(1) if chosen else ""
    for i in range(int(form["n"])):
        form |= {f"l{i}_{field}": value(page, f"l{i}_{field}") for field in FIELDS}
    for i in range(int(form["cn"])):
        form |= {f"c{i}_{field}": value(page, f"c{i}_{field}") for field in ("desc", "amount", "item")}
        if re.search(rf'name="c{i}_off" value="1"[^>]*checked', page):
            form[f"c{i}_off"] = "1"
    return {k: v for k, v in (form | changes).items() if v is not None}


def mozzarella(client, page, **changes):
    """The page's form with line 2's item chosen (the parse left it unmatched)."""
    return page_form(client, page, **{"l1_item": "CHS-MOZZ-LMPS"} | changes)


def db(server, sql, params=()):
    return [tuple(r) for r in server.run(server.env.db.fetchall(sql, params))]


def approved(server, item):
    (payload,), = db(server, "SELECT payload_json FROM proposed_actions WHERE review_item_id = ?", (item,))
    (event,), = db(server, "SELECT payload_json FROM events WHERE type = 'review.approved' AND entity_id = ?",
                   (str(item),))
    return json.loads(payload), json.loads(event)


def untouched(server, item):
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]


def test_the_audits_po_approves_with_its_discount_as_a_line(audited):
    server, item, client = audited
    page = client.get(f"/review/orders/{item}").text
    response = client.post(f"/review/orders/{item}/approve", data=mozzarella(client, page, c0_item="DISC-VOL"))
    assert response.status_code == 303, response.text
    payload, event = approved(server, item)
    lines = payload["item"]["items"]
    # Was: two item lines totalling 2,462.00, no memo: the customer invoiced 49.24 above their PO, unsaid.
    assert lines[-1] == {"item": {"id": "5091"}, "rate": -49.24, "amount": -49.24, "description": "Volume discount 2%"}
    assert [ln["item"]["id"] for ln in lines] == ["5001", "5002", "5091"]
    assert round(sum(ln["amount"] for ln in lines), 2) == 2412.76 == event["total"]
    assert "memo" not in payload and event["charges_left_off"] is None
    # The discount item is no customer item code: only the product lines' codes are remembered.
    assert db(server, "SELECT customer_item_code, item_id FROM customer_item_xref ORDER BY 1") == [
        ("DF-118", "5001"), ("DF-207", "5002")]
    assert hidden(page, "cn") == "1"  # the form's row, as the parse has it: no item yet
    assert (value(page, "c0_desc"), value(page, "c0_amount"), value(page, "c0_item")) == ("Volume discount 2%",
                                                                                          "-49.24", "")


def test_the_page_shows_the_orders_total_beside_the_pos_less_tax(audited):
    _server, item, client = audited
    page = client.get(f"/review/orders/{item}").text
    assert "the PO's total less tax: 2,412.76" in page
    page = client.post(f"/review/orders/{item}/approve",
                       data=mozzarella(client, page, l1_price="64.00", c0_item="DISC-VOL", search="1")).text
    shown = re.sub(r"<[^>]+>", "", page[page.index('class="totals order-total"'):]).split("</p>")[0]
    assert "This sales order before tax: 2,412.76" in shown and "match" in shown
    page = client.post(f"/review/orders/{item}/approve",
                       data=mozzarella(client, page, c0_off="1", search="1")).text
    assert "This sales order before tax: <b>2,462.00</b>" in page and "differ by 49.24" in page


def test_freight_is_carried_as_an_other_charge_line_of_quantity_one(server):
    server, item, client = po_queue(server, parsed_po())  # the seed's PO: freight 35.00
    page = client.get(f"/review/orders/{item}").text
    assert (value(page, "c0_desc"), value(page, "c0_amount")) == ("Freight", "35.00")
    response = client.post(f"/review/orders/{item}/approve", data=mozzarella(client, page, c0_item="frt"))
    assert response.status_code == 303, response.text
    payload, event = approved(server, item)
    assert payload["item"]["items"][-1] == {"item": {"id": "5090"}, "rate": 35.0, "amount": 35.0,
                                            "description": "Freight", "quantity": 1}
    assert event["total"] == 2497.0


def test_charges_left_off_are_named_in_the_memo_after_the_reviewers(freight_and_discount):
    server, item, client = freight_and_discount
    page = client.get(f"/review/orders/{item}").text
    assert [value(page, f"c{i}_desc") for i in range(2)] == ["Freight", "Volume discount 2%"]
    form = mozzarella(client, page, memo="dock 4", c0_off="1", c1_off="1")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    payload, event = approved(server, item)
    assert payload["memo"] == "dock 4 — PO charges left off: Freight 25.00; Volume discount 2% -49.24"
    assert [ln["item"]["id"] for ln in payload["item"]["items"]] == ["5001", "5002"]
    assert event["charges_left_off"] == [{"description": "Freight", "amount": 25.0},
                                         {"description": "Volume discount 2%", "amount": -49.24}]
    assert event["total"] == 2462.0


def test_a_carried_charge_without_an_item_is_refused_naming_it_with_the_values_kept(freight_and_discount):
    server, item, client = freight_and_discount
    page = client.get(f"/review/orders/{item}").text
    form = mozzarella(client, page, memo="dock 4", c0_item="FRT", c1_amount="−50.00", c1_desc="Volume discount")
    refused = client.post(f"/review/orders/{item}/approve", data=form)
    assert refused.status_code == 422
    assert ("charge 2 (Volume discount, −50.00): choose the NetSuite item it is booked as — a discount or "
            "other-charge item from the item list — or tick leave off") in html.unescape(refused.text)
    kept = {name: value(refused.text, name) for name in ("c0_item", "c1_amount", "c1_desc", "memo", "l1_item")}
    assert kept == {"c0_item": "FRT", "c1_amount": "−50.00", "c1_desc": "Volume discount", "memo": "dock 4",
                    "l1_item": "CHS-MOZZ-LMPS"}
    unknown = client.post(f"/review/orders/{item}/approve", data=form | {"c1_item": "DISC-XX"})
    assert unknown.status_code == 422 and "charge 2 (Volume discount, −50.00): item &#39;DISC-XX&#39; is not in " \
        "the item list; choose the NetSuite item" in unknown.text
    untouched(server, item)
    # A post without the charges (a page from before them) is refused too: the PO's charges are never forgotten.
    stale = {k: v for k, v in mozzarella(client, page).items() if not k.startswith("c")} | {"csrf": client.csrf}
    response = client.post(f"/review/orders/{item}/approve", data=stale)
    assert response.status_code == 422 and "charge 1 (Freight, 25.00): choose the NetSuite item" in response.text
    assert hidden(response.text, "cn") == "2"
    untouched(server, item)


def test_a_memo_too_long_for_the_charges_left_off_is_refused(freight_and_discount):
    server, item, client = freight_and_discount
    page = client.get(f"/review/orders/{item}").text
    long_memo = "x" * 990
    refused = client.post(f"/review/orders/{item}/approve",
                          data=mozzarella(client, page, memo=long_memo, c0_off="1", c1_item="DISC-VOL"))
    assert refused.status_code == 422
    assert ("memo: the sales order&#39;s memo also names the charges left off (34 characters): shorten your memo "
            "to at most 963 characters (it has 990)") in refused.text
    assert value(refused.text, "memo") == long_memo and re.search(r'name="c0_off" value="1"[^>]*checked', refused.text)
    untouched(server, item)
    fits = mozzarella(client, page, memo="x" * 963, c0_off="1", c1_item="DISC-VOL")
    assert client.post(f"/review/orders/{item}/approve", data=fits).status_code == 303
    assert len(approved(server, item)[0]["memo"]) == 1000


def test_search_and_add_rows_keep_the_charges_as_typed(freight_and_discount):
    server, item, client = freight_and_discount
    page = client.get(f"/review/orders/{item}").text
    typed = {"c0_item": "FRT", "c0_amount": "27.50", "c1_off": "1"}
    for button in ("search", "add_rows"):
        again = client.post(f"/review/orders/{item}/approve", data=page_form(client, page, **typed, **{button: "1"}))
        assert again.status_code == 200
        assert (value(again.text, "c0_item"), value(again.text, "c0_amount")) == ("FRT", "27.50")
        assert re.search(r'name="c1_off" value="1"[^>]*checked', again.text)
        assert not re.search(r'name="c0_off" value="1"[^>]*checked', again.text)
    untouched(server, item)


def test_a_code_two_items_share_is_refused_naming_them_not_as_unknown(audited):
    server, item, client = audited
    server.run(server.env.db.write(lambda conn: conn.executemany(
        "INSERT INTO spec_items (item_id, item_code, description, uom) VALUES (?, ?, 'Twin', 'CS')",
        [("9101", "twin-1"), ("9102", "TWIN-1")])))
    page = client.get(f"/review/orders/{item}").text
    refused = client.post(f"/review/orders/{item}/approve",
                          data=mozzarella(client, page, l1_item="Twin-1", c0_item="twin-1")).text
    assert ("line 2: item &#39;Twin-1&#39; matches more than one item (twin-1 (id 9101), TWIN-1 (id 9102)): type the "
            "internal id") in refused
    assert "charge 1 (Volume discount 2%, -49.24): item &#39;twin-1&#39; matches more than one item" in refused
    untouched(server, item)


# The form's and the payload's pure parts.

HEADER = {"customer_id": "1187", "po_number": "DF-40412", "tran_date": "2026-11-19", "ship_date": "", "memo": "",
          "n": "1", "cn": "2"}
ROW = {"no": "1", "code": "", "item": "OIL-CAN-35", "desc": "", "qty": "2", "uom": "EA", "price": "10.00",
       "parsed_item": "", "drop": ""}
RESOLVED = {"OIL-CAN-35": "5003", "FRT": "5090", "DISC-VOL": "5091"}


def charge(desc, amount, item="", off=""):
    return {"desc": desc, "amount": amount, "item": item, "off": off}


def test_charge_rows_from_the_parse_freight_first_tax_never_zero_none():
    parsed = {"freight": 35, "tax": 12.5, "other_charges": [DISCOUNT, {"description": "Fuel surcharge", "amount": 0}]}
    assert charges_from_parsed(parsed) == [charge("Freight", "35.00"), charge("Volume discount 2%", "-49.24")]
    assert charges_from_parsed({"freight": 0, "other_charges": []}) == []


@pytest.mark.parametrize("amount, message", [
    ("0", "charge 1: amount: must not be zero"),
    ("12.345", "charge 1: amount: Decimal input should have no more than 2 decimal places"),
    ("1000000.01", "charge 1: amount: Input should be less than or equal to 1000000"),
    ("-1,000,000.01", "charge 1: amount: Input should be greater than or equal to -1000000"),
    ("", "charge 1: amount: Input should be a valid decimal")])
def test_a_charge_amount_is_non_zero_two_decimals_within_a_million(amount, message):
    order, errors = reviewed_order(HEADER, [ROW], RESOLVED, [charge("Freight", amount, "FRT"),
                                                              charge("Volume discount 2%", "-49.24", off="1")])
    assert order is None and errors == [message]


def test_the_reviewed_order_totals_its_carried_charges_and_the_memo_names_the_rest():
    order, errors = reviewed_order(HEADER | {"memo": "dock 4"}, [ROW], RESOLVED,
                                   [charge("Freight", "$1,025.00", "FRT"), charge("Volume discount 2%", "−0.40",
                                                                                  off="1")])
    assert errors == [] and order is not None
    assert order.total == Decimal("1045.00")  # 2 x 10.00 and the freight; the discount is left off
    assert order.sales_order_memo == "dock 4 — PO charges left off: Volume discount 2% -0.40"


def test_salesorder_payload_books_charges_after_the_lines():
    line = ReviewedLine(line_no=1, item_id="5003", quantity=Decimal(2), uom="EA", unit_price=Decimal("42.25"))
    order = ReviewedOrder(customer_id="1187", tran_date=date(2026, 11, 19), memo="dock 4", lines=[line],
                          charges=[OrderCharge(item_id="5091", description="Volume discount 2%", amount=Decimal("-1.69")),
                                   OrderCharge(item_id="5090", description="Freight", amount=Decimal(25))],
                          charges_left_off=[ChargeLeftOff(description="Fuel surcharge", amount=Decimal("7.5"))])
    body = salesorder_payload(order, external_id="gfs-review-7")
    assert body["item"]["items"] == [
        {"item": {"id": "5003"}, "quantity": 2, "rate": 42.25, "amount": 84.5, "units": "EA"},
        {"item": {"id": "5091"}, "rate": -1.69, "amount": -1.69, "description": "Volume discount 2%"},
        {"item": {"id": "5090"}, "rate": 25.0, "amount": 25.0, "description": "Freight", "quantity": 1}]
    assert body["memo"] == "dock 4 — PO charges left off: Fuel surcharge 7.50"
    assert order.total == Decimal("107.81")
    plain = ReviewedOrder(customer_id="1187", tran_date=date(2026, 11, 19), lines=[line])
    assert "memo" not in salesorder_payload(plain, external_id="x") and plain.total == Decimal("84.50")


# The approved order as NetSuite sends it back: its charge lines are not products to price.

async def test_the_price_review_skips_an_orders_discount_and_charge_lines(env, tmp_path):
    await load_reference(env, tmp_path / "ref", pricing_master__csv=PRICING_HEADER + "501,,40.00,CS,,\n",
                         spec_items__csv="item_id,item_code,description,uom,is_assembly,pack_size\n"
                                         "501,CHS-1,Cheddar,CS,0,\n5090,FRT,Freight charge,,0,\n"
                                         "5091,DISC-VOL,Volume discount,,0,\n")
    await apply(env, customer("1187", "Driscoll Foods"))
    order = sales_order("9101", "1187", [("501", 10, 40.00), ("5091", 1, -8.00), ("5090", 1, 25.00)])
    items = order["record"]["item"]["items"]
    items[1] |= {"quantity": None, "amount": -8.0}  # a discount: its negative rate says so
    items[2]["itemType"] = {"id": "OthCharge", "refName": "Other Charge"}  # freight: NetSuite's item type says so
    await apply(env, order)
    assert (await drain(env, [quote_review.WORKFLOW, assembly_item.WORKFLOW]))["proposed"] == 0
    assert await proposals(env) == []  # was: both flagged "no price on file", a pricing review for a clean order
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert "1 priced line(s) checked" in note["observation"] and "all within program" in note["observation"]


def test_configured_charge_items_fill_the_rows_and_the_reviewer_may_change_them(freight_and_discount):
    # [review] freight_item / discount_item: the item each PO's freight and discounts are booked as, filled in
    # (it was blank on every PO, one more thing to type for each).
    server, item, client = freight_and_discount
    review = server.env.settings.review.model_copy(update={"freight_item": "FRT", "discount_item": "DISC-VOL"})
    server.env.settings = server.env.settings.model_copy(update={"review": review})
    page = client.get(f"/review/orders/{item}").text
    assert (value(page, "c0_desc"), value(page, "c0_item")) == ("Freight", "FRT")
    assert (value(page, "c1_desc"), value(page, "c1_item")) == ("Volume discount 2%", "DISC-VOL")
    response = client.post(f"/review/orders/{item}/approve", data=mozzarella(client, page))
    assert response.status_code == 303, response.text
    payload, _ = approved(server, item)
    assert [(ln["item"]["id"], ln["amount"]) for ln in payload["item"]["items"][2:]] == [("5090", 25.0),
                                                                                         ("5091", -49.24)]


def test_charge_items_by_sign_from_the_configuration():
    from worker.config import Review

    items = Review(freight_item="FRT", discount_item="DISC", charge_item="SURCH")
    parsed = {"freight": "12.50", "other_charges": [{"description": "Fuel", "amount": 4}, DISCOUNT,
                                                    {"description": "Odd", "amount": "n/a"}]}
    assert [(c["desc"], c["item"]) for c in charges_from_parsed(parsed, items)] == [
        ("Freight", "FRT"), ("Fuel", "SURCH"), ("Volume discount 2%", "DISC"), ("Odd", "SURCH")]
    assert {c["item"] for c in charges_from_parsed(parsed)} == {""}  # none configured: the reviewer names one


@pytest.fixture
def typed_by_hand(server):
    """A needs-manual PO (no parse: no charge rows) with the charge items on file, and a signed-in client."""
    return po_queue(server, {"po_number": "M-2", "lines": [], "findings": []})


def test_add_a_charge_gives_a_po_typed_by_hand_its_freight(typed_by_hand):
    # A PO typed by hand had no way to carry its freight or a discount: rows came from the parse only.
    server, item, client = typed_by_hand
    page = client.get(f"/review/orders/{item}").text
    assert hidden(page, "cn") == "0" and "Add a charge" in page
    lines = {"customer_id": "1187", "l0_item": "CHS-CHED-40", "l0_qty": "2", "l0_price": "98.50"}
    added = client.post(f"/review/orders/{item}/approve", data=page_form(client, page, **lines, add_charge="1"))
    assert added.status_code == 200, added.text
    page = added.text
    assert hidden(page, "cn") == "1" and value(page, "c0_desc") == value(page, "c0_item") == ""
    assert value(page, "l0_item") == "CHS-CHED-40"  # what was typed is kept; nothing decided
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
    # A second blank charge row, left empty, is nothing at approval.
    page = client.post(f"/review/orders/{item}/approve", data=page_form(client, page, add_charge="1")).text
    assert hidden(page, "cn") == "2"
    response = client.post(f"/review/orders/{item}/approve", data=page_form(
        client, page, c0_desc="Delivery", c0_amount="15", c0_item="FRT"))
    assert response.status_code == 303, response.text
    payload, event = approved(server, item)
    assert payload["item"]["items"][-1] == {"item": {"id": "5090"}, "rate": 15.0, "amount": 15.0, "quantity": 1,
                                            "description": "Delivery"}
    assert event["total"] == 212.0


def test_add_a_charge_stops_at_the_most_an_order_can_carry(typed_by_hand):
    server, item, client = typed_by_hand
    page = client.get(f"/review/orders/{item}").text
    full = {"cn": "50"} | {f"c{i}_{k}": "" for i in range(50) for k in ("desc", "amount", "item")}
    response = client.post(f"/review/orders/{item}/approve", data=page_form(client, page, **full, add_charge="1"))
    assert response.status_code == 422
    assert "no charge was added: this page can carry at most 50 charges" in html.unescape(response.text)
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
