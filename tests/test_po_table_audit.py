"""Item-table edge cases from the PO parser audit: headerless continuation pages, item descriptions that name a
charge, and page subtotal / balance-forward rows. Real PDFs (reportlab) through the real extraction and parser."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.test_email_fixtures import order_email
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.po.doc import doc_lines
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.table import parse_table
from worker.po.textlayer import extract_pdf

XS, RIGHT = (40, 110, 380, 450, 520), (False, False, True, True, True)
HEAD = ("Item", "Description", "Qty", "Unit Price", "Amount")
PAGE1 = [("DF-10023", "CHICKEN BREAST BNLS 4OZ IQF 10# CS", "12", "45.50", "546.00"),
         ("DF-20417", "MELT MATES AMERICAN CHEESE SLICED 4/5#", "3", "62.75", "188.25")]
PAGE2 = [("DF-41152", "POTATO FRY 3/8 STRAIGHT CUT FROZEN 6/5#", "5", "38.20", "191.00"),
         ("DF-50963", "LETTUCE ROMAINE HEARTS 48CT", "2", "41.00", "82.00")]
SUM = "1,007.25"


def _head(p: Page, y: float, header=HEAD, xs=XS) -> None:
    for x, h, r in zip(xs, header, RIGHT):
        p.t(x + (50 if r else 0), y, h, right=r, font=("Helvetica-Bold", 8))


def _rows(p: Page, y: float, rows, xs=XS) -> float:
    for row in rows:
        y += 13
        for x, s, r in zip(xs, row, RIGHT):
            if s:
                p.t(x + (50 if r else 0), y, s, right=r)
    return y


def _letter(p: Page, po: str = "PO-2001") -> None:
    p.t(40, 45, "Driscoll Foods", font=("Helvetica-Bold", 16))
    p.t(400, 70, f"PO #: {po}")
    p.t(400, 82, "Date: 03/20/2026")
    p.block(40, 110, "Bill To:", ["Driscoll Foods", "17 Industrial Road", "Clifton, NJ 07011"])


def _totals(p: Page, y: float, rows) -> None:
    for label, v in rows:
        p.t(400, y, label)
        p.t(570, y, v, right=True)
        y += 13


def _break(p: Page, n: int, of: int = 2) -> None:
    p.t(280, 760, f"Page {n} of {of}")
    p.c.showPage()
    p.font("Helvetica", 9)


def _parse(pdf: bytes):
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=date(2026, 4, 10)))


def _table(pdf: bytes):
    return parse_table(doc_lines(extract_pdf(pdf, 50)), None)


def _codes(po) -> list[str]:
    return [f.code for f in po.findings]


def continuation_without_header() -> bytes:
    """Page 2 goes on with the rows and the totals, without repeating the header row."""
    p = Page()
    _letter(p)
    _head(p, 180)
    _rows(p, 180, PAGE1)
    _break(p, 1)
    p.t(40, 30, "Driscoll Foods  PO-2001 (continued)")
    y = _rows(p, 47, PAGE2) + 25
    _totals(p, y, [("Subtotal:", SUM), ("Total:", f"${SUM}")])
    p.t(280, 760, "Page 2 of 2")
    return p.done()


def test_rows_on_a_page_without_the_header_continue_the_table():
    po = _parse(continuation_without_header())
    assert [ln.customer_item_code for ln in po.lines] == ["DF-10023", "DF-20417", "DF-41152", "DF-50963"]
    assert [ln.line_no for ln in po.lines] == [1, 2, 3, 4]
    assert po.lines[2].quantity == 5 and po.lines[2].amount == Decimal("191.00")
    assert (po.subtotal, po.total) == (Decimal("1007.25"), Decimal("1007.25"))
    assert _codes(po) == []


def test_letterhead_on_a_headerless_page_is_not_an_item():
    po = _parse(continuation_without_header())
    assert not any("continued" in (ln.description or "").lower() for ln in po.lines)
    assert _table(continuation_without_header()).unread == []


def test_an_order_guide_without_prices_continues_on_a_headerless_page():
    header, xs = ("Item", "Description", "Qty", "UOM"), (40, 110, 380, 450)
    p = Page()
    _letter(p)
    _head(p, 180, header, xs)
    _rows(p, 180, [r[:3] + ("CS",) for r in PAGE1], xs)
    _break(p, 1)
    p.t(40, 30, "Driscoll Foods  PO-2001 (continued)")
    _rows(p, 47, [r[:3] + ("CS",) for r in PAGE2], xs)
    po = _parse(p.done())
    assert [(ln.customer_item_code, ln.quantity, ln.uom) for ln in po.lines] == [
        ("DF-10023", 12, "CS"), ("DF-20417", 3, "CS"), ("DF-41152", 5, "CS"), ("DF-50963", 2, "CS")]


def test_totals_alone_on_the_next_page_are_read():
    """The table fills page 1; freight and total stand alone on page 2 without a header."""
    p = Page()
    _letter(p)
    _head(p, 180)
    _rows(p, 180, PAGE1)
    _break(p, 1)
    _totals(p, 60, [("Freight:", "25.00"), ("Total:", "$759.25")])
    pdf = p.done()
    po = _parse(pdf)
    assert len(po.lines) == 2
    assert (po.freight, po.total) == (Decimal("25.00"), Decimal("759.25"))
    assert _codes(po) == []


def test_rows_that_do_not_fit_the_columns_end_the_table_at_the_break_and_are_reported():
    """Page 2 has a different, headerless layout: its rows cannot be placed, so the table ends at the page
    break, the totals are still read (and disagree with the lines), and the rows are listed as unread."""
    p = Page()
    _letter(p)
    _head(p, 180)
    _rows(p, 180, PAGE1)
    _break(p, 1)
    for n, (code, desc, q, price, amount) in enumerate(PAGE2):
        y = 60 + 13 * n
        p.t(40, y, q)
        p.t(60, y, f"{code} {desc}")
        p.t(300, y, price)
        p.t(340, y, amount)
    _totals(p, 120, [("Subtotal:", SUM), ("Total:", f"${SUM}")])
    pdf = p.done()
    po = _parse(pdf)
    assert len(po.lines) == 2
    assert (po.subtotal, po.total) == (Decimal("1007.25"), Decimal("1007.25"))
    assert "subtotal_mismatch" in _codes(po)
    unread = _table(pdf).unread
    assert [ln.text.split("  ")[1][:8] for ln in unread] == ["DF-41152", "DF-50963"]
    [outside] = [f for f in po.findings if f.code == "lines_outside_table"]  # the item is flagged, never silent
    assert outside.severity == "warning" and outside.message.startswith("2 item-like line(s) outside the item table")
    assert po.confidence["lines"] <= 0.45


def test_a_second_order_after_the_table_is_reported_unread():
    p = Page()
    for po_number, rows in (("PO-1001", PAGE1), ("PO-1002", PAGE2)):
        _letter(p, po_number)
        _head(p, 180)
        y = _rows(p, 180, rows) + 25
        _totals(p, y, [("Total:", "$1.00")])
        p.c.showPage()
        p.font("Helvetica", 9)
    assert [ln.frags[0].text for ln in _table(p.done()).unread] == ["DF-41152", "DF-50963"]


def charge_words_in_descriptions() -> bytes:
    header, xs = ("Description", "Qty", "Unit Price", "Amount"), (40, 380, 450, 520)
    p = Page()
    _letter(p, "PO-7001")
    p.t(40, 180, header[0], font=("Helvetica-Bold", 8))
    for x, h in zip(xs[1:], header[1:]):
        p.t(x + 50, 180, h, right=True, font=("Helvetica-Bold", 8))
    rows = [("CHICKEN BREAST BNLS 4OZ IQF", "12", "45.50", "546.00"), ("CHAFING FUEL 2HR WICK 72CT", "4", "38.00", "152.00"),
            ("PALLET WRAP FILM 18IN", "2", "25.00", "50.00"), ("SHIPPING LABELS 4X6 500CT", "1", "12.00", "12.00"),
            ("DISCOUNT NAPKINS 1000CT", "3", "10.00", "30.00"),
            ("Fuel Surcharge", "", "", "15.00"), ("Pallet Deposit", "", "", "20.00"), ("Freight", "", "", "35.00")]
    y = 180
    for row in rows:
        y += 13
        p.t(40, y, row[0])
        for x, s in zip(xs[1:], row[1:]):
            if s:
                p.t(x + 50, y, s, right=True)
    _totals(p, y + 25, [("Subtotal:", "790.00"), ("Total:", "$860.00")])
    return p.done()


def test_items_whose_description_names_a_charge_stay_items():
    po = _parse(charge_words_in_descriptions())
    assert [ln.description for ln in po.lines] == [
        "CHICKEN BREAST BNLS 4OZ IQF", "CHAFING FUEL 2HR WICK 72CT", "PALLET WRAP FILM 18IN",
        "SHIPPING LABELS 4X6 500CT", "DISCOUNT NAPKINS 1000CT"]
    assert [ln.quantity for ln in po.lines] == [12, 4, 2, 1, 3]
    assert [(c.description, c.amount) for c in po.other_charges] == [
        ("Fuel Surcharge", Decimal("15.00")), ("Pallet Deposit", Decimal("20.00"))]
    assert po.freight == Decimal("35.00")
    assert _codes(po) == []


def test_a_pure_charge_row_with_a_quantity_is_still_a_charge():
    """ERP orders print freight as a row of its own, quantity 1: charges are never item lines (SPEC)."""
    p = Page()
    _letter(p, "PO-7002")
    _head(p, 180)
    y = _rows(p, 180, PAGE1 + [("", "Freight Charge", "1", "35.00", "35.00")]) + 25
    _totals(p, y, [("Subtotal:", "734.25"), ("Total:", "$769.25")])
    po = _parse(p.done())
    assert [ln.customer_item_code for ln in po.lines] == ["DF-10023", "DF-20417"]
    assert po.freight == Decimal("35.00")
    assert _codes(po) == []


def _paged(separator) -> bytes:
    p = Page()
    _letter(p, "PO-55501")
    _head(p, 180)
    y = _rows(p, 180, PAGE1)
    y = separator(p, y)
    y = _rows(p, y, PAGE2) + 25
    _totals(p, y, [("Subtotal:", SUM), ("Total:", f"${SUM}")])
    return p.done()


def _in_description(label: str):
    def sep(p: Page, y: float) -> float:
        p.t(110, y + 13, label)
        p.t(570, y + 13, "734.25", right=True)
        _break(p, 1)
        _head(p, 60)
        return 60
    return sep


def _in_label_column(p: Page, y: float) -> float:
    p.t(400, y + 20, "Subtotal Page 1:")
    p.t(570, y + 20, "734.25", right=True)
    _break(p, 1)
    _head(p, 60)
    return 60


def _balance_forward(p: Page, y: float) -> float:
    _break(p, 1)
    _head(p, 60)
    p.t(110, 73, "Balance forward")
    p.t(570, 73, "734.25", right=True)
    return 73


@pytest.mark.parametrize("separator", [_in_description("Page Subtotal"), _in_description("Subtotal this page"),
                                       _in_description("Sub-total for page 1"), _in_description("Page total"),
                                       _in_label_column, _balance_forward, _in_description("Brought forward")],
                         ids=["page-subtotal", "subtotal-this-page", "sub-total-for-page", "page-total",
                              "subtotal-page-label", "balance-forward", "brought-forward"])
def test_page_subtotal_and_forward_rows_are_neither_items_nor_the_end(separator):
    po = _parse(_paged(separator))
    assert [ln.customer_item_code for ln in po.lines] == ["DF-10023", "DF-20417", "DF-41152", "DF-50963"]
    assert (po.subtotal, po.total) == (Decimal("1007.25"), Decimal("1007.25"))
    assert _codes(po) == []



async def test_pipeline_keeps_the_lines_of_a_headerless_page(seeded):
    received = await accept_raw(seeded, order_email([("order.pdf", continuation_without_header())]), door="http")
    assert await process_email(seeded, received.email_id) == "processed"
    item = dict(await seeded.db.fetchone("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,)))
    parsed = json.loads(item["parsed_json"])
    assert item["line_count"] == 4 and item["total"] == 1007.25
    assert [ln["customer_item_code"] for ln in parsed["lines"]] == ["DF-10023", "DF-20417", "DF-41152", "DF-50963"]
    flags = [f["code"] for f in json.loads(item["flags_json"])]
    assert "subtotal_mismatch" not in flags and "total_mismatch" not in flags
