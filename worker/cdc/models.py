"""Pydantic models of a CDC event and of each mirrored NetSuite record type.

Field names are NetSuite REST's (`amountRemaining`, `tranDate`, `entity: {"id", "refName"}`); the
lower-case SuiteQL spellings (`amountremaining`, `trandate`) are accepted too. Only mapped fields are
declared: everything else stays in `raw_json`, which is the record dict exactly as received.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasPath,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

RecordType = Literal["customer", "contact", "salesorder", "itemfulfillment", "invoice", "customerpayment", "creditmemo"]
RECORD_TYPES: tuple[str, ...] = RecordType.__args__  # type: ignore[attr-defined]
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# dateCreated as the contact churn signal reads it (cron/health.py CONTACTS), kept as sent: an ISO date (a company
# date) or an ISO time that SQLite's julianday reads (Z, +HH:MM, or no offset: UTC).
_ISO_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?")
_BARE_OFFSET = re.compile(r"(?<=\d:\d{2})((?:\.\d+)?[+-]\d{2})(\d{2})$")  # ...T10:15:00-0800, ...T10:15-0800
# SuiteQL's M/D/YYYY, perhaps with the time of day it prints in the account's zone ("3/8/2026 10:15 am").
_US_CREATED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?)?",
                         re.IGNORECASE)
# NetSuite's shipStatus codes (SuiteQL gives the code, REST the object); stored as one spelling.
SHIP_STATUS = {"a": "picked", "b": "packed", "c": "shipped"}
# NetSuite's sales-order status letters (SuiteQL and some REST reads give "A" or "SalesOrd:A", refName-shaped
# events the name): stored by name, so the customer 360 shows what NetSuite's own pages do.
ORDER_STATUS = {"a": "Pending Approval", "b": "Pending Fulfillment", "c": "Cancelled", "d": "Partially Fulfilled",
                "e": "Pending Billing/Partially Fulfilled", "f": "Pending Billing", "g": "Billed", "h": "Closed"}
# SQL: the sales-order status `{status}` is cancelled, so no order (stored as Cancelled; rows mirrored before
# the letters were named may hold C or SalesOrd:C). Use: ORDER_CANCELLED.format(status="o.status").
ORDER_CANCELLED = "lower(replace(coalesce({status}, ''), ':', '')) IN ('cancelled', 'canceled', 'c', 'salesordc')"


def order_status(status: str | None) -> str | None:
    """A sales order's status by name: its letter named, any other text as sent."""
    if status is None:
        return None
    letter = status.strip().lower().removeprefix("salesord:")
    return ORDER_STATUS.get(letter, status)
MAX_LINE = 2**31 - 1  # a line number: far beyond any order's lines, and within SQLite's INTEGER
# A transaction's amount (and the bound of every other number of a record but its exchange rate): a thousand
# times any real one, yet so far below a float's limit that no sum of them, nor a product of two (quantity times
# rate) or one times an exchange rate (worker.currency.MAX_RATE), can overflow to infinity, which JSON cannot hold.
MAX_AMOUNT = 1e15


def _as_ref(value: Any) -> Any:
    # A bare id ("42" or 42) means the same as {"id": "42"} (SuiteQL exports and create requests).
    if isinstance(value, str | int) and not isinstance(value, bool):
        return {"id": str(value)}
    return value


def _as_label(value: Any) -> Any:
    # Select fields arrive as {"id": "A", "refName": "Open"} (REST) or as plain text (SuiteQL).
    if isinstance(value, dict):
        return value.get("refName") or value.get("refname") or value.get("id")
    return value


def _as_date(value: Any) -> Any:
    # SuiteQL exports may use the account's M/D/YYYY date format; REST uses ISO.
    if isinstance(value, str) and (m := _US_DATE.match(value.strip())):
        return date(int(m[3]), int(m[1]), int(m[2]))
    return value or None


def _as_created(value: str | None) -> str | None:
    # A dateCreated: ISO as sent; SuiteQL's M/D/YYYY as its ISO date, also when it has a time: SuiteQL prints the
    # account's local time, and the churn window runs between local midnights, so the printed date is the day.
    # Anything else is refused by name: stored, it read as no date, and the contact counted as there forever.
    text = (value or "").strip()
    if not text:
        return None
    text = _BARE_OFFSET.sub(r"\1:\2", text)  # "-0800", accepted in last_modified too, as SQLite reads it: "-08:00"
    us = _US_CREATED.fullmatch(text)
    try:
        if us is None and _ISO_CREATED.fullmatch(text):
            datetime.fromisoformat(text)  # a real calendar time (month 13, Feb 30, 24:00 are refused)
            return text
        if us is not None and (not us[7] or 1 <= int(us[4]) <= 12):  # 0:30 pm is no time
            hour = int(us[4] or 0)
            time(hour % 12 if us[7] else hour, int(us[5] or 0), int(us[6] or 0))
            return date(int(us[3]), int(us[1]), int(us[2])).isoformat()
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a date: expected YYYY-MM-DD, an ISO 8601 time, or M/D/YYYY with or without "
                     "a time of day")


def created_as_stored(value: Any) -> Any:
    """A stored dateCreated as the CDC now stores it (migration 16): M/D/YYYY as its ISO date, others unchanged."""
    try:
        return _as_created(value) if isinstance(value, str) else value
    except ValueError:
        return value  # unreadable: kept for a person to see; a migration refuses nothing


def _within(what: str) -> Callable[[float | None], float | None]:
    """A check that a number is at most MAX_AMOUNT either way; `what` names it in the refusal ("a rate")."""

    def check(value: float | None) -> float | None:
        # NaN fails the comparison too ("nan", "Infinity" and "1e400" as strings parse as floats).
        if value is not None and not -MAX_AMOUNT <= value <= MAX_AMOUNT:
            raise ValueError(f"is {value:g}, out of range for {what} (at most {MAX_AMOUNT:g} either way)")
        return value

    return check


def _json_number(value: Any) -> Any:
    # pydantic's lax numbers read true/false as 1/0 and, like Python's float(), "1_000" as 1000: amountRemaining
    # false stored 0 (the invoice read as paid), exchangeRate true 1 (euros counted as dollars). Neither is a number
    # NetSuite sends, so both are refused by name. The fast gate (fast_lines.py) is strict and takes neither.
    if isinstance(value, bool):  # a ValueError, not a TypeError: pydantic words only the former as a refusal
        raise ValueError(f"is {'true' if value else 'false'}, not a number")  # noqa: TRY004
    if isinstance(value, str) and "_" in value:
        raise ValueError(f"is {value!r}, not a number (no underscores)")
    return value


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"is {value:g}, not a finite number")
    return value


def _as_list(value: Any) -> Any:
    # A sublist is {"items": [...]} in REST, or only {"links": [...]} when not expanded: then it is not given.
    if isinstance(value, dict):
        return value.get("items")
    return value


def names(*spellings: str) -> AliasChoices:
    """The accepted spellings of one field: as given plus each one in lower case."""
    choices: list[str] = []
    for spelling in spellings:
        for variant in (spelling, spelling.lower()):
            if variant not in choices:
                choices.append(variant)
    return AliasChoices(*choices)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_items_not_given(cls, data: Any) -> Any:
        # {"items": null} under a sublist's parent says no more than {"links": [...]} or a null parent: the
        # sublist was not given (its rows stay), rather than a record refused for a null list.
        parents = _items_parents(cls)
        if not parents or not isinstance(data, dict):
            return data
        for parent in parents:
            node = data.get(parent)
            if isinstance(node, dict) and "items" in node and node["items"] is None:
                data = {**data, parent: {key: value for key, value in node.items() if key != "items"}}
        return data


@functools.cache
def _items_parents(model: type[BaseModel]) -> tuple[str, ...]:
    """The parents of the model's sublists read only as `<parent>.items` (every spelling sublist() made)."""
    parents: list[str] = []
    for info in model.model_fields.values():
        choices = info.validation_alias.choices if isinstance(info.validation_alias, AliasChoices) else []
        paths = [choice.path for choice in choices if isinstance(choice, AliasPath)]
        if paths and len(paths) == len(choices) and all(len(p) == 2 and p[1] == "items" for p in paths):
            parents += [str(p[0]) for p in paths if p[0] not in parents]
    return tuple(parents)


class Ref(_Model):
    """A NetSuite reference: {"id": "...", "refName": "..."}."""

    id: str | None = None
    refName: str | None = Field(None, validation_alias=names("refName"))


def _in_utc(value: datetime) -> datetime:
    # 0001-01-01T00:00+01:00 is a valid datetime whose UTC instant is not: refused by name, not a 500.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


RefField = Annotated[Ref | None, BeforeValidator(_as_ref)]
Flag = Annotated[bool, BeforeValidator(lambda value: False if value is None else value)]  # null: not flagged
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
Label = Annotated[str | None, BeforeValidator(_as_label)]
CalDate = Annotated[date | None, BeforeValidator(_as_date)]
Created = Annotated[str | None, AfterValidator(_as_created)]  # customers' and contacts' dateCreated
# Every number of a record is bounded, so none stored can be infinite or NaN (which JSON cannot hold) or add up
# to infinity; the fast gate (fast_lines.py) applies the same bounds.
# No true or false is a number, nor a string with underscores (_json_number).
Amount = Annotated[float | None, BeforeValidator(_json_number), AfterValidator(_within("an amount"))]
Quantity = Annotated[float | None, BeforeValidator(_json_number), AfterValidator(_within("a quantity"))]
Rate = Annotated[float | None, BeforeValidator(_json_number), AfterValidator(_within("a rate"))]  # a unit price
Weight = Annotated[float | None, BeforeValidator(_json_number), AfterValidator(_within("a weight"))]
# Finite only: worker.currency.base_rate decides which rates are usable (0 < rate <= MAX_RATE) and keeps an
# absurd one as no rate, so the invoice still mirrors and is reported as unconverted rather than refused.
ExchangeRate = Annotated[float | None, BeforeValidator(_json_number), AfterValidator(_finite)]

_FLAG = TypeAdapter(Flag)


def _closed(value: Any) -> bool:
    """A line's closed flag as a Flag reads it (true/false, 'T'/'F', null: open); a value no Flag reads is open, not
    a reason to refuse the record: the flag only keeps a line out of the price review and the order history."""
    try:
        return _FLAG.validate_python(value)
    except ValueError:  # ValidationError is a ValueError
        return False


LineClosed = Annotated[bool, BeforeValidator(_closed)]


def line_closed(raw_json: str | None) -> int:
    """1 when a stored line's record (raw_json) says the line is closed as ItemLine.is_closed reads it, else 0
    (migration 18): the first spelling present wins."""
    try:
        line = json.loads(raw_json) if raw_json else None
    except (ValueError, RecursionError):  # not JSON, or nested too deep for the parser
        return 0
    spelling = next((s for s in ("isClosed", "isclosed") if isinstance(line, dict) and s in line), None)
    return int(spelling is not None and _closed(line[spelling]))


def sublist(*paths: tuple[str, ...], optional: bool = False) -> Any:
    """A Field reading a sublist from the first of several nested spellings (e.g. item.items).

    optional: the field is None when no spelling is present (the sublist was not given), not an empty list.
    """
    choices: list[str | AliasPath] = []
    for path in paths:
        for variant in (path, tuple(p.lower() for p in path)):
            alias: str | AliasPath = AliasPath(*variant) if len(variant) > 1 else variant[0]
            if alias not in choices:
                choices.append(alias)
    if optional:
        return Field(None, validation_alias=AliasChoices(*choices))
    return Field(default_factory=list, validation_alias=AliasChoices(*choices))


LineNumber = Annotated[int, BeforeValidator(_json_number), Field(ge=0, le=MAX_LINE)]


class ItemLine(_Model):
    """One line of item.items[] (sales order, invoice, fulfillment)."""

    line: LineNumber | None = None
    item: RefField = None
    description: str | None = None
    quantity: Quantity = None
    units: Label = None
    rate: Rate = None
    amount: Amount = None
    order_line: LineNumber | None = Field(None, validation_alias=names("orderLine"))
    # A sales order line NetSuite closed (it closes lines rather than deleting them): no longer ordered, so no
    # reader of the order's lines counts or prices it. SuiteQL spells it isclosed with 'T'/'F'; absent is open.
    is_closed: LineClosed = Field(False, validation_alias=names("isClosed"))


class ApplyLine(_Model):
    """One line of apply.items[]: a document a payment or credit memo may be applied to."""

    line: Annotated[int | None, BeforeValidator(_json_number)] = None
    apply: bool = False
    doc: RefField = None
    amount: Amount = None
    type: Label = None
    # The date of the document applied to (the Apply subtab's Date column), not when it was paid.
    apply_date: CalDate = Field(None, validation_alias=names("applyDate"))
    # The early-payment discount taken: it lowers the invoice's remainder beside `amount` (discAmt is only the
    # discount available). One spelling: SuiteQL's lower case is the same.
    disc: Amount = None


class Package(_Model):
    """One package of a fulfillment's package list (or of a carrier's: packageUps, packageFedex, packageUsps)."""

    tracking_number: str | None = Field(None, validation_alias=names(
        "packageTrackingNumber", "trackingNumber", "packageTrackingNumberUps", "packageTrackingNumberFedEx",
        "packageTrackingNumberUsps"))
    weight: Weight = Field(None, validation_alias=names("packageWeight", "weight", "packageWeightUps",
                                                        "packageWeightFedEx", "packageWeightUsps"))
    description: str | None = Field(None, validation_alias=names("packageDescr", "description", "packageDescrUps",
                                                                  "packageDescrUsps", "reference1FedEx"))
    carrier: Label = None


def _unique_lines(lines: list[Any], where: str) -> None:
    seen: dict[int, int] = {}  # line number -> position (1-based) that holds it
    for position, line in enumerate(lines, start=1):
        number = line.line if line.line is not None else position
        if number in seen:
            unnumbered = [p for p in (seen[number], position) if lines[p - 1].line is None]
            why = f" (position {unnumbered[0]} has no line number, so it takes its position)" if unnumbered else ""
            raise ValueError(f"{where}: line {number} appears twice, at positions {seen[number]} and {position}{why}")
        seen[number] = position


class CustomerRecord(_Model):
    """customer → customers."""

    entity_id: str | None = Field(None, validation_alias=names("entityId"))
    company_name: str | None = Field(None, validation_alias=names("companyName"))
    email: str | None = None
    phone: str | None = None
    terms: Label = None
    credit_limit: Amount = Field(None, validation_alias=names("creditLimit"))
    is_inactive: Flag = Field(False, validation_alias=names("isInactive"))
    date_created: Created = Field(None, validation_alias=names("dateCreated"))


class ContactRecord(_Model):
    """contact → customer_contacts (linked to its company)."""

    company: RefField = None
    entity_id: str | None = Field(None, validation_alias=names("entityId"))
    first_name: str | None = Field(None, validation_alias=names("firstName"))
    last_name: str | None = Field(None, validation_alias=names("lastName"))
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    is_inactive: Flag = Field(False, validation_alias=names("isInactive"))
    date_created: Created = Field(None, validation_alias=names("dateCreated"))


class _Transaction(_Model):
    tran_id: str | None = Field(None, validation_alias=names("tranId"))
    tran_date: CalDate = Field(None, validation_alias=names("tranDate"))
    entity: RefField = None
    status: Label = None
    currency: Label = None
    total: Amount = None
    memo: str | None = None


class _WithLines(_Transaction):
    lines: list[ItemLine] = sublist(("item", "items"))

    @model_validator(mode="after")
    def _lines_unique(self) -> _WithLines:
        _unique_lines(self.lines, "item.items")
        return self

    @property
    def lines_given(self) -> bool:
        """False when the record came without item.items (REST leaves a sublist out unless expanded)."""
        return "lines" in self.model_fields_set


class SalesOrderRecord(_WithLines):
    """salesorder → transactions + transaction_lines."""

    ship_date: CalDate = Field(None, validation_alias=names("shipDate"))
    other_ref_num: str | None = Field(None, validation_alias=names("otherRefNum"))


class InvoiceRecord(_WithLines):
    """invoice → customer_invoice + customer_invoice_lines."""

    created_from: RefField = Field(None, validation_alias=names("createdFrom"))
    due_date: CalDate = Field(None, validation_alias=names("dueDate"))
    terms: Label = None
    amount_remaining: Amount = Field(None, validation_alias=names("amountRemaining"))
    amount_paid: Amount = Field(None, validation_alias=names("amountPaid"))  # derives a missing remainder
    other_ref_num: str | None = Field(None, validation_alias=names("otherRefNum"))
    exchange_rate: ExchangeRate = Field(None, validation_alias=names("exchangeRate"))  # to the base currency


class FulfillmentRecord(_WithLines):
    """itemfulfillment → item_fulfillment + lines + shipments (+ shipping_events on status changes)."""

    created_from: RefField = Field(None, validation_alias=names("createdFrom"))
    ship_status: Label = Field(None, validation_alias=names("shipStatus"))
    carrier: Label = Field(None, validation_alias=names("shipCarrier", "carrier"))
    package_items: Annotated[list[Package] | None, BeforeValidator(_as_list)] = sublist(
        ("packageList", "packages"), ("packageList", "package"), ("packageList", "items"), ("package", "items"),
        ("package",), optional=True)
    # With a carrier integration NetSuite keeps the packages in that carrier's own sublist.
    ups_packages: list[Package] = sublist(("packageUps", "items"))
    fedex_packages: list[Package] = sublist(("packageFedex", "items"), ("packageFedEx", "items"))
    usps_packages: list[Package] = sublist(("packageUsps", "items"))

    @property
    def packages(self) -> list[Package]:
        """The package list's packages (none when it was not given)."""
        return self.package_items or []

    @property
    def packages_given(self) -> bool:
        """True when some package sublist came with its items."""
        return self.package_items is not None or bool(self.carriers_given)

    @property
    def carriers_given(self) -> frozenset[str]:
        """The carrier sublists (ups_packages, fedex_packages, usps_packages) that came with their items."""
        return frozenset(self.model_fields_set & {"ups_packages", "fedex_packages", "usps_packages"})

    @property
    def carrier_packages(self) -> list[tuple[str, Package]]:
        """The packages of the carrier sublists, with the carrier each implies."""
        return ([("UPS", p) for p in self.ups_packages] + [("FedEx", p) for p in self.fedex_packages]
                + [("USPS", p) for p in self.usps_packages])

    @property
    def status_word(self) -> str | None:
        """shipStatus in one spelling: picked / packed / shipped (unknown values as given)."""
        if self.ship_status is None:
            return None
        return SHIP_STATUS.get(self.ship_status.strip().lower(), self.ship_status.strip().lower())


class _WithApply(_Transaction):
    applications: list[ApplyLine] = sublist(("apply", "items"))

    @property
    def applied(self) -> list[ApplyLine]:
        """Only the lines actually applied (apply: true)."""
        return [a for a in self.applications if a.apply]

    @property
    def applications_given(self) -> bool:
        """False when the record came without apply.items."""
        return "applications" in self.model_fields_set


class PaymentRecord(_WithApply):
    """customerpayment → customer_payment + payment_application."""

    customer: RefField = None
    payment: Amount = None
    unapplied: Amount = None


class CreditMemoRecord(_WithApply):
    """creditmemo → credit_memo + credit_memo_application."""

    created_from: RefField = Field(None, validation_alias=names("createdFrom"))
    amount_remaining: Amount = Field(None, validation_alias=names("amountRemaining", "unapplied"))


RECORD_MODELS: dict[str, type[_Model]] = {
    "customer": CustomerRecord,
    "contact": ContactRecord,
    "salesorder": SalesOrderRecord,
    "itemfulfillment": FulfillmentRecord,
    "invoice": InvoiceRecord,
    "customerpayment": PaymentRecord,
    "creditmemo": CreditMemoRecord,
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable_id(value: str) -> str:
    """An id the SQL can look up: SQLite's json_each (id lists) cuts a string at U+0000, so "7\\u0000" was
    looked up as "7", and such an event overwrote newer data and applied twice; no NetSuite id holds one."""
    if found := _CONTROL.search(value):
        raise ValueError(f"must not contain control characters (U+{ord(found.group()):04X} at {found.start()})")
    return value


class CdcEvent(BaseModel):
    """The envelope of one change (SPEC 4); `record` is kept as the raw dict for raw_json."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable_id)]
    record_type: RecordType
    record_id: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable_id)]
    operation: Literal["create", "update", "delete"]
    last_modified: UtcDatetime
    record: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _record_matches(self) -> CdcEvent:
        if self.operation != "delete" and self.record is None:
            raise ValueError(f"record is required for operation '{self.operation}'")
        if self.record is not None and "id" in self.record and str(self.record["id"]) != self.record_id:
            raise ValueError(f"record.id {self.record['id']!r} does not match record_id {self.record_id!r}")
        return self
