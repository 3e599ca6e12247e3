"""Orders from abroad: Canadian (CAD, GST/HST), Belgian (EUR, comma decimals, VAT), British (GBP, VAT)."""
from __future__ import annotations

import random

from tests.po.holdout.data import VENDOR, expected, make_order
from tests.po.holdout.draw import FP, RL
from tests.po.holdout.fmt import day, num, qty


def canada(rng: random.Random):
    """Times-Roman PO in CAD with ISO dates, side-by-side Bill To / Ship To, 'GST/HST 13%' and 'Total CAD'."""
    o = make_order(rng, "canada", currency="CAD", code=lambda k, g: f"MR{k + 100}", tax_rate="13",
                   tax_label="GST/HST 13%", po=lambda r: f"MRC-2025-{r.randint(100, 999):04d}")
    d = RL()
    d.t(40, 50, o.buyer, "Times-Bold", 16)
    d.t(40, 64, "88 King Street West, Toronto, ON M5H 1A1  |  GST/HST Reg. No. 81234 5678 RT0001", "Times-Roman", 8)
    d.t(572, 50, "Purchase Order", "Times-Bold", 14, "r")
    for n, (lab, val) in enumerate([("Purchase Order #", o.po_number), ("Order Date", day(o.po_date, "iso")),
                                    ("Required Date", day(o.ship_date, "iso")), ("Currency", "CAD")]):
        d.t(420, 78 + 12 * n, lab + ":", "Times-Bold", 9)
        d.t(500, 78 + 12 * n, val, "Times-Roman", 9)
    for x, lab, block in [(40, "Supplier", VENDOR), (230, "Bill To", o.bill_to), (420, "Ship To", o.ship_to)]:
        d.t(x, 146, lab, "Times-Bold", 10)
        for n, s in enumerate(block):
            d.t(x, 160 + 11 * n, s, "Times-Roman", 9)
    y = 222
    d.line(40, y - 11, 572, y - 11)
    for x, s, a in [(40, "Item", "l"), (100, "Description", "l"), (360, "Qty", "r"), (372, "U/M", "l"),
                    (480, "Price (CAD)", "r"), (572, "Amount (CAD)", "r")]:
        d.t(x, y, s, "Times-Bold", 9, a)
    d.line(40, y + 4, 572, y + 4)
    y += 17
    for it in o.items:
        for x, v, a in [(40, it.code, "l"), (100, it.description, "l"), (360, qty(it.quantity), "r"),
                        (372, it.uom, "l"), (480, num(it.unit_price), "r"), (572, num(it.amount), "r")]:
            d.t(x, y, v, "Times-Roman", 9, a)
        y += 13
    d.line(40, y - 7, 572, y - 7)
    for lab, v in [("Subtotal", o.subtotal), (o.tax_label, o.tax), ("Total CAD", o.total)]:
        y += 6
        d.t(420, y, lab, "Times-Bold" if "Total" in lab else "Times-Roman", 9)
        d.t(572, y, num(v, sym="$"), "Times-Roman", 9, "r")
        y += 8
    d.t(40, y + 30, "Prices in Canadian dollars. Goods must clear customs before delivery; broker: Livingston.",
        "Times-Italic", 8)
    return d.done(), expected(o)


def eu_vat(rng: random.Random):
    """Belgian caterer: EUR, '1.234,56' numbers, day-first dd/mm/yyyy dates, Pos./Art. No. columns, VAT 21%."""
    o = make_order(rng, "eu", currency="EUR", code=lambda k, g: f"{70000 + k * 17}", tax_rate="21",
                   tax_label="VAT 21%", po=lambda r: f"BK{r.randint(2025000, 2025999)}", fractional=True)
    d = FP()
    d.t(36, 54, o.buyer, size=16, style="B")
    d.t(36, 68, "Kaai 12 - 2000 Antwerpen - BTW BE 0123.456.789", size=8)
    d.t(576, 54, "PURCHASE ORDER", size=13, style="B", align="r")
    for n, (lab, val) in enumerate([("Order No.:", o.po_number), ("Order Date:", day(o.po_date, "uk")),
                                    ("Delivery Date:", day(o.ship_date, "uk")), ("Our Reference:", "J. Peeters")]):
        d.t(390, 80 + 12 * n, lab, size=8.5, style="B")
        d.t(480, 80 + 12 * n, val, size=8.5)
    for x, lab, block in [(36, "Invoice Address", o.bill_to), (216, "Delivery Address", o.ship_to),
                          (396, "Supplier", VENDOR)]:
        d.t(x, 150, lab, size=8.5, style="B")
        for n, s in enumerate(block):
            d.t(x, 162 + 11 * n, s, size=8.5)
    cols = [(30, "Pos.", "C"), (56, "Art. No.", "C"), (214, "Description", "L"), (40, "Qty", "R"),
            (36, "Unit", "C"), (80, "Unit Price", "R"), (84, "Total", "R")]
    d.set_fill_color(225)
    d.set_font("Helvetica", "B", 8)
    d.set_xy(36, 220)
    for w, s, a in cols:
        d.cell(w, 14, s, border="TB", align=a, fill=True, new_x="RIGHT", new_y="TOP")
    y = 236
    for n, it in enumerate(o.items, 1):
        vals = [str(n), it.code, it.description, qty(it.quantity, comma=True), it.uom,
                num(it.unit_price, comma=True), num(it.amount, comma=True)]
        d.cellrow(36, y, [(w, v, a) for (w, _, a), v in zip(cols, vals)], h=13, border=0)
        y += 13
    d.line(36, y + 2, 576, y + 2)
    y += 8
    for lab, v in [("Net total", o.subtotal), (o.tax_label, o.tax), ("Total EUR", o.total)]:
        d.cellrow(376, y, [(116, lab, "L"), (84, num(v, comma=True), "R")], h=13, border=0,
                  style="B" if lab.startswith("Total") else "")
        y += 13
    d.t(36, y + 30, "Payment 30 days end of month. Please state our order number on every delivery note.", size=7.5)
    return d.done(), expected(o)


def uk_vat(rng: random.Random):
    """British hospitality group: GBP, '14 March 2025' dates, pack size column, Goods Total / Carriage / VAT @ 20%."""
    o = make_order(rng, "uk", currency="GBP", code=lambda k, g: f"TR/{k:03d}", tax_rate="20", freight=True,
                   tax_label="VAT @ 20%", charges=("Less discount 2%",) if rng.random() < 0.5 else (),
                   tax_on_all=True, po=lambda r: f"TRH{r.randint(10000, 99999)}")
    d = RL()
    d.t(306, 46, o.buyer, "Helvetica-Bold", 15, "c")
    d.t(306, 60, "14 Queen Street, Edinburgh EH2 1JE  -  VAT Reg. GB 123 4567 89", size=8, align="c")
    d.t(306, 84, "OFFICIAL ORDER", "Helvetica-Bold", 12, "c")
    for n, (lab, val) in enumerate([("Order Ref:", o.po_number), ("Order Date:", day(o.po_date, "uk_long")),
                                    ("Required By:", day(o.ship_date, "uk"))]):
        d.t(40, 108 + 12 * n, lab, "Helvetica-Bold", 8.5)
        d.t(110, 108 + 12 * n, val, size=8.5)
    d.t(330, 108, "Supplier:", "Helvetica-Bold", 8.5)
    d.t(400, 108, VENDOR[0], size=8.5)
    for x, lab, block in [(40, "Invoice To:", o.bill_to), (330, "Deliver To:", o.ship_to)]:
        d.t(x, 160, lab, "Helvetica-Bold", 8.5)
        for n, s in enumerate(block):
            d.t(x, 172 + 11 * n, s, size=8.5)
    y = 240
    d.box(40, y - 11, 532, 15, fill=0.9)
    for x, s, a in [(44, "Product Code", "l"), (110, "Description", "l"), (330, "Pack Size", "l"), (420, "Qty", "r"),
                    (492, "Price £", "r"), (568, "Value £", "r")]:
        d.t(x, y, s, "Helvetica-Bold", 8, a)
    y += 16
    for it in o.items:
        for x, v, a in [(44, it.code, "l"), (110, it.description, "l"), (330, f"{it.pack} x {it.size}", "l"),
                        (420, f"{qty(it.quantity)} {it.uom}", "r"), (492, num(it.unit_price), "r"),
                        (568, num(it.amount), "r")]:
            d.t(x, y, v, size=8, align=a)
        y += 13
    d.line(40, y - 6, 572, y - 6)
    for lab, v in [("Goods Total", o.subtotal)] + o.charges + [("Carriage", o.freight), (o.tax_label, o.tax),
                                                            ("Total Due", o.total)]:
        y += 13
        d.t(420, y, lab, "Helvetica-Bold" if lab == "Total Due" else "Helvetica", 8.5)
        d.t(568, y, f"({num(-v, sym='£')})" if v < 0 else num(v, sym="£"), size=8.5, align="r")
    d.t(40, y + 30, "Goods received after 2pm will be refused. All prices to include delivery unless stated.", size=7)
    return d.done(), expected(o)
