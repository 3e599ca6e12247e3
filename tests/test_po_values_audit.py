"""Audit fixes for the values on a PO: cells that cannot be read, signed quantities, per-unit prices,
and thousands separators in orders typed into an email."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.test_email_fixtures import order_email
from worker.env import Env
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.po.model import LINE_PROBLEMS, POLine, PurchaseOrder, validate_order
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.po.typed import typed_lines
from worker.po.values import parse_number, split_qty_uom, unread_cells
from worker.po.vision import tool_input_schema

TODAY = date(2026, 3, 21)
CHICKEN = ("DF-10023", "CHICKEN BREAST BNLS 4OZ IQF 10# CS")
CHEESE = ("DF-20417", "MELT MATES AMERICAN CHEESE SLICED 4/5#")


def _pdf(rows: list[tuple[str, str, str, str, str]], subtotal: str) -> bytes:
    """A one-page order: Item, Description, Qty, Unit Price, Amount, then Subtotal and Total."""
    p = Page()
    p.t(40, 45, "Driscoll Foods", font=("Helvetica-Bold", 16))
    p.t(400, 70, "PO #: PO-3001")
    p.t(400, 82, "Date: 03/20/2026")
    p.block(40, 110, "Bill To:", ["Driscoll Foods", "17 Industrial Road", "Clifton, NJ 07011"])
    xs, right = (40, 110, 380, 450, 520), (False, False, True, True, True)
    for x, head, r in zip(xs, ("Item", "Description", "Qty", "Unit Price", "Amount"), right):
        p.t(x + (50 if r else 0), 180, head, right=r, font=("Helvetica-Bold", 8))
    y = 180
    for row in rows:
        y += 13
        for x, cell, r in zip(xs, row, right):
            if cell:
                p.t(x + (50 if r else 0), y, cell, right=r)
    p.t(400, y + 25, "Subtotal:")
    p.t(570, y + 25, subtotal, right=True)
    p.t(400, y + 38, "Total:")
    p.t(570, y + 38, f"${subtotal}", right=True)
    return p.done()


def _parse(pdf: bytes) -> PurchaseOrder:
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=TODAY))


def _codes_by_line(po: PurchaseOrder) -> dict[int | None, set[str]]:
    out: dict[int | None, set[str]] = {}
    for f in po.findings:
        out.setdefault(f.line_no, set()).add(f.code)
    return out


# --- an amount that cannot be read no longer switches reconciliation off ---------------------------------


def test_an_unread_amount_still_reconciles_and_a_missing_line_is_caught() -> None:
    # Three lines were ordered (subtotal 925.25) but only two were read, and one amount carries a taxable
    # marker. Before, the unread amount switched the subtotal check off: no finding, full confidence.
    po = _parse(_pdf([(*CHICKEN, "12", "45.50", "546.00 T"), (*CHEESE, "3", "62.75", "188.25")], "925.25"))
    assert [ln.amount for ln in po.lines] == [None, Decimal("188.25")]
    [mismatch] = [f for f in po.findings if f.code == "subtotal_mismatch"]
    assert "734.25" in mismatch.message and "1 as quantity x unit price" in mismatch.message
    assert po.confidence["lines"] < 0.9 and po.confidence["subtotal"] < 0.9


def test_computed_amounts_that_add_up_raise_nothing() -> None:
    po = _parse(_pdf([(*CHICKEN, "12", "45.50", "546.00 T"), (*CHEESE, "3", "62.75", "188.25")], "734.25"))
    assert "subtotal_mismatch" not in {f.code for f in po.findings}


def _order(lines: list[POLine], **kw: object) -> PurchaseOrder:
    return PurchaseOrder(po_number="PO-1", po_date=TODAY, lines=lines, **kw)


def test_quantity_times_price_stands_in_for_a_missing_amount() -> None:
    lines = [POLine(line_no=1, quantity=Decimal(12), unit_price=Decimal("45.50")),
             POLine(line_no=2, quantity=Decimal(3), unit_price=Decimal("62.75"), amount=Decimal("188.25"))]
    assert {f.code for f in validate_order(_order(lines, subtotal=Decimal("925.25")), today=TODAY)} == {
        "subtotal_mismatch"}
    assert validate_order(_order(lines, subtotal=Decimal("734.25")), today=TODAY) == []
    # Without a subtotal the total is checked against the lines, computed ones included.
    assert {f.code for f in validate_order(_order(lines, total=Decimal("925.25")), today=TODAY)} == {"total_mismatch"}
    assert validate_order(_order(lines, total=Decimal("734.25")), today=TODAY) == []
    # A line with neither an amount nor a price is named, and the others are still summed: a subtotal below
    # them is a mismatch whatever the unpriced line costs (tests/test_po_totals_audit.py has the rest).
    lines[0].unit_price = None
    assert {(f.code, f.line_no) for f in validate_order(_order(lines, subtotal=Decimal(1)), today=TODAY)} == {
        ("missing_price", 1), ("subtotal_mismatch", None)}


def test_an_unread_cell_is_a_finding_kept_out_of_the_json_and_the_vision_schema() -> None:
    line = POLine(line_no=4, quantity=Decimal(12), unit_price=Decimal("45.50"), unread={"amount": "546.00 T"})
    [found] = [f for f in validate_order(_order([line]), today=TODAY) if f.code == "unreadable_cell"]
    assert found.line_no == 4 and found.severity == "warning" and "'546.00 T'" in found.message
    assert "unreadable_cell" in LINE_PROBLEMS  # the parser lowers the lines' confidence for it
    assert "unread" not in json.loads(_order([line]).model_dump_json())["lines"][0]
    assert "unread" not in json.dumps(tool_input_schema())


@pytest.mark.parametrize(("cells", "qty", "price", "amount", "unread"), [
    ({"qty": "12", "unit_price": "45.50", "amount": "546.00 T"}, 12, 45.5, None, {"amount": "546.00 T"}),
    ({"qty": "12 CS @ 2.30", "amount": "27.60"}, None, None, 27.6, {"qty": "12 CS @ 2.30"}),
    ({"qty": "12", "unit_price": "N/C", "amount": "-"}, 12, None, None, {}),  # "nothing here", not unread
    ({"qty": "12", "unit_price": "", "amount": " — "}, 12, None, None, {}),
])
def test_unread_cells_are_printed_text_that_was_not_read(cells, qty, price, amount, unread) -> None:
    assert unread_cells(cells, qty, price, amount) == unread


# --- a price per unit --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("45.50/CS", "45.50"), ("$45.50 / cs", "45.50"), ("$45/cs", "45"), ("45.50 per case", "45.50"),
    ("1.234,50/KG", "1234.50"),
    ("12/CS", None),  # a pack size as often as a price: not read
    ("45.50/XYZ", None), ("4/5#", None), ("546.00 T", None),
])
def test_a_price_per_unit_is_read_when_it_can_only_be_a_price(text, value) -> None:
    assert parse_number(text) == (Decimal(value) if value else None)


def test_a_per_case_price_cell_is_read_from_a_pdf() -> None:
    po = _parse(_pdf([(*CHICKEN, "12", "45.50/CS", "546.00"), (*CHEESE, "3", "62.75/CS", "188.25")], "734.25"))
    assert [ln.unit_price for ln in po.lines] == [Decimal("45.50"), Decimal("62.75")]
    assert po.findings == []


# --- signed quantities and a line without one --------------------------------------------------------------


@pytest.mark.parametrize(("text", "qty", "uom"), [
    ("-2", "-2", None), ("\u22123 cs", "-3", "CS"), ("(2)", "-2", None), ("(2) CS", "-2", "CS"),
    ("(2 CS)", "-2", "CS"), ("2-", "-2", None), ("12", "12", None), ("4 cases", "4", "CS"),
    ("2-PK", None, None), ("-(2)", None, None), ("12-34", None, None), ("12 CS @ 2.30", None, None),
])
def test_quantity_cells_keep_their_sign(text, qty, uom) -> None:
    assert split_qty_uom(text, None) == ((Decimal(qty), uom) if qty else (None, None))


@pytest.mark.parametrize("printed", ["-2", "(2)"])
def test_a_credit_line_has_a_negative_quantity_and_is_flagged(printed) -> None:
    po = _parse(_pdf([(*CHICKEN, "12", "45.50", "546.00"), (*CHEESE, printed, "62.75", "(125.50)")], "420.50"))
    assert po.lines[1].quantity == Decimal(-2) and po.lines[1].amount == Decimal("-125.50")
    assert _codes_by_line(po) == {2: {"nonpositive_quantity"}}


def test_a_line_with_an_amount_but_no_quantity_is_flagged() -> None:
    po = _parse(_pdf([(*CHICKEN, "12 CS @ 2.30", "", "27.60"), (*CHEESE, "3 CS @ 10.00", "", "30.00")], "57.60"))
    assert [ln.quantity for ln in po.lines] == [None, None]
    flagged = _codes_by_line(po)
    # missing_quantity, or unreadable_cell once the parser passes on the text it could not read
    assert all(flagged.get(n, set()) & {"missing_quantity", "unreadable_cell"} for n in (1, 2))


def test_quantity_findings_without_a_price() -> None:
    lines = [POLine(line_no=1, quantity=Decimal(-2)), POLine(line_no=2, amount=Decimal("27.60")),
             POLine(line_no=3, unit_price=Decimal("2.30")), POLine(line_no=4, description="note only"),
             POLine(line_no=5, amount=Decimal(5), unread={"qty": "5 @ 1"})]
    found = {(f.code, f.line_no) for f in validate_order(_order(lines), today=TODAY)}
    assert found == {("nonpositive_quantity", 1), ("missing_price", 1), ("missing_quantity", 2),
                     ("missing_quantity", 3), ("unreadable_cell", 5)}  # an unread quantity is said once


# --- typed orders: grouped numbers and decimal commas ---------------------------------------------------------


def _read(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(str(t.quantity), t.uom, t.code, None if t.unit_price is None else str(t.unit_price))
            for t in typed_lines(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("1,200 lbs DF-30088", [("1200", "LB", "DF-30088", None)]),
    ("DF-10023 x 1,000", [("1000", None, "DF-10023", None)]),
    ("2 cs DF-10023 @ $1,234.50", [("2", "CS", "DF-10023", "1234.50")]),
    ("12 cs DF-10023 @ 45,50", [("12", "CS", "DF-10023", "45.50")]),
    ("2 cs DF-10023 @ 1.234,50", [("2", "CS", "DF-10023", "1234.50")]),
    ("1,5 kg DF-10023", [("1.5", "KG", "DF-10023", None)]),
    ("DF-10023 x 2,500 lbs", [("2500", "LB", "DF-10023", None)]),
    ("1,2000 lbs DF-30088", []),  # a malformed number is not read from its tail
    ("DF-10023 x 1,2000", []),
    ("12 cs DF-10023 @ 1,2345", [("12", "CS", "DF-10023", None)]),
    # a comma after a code still separates lines
    ("12 cs DF-10023,4 cs DF-20417", [("12", "CS", "DF-10023", None), ("4", "CS", "DF-20417", None)]),
    ("DF-10023 x 12,DF-20417 x 4", [("12", None, "DF-10023", None), ("4", None, "DF-20417", None)]),
])
def test_typed_numbers_are_read_whole(text, expected) -> None:
    assert _read(text) == expected



async def test_a_typed_order_with_thousands_keeps_every_line(seeded: Env) -> None:
    body = "Hi, please send for Friday:\n1,200 lbs DF-30088\nDF-10023 x 1,000\n2 cs DF-20417 @ $1,234.50\nThanks"
    received = await accept_raw(seeded, order_email([], body=body, subject="PO 778812"), door="http")
    await process_email(seeded, received.email_id)
    [item] = [dict(r) for r in await seeded.db.fetchall("SELECT * FROM review_items WHERE email_id = ?",
                                                          (received.email_id,))]
    lines = [(ln["customer_item_code"], ln["quantity"], ln["uom"], ln["unit_price"])
             for ln in json.loads(item["parsed_json"])["lines"]]
    # Before: the 1,200 lb line was read as 200 starting mid-number and dropped; 1,000 became 1; $1,234.50 became 1.
    assert lines == [("DF-30088", 1200.0, "LB", None), ("DF-10023", 1000.0, None, None),
                     ("DF-20417", 2.0, "CS", 1234.5)]
def test_a_cell_the_parser_cannot_read_is_named_and_lowers_confidence() -> None:
    po = _parse(_pdf([(*CHICKEN, "12", "45.50", "546.00 T"), (*CHEESE, "3", "62.75", "188.25")], "734.25"))
    [found] = [f for f in po.findings if f.code == "unreadable_cell"]
    assert found.line_no == 1 and "'546.00 T'" in found.message
    assert "subtotal_mismatch" not in {f.code for f in po.findings}  # 12 x 45.50 stands in for it
    assert po.confidence["lines"] == 0.45  # one line of two not read as printed
