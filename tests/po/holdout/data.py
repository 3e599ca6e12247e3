"""Seeded hold-out order data (independent of tests/po/orders.py) and the expected PurchaseOrder derived from it."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from worker.po.model import Charge, POLine, PurchaseOrder

CENT = Decimal("0.01")

# description, uom, base price, pack, size, GFS code: a broadline distributor's everyday lines.
CATALOG = [
    ("Chicken Thigh Boneless Skinless Raw", "CS", "58.40", "4", "10 LB", "310442"),
    ("Cheddar Cheese Shredded Mild Yellow", "CS", "47.15", "4", "5 LB", "208815"),
    ("Romaine Lettuce Chopped Washed", "CS", "32.60", "6", "2 LB", "550173"),
    ("Hamburger Bun Sliced 4 inch", "CS", "18.95", "12", "12 CT", "114590"),
    ("Canola Frying Oil Clear", "EA", "39.80", "1", "35 LB", "661020"),
    ("Tater Tots Frozen", "CS", "27.30", "6", "5 LB", "418806"),
    ("Milk 1% Lowfat Half Pint", "CS", "21.44", "50", "8 OZ", "702211"),
    ("Apple Juice 100% 4 oz Cup", "CS", "16.72", "40", "4 OZ", "705530"),
    ("Ground Turkey 93/7 Chub", "LB", "3.29", "4", "10 LB", "312277"),
    ("Pasta Penne Rigate Dry", "CS", "24.10", "2", "10 LB", "820041"),
    ("Marinara Sauce Fancy #10 Can", "CS", "36.55", "6", "#10", "823390"),
    ("Yogurt Strawberry Lowfat Cup", "CS", "19.88", "48", "4 OZ", "706614"),
    ("Broccoli Florets IQF", "CS", "29.75", "12", "2 LB", "432118"),
    ("Coffee Ground Colombian Fraction Pack", "CS", "64.20", "42", "2.5 OZ", "901157"),
    ("Foam Tray 5 Compartment White", "CS", "33.05", "500", "CT", "960072"),
    ("Gloves Nitrile Powder Free Large", "BX", "11.90", "100", "CT", "975520"),
    ("Eggs Liquid Whole Pasteurized", "CS", "44.60", "12", "2 LB", "204476"),
    ("Salmon Portion Atlantic 6 oz", "LB", "10.85", "1", "10 LB", "345901"),
    ("Rice Long Grain Parboiled", "BG", "22.35", "1", "25 LB", "821665"),
    ("Butter Solid Salted AA", "CS", "98.40", "36", "1 LB", "201330"),
    ("Bacon Precooked Sliced", "CS", "86.75", "300", "CT", "317708"),
    ("Orange Navel Fresh 88 ct", "CS", "38.90", "1", "88 CT", "551840"),
    ("Napkin Dinner 2 Ply White", "CS", "41.25", "3000", "CT", "961234"),
    ("Tortilla Flour 10 inch Pressed", "CS", "26.15", "12", "12 CT", "115876"),
]
BUYERS = {  # pool -> [(company, bill-to lines, ship-to lines)]
    "restaurant": [
        ("Copper Kettle Restaurant Group", ["Copper Kettle Restaurant Group", "Attn: Accounts Payable",
                                            "4400 Magnolia Ave Suite 210", "Houston, TX 77002"],
         ["Copper Kettle - Midtown", "2115 Fannin St", "Houston, TX 77002"]),
        ("Bayou Smokehouse LLC", ["Bayou Smokehouse LLC", "PO Box 8812", "Lafayette, LA 70598"],
         ["Bayou Smokehouse #3", "901 Johnston St", "Lafayette, LA 70501"]),
        ("Saltgrass Oyster Bar", ["Saltgrass Oyster Bar", "77 Seawall Blvd", "Galveston, TX 77550"],
         ["Saltgrass Oyster Bar", "77 Seawall Blvd", "Galveston, TX 77550"]),
    ],
    "school": [
        ("Pinecrest Unified School District", ["Pinecrest Unified School District", "Accounts Payable",
                                               "1200 Education Way", "Mobile, AL 36606"],
         ["Pinecrest Central Kitchen", "455 Dauphin Island Pkwy", "Mobile, AL 36605"]),
        ("Harlan County Public Schools", ["Harlan County Public Schools", "251 Ball Park Rd",
                                          "Harlan, KY 40831"],
         ["Harlan County High School Cafeteria", "4890 S US Hwy 421", "Baxter, KY 40806"]),
    ],
    "hospital": [
        ("St. Brendan Medical Center", ["St. Brendan Medical Center", "Supply Chain - AP", "3100 Oak Lawn Ave",
                                        "Dallas, TX 75219"],
         ["St. Brendan Medical Center", "Dietary Dept. Dock 4", "3100 Oak Lawn Ave", "Dallas, TX 75219"]),
        ("Gulf Coast Regional Hospital", ["Gulf Coast Regional Hospital", "1500 Hospital Dr",
                                          "Pensacola, FL 32504"],
         ["Gulf Coast Regional Hospital", "Food & Nutrition Receiving", "1500 Hospital Dr",
          "Pensacola, FL 32504"]),
    ],
    "canada": [
        ("Maple Ridge Catering Ltd.", ["Maple Ridge Catering Ltd.", "88 King Street West", "Toronto, ON M5H 1A1"],
         ["Maple Ridge Catering - Commissary", "1450 Britannia Rd E", "Mississauga, ON L4W 1J2"]),
    ],
    "uk": [
        ("Thistle & Rose Hospitality Ltd", ["Thistle & Rose Hospitality Ltd", "14 Queen Street",
                                            "Edinburgh EH2 1JE", "United Kingdom"],
         ["Thistle & Rose - Leith Kitchen", "3 Commercial Quay", "Edinburgh EH6 6LX"]),
    ],
    "eu": [
        ("Brasserie De Kade BV", ["Brasserie De Kade BV", "Kaai 12", "2000 Antwerpen", "Belgium"],
         ["Brasserie De Kade BV", "Leveringen achteraan", "Kaai 12", "2000 Antwerpen"]),
    ],
    "corporate": [
        ("Northshore Dining Services Inc.", ["Northshore Dining Services Inc.", "600 Commerce Pkwy",
                                             "Mandeville, LA 70471"],
         ["Northshore Dining - Tulane Campus", "6823 St Charles Ave", "New Orleans, LA 70118"]),
        ("Piney Woods Senior Living", ["Piney Woods Senior Living", "2200 Hardy St", "Hattiesburg, MS 39401"],
         ["Piney Woods Senior Living Kitchen", "2200 Hardy St", "Hattiesburg, MS 39401"]),
    ],
}
VENDOR = ["Gulf Food Service", "2800 Port Rd", "New Orleans, LA 70117"]


def money(v: Decimal) -> Decimal:
    """Round half up to cents as invoices do."""
    return v.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Item:
    """One ordered line as the buyer typed it."""

    code: str
    gfs_code: str
    description: str
    uom: str
    quantity: Decimal
    unit_price: Decimal
    pack: str
    size: str

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


@dataclass
class Order:
    """Everything a layout prints; the expected PurchaseOrder is derived from it."""

    po_number: str
    po_date: date
    ship_date: date | None
    buyer: str
    bill_to: list[str]
    ship_to: list[str]
    currency: str
    items: list[Item]
    freight: Decimal | None = None
    charges: list[tuple[str, Decimal]] = field(default_factory=list)  # (label, signed amount)
    tax_rate: Decimal | None = None
    tax_label: str = "Sales Tax"
    tax_on_all: bool = False  # VAT is charged on goods net of discounts plus carriage; US sales tax on goods

    @property
    def subtotal(self) -> Decimal:
        return sum((i.amount for i in self.items), Decimal(0))

    @property
    def tax(self) -> Decimal | None:
        if self.tax_rate is None:
            return None
        base = self.subtotal + ((self.freight or 0) + sum((a for _, a in self.charges), Decimal(0))
                                if self.tax_on_all else 0)
        return money(base * self.tax_rate / 100)

    @property
    def total(self) -> Decimal:
        return (self.subtotal + (self.freight or 0) + sum((a for _, a in self.charges), Decimal(0))
                + (self.tax or 0))


def make_order(rng: random.Random, pool: str, *, lines: tuple[int, int] = (3, 9), currency: str = "USD",
               code: Callable[[int, str], str] = lambda i, g: g, po: Callable[[random.Random], str] | None = None,
               freight: bool = False, charges: tuple[str, ...] = (), tax_rate: str | None = None,
               tax_label: str = "Sales Tax", ship_date: bool = True, fractional: bool = False,
               tax_on_all: bool = False) -> Order:
    """A seeded order for one layout: buyer from pool, codes in the layout's style, charges as asked."""
    buyer, bill, ship = rng.choice(BUYERS[pool])
    picks = rng.sample(range(len(CATALOG)), min(rng.randint(*lines), len(CATALOG)))
    if lines[1] > len(CATALOG):  # long multi-page orders repeat products in other pack sizes
        picks += [rng.randrange(len(CATALOG)) for _ in range(rng.randint(*lines) - len(picks))]
    items = []
    for n, k in enumerate(picks):
        desc, uom, price, pack, size, gfs = CATALOG[k]
        qty = Decimal(rng.choice([1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 15, 24, 40]))
        if fractional and uom == "LB" and rng.random() < 0.5:
            qty += Decimal("0.5")
        p = Decimal(price) * Decimal(rng.choice([90, 95, 100, 100, 104, 110])) / 100
        items.append(Item(code(k, gfs), gfs, desc, uom, qty, money(p), pack, size))
    po_date = date(2025, 1, 6) + timedelta(days=rng.randrange(0, 300))
    o = Order(po(rng) if po else f"PO{rng.randint(10000, 99999)}", po_date,
              po_date + timedelta(days=rng.choice([2, 3, 4, 7])) if ship_date else None,
              buyer, bill, ship, currency, items, tax_rate=Decimal(tax_rate) if tax_rate else None, tax_label=tax_label,
              tax_on_all=tax_on_all)
    if freight:
        o.freight = money(Decimal(rng.choice([25, 35, 45, 49.5, 75])))
    for c in charges:
        amt = -money(o.subtotal * Decimal("0.02")) if c.lower().startswith("less") else \
            money(Decimal(rng.choice([7.5, 12, 15, 18.75, 22])))
        o.charges.append((c, amt))
    return o


def expected(o: Order, *, codes: bool = True) -> PurchaseOrder:
    """The PurchaseOrder a perfect parser would produce for this order."""
    lines = [POLine(line_no=n, customer_item_code=i.code if codes else None, description=i.description,
                    quantity=i.quantity, uom=i.uom, unit_price=i.unit_price, amount=i.amount)
             for n, i in enumerate(o.items, 1)]
    return PurchaseOrder(
        po_number=o.po_number, po_date=o.po_date, requested_ship_date=o.ship_date, buyer=o.buyer,
        bill_to=o.bill_to, ship_to=o.ship_to, currency=o.currency, lines=lines, subtotal=o.subtotal,
        freight=o.freight, tax=o.tax, total=o.total,
        other_charges=[Charge(description=d, amount=a) for d, a in o.charges])
