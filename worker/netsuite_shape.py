"""A reviewed purchase order, and its NetSuite REST `salesorder` payload (pure).

Also the currency rule every sales order's price check shares (foreign_price_note): the price list has no
currency (it is in US dollars) and no exchange rate is mirrored, so a rate in another currency compares with
nothing on it.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from worker.currency import BASE_CURRENCY_IDS, is_base_currency, is_currency_id
from worker.pricing import currency_name

CENT = Decimal("0.01")
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # the dates an order of ours can carry


class ReviewedLine(BaseModel):
    """One order line as the reviewer left it (item resolved to our internal id)."""

    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1)
    item_id: str = Field(min_length=1, max_length=64)
    customer_item_code: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=500)
    quantity: Decimal = Field(gt=0, le=1_000_000, max_digits=14, decimal_places=4)
    uom: str | None = Field(None, max_length=16)
    unit_price: Decimal = Field(ge=0, le=1_000_000, max_digits=14, decimal_places=4)

    @property
    def amount(self) -> Decimal:
        """quantity x unit price, rounded half-up to cents."""
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)


class ReviewedOrder(BaseModel):
    """The order a reviewer approves: customer, header fields and corrected lines."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=32)
    po_number: str | None = Field(None, max_length=64)
    tran_date: date = Field(ge=EARLIEST, le=LATEST)  # a typo like 0001-01-01 is not an order date
    ship_date: date | None = Field(None, ge=EARLIEST, le=LATEST)
    memo: str | None = Field(None, max_length=1000)
    lines: list[ReviewedLine] = Field(min_length=1, max_length=500)

    @field_validator("lines")
    @classmethod
    def _unique_line_numbers(cls, lines: list[ReviewedLine]) -> list[ReviewedLine]:
        seen = [ln.line_no for ln in lines]
        if len(seen) != len(set(seen)):
            raise ValueError("line numbers repeat")
        return lines

    @field_validator("ship_date")
    @classmethod
    def _ships_after_the_order(cls, ship_date: date | None, info: ValidationInfo) -> date | None:
        ordered = info.data.get("tran_date")
        if ship_date is not None and ordered is not None and ship_date < ordered:
            raise ValueError(f"{ship_date.isoformat()} is before the order date {ordered.isoformat()}")
        return ship_date

    @property
    def total(self) -> Decimal:
        """Sum of the line amounts."""
        return sum((ln.amount for ln in self.lines), Decimal(0))


def _num(value: Decimal) -> float | int:
    # NetSuite REST takes JSON numbers; whole quantities read better as integers.
    return int(value) if value == value.to_integral_value() else float(value)


def foreign_price_note(currency: str | None) -> str | None:
    """Why an order's rates have no comparable price on file, or None when they are in US dollars (or no
    currency is named, as the price list's own). A person checks such rates, never "within program"."""
    if is_base_currency(currency):
        return None
    return f"the order is in {currency_name(currency)}; prices on file are in US dollars"


def currency_ref(currency: str | None) -> dict[str, str] | None:
    """The PO's currency as a NetSuite REST reference; None when the PO names none (NetSuite then books the
    order in the customer's currency)."""
    text = " ".join((currency or "").split())
    if not text:
        return None
    if is_base_currency(text):
        return {"id": min(BASE_CURRENCY_IDS)}  # US dollars: the base currency record's internal id
    if is_currency_id(text):
        return {"id": text}
    # Only the PO's code ("EUR") is known: no currency records are mirrored, so no internal id. NetSuite REST
    # references carry the record's name as refName ({"id": "1", "refName": "USD"}); named so, a currency the
    # account does not know is refused with the post, never booked as the customer's currency unseen.
    return {"refName": text}


def salesorder_payload(order: ReviewedOrder, *, external_id: str, currency: str | None = None) -> dict[str, Any]:
    """The NetSuite REST record for POST /record/v1/salesOrder; externalId makes the post idempotent.

    `currency` is the PO's: without it NetSuite books the order in the customer's currency, whatever the
    PO's prices are in.
    """
    body: dict[str, Any] = {
        "externalId": external_id,
        "entity": {"id": order.customer_id},
        "tranDate": order.tran_date.isoformat(),
        "item": {"items": [_line(ln) for ln in order.lines]},
    }
    if ref := currency_ref(currency):
        body["currency"] = ref
    if order.po_number:
        body["otherRefNum"] = order.po_number
    if order.ship_date:
        body["shipDate"] = order.ship_date.isoformat()
    if order.memo:
        body["memo"] = order.memo
    return body


def _line(line: ReviewedLine) -> dict[str, Any]:
    item: dict[str, Any] = {
        "item": {"id": line.item_id},
        "quantity": _num(line.quantity),
        "rate": _num(line.unit_price),
        "amount": float(line.amount),
    }
    if line.description:
        item["description"] = line.description
    if line.uom:
        item["units"] = line.uom
    return item
