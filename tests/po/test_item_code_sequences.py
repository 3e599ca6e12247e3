"""Numeric item codes that happen to be consecutive are item codes, not line numbers: a table without a line-number
column whose first column holds 10231, 10232, 10233 (products set up together) lost every code to the line number."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.po.holdout.draw import RL
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf

ITEMS = [("Chicken Thigh Boneless Skinless", "4", "CS", "58.40"), ("Cheddar Cheese Shredded Mild", "2", "CS", "47.15"),
         ("Romaine Lettuce Chopped Washed", "3", "CS", "32.60"), ("Canola Frying Oil Clear", "1", "EA", "39.80")]


def _order(first: str, head: str = "Item #", n: int = 3) -> bytes:
    """A restaurant's PO: no line-number column; the first column is headed `head` and counts up from `first`."""
    cols = [(head, 40, "l"), ("Description", 100, "l"), ("Qty", 360, "r"), ("UOM", 372, "l"),
            ("Unit Price", 480, "r"), ("Amount", 565, "r")]
    d = RL()
    d.t(40, 48, "Copper Kettle Restaurant Group", "Helvetica-Bold", 15)
    d.t(572, 48, "PURCHASE ORDER", "Helvetica-Bold", 12, "r")
    d.t(400, 70, "PO Number: 4500123")
    d.t(400, 82, "PO Date: 02/14/2026")
    for name, x, a in cols:
        d.t(x, 150, name, "Helvetica-Bold", 9, a)
    y, total, step = 168, Decimal(0), 10 if first.endswith("0") and len(first) > 1 else 1
    for k, (desc, q, uom, price) in enumerate(ITEMS[:n]):
        amount = Decimal(q) * Decimal(price)
        total += amount
        code = str(int(first) + k * step).zfill(len(first))
        for (_, x, a), v in zip(cols, (code, desc, q, uom, price, f"{amount:.2f}"), strict=True):
            d.t(x, y, v, align=a)
        y += 13
    d.t(480, y + 14, "Total", align="r")
    d.t(565, y + 14, f"{total:,.2f}", align="r")
    return d.done()


def _read(pdf: bytes):
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=date(2026, 3, 1)))


@pytest.mark.parametrize(("first", "n"), [("10231", 3), ("10231", 4), ("20410", 3), ("004471", 4)])
def test_consecutive_numeric_item_codes_stay_item_codes(first, n):
    po = _read(_order(first, n=n))
    step = 10 if first.endswith("0") else 1
    codes = [str(int(first) + k * step).zfill(len(first)) for k in range(n)]
    assert [(ln.line_no, ln.customer_item_code) for ln in po.lines] == list(zip(range(1, n + 1), codes, strict=True))
    assert [f.code for f in po.findings] == []


@pytest.mark.parametrize("first", ["1", "10", "0010"])
def test_a_column_counting_up_from_the_start_is_still_read_as_line_numbers(first):
    po = _read(_order(first, head="Item", n=4))
    step = int(first) if first != "1" else 1
    assert [(ln.line_no, ln.customer_item_code) for ln in po.lines] == [(step * k, None) for k in range(1, 5)]
