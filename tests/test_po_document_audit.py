"""Whole-document evidence in PO parsing: a date order the document proves, totals-area text that is not money,
and several purchase orders in one PDF."""
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
from worker.po.doc import Line
from worker.po.header import document_day_first
from worker.po.parser import (
    SEVERAL_POS,
    ParseHints,
    parse_purchase_order,
    parse_purchase_orders,
    split_orders,
)
from worker.po.textlayer import Fragment, extract_pdf

ROWS = [("A-100", "CHICKEN BREAST", "12", "45.50", "546.00"), ("A-200", "CHEESE SLICED", "3", "10.00", "30.00")]
XS, RIGHT = (40, 110, 380, 450, 520), (False, False, True, True, True)


def _po(head: list[str], totals: list[tuple[str, str]], rows=ROWS) -> bytes:
    """One page: letterhead, header lines at the right, bill/ship blocks, a five-column table, totals."""
    p = Page()
    _draw(p, head, totals, rows)
    return p.done()


def _draw(p: Page, head: list[str], totals: list[tuple[str, str]], rows) -> None:
    p.t(40, 45, "Acme Restaurants Inc", font=("Helvetica-Bold", 16))
    for i, text in enumerate(head):
        p.t(400, 70 + 12 * i, text)
    p.block(40, 110, "Bill To:", ["Acme Restaurants Inc", "1 Main St", "Austin, TX 78701"])
    p.block(300, 110, "Ship To:", ["Acme Kitchen", "2 Side St", "Austin, TX 78702"])
    for x, h, r in zip(XS, ("Item", "Description", "Qty", "Unit Price", "Amount"), RIGHT, strict=True):
        p.t(x + (50 if r else 0), 180, h, right=r, font=("Helvetica-Bold", 8))
    y = 180
    for row in rows:
        y += 13
        for x, s, r in zip(XS, row, RIGHT, strict=True):
            p.t(x + (50 if r else 0), y, s, right=r)
    y += 25
    for label, value in totals:
        p.t(400, y, label)
        p.t(570, y, value, right=True)
        y += 13


def _parse(pdf: bytes, today: date = date(2026, 4, 5)):
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=today))


TOTALS = [("Subtotal:", "576.00"), ("Total:", "$576.00")]


# 7. An ambiguous date is read the way the same document's unambiguous dates are written.

@pytest.mark.parametrize("order_date,delivery,po_date,ship", [
    ("03/04/2026", "14/04/2026", date(2026, 4, 3), date(2026, 4, 14)),  # was 2026-03-04: read US-style
    ("03/04/26", "14/04/26", date(2026, 4, 3), date(2026, 4, 14)),
    ("03/04/2026", "04/14/2026", date(2026, 3, 4), date(2026, 4, 14)),  # month-first proven: unchanged
])
def test_an_ambiguous_date_follows_the_documents_unambiguous_one(order_date, delivery, po_date, ship):
    po = _parse(_po(["PO #: PO-55501", f"Order Date: {order_date}", f"Delivery Date: {delivery}"], TOTALS))
    assert (po.po_date, po.requested_ship_date) == (po_date, ship)
    assert po.confidence["po_date"] == 0.95  # the document settled the order: no longer a guess
    assert not po.findings


def test_a_document_proving_nothing_keeps_the_ambiguous_reading_and_its_lower_confidence():
    po = _parse(_po(["PO #: PO-55501", "Order Date: 03/04/2026", "Delivery Date: 05/04/2026"], TOTALS))
    assert po.po_date == date(2026, 3, 4)
    assert po.confidence["po_date"] < 0.7


def _frags(*texts: str) -> list[Line]:
    return [Line(0, i, [Fragment(40, 200, 700 - 12 * i, t)]) for i, t in enumerate(texts)]


def test_document_day_first_reads_only_dates_that_prove_an_order():
    assert document_day_first(_frags("Order Date: 03/04/2026", "Delivery Date: 14/04/2026")) is True
    assert document_day_first(_frags("03/04/2026", "04/14/2026")) is False
    assert document_day_first(_frags("Date 14.04.26")) is True
    assert document_day_first(_frags("03/04/2026", "05/04/2026")) is None  # nothing unambiguous
    assert document_day_first(_frags("Date: 14/04/2026", "Ship by 04/15/2026")) is None  # both orders printed
    assert document_day_first(_frags("CHEESE 6/16/12 OZ", "PO 13-04-2026X")) is None  # a pack size, a code


# 11. Numbers in the totals area that are not money stay out of the totals.

@pytest.mark.parametrize("label,value", [
    ("Total Gross Weight:", "250 kg"),  # was total 250
    ("Total Net Weight:", "240.5"),
    ("Total Cartons:", "15"),
    ("GST/HST No.", "123456789"),  # was tax 123456789
    ("Delivery Window:", "6 - 8 am"),  # was freight -8
    ("2% Discount if paid within", "10 days"),  # was a charge of -10
    ("Total Savings:", "20.00"),  # a later "Total <something>" replaced the plain Total
])
def test_a_number_that_is_not_money_leaves_the_totals_alone(label, value):
    po = _parse(_po(["PO #: PO-55501", "Date: 03/20/2026"], TOTALS + [(label, value)]))
    assert (po.subtotal, po.freight, po.tax, po.total, po.other_charges) == (576, None, None, 576, [])
    assert not po.findings


def test_amounts_beside_quantities_and_later_plain_totals_are_still_read():
    po = _parse(_po(["PO #: PO-55501", "Date: 03/20/2026"],
                    [("Subtotal:", "576.00"), ("Freight (3 pallets):", "25.00"), ("Total Savings:", "20.00"),
                     ("Total:", "601.00"), ("Total Amount Due (USD):", "$601.00")]))
    assert (po.freight, po.total) == (25, 601)
    assert not po.findings


def test_a_later_total_that_adds_tax_still_replaces_the_plain_total():
    po = _parse(_po(["PO #: PO-55501", "Date: 03/20/2026"],
                    [("Subtotal:", "576.00"), ("Total:", "576.00"), ("Sales Tax:", "28.80"),
                     ("Total with tax:", "604.80")]))
    assert (po.tax, po.total) == (Decimal("28.80"), Decimal("604.80"))


# 3. Two purchase orders in one PDF are split where a page's header names a new PO number.

R1 = [("DF-10023", "CHICKEN BREAST BNLS 4OZ IQF 10# CS", "12", "45.50", "546.00"),
      ("DF-20417", "MELT MATES AMERICAN CHEESE SLICED 4/5#", "3", "62.75", "188.25")]
R2 = [("DF-41152", "POTATO FRY 3/8 STRAIGHT CUT FROZEN 6/5#", "5", "38.20", "191.00"),
      ("DF-50963", "LETTUCE ROMAINE HEARTS 48CT", "2", "41.00", "82.00")]


def _pages(*pages: tuple[list[str], list, list[tuple[str, str]]]) -> bytes:
    p = Page()
    for n, (head, rows, totals) in enumerate(pages):
        if n:
            p.c.showPage()
            p.font("Helvetica", 9)
        _draw(p, head, totals, rows)
    return p.done()


def _two_pos() -> bytes:
    return _pages((["PO #: PO-1001", "Date: 03/20/2026"], R1, [("Subtotal:", "734.25"), ("Total:", "$734.25")]),
                  (["PO #: PO-1002", "Date: 03/20/2026"], R2, [("Subtotal:", "273.00"), ("Total:", "$273.00")]))


def test_each_purchase_order_in_a_pdf_is_parsed_from_its_own_pages():
    pdf = extract_pdf(_two_pos(), 50)
    assert split_orders(pdf) == [range(1), range(1, 2)]
    (pages1, first), (pages2, second) = parse_purchase_orders(pdf, ParseHints(today=date(2026, 3, 25)))
    assert (pages1, pages2) == (range(1), range(1, 2))
    assert (first.po_number, first.total, [ln.customer_item_code for ln in first.lines]) == \
        ("PO-1001", Decimal("734.25"), ["DF-10023", "DF-20417"])
    assert (second.po_number, second.total, [ln.customer_item_code for ln in second.lines]) == \
        ("PO-1002", Decimal("273.00"), ["DF-41152", "DF-50963"])
    assert not first.findings and not second.findings


def test_parse_purchase_order_given_several_orders_gives_the_first_naming_them_all():
    po = parse_purchase_order(extract_pdf(_two_pos(), 50), ParseHints(today=date(2026, 3, 25)))
    # Was one order with PO-1001's lines, PO-1002's total and a total_mismatch; PO-1002's lines were lost.
    assert (po.po_number, po.total, len(po.lines)) == ("PO-1001", Decimal("734.25"), 2)
    [flag] = po.findings
    assert (flag.code, flag.severity) == (SEVERAL_POS, "error")
    assert "PO-1001 (page 1), PO-1002 (page 2)" in flag.message and "only the first is read here" in flag.message


def test_later_pages_of_one_order_are_not_split():
    same_header = _pages((["PO #: PO-1001", "Order No.: 555"], R1, []),
                         (["PO #: PO-1001"], R2, [("Total:", "$1,007.25")]))
    other_label_only = _pages((["PO #: PO-1001", "Order No.: 555"], R1, []),
                              (["Order No.: 555"], R2, [("Total:", "$1,007.25")]))
    no_header = _pages((["PO #: PO-1001"], R1, []), ([], R2, [("Total:", "$1,007.25")]))
    for pdf in (same_header, other_label_only, no_header):
        extracted = extract_pdf(pdf, 50)
        assert split_orders(extracted) == [range(2)]
        assert SEVERAL_POS not in {f.code for f in parse_purchase_order(extracted).findings}



async def test_a_pdf_with_two_orders_becomes_two_pending_items(seeded: Env) -> None:
    # Was one needs_manual item carrying PO-1001 and a several_po_numbers error asking for PO-1002 by hand.
    # More on one review item per order: tests/test_several_pos_per_pdf.py.
    received = await accept_raw(seeded, order_email([("orders.pdf", _two_pos())]), door="http")
    assert await process_email(seeded, received.email_id) == "processed"
    items = [dict(r) for r in await seeded.db.fetchall("SELECT * FROM review_items WHERE email_id = ? ORDER BY part",
                                                       (received.email_id,))]
    assert [(i["status"], i["po_number"], i["total"], i["line_count"], i["part"], i["pages"]) for i in items] == \
        [("pending", "PO-1001", 734.25, 2, 0, "1"), ("pending", "PO-1002", 273.0, 2, 1, "2")]
    for item in items:
        codes = [f["code"] for f in json.loads(item["flags_json"])]
        assert "several_po_numbers" not in codes and "total_mismatch" not in codes and "needs_manual" not in codes
    log = await seeded.db.fetchone("SELECT status, reason FROM inbound_email_log WHERE id = ?", (received.email_id,))
    assert (log["status"], log["reason"]) == ("processed", "2 review items created")
