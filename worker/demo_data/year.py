"""The demo year's story: who orders what and when, how it ships, is invoiced, credited and paid.

Deterministic for a given (now, seed): the same inputs always give the same events. Prices come from
the curated reference files through worker.pricing, so the demo's orders agree with customer_quote_review
except where a deviation is planted on purpose (about 1 line in 40, and a few wrong terms).
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from worker.config import Program
from worker.migrations import apply_schema
from worker.pricing import ProgramTerms, expected_price, program_for
from worker.reference import import_reference

CUSTOMERS_CSV = Path(__file__).with_name("customers.csv")
DRISCOLL = "1187"
RIVERSIDE = "1203"
BRAND_ITEMS = {DRISCOLL: ["501", "502", "503", "504", "560"], RIVERSIDE: ["505", "506", "507", "561"]}
NEW_KITS = {"563": 79.50, "562": 84.00}  # assemblies without a price yet: (item, quoted rate)
# Customers on 1% 10 Net 30 (due in 30 days, as their program says): now and then they pay within 10 days and
# take the 1% early-payment discount.
DISCOUNT_CUSTOMERS = frozenset({"1205", "1219", "1231"})
EARLY_DISCOUNT, EARLY_DAYS, EARLY_SHARE = 0.01, 10, 0.3  # 1% off within 10 days; how often they take it
PARENTS = {"1237": "1215"}  # subcustomer -> parent (NetSuite's customer `parent`): the district pays one of its bills
FIRST = ["Dana", "Pat", "Morgan", "Luis", "Aisha", "Ken", "Priya", "Tom", "Grace", "Omar", "Elena", "Sam", "Nora",
         "Victor", "Hannah", "Raj", "Molly", "Andre", "Keiko", "Brian"]
LAST = ["Ortiz", "Lee", "Nguyen", "Patel", "Johnson", "Kowalski", "Brennan", "Haddad", "Silva", "Fischer", "Okafor",
        "Moreau", "Tanaka", "Reyes", "Walsh", "Chen", "Larsen", "Diaz", "Singh", "Murphy"]
TITLES = ["Executive Chef", "Purchasing Manager", "Food Service Director", "General Manager", "Kitchen Manager"]
REASONS = ["Short shipped: {n} cs of {item} missing from the delivery", "Damaged in transit: {n} cs of {item} crushed",
           "Temperature abuse: {item} arrived thawed, {n} cs refused", "Price adjustment: {item} billed above contract",
           "Wrong item delivered: {n} cs of {item} returned", "Quality complaint: {item} out of spec, credited"]


@dataclass(frozen=True)
class DemoCustomer:
    """One row of customers.csv: who the customer is and how it behaves."""

    ns_id: str
    company: str
    segment: str
    domain: str
    terms_days: int
    orders_per_week: float
    scale: float
    payer: str  # prompt | slow | late | very_late | partial | delinquent


@dataclass
class Order:
    """A sales order and everything that follows from it."""

    ns_id: str
    tran_id: str
    customer: DemoCustomer
    tran_date: str
    ship_date: str
    po_number: str
    terms_days: int
    freight: str
    lines: list[dict[str, Any]]
    total: float
    carrier: str
    packages: list[tuple[str, float]]
    fulfillment_id: str = ""
    invoice_id: str = ""
    invoice_tran_id: str = ""
    due_date: str = ""
    remaining: float = 0.0
    discount: bool = False  # on 1% 10 Net 30 terms


def load_customers(path: Path = CUSTOMERS_CSV) -> list[DemoCustomer]:
    """The demo's customers."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [DemoCustomer(r["ns_id"], r["company"], r["segment"], r["domain"], int(r["terms_days"]),
                             float(r["orders_per_week"]), float(r["scale"]), r["payer"]) for r in csv.DictReader(handle)]


def stamp(moment: datetime) -> str:
    """NetSuite lastModifiedDate text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Timeline:
    """Collects changes; drops what would happen after `now`; keeps each record's versions increasing."""

    now: datetime
    changes: list[tuple[datetime, int, str, str, str, dict[str, Any]]] = field(default_factory=list)
    last: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def add(self, moment: datetime, record_type: str, record_id: str, operation: str,
            build: Callable[[str], dict[str, Any]]) -> None:
        """Record one change made at `moment` (nudged past the record's previous version)."""
        previous = self.last.get((record_type, record_id))
        if previous is not None and moment <= previous:
            moment = previous + timedelta(seconds=1)
        if moment > self.now:
            return
        self.last[(record_type, record_id)] = moment
        self.changes.append((moment, len(self.changes), record_type, record_id, operation, build(stamp(moment))))

    def events(self) -> list[dict[str, Any]]:
        """The changes as webhook events in delivery order."""
        ordered = sorted(self.changes, key=lambda c: (c[0], c[1]))
        return [{"event_id": f"demo-{n:06d}", "record_type": rt, "record_id": rid, "operation": op,
                 "last_modified": stamp(moment), "record": record}
                for n, (moment, _seq, rt, rid, op, record) in enumerate(ordered, start=1)]


def at(day: date, hour: int, minutes: int = 0) -> datetime:
    """A moment on a day (UTC)."""
    return datetime.combine(day, time(hour), UTC) + timedelta(minutes=minutes)


def next_weekday(day: date) -> date:
    """The next Monday-to-Friday day after `day`."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


class PriceBook:
    """Expected prices from the reference files, through the same helper the workflows use."""

    def __init__(self, reference_dir: Path) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        apply_schema(self.conn)
        report = import_reference(self.conn, reference_dir)
        if not report.ok:
            raise ValueError(f"demo reference files are invalid: {[str(e) for e in report.errors]}")
        self.standard = ProgramTerms.from_config(Program())
        self.items = {r[0]: r[1:] for r in self.conn.execute(
            "SELECT item_id, item_code, description, uom, is_assembly FROM spec_items ORDER BY item_id")}

    def program(self, customer_id: str) -> ProgramTerms:
        """The customer's program."""
        return program_for(self.conn, customer_id, self.standard)

    def price(self, item_id: str, customer_id: str, on: str) -> float | None:
        """The expected unit price in cents, as a sales rep quotes it, or None for an unpriced item."""
        found = expected_price(self.conn, item_id, customer_id, on, self.program(customer_id))
        return round(float(found.unit_price), 2) if found and found.unit_price is not None else None

    def staples(self) -> list[str]:
        """Items any customer may buy: not private label, not assemblies."""
        branded = {i for items in BRAND_ITEMS.values() for i in items}
        return [i for i, (_c, _d, _u, assembly) in self.items.items() if not assembly and i not in branded]
