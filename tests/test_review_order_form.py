"""The order form's pure parts (line numbering of parsed and submitted rows), and typed prices over real HTTP."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from handlers.review.order_form import (
    quoted_price,
    reviewed_order,
    rows_from_form,
    rows_from_parsed,
    unique_line_numbers,
)
from tests.test_review_orders import approve_form, queue  # noqa: F401  (the live server with one PO)

# The seed PO's freight, left off (tests/test_review_order_charges.py covers carrying it).
FREIGHT_OFF = {"cn": "1", "c0_desc": "Freight", "c0_amount": "35.00", "c0_off": "1"}
HEADER = {"customer_id": "1187", "po_number": "DF-40412", "tran_date": "2026-11-19", "ship_date": "", "memo": ""}
RESOLVED = {"OIL-CAN-35": "5003", "FLR-AP-50": "5004", "CHS-CHED-40": "5001"}


def row(no: str, item: str, drop: str = "") -> dict[str, str]:
    return {"no": no, "code": "", "item": item, "desc": "", "qty": "2", "uom": "EA", "price": "10.00",
            "parsed_item": "", "drop": drop}


def test_blank_and_repeated_numbers_take_the_next_unused_one():
    assert unique_line_numbers(["1", "2", "2"], []) == [1, 2, 3]
    assert unique_line_numbers(["2", "", "2", "1"], ["7"]) == [2, 8, 9, 1]  # above every number on the form
    assert unique_line_numbers(["0", "²", "5", "9" * 5000], []) == [6, 7, 5, 8]  # unusable: numbered, never a crash


def test_kept_rows_repeating_a_number_are_renumbered_not_refused():
    rows = [row("1", "OIL-CAN-35"), row("2", "FLR-AP-50"), row("2", "CHS-CHED-40"), row("4", "OIL-CAN-35", drop="1")]
    order, errors = reviewed_order(HEADER, rows, RESOLVED)  # was: "lines: line numbers repeat"
    assert errors == [] and order is not None
    assert [(ln.line_no, ln.item_id) for ln in order.lines] == [(1, "5003"), (2, "5004"), (5, "5001")]


def test_parsed_lines_are_shown_with_the_numbers_the_order_will_get():
    parsed = {"lines": [{"line_no": 1, "item_id": "5003"}, {"line_no": 2, "item_id": "5004"},
                        {"line_no": 2, "item_id": "5001"}, {"item_id": "5001"}]}
    assert [r["no"] for r in rows_from_parsed(parsed, {})] == ["1", "2", "5", "4"]  # a line without one: its index


def test_a_form_with_more_rows_than_can_be_approved_is_refused_not_cut():
    form = {**HEADER, "n": "501", **{f"l{i}_{k}": v for i in range(501) for k, v in
                                     (("no", str(i + 1)), ("item", "OIL-CAN-35"), ("qty", "1"), ("price", "1"))}}
    order, errors = reviewed_order(form, rows_from_form(form), RESOLVED)
    assert order is None
    assert errors[0] == ("the order has 501 rows; at most 500 can be approved from this page: enter it in NetSuite "
                         "or split it")


def test_a_comma_is_only_a_thousands_separator():
    def line(qty: str, price: str) -> tuple[object, list[str]]:
        rows = [{**row("1", "OIL-CAN-35"), "qty": qty, "price": price}]
        order, errors = reviewed_order(HEADER, rows, RESOLVED)
        return (order.lines[0].quantity, order.lines[0].unit_price) if order else None, errors

    assert line("1,200", "$1,234.50") == ((Decimal("1200"), Decimal("1234.50")), [])
    # "1,5" (a decimal comma) was read as 15; now the reviewer is told, nothing is guessed.
    assert line("1,5", "98.50") == (None, ["line 1: quantity: Input should be a valid decimal"])
    assert line("2", "98,5") == (None, ["line 1: price: Input should be a valid decimal"])


def test_dates_must_be_plausible_and_the_ship_date_not_before_the_order():
    rows = [row("1", "OIL-CAN-35")]
    assert reviewed_order({**HEADER, "ship_date": "2026-11-18"}, rows, RESOLVED)[1] == [
        "ship date: 2026-11-18 is before the order date 2026-11-19"]
    assert reviewed_order({**HEADER, "tran_date": "0001-01-01"}, rows, RESOLVED)[1] == [
        "order date: Input should be greater than or equal to 2000-01-01"]
    assert reviewed_order({**HEADER, "ship_date": "2026-11-19"}, rows, RESOLVED)[1] == []  # same day is fine


@pytest.mark.parametrize(("text", "price"), [("$1,234.50", Decimal("1234.50")), ("0.0345", Decimal("0.0345")),
                                             ("Infinity", None), ("-Infinity", None), ("NaN", None), ("1e30", None),
                                             ("12.5.1", None), ("1,5", None), ("", None)])
def test_only_a_finite_price_within_the_orders_limit_is_checked(text, price):
    assert quoted_price(text) == price


@pytest.mark.parametrize("price, message", [
    ("Infinity", "line 2: price: Input should be a finite number"),  # these three were a 500
    ("-Infinity", "line 2: price: Input should be a finite number"),
    ("1e30", "line 2: price: Decimal input should have no more than 14 digits in total"),
    ("NaN", "line 2: price: Input should be a finite number"),
    ("12.5.1", "line 2: price: Input should be a valid decimal")])
def test_an_unusable_typed_price_is_a_422_naming_the_line_and_field(queue, price, message):  # noqa: F811
    server, item, client = queue
    response = client.post(f"/review/orders/{item}/approve",
                           data=approve_form(client, item, l1_item="CHS-MOZZ-LMPS", l1_price=price))
    assert response.status_code == 422 and message in response.text
    status = server.run(server.env.db.fetchone("SELECT status FROM review_items WHERE id = ?", (item,)))
    assert status[0] == "pending"


def test_the_price_check_says_when_no_price_is_in_the_lines_unit(queue):  # noqa: F811
    _server, item, client = queue
    form = approve_form(client, item, l1_item="CHS-MOZZ-LMPS", l1_price="10.17", l1_uom="EA", l1_qty="0")
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 422  # the quantity keeps the form open; mozzarella is priced per case only
    assert "no price per EA: priced per CS; spec_items gives no pack count to convert" in response.text


def test_unit_prices_on_the_page_keep_their_sub_cent_digits():
    from handlers.review.web import jinja_environment

    render = jinja_environment().from_string("{{ a | unit_price }}|{{ b | unit_price }}|{{ c | unit_price }}").render
    assert render(a=0.0345, b=12.5, c=None) == "0.0345|12.50|"


def test_an_item_code_that_is_another_items_id_resolves_to_the_item_with_that_code(queue):  # noqa: F811
    server, item, client = queue
    def seed(conn):  # numeric item codes are common, and item ids are small numbers
        conn.execute("INSERT INTO spec_items (item_id, item_code, description, uom) "
                     "VALUES ('9001', '5002', 'Mozzarella LMPS 6/5#, private label', 'CS')")
        conn.execute("UPDATE review_items SET parsed_json = json_set(parsed_json, '$.lines[1].item_id', '9001')")
    server.run(server.env.db.write(seed))
    page = client.get(f"/review/orders/{item}").text
    assert 'name="l1_item" value="5002"' in page and '<option value="5002">Mozzarella LMPS 6/5#, private' in page
    response = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, **FREIGHT_OFF))
    assert response.status_code == 303, response.text  # was 422: "line 2: item '5002' is not in the item list"
    payload = server.run(server.env.db.fetchone("SELECT payload_json FROM proposed_actions WHERE review_item_id = ?",
                                                (item,)))
    assert [ln["item"]["id"] for ln in json.loads(payload[0])["item"]["items"]] == ["5001", "9001"]


def test_an_internal_id_resolves_when_no_code_matches_and_a_shared_code_is_refused(queue):  # noqa: F811
    server, item, client = queue
    server.run(server.env.db.write(lambda conn: conn.executemany(
        "INSERT INTO spec_items (item_id, item_code, description, uom) VALUES (?, ?, 'Twin', 'CS')",
        [("9101", "twin-1"), ("9102", "TWIN-1")])))
    shared = client.post(f"/review/orders/{item}/approve",
                         data=approve_form(client, item, l1_item="Twin-1", **FREIGHT_OFF))
    assert shared.status_code == 422 and ("line 2: item &#39;Twin-1&#39; matches more than one item (twin-1 (id 9101), "
                                          "TWIN-1 (id 9102)): type the internal id") in shared.text  # was "not in the item list"
    by_id = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, l1_item="5003", **FREIGHT_OFF))
    assert by_id.status_code == 303, by_id.text
    payload = server.run(server.env.db.fetchone("SELECT payload_json FROM proposed_actions WHERE review_item_id = ?",
                                                (item,)))
    assert [ln["item"]["id"] for ln in json.loads(payload[0])["item"]["items"]] == ["5001", "5003"]


def test_a_parsed_item_without_a_code_is_shown_by_its_id_not_left_blank():
    assert rows_from_parsed({"lines": [{"item_id": "77"}]}, {"77": ""})[0]["item"] == "77"  # was "": "choose an item"
