"""Order guides (a customer's standing list of products, a quantity written on the rows it orders) whose rows print
only a description: the rows left without a quantity are neither lines nor the text of the ordered row above, and
no ordered row is lost. Seeded guides drawn as a broadline distributor prints them, read through the real parser."""
from __future__ import annotations

import random
from datetime import date

import pytest
from reportlab.lib.utils import simpleSplit

from tests.po.holdout.data import Item, make_order
from tests.po.holdout.draw import RL
from tests.po.holdout.fmt import day, qty
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf

DESC_X, DESC_W = 96, 120  # the description column; text wraps inside it


def guide(rng: random.Random, *, pitch: float, size: float, lead: float, code: bool = False,
          ordered_apart: bool = True, all_ordered: bool = False) -> tuple[bytes, list[Item], date]:
    """An order guide with rules between its rows; each row's description wraps within its column at `lead`.

    `ordered_apart`: an unordered row between any two ordered ones, so no two rows with a quantity meet."""
    o = make_order(rng, "restaurant", lines=(3, 4))
    listed = list(o.items)
    if not all_ordered:
        names = {it.description for it in o.items}
        unordered = [it for it in make_order(rng, "restaurant", lines=(9, 12)).items if it.description not in names]
        at = rng.sample(range(len(unordered) + 1), len(o.items)) if ordered_apart else \
            rng.choices(range(len(unordered) + 1), k=len(o.items))
        listed = []
        for n, it in enumerate([*unordered, None]):
            listed += [x for x, p in zip(o.items, sorted(at), strict=True) if p == n] + ([it] if it else [])
    ordered = {id(it) for it in o.items}
    cols = [("Item #", 40, "l"), ("Description", DESC_X, "l"), ("Qty", 360, "r"), ("Unit", 372, "l")]
    cols = cols if code else cols[1:]
    d = RL()
    d.t(40, 48, o.buyer, "Helvetica-Bold", 15)
    d.t(572, 48, "ORDER GUIDE", "Helvetica-Bold", 12, "r")
    d.t(400, 70, f"PO Number: {o.po_number}")
    d.t(400, 82, f"PO Date: {day(o.po_date, 'us')}")
    for name, x, a in cols:
        d.t(x, 150, name, "Helvetica-Bold", size, a)
    y = 150 + pitch
    for it in listed:
        desc = simpleSplit(it.description, "Helvetica", size, DESC_W)
        cells = {"Item #": it.code, "Qty": qty(it.quantity) if id(it) in ordered else "",
                 "Unit": it.uom if id(it) in ordered else ""}
        for name, x, a in cols:
            if name == "Description":
                for k, s in enumerate(desc):
                    d.t(x, y + k * lead, s, size=size)
            elif cells[name]:
                d.t(x, y, cells[name], size=size, align=a)
        bottom = y + lead * (len(desc) - 1)
        d.line(40, bottom + (pitch - size) / 2 + 1, 572, bottom + (pitch - size) / 2 + 1, 0.3)
        y = bottom + pitch
    return d.done(), [it for it in listed if id(it) in ordered], o.po_date


def _lines(drawn: tuple[bytes, list[Item], date], code: bool = False) -> None:
    pdf, items, po_date = drawn
    po = parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=po_date))
    assert [(ln.customer_item_code, ln.description, ln.quantity, ln.uom) for ln in po.lines] == \
        [(it.code if code else None, it.description, it.quantity, it.uom) for it in items]
    assert [f.code for f in po.findings if f.code in ("no_lines", "lines_outside_table")] == []


@pytest.mark.parametrize("lead", [9.5, 10.5])
@pytest.mark.parametrize("seed", range(6))
def test_unordered_description_rows_between_ordered_ones_are_not_their_text(seed, lead):
    """No two ordered rows meet, so no row-to-row distance was known and every unordered row below an ordered one
    was read as its wrapped description (the line then matched the wrong product)."""
    _lines(guide(random.Random(f"apart:{seed}"), pitch=14, size=9, lead=lead))


@pytest.mark.parametrize(("pitch", "size"), [(20, 8), (24, 8), (28, 9)])
@pytest.mark.parametrize("code", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_a_guide_with_tall_rows_reads_every_ordered_row(seed, code, pitch, size):
    """Rows over 2.4 lines of type apart (room to write a quantity): the unordered rows were not taken as table
    text, the first gap ended the table, and every ordered row after it was lost without a finding."""
    _lines(guide(random.Random(f"tall:{seed}:{code}"), pitch=pitch, size=size, lead=size + 1.5, code=code,
                 ordered_apart=False), code)


@pytest.mark.parametrize("seed", range(4))
def test_an_unpriced_order_keeps_its_wrapped_descriptions(seed):
    """Every row ordered: wrapped description lines, nearer than the rows, stay with their row."""
    _lines(guide(random.Random(f"all:{seed}"), pitch=14, size=9, lead=10, all_ordered=True))
