"""The title "Purchase Order" is no PO-number label: it never takes another box's value printed under it."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.po.layouts import Page
from worker.po.parser import (
    ParseHints,
    parse_purchase_order,
    parse_purchase_orders,
    split_orders,
)
from worker.po.textlayer import extract_pdf

COLS = [("Item", 40, False), ("Description", 110, False), ("Qty", 360, True), ("U/M", 380, False),
        ("Rate", 480, True), ("Amount", 560, True)]


def _draw(p: Page, title_box: list[tuple[float, float, str, tuple | None]], rows, total: str) -> None:
    """A QuickBooks-like page: letterhead left, title right, the caller's boxes under the title, a table."""
    p.t(40, 50, "Bayou Bistro Group LLC", font=("Helvetica", 12))
    p.t(40, 72, "22 Canal St")
    p.t(40, 84, "New Orleans, LA 70112")
    p.t(560, 50, "Purchase Order", right=True, font=("Helvetica", 18))
    for x, y, s, font in title_box:
        p.t(x, y, s, font=font)
    p.t(420, 100, "Date: 02/14/2026")
    p.block(40, 120, "Vendor", ["Gulf Food Service"], step=12)
    p.block(300, 120, "Ship To", ["Bayou Bistro #3", "22 Canal St, New Orleans LA 70112"], step=12)
    y = 190
    for name, x, right in COLS:
        p.t(x, y, name, right=right, font=("Helvetica-Bold", 9))
    y += 15
    for row in rows:
        for (_, x, right), v in zip(COLS, row, strict=True):
            p.t(x, y, v, right=right)
        y += 13
    p.t(480, y + 10, "Total", right=True)
    p.t(560, y + 10, total, right=True)


def _grid(po: str) -> list[tuple[float, float, str, tuple | None]]:
    bold = ("Helvetica-Bold", 8)
    return [(420, 72, "Customer ID", bold), (500, 72, "P.O. Number", bold), (420, 84, "BAY001", None), (500, 84, po, None)]


ROW1 = ("448812", "CHICKEN BREAST IQF", "12", "CS", "45.50", "546.00")
ROW2 = ("117650", "AMERICAN CHEESE", "3", "CS", "62.75", "188.25")


def _parse(pdf: bytes):
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=date(2026, 3, 1)))


def test_the_value_under_the_title_is_not_the_po_number():
    p = Page()
    _draw(p, _grid("4500123"), [ROW1, ROW2], "$734.25")
    po = _parse(p.done())
    # Was 'BAY001' (the Customer ID under the title) at 0.95 with no finding.
    assert (po.po_number, po.confidence["po_number"]) == ("4500123", 0.95)
    assert po.total == Decimal("734.25") and not po.findings


def test_two_orders_from_one_customer_in_one_pdf_are_split():
    p = Page()
    _draw(p, _grid("4500123"), [ROW1], "$546.00")
    p.c.showPage()
    p.font("Helvetica", 9)
    _draw(p, _grid("4500124"), [ROW2], "$188.25")
    pdf = extract_pdf(p.done(), 50)
    # Both pages named 'BAY001' under the title, so the second read as a continuation of the first.
    assert split_orders(pdf) == [range(1), range(1, 2)]
    parts = parse_purchase_orders(pdf, ParseHints(today=date(2026, 3, 1)))
    assert [(pages, po.po_number, po.total) for pages, po in parts] == \
        [(range(1), "4500123", Decimal("546.00")), (range(1, 2), "4500124", Decimal("188.25"))]


@pytest.mark.parametrize("mark", ["#PO-4521", "No. PO-4521"])
def test_a_number_under_the_title_carrying_its_own_mark_is_read(mark):
    p = Page()
    _draw(p, [(420, 72, mark, None)], [ROW1], "$546.00")  # NetSuite prints "#PO-1234" under the title
    assert _parse(p.done()).po_number == "PO-4521"


@pytest.mark.parametrize("title", [[(40, "Purchase Order PO-4521")], [(40, "PURCHASE ORDER: PO-4521")],
                                   [(40, "Purchase Order"), (220, "PO-4521")]])
def test_a_title_naming_its_number_on_its_line_is_read(title):
    p = Page()
    for x, s in title:
        p.t(x, 45, s, font=("Helvetica-Bold", 16))
    p.t(40, 70, "Customer ID")
    p.t(40, 82, "BAY001")
    p.block(300, 70, "Ship To", ["Bayou Bistro #3", "22 Canal St"])
    for name, x, right in COLS:
        p.t(x, 190, name, right=right, font=("Helvetica-Bold", 9))
    for (_, x, right), v in zip(COLS, ROW1, strict=True):
        p.t(x, 205, v, right=right)
    po = _parse(p.done())
    assert (po.po_number, po.confidence["po_number"]) == ("PO-4521", 0.9)


def test_an_explicit_po_number_label_beats_a_number_in_the_title():
    p = Page()
    p.t(40, 45, "Purchase Order 1234567", font=("Helvetica-Bold", 16))
    p.t(300, 70, "P.O. Number: 4500123")
    for name, x, right in COLS:
        p.t(x, 190, name, right=right, font=("Helvetica-Bold", 9))
    for (_, x, right), v in zip(COLS, ROW1, strict=True):
        p.t(x, 205, v, right=right)
    assert _parse(p.done()).po_number == "4500123"
