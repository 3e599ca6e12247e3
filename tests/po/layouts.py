"""Nine deliberately different purchase-order layouts drawn with reportlab from one Order's data."""
from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal

from reportlab.lib.pagesizes import A4, letter
from reportlab.pdfgen.canvas import Canvas

from tests.po.orders import VENDOR, Order


def money(d: Decimal, eu: bool = False) -> str:
    s = f"{d:,.2f}"
    return s.replace(",", "_").replace(".", ",").replace("_", ".") if eu else s


def qty(d: Decimal, eu: bool = False) -> str:
    s = f"{d.normalize():f}"
    return s.replace(".", ",") if eu else s


def us_date(d) -> str:
    return d.strftime("%m/%d/%Y")


class Page:
    """A tiny drawing helper: text at (x, y) with optional right alignment, y counted from the top."""

    def __init__(self, size=letter):
        self.buf = io.BytesIO()
        self.c = Canvas(self.buf, pagesize=size)
        self.h = size[1]
        self.font("Helvetica", 9)

    def font(self, name: str, size: float) -> None:
        self.c.setFont(name, size)

    def t(self, x: float, y: float, s: str, right: bool = False, font: tuple | None = None) -> None:
        if font:
            self.c.setFont(*font)
        (self.c.drawRightString if right else self.c.drawString)(x, self.h - y, s)
        if font:
            self.c.setFont("Helvetica", 9)

    def hline(self, x0: float, x1: float, y: float) -> None:
        self.c.line(x0, self.h - y, x1, self.h - y)

    def vline(self, x: float, y0: float, y1: float) -> None:
        self.c.line(x, self.h - y0, x, self.h - y1)

    def block(self, x: float, y: float, label: str, lines: list[str], step: float = 11) -> None:
        self.t(x, y, label, font=("Helvetica-Bold", 9))
        for i, s in enumerate(lines, 1):
            self.t(x, y + i * step, s)

    def done(self) -> bytes:
        self.c.save()
        return self.buf.getvalue()


def _totals(p: Page, o: Order, x_label: float, x_val: float, y: float, eu: bool = False,
            labels: dict | None = None, sym: str = "$") -> float:
    lab = {"subtotal": "Subtotal", "freight": "Freight", "tax": "Sales Tax", "total": "Total", **(labels or {})}
    rows = [(lab["subtotal"], o.subtotal)]
    if o.freight is not None:
        rows.append((lab["freight"], o.freight))
    rows += [(c.description, c.amount) for c in o.charges]
    if o.tax_rate:
        rows.append((lab["tax"], o.tax))
    rows.append((lab["total"], o.total))
    for label, v in rows:
        p.t(x_label, y, label + ":", font=("Helvetica-Bold", 9) if label == lab["total"] else None)
        p.t(x_val, y, f"{sym}{money(v, eu)}" if label == lab["total"] else money(v, eu), right=True)
        y += 13
    return y


def classic_grid(o: Order) -> tuple[bytes, set[str]]:
    """US letterhead, vendor + ship-to blocks, ruled grid table with line numbers and our item code."""
    p = Page()
    p.t(40, 50, o.buyer, font=("Helvetica-Bold", 18))
    p.t(40, 64, o.bill_to[1] + ", " + o.bill_to[2])
    p.t(400, 50, "PURCHASE ORDER", font=("Helvetica-Bold", 14))
    p.t(400, 70, f"PO #: {o.po_number}")
    p.t(400, 82, f"Date: {us_date(o.po_date)}")
    p.t(400, 94, f"Ship Date: {us_date(o.ship_date)}")
    p.block(40, 130, "Vendor:", VENDOR)
    p.block(300, 130, "Ship To:", o.ship_to)
    xs = [40, 70, 150, 380, 420, 460, 510, 572]
    heads = ["Line", "Item #", "Description", "Qty", "UOM", "Unit Price", "Ext Price"]
    y = 200
    p.hline(40, 572, y - 11)
    for x, h in zip(xs, heads):
        p.t(x + 3, y, h, font=("Helvetica-Bold", 8))
    p.hline(40, 572, y + 4)
    for ln in o.lines:
        y += 14
        p.t(43, y, str(ln.line_no)); p.t(73, y, ln.customer_item_code); p.t(153, y, ln.description, font=("Helvetica", 7.5))
        p.t(415, y, qty(ln.quantity), right=True); p.t(423, y, ln.uom)
        p.t(505, y, money(ln.unit_price), right=True); p.t(568, y, money(ln.amount), right=True)
        p.hline(40, 572, y + 4)
    for x in xs:
        p.vline(x, 189, y + 4)
    _totals(p, o, 440, 568, y + 24)
    return p.done(), {"vendor_item_code", "bill_to", "currency"} - {"currency"}


def side_by_side(o: Order) -> tuple[bytes, set[str]]:
    """Bill-to and ship-to side by side, header facts in a label row with values underneath, two code columns."""
    p = Page()
    p.t(40, 45, "Purchase Order", font=("Helvetica-Bold", 20))
    for x, lab, val in [(40, "PO Number", o.po_number), (150, "PO Date", o.po_date.isoformat()),
                        (260, "Requested Delivery", o.ship_date.isoformat()), (400, "Terms", "Net 30")]:
        p.t(x, 80, lab, font=("Helvetica-Bold", 8))
        p.t(x, 92, val)
    p.block(40, 125, "Bill To:", o.bill_to)
    p.block(230, 125, "Ship To:", o.ship_to)
    p.block(420, 125, "Supplier:", VENDOR)
    xs = [40, 105, 175, 400, 440, 475, 530]
    y = 195
    for x, h in zip(xs, ["Cust Item", "Vendor Item", "Description", "Qty", "U/M", "Price", "Amount"]):
        p.t(x, y, h, font=("Helvetica-Bold", 8))
    p.hline(40, 572, y + 3)
    for ln in o.lines:
        y += 13
        p.t(40, y, ln.customer_item_code, font=("Helvetica", 7.5)); p.t(105, y, ln.vendor_item_code, font=("Helvetica", 7.5))
        p.t(175, y, ln.description, font=("Helvetica", 7.5))
        p.t(415, y, qty(ln.quantity), right=True); p.t(440, y, ln.uom)
        p.t(510, y, money(ln.unit_price), right=True); p.t(570, y, money(ln.amount), right=True)
    p.t(40, y + 30, "Currency: USD")
    _totals(p, o, 450, 570, y + 30, labels={"total": "Order Total"}, sym="")
    return p.done(), set()


def whitespace_courier(o: Order) -> tuple[bytes, set[str]]:
    """No rules at all: a Courier printout whose columns are aligned with spaces inside each line."""
    p = Page()
    rows = [f"{o.buyer.upper()}", o.bill_to[1], o.bill_to[2], "", f"P.O. No.: {o.po_number}",
            f"Order Date: {o.po_date.strftime('%b %d, %Y')}", f"Deliver By: {o.ship_date.strftime('%b %d, %Y')}", "",
            "Ship To:"] + o.ship_to + ["", f"{'Item':<12}{'Description':<44}{'Qty':>6}  {'UOM':<5}{'Price':>10}{'Total':>12}",
                                       "-" * 90]
    for ln in o.lines:
        rows.append(f"{ln.customer_item_code:<12}{ln.description:<44}{qty(ln.quantity):>6}  {ln.uom:<5}"
                    f"{money(ln.unit_price):>10}{money(ln.amount):>12}")
    rows += ["-" * 90, f"{'Subtotal':>77}{money(o.subtotal):>12}", f"{'Freight':>77}{money(o.freight):>12}",
             f"{'Total USD':>77}{money(o.total):>12}"]
    p.font("Courier", 8)
    for i, s in enumerate(rows):
        p.c.drawString(30, p.h - 40 - i * 11, s)
    return p.done(), {"vendor_item_code", "bill_to", "buyer"}


def european(o: Order) -> tuple[bytes, set[str]]:
    """A4, comma decimals, day-first dotted dates, EUR and VAT, description first and article number last."""
    p = Page(A4)
    p.t(40, 50, o.buyer, font=("Helvetica-Bold", 16))
    p.t(40, 64, ", ".join(o.bill_to[1:]))
    p.t(360, 50, "PURCHASE ORDER", font=("Helvetica-Bold", 13))
    p.t(360, 70, f"Purchase Order Number: {o.po_number}")
    p.t(360, 82, f"Order Date: {o.po_date.strftime('%d.%m.%Y')}")
    p.t(360, 94, f"Delivery Date: {o.ship_date.strftime('%d.%m.%Y')}")
    p.block(40, 125, "Invoice Address:", o.bill_to)
    p.block(300, 125, "Delivery Address:", o.ship_to)
    xs = [40, 270, 310, 350, 410, 480]
    y = 200
    for x, h, r in zip(xs, ["Description", "Quantity", "Unit", "Unit Price", "Net Amount", "Supplier Art. No."], [0, 1, 0, 1, 1, 0]):
        p.t(x + (45 if r else 0) - (30 if x == 270 else 0), y, h, right=bool(r), font=("Helvetica-Bold", 8))
    p.hline(40, 555, y + 3)
    for ln in o.lines:
        y += 13
        p.t(40, y, ln.description, font=("Helvetica", 7))
        p.t(315, y, qty(ln.quantity, True), right=True); p.t(325, y, ln.uom)
        p.t(395, y, money(ln.unit_price, True), right=True); p.t(455, y, money(ln.amount, True), right=True)
        p.t(480, y, ln.vendor_item_code, font=("Helvetica", 7.5))
    _totals(p, o, 330, 455, y + 25, eu=True, sym="EUR ",
            labels={"subtotal": "Net Total", "freight": "Freight", "tax": "VAT 19%", "total": "Total EUR"})
    return p.done(), {"customer_item_code"}


def two_page(o: Order) -> tuple[bytes, set[str]]:
    """Long order over two pages: repeated table header, 'continued' and 'Page x of 2' footers."""
    p = Page()
    per_page = (len(o.lines) + 1) // 2
    pages = [o.lines[:per_page], o.lines[per_page:]]
    for n, chunk in enumerate(pages, 1):
        p.t(40, 40, o.buyer, font=("Helvetica-Bold", 16))
        p.t(420, 40, f"PO Number: {o.po_number}")
        if n == 1:
            p.t(420, 52, f"PO Date: {us_date(o.po_date)}")
            p.t(420, 64, f"Requested Ship Date: {us_date(o.ship_date)}")
            p.block(40, 90, "Bill To:", o.bill_to)
            p.block(300, 90, "Ship To:", o.ship_to)
        y = 160 if n == 1 else 80
        for x, h in zip([40, 110, 400, 450, 500], ["Item", "Description", "Quantity", "Price", "Amount"]):
            p.t(x, y, h, font=("Helvetica-Bold", 8))
        for ln in chunk:
            y += 13
            p.t(40, y, ln.customer_item_code); p.t(110, y, ln.description, font=("Helvetica", 7.5))
            p.t(435, y, qty(ln.quantity), right=True); p.t(485, y, money(ln.unit_price), right=True)
            p.t(545, y, money(ln.amount), right=True)
        if n == 1:
            p.t(400, y + 20, "continued on next page")
        else:
            _totals(p, o, 420, 545, y + 25)
        p.t(280, 760, f"Page {n} of 2")
        if n == 1:
            p.c.showPage()
            p.font("Helvetica", 9)
    return p.done(), {"vendor_item_code", "uom", "currency"} - {"currency"}


def wrapped_desc(o: Order) -> tuple[bytes, set[str]]:
    """Description first, codes last, wrapped two-line descriptions and a two-line table header."""
    p = Page()
    p.t(40, 45, o.buyer, font=("Helvetica-Bold", 16))
    p.t(40, 75, f"Order No: {o.po_number}")
    p.t(40, 87, f"Order Date: {o.po_date.strftime('%d %B %Y')}")
    p.t(40, 99, f"Need By: {o.ship_date.strftime('%d %B %Y')}")
    p.block(320, 75, "Sold To:", o.bill_to)
    p.block(320, 130, "Ship To:", o.ship_to)
    xs = [40, 290, 330, 375, 440, 500]
    y = 200
    for x, a, b in zip(xs, ["Item", "Qty", "", "Unit", "Ext.", "Our"], ["Description", "Ord", "UOM", "Cost", "Cost", "Item #"]):
        p.t(x, y, a, font=("Helvetica-Bold", 8)); p.t(x, y + 9, b, font=("Helvetica-Bold", 8))
    y += 12
    for ln in o.lines:
        y += 13
        p.t(40, y, ln.description, font=("Helvetica", 7.5))
        p.t(310, y, qty(ln.quantity), right=True); p.t(333, y, ln.uom)
        p.t(420, y, money(ln.unit_price), right=True); p.t(485, y, money(ln.amount), right=True)
        p.t(500, y, ln.customer_item_code, font=("Helvetica", 7.5))
        if ln.line_no in o.extra:
            y += 10
            p.t(40, y, o.extra[ln.line_no], font=("Helvetica", 7.5))
    _totals(p, o, 380, 485, y + 25)
    return p.done(), {"vendor_item_code"}


def qty_uom_cell(o: Order) -> tuple[bytes, set[str]]:
    """Quantity and unit in one cell ('12 CS'), text dates, freight, fuel surcharge and a discount."""
    p = Page()
    p.t(40, 45, "PURCHASE ORDER", font=("Helvetica-Bold", 16))
    p.t(40, 70, f"Purchase Order #{o.po_number}")
    p.t(40, 82, f"Issued: {o.po_date.strftime('%B %d, %Y')}")
    p.t(300, 70, f"PO Date: {o.po_date.strftime('%B %d, %Y')}")
    p.t(300, 82, f"Delivery Date: {o.ship_date.strftime('%b %d, %Y')}")
    p.block(40, 110, "Billing Address:", o.bill_to)
    p.block(300, 110, "Shipping Address:", o.ship_to)
    y = 180
    for x, h in zip([40, 120, 380, 450, 515], ["SKU", "Product Description", "Quantity", "Rate", "Amount"]):
        p.t(x, y, h, font=("Helvetica-Bold", 8))
    names = {"CS": "cases", "LB": "LB", "EA": "each", "BG": "BG"}
    for ln in o.lines:
        y += 13
        p.t(40, y, ln.customer_item_code); p.t(120, y, ln.description, font=("Helvetica", 7.5))
        p.t(380, y, f"{qty(ln.quantity)} {names.get(ln.uom, ln.uom)}")
        p.t(495, y, f"${money(ln.unit_price)}", right=True); p.t(560, y, f"${money(ln.amount)}", right=True)
    _totals(p, o, 420, 560, y + 25)
    return p.done(), {"vendor_item_code"}


def foodservice_form(o: Order) -> tuple[bytes, set[str]]:
    """Foodservice order guide: line numbers, our and GFS item codes, pack/size, cases, weights in LB."""
    p = Page()
    p.t(40, 40, o.buyer, font=("Helvetica-Bold", 15))
    p.t(40, 54, "Purchasing Department")
    p.t(380, 40, "ORDER FORM", font=("Helvetica-Bold", 13))
    p.t(380, 58, "PO No.")
    p.t(440, 58, o.po_number)
    p.t(380, 70, "PO Date")
    p.t(440, 70, us_date(o.po_date))
    p.t(380, 82, "Delivery")
    p.t(440, 82, us_date(o.ship_date))
    p.block(40, 110, "Ship To:", o.ship_to)
    p.block(300, 110, "Vendor:", VENDOR)
    xs = [40, 62, 118, 178, 228, 420, 455, 510]
    y = 180
    for x, h in zip(xs, ["Ln", "Our Item", "GFS Item", "Pack/Size", "Description", "Cases", "U/M", "Price"]):
        p.t(x, y, h, font=("Helvetica-Bold", 8))
    p.t(572, y, "Extension", right=True, font=("Helvetica-Bold", 8))
    p.hline(40, 572, y + 3)
    from tests.po.orders import ITEMS
    packs = {i[0]: i[5] for i in ITEMS}
    for ln in o.lines:
        y += 12
        p.t(40, y, f"{ln.line_no}."); p.t(62, y, ln.customer_item_code, font=("Helvetica", 7))
        p.t(118, y, ln.vendor_item_code, font=("Helvetica", 7)); p.t(178, y, packs[ln.customer_item_code], font=("Helvetica", 7))
        p.t(228, y, ln.description, font=("Helvetica", 7)); p.t(445, y, qty(ln.quantity), right=True)
        p.t(458, y, ln.uom); p.t(526, y, money(ln.unit_price), right=True); p.t(572, y, money(ln.amount), right=True)
    _totals(p, o, 450, 572, y + 25, labels={"freight": "Delivery Charge", "total": "Grand Total"})
    return p.done(), {"bill_to"}


def email_printout(o: Order) -> tuple[bytes, set[str]]:
    """A forwarded e-mail printed to PDF: headers, a short note, a plain table, a total line."""
    p = Page()
    rows = [("From:", "purchasing@example-buyer.com"), ("Sent:", o.po_date.strftime("%A, %B %d, %Y 9:14 AM")),
            ("To:", "orders@gulffood.example"), ("Subject:", f"New order {o.po_number}")]
    y = 40
    for a, b in rows:
        p.t(40, y, a, font=("Helvetica-Bold", 9)); p.t(100, y, b); y += 12
    y += 14
    p.t(40, y, "Hi team, please process the order below."); y += 20
    p.t(40, y, f"PO: {o.po_number}"); y += 12
    p.t(40, y, f"Deliver on: {o.ship_date.isoformat()}"); y += 24
    for x, h in zip([40, 80, 140, 420, 500], ["Qty", "Code", "Description", "Price", "Total"]):
        p.t(x, y, h)
    for ln in o.lines:
        y += 12
        p.t(60, y, qty(ln.quantity), right=True); p.t(80, y, ln.customer_item_code)
        p.t(140, y, ln.description); p.t(450, y, money(ln.unit_price), right=True); p.t(530, y, money(ln.amount), right=True)
    p.t(420, y + 20, "Total:"); p.t(530, y + 20, f"${money(o.subtotal)}", right=True)
    p.t(40, y + 50, "Thanks,"); p.t(40, y + 62, "Maria")
    return p.done(), {"vendor_item_code", "uom", "po_date", "buyer", "bill_to", "ship_to", "subtotal", "freight"}


def erp_export(o: Order) -> tuple[bytes, set[str]]:
    """An ERP's export (audit CC9, CC8b): 'Doc. Date' and 'Req. Delivery' labels, 'Terms: Net 30' by the totals,
    a 'Net amount' subtotal and the total on the line under its 'Total' label."""
    p = Page()
    p.t(40, 45, o.buyer, font=("Helvetica-Bold", 16))
    p.t(360, 45, "PURCHASE ORDER", font=("Helvetica-Bold", 13))
    for y, lab, val in [(65, "PO Number", o.po_number), (77, "Doc. Date", us_date(o.po_date)),
                        (89, "Req. Delivery", us_date(o.ship_date))]:
        p.t(360, y, lab, font=("Helvetica-Bold", 8))
        p.t(450, y, val)
    p.block(40, 110, "Bill To:", o.bill_to)
    p.block(300, 110, "Ship To:", o.ship_to)
    y = 180
    for x, h in zip([40, 110, 390, 420, 470, 520], ["Item", "Description", "Qty", "UOM", "Price", "Amount"]):
        p.t(x, y, h, font=("Helvetica-Bold", 8))
    p.hline(40, 572, y + 3)
    for ln in o.lines:
        y += 13
        p.t(40, y, ln.customer_item_code, font=("Helvetica", 7.5)); p.t(110, y, ln.description, font=("Helvetica", 7.5))
        p.t(405, y, qty(ln.quantity), right=True); p.t(420, y, ln.uom)
        p.t(505, y, money(ln.unit_price), right=True); p.t(565, y, money(ln.amount), right=True)
    y += 25
    p.t(40, y, "Terms:"); p.t(80, y, "Net 30")
    p.t(430, y, "Net amount"); p.t(565, y, money(o.subtotal), right=True)
    p.t(430, y + 13, "Freight"); p.t(565, y + 13, money(o.freight), right=True)
    p.t(430, y + 30, "Total", font=("Helvetica-Bold", 10))
    p.t(430, y + 43, f"${money(o.total)}", font=("Helvetica-Bold", 10))
    return p.done(), {"vendor_item_code"}


LAYOUTS: dict[str, tuple[Callable[[Order], tuple[bytes, set[str]]], dict]] = {
    "classic_grid": (classic_grid, {}),
    "side_by_side": (side_by_side, {}),
    "whitespace_courier": (whitespace_courier, {}),
    "european": (european, {"eu": True}),
    "two_page": (two_page, {"n_lines": 34}),
    "wrapped_desc": (wrapped_desc, {"wrap": True}),
    "qty_uom_cell": (qty_uom_cell, {"charges": True}),
    "foodservice_form": (foodservice_form, {"weights": True}),
    "email_printout": (email_printout, {}),
    "erp_export": (erp_export, {}),
}


def build(name: str, seed: int = 1, **overrides):
    """Render layout `name` for a seeded order; returns (pdf bytes, expected PurchaseOrder)."""
    from tests.po.orders import make_order

    render, opts = LAYOUTS[name]
    order = make_order(seed, **{**opts, **overrides})
    if name == "email_printout":
        order.freight = None  # an e-mail order states only a total
    pdf, omit = render(order)
    exp = order.expected(omit)
    if name == "email_printout":
        exp.total = order.subtotal
    return pdf, exp
