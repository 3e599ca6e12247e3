"""Small-business orders: an order guide, a boxed form, a plain typed order, '$' cells, codes inside descriptions."""
from __future__ import annotations

import random

from tests.po.holdout.data import VENDOR, expected, make_order
from tests.po.holdout.draw import FP, RL
from tests.po.holdout.fmt import UNIT_WORDS, day, num, qty


def order_guide(rng: random.Random):
    """Restaurant order guide: Pack/Size columns, 'Case'/'Each' units, price BEFORE quantity, fuel surcharge."""
    o = make_order(rng, "restaurant", code=lambda k, g: f"{g[:2]}-{g[2:]}", charges=("Fuel Surcharge",),
                   po=lambda r: f"{r.randint(20000, 29999)}")
    d = RL()
    d.t(40, 48, o.buyer, "Helvetica-Bold", 16)
    d.t(40, 64, "Weekly Order Guide - Broadline", "Helvetica-Oblique", 9)
    for n, (lab, val) in enumerate([("Order #:", o.po_number), ("Order Date:", day(o.po_date, "abbr")),
                                    ("Need By:", day(o.ship_date, "abbr")), ("Ship Via:", "GFS Truck Rt 14")]):
        d.t(400, 44 + 12 * n, lab, "Helvetica-Bold", 8.5)
        d.t(470, 44 + 12 * n, val, size=8.5)
    for x, lab, block in [(40, "Sold To:", o.bill_to), (300, "Deliver To:", o.ship_to)]:
        d.t(x, 112, lab, "Helvetica-Bold", 8.5)
        for n, s in enumerate(block):
            d.t(x, 124 + 11 * n, s, size=8.5)
    d.t(40, 184, f"Distributor: {VENDOR[0]}   Rep: Danny Boudreaux   Acct 88-1402", size=8)
    y = 206
    cols = [(40, "Code", "l"), (96, "Product", "l"), (300, "Pack", "r"), (312, "Size", "l"), (360, "Unit", "l"),
            (452, "Price", "r"), (500, "Order Qty", "r"), (572, "Ext.", "r")]
    for x, s, a in cols:
        d.t(x, y, s, "Helvetica-Bold", 8.5, a)
    d.line(40, y + 4, 572, y + 4, 1)
    y += 16
    for n, it in enumerate(o.items):
        if n % 2:
            d.box(40, y - 9, 532, 12, fill=0.93)
        vals = [it.code, it.description, it.pack, it.size, UNIT_WORDS[it.uom], num(it.unit_price),
                qty(it.quantity), num(it.amount)]
        for (x, _, a), v in zip(cols, vals):
            d.t(x, y, v, size=8.5, align=a)
        y += 12
    y += 10
    for lab, v in [("Subtotal", o.subtotal)] + o.charges + [("Total", o.total)]:
        d.t(470, y, lab, "Helvetica-Bold" if lab == "Total" else "Helvetica", 9, "r")
        d.t(572, y, num(v), size=9, align="r")
        y += 13
    return d.done(), expected(o)


def boxed_form(rng: random.Random):
    """Pre-printed stationery filled in: tiny box captions, Courier values, ruled grid with blank rows."""
    o = make_order(rng, "corporate", lines=(2, 6), code=lambda k, g: f"{k + 1:02d}{g[-2:]}", freight=True,
                   tax_rate="7", po=lambda r: f"{r.randint(5000, 5999)}")
    d = RL()
    d.t(40, 46, o.buyer.upper(), "Helvetica-Bold", 13)
    d.t(572, 46, "PURCHASE ORDER", "Helvetica-Bold", 13, "r")

    def field(x, y, w, cap, val):
        d.box(x, y, w, 26)
        d.t(x + 3, y + 7, cap, size=5.5)
        d.t(x + 6, y + 20, val, "Courier", 10)
    for x, w, cap, val in [(40, 110, "P.O. NO.", o.po_number), (150, 110, "DATE", day(o.po_date, "us")),
                           (260, 110, "DATE REQUIRED", day(o.ship_date, "us")), (370, 100, "SHIP VIA", "Your truck"),
                           (470, 102, "TERMS", "Net 15")]:
        field(x, 60, w, cap, val)
    for x, cap, block in [(40, "SOLD TO", o.bill_to), (306, "SHIP TO", o.ship_to)]:
        d.box(x, 96, 266, 64)
        d.t(x + 3, 103, cap, size=5.5)
        for n, s in enumerate(block):
            d.t(x + 8, 115 + 11 * n, s, "Courier", 9)
    grid = [(40, 44, "QTY"), (84, 40, "UNIT"), (124, 60, "STOCK NO."), (184, 220, "DESCRIPTION"),
            (404, 80, "UNIT PRICE"), (484, 88, "AMOUNT")]
    y = 172
    for x, w, cap in grid:
        d.box(x, y, w, 14, fill=0.88)
        d.t(x + w / 2, y + 10, cap, "Helvetica-Bold", 6.5, "c")
    y += 14
    for r in range(max(12, len(o.items) + 3)):
        it = o.items[r] if r < len(o.items) else None
        for x, w, cap in grid:
            d.box(x, y, w, 16)
        if it:
            for (x, w, _), v, a in zip(grid, [qty(it.quantity), it.uom, it.code, it.description, num(it.unit_price),
                                               num(it.amount)], "rlllrr"):
                d.t(x + w - 4 if a == "r" else x + 4, y + 11, v, "Courier", 8.5 if len(v) > 30 else 9, a)
        y += 16
    for cap, v in [("SUBTOTAL", o.subtotal), ("TAX", o.tax), ("SHIPPING", o.freight), ("TOTAL", o.total)]:
        d.box(404, y, 80, 16)
        d.box(484, y, 88, 16)
        d.t(408, y + 11, cap, "Helvetica-Bold", 6.5)
        d.t(568, y + 11, num(v), "Courier", 9, "r")
        y += 16
    d.t(40, y - 40, "AUTHORIZED BY", size=5.5)
    d.line(40, y - 20, 300, y - 20)
    return d.done(), expected(o)


def plain_typed(rng: random.Random):
    """Typed in Courier with no grid at all: right-aligned numbers, qty first, 'Each' price column."""
    o = make_order(rng, "restaurant", code=lambda k, g: g, po=lambda r: f"{r.randint(58000, 58999)}",
                   freight=rng.random() < 0.5)
    d = FP()
    d.t(36, 50, o.buyer, "Courier", 12, "B")
    for n, s in enumerate(o.bill_to[1:]):
        d.t(36, 63 + 11 * n, s, "Courier", 9)
    y = 120
    for lab, val in [("ORDER #", o.po_number), ("Date:", day(o.po_date, "abbr")),
                     ("Ship Via:", "Your truck"), ("Need By:", day(o.ship_date, "abbr"))]:
        d.t(36, y, f"{lab} {val}", "Courier", 9)
        y += 11
    d.t(36, y + 8, f"To: {VENDOR[0]} - Order Desk", "Courier", 9)
    d.t(330, 120, "Deliver To:", "Courier", 9)
    for n, s in enumerate(o.ship_to):
        d.t(330, 131 + 11 * n, s, "Courier", 9)
    y += 36
    head = [(60, "Qty", "r"), (72, "Item", "l"), (130, "Description", "l"), (470, "Each", "r"), (560, "Total", "r")]
    for x, s, a in head:
        d.t(x, y, s, "Courier", 9, "B", a)
    y += 14
    for it in o.items:
        for (x, _, a), v in zip(head, [f"{qty(it.quantity)} {it.uom}", it.code, it.description, num(it.unit_price),
                                       num(it.amount)]):
            d.t(x, y, v, "Courier", 8.5, align=a)
        y += 12
    y += 12
    fee = [("Delivery fee", o.freight)] if o.freight is not None else []
    for lab, v in [("Subtotal", o.subtotal)] + fee + [("Total", o.total)]:
        d.t(470, y, lab, "Courier", 9, "B" if lab == "Total" else "", "r")
        d.t(560, y, num(v, sym="$"), "Courier", 9, align="r")
        y += 12
    d.t(36, y + 24, "Thanks - call Marcus at 713-555-0144 with any outs or subs.", "Courier", 9)
    exp = expected(o)
    exp.bill_to = []  # only a letterhead address, no bill-to label
    return d.done(), exp


def dollar_cells(rng: random.Random):
    """Every money cell has its '$' at the left edge of the cell and the number flush right."""
    o = make_order(rng, "corporate", code=lambda k, g: f"PW-{g[-4:]}", tax_rate="8.25", freight=rng.random() < 0.5,
                   po=lambda r: f"PW{r.randint(1000, 9999)}-{r.randint(1, 9)}")
    d = RL()
    d.t(40, 50, o.buyer, "Helvetica-Bold", 14)
    d.t(40, 63, ", ".join(o.bill_to[1:]), size=8)
    d.t(572, 50, "PURCHASE ORDER", "Helvetica-Bold", 12, "r")
    for n, (lab, val) in enumerate([("PO Number", o.po_number), ("Date", day(o.po_date, "us")),
                                    ("Delivery Date", day(o.ship_date, "us"))]):
        d.t(470, 68 + 12 * n, lab, "Helvetica-Bold", 8, "r")
        d.t(480, 68 + 12 * n, val, size=8)
    for x, lab, block in [(40, "Vendor", VENDOR), (240, "Bill To", o.bill_to), (420, "Ship To", o.ship_to)]:
        d.t(x, 130, lab.upper(), "Helvetica-Bold", 8)
        for n, s in enumerate(block):
            d.t(x, 142 + 10 * n, s, size=8)
    y = 210
    cols = [(40, 40, "Qty"), (80, 70, "Item #"), (150, 250, "Description"), (400, 80, "Unit Price"), (480, 92, "Total")]
    for x, w, s in cols:
        d.box(x, y - 10, w, 14, fill=0.8)
        d.t(x + w / 2, y, s, "Helvetica-Bold", 8, "c")
    y += 14
    for it in o.items:
        for x, w, _ in cols:
            d.box(x, y - 10, w, 14)
        d.t(76, y, qty(it.quantity), size=8, align="r")
        d.t(84, y, it.code, size=8)
        d.t(154, y, it.description, size=8)
        for x, w, v in [(400, 80, it.unit_price), (480, 92, it.amount)]:
            d.t(x + 3, y, "$", size=8)
            d.t(x + w - 3, y, num(v), size=8, align="r")
        y += 14
    rows = [("Subtotal", o.subtotal)] + ([("Freight", o.freight)] if o.freight is not None else []) + \
        [(f"Sales Tax ({o.tax_rate}%)", o.tax), ("Total", o.total)]
    for lab, v in rows:
        d.t(470, y + 4, lab, "Helvetica-Bold", 8, "r")
        d.t(483, y + 4, "$", size=8)
        d.t(569, y + 4, num(v), size=8, align="r")
        y += 13
    exp = expected(o)
    for ln in exp.lines:
        ln.uom = None  # no unit column
    return d.done(), exp


def embedded_code(rng: random.Random):
    """Times PO whose item codes live inside the description cell ('#10234 Chicken breast')."""
    o = make_order(rng, "corporate", code=lambda k, g: str(10200 + k * 17), po=lambda r: f"NO-{r.randint(1000, 9999)}",
                   tax_rate="9", freight=True)
    d = FP()
    d.t(36, 50, o.buyer, "Times", 15, "B")
    d.t(36, 64, " - ".join(o.bill_to[1:]), "Times", 8.5)
    for n, (lab, val) in enumerate([("Purchase Order No.", o.po_number), ("Order Date", day(o.po_date, "long")),
                                    ("Deliver By", day(o.ship_date, "long"))]):
        d.t(370, 90 + 13 * n, lab + ":", "Times", 9.5, "B")
        d.t(470, 90 + 13 * n, val, "Times", 9.5)
    for x, lab, block in [(36, "Bill To:", o.bill_to), (200, "Ship To:", o.ship_to)]:
        d.t(x, 90, lab, "Times", 9.5, "B")
        for n, s in enumerate(block):
            d.t(x, 102 + 11 * n, s, "Times", 9)
    cols = [(40, "Qty", "C"), (40, "Unit", "C"), (300, "Item / Description", "L"), (80, "Price", "R"),
            (80, "Amount", "R")]
    d.cellrow(36, 170, cols, font="Times", style="B", size=9)
    y = 184
    for it in o.items:
        d.cellrow(36, y, [(40, qty(it.quantity), "C"), (40, it.uom, "C"), (300, f"#{it.code} {it.description}", "L"),
                          (80, num(it.unit_price), "R"), (80, num(it.amount), "R")], font="Times", size=9)
        y += 14
    for lab, v in [("Subtotal", o.subtotal), ("Freight", o.freight), ("Tax 9%", o.tax), ("Total Due", o.total)]:
        d.cellrow(376, y, [(80, lab, "L"), (80, num(v, sym="$"), "R")], font="Times", size=9)
        y += 14
    return d.done(), expected(o)
