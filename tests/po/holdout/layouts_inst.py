"""Institutional buyers: a school district PO with account codes, a hospital PO, a three-page order."""
from __future__ import annotations

import random

from tests.po.holdout.data import VENDOR, expected, make_order
from tests.po.holdout.draw import FP, RL
from tests.po.holdout.fmt import day, num, qty


def school_district(rng: random.Random):
    """Gridded Times form: Line/Qty/Unit/Item #/Description/Account Code/Unit Cost/Extended/Notes, tax exempt."""
    o = make_order(rng, "school", code=lambda k, g: f"FS-{2200 + k * 3}", freight=True,
                   po=lambda r: f"P{r.randint(25, 26)}-{r.randint(100, 9999):05d}")
    d = FP()
    d.t(306, 50, o.buyer.upper(), "Times", 14, "B", "c")
    d.t(306, 64, "Child Nutrition Program - Food Services Department", "Times", 9, align="c")
    d.t(306, 84, "PURCHASE ORDER", "Times", 13, "B", "c")
    for n, (lab, val) in enumerate([("PO Number:", o.po_number), ("PO Date:", day(o.po_date, "us")),
                                    ("Req. Date:", day(o.ship_date, "us")), ("Fiscal Year:", "2025-26")]):
        d.t(400, 110 + 13 * n, lab, "Times", 9, "B")
        d.t(470, 110 + 13 * n, val, "Times", 9)
    d.t(36, 110, "Vendor:", "Times", 9, "B")
    for n, s in enumerate(VENDOR + ["Vendor No. 004417"]):
        d.t(36, 122 + 11 * n, s, "Times", 9)
    for x, lab, block in [(36, "Ship To:", o.ship_to), (300, "Invoice To:", o.bill_to)]:
        d.t(x, 184, lab, "Times", 9, "B")
        for n, s in enumerate(block):
            d.t(x, 196 + 11 * n, s, "Times", 9)
    cols = [(26, "Line", "C"), (30, "Qty", "C"), (28, "Unit", "C"), (44, "Item #", "C"),
            (160, "Description", "C"), (100, "Account Code", "C"), (48, "Unit Cost", "C"), (52, "Extended", "C"),
            (52, "Notes", "C")]
    d.cellrow(36, 254, cols, font="Times", style="B", size=8)
    y = 268
    acct = f"{rng.randint(10, 13)}-5310-0-3700-0000-4710"
    for n, it in enumerate(o.items, 1):
        note = rng.choice(["", "", "Frozen", "Sub OK", "No subs"])
        vals = [str(n), qty(it.quantity), it.uom, it.code, it.description, acct, num(it.unit_price), num(it.amount),
                note]
        d.cellrow(36, y, [(w, v, "R" if k in (1, 6, 7) else "L") for k, ((w, _, _), v) in enumerate(zip(cols, vals))],
                  font="Times", size=8)
        y += 14
    for lab, v in [("Subtotal", o.subtotal), ("Delivery Fee", o.freight), ("Total", o.total)]:
        d.cellrow(436, y, [(52, lab, "L"), (52, num(v), "R")], font="Times", size=8,
                  style="B" if lab == "Total" else "")
        y += 14
    d.t(36, y + 10, "Tax Exempt - Certificate No. 63-0123456. Deliver Mon-Fri 6:00-11:00 AM only.", "Times", 8)
    d.t(36, y + 40, "Authorized Signature: ______________________    Director of Child Nutrition", "Times", 8)
    return d.done(), expected(o)


def hospital(rng: random.Random):
    """Hospital dietary PO: line numbers 0010/0020, a delivery window, stacked Sold To / Deliver To blocks."""
    o = make_order(rng, "hospital", code=lambda k, g: f"{400000 + k * 131}", freight=rng.random() < 0.6,
                   po=lambda r: f"HP{r.randint(1000000, 9999999)}", fractional=True)
    d = FP()
    d.t(36, 48, o.buyer, "Helvetica", 14, "B")
    d.t(36, 62, "Materials Management / Food & Nutrition Services", size=8)
    d.t(576, 48, "PURCHASE ORDER", size=12, style="B", align="r")
    rows = [("PO Number", o.po_number), ("Order Date", day(o.po_date, "abbr")), ("Buyer", "K. Alvarez x4471"),
            ("Delivery Window", f"{day(o.ship_date, 'us')} 05:00-07:00"), ("Ship Via", "Vendor Truck")]
    for n, (lab, val) in enumerate(rows):
        d.t(380, 76 + 12 * n, lab, size=8, style="B")
        d.t(460, 76 + 12 * n, val, size=8)
    y = 96
    for lab, block in [("Sold To:", o.bill_to), ("Deliver To:", o.ship_to)]:
        d.t(36, y, lab, size=8, style="B")
        for n, s in enumerate(block):
            d.t(100, y + 11 * n, s, size=8)
        y += 11 * len(block) + 12
    d.t(36, y + 4, "Supplier: " + ", ".join(VENDOR), size=8)
    y += 24
    d.line(36, y - 10, 576, y - 10)
    cols = [(36, "Line", "l"), (72, "Item No.", "l"), (130, "Description", "l"), (388, "Qty", "r"),
            (398, "UOM", "l"), (490, "Unit Price", "r"), (576, "Ext. Amount", "r")]
    for x, s, a in cols:
        d.t(x, y, s, size=8, style="B", align=a)
    d.line(36, y + 4, 576, y + 4)
    y += 16
    for n, it in enumerate(o.items, 1):
        vals = [f"{n * 10:04d}", it.code, it.description, qty(it.quantity), it.uom, num(it.unit_price), num(it.amount)]
        for (x, _, a), v in zip(cols, vals):
            d.t(x, y, v, size=8, align=a)
        y += 13
    d.line(36, y - 6, 576, y - 6)
    tail = [("Subtotal", o.subtotal)] + ([("Freight", o.freight)] if o.freight is not None else []) + \
        [("Total", o.total)]
    for lab, v in tail:
        y += 6
        d.t(440, y, lab, size=8, style="B")
        d.t(576, y, num(v), size=8, align="r")
        y += 6
    d.t(36, y + 30, "All deliveries must be received at Dock 4 within the delivery window. Temperature logs required.",
        size=7)
    return d.done(), expected(o)


def three_page(rng: random.Random):
    """A 45-60 line order over three pages with page subtotals, carried-forward rows and a long charges block."""
    o = make_order(rng, "corporate", lines=(45, 60), code=lambda k, g: f"NS{k:02d}-{g[:3]}",
                   charges=("Less discount 2%", "Fuel surcharge"), freight=True, tax_rate="8.25",
                   po=lambda r: f"{r.randint(300000, 399999)}")
    d = RL()
    per_page = -(-len(o.items) // 3)
    carried = None
    for p in range(3):
        d.t(40, 40, o.buyer, "Helvetica-Bold", 13)
        d.t(572, 40, "PURCHASE ORDER", "Helvetica-Bold", 11, "r")
        d.t(572, 54, f"PO Number: {o.po_number}", size=8.5, align="r")
        d.t(572, 66, f"Order Date: {day(o.po_date, 'us')}", size=8.5, align="r")
        y = 84
        if p == 0:
            d.t(572, 78, f"Need By: {day(o.ship_date, 'us')}", size=8.5, align="r")
            for x, lab, block in [(40, "Bill To:", o.bill_to), (240, "Ship To:", o.ship_to), (440, "Vendor:", VENDOR)]:
                d.t(x, 100, lab, "Helvetica-Bold", 8.5)
                for n, s in enumerate(block):
                    d.t(x, 112 + 10 * n, s, size=8.5)
            y = 170
        for x, s, a in [(40, "Ln", "l"), (62, "Our Item #", "l"), (122, "GFS Item #", "l"), (180, "Description", "l"),
                        (430, "Qty", "r"), (440, "UOM", "l"), (512, "Price", "r"), (572, "Ext Price", "r")]:
            d.t(x, y, s, "Helvetica-Bold", 8, a)
        d.line(40, y + 4, 572, y + 4)
        y += 16
        if carried is not None:
            d.t(180, y, "Carried forward", "Helvetica-Oblique", 8)
            d.t(572, y, num(carried), size=8, align="r")
            y += 13
        chunk = o.items[p * per_page:(p + 1) * per_page]
        for n, it in enumerate(chunk, p * per_page + 1):
            for x, v, a in [(40, str(n), "l"), (62, it.code, "l"), (122, it.gfs_code, "l"), (180, it.description, "l"),
                            (430, qty(it.quantity), "r"), (440, it.uom, "l"), (512, num(it.unit_price), "r"),
                            (572, num(it.amount), "r")]:
                d.t(x, y, v, size=8, align=a)
            y += 12
        carried = (carried or 0) + sum(i.amount for i in chunk)
        d.line(40, y - 6, 572, y - 6, 0.3)
        if p < 2:
            d.t(430, y + 4, "Page subtotal", "Helvetica-Oblique", 8, "r")
            d.t(572, y + 4, num(carried), size=8, align="r")
        else:
            rows = [("Merchandise Subtotal", o.subtotal)] + [(lab, a) for lab, a in o.charges] + \
                [("Delivery fee", o.freight), (f"Sales tax {o.tax_rate}%", o.tax), ("Total", o.total)]
            for lab, v in rows:
                y += 12
                d.t(440, y, lab, size=8.5)
                d.t(572, y, num(v), size=8.5, align="r")
        d.t(306, 760, f"Page {p + 1} of 3", size=7.5, align="c")
        d.page()
    return d.done(), expected(o)
