"""Seeded foodservice order data and the expected PurchaseOrder derived from it (shared by layouts and bench)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from worker.po.model import Charge, POLine, PurchaseOrder

ITEMS = [  # customer code, GFS code, description, uom, base price, pack/size
    ("DF-10023", "GFS-448812", "CHICKEN BREAST BNLS 4OZ IQF 10# CS", "CS", "45.50", "1/10 LB"),
    ("DF-20417", "GFS-117650", "MELT MATES AMERICAN CHEESE SLICED 4/5#", "CS", "62.75", "4/5 LB"),
    ("DF-30088", "GFS-902214", "BEEF GROUND 80/20 CHUB 10LB", "LB", "3.89", "1/10 LB"),
    ("DF-41152", "GFS-330071", "POTATO FRY 3/8 STRAIGHT CUT FROZEN 6/5#", "CS", "38.20", "6/5 LB"),
    ("DF-50963", "GFS-551209", "LETTUCE ROMAINE HEARTS 48CT", "CS", "41.00", "48 CT"),
    ("DF-61270", "GFS-660318", "OIL FRYER CLEAR LIQUID SOYBEAN 35LB JIB", "EA", "54.35", "35 LB"),
    ("DF-72014", "GFS-774502", "TOMATO DICED IN JUICE FANCY #10 CAN 6/CS", "CS", "29.95", "6/#10"),
    ("DF-83391", "GFS-812266", "SALMON FILLET ATLANTIC SKIN-ON 6OZ IVP", "LB", "9.45", "10 LB"),
    ("DF-90045", "GFS-905577", "NAPKIN DINNER 2PLY WHITE 15X17 3000CT", "CS", "48.10", "3000 CT"),
    ("DF-11876", "GFS-118803", "EGGS LARGE GRADE A WHITE LOOSE 15DZ", "CS", "52.30", "15 DZ"),
    ("DF-12509", "GFS-125544", "BACON SLICED 14/18 LAYFLAT SMOKED 15LB", "CS", "71.60", "15 LB"),
    ("DF-13384", "GFS-133920", "FLOUR ALL PURPOSE BLEACHED ENRICHED 50LB BAG", "BG", "21.85", "50 LB"),
]
LONG = ["- KEEP FROZEN, DELIVER TO DOCK 2", "HALAL CERTIFIED, PRODUCT OF USA", "SUBSTITUTE WITH EQUAL BRAND OK"]
BUYERS = [("Driscoll Foods", ["Driscoll Foods", "17 Industrial Road", "Clifton, NJ 07011"],
           ["Driscoll Foods Warehouse 3", "200 Dock Street", "Newark, NJ 07105"]),
          ("Harbor Grill Group", ["Harbor Grill Group", "88 Water Street", "Boston, MA 02109"],
           ["Harbor Grill Seaport", "1 Seaport Blvd", "Boston, MA 02210"]),
          ("Lakeside Catering Co", ["Lakeside Catering Co", "5 Shore Drive", "Madison, WI 53703"],
           ["Lakeside Kitchen", "410 Commissary Lane", "Madison, WI 53704"])]
EU_BUYER = ("Brasserie Lindner GmbH", ["Brasserie Lindner GmbH", "Hauptstrasse 12", "80331 Muenchen"],
            ["Brasserie Lindner Kueche", "Lieferhof 4", "80335 Muenchen"])
VENDOR = ["Gulf Food Service", "1200 Harbor Way", "Mobile, AL 36602"]


@dataclass
class Order:
    """The data a layout draws; expected() turns it into the PurchaseOrder the parser should produce."""

    po_number: str
    po_date: date
    ship_date: date
    buyer: str
    bill_to: list[str]
    ship_to: list[str]
    currency: str
    lines: list[POLine]
    freight: Decimal | None = None
    charges: list[Charge] = field(default_factory=list)
    tax_rate: Decimal = Decimal("0")
    extra: dict[int, str] = field(default_factory=dict)  # line_no -> wrapped second description line

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal("0"))

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate).quantize(Decimal("0.01"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + (self.freight or 0) + self.tax + sum((c.amount for c in self.charges), Decimal(0))

    def expected(self, omit: set[str] = frozenset()) -> PurchaseOrder:
        """The PurchaseOrder a correct parser returns for a layout that prints all but `omit`."""
        lines = []
        for ln in self.lines:
            d = ln.model_dump()
            if ln.line_no in self.extra:
                d["description"] = f"{ln.description} {self.extra[ln.line_no]}"
            for k in ("customer_item_code", "vendor_item_code", "uom", "unit_price"):
                if k in omit:
                    d[k] = None
            lines.append(POLine(**d))
        po = PurchaseOrder(
            po_number=self.po_number, po_date=self.po_date, requested_ship_date=self.ship_date, buyer=self.buyer,
            bill_to=self.bill_to, ship_to=self.ship_to, currency=self.currency, lines=lines,
            subtotal=self.subtotal, freight=self.freight, tax=self.tax if self.tax_rate else None, total=self.total,
            other_charges=self.charges)
        for k in omit & {"po_date", "requested_ship_date", "buyer", "currency", "subtotal", "freight", "tax", "total"}:
            setattr(po, k, None)
        for k in omit & {"bill_to", "ship_to"}:
            setattr(po, k, [])
        return po


def make_order(seed: int, n_lines: int = 5, *, eu: bool = False, wrap: bool = False, charges: bool = False,
               weights: bool = False) -> Order:
    """A deterministic random order."""
    rng = random.Random(seed)
    name, bill, ship = EU_BUYER if eu else rng.choice(BUYERS)
    po_date = date(2026, rng.randint(1, 12), rng.randint(1, 28))
    items = rng.sample(ITEMS * 4, n_lines) if n_lines > len(ITEMS) else rng.sample(ITEMS, n_lines)
    lines = []
    for i, (cc, vc, desc, uom, price, _pack) in enumerate(items, 1):
        qty = Decimal(rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 40]))
        if weights and uom == "LB":
            qty = Decimal(rng.randint(10, 80)) + Decimal(rng.choice(["0", "0.5", "0.25"]))
        p = (Decimal(price) * Decimal(rng.randint(90, 115)) / 100).quantize(Decimal("0.01"))
        if rng.random() < 0.15:
            p *= 25  # an occasional four-digit price to exercise thousands separators
        lines.append(POLine(line_no=i, customer_item_code=cc, vendor_item_code=vc, description=desc, quantity=qty,
                            uom=uom, unit_price=p, amount=(qty * p).quantize(Decimal("0.01"))))
    o = Order(po_number=f"{rng.choice(['PO', '45', 'DF'])}{rng.randint(100000, 999999)}", po_date=po_date,
              ship_date=po_date + timedelta(days=rng.randint(1, 10)), buyer=name, bill_to=bill, ship_to=ship,
              currency="EUR" if eu else "USD", lines=lines,
              freight=Decimal(rng.choice(["25.00", "35.00", "75.00"])), tax_rate=Decimal("0.19") if eu else Decimal(0))
    if charges:
        o.charges = [Charge(description="Fuel Surcharge", amount=Decimal("12.50")),
                     Charge(description="Discount", amount=-(o.subtotal * Decimal("0.02")).quantize(Decimal("0.01")))]
    if wrap:
        o.extra = {i: LONG[i % len(LONG)] for i in range(1, n_lines + 1) if rng.random() < 0.5}
    return o
