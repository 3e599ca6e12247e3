"""Web-portal tables printed from a browser centre every cell vertically. Rows whose description takes 1 or 3 lines
hold part of it on the quantity line itself, so nothing proved the cells centred and each row's first description
line was read as the row above's wrap; a pack wrapped beside a two-line description (the quantity line between
their halves) was taken for a row of its own. Seeded orders drawn that way, through the real parser."""
from __future__ import annotations

import random
import textwrap

import pytest

from tests.po.holdout.data import Item, expected, make_order
from tests.po.holdout.draw import RL
from tests.po.holdout.fmt import day, num, qty
from worker.po.model import PurchaseOrder
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf

COLS = [("Item #", 40, "l"), ("Description", 100, "l"), ("Pack", 290, "l"), ("Qty", 360, "r"), ("UOM", 372, "l"),
        ("Unit Price", 480, "r"), ("Amount", 565, "r")]
LEAD = 11


def _thirds(text: str) -> list[str]:
    words = text.split()
    a = (len(words) + 2) // 3
    b = (len(words) - a + 1) // 2
    return [" ".join(words[:a]), " ".join(words[a:a + b]), " ".join(words[a + b:])]


def portal(o, cells: dict[int, dict[str, list[str]]], *, codes: bool, pack: bool, pad: float) -> bytes:
    """Each row as tall as its tallest cell; every cell's lines centred in the row, as a browser prints them."""
    cols = [c for c in COLS if (codes or c[0] != "Item #") and (pack or c[0] != "Pack")]
    d = RL()
    d.t(40, 48, o.buyer, "Helvetica-Bold", 15)
    d.t(572, 48, "Order Confirmation", "Helvetica-Bold", 12, "r")
    d.t(400, 70, f"PO Number: {o.po_number}")
    d.t(400, 82, f"PO Date: {day(o.po_date, 'us')}")
    for name, x, a in cols:
        d.t(x, 150, name, "Helvetica-Bold", 9, a)
    y = 168
    for n, it in enumerate(o.items):
        row = {"Item #": [it.code], "Pack": [f"{it.pack}/{it.size}"], "Qty": [qty(it.quantity)], "UOM": [it.uom],
               "Unit Price": [num(it.unit_price)], "Amount": [num(it.amount)], **cells[n]}
        h = LEAD * max(len(row[c[0]]) for c in cols)
        d.line(40, y - 10, 572, y - 10, 0.3)
        for name, x, a in cols:
            top = y + (h - LEAD * len(row[name])) / 2
            for k, s in enumerate(row[name]):
                d.t(x if codes or name != "Description" else 40, top + LEAD * k, s, align=a)
        y += h + pad
    y += 14
    for lab, v in [("Subtotal", o.subtotal), ("Total", o.total)]:
        d.t(480, y, lab, align="r")
        d.t(565, y, num(v), align="r")
        y += 13
    return d.done()


def _exact(pdf: bytes, exp: PurchaseOrder) -> None:
    got = parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=exp.po_date))
    assert [(ln.customer_item_code, ln.description, ln.quantity, ln.uom, ln.unit_price, ln.amount)
            for ln in got.lines] == [(ln.customer_item_code, ln.description, ln.quantity, ln.uom, ln.unit_price,
                                      ln.amount) for ln in exp.lines]
    assert (got.subtotal, got.total) == (exp.subtotal, exp.total)
    assert [f.code for f in got.findings] == []


def _odd(rng: random.Random, it: Item) -> list[str]:
    return _thirds(it.description) if len(it.description.split()) >= 3 and rng.random() < 0.6 else [it.description]


@pytest.mark.parametrize("pad", [3, 6])
@pytest.mark.parametrize("codes", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_rows_of_one_or_three_lines_keep_their_first_description_line(seed, codes, pad):
    rng = random.Random(f"odd:{seed}:{codes}:{pad}")
    o = make_order(rng, "restaurant", lines=(4, 9))
    cells = {n: {"Description": _odd(rng, it)} for n, it in enumerate(o.items)}
    if all(len(c["Description"]) == 1 for c in list(cells.values())[1:]):
        cells[1]["Description"] = _thirds(o.items[1].description)  # some row after the first takes three lines
    _exact(portal(o, cells, codes=codes, pack=False, pad=pad), expected(o, codes=codes))


@pytest.mark.parametrize("codes", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_a_pack_wrapped_beside_a_wrapped_description_is_in_the_rows_band(seed, codes):
    """"12/" over "2 LB" beside a two-line description: the quantity line sits between their halves."""
    rng = random.Random(f"pack:{seed}:{codes}")
    o = make_order(rng, "restaurant", lines=(4, 9))
    cells = {}
    for n, it in enumerate(o.items):
        desc = textwrap.wrap(it.description, rng.choice([18, 22, 60]))
        cells[n] = {"Description": desc, "Pack": [f"{it.pack}/", it.size] if len(desc) > 1 else [f"{it.pack}/{it.size}"]}
    _exact(portal(o, cells, codes=codes, pack=True, pad=6), expected(o, codes=codes))


def test_a_heading_over_a_top_aligned_tables_first_row_is_not_its_description():
    """The other side of the rule: top-aligned rows set apart, the first wrapped once under a section heading; the
    heading above the first row proves nothing (it lies above a row as a centred cell's first line would)."""
    o = make_order(random.Random("heading"), "restaurant", lines=(4, 4))
    d = RL()
    d.t(40, 48, o.buyer, "Helvetica-Bold", 15)
    d.t(400, 70, f"PO Number: {o.po_number}")
    d.t(400, 82, f"PO Date: {day(o.po_date, 'us')}")
    cols = [c for c in COLS if c[0] != "Pack"]
    for name, x, a in cols:
        d.t(x, 150, name, "Helvetica-Bold", 9, a)
    d.t(100, 168, "FROZEN FOODS", "Helvetica-Bold", 9)
    y = 178
    for n, it in enumerate(o.items):
        desc = _thirds(it.description)[:1] + [" ".join(_thirds(it.description)[1:])] if n == 0 else [it.description]
        for k, s in enumerate(desc):
            d.t(100, y + 10 * k, s)
        for (_, x, a), v in zip([c for c in cols if c[0] != "Description"],
                                [it.code, qty(it.quantity), it.uom, num(it.unit_price), num(it.amount)], strict=True):
            d.t(x, y, v, align=a)
        y += 10 * len(desc) + 4
    d.t(480, y + 14, "Total", align="r")
    d.t(565, y + 14, num(o.total), align="r")
    exp = expected(o)
    exp.subtotal = None
    _exact(d.done(), exp)
