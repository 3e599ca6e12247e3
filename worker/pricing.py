"""Expected prices: pricing_master plus the customer's program, shared by order intake and quote review.

A customer-specific row wins; otherwise the list price (customer_id '') marked up by the customer's
program. Rows apply on dates within [effective_from, effective_to] (blank = open-ended). Units compare as
codes (NetSuite's 'Each' and a PO's 'ea' are both EA); a row in another unit than the line's is converted
only through the item's pack count (spec_items.pack_size), and otherwise there is no comparable price: a
case price is never compared with a price per each. Prices keep their four decimals
(list 0.0300 + 15% = 0.0345); only display rounds.

With the base currency (US dollars, worker/currency.py) live the one formatter of amounts for
people (`money`), the per-currency totals every email uses (amounts in two currencies are never added up), and
how a credit memo's or payment's money splits into applied and left on account (`credit_split`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from worker.config import Program, Settings
from worker.currency import (
    BASE_CURRENCY,
    currency_code,
    is_base_currency,
    is_currency_id,
)
from worker.po.values import normalize_uom

# Customer first, newest first; then a row in a stated unit before one without (the import refuses such a pair
# for an item whose unit is known, but a database loaded before may hold both), then by spelling: never at random.
PRICE_ROWS = """
SELECT customer_id, unit_price, uom FROM pricing_master
WHERE item_id = :item_id AND customer_id IN (:customer_id, '')
  AND (effective_from = '' OR effective_from <= :on) AND (effective_to = '' OR effective_to >= :on)
ORDER BY customer_id = '', effective_from DESC, uom = '', uom, id
"""
ITEM_PACK = "SELECT uom, pack_size FROM spec_items WHERE item_id = ?"
PROGRAM = "SELECT program, markup_pct, freight_terms, payment_terms_days, usda_eligible FROM customer_program WHERE customer_id = ?"
EACH = "EA"
EXACT = Decimal("1E-8")  # far below the list's 4 decimals: converted prices (48.00 / 7) stay comparable
HUNDREDTH = Decimal("0.01")
SHOWN = Decimal("0.0001")
# '4/5lb', '6/#10', '10/100': foodservice pack/size, the pack (bags, cans, boxes) is what an each is.
_PACK_SIZE = re.compile(r"\s*(\d+)\s*/")
# '48ct', '24 kits', '12 ea': a count of eaches. A weight or volume ('40lb', '15dz') is not one.
_COUNT = re.compile(r"\s*(\d+)\s*([A-Za-z]+)\.?\s*")
COUNT_WORDS = frozenset({"CT", "CNT", "COUNT", "EA", "EACH", "PC", "PCS", "PIECE", "PIECES", "KIT", "KITS",
                         "PLATTER", "PLATTERS", "ROLL", "ROLLS"})
HALF_CENT = 0.005  # below half a cent an amount is nothing
HALF_CENT_EXACT = Decimal("0.005")


# Amounts for people, in every email and note: one formatter, so no draft can print another currency as "$".
def currency_name(currency: str | None) -> str:
    """The currency as one line of text, and the key amounts are totalled and compared by: its ISO code however
    NetSuite spells it ('USD' for 'USA', 'CAD' for 'Canadian Dollar': one currency is one total), 'currency #4' for
    one given only by its NetSuite internal id (a bare '4' before an amount reads as a number), else its own name."""
    if is_currency_id(currency) and not is_base_currency(currency):
        return f"currency #{(currency or '').strip()}"
    return currency_code(currency) or " ".join((currency or "").split())


def money(value: float, currency: str | None = None) -> str:
    """An amount for people: '$1,234.50' in US dollars, else behind the currency's name ('EUR 1,234.50').

    An unknown amount (None) raises TypeError: printed as $0.00 it would tell a customer something false, so a
    caller with no amount says so in its own words (or leaves the amount out)."""
    if value is None:
        raise TypeError("money() was given no amount: an unknown amount is not $0.00")
    if is_base_currency(currency):
        return f"${value:,.2f}"
    return f"{currency_name(currency)} {value:,.2f}"


def cents(amount: Decimal) -> Decimal:
    """An amount to the cent, half-up as invoices, order forms and NetSuite round (2.345 -> 2.35) (pure).

    The one rounding of quantity x unit price: PO validation rounding half-even (2.34) flagged subtotals
    the customer's own half-up arithmetic printed right. Raises InvalidOperation beyond Decimal's 28 digits."""
    return amount.quantize(HUNDREDTH, ROUND_HALF_UP)


def totals_by_currency(amounts: Iterable[tuple[float | None, str | None]]) -> dict[str, float]:
    """(amount, currency) pairs summed per currency to the cent, US dollars first: amounts in two currencies
    are never one figure (there is no exchange rate here)."""
    totals: dict[str, float] = {}
    for amount, currency in amounts:
        name = currency_name(currency)
        totals[name] = totals.get(name, 0.0) + (amount or 0.0)
    return {name: round(totals[name], 2) for name in sorted(totals, key=lambda n: (n != BASE_CURRENCY, n))}


def listed(items: Sequence[str]) -> str:
    """Items as a sentence lists them: 'A', 'A and B', 'A, B and C'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def amounts_text(totals: dict[str, float]) -> str:
    """Per-currency totals for people: '$10,000.00 and EUR 20,000.00' ('$0.00' when there are none)."""
    return listed([money(amount, name) for name, amount in totals.items()] or [money(0.0)])


@dataclass(frozen=True)
class Credit:
    """How much of a credit memo is applied to invoices, and how much is left as credit on account."""

    applied: float | None  # None: unknown (sent without its apply list and without amountRemaining)
    unapplied: float | None

    @property
    def on_account(self) -> float | None:
        """The credit left on the customer's account, when there is any (half a cent or more)."""
        return self.unapplied if self.unapplied is not None and self.unapplied >= HALF_CENT else None

    @property
    def nothing_applied(self) -> bool:
        """True when the memo is known to be applied to no invoice."""
        return self.applied is not None and abs(self.applied) < HALF_CENT


def credit_split(total: float | None, remaining: float | None, apply_version: str | None,
                 applied_sum: float | None) -> Credit:
    """The memo's applied and unapplied amounts; NetSuite's own `amountRemaining` wins where it is known.

    A payment's (`unapplied`) are the same sum: the collection plan reads money on account with it.
    """
    if apply_version != "":  # the apply list was given ('' = never sent, worker/cdc/versions.py)
        applied: float | None = round(applied_sum or 0.0, 2)  # SQLite's sum(): 100.10 + 200.20 is 300.2999…
    else:
        applied = round(total - remaining, 2) if total is not None and remaining is not None else None
    if remaining is None and total is not None and applied is not None:
        remaining = round(total - applied, 2)
    return Credit(applied, remaining)


@dataclass(frozen=True)
class ProgramTerms:
    """A customer's pricing program (SPEC 10); customers without a row get the configured standard."""

    program: str
    markup_pct: float
    freight_terms: str | None
    payment_terms_days: int | None
    usda_eligible: bool

    @classmethod
    def from_config(cls, program: Program, name: str = "standard") -> ProgramTerms:
        """Terms from a `[programs.NAME]` block of the toml."""
        return cls(name, program.markup_pct, program.freight_terms, program.payment_terms_days, program.usda_eligible)


@dataclass(frozen=True)
class ExpectedPrice:
    """What we expect to charge per `uom`, and why; unit_price None when no row is in a comparable unit."""

    unit_price: Decimal | None
    uom: str
    basis: str  # 'customer_price' | 'list_plus_markup' | 'no_comparable_price'
    note: str | None = None  # how a price in another unit was converted, or why none compares


@dataclass(frozen=True)
class PriceCheck:
    """A quoted price against the expected one; within_tolerance is False only for a price to flag."""

    expected: ExpectedPrice | None
    deviation_pct: float | None
    within_tolerance: bool
    # Why there is no percentage (no comparable price, a free item quoted at a price), or why a percentage outside
    # the tolerance is within all the same (a price in cents as near the expected one as cents can be).
    reason: str | None = None


@dataclass(frozen=True)
class PriceRow:
    """One applicable pricing_master row, its unit as a code ('' = not stated)."""

    customer_id: str
    unit_price: Decimal
    uom: str


@dataclass(frozen=True)
class Pack:
    """An item's own unit (spec_items.uom, as a code) and how many eaches one of it holds."""

    unit: str = ""
    each: int | None = None

    def factor(self, from_unit: str, to_unit: str) -> Decimal | None:
        """What a price per from_unit is multiplied by to be per to_unit; None when they do not convert."""
        if from_unit == to_unit:
            return Decimal(1)
        if not self.each or self.unit in ("", EACH):
            return None
        if (from_unit, to_unit) == (self.unit, EACH):
            return 1 / Decimal(self.each)
        if (from_unit, to_unit) == (EACH, self.unit):
            return Decimal(self.each)
        return None


def unit_code(name: str | None) -> str:
    """A unit as the price list spells it: 'Each', 'ea' -> 'EA'; 'Case', 'cs' -> 'CS'; '' for none (pure)."""
    text = (name or "").strip()
    return (normalize_uom(text) or text.upper()) if text else ""


def pack_count(pack_size: str | None) -> int | None:
    """Eaches in one of the item's units: '4/5lb' -> 4, '48ct' -> 48, '24 kits' -> 24; None for '40lb' (pure)."""
    text = pack_size or ""
    if not (m := _PACK_SIZE.match(text)):
        m = _COUNT.fullmatch(text)
        if not m or m[2].upper() not in COUNT_WORDS:
            return None
    return int(m[1]) or None


def price_text(value: Decimal | float) -> str:
    """A price for people: cents, or up to four decimals when it has them (0.0345, not 0.03) (pure)."""
    try:
        number = Decimal(str(value))
        text = f"{number.quantize(SHOWN, ROUND_HALF_UP):f}" if number.is_finite() else str(value)
    except (InvalidOperation, ValueError):
        return str(value)
    if "." not in text:
        return text
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def price_in(rate: Decimal | float, currency: str | None) -> str:
    """A price in its currency as money() spells an amount, but to a price's precision (money() rounds to the
    cent): '$0.0345', 'EUR 70.00' (pure)."""
    shown = price_text(rate)
    return f"${shown}" if is_base_currency(currency) else f"{currency_name(currency)} {shown}"


def standard_program(settings: Settings) -> ProgramTerms:
    """The configured `standard` program: what a customer without a customer_program row gets."""
    return ProgramTerms.from_config(settings.programs["standard"])


def program_for(conn: sqlite3.Connection, customer_id: str | None, standard: ProgramTerms) -> ProgramTerms:
    """The customer's program row, or the standard program."""
    row = conn.execute(PROGRAM, (customer_id,)).fetchone() if customer_id else None
    if row is None:
        return standard
    return ProgramTerms(row[0], float(row[1] or 0), row[2], row[3], bool(row[4]))


def expected_price(conn: sqlite3.Connection, item_id: str, customer_id: str | None, on: str, program: ProgramTerms,
                   uom: str | None = None) -> ExpectedPrice | None:
    """The expected price of an item per the line's unit for a customer on a date (YYYY-MM-DD); None if unpriced."""
    found = conn.execute(PRICE_ROWS, {"item_id": item_id, "customer_id": customer_id or "", "on": on}).fetchall()
    rows = [PriceRow(cust, Decimal(str(price)), unit_code(row_uom)) for cust, price, row_uom in found]
    return choose_price(rows, unit_code(uom), item_pack(conn, item_id) if rows else Pack(), program)


def item_pack(conn: sqlite3.Connection, item_id: str) -> Pack:
    """The item's own unit and pack count from spec_items; an empty Pack for an unknown item."""
    item = conn.execute(ITEM_PACK, (item_id,)).fetchone()
    return Pack(unit_code(item[0]), pack_count(item[1])) if item else Pack()


def sold_per_other_unit(conn: sqlite3.Connection, item_id: str, expected: ExpectedPrice | None,
                        printed_per: str) -> str | None:
    """The unit an item is sold per, when a price printed per `printed_per` on a PO line without a unit is not per
    it (that line is in the item's own unit: its expected price's, else spec_items'); None when it is, or unknown.
    The intake (price_unit_differs) and the review order page's price check judge it alike."""
    sold = (expected.uom if expected else None) or item_pack(conn, item_id).unit
    return sold if sold and unit_code(printed_per) != sold else None


def choose_price(rows: Sequence[PriceRow], line_unit: str, pack: Pack, program: ProgramTerms) -> ExpectedPrice | None:
    """The expected price per line_unit from rows ordered customer first, newest first (pure).

    A line without a unit is in the item's own unit. A row without a unit is in the item's own unit too,
    or in any unit when the item's is unknown (how such rows have always been read). The customer's rows
    come before any list row (its contract price per case is its price per each too), each in the line's
    unit first, then converted through the pack count.
    """
    if not rows:
        return None
    unit = line_unit or pack.unit
    if not unit:  # neither the line nor the item names a unit: nothing to tell rows apart by
        return _expected(rows[0], rows[0].uom, Decimal(1), program, None)
    priced = [(row, row.uom or pack.unit or unit) for row in rows]
    # Stable: newest first within customer-in-unit, customer-converted, list-in-unit, list-converted.
    for row, row_unit in sorted(priced, key=lambda p: (not p[0].customer_id, p[1] != unit)):
        factor = pack.factor(row_unit, unit)
        if factor is not None:
            note = None if factor == 1 else (f"from {price_text(row.unit_price)} per {row_unit}, "
                                              f"{pack.each} {EACH} per {pack.unit}")
            return _expected(row, unit, factor, program, note)
    units = "/".join(sorted({row_unit for _, row_unit in priced}))
    why = "" if pack.each else "; spec_items gives no pack count to convert"
    return ExpectedPrice(None, unit, "no_comparable_price", f"no price per {unit}: priced per {units}{why}")


def _expected(row: PriceRow, unit: str, factor: Decimal, program: ProgramTerms, note: str | None) -> ExpectedPrice:
    price = row.unit_price * factor
    if row.customer_id:
        return ExpectedPrice(price.quantize(EXACT, ROUND_HALF_UP), unit, "customer_price", note)
    marked_up = price * (1 + Decimal(str(program.markup_pct)) / 100)
    return ExpectedPrice(marked_up.quantize(EXACT, ROUND_HALF_UP), unit, "list_plus_markup", note)


def check_price(quoted: Decimal | float | None, expected: ExpectedPrice | None, tolerance_pct: float, *,
                in_cents: bool = True) -> PriceCheck:
    """Compare a quoted unit price with the expected one at full precision (pure). `in_cents`: the quote comes from
    where prices are written in cents (a PO, the order form), so one within half a cent is as near as it can be;
    False for NetSuite's own rates, which hold four decimals and could have been exact."""
    if expected is None or quoted is None:
        return PriceCheck(expected, None, expected is not None)
    if expected.unit_price is None:
        return PriceCheck(expected, None, True, expected.note)
    quote = Decimal(str(quoted))
    if not quote.is_finite():
        return PriceCheck(expected, None, False, f"the quoted price {quoted} is not a finite number")
    if expected.unit_price == 0:
        if quote == 0:
            return PriceCheck(expected, 0.0, True)
        return PriceCheck(expected, None, False, "free item")
    deviation = (quote - expected.unit_price) / expected.unit_price * 100
    # Judged unrounded: +2.004% is outside a 2% tolerance even though it is shown as +2.00%.
    if abs(deviation) <= Decimal(str(tolerance_pct)):
        return PriceCheck(expected, _percent(deviation), True)
    if in_cents and nearest_cent(quote, expected.unit_price):  # the true deviation is still the one shown
        return PriceCheck(expected, _percent(deviation), True,
                          f"within half a cent of {price_text(expected.unit_price)}: a price in cents is no closer")
    return PriceCheck(expected, _percent(deviation), False)


def nearest_cent(quote: Decimal, expected: Decimal) -> bool:
    """True when a quote written in cents (at most 2 decimals) is within half a cent of the expected price (pure).

    List 0.10 + 15% is 0.115: 0.11 and 0.12 are both 4.35% off, and no price in cents is nearer. A quote with
    more decimals could have been exact, so it gets no such allowance. Exactly half a cent off is within."""
    exponent = quote.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2 and abs(quote - expected) <= HALF_CENT_EXACT


def _percent(value: Decimal) -> float:
    try:
        return float(value.quantize(HUNDREDTH, ROUND_HALF_UP))
    except InvalidOperation:  # over 26 digits before the point: far outside any tolerance anyway
        return float(value)
