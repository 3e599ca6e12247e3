"""Plays the demo year forward: customers and contacts, orders, money (credits and payments), changes of mind."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from worker.demo_data import records
from worker.demo_data.year import (BRAND_ITEMS, DISCOUNT_CUSTOMERS, DRISCOLL, EARLY_DAYS, EARLY_DISCOUNT,
                                   EARLY_SHARE, FIRST, LAST, NEW_KITS, PARENTS, REASONS, TITLES, DemoCustomer, Order,
                                   PriceBook, Timeline, at, load_customers, next_weekday)

DAYS = 365
QUIET_DAYS = 45  # the customer whose orders stop (order-frequency drop)
DELINQUENT_SINCE = 150  # delinquent customers stopped paying invoices newer than this many days
CANCELLED_AGO = (150, 6)  # days ago two sales orders were keyed (cancelled the next business day): one is recent news
VOIDED_AGO = (9, 3)  # days ago a credit memo was posted, and voided: both recent news for the dispute workflow


class Story:
    """One deterministic year ending at `now`."""

    def __init__(self, now: datetime, seed: int, reference_dir: Path) -> None:
        self.rng = random.Random(seed)
        # The payment draws added later (early-payment discounts, the consolidated payment) come from their own
        # generator, so the story's other draws, and the events they give, stay as they were.
        self.aside = random.Random(seed + 1)
        self.today = now.date()
        self.start = self.today - timedelta(days=DAYS)
        self.timeline = Timeline(now)
        self.book = PriceBook(reference_dir)
        self.customers = load_customers()
        self.by_id = {c.ns_id: c for c in self.customers}
        self.baskets: dict[str, list[str]] = {}
        self.orders: list[Order] = []
        self.discounted: set[str] = set()  # invoices paid within 10 days, taking the early-payment discount
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
        self.cancel_orders()
        self.void_memo()
        return self.timeline.events()

    # -- customers and contacts --------------------------------------------------------------------------
    def onboard(self, c: DemoCustomer, index: int) -> None:
        """The customer record and its contacts; a few customers lose their AP contact mid-year."""
        created = at(self.start - timedelta(days=30), 9, index)
        since = f"{2014 + index % 10}-0{1 + index % 9}-15"
        parent = self.by_id.get(PARENTS.get(c.ns_id, ""))
        self.timeline.add(created, "customer", c.ns_id, "create", lambda m: records.customer(
            c, since, m, self.phone(), c.ns_id in DISCOUNT_CUSTOMERS, parent))
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
        self.baskets[c.ns_id] = basket
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
        order = self.draft(c, day, basket)
        created = at(day, 13, self.rng.randint(0, 240))
        self.timeline.add(created, "salesorder", order.ns_id, "create",
                          lambda m: records.sales_order(order, "pending", m))
        order.fulfillment_id, order.invoice_id = self.new_id("itemfulfillment"), self.new_id("invoice")
        order.invoice_tran_id = f"INV{order.invoice_id}"
        ship = date.fromisoformat(order.ship_date)
        order.due_date = (ship + timedelta(days=order.terms_days)).isoformat()
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

    def draft(self, c: DemoCustomer, day: date, basket: list[str]) -> Order:
        """A sales order as keyed: lines, terms, carrier and packages (not yet fulfilled or invoiced)."""
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
        order.discount = c.ns_id in DISCOUNT_CUSTOMERS and terms == c.terms_days
        return order

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
        consolidated = self.pick_consolidated(credits)
        plans: dict[tuple[str, date], list[tuple[Order, float | None]]] = defaultdict(list)
        for order in self.orders:
            # A consolidated payment: the parent pays its subcustomer's invoice, on its own habits and days.
            payer = self.by_id[PARENTS[order.customer.ns_id]] if order is consolidated else order.customer
            for day, share in self.payment_plan(order, credits.get(order.invoice_id), payer):
                plans[(payer.ns_id, day)].append((order, share))
        moves: list[tuple[datetime, int, Any]] = [(at(d, 11, i), i, ("credit", o, d)) for i, (o, d) in
                                                  enumerate(credits.values())]
        moves += [(at(key[1], 15, i % 60), 10_000 + i, ("payment", key, group))
                  for i, (key, group) in enumerate(sorted(plans.items(), key=lambda kv: (kv[0][1], kv[0][0])))]
        for moment, _n, move in sorted(moves, key=lambda m: (m[0], m[1])):
            self.credit(moment, move[1], move[2]) if move[0] == "credit" else self.pay(moment, move[1][0], move[2])

    def pick_consolidated(self, credits: dict[str, tuple[Order, date]]) -> Order | None:
        """The subcustomer's invoice its parent pays, shipped 75 to 110 days ago (so paid in the last 90)."""
        window = (self.today - timedelta(days=110), self.today - timedelta(days=75))
        children = [o for o in self.orders if o.customer.ns_id in PARENTS and o.invoice_id not in credits
                    and window[0] <= date.fromisoformat(o.ship_date) <= window[1]]
        return self.aside.choice(children) if children else None

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

    def payment_plan(self, order: Order, credit: tuple[Order, date] | None,
                     customer: DemoCustomer) -> list[tuple[date, float | None]]:
        """When `customer` pays this invoice: (day, share of the original total or None = the rest)."""
        due, shipped = date.fromisoformat(order.due_date), date.fromisoformat(order.ship_date)
        payer, rng = customer.payer, self.rng
        if payer == "delinquent" and shipped >= self.today - timedelta(days=DELINQUENT_SINCE):
            return []
        delays = {"prompt": (-8, 3), "slow": (5, 25), "late": (32, 55), "very_late": (62, 85),
                  "partial": (0, 10), "delinquent": (-5, 5)}
        low, high = delays[payer]
        first = max(due + timedelta(days=rng.randint(low, high)), shipped + timedelta(days=1))
        if credit:
            first = max(first, credit[1] + timedelta(days=1))
        if customer.ns_id == DRISCOLL:  # one weekly remittance on Fridays
            first += timedelta(days=(4 - first.weekday()) % 7)
        while first.weekday() >= 5:
            first += timedelta(days=1)
        plan = [(first, None)]
        if payer == "partial":
            plan = [(first, rng.uniform(0.6, 0.85)), (first + timedelta(days=rng.randint(35, 60)), None)]
        if order.discount and not credit and self.aside.random() < EARLY_SHARE:  # paid in full within 10 days
            early = shipped + timedelta(days=self.aside.randint(4, EARLY_DAYS))
            early -= timedelta(days=max(0, early.weekday() - 4))  # a weekend's payment goes out on the Friday
            if early <= self.today:
                self.discounted.add(order.invoice_id)
            plan = [(early, None)]
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

    def pay(self, moment: datetime, payer: str, group: list[tuple[Order, float | None]]) -> None:
        """One payment by customer `payer` covering several invoices (a parent's may include a subcustomer's)."""
        applies = []
        for order, share in group:
            amount = order.remaining if share is None else round(order.total * share, 2)
            amount = round(min(amount, order.remaining), 2)
            disc = 0.0
            if order.invoice_id in self.discounted and amount == order.total:  # 1% off the invoice's total
                amount = round(order.total * (1 - EARLY_DISCOUNT), 2)
                disc = round(order.total - amount, 2)
            if amount > 0:
                applies.append((order, amount, disc))
        if not applies:
            return
        ns_id = self.new_id("customerpayment")
        customer = self.by_id[payer]
        self.timeline.add(moment, "customerpayment", ns_id, "create",
                          lambda m: records.payment(ns_id, customer, moment.date().isoformat(), applies, m))
        for order, amount, disc in applies:
            order.remaining = round(order.remaining - amount - disc, 2)
            remaining = order.remaining
            self.timeline.add(moment + timedelta(minutes=1), "invoice", order.invoice_id, "update",
                              lambda m, o=order, r=remaining: records.invoice(o, r, m))

    # -- changes of mind: orders cancelled, a memo voided -------------------------------------------------------
    def cancel_orders(self) -> None:
        """Two orders cancelled the business day after they were keyed, never fulfilled or invoiced; each carries a
        mis-keyed price, which the quote review leaves alone: a cancelled order is no order."""
        candidates = sorted(c.ns_id for c in self.customers if c.payer != "delinquent" and c.ns_id != DRISCOLL)
        for ago in CANCELLED_AGO:
            c = self.by_id[self.rng.choice(candidates)]
            day = self.today - timedelta(days=ago)
            day -= timedelta(days=max(0, day.weekday() - 4))
            order = self.draft(c, day, self.baskets[c.ns_id])
            line = order.lines[0]
            line["rate"] = round(line["rate"] * 1.12, 2)
            line["amount"] = round(line["quantity"] * line["rate"], 2)
            order.total = round(sum(l["amount"] for l in order.lines), 2)
            created = at(day, 13, self.rng.randint(0, 240))
            self.timeline.add(created, "salesorder", order.ns_id, "create",
                              lambda m, o=order: records.sales_order(o, "pending", m))
            self.timeline.add(at(next_weekday(day), 10), "salesorder", order.ns_id, "update",
                              lambda m, o=order: records.sales_order(o, "cancelled", m))

    def void_memo(self) -> None:
        """A credit memo posted against an open invoice, then voided: the invoice owes its total again."""
        posted, voided = (self.today - timedelta(days=ago) for ago in VOIDED_AGO)
        open_ = [o for o in self.orders if o.remaining == o.total and o.customer.ns_id != DRISCOLL
                 and date.fromisoformat(o.ship_date) < posted - timedelta(days=1)]
        if not open_:
            return
        order = self.rng.choice(open_)
        line = self.rng.choice(order.lines)
        cases = max(1, min(int(line["quantity"]), 2))
        amount = round(cases * line["rate"], 2)
        reason = self.rng.choice(REASONS).format(n=cases, item=line["description"])
        ns_id, day = self.new_id("creditmemo"), posted.isoformat()
        credited = round(order.total - amount, 2)
        self.timeline.add(at(posted, 11), "creditmemo", ns_id, "create",
                          lambda m: records.credit_memo(ns_id, order, day, line, cases, amount, reason, m))
        self.timeline.add(at(posted, 11, 1), "invoice", order.invoice_id, "update",
                          lambda m: records.invoice(order, credited, m))
        self.timeline.add(at(voided, 10), "creditmemo", ns_id, "update",
                          lambda m: records.credit_memo(ns_id, order, day, line, 0, 0.0, "", m, voided=True))
        self.timeline.add(at(voided, 10, 1), "invoice", order.invoice_id, "update",
                          lambda m: records.invoice(order, order.total, m))


def stamp_day(moment: datetime) -> str:
    """The calendar date of a moment (dateCreated)."""
    return moment.date().isoformat()
