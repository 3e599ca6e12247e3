"""Audit CF3: the review order page's price check follows the intake's rule (audit CC7, price_unit_differs): a line
that prints no unit and a price per pound ("Price/LB", "$2.46/lb") is not compared with the per-case price of an
item sold by the case; an item sold per pound is compared as before, and so is a row the reviewer gives a unit."""

from __future__ import annotations

import html
import re

from tests.review_seed import (
    add_review_item,
    hidden,
    parsed_po,
    seed_reference,
    sign_in,
)
from worker.po.model import Finding, PurchaseOrder
from worker.po.parser import PRICE_PER_UNIT, price_units, price_units_in

NOT_COMPARED = "not compared (price per LB; item sold per CS)"


def _per_lb(line_no: int, printed: str) -> dict:
    """The parser's info finding, as parsed_json stores it (parser._price_units' wording and unit)."""
    return {"code": PRICE_PER_UNIT, "severity": "info", "line_no": line_no, "unit": "LB",
            "message": f"line {line_no}: unit price {printed!r} is per LB, and the line prints no unit for its "
                       "quantity"}


def _po() -> dict:
    """A 'Price/LB' PO with no unit column: cheddar (ours sold per CS, 98.50 for Driscoll) at 2.46 per pound, ground
    beef (ours sold per LB, 3.89 for Driscoll) at 3.89 per pound, and flour (per BG) with no per-pound finding."""
    po = parsed_po(po_number="DF-50101")
    po["lines"] = [
        {"line_no": 1, "customer_item_code": "DF-118", "vendor_item_code": None, "item_id": "5001",
         "description": "Cheddar mild 40# block", "quantity": 40, "uom": None, "unit_price": 2.46, "amount": 98.4},
        {"line_no": 2, "customer_item_code": "DF-330", "vendor_item_code": None, "item_id": "5005",
         "description": "Beef ground 80/20 chub", "quantity": 20, "uom": None, "unit_price": 3.89, "amount": 77.8},
        {"line_no": 3, "customer_item_code": "DF-410", "vendor_item_code": None, "item_id": "5004",
         "description": "AP flour 50#", "quantity": 2, "uom": None, "unit_price": 10.0, "amount": 20.0},
    ]
    po["findings"] = [_per_lb(1, "2.46"), _per_lb(2, "3.89")]
    po.update(subtotal=196.2, freight=None, total=196.2)
    return po


def _seed(conn) -> int:
    seed_reference(conn)
    conn.execute("INSERT INTO spec_items (item_id, item_code, description, uom) "
                 "VALUES ('5005', 'BEEF-GRD-8020', 'Beef ground 80/20 chub, 10 lb', 'LB')")
    conn.execute("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom) "
                 "VALUES ('5005', '1187', 3.89, 'LB')")
    return add_review_item(conn, parsed=_po(), flags=["price_unit_differs"])


def _checks(page: str) -> list[str]:
    """The Price check column, row by row, as text."""
    cells = re.findall(r'<td class="check">(.*?)</td>', page, re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def _form(page: str, **changes: str) -> dict[str, str]:
    """The order form as the page shows it (its rows and charges as rendered), with `changes`."""
    form = {"csrf": hidden(page, "csrf"), "n": hidden(page, "n"), "cn": hidden(page, "cn"), "customer_id": "1187",
            "po_number": "DF-50101", "tran_date": "2026-11-19", "ship_date": "2026-11-24", "memo": ""}
    for i in range(int(form["n"])):
        for field in ("no", "code", "item", "desc", "qty", "uom", "price", "parsed", "shown"):
            form[f"l{i}_{field}"] = html.unescape(hidden(page, f"l{i}_{field}"))
    return form | changes


def test_a_price_per_pound_is_not_compared_with_a_case_price_on_the_order_page(server):
    item = server.run(server.env.db.write(_seed))
    client = sign_in(server.url)
    page = client.get(f"/review/orders/{item}")
    assert page.status_code == 200
    cheddar, beef, flour, _blank = _checks(page.text)
    # Before: "98.50 (-97.5%) customer price", a deviation beside the flag saying the price is not compared.
    assert cheddar == NOT_COMPARED and "%" not in cheddar
    assert beef == "3.89 (+0.0%) customer price"  # sold per pound: compared as before
    assert flour == "18.952 (-47.2%) list plus markup"  # no per-pound finding: the line is in the item's own unit


def test_a_unit_the_reviewer_types_gets_the_normal_check(server):
    item = server.run(server.env.db.write(_seed))
    client = sign_in(server.url)
    page = client.get(f"/review/orders/{item}").text
    # Add rows re-renders the form as posted: the rows keep their line numbers, so the PO's findings still apply.
    kept = client.post(f"/review/orders/{item}/approve", data=_form(page, add_rows="1"))
    assert kept.status_code == 200 and _checks(kept.text)[0] == NOT_COMPARED
    typed = client.post(f"/review/orders/{item}/approve", data=_form(page, add_rows="1", l0_uom="CS"))
    assert typed.status_code == 200
    assert _checks(typed.text)[0] == "98.50 (-97.5%) customer price"
    # A row the reviewer adds has no line number: never taken for a PO line, whatever the PO's findings.
    added = _form(page, add_rows="1", n="4", l3_item="CHS-CHED-40", l3_qty="1", l3_price="98.50")
    assert _checks(client.post(f"/review/orders/{item}/approve", data=added).text)[3] == \
        "98.50 (+0.0%) customer price"


def test_price_units_in_reads_the_findings_as_parsed_json_stores_them():
    findings = [_per_lb(1, "2.46"), _per_lb(4, "$4.55/lb"),
                {"code": "unknown_item", "severity": "warning", "line_no": 2, "message": "line 2: no item matched"},
                {"code": PRICE_PER_UNIT, "line_no": None, "unit": "LB"},  # no line: nothing to apply to
                {"code": PRICE_PER_UNIT, "line_no": True, "unit": "LB"},  # a JSON true is no line number
                {"code": PRICE_PER_UNIT, "line_no": 5, "unit": None}, "damaged", None]
    assert price_units_in(findings) == {1: "LB", 4: "LB"}
    for damaged in (None, {}, "findings", 7, [[1, "LB"]]):  # an older or damaged parse names none
        assert price_units_in(damaged) == {}


def test_price_units_reads_a_purchase_order_the_same_way():
    po = PurchaseOrder(findings=[Finding(**f) for f in (_per_lb(1, "2.46"), _per_lb(3, "4.55 per lb"))])
    assert price_units(po) == price_units_in(po.model_dump(mode="json")["findings"]) == {1: "LB", 3: "LB"}


def test_an_approved_order_shows_the_same_check(server):
    item = server.run(server.env.db.write(_seed))
    client = sign_in(server.url)
    approved = client.post(f"/review/orders/{item}/approve", data=_form(client.get(f"/review/orders/{item}").text))
    assert approved.status_code == 303, approved.text
    page = client.get(f"/review/orders/{item}").text
    assert "approved by" in page and _checks(page)[:2] == [NOT_COMPARED, "3.89 (+0.0%) customer price"]
