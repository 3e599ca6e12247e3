"""A reviewed purchase order, and its NetSuite REST `salesorder` payload (pure).

Also the currency rule every sales order's price check shares (foreign_price_note): the price list has no
currency (it is in US dollars) and no exchange rate is mirrored, so a rate in another currency compares with
nothing on it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from worker.currency import BASE_CURRENCY_IDS, is_base_currency, is_currency_id
from worker.po.address import Address, read_address
from worker.pricing import cents, currency_name

MAX_MEMO = 1000  # characters of the sales order's memo, the reviewer's and the note of charges left off together
LEFT_OFF = "PO charges left off: "
MEMO_JOIN = " — "  # between the reviewer's memo and that note
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
        return cents(self.quantity * self.unit_price)


def money_text(amount: Decimal) -> str:
    """An amount as a memo or message names it: 2 decimals, thousands separated, an ASCII minus (pure)."""
    return f"{amount:,.2f}"


class ChargeLeftOff(BaseModel):
    """A PO charge (freight, a surcharge; a discount is negative) as the reviewer left it."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=500)
    amount: Decimal = Field(ge=-1_000_000, le=1_000_000, max_digits=9, decimal_places=2)

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, amount: Decimal) -> Decimal:
        if amount == 0:
            raise ValueError("must not be zero")
        return amount

    @property
    def text(self) -> str:
        """The charge as the memo and the messages name it ("Volume discount 2% -49.24")."""
        return f"{self.description} {money_text(self.amount)}"


class OrderCharge(ChargeLeftOff):
    """A PO charge carried onto the sales order as an item line of the distributor's discount or other-charge
    item (item_id), after the product lines."""

    item_id: str = Field(min_length=1, max_length=64)


class ReviewedOrder(BaseModel):
    """The order a reviewer approves: customer, header fields, corrected lines, and the PO's charges: carried
    (`charges`) or left off (`charges_left_off`, named in the sales order's memo)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=32)
    po_number: str | None = Field(None, max_length=64)
    tran_date: date = Field(ge=EARLIEST, le=LATEST)  # a typo like 0001-01-01 is not an order date
    ship_date: date | None = Field(None, ge=EARLIEST, le=LATEST)
    memo: str | None = Field(None, max_length=MAX_MEMO)
    lines: list[ReviewedLine] = Field(min_length=1, max_length=500)
    charges: list[OrderCharge] = Field(default_factory=list, max_length=50)
    charges_left_off: list[ChargeLeftOff] = Field(default_factory=list, max_length=50)
    # The currency the reviewer books the order in, as the form names it ("CAD", "USD", an internal id "3"); None:
    # none is sent and NetSuite books the customer's. Left unset (not in model_fields_set): the PO's as parsed.
    currency: str | None = Field(None, max_length=64)
    # The ship-to as the reviewer left it, a printed line each (blank ones dropped); empty: none is sent and NetSuite
    # ships to the customer's default shipping address. Bounded here; read_address refuses more than MAX_LINES.
    ship_to: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("ship_to")
    @classmethod
    def _ship_to_reads(cls, lines: list[str]) -> list[str]:
        # Refused naming what is missing, never sent half-read: NetSuite would ship to what it could make of it.
        lines = [text for line in lines if (text := " ".join(line.split()))]
        if lines and (problem := read_address(lines).problem):
            raise ValueError(problem)
        return lines

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

    @model_validator(mode="after")
    def _memo_fits(self) -> ReviewedOrder:
        if len(self.sales_order_memo or "") <= MAX_MEMO:
            return self
        note = self.left_off_note or ""
        room = MAX_MEMO - len(note) - len(MEMO_JOIN)
        if room < 1:
            raise ValueError(f"memo: the charges left off take {len(note):,} characters to name, more than the "
                             f"sales order's memo holds ({MAX_MEMO:,}): carry some of them or shorten their "
                             "descriptions")
        raise ValueError(f"memo: the sales order's memo also names the charges left off ({len(note):,} characters): "
                         f"shorten your memo to at most {room:,} characters (it has {len(self.memo or ''):,})")

    @property
    def left_off_note(self) -> str | None:
        """The memo's note of the charges left off ("PO charges left off: Freight 25.00; Volume discount 2% -49.24"),
        None when none is."""
        return LEFT_OFF + "; ".join(c.text for c in self.charges_left_off) if self.charges_left_off else None

    @property
    def sales_order_memo(self) -> str | None:
        """The reviewer's memo, then the note of the charges left off: what the sales order was not charged."""
        return MEMO_JOIN.join(filter(None, (self.memo, self.left_off_note))) or None

    @property
    def shipping_address(self) -> Address | None:
        """The ship-to as NetSuite's address (read_address), None when the reviewer left none."""
        return read_address(self.ship_to).address if self.ship_to else None

    @property
    def total(self) -> Decimal:
        """Sum of the line amounts and the carried charges (discounts negative): what NetSuite totals before tax."""
        return sum((ln.amount for ln in self.lines), Decimal(0)) + sum((c.amount for c in self.charges), Decimal(0))


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

    `currency` is the order's (the reviewer's choice, else the PO's): without it NetSuite books the order in the
    customer's currency, whatever the PO's prices are in. Without a ship-to (shippingAddress) NetSuite ships to the
    customer's default shipping address, whatever the PO says.
    """
    body: dict[str, Any] = {
        "externalId": external_id,
        "entity": {"id": order.customer_id},
        "tranDate": order.tran_date.isoformat(),
        "item": {"items": [*map(_line, order.lines), *map(_charge, order.charges)]},
    }
    if ref := currency_ref(currency):
        body["currency"] = ref
    if order.po_number:
        body["otherRefNum"] = order.po_number
    if order.ship_date:
        body["shipDate"] = order.ship_date.isoformat()
    if memo := order.sales_order_memo:
        body["memo"] = memo
    if address := order.shipping_address:
        body["shippingAddress"] = address.subrecord()
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


def _charge(charge: OrderCharge) -> dict[str, Any]:
    # The amount is the rate. An other-charge item (freight, a surcharge) takes a quantity; a discount item does not.
    line: dict[str, Any] = {"item": {"id": charge.item_id}, "rate": float(charge.amount), "amount": float(charge.amount),
                            "description": charge.description}
    if charge.amount > 0:
        line["quantity"] = 1
    return line
