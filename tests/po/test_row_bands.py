"""Which text line belongs to which item row: vertically centred cells (web portals printed from a browser), page
footers on multi-page orders, and order guides listing rows that were not ordered. Seeded orders drawn in the
hold-out style (tests/po/holdout), through the real extraction and parser; each test failed before the rule."""
from __future__ import annotations

import random
import textwrap
from datetime import date
from decimal import Decimal

import pytest

from tests.po.holdout.data import expected, make_order
from tests.po.holdout.draw import RL
from tests.po.holdout.fmt import day, num, qty
from tests.po.holdout.score import Score, score_one
from worker.po.model import PurchaseOrder
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf

SEEDS = (1, 2, 3, 4)
PRICED = [("Item #", 40, "l"), ("Description", 100, "l"), ("Qty", 360, "r"), ("UOM", 372, "l"),
          ("Unit Price", 480, "r"), ("Amount", 565, "r")]


def _parse(pdf: bytes, exp: PurchaseOrder) -> PurchaseOrder:
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=exp.po_date))


def _exact(pdf: bytes, exp: PurchaseOrder) -> PurchaseOrder:
    got = _parse(pdf, exp)
    exp.bill_to, exp.ship_to, exp.currency = [], [], None  # these documents print no address blocks or currency
    assert score_one(Score(), "row_bands", exp, got) == []
    assert [(ln.customer_item_code, ln.description, ln.quantity, ln.uom) for ln in got.lines] == \
        [(ln.customer_item_code, ln.description, ln.quantity, ln.uom) for ln in exp.lines]
    assert [f.code for f in got.findings] == []
    return got


def _letterhead(d: RL, o, title: str = "PURCHASE ORDER") -> None:
    d.t(40, 48, o.buyer, "Helvetica-Bold", 15)
    d.t(572, 48, title, "Helvetica-Bold", 12, "r")
    d.t(400, 70, f"PO Number: {o.po_number}")
    d.t(400, 82, f"PO Date: {day(o.po_date, 'us')}")
    d.t(400, 94, f"Delivery Date: {day(o.ship_date, 'us')}")


def _totals(d: RL, o, y: float) -> None:
    for lab, v in [("Subtotal", o.subtotal), ("Total", o.total)]:
        d.t(480, y, lab, align="r")
        d.t(565, y, num(v), align="r")
        y += 13


def web_portal(rng: random.Random, codes: bool) -> tuple[bytes, PurchaseOrder]:
    """An ordering portal's HTML table printed from a browser: cells are vertically centred (the td default), so
    a row whose description wraps has its code, quantity and prices on a line of their own between the halves."""
    o = make_order(rng, "restaurant", lines=(4, 9))
    d = RL()
    _letterhead(d, o, "Order Confirmation")
    cols = PRICED if codes else PRICED[1:]
    width = rng.choice([16, 20, 24])  # the description column's width in characters: 1 to 3 lines a row
    y = 150
    for name, x, a in cols:
        d.t(x, y, name, "Helvetica-Bold", 9, a)
    y += 18
    for it in o.items:
        desc = textwrap.wrap(it.description, width)
        h = 11 * len(desc)
        mid = y + (h - 11) / 2
        d.line(40, y - 12, 572, y - 12, 0.3)
        for n, s in enumerate(desc):
            d.t(100 if codes else 40, y + 11 * n, s)
        vals = ([it.code] if codes else []) + [qty(it.quantity), it.uom, num(it.unit_price), num(it.amount)]
        for (_, x, a), v in zip([c for c in cols if c[0] != "Description"], vals):
            d.t(x, mid, v, align=a)
        y += h + 6
    _totals(d, o, y + 14)
    return d.done(), expected(o, codes=codes)


@pytest.mark.parametrize("codes", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_centred_cells_give_each_row_the_description_lines_above_and_below_it(seed, codes):
    pdf, exp = web_portal(random.Random(f"web_portal:{seed}:{codes}"), codes)
    _exact(pdf, exp)


def test_a_centred_table_over_two_pages_reads_every_row():
    o = make_order(random.Random("web_portal_long"), "corporate", lines=(40, 40))
    d = RL()

    def head() -> float:
        _letterhead(d, o)
        for name, x, a in PRICED:
            d.t(x, 150, name, "Helvetica-Bold", 9, a)
        return 168
    y = head()
    for it in o.items:
        desc = textwrap.wrap(it.description, 18)
        h = 11 * len(desc)
        if y + h > 740:
            d.t(306, 770, "Page 1 of 2", size=7, align="c")
            d.page()
            y = head()
        mid = y + (h - 11) / 2
        for n, s in enumerate(desc):
            d.t(100, y + 11 * n, s)
        for (_, x, a), v in zip([PRICED[0]] + PRICED[2:], [it.code, qty(it.quantity), it.uom, num(it.unit_price),
                                                          num(it.amount)]):
            d.t(x, mid, v, align=a)
        y += h + 6
    _totals(d, o, y + 14)
    _exact(d.done(), expected(o))


def _table(d: RL, y: float, rows: list[tuple[str, ...]], cols=PRICED, pitch: float = 13) -> float:
    for row in rows:
        for (_, x, a), v in zip(cols, row):
            if v:
                d.t(x, y, v, align=a)
        y += pitch
    return y


def _price_rows(items) -> list[tuple[str, ...]]:
    return [(it.code, it.description, qty(it.quantity), it.uom, num(it.unit_price), num(it.amount)) for it in items]


def test_a_quantity_line_without_description_or_code_is_reported_not_dropped_or_glued():
    """Top-aligned cells: a line of numbers with neither description nor code is no row that can be read, and the
    text below it is not the row above's."""
    o = make_order(random.Random("bare"), "restaurant", lines=(3, 3))
    d = RL()
    _letterhead(d, o)
    _table(d, 150, [tuple(c[0] for c in PRICED)])
    rows = _price_rows(o.items)
    y = _table(d, 168, [rows[0], ("", "") + rows[1][2:], ("", rows[1][1]), rows[2]])
    _totals(d, o, y + 14)
    exp = expected(o)
    got = _parse(d.done(), exp)
    assert [ln.description for ln in got.lines] == [exp.lines[0].description, exp.lines[2].description]
    outside = [f.message for f in got.findings if f.code == "lines_outside_table"]
    assert len(outside) == 1 and num(o.items[1].amount) in outside[0]


FOOTERS = ["{buyer} - 22 Canal St, New Orleans LA 70130 - (504) 555-0199", "Printed {date} 10:32 AM by jsmith",
           "Thank you for your business"]


def footed(rng: random.Random, footer: str, repeat_header: bool) -> tuple[bytes, PurchaseOrder]:
    """A long order over two or three pages with a footer on each page that is not only "Page n of N"."""
    o = make_order(rng, "corporate", lines=(50, 80))
    d = RL()
    text = footer.format(buyer=o.buyer, date=day(o.po_date, "us"))
    pages = 1

    def head() -> float:
        for name, x, a in PRICED:
            d.t(x, 130, name, "Helvetica-Bold", 9, a)
        return 148
    _letterhead(d, o)
    y = head()
    for row in _price_rows(o.items):
        if y > 720:
            d.t(40, 770, text, size=7)
            d.t(572, 770, f"Page {pages}", size=7, align="r")
            d.page()
            pages += 1
            y = head() if repeat_header else 60
        y = _table(d, y, [row])
    _totals(d, o, y + 14)
    d.t(40, 770, text, size=7)
    return d.done(), expected(o)


@pytest.mark.parametrize("repeat_header", [True, False])
@pytest.mark.parametrize("footer", FOOTERS)
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_a_page_footer_does_not_end_the_table_before_the_next_page(seed, footer, repeat_header):
    pdf, exp = footed(random.Random(f"footer:{seed}:{footer}"), footer, repeat_header)
    got = _exact(pdf, exp)
    assert len(got.lines) >= 50


def test_a_footer_before_a_page_that_does_not_go_on_with_the_table_still_ends_it():
    """Page 2 holds notes and the totals, no rows: the table ends at page 1's footer and the totals are read."""
    o = make_order(random.Random("footer_end"), "restaurant", lines=(5, 5))
    d = RL()
    _letterhead(d, o)
    _table(d, 130, [tuple(c[0] for c in PRICED)])
    _table(d, 148, _price_rows(o.items))
    d.t(40, 770, "Thank you for your business", size=7)
    d.page()
    d.t(40, 60, "Deliver to the back door before 10 AM.")
    _totals(d, o, 90)
    _exact(d.done(), expected(o))


GUIDE = [("Item #", 40, "l"), ("Description", 100, "l"), ("Pack", 330, "l"), ("Size", 365, "l"), ("Qty", 450, "r"),
         ("Unit", 462, "l")]


def order_guide(rng: random.Random, code: bool, pack: bool, unit: bool) -> tuple[bytes, PurchaseOrder]:
    """A restaurant's order guide: every product it buys, one a line; only the rows with a quantity are ordered."""
    o = make_order(rng, "restaurant", lines=(3, 5))
    listed = o.items + make_order(rng, "restaurant", lines=(6, 9)).items
    rng.shuffle(listed)
    if not (code or pack or unit):  # description alone: only the row pitch, seen where two ordered rows meet, tells
        listed.remove(o.items[1])
        listed.insert(listed.index(o.items[0]) + 1, o.items[1])
    ordered = {id(it) for it in o.items}
    cols = [c for c in GUIDE if (code or c[0] != "Item #") and (pack or c[0] not in ("Pack", "Size"))]
    d = RL()
    _letterhead(d, o, "ORDER GUIDE / PURCHASE ORDER")
    _table(d, 150, [tuple(c[0] for c in cols)], cols)
    rows = []
    for it in listed:
        q = id(it) in ordered
        cells = {"Item #": it.code, "Description": it.description, "Pack": it.pack, "Size": it.size,
                 "Qty": qty(it.quantity) if q else "", "Unit": it.uom if q or unit else ""}
        rows.append(tuple(cells[c[0]] for c in cols))
    _table(d, 166, rows, cols)
    o.items = [it for it in listed if id(it) in ordered]
    exp = expected(o, codes=code)
    for ln in exp.lines:
        ln.unit_price = ln.amount = None
    exp.subtotal = exp.total = None
    return d.done(), exp


@pytest.mark.parametrize(("code", "pack", "unit"), [(False, True, False), (True, True, False), (False, False, True),
                                                    (True, False, False), (False, True, True),
                                                    (False, False, False)])
@pytest.mark.parametrize("seed", SEEDS)
def test_an_order_guide_row_without_a_quantity_is_not_the_row_aboves_description(seed, code, pack, unit):
    pdf, exp = order_guide(random.Random(f"guide:{seed}:{code}{pack}{unit}"), code, pack, unit)
    _exact(pdf, exp)


def test_a_guide_row_left_blank_is_neither_a_line_nor_glued_to_the_line_above():
    """The audit's case: a guide without item codes, so the cheese row's description went onto the chicken line
    and that line was matched to the cheese item."""
    d = RL()
    d.t(40, 50, "Bayou Bistro Group LLC", "Helvetica-Bold", 16)
    d.t(400, 50, "ORDER GUIDE / PURCHASE ORDER", size=12)
    d.t(400, 70, "PO Number: 4500123")
    d.t(400, 82, "PO Date: 02/14/2026")
    cols = [("Description", 40, "l"), ("Pack/Size", 300, "l"), ("Qty", 420, "r"), ("Unit", 440, "l")]
    _table(d, 150, [tuple(c[0] for c in cols)], cols)
    _table(d, 165, [("CHICKEN BREAST BNLS 4OZ IQF", "4/10 LB", "12", "CS"), ("MELT MATES AMERICAN CHEESE SLICED", "4/5 LB"),
                    ("TOMATO DICED FANCY", "6/#10", "2", "CS"), ("LETTUCE ROMAINE HEARTS", "48 CT"),
                    ("EGGS LARGE GRADE A", "15 DZ"), ("BEEF GROUND 80/20 CHUB", "1/10 LB", "40", "LB")], cols)
    got = parse_purchase_order(extract_pdf(d.done(), 50), ParseHints(today=date(2026, 3, 1)))
    assert [(ln.description, ln.quantity, ln.uom) for ln in got.lines] == [
        ("CHICKEN BREAST BNLS 4OZ IQF", Decimal(12), "CS"), ("TOMATO DICED FANCY", Decimal(2), "CS"),
        ("BEEF GROUND 80/20 CHUB", Decimal(40), "LB")]
