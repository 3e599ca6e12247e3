"""Pydantic models for a parsed purchase order, plus pure validation of its arithmetic and dates."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer
from pydantic.json_schema import SkipJsonSchema

# JSON consumers (review UI, pipeline) expect numbers, not strings; Decimal stays exact in Python.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
CENT = Decimal("0.01")
# Findings that say a line was not read as printed: each such line lowers the confidence in the lines.
LINE_PROBLEMS = frozenset({"line_amount_mismatch", "unreadable_cell", "missing_quantity"})


class Finding(BaseModel):
    """One validation result attached to a parsed order."""

    code: str
    severity: Literal["info", "warning", "error"]
    message: str
    line_no: int | None = None


class Charge(BaseModel):
    """A non-item charge: surcharges positive, discounts negative."""

    description: str
    amount: Money


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
    confidence: dict[str, float] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)


def _close(a: Decimal, b: Decimal, tol: Decimal = CENT) -> bool:
    return abs(a - b) <= tol


_ROLE_NAMES = {"qty": "quantity", "unit_price": "unit price", "amount": "amount"}


def _check_cells(ln: POLine) -> list[Finding]:
    out = [Finding(code="unreadable_cell", severity="warning", line_no=ln.line_no,
                   message=f"line {ln.line_no}: {_ROLE_NAMES.get(role, role)} {text!r} could not be read as a number")
           for role, text in ln.unread.items()]
    if ln.quantity is None and "qty" not in ln.unread and (ln.amount is not None or ln.unit_price is not None):
        out.append(Finding(code="missing_quantity", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: a price or amount but no quantity"))
    if ln.quantity is not None and ln.quantity <= 0:
        out.append(Finding(code="nonpositive_quantity", severity="warning", line_no=ln.line_no,
                           message=f"line {ln.line_no}: quantity {ln.quantity} is not positive"))
    return out


def _check_lines(po: PurchaseOrder) -> list[Finding]:
    out: list[Finding] = []
    for ln in po.lines:
        out += _check_cells(ln)
        if ln.quantity is None or ln.unit_price is None or ln.amount is None:
            continue
        expected = (ln.quantity * ln.unit_price).quantize(CENT)
        # Unit prices with 3-4 decimals round per line; allow a cent plus half a cent per unit rounding.
        if not _close(expected, ln.amount, CENT + CENT):
            out.append(Finding(code="line_amount_mismatch", severity="warning", line_no=ln.line_no,
                               message=f"line {ln.line_no}: {ln.quantity} x {ln.unit_price} = {expected}, "
                                       f"printed amount {ln.amount}"))
    return out


def _lines_sum(po: PurchaseOrder) -> tuple[Decimal, int] | None:
    """The lines' amounts summed, quantity x unit price standing in for an amount not read; None if one is unknown."""
    total, computed = Decimal(0), 0
    for ln in po.lines:
        if ln.amount is not None:
            total += ln.amount
        elif ln.quantity is not None and ln.unit_price is not None:
            # Without this, one unread amount would switch the check off and hide a missed line.
            total, computed = total + (ln.quantity * ln.unit_price).quantize(CENT), computed + 1
        else:
            return None
    return (total, computed) if po.lines else None


def _check_totals(po: PurchaseOrder) -> list[Finding]:
    out: list[Finding] = []
    summed = _lines_sum(po)
    if po.subtotal is not None and summed is not None:
        lines_sum, computed = summed
        # A few cents of drift per line is rounding; more means a missed or misread line. An amount we
        # computed may round differently from the customer's by half a cent.
        if not _close(lines_sum, po.subtotal, CENT * max(1, len(po.lines) // 10) + CENT / 2 * computed):
            how = f" ({computed} as quantity x unit price)" if computed else ""
            out.append(Finding(code="subtotal_mismatch", severity="error",
                               message=f"lines sum to {lines_sum}{how}, subtotal printed {po.subtotal}"))
    if po.total is not None:
        base = po.subtotal
        if base is None and summed is not None:
            base = summed[0]
        if base is not None:
            expected = base + (po.freight or 0) + (po.tax or 0) + sum((c.amount for c in po.other_charges), Decimal(0))
            if not _close(expected, po.total):
                out.append(Finding(code="total_mismatch", severity="error",
                                   message=f"subtotal + freight + charges + tax = {expected}, total printed {po.total}"))
    return out


def _check_dates(po: PurchaseOrder, today: date) -> list[Finding]:
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
    return out


def validate_order(po: PurchaseOrder, *, today: date | None = None) -> list[Finding]:
    """Check a parsed order's arithmetic, dates and completeness; never raises."""
    out: list[Finding] = []
    if not po.lines:
        out.append(Finding(code="no_lines", severity="error", message="no item lines found"))
    if po.po_number is None:
        out.append(Finding(code="missing_po_number", severity="warning", message="no PO number found"))
    out += _check_lines(po)
    out += _check_totals(po)
    out += _check_dates(po, today or date.today())
    return out
