"""ERP printouts: an SAP-style PO, a NetSuite-style PO and a QuickBooks-style PO."""
from __future__ import annotations

import random

from tests.po.holdout.data import VENDOR, expected, make_order
from tests.po.holdout.draw import FP, RL
from tests.po.holdout.fmt import day, num, qty


def sap_erp(rng: random.Random):
    """SAP printout: item numbers 00010, material numbers, per-item delivery dates, net value totals."""
    o = make_order(rng, "corporate", code=lambda k, g: f"{10000000 + k * 7919}", tax_rate="8.25",
                   po=lambda r: f"45000{r.randint(10000, 99999)}")
    d = RL()
    d.t(40, 50, o.buyer, "Helvetica-Bold", 15)
    d.t(40, 64, ", ".join(o.bill_to[1:]), size=7.5)
    d.t(572, 50, "PURCHASE ORDER", "Helvetica-Bold", 13, "r")
    for n, (lab, val) in enumerate([("Purchase Order No.", o.po_number), ("Date", day(o.po_date, "us")),
                                    ("Currency", o.currency), ("Page", "1 of 1")]):
        d.t(400, 80 + 12 * n, lab, size=8)
        d.t(490, 80 + 12 * n, val, size=8)
    for x, lab, block in [(40, "Vendor", VENDOR), (220, "Deliver To", o.ship_to), (400, "Invoice To", o.bill_to)]:
        d.t(x, 150, lab, "Helvetica-Bold", 8)
        for n, s in enumerate(block):
            d.t(x, 162 + 10 * n, s, size=8)
    d.t(40, 222, f"Delivery Date: {day(o.ship_date, 'us')}", size=8)
    d.t(220, 222, "Terms of payment: Net 30 days", size=8)
    d.t(400, 222, "Incoterms: FOB Destination", size=8)
    d.line(40, 236, 572, 236)
    for x, s, a in [(40, "Item", "l"), (80, "Material", "l"), (150, "Description", "l"), (392, "Order Qty", "r"),
                    (400, "Unit", "l"), (495, "Net Price", "r"), (572, "Net Value", "r")]:
        d.t(x, 246, s, "Helvetica-Bold", 8, a)
    d.line(40, 250, 572, 250)
    y = 262
    for n, it in enumerate(o.items, 1):
        d.t(40, y, f"{n * 10:05d}", size=8)
        d.t(80, y, it.code, size=8)
        d.t(150, y, it.description, size=8)
        d.t(392, y, qty(it.quantity), size=8, align="r")
        d.t(400, y, it.uom, size=8)
        d.t(495, y, num(it.unit_price), size=8, align="r")
        d.t(572, y, num(it.amount), size=8, align="r")
        if rng.random() < 0.5:  # SAP prints a schedule line under some items
            y += 10
            d.t(150, y, f"Delivery date: {day(o.ship_date, 'us')}", size=7)
        y += 14
    d.line(40, y - 6, 572, y - 6)
    for lab, v in [("Total net value excl. tax", o.subtotal), (f"Sales tax {o.tax_rate}%", o.tax),
                   (f"Total amount {o.currency}", o.total)]:
        y += 12
        d.t(380, y, lab, size=8)
        d.t(572, y, num(v), size=8, align="r")
    d.t(40, y + 40, "Please confirm this order within 24 hours. Reference our PO number on all invoices.", size=7)
    return d.done(), expected(o)


def netsuite(rng: random.Random):
    """NetSuite-style: title block with '#PO-1234', quantity first, 'Rate' and 'Amount' columns, one Total."""
    o = make_order(rng, "restaurant", code=lambda k, g: f"RM-{k:03d}{g[-2:]}", po=lambda r: f"PO-{r.randint(1000, 9999)}",
                   freight=rng.random() < 0.5)
    d = RL()
    d.t(40, 52, o.buyer, "Helvetica-Bold", 12)
    for n, s in enumerate(o.bill_to[1:]):
        d.t(40, 66 + 11 * n, s, size=8.5)
    d.t(572, 52, "Purchase Order", "Helvetica", 20, "r")
    d.t(572, 72, f"#{o.po_number}", "Helvetica", 11, "r")
    d.t(572, 86, day(o.po_date, "us_short"), size=9, align="r")
    for x, lab, block in [(40, "Vendor", VENDOR), (300, "Ship To", o.ship_to)]:
        d.t(x, 140, lab, "Helvetica-Bold", 8)
        d.line(x, 144, x + 230, 144, 0.4)
        for n, s in enumerate(block):
            d.t(x, 156 + 11 * n, s, size=8.5)
    d.box(40, 210, 532, 16, fill=0.85)
    for x, s in [(46, "Expected Receipt Date"), (200, "Memo"), (420, "Terms")]:
        d.t(x, 221, s, "Helvetica-Bold", 7.5)
    for x, s in [(46, day(o.ship_date, "us_short")), (200, "Weekly produce & dry"), (420, "Net 30")]:
        d.t(x, 238, s, size=8)
    d.box(40, 252, 532, 16, fill=0.85)
    for x, s, a in [(46, "Quantity", "l"), (100, "Item", "l"), (170, "Description", "l"), (410, "Units", "l"),
                    (500, "Rate", "r"), (566, "Amount", "r")]:
        d.t(x, 263, s, "Helvetica-Bold", 7.5, a)
    y = 282
    for it in o.items:
        d.t(46, y, qty(it.quantity), size=8)
        d.t(100, y, it.code, size=8)
        d.t(170, y, it.description, size=8)
        d.t(410, y, it.uom, size=8)
        d.t(500, y, num(it.unit_price), size=8, align="r")
        d.t(566, y, num(it.amount), size=8, align="r")
        if rng.random() < 0.3:  # long item descriptions wrap inside the cell
            note = rng.choice(["Brand: Pacific Coast or equal", "Keep frozen - deliver to walk-in",
                               "Per chef: no substitutions"])
            y += 10
            d.t(170, y, note, size=8)
            it.description += " " + note
        d.line(40, y + 5, 572, y + 5, 0.2)
        y += 16
    if o.freight is not None:
        d.t(420, y + 8, "Shipping Cost", size=8)
        d.t(566, y + 8, num(o.freight), size=8, align="r")
        y += 14
    d.t(420, y + 12, "Total", "Helvetica-Bold", 10)
    d.t(566, y + 12, num(o.total, sym="$"), "Helvetica-Bold", 10, "r")
    exp = expected(o)
    exp.subtotal = None  # never printed
    exp.bill_to = []  # no bill-to block: the letterhead address is not labelled
    return d.done(), exp


def quickbooks(rng: random.Random):
    """QuickBooks-style: 'Date | P.O. No.' header box, 'Vendor' and 'Ship To' boxes, Item/Description/Qty/Rate/Amount."""
    o = make_order(rng, "restaurant", code=lambda k, g: f"{['Produce', 'Dry', 'Meat', 'Dairy'][k % 4]}:{g[-3:]}",
                   po=lambda r: str(r.randint(1001, 1999)), ship_date=False)
    d = FP()
    d.t(36, 52, o.buyer, size=13, style="B")
    for n, s in enumerate(o.bill_to[1:]):
        d.t(36, 66 + 11 * n, s, size=9)
    d.t(576, 56, "Purchase Order", size=18, style="B", align="r")
    d.cellrow(436, 72, [(70, "Date", "C"), (70, "P.O. No.", "C")], size=9)
    d.cellrow(436, 86, [(70, day(o.po_date, "us_short"), "C"), (70, o.po_number, "C")], size=9)
    d.cellrow(36, 130, [(230, "Vendor", "L")], size=9)
    d.cellrow(346, 130, [(230, "Ship To", "L")], size=9)
    for n in range(4):
        d.cellrow(36, 144 + 12 * n, [(230, VENDOR[n] if n < len(VENDOR) else "", "L")], h=12, size=9, border=0)
        d.cellrow(346, 144 + 12 * n, [(230, o.ship_to[n] if n < len(o.ship_to) else "", "L")], h=12, size=9, border=0)
    widths = [(90, "Item", "C"), (250, "Description", "C"), (50, "Qty", "C"), (70, "Rate", "C"), (80, "Amount", "C")]
    d.cellrow(36, 220, widths, size=9)
    y = 234
    for it in o.items:
        d.cellrow(36, y, [(90, it.code, "L"), (250, it.description, "L"), (50, qty(it.quantity), "R"),
                          (70, num(it.unit_price), "R"), (80, num(it.amount), "R")], size=9)
        y += 14
    d.cellrow(36, y, [(90, "", "L"), (250, "", "L"), (50, "", "R"), (70, "", "R"), (80, "", "R")], h=40)
    d.cellrow(396, y + 46, [(100, "Total", "L"), (80, num(o.total, sym="$"), "R")], size=10, style="B")
    exp = expected(o)
    for ln in exp.lines:
        ln.uom = None  # QuickBooks prints no unit column
    exp.subtotal, exp.bill_to = None, []
    return d.done(), exp
