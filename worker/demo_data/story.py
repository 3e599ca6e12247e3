"""Plays the demo year forward: customers and contacts, then orders, then money (credits and payments)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from worker.demo_data import records
from worker.demo_data.year import (BRAND_ITEMS, DRISCOLL, FIRST, LAST, NEW_KITS, REASONS, TITLES,
                                   DemoCustomer, Order, PriceBook, Timeline, at, load_customers, next_weekday)

DAYS = 365
QUIET_DAYS = 45  # the customer whose orders stop (order-frequency drop)
DELINQUENT_SINCE = 150  # delinquent customers stopped paying invoices newer than this many days


class Story:
    """One deterministic year ending at `now`."""

    def __init__(self, now: datetime, seed: int, reference_dir: Path) -> None:
        self.rng = random.Random(seed)
        self.today = now.date()
        self.start = self.today - timedelta(days=DAYS)
        self.timeline = Timeline(now)
        self.book = PriceBook(reference_dir)
        self.customers = load_customers()
        self.orders: list[Order] = []
        self.next_id = {"contact": 3000, "salesorder": 10000, "itemfulfillment": 20000, "invoice": 30000,
                        "customerpayment": 40000, "creditmemo": 50000}

    def new_id(self, kind: str) -> str:
        """The next NetSuite internal id of a record type."""
        self.next_id[kind] += 1
        return str(self.next_id[kind])

    def phone(self) -> str:
        """A fictional phone number."""
        return f"(555) {self.rng.randint(200, 999)}-{self.rng.randint(1000, 9999)}"

    def play(self) -> list[dict[str, Any]]:
        """The whole year as webhook events."""
        for index, customer in enumerate(self.customers):
            self.onboard(customer, index)
        for customer in self.customers:
            self.order_year(customer)
        self.money()
        return self.timeline.events()

    # -- customers and contacts --------------------------------------------------------------------------
    def onboard(self, c: DemoCustomer, index: int) -> None:
        """The customer record and its contacts; a few customers lose their AP contact mid-year."""
        created = at(self.start - timedelta(days=30), 9, index)
        since = f"{2014 + index % 10}-0{1 + index % 9}-15"
        self.timeline.add(created, "customer", c.ns_id, "create",
                          lambda m: records.customer(c, since, m, self.phone()))
        titles = ["Accounts Payable"] + self.rng.sample(TITLES, 3 if c.ns_id == DRISCOLL else 1)
        people = [self.add_contact(c, title, created + timedelta(minutes=1)) for title in titles]
        if c.payer in ("late", "very_late"):  # contact churn: the AP person leaves, a successor arrives
            ap_id, first, last, phone = people[0]
            left = at(self.today - timedelta(days=self.rng.randint(20, 80)), 10)
            self.timeline.add(left, "contact", ap_id, "update", lambda m: records.contact(
                ap_id, c, first, last, "Accounts Payable (left)", True, stamp_day(created), m, phone))
            self.add_contact(c, "Accounts Payable", left + timedelta(days=7))

    def add_contact(self, c: DemoCustomer, title: str, moment: datetime) -> tuple[str, str, str, str]:
        """A new contact of a customer: (ns_id, first, last, phone)."""
        ns_id, first, last = self.new_id("contact"), self.rng.choice(FIRST), self.rng.choice(LAST)
        phone = self.phone()
        self.timeline.add(moment, "contact", ns_id, "create", lambda m: records.contact(
            ns_id, c, first, last, title, False, stamp_day(moment), m, phone))
        return ns_id, first, last, phone

    # -- orders, fulfillments, invoices ------------------------------------------------------------------
    def order_year(self, c: DemoCustomer) -> None:
        """Orders on weekdays at the customer's rate, each shipped and invoiced the next business day."""
        basket = BRAND_ITEMS.get(c.ns_id, []) + self.rng.sample(self.book.staples(), 10 if c.ns_id == DRISCOLL else 8)
        stop = self.today - timedelta(days=QUIET_DAYS) if c.payer == "delinquent" and c.ns_id == "1204" else self.today
        day = self.start
        while day <= stop:
            if day.weekday() < 5 and self.rng.random() < c.orders_per_week / 5:
                self.place(c, day, basket)
            day += timedelta(days=1)

    def lines_for(self, c: DemoCustomer, day: date, basket: list[str]) -> list[dict[str, Any]]:
        """The order's lines at program prices, with the occasional keying error and new kit."""
        count = self.rng.randint(8, 13) if c.ns_id == DRISCOLL else self.rng.randint(2, 7)
        chosen = self.rng.sample(basket, min(count, len(basket)))
        recent = (self.today - day).days <= 12
        if c.ns_id == DRISCOLL and recent and self.rng.random() < 0.5:
            chosen.append("563")
        if c.segment == "caterer" and (self.today - day).days <= 30 and self.rng.random() < 0.3:
            chosen.append("562")
        lines = []
        for item_id in chosen:
            code, description, uom, _assembly = self.book.items[item_id]
            rate = self.book.price(item_id, c.ns_id, day.isoformat()) or NEW_KITS[item_id]
            if self.rng.random() < 0.025:  # a rep keyed the wrong price: quote review should catch it
                rate = round(rate * self.rng.choice([0.85, 0.9, 1.12]), 2)
            quantity = float(max(1, round(c.scale * self.rng.uniform(1, 6))))
            lines.append({"item_id": item_id, "code": code, "description": description, "uom": uom,
                          "quantity": quantity, "rate": rate, "amount": round(quantity * rate, 2)})
        return lines

    def place(self, c: DemoCustomer, day: date, basket: list[str]) -> None:
        """One order and, when their time has come, its fulfillment, invoice and billing."""
        program = self.book.program(c.ns_id)
        lines = self.lines_for(c, day, basket)
        ship = next_weekday(day)
        terms = c.terms_days if self.rng.random() > 0.01 else 45 if c.terms_days != 45 else 30
        carrier = "GFS Fleet" if c.ns_id == DRISCOLL else self.rng.choice(["UPS Freight", "FedEx Freight", "GFS Fleet"])
        weight = sum(line["quantity"] for line in lines) * 24.0
        pallets = max(1, min(4, int(weight // 900) + 1))
        order = Order(self.new_id("salesorder"), "", c, day.isoformat(), ship.isoformat(),
                      f"{c.company.split()[0][:4].upper()}-{self.rng.randint(10000, 99999)}", terms,
                      (program.freight_terms or "prepaid").title(), lines, round(sum(l["amount"] for l in lines), 2),
                      carrier, [(self.tracking(carrier), round(weight / pallets, 1)) for _ in range(pallets)])
        order.tran_id = f"SO{order.ns_id}"
        created = at(day, 13, self.rng.randint(0, 240))
        self.timeline.add(created, "salesorder", order.ns_id, "create",
                          lambda m: records.sales_order(order, "pending", m))
        order.fulfillment_id, order.invoice_id = self.new_id("itemfulfillment"), self.new_id("invoice")
        order.invoice_tran_id = f"INV{order.invoice_id}"
        order.due_date = (ship + timedelta(days=terms)).isoformat()
        order.remaining = order.total
        self.timeline.add(at(ship, 6, self.rng.randint(0, 59)), "itemfulfillment", order.fulfillment_id, "create",
                          lambda m: records.fulfillment(order, False, m))
        self.timeline.add(at(ship, 9, self.rng.randint(0, 59)), "itemfulfillment", order.fulfillment_id, "update",
                          lambda m: records.fulfillment(order, True, m))
        invoiced = at(ship, 18, self.rng.randint(0, 30))
        self.timeline.add(invoiced, "invoice", order.invoice_id, "create",
                          lambda m: records.invoice(order, order.total, m))
        self.timeline.add(invoiced + timedelta(minutes=2), "salesorder", order.ns_id, "update",
                          lambda m: records.sales_order(order, "billed", m))
        if ship <= self.today:
            self.orders.append(order)

    def tracking(self, carrier: str) -> str:
        """A tracking or PRO number in the carrier's style."""
        if carrier == "GFS Fleet":
            return f"GFS-RT{self.rng.randint(100000, 999999)}"
        prefix = "1Z" if carrier.startswith("UPS") else ""
        return prefix + "".join(self.rng.choice("0123456789") for _ in range(12 if prefix else 14))

    # -- credits and payments ----------------------------------------------------------------------------
    def money(self) -> None:
        """Credit memos, then payments per the customer's habits, applied in time order."""
        credits = self.plan_credits()
        plans: dict[tuple[str, date], list[tuple[Order, float | None]]] = defaultdict(list)
        for order in self.orders:
            for day, share in self.payment_plan(order, credits.get(order.invoice_id)):
                plans[(order.customer.ns_id, day)].append((order, share))
        moves: list[tuple[datetime, int, Any]] = [(at(d, 11, i), i, ("credit", o, d)) for i, (o, d) in
                                                  enumerate(credits.values())]
        moves += [(at(key[1], 15, i % 60), 10_000 + i, ("payment", key, group))
                  for i, (key, group) in enumerate(sorted(plans.items(), key=lambda kv: (kv[0][1], kv[0][0])))]
        for moment, _n, move in sorted(moves, key=lambda m: (m[0], m[1])):
            self.credit(moment, move[1], move[2]) if move[0] == "credit" else self.pay(moment, move[2])

    def plan_credits(self) -> dict[str, tuple[Order, date]]:
        """About a dozen credit memos over the year, two of them in the last fortnight."""
        older = [o for o in self.orders if date.fromisoformat(o.ship_date) <= self.today - timedelta(days=20)]
        recent = [o for o in self.orders if self.today - timedelta(days=12) <= date.fromisoformat(o.ship_date)
                  <= self.today - timedelta(days=3)]
        chosen = self.rng.sample(older, min(10, len(older))) + self.rng.sample(recent, min(2, len(recent)))
        plans = {}
        for order in chosen:
            day = date.fromisoformat(order.ship_date) + timedelta(days=self.rng.randint(2, 3 if order in recent else 6))
            plans[order.invoice_id] = (order, min(day, self.today))
        return plans

    def payment_plan(self, order: Order, credit: tuple[Order, date] | None) -> list[tuple[date, float | None]]:
        """When the customer pays this invoice: (day, share of the original total or None = the rest)."""
        due, shipped = date.fromisoformat(order.due_date), date.fromisoformat(order.ship_date)
        payer, rng = order.customer.payer, self.rng
        if payer == "delinquent" and shipped >= self.today - timedelta(days=DELINQUENT_SINCE):
            return []
        delays = {"prompt": (-8, 3), "slow": (5, 25), "late": (32, 55), "very_late": (62, 85),
                  "partial": (0, 10), "delinquent": (-5, 5)}
        low, high = delays[payer]
        first = max(due + timedelta(days=rng.randint(low, high)), shipped + timedelta(days=1))
        if credit:
            first = max(first, credit[1] + timedelta(days=1))
        if order.customer.ns_id == DRISCOLL:  # one weekly remittance on Fridays
            first += timedelta(days=(4 - first.weekday()) % 7)
        while first.weekday() >= 5:
            first += timedelta(days=1)
        plan = [(first, None)]
        if payer == "partial":
            plan = [(first, rng.uniform(0.6, 0.85)), (first + timedelta(days=rng.randint(35, 60)), None)]
        return [(day, share) for day, share in plan if day <= self.today]

    def credit(self, moment: datetime, order: Order, day: date) -> None:
        """A credit memo applied to its invoice."""
        line = self.rng.choice(order.lines)
        # Whole cases at the line's rate, so the memo's quantity x rate is its amount, as far as the invoice is owed.
        cases = max(1, round(line["amount"] * self.rng.choice([0.1, 0.25, 0.5]) / line["rate"]))
        cases = min(cases, max(1, int(order.remaining // line["rate"])))
        amount = round(min(order.remaining, cases * line["rate"]), 2)
        reason = self.rng.choice(REASONS).format(n=cases, item=line["description"])
        ns_id = self.new_id("creditmemo")
        order.remaining = round(order.remaining - amount, 2)
        remaining = order.remaining
        self.timeline.add(moment, "creditmemo", ns_id, "create",
                          lambda m: records.credit_memo(ns_id, order, day.isoformat(), line, cases, amount, reason, m))
        self.timeline.add(moment + timedelta(minutes=1), "invoice", order.invoice_id, "update",
                          lambda m: records.invoice(order, remaining, m))

    def pay(self, moment: datetime, group: list[tuple[Order, float | None]]) -> None:
        """One customer payment covering several invoices."""
        applies = []
        for order, share in group:
            amount = order.remaining if share is None else round(order.total * share, 2)
            amount = round(min(amount, order.remaining), 2)
            if amount > 0:
                applies.append((order, amount))
        if not applies:
            return
        ns_id = self.new_id("customerpayment")
        customer = applies[0][0].customer
        self.timeline.add(moment, "customerpayment", ns_id, "create",
                          lambda m: records.payment(ns_id, customer, moment.date().isoformat(), applies, m))
        for order, amount in applies:
            order.remaining = round(order.remaining - amount, 2)
            remaining = order.remaining
            self.timeline.add(moment + timedelta(minutes=1), "invoice", order.invoice_id, "update",
                              lambda m, o=order, r=remaining: records.invoice(o, r, m))


def stamp_day(moment: datetime) -> str:
    """The calendar date of a moment (dateCreated)."""
    return moment.date().isoformat()
