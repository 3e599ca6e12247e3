"""A row's pack, size or unit wrapped onto the line below its quantity stays that row's: "LB" under "4/10" in a
narrow Pack cell (with the description's own wrap beside it), "6/5 LB" printed under the description, "CS" under
"12". Such a line used to be read as a row of its own (its description wrap lost) or dropped with the unit.
Seeded orders drawn as printed, read through the real parser."""
from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from tests.po.holdout.data import Item, make_order
from tests.po.holdout.draw import RL
from tests.po.holdout.fmt import day, num, qty
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf

Cells = dict[str, list[str]]  # column name -> the cell's lines, top to bottom


def _pdf(o, cols: list[tuple[str, float, str]], rows: list[Cells], *, pitch: float = 14, lead: float = 10,
         total: Decimal | None = None) -> bytes:
    d = RL()
    d.t(40, 48, o.buyer, "Helvetica-Bold", 15)
    d.t(572, 48, "PURCHASE ORDER", "Helvetica-Bold", 12, "r")
    d.t(400, 70, f"PO Number: {o.po_number}")
    d.t(400, 82, f"PO Date: {day(o.po_date, 'us')}")
    for name, x, a in cols:
        d.t(x, 150, name, "Helvetica-Bold", 9, a)
    y = 150 + pitch + 2
    for row in rows:
        for name, x, a in cols:
            for k, s in enumerate(row.get(name, [])):
                d.t(x, y + k * lead, s, align=a)
        y += pitch + lead * (max(len(v) for v in row.values()) - 1)
    if total is not None:
        d.t(480, y + 14, "Total", align="r")
        d.t(565, y + 14, num(total), align="r")
    return d.done()


def _halves(text: str) -> list[str]:
    words = text.split()
    return [" ".join(words[:(len(words) + 1) // 2]), " ".join(words[(len(words) + 1) // 2:])]


def _read(pdf: bytes, po_date: date):
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=po_date))


def _expect(got, items: list[Item], *, code: bool = True, priced: bool = True, desc=lambda it: it.description) -> None:
    assert [(ln.customer_item_code, ln.description, ln.quantity, ln.uom) for ln in got.lines] == \
        [(it.code if code else None, desc(it), it.quantity, it.uom) for it in items]
    if priced:
        assert [(ln.unit_price, ln.amount) for ln in got.lines] == [(it.unit_price, it.amount) for it in items]
    assert [f.code for f in got.findings if f.severity == "error" or f.code == "lines_outside_table"] == []


PRICED = [("Item #", 40, "l"), ("Description", 90, "l"), ("Pack", 300, "l"), ("Qty", 370, "r"), ("UOM", 380, "l"),
          ("Unit Price", 480, "r"), ("Amount", 565, "r")]


def _priced(it: Item, pack: list[str]) -> Cells:
    return {"Item #": [it.code], "Description": _halves(it.description), "Pack": pack, "Qty": [qty(it.quantity)],
            "UOM": [it.uom], "Unit Price": [num(it.unit_price)], "Amount": [num(it.amount)]}


@pytest.mark.parametrize("seed", range(4))
def test_a_pack_wrapped_in_its_cell_beside_a_wrapped_description_is_no_row_of_its_own(seed):
    """"4/" over "10 LB" in a narrow Pack column: the second line (the description's wrap and "LB") was taken for a
    row, so the description lost its second half."""
    o = make_order(random.Random(f"packcell:{seed}"), "restaurant", lines=(4, 7))
    rows = [_priced(it, [f"{it.pack}/", it.size] if n % 2 == 0 else [f"{it.pack}/{it.size}"])
            for n, it in enumerate(o.items)]
    _expect(_read(_pdf(o, PRICED, rows, total=o.subtotal), o.po_date), o.items)


@pytest.mark.parametrize("seed", range(4))
def test_an_order_guides_wrapped_pack_stays_with_its_row_and_unordered_rows_stay_out(seed):
    rng = random.Random(f"guidepack:{seed}")
    o = make_order(rng, "restaurant", lines=(3, 4))
    names = {it.description for it in o.items}
    unordered = [it for it in make_order(rng, "restaurant", lines=(5, 6)).items if it.description not in names]
    listed = [x for pair in zip(o.items, unordered) for x in pair]
    cols = [c for c in PRICED[1:5]]
    rows = [{"Description": _halves(it.description), "Pack": [f"{it.pack}/", it.size],
             **({"Qty": [qty(it.quantity)], "UOM": [it.uom]} if it in o.items else {})} for it in listed]
    _expect(_read(_pdf(o, cols, rows), o.po_date), o.items, code=False, priced=False)


@pytest.mark.parametrize("lead", [10, 14])
@pytest.mark.parametrize("seed", range(3))
def test_a_pack_printed_under_the_description_belongs_to_the_row_above(seed, lead):
    """A guide that prints each product's pack and size under its name: at the rows' own spacing (lead 14) the
    pack line was read as a product left unordered, and the ordered line lost it."""
    rng = random.Random(f"packunder:{seed}")
    o = make_order(rng, "restaurant", lines=(3, 4))
    names = {it.description for it in o.items}
    unordered = [it for it in make_order(rng, "restaurant", lines=(5, 6)).items if it.description not in names]
    listed = [x for pair in zip(unordered, o.items) for x in pair] + unordered[len(o.items):]
    cols = [("Description", 90, "l"), ("Qty", 370, "r"), ("UOM", 380, "l")]
    rows = [{"Description": [it.description, f"{it.pack}/{it.size}"],
             **({"Qty": [qty(it.quantity)], "UOM": [it.uom]} if it in o.items else {})} for it in listed]
    _expect(_read(_pdf(o, cols, rows, lead=lead), o.po_date), o.items, code=False, priced=False,
            desc=lambda it: f"{it.description} {it.pack}/{it.size}")


@pytest.mark.parametrize("column", ["Qty", "UOM"])
@pytest.mark.parametrize("seed", range(3))
def test_a_unit_wrapped_under_the_quantity_is_the_rows_unit(seed, column):
    """"12" over "CS" in a narrow Qty/Unit cell, or the unit printed a line below in its own column: the unit was
    dropped (every line without a unit)."""
    o = make_order(random.Random(f"unit:{seed}:{column}"), "restaurant", lines=(3, 6))
    cols = [c for c in PRICED if c[0] != "Pack" and (column == "UOM" or c[0] != "UOM")]
    rows = []
    for it in o.items:
        row = _priced(it, [])
        row["Description"] = [it.description]
        row[column] = [row["Qty"][0], it.uom] if column == "Qty" else ["", it.uom]
        rows.append({k: v for k, v in row.items() if k in {c[0] for c in cols}})
    _expect(_read(_pdf(o, cols, rows, total=o.subtotal), o.po_date), o.items)
