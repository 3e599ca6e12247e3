"""Set B: six layouts written AFTER the parser was tuned on set A, scored once as a blind estimate."""
from __future__ import annotations

import random
from decimal import Decimal

from tests.po.holdout.data import VENDOR, expected, make_order, money
from tests.po.holdout.draw import FP, RL
from tests.po.holdout.fmt import day, num, qty

_WORDS = {"CS": "CASE", "EA": "EACH", "LB": "POUND", "BX": "BOX", "BG": "BAG"}


def oracle(rng: random.Random):
    """Oracle-style: part number over description in one cell, per-line delivery date column, 'Total USD'."""
    o = make_order(rng, "hospital", code=lambda k, g: f"FD.{k:04d}.{g[-3:]}", po=lambda r: str(r.randint(1100000, 1199999)))
    d = RL()
    d.t(40, 44, o.buyer, "Helvetica-Bold", 12)
    d.t(572, 44, "Standard Purchase Order", "Helvetica-Bold", 11, "r")
    d.box(360, 54, 212, 40)
    for n, (lab, val) in enumerate([("PO Number", f"{o.po_number}, 0"), ("Created", day(o.po_date, "dmy_abbr"))]):
        d.t(366, 66 + 14 * n, lab, "Helvetica-Bold", 7.5)
        d.t(440, 66 + 14 * n, val, size=7.5)
    for x, lab, block in [(40, "Supplier:", VENDOR), (220, "Ship-To Address:", o.ship_to),
                          (400, "Bill-To Address:", o.bill_to)]:
        d.t(x, 116, lab, "Helvetica-Bold", 7.5)
        for n, s in enumerate(block):
            d.t(x, 127 + 9 * n, s, size=7.5)
    y = 186
    d.line(40, y - 10, 572, y - 10)
    for x, s, a in [(40, "Line", "l"), (66, "Part Number / Description", "l"), (300, "Delivery Date", "l"),
                    (410, "Quantity", "r"), (418, "UOM", "l"), (500, "Unit Price (USD)", "r"), (572, "Amount", "r")]:
        d.t(x, y, s, "Helvetica-Bold", 7.5, a)
    d.line(40, y + 4, 572, y + 4)
    y += 15
    for n, it in enumerate(o.items, 1):
        for x, v, a in [(40, str(n), "l"), (66, it.code, "l"), (300, day(o.ship_date, "dmy_abbr"), "l"),
                        (410, qty(it.quantity), "r"), (418, it.uom, "l"), (500, num(it.unit_price), "r"),
                        (572, num(it.amount), "r")]:
            d.t(x, y, v, size=7.5, align=a)
        d.t(66, y + 9, it.description, size=7.5)
        y += 24
    d.t(500, y + 4, "Total USD", "Helvetica-Bold", 8, "r")
    d.t(572, y + 4, num(o.total), "Helvetica-Bold", 8, "r")
    exp = expected(o)
    exp.subtotal = None
    exp.requested_ship_date = None  # only per-line delivery dates, no header field
    return d.done(), exp


def request_form(rng: random.Random):
    """Caterer's Times form: order number in the title line, description first, price before qty, 'Order Total'."""
    o = make_order(rng, "restaurant", code=lambda k, g: f"C{g}", po=lambda r: str(r.randint(7000, 7999)), freight=True)
    d = FP()
    d.t(36, 50, o.buyer, "Times", 14, "B")
    d.t(36, 76, f"ORDER REQUEST - Order # {o.po_number}", "Times", 12, "B")
    d.t(36, 94, f"Placed: {day(o.po_date, 'long')}", "Times", 10)
    d.t(300, 94, f"Deliver On: {day(o.ship_date, 'long')}", "Times", 10)
    d.t(36, 120, "Deliver To:", "Times", 10, "B")
    for n, s in enumerate(o.ship_to):
        d.t(36, 132 + 12 * n, s, "Times", 10)
    d.t(300, 120, "Supplier:", "Times", 10, "B")
    for n, s in enumerate(VENDOR):
        d.t(300, 132 + 12 * n, s, "Times", 10)
    cols = [(230, "Description", "L"), (70, "Item Code", "L"), (60, "Price", "R"), (50, "Qty", "R"), (30, "Unit", "C"),
            (80, "Total", "R")]
    d.cellrow(36, 190, cols, font="Times", style="B", size=10)
    y = 204
    for it in o.items:
        d.cellrow(36, y, [(w, v, a) for (w, _, a), v in zip(cols, [it.description, it.code, num(it.unit_price),
                                                                    qty(it.quantity), it.uom, num(it.amount)])],
                  font="Times", size=10)
        y += 14
    for lab, v in [("Items", o.subtotal), ("Delivery Charge", o.freight), ("Order Total", o.total)]:
        d.cellrow(386, y, [(80, lab, "L"), (80, num(v, sym="$"), "R")], font="Times", size=10, border=0)
        y += 14
    exp = expected(o)
    exp.subtotal = None  # "Items" is not a label we can expect anyone to know
    exp.bill_to = []
    return d.done(), exp


def requisition(rng: random.Random):
    """Courier requisition form: unit words (CASE/EACH), 'DATE ISSUED', 'DELIVERY DATE', upper-case text."""
    o = make_order(rng, "corporate", code=lambda k, g: f"{k + 1:03d}-{g[:3]}", po=lambda r: f"{r.randint(10, 99)}-{r.randint(100000, 999999)}")
    d = RL()
    d.t(306, 40, o.buyer.upper(), "Courier-Bold", 11, "c")
    d.t(306, 52, "REQUISITION / PURCHASE ORDER", "Courier-Bold", 11, "c")
    for n, (lab, val) in enumerate([("P.O. #:", o.po_number), ("DATE ISSUED:", day(o.po_date, "us")),
                                    ("DELIVERY DATE:", day(o.ship_date, "us"))]):
        d.t(360, 76 + 11 * n, lab, "Courier", 8.5)
        d.t(460, 76 + 11 * n, val, "Courier", 8.5)
    for x, lab, block in [(40, "SHIP TO:", o.ship_to), (300, "BILL TO:", o.bill_to)]:
        d.t(x, 126, lab, "Courier-Bold", 8.5)
        for n, s in enumerate(block):
            d.t(x, 137 + 10 * n, s.upper(), "Courier", 8.5)
    d.t(40, 190, f"VENDOR: {VENDOR[0].upper()}", "Courier", 8.5)
    y = 214
    cols = [(40, "ITEM NO", "l"), (130, "QUANTITY", "r"), (140, "UNIT", "l"), (186, "DESCRIPTION", "l"),
            (490, "UNIT COST", "r"), (570, "TOTAL COST", "r")]
    for x, s, a in cols:
        d.t(x, y, s, "Courier-Bold", 8, a)
    d.t(40, y + 8, "-" * 105, "Courier", 8)
    y += 18
    for it in o.items:
        for (x, _, a), v in zip(cols, [it.code, qty(it.quantity), _WORDS[it.uom], it.description.upper(),
                                       num(it.unit_price), num(it.amount)]):
            d.t(x, y, v, "Courier", 8, a)
        y += 11
    d.t(40, y, "-" * 105, "Courier", 8)
    d.t(490, y + 12, "TOTAL", "Courier-Bold", 8, "r")
    d.t(570, y + 12, num(o.total), "Courier-Bold", 8, "r")
    exp = expected(o)
    exp.subtotal = None
    for ln in exp.lines:
        ln.description = ln.description.upper()
    exp.bill_to, exp.ship_to = [s.upper() for s in o.bill_to], [s.upper() for s in o.ship_to]
    return d.done(), exp


def banquet(rng: random.Random):
    """Hotel banquet kitchen: no item codes at all, alphanumeric PO, tax in parentheses, 'Grand Total'."""
    o = make_order(rng, "corporate", po=lambda r: f"HB-{r.randint(1000, 9999)}-A", tax_rate="8.875", freight=True)
    d = FP()
    d.t(36, 46, o.buyer, size=12, style="B")
    d.t(36, 58, "Banquet & Catering Kitchen", size=8)
    for n, s in enumerate([f"PO#: {o.po_number}", f"Date: {day(o.po_date, 'us_short')}",
                           f"Delivery: {day(o.ship_date, 'us_short')}", "Requested by: Chef Ana Ruiz"]):
        d.t(400, 46 + 11 * n, s, size=8)
    d.t(36, 100, "Deliver to:", size=8, style="B")
    for n, s in enumerate(o.ship_to):
        d.t(36, 111 + 10 * n, s, size=8)
    cols = [(250, "Item", "L"), (50, "Qty", "R"), (50, "Unit", "C"), (80, "Unit Cost", "R"), (90, "Ext Cost", "R")]
    d.cellrow(36, 160, cols, size=8, style="B")
    y = 174
    for it in o.items:
        d.cellrow(36, y, [(w, v, a) for (w, _, a), v in zip(cols, [it.description, qty(it.quantity), it.uom,
                                                                    num(it.unit_price), num(it.amount)])], h=12)
        y += 12
    for lab, v in [("Subtotal", o.subtotal), (f"Tax ({o.tax_rate}%)", o.tax), ("Delivery", o.freight),
                   ("Grand Total", o.total)]:
        d.cellrow(366, y, [(80, lab, "R"), (90, num(v), "R")], h=12, size=8, border=0)
        y += 12
    exp = expected(o, codes=False)
    exp.bill_to = []
    return d.done(), exp


def quebec(rng: random.Random):
    """Bilingual Quebec PO: 'Bon de commande / Purchase Order', space thousands and comma decimals, GST + QST."""
    o = make_order(rng, "canada", currency="CAD", code=lambda k, g: f"Q{g}", po=lambda r: f"BC-{r.randint(40000, 49999)}")
    gst, qst = money(o.subtotal * Decimal("0.05")), money(o.subtotal * Decimal("0.09975"))

    def n(v):
        return num(v, comma=True).replace(".", " ")
    d = RL()
    d.t(40, 48, o.buyer, "Helvetica-Bold", 14)
    d.t(572, 48, "Bon de commande / Purchase Order", "Helvetica-Bold", 10, "r")
    for i, (lab, val) in enumerate([("No de commande / PO No.:", o.po_number), ("Date:", day(o.po_date, "iso")),
                                    ("Livraison / Delivery:", day(o.ship_date, "iso")), ("Devise / Currency:", "CAD")]):
        d.t(330, 70 + 11 * i, lab, size=8)
        d.t(470, 70 + 11 * i, val, size=8)
    for x, lab, block in [(40, "Facturer à / Bill To:", o.bill_to), (300, "Livrer à / Ship To:", o.ship_to)]:
        d.t(x, 130, lab, "Helvetica-Bold", 8)
        for i, s in enumerate(block):
            d.t(x, 141 + 10 * i, s, size=8)
    y = 200
    cols = [(40, "Code", "l"), (100, "Description", "l"), (370, "Qté / Qty", "r"), (380, "Unité", "l"),
            (480, "Prix / Price", "r"), (572, "Montant / Amount", "r")]
    for x, s, a in cols:
        d.t(x, y, s, "Helvetica-Bold", 8, a)
    d.line(40, y + 4, 572, y + 4)
    y += 15
    for it in o.items:
        for (x, _, a), v in zip(cols, [it.code, it.description, qty(it.quantity, comma=True), it.uom,
                                       n(it.unit_price), n(it.amount)]):
            d.t(x, y, v, size=8, align=a)
        y += 12
    for lab, v in [("Sous-total / Subtotal", o.subtotal), ("TPS / GST 5%", gst), ("TVQ / QST 9,975%", qst),
                   ("Total", o.subtotal + gst + qst)]:
        y += 12
        d.t(380, y, lab, size=8)
        d.t(572, y, n(v) + " $", size=8, align="r")
    exp = expected(o)
    exp.tax, exp.total = gst + qst, o.subtotal + gst + qst
    return d.done(), exp


def stacked_header(rng: random.Random):
    """Two-line stacked column captions, 3-decimal unit prices, quantities printed as '2.00', 'Total Order Value'."""
    o = make_order(rng, "school", code=lambda k, g: f"{g}", po=lambda r: f"SO{r.randint(100000, 999999)}")
    for it in o.items:
        it.unit_price = (it.unit_price + Decimal("0.005")).quantize(Decimal("0.001"))
    d = RL()
    d.t(40, 46, o.buyer, "Times-Bold", 13)
    d.t(572, 46, "PURCHASE ORDER", "Times-Bold", 12, "r")
    for i, (lab, val) in enumerate([("Purchase Order Number", o.po_number), ("Order Date", day(o.po_date, "us")),
                                    ("Requested Delivery", day(o.ship_date, "us"))]):
        d.t(360, 66 + 12 * i, lab, "Times-Roman", 9)
        d.t(480, 66 + 12 * i, val, "Times-Roman", 9)
    d.t(40, 110, "Ship To", "Times-Bold", 9)
    for i, s in enumerate(o.ship_to):
        d.t(40, 121 + 11 * i, s, "Times-Roman", 9)
    y = 180
    heads = [(40, "Vendor", "Item No.", "l"), (110, "", "Description", "l"), (390, "Qty", "Ord", "r"),
             (400, "", "UOM", "l"), (490, "Unit", "Price", "r"), (572, "Extended", "Amount", "r")]
    for x, a, b, al in heads:
        d.t(x, y, a, "Times-Bold", 8.5, al)
        d.t(x, y + 10, b, "Times-Bold", 8.5, al)
    d.line(40, y + 14, 572, y + 14)
    y += 26
    for it in o.items:
        for (x, _, _, al), v in zip(heads, [it.code, it.description, f"{it.quantity:.2f}", it.uom,
                                            f"{it.unit_price:.3f}", num(it.amount)]):
            d.t(x, y, v, "Times-Roman", 8.5, al)
        y += 12
    d.t(490, y + 10, "Total Order Value", "Times-Bold", 9, "r")
    d.t(572, y + 10, num(o.total), "Times-Bold", 9, "r")
    exp = expected(o)
    for ln in exp.lines:
        ln.customer_item_code = None  # the printed code is the vendor's (ours), not the buyer's
    exp.subtotal, exp.bill_to = None, []
    return d.done(), exp
