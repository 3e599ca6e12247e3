"""Pydantic models for a parsed purchase order, plus pure validation of its arithmetic and dates."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from itertools import combinations
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, Field, PlainSerializer
from pydantic.json_schema import SkipJsonSchema

from worker.po.values import price_unit
from worker.pricing import cents

# JSON consumers (review UI, pipeline) expect numbers, not strings; Decimal stays exact in Python.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
CENT = Decimal("0.01")
# Findings that say a line was not read as printed: each such line lowers the confidence in the lines.
LINE_PROBLEMS = frozenset({"line_amount_mismatch", "unreadable_cell", "missing_quantity", "price_unit_differs"})


class Finding(BaseModel):
    """One validation result attached to a parsed order."""

    code: str
    severity: Literal["info", "warning", "error"]
    message: str
    line_no: int | None = None
    # The unit a price_per_unit finding's price is printed per ("LB"), for the checks that compare prices
    # (parser.price_units): read here, never back from the message. None for every other finding.
    unit: str | None = None


class Charge(BaseModel):
    """A non-item charge: surcharges positive, discounts negative."""

    description: str
    amount: Money
    # Printed above the order's subtotal, so the subtotal may already include it: the parser's note for
    # validate_order, kept out of the JSON and of the vision tool's schema.
    above_subtotal: SkipJsonSchema[bool] = Field(default=False, exclude=True)


class POLine(BaseModel):
    """One item line of a purchase order."""

    line_no: int
    customer_item_code: str | None = None
    vendor_item_code: str | None = None
    item_id: str | None = None
    description: str | None = None
    quantity: Money | None = None
    uom: str | None = None
    unit_price: Money | None = None
    amount: Money | None = None
    # Number cells printed on the line that could not be read (role -> text): the parser's note for
    # validate_order, kept out of the JSON and of the vision tool's schema.
    unread: SkipJsonSchema[dict[str, str]] = Field(default_factory=dict, exclude=True)
    # A unit price printed per another unit than the quantity's ('3.89/LB' on a CS line), as printed: not a price
    # per the line's unit, so unit_price stays empty and validate_order asks a person to check it.
    price_in_other_unit: SkipJsonSchema[str | None] = Field(default=None, exclude=True)


class PurchaseOrder(BaseModel):
    """A purchase order as proposed for human review."""

    po_number: str | None = None
    po_date: date | None = None
    requested_ship_date: date | None = None
    buyer: str | None = None
    bill_to: list[str] = Field(default_factory=list)
    ship_to: list[str] = Field(default_factory=list)
    currency: str | None = None
    lines: list[POLine] = Field(default_factory=list)
    subtotal: Money | None = None
    freight: Money | None = None
    tax: Money | None = None
    total: Money | None = None
    other_charges: list[Charge] = Field(default_factory=list)
    # The freight was read from a row of the item table (alone, or printed again in the totals area), above the
    # subtotal, which may already include it (as a Charge's above_subtotal): the parser's note for validate_order,
    # kept out of the JSON and of the tool's schema.
    freight_above_subtotal: SkipJsonSchema[bool] = Field(default=False, exclude=True)
    confidence: dict[str, float] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)


def _close(a: Decimal, b: Decimal, tol: Decimal = CENT) -> bool:
    return abs(a - b) <= tol


_ROLE_NAMES = {"qty": "quantity", "unit_price": "unit price", "amount": "amount"}


def _check_cells(ln: POLine, priced: bool) -> list[Finding]:
    """Findings about one line's cells; priced says whether the order prints prices on any line."""
    out = [Finding(code="unreadable_cell", severity="warning", line_no=ln.line_no,
                   message=f"line {ln.line_no}: {_ROLE_NAMES.get(role, role)} {text!r} could not be read as a number")
           for role, text in ln.unread.items()]
    if ln.price_in_other_unit:
        unit = price_unit(ln.price_in_other_unit)
        out.append(Finding(code="price_unit_differs", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: unit price {ln.price_in_other_unit!r} is per {unit}, the "
                                   f"quantity is in {ln.uom}; not taken as a price per {ln.uom}, please check it"))
    if ln.quantity is None and "qty" not in ln.unread and (ln.amount is not None or ln.unit_price is not None):
        out.append(Finding(code="missing_quantity", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: a price or amount but no quantity"))
    # An item ordered without a price on an order that prices its other lines ("market price"); order guides
    # and orders that print no prices at all are not flagged line by line.
    if (priced and ln.quantity is not None and ln.unit_price is None and ln.amount is None
            and not ln.price_in_other_unit and not {"unit_price", "amount"} & ln.unread.keys()):
        out.append(Finding(code="missing_price", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: a quantity but no unit price or amount"))
    if ln.quantity is not None and ln.quantity <= 0:
        out.append(Finding(code="nonpositive_quantity", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: quantity {ln.quantity} is not positive"))
    # Discounts are other_charges (SPEC 5), never item lines. A credit line's negative amount comes with its
    # negative quantity, flagged above; a negative price, or amount on a line ordered, is a misreading or a
    # discount taken for an item.
    if ln.unit_price is not None and ln.unit_price < 0:
        out.append(Finding(code="negative_price", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: unit price {ln.unit_price} is negative"))
    elif ln.amount is not None and ln.amount < 0 and not (ln.quantity is not None and ln.quantity < 0):
        out.append(Finding(code="negative_price", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: amount {ln.amount} is negative"))
    return out


def _extended(ln: POLine) -> Decimal | None:
    """quantity x unit price to the cent, half-up as the order form and NetSuite round it (pricing.cents); None
    when either is missing or the product is too large for Decimal's 28 digits (quantize raises there: a model's
    reading of 1e27 cases made the whole email fail)."""
    if ln.quantity is None or ln.unit_price is None:
        return None
    try:
        return cents(ln.quantity * ln.unit_price)
    except InvalidOperation:
        return None


def _check_lines(po: PurchaseOrder) -> list[Finding]:
    out: list[Finding] = []
    priced = any(ln.unit_price is not None or ln.amount is not None for ln in po.lines)
    for ln in po.lines:
        out += _check_cells(ln, priced)
        expected = _extended(ln)
        if expected is None and ln.quantity is not None and ln.unit_price is not None:
            out.append(Finding(code="implausible_number", severity="error", line_no=ln.line_no,
                               message=f"line {ln.line_no}: quantity {ln.quantity} x unit price {ln.unit_price} is "
                                       "too large to be an amount of money; misread?"))
        if expected is None or ln.amount is None:
            continue
        # Unit prices with 3-4 decimals round per line; allow a cent plus half a cent per unit rounding.
        if not _close(expected, ln.amount, CENT + CENT):
            out.append(Finding(code="line_amount_mismatch", severity="warning", line_no=ln.line_no,
                               message=f"line {ln.line_no}: {ln.quantity} x {ln.unit_price} = {expected}, "
                                       f"printed amount {ln.amount}"))
    return out


class _Sum(NamedTuple):
    """The line amounts that are known (`computed` of them as quantity x unit price) and the lines whose is not."""

    total: Decimal
    computed: int
    unknown: list[int]


def _lines_sum(po: PurchaseOrder) -> _Sum | None:
    """The lines' amounts summed, quantity x unit price standing in for an amount not read; None if none is known."""
    total, computed, unknown = Decimal(0), 0, []
    for ln in po.lines:
        if ln.amount is not None:
            total += ln.amount
        elif (extended := _extended(ln)) is not None:
            # Without this, one unread amount would switch the check off and hide a missed line.
            total, computed = total + extended, computed + 1
        else:
            unknown.append(ln.line_no)
    return _Sum(total, computed, unknown) if len(unknown) < len(po.lines) else None


def _unpriced(line_nos: list[int]) -> str:
    s = "s" if len(line_nos) > 1 else ""
    shown = ", ".join(map(str, line_nos[:5])) + (", …" if len(line_nos) > 5 else "")
    return f"{len(line_nos)} line{s} without a price (line{s} {shown})"


def _compare(kind: str, stated: str, expected: Decimal, printed: Decimal, tol: Decimal,
             unknown: list[int]) -> list[Finding]:
    """A `kind`_mismatch when the printed value is not the expected one. With lines of unknown amount in the
    expected value, only a printed value below it is a mismatch; above it, it is a `kind`_gap: those lines
    may account for the difference, or a line was not read, and nothing here can tell which."""
    if _close(expected, printed, tol):
        return []
    if not unknown:
        return [Finding(code=f"{kind}_mismatch", severity="error", message=f"{stated}, {kind} printed {printed}")]
    if printed < expected:
        return [Finding(code=f"{kind}_mismatch", severity="error",
                        message=f"{stated}, {kind} printed {printed}: less, and {_unpriced(unknown)} not counted")]
    return [Finding(code=f"{kind}_gap", severity="warning",
                    message=f"{stated}, {kind} printed {printed}: {printed - expected} not explained; "
                            f"{_unpriced(unknown)} may account for it, or a line was not read")]


def _inside_subtotal(po: PurchaseOrder, summed: _Sum | None, tol: Decimal) -> Decimal:
    """What the charges (and freight) printed above the subtotal add to it: some POs sum the charge rows of their
    item table into the subtotal ("Fuel surcharge" or "Shipping", then "Subtotal"), others add them after it, and
    one may do both (a table's "Shipping" row inside, the totals area's "Freight" above the subtotal after it); the
    printed numbers say which. Without a subtotal, or when they do not say, nothing (they are added after it)."""
    above = [c.amount for c in po.other_charges if c.above_subtotal]
    if po.freight_above_subtotal and po.freight is not None:
        above.append(po.freight)
    if not any(above) or po.subtotal is None:
        return Decimal(0)
    if summed is not None and not summed.unknown:
        if _close(summed.total, po.subtotal, tol):
            return Decimal(0)
        return _making(above, po.subtotal - summed.total, tol)
    if po.total is None:  # lines without an amount: only the total can tell
        return Decimal(0)
    extra = (po.freight or 0) + (po.tax or 0) + sum((c.amount for c in po.other_charges), Decimal(0))
    return _making(above, po.subtotal + extra - po.total, CENT)


def _making(amounts: list[Decimal], target: Decimal, tol: Decimal) -> Decimal:
    """The sum of those of the amounts that make up target, all of them tried first, then fewer; 0 if none do."""
    sizes = range(len(amounts), 0, -1) if len(amounts) <= 10 else [len(amounts)]  # 10: at most 1,023 sums
    for n in sizes:
        for some in combinations(amounts, n):
            if _close(summed := sum(some, Decimal(0)), target, tol):
                return summed
    return Decimal(0)


def _check_totals(po: PurchaseOrder) -> list[Finding]:
    out: list[Finding] = []
    summed = _lines_sum(po)
    # A few cents of drift per line is rounding; more means a missed or misread line. An amount we
    # computed may round differently from the customer's by half a cent.
    tol = CENT * max(1, len(po.lines) // 10) + CENT / 2 * (summed.computed if summed else 0)
    inside = _inside_subtotal(po, summed, tol)
    if po.subtotal is not None and summed is not None:
        how = f" ({summed.computed} as quantity x unit price)" if summed.computed else ""
        which = "lines with a price" if summed.unknown else "lines"
        plus = f" + charges above it = {summed.total + inside}" if inside else ""
        out += _compare("subtotal", f"{which} sum to {summed.total}{how}{plus}", summed.total + inside, po.subtotal,
                        tol, summed.unknown)
    if po.total is not None:
        extra = (po.freight or 0) + (po.tax or 0) + sum((c.amount for c in po.other_charges), Decimal(0)) - inside
        if po.subtotal is not None:
            out += _compare("total", f"subtotal + freight + charges + tax = {po.subtotal + extra}",
                            po.subtotal + extra, po.total, CENT, [])
        elif summed is not None:
            base = "subtotal" if not summed.unknown else "lines with a price"
            out += _compare("total", f"{base} + freight + charges + tax = {summed.total + extra}",
                            summed.total + extra, po.total, CENT, summed.unknown)
    return out


def totals_add_up(po: PurchaseOrder) -> bool:
    """The order's subtotal and total agree with its lines, charges, freight and tax (or are not printed)."""
    return not _check_totals(po)


def _check_dates(po: PurchaseOrder, today: date, received: date | None) -> list[Finding]:
    out: list[Finding] = []
    if po.po_date is not None:
        if po.po_date > today + timedelta(days=31):
            out.append(Finding(code="po_date_future", severity="warning",
                               message=f"PO date {po.po_date} is more than a month in the future"))
        elif po.po_date < today - timedelta(days=730):
            out.append(Finding(code="po_date_past", severity="warning",
                               message=f"PO date {po.po_date} is more than two years old"))
    if po.requested_ship_date is not None and po.po_date is not None and po.requested_ship_date < po.po_date:
        out.append(Finding(code="ship_before_po_date", severity="warning",
                           message=f"requested ship date {po.requested_ship_date} is before PO date {po.po_date}"))
    # An old PO sent again (or a misread date) would otherwise be booked to ship on a day already gone: a warning,
    # not a refusal, as the customer may still want the goods; a person asks for a new date.
    if po.requested_ship_date is not None and received is not None and po.requested_ship_date < received:
        out.append(Finding(code="ship_date_past", severity="warning",
                           message=f"requested ship date {po.requested_ship_date} had passed when the order was "
                                   f"received ({received}): ask the customer for a new date"))
    return out


def validate_order(po: PurchaseOrder, *, today: date | None = None) -> list[Finding]:
    """Check a parsed order's arithmetic, dates and completeness; never raises.

    `today`: the day the order was received (the intake reads an email as it arrives and passes its day); dates
    are judged against it. Without it the PO date is judged against the clock, but a ship date is not: one that
    passed since the order arrived (a test fixture, a re-read) is no news."""
    out: list[Finding] = []
    if not po.lines:
        out.append(Finding(code="no_lines", severity="error", message="no item lines found"))
    if po.po_number is None:
        out.append(Finding(code="missing_po_number", severity="warning", message="no PO number found"))
    out += _check_lines(po)
    out += _check_totals(po)
    out += _check_dates(po, today or date.today(), today)
    return out
