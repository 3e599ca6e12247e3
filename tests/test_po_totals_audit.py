"""Audit fixes for a PO's sums and prices: a line printed without a price no longer switches the subtotal and
total checks off (K1), and a price printed per another unit than the quantity is not taken as the line's
unit price (K9)."""

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
from worker.po import values
from worker.po.model import LINE_PROBLEMS, POLine, PurchaseOrder, validate_order
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.po.vision import tool_input_schema

TODAY = date(2026, 3, 21)
CHICKEN = ("DF-10023", "CHICKEN BREAST BNLS 4OZ IQF 10# CS")
SALMON = ("DF-83391", "SALMON FILLET (MARKET PRICE)")
CHEESE = ("DF-20417", "MELT MATES AMERICAN CHEESE SLICED 4/5#")


def _pdf(rows: list[tuple[str, ...]], totals: list[tuple[str, str]]) -> bytes:
    """A one-page order: Item, Description, Qty, UOM, Unit Price, Amount, then the totals."""
    p = Page()
    p.t(40, 45, "Driscoll Foods", font=("Helvetica-Bold", 16))
    p.t(400, 70, "PO #: PO-3002")
    p.t(400, 82, "Date: 03/20/2026")
    p.block(40, 110, "Bill To:", ["Driscoll Foods", "17 Industrial Road", "Clifton, NJ 07011"])
    xs = (40, 110, 330, 400, 450, 520)
    right = (False, False, True, False, True, True)
    for x, head, r in zip(xs, ("Item", "Description", "Qty", "UOM", "Unit Price", "Amount"), right, strict=True):
        p.t(x + (50 if r else 0), 180, head, right=r, font=("Helvetica-Bold", 8))
    y = 180
    for row in rows:
        y += 13
        for x, cell, r in zip(xs, row, right, strict=True):
            if cell:
                p.t(x + (50 if r else 0), y, cell, right=r)
    for label, value in totals:
        y += 13
        p.t(400, y + 12, f"{label}:")
        p.t(570, y + 12, value, right=True)
    return p.done()


def _parse(pdf: bytes) -> PurchaseOrder:
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=TODAY))


def _found(po: PurchaseOrder) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in po.findings:
        out.setdefault(f.code, []).append(f)
    return out


def _order(lines: list[POLine], **kw: object) -> PurchaseOrder:
    return PurchaseOrder(po_number="PO-1", po_date=TODAY, lines=lines, **kw)


def _codes(po: PurchaseOrder) -> set[tuple[str, int | None]]:
    return {(f.code, f.line_no) for f in validate_order(po, today=TODAY)}


# --- K1: a line without a price ----------------------------------------------------------------------------

PRICED = (("1", "455.00"), ("3", "125.50"))  # the two priced lines sum to 580.50


def _market_price_lines() -> list[POLine]:
    return [POLine(line_no=1, quantity=Decimal(10), unit_price=Decimal("45.50"), amount=Decimal("455.00")),
            POLine(line_no=2, quantity=Decimal(5), uom="LB"),
            POLine(line_no=3, quantity=Decimal(2), unit_price=Decimal("62.75"), amount=Decimal("125.50"))]


def test_a_subtotal_above_the_priced_lines_is_a_gap_naming_the_unpriced_lines() -> None:
    # The audit's repro: 455.00 + 125.50 printed as 1,580.50 with a "market price" line between them.
    # Before, the unpriced line switched both checks off: no finding at all.
    po = _parse(_pdf([(*CHICKEN, "10", "CS", "45.50", "455.00"), (*SALMON, "5", "LB", "", ""),
                      (*CHEESE, "2", "CS", "62.75", "125.50")], [("Subtotal", "1,580.50"), ("Total", "$1,580.50")]))
    assert [ln.amount for ln in po.lines] == [Decimal("455.00"), None, Decimal("125.50")]
    found = _found(po)
    [missing] = found["missing_price"]
    assert missing.line_no == 2 and missing.severity == "warning"
    [gap] = found["subtotal_gap"]
    assert gap.severity == "warning"
    assert "580.50" in gap.message and "1580.50" in gap.message and "1000.00" in gap.message
    assert "1 line without a price (line 2)" in gap.message
    assert "subtotal_mismatch" not in found and "total_mismatch" not in found
    assert po.confidence["lines"] < 0.9  # the difference may be a line that was not read


def test_a_subtotal_below_the_priced_lines_is_a_mismatch() -> None:
    found = {f.code: f for f in validate_order(_order(_market_price_lines(), subtotal=Decimal("500.00")),
                                               today=TODAY)}
    assert found["subtotal_mismatch"].severity == "error"
    assert "580.50" in found["subtotal_mismatch"].message and "line 2" in found["subtotal_mismatch"].message
    assert "subtotal_gap" not in found


def test_a_subtotal_equal_to_the_priced_lines_only_flags_the_unpriced_line() -> None:
    assert _codes(_order(_market_price_lines(), subtotal=Decimal("580.50"), total=Decimal("580.50"))) == {
        ("missing_price", 2)}


@pytest.mark.parametrize(("total", "code"), [("1580.50", "total_gap"), ("500.00", "total_mismatch"),
                                             ("580.50", None)])
def test_without_a_subtotal_the_total_is_checked_against_the_priced_lines(total, code) -> None:
    codes = _codes(_order(_market_price_lines(), total=Decimal(total)))
    assert codes == {("missing_price", 2)} | ({(code, None)} if code else set())


def test_a_printed_subtotal_still_checks_the_total() -> None:
    # The total follows from the printed subtotal, whatever the lines: that check never depended on them.
    codes = _codes(_order(_market_price_lines(), subtotal=Decimal("1580.50"), total=Decimal("1600.00")))
    assert ("total_mismatch", None) in codes and ("subtotal_gap", None) in codes


def test_lines_without_prices_are_not_flagged_on_an_order_that_prices_none() -> None:
    # Order guides and typed orders print no prices: nothing to flag, nothing to sum.
    lines = [POLine(line_no=1, quantity=Decimal(10)), POLine(line_no=2, quantity=Decimal(5))]
    assert _codes(_order(lines, subtotal=Decimal("99.00"))) == set()


def test_a_note_line_and_an_unread_price_are_not_missing_prices() -> None:
    lines = [POLine(line_no=1, quantity=Decimal(10), unit_price=Decimal("45.50"), amount=Decimal("455.00")),
             POLine(line_no=2, description="deliver to dock 2"),
             POLine(line_no=3, quantity=Decimal(2), unread={"unit_price": "MKT"})]
    codes = _codes(_order(lines, subtotal=Decimal("455.00")))
    assert codes == {("unreadable_cell", 3)}  # the unread line is named once; the note line is no item


def test_every_line_priced_keeps_the_old_checks() -> None:
    lines = [ln for ln in _market_price_lines() if ln.line_no != 2]
    assert _codes(_order(lines, subtotal=Decimal("580.50"), total=Decimal("580.50"))) == set()
    assert _codes(_order(lines, subtotal=Decimal("1580.50"))) == {("subtotal_mismatch", None)}
    assert _codes(_order(lines, total=Decimal("1580.50"))) == {("total_mismatch", None)}


# --- K9: a price per another unit than the quantity's --------------------------------------------------------


@pytest.mark.parametrize(("text", "unit"), [("3.89/LB", "LB"), ("$45.50 per case", "CS"), ("45.50", None),
                                            ("12/CS", None), ("45.50/XYZ", None)])
def test_the_unit_a_price_is_printed_per(text, unit) -> None:
    assert values.price_unit(text) == unit


def test_a_per_pound_price_on_a_case_line_is_flagged_not_taken_as_a_case_price() -> None:
    # The audit's repro: catch weight, 2 cases at 3.89/LB = 311.20. Before, 3.89 became the price per CS and
    # only the line's arithmetic looked wrong (2 x 3.89 = 7.78).
    po = _parse(_pdf([("DF-30088", "BEEF GROUND 80/20 4/10LB", "2", "CS", "3.89/LB", "311.20"),
                      (*CHEESE, "2", "CS", "62.75", "125.50")], [("Subtotal", "436.70"), ("Total", "436.70")]))
    beef = po.lines[0]
    assert (beef.quantity, beef.uom, beef.unit_price, beef.amount) == (Decimal(2), "CS", None, Decimal("311.20"))
    found = _found(po)
    [differs] = found["price_unit_differs"]
    assert differs.line_no == 1 and differs.severity == "warning"
    assert "'3.89/LB'" in differs.message and "per LB" in differs.message and "in CS" in differs.message
    assert set(found) == {"price_unit_differs"}  # no line_amount_mismatch, no missing_price; the sum holds
    assert "price_unit_differs" in LINE_PROBLEMS and po.confidence["lines"] == 0.45
    assert "price_in_other_unit" not in json.loads(po.model_dump_json())["lines"][0]
    assert "price_in_other_unit" not in json.dumps(tool_input_schema())


def test_a_price_per_the_lines_own_unit_is_read() -> None:
    po = _parse(_pdf([(*CHICKEN, "12", "CASE", "45.50/CS", "546.00"), (*CHEESE, "3", "CS", "$62.75 per case",
                                                                         "188.25")], [("Subtotal", "734.25")]))
    assert [ln.unit_price for ln in po.lines] == [Decimal("45.50"), Decimal("62.75")]
    assert po.findings == []



async def test_the_intake_price_check_does_not_compare_a_per_pound_price_with_a_case_price(seeded: Env) -> None:
    # DF-10023 is Driscoll's chicken, priced 45.50 per CS. Before, 4.55/LB was checked as 4.55 per CS: a -90%
    # price_deviation that was never one.
    pdf = _pdf([(*CHICKEN, "2", "CS", "4.55/LB", "91.00")], [("Subtotal", "91.00"), ("Total", "91.00")])
    received = await accept_raw(seeded, order_email([("po.pdf", pdf)]), door="http")
    await process_email(seeded, received.email_id)
    [item] = [dict(r) for r in await seeded.db.fetchall("SELECT * FROM review_items WHERE email_id = ?",
                                                          (received.email_id,))]
    codes = {f["code"] for f in json.loads(item["flags_json"])}
    assert "price_unit_differs" in codes and "price_deviation" not in codes
    [line] = json.loads(item["parsed_json"])["lines"]
    assert (line["item_id"], line["uom"], line["unit_price"], line["amount"]) == ("I448812", "CS", None, 91.0)
