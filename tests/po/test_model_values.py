"""Model contract (JSON numbers, round trip), validate_order findings, and value parsers."""
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from worker.po.model import Charge, POLine, PurchaseOrder, validate_order
from worker.po.values import decimal_comma_style, parse_date, parse_number, split_qty_uom


def _po(**kw) -> PurchaseOrder:
    base = dict(po_number="PO1001", po_date=date(2026, 3, 2), requested_ship_date=date(2026, 3, 5),
                lines=[POLine(line_no=1, quantity=Decimal("12"), unit_price=Decimal("45.50"), amount=Decimal("546.00")),
                       POLine(line_no=2, quantity=Decimal("10.5"), unit_price=Decimal("3.89"), amount=Decimal("40.85"))],
                subtotal=Decimal("586.85"), freight=Decimal("25.00"), tax=Decimal("0"),
                other_charges=[Charge(description="Discount", amount=Decimal("-11.74"))], total=Decimal("600.11"))
    return PurchaseOrder(**{**base, **kw})


def test_numbers_are_json_numbers_and_round_trip():
    po = _po()
    data = json.loads(po.model_dump_json())
    assert data["total"] == 600.11 and data["lines"][1]["quantity"] == 10.5
    assert data["other_charges"][0] == {"description": "Discount", "amount": -11.74}
    assert data["po_date"] == "2026-03-02"
    assert PurchaseOrder.model_validate_json(po.model_dump_json()) == po


def test_valid_order_has_no_findings():
    assert validate_order(_po(), today=date(2026, 3, 3)) == []


@pytest.mark.parametrize("change,code", [
    (dict(subtotal=Decimal("590.00")), "subtotal_mismatch"),
    (dict(total=Decimal("700.00")), "total_mismatch"),
    (dict(lines=[]), "no_lines"),
    (dict(po_number=None), "missing_po_number"),
    (dict(requested_ship_date=date(2026, 3, 1)), "ship_before_po_date"),
    (dict(po_date=date(2031, 1, 1), requested_ship_date=None), "po_date_future"),
    (dict(po_date=date(2019, 1, 1), requested_ship_date=None), "po_date_past"),
])
def test_each_broken_thing_gives_its_finding(change, code):
    codes = {f.code for f in validate_order(_po(**change), today=date(2026, 3, 3))}
    assert code in codes


def test_line_math_finding_names_the_line():
    po = _po()
    po.lines[1].amount = Decimal("48.00")
    found = [f for f in validate_order(po, today=date(2026, 3, 3)) if f.code == "line_amount_mismatch"]
    assert [f.line_no for f in found] == [2]


@pytest.mark.parametrize("amount", [Decimal("4.55E+28"), None])
def test_a_product_too_large_for_money_is_an_error_finding_not_an_exception(amount):
    # quantize raised decimal.InvalidOperation past 28 digits, although validate_order never raises.
    po = _po()
    po.lines[0].quantity, po.lines[0].amount = Decimal("1E+27"), amount
    found = [f for f in validate_order(po, today=date(2026, 3, 3)) if f.code == "implausible_number"]
    assert [(f.severity, f.line_no) for f in found] == [("error", 1)]
    assert "quantity 1E+27 x unit price 45.50 is too large to be an amount of money" in found[0].message


@pytest.mark.parametrize(("quantity", "price", "amount", "said"), [
    ("12", "-45.50", "-546.00", "line 1: unit price -45.50 is negative"),
    (None, None, "-546.00", "line 1: amount -546.00 is negative"),
    ("12", None, "-546.00", "line 1: amount -546.00 is negative"),
    ("-12", "-45.50", "546.00", "line 1: unit price -45.50 is negative"),
    ("-2", "62.75", "-125.50", None),  # a credit line: its negative quantity is the finding (nonpositive_quantity)
])
def test_a_negative_price_or_amount_on_an_item_line_is_flagged(quantity, price, amount, said):
    # Discounts belong in other_charges (SPEC 5): a scan read with a negative price went to review unflagged.
    po = _po()
    po.lines[0] = POLine(line_no=1, quantity=quantity and Decimal(quantity), unit_price=price and Decimal(price),
                         amount=Decimal(amount))
    found = [f for f in validate_order(po, today=date(2026, 3, 3)) if f.code == "negative_price"]
    assert [(f.severity, f.message) for f in found] == ([("warning", said)] if said else [])


@pytest.mark.parametrize("text,dc,value", [
    ("1,234.56", None, "1234.56"), ("1.234,56", None, "1234.56"), ("$ 12.00", None, "12.00"),
    ("(5.00)", None, "-5.00"), ("-5,00 €", True, "-5.00"), ("1.234", True, "1234"), ("1,5", True, "1.5"),
    ("USD 1,000.00", None, "1000.00"), ("abc", None, None), ("12-34", None, None)])
def test_parse_number(text, dc, value):
    assert parse_number(text, dc) == (Decimal(value) if value else None)


@pytest.mark.parametrize("text,day_first,expected,ambiguous", [
    ("11/20/2026", None, date(2026, 11, 20), False), ("2026-11-20", None, date(2026, 11, 20), False),
    ("20.11.2026", None, date(2026, 11, 20), False), ("Nov 20, 2026", None, date(2026, 11, 20), False),
    ("20 November 2026", None, date(2026, 11, 20), False), ("03/04/2026", None, date(2026, 3, 4), True),
    ("03/04/2026", True, date(2026, 4, 3), True), ("Thursday, March 5th, 2026", None, date(2026, 3, 5), False)])
def test_parse_date(text, day_first, expected, ambiguous):
    assert parse_date(text, day_first) == (expected, ambiguous)


def test_decimal_style_and_qty_cells():
    assert decimal_comma_style(["1.234,56 and 12,00"]) is True
    assert decimal_comma_style(["1,234.56"]) is False
    assert split_qty_uom("4 cases", False) == (Decimal(4), "CS")
    assert split_qty_uom("10.5LB", False) == (Decimal("10.5"), "LB")
    assert split_qty_uom("12 boxes of joy", False) == (None, None)


def test_a_quantity_of_zero_is_not_positive():
    line = POLine(line_no=1, quantity=Decimal("0"), unit_price=Decimal("45.50"), amount=Decimal("0.00"))
    found = [f for f in validate_order(_po(lines=[line], subtotal=None, total=None), today=date(2026, 3, 3))
             if f.code == "nonpositive_quantity"]
    assert [(f.line_no, f.message) for f in found] == [(1, "line 1: quantity 0 is not positive")]


@pytest.mark.parametrize(("ahead", "flagged"), [(30, False), (31, False), (32, True)])
def test_a_po_date_more_than_31_days_ahead_is_flagged(ahead, flagged):
    today = date(2026, 3, 3)
    po = _po(po_date=today + timedelta(days=ahead), requested_ship_date=None)
    assert ("po_date_future" in {f.code for f in validate_order(po, today=today)}) is flagged
