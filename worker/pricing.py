"""Expected prices: pricing_master plus the customer's program, shared by order intake and quote review.

A customer-specific row wins; otherwise the list price (customer_id '') marked up by the customer's
program. Rows apply on dates within [effective_from, effective_to] (blank = open-ended).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from worker.config import Program, Settings

PRICE_ROWS = """
SELECT customer_id, unit_price, uom FROM pricing_master
WHERE item_id = :item_id AND customer_id IN (:customer_id, '')
  AND (effective_from = '' OR effective_from <= :on) AND (effective_to = '' OR effective_to >= :on)
ORDER BY customer_id = '' , effective_from DESC
"""
PROGRAM = "SELECT program, markup_pct, freight_terms, payment_terms_days, usda_eligible FROM customer_program WHERE customer_id = ?"
CENT = Decimal("0.01")


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
    """What we expect to charge, and why."""

    unit_price: Decimal
    uom: str
    basis: str  # 'customer_price' | 'list_plus_markup'


@dataclass(frozen=True)
class PriceCheck:
    """A quoted price against the expected one."""

    expected: ExpectedPrice | None
    deviation_pct: float | None
    within_tolerance: bool


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
    """The expected unit price of an item for a customer on a date (YYYY-MM-DD), or None if unpriced."""
    rows = conn.execute(PRICE_ROWS, {"item_id": item_id, "customer_id": customer_id or "", "on": on}).fetchall()
    if uom:
        rows = sorted(rows, key=lambda r: (r[2] or "").upper() not in ("", uom.upper()))
    for cust, price, row_uom in rows:
        if cust:
            return ExpectedPrice(Decimal(str(price)).quantize(CENT, ROUND_HALF_UP), row_uom or "", "customer_price")
        marked_up = Decimal(str(price)) * (1 + Decimal(str(program.markup_pct)) / 100)
        return ExpectedPrice(marked_up.quantize(CENT, ROUND_HALF_UP), row_uom or "", "list_plus_markup")
    return None


def check_price(quoted: Decimal | float | None, expected: ExpectedPrice | None, tolerance_pct: float) -> PriceCheck:
    """Compare a quoted unit price with the expected one (pure)."""
    if expected is None or quoted is None or expected.unit_price == 0:
        return PriceCheck(expected, None, expected is not None and quoted is None)
    deviation = (Decimal(str(quoted)) - expected.unit_price) / expected.unit_price * 100
    deviation_pct = float(deviation.quantize(Decimal("0.01"), ROUND_HALF_UP))
    return PriceCheck(expected, deviation_pct, abs(deviation_pct) <= tolerance_pct)
