"""Strict msgspec twins of the record models: the fast gate for CDC events in NetSuite REST's usual shape.

models.py (pydantic) stays the authority. These Structs accept a strict subset of what it accepts (REST
camelCase spellings, references as objects, ISO dates, JSON numbers where numbers are meant) and expose
the same attributes with the same values, so the mirror code reads either. A key the pydantic model would
read under another spelling (SuiteQL lower case, a later alias choice) is declared `Absent`: any value
there fails the gate, and such an event, like any coercion or odd shape, fails here and takes the pydantic path,
which accepts it or names what is wrong. tests/test_cdc_fast.py checks that the two agree.
"""

from __future__ import annotations

import functools
import operator
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType, field

from worker.cdc.fast_lines import (
    _S,
    Absent,
    ApplyLine,
    Bounded,
    Finite,
    ItemLine,
    Label,
    Package,
    Ref,
    _label,
)
from worker.cdc.models import SHIP_STATUS, _as_created

Amount = Bounded  # models.Amount


class _Created(_S):
    date_created: str | None = field(default=None, name="dateCreated")
    datecreated: Absent = UNSET

    def __post_init__(self) -> None:
        # models.Created keeps only a real ISO date or time as sent: any other dateCreated (SuiteQL's M/D/YYYY,
        # blank, unreadable) fails the gate, and the pydantic path converts or refuses it.
        if self.date_created is not None and _as_created(self.date_created) != self.date_created:
            raise ValueError("dateCreated is not ISO as the model keeps it")


class CustomerRecord(_Created):
    """models.CustomerRecord."""

    entity_id: str | None = field(default=None, name="entityId")
    entityid: Absent = UNSET
    company_name: str | None = field(default=None, name="companyName")
    companyname: Absent = UNSET
    email: str | None = None
    phone: str | None = None
    terms_label: Label = field(default=None, name="terms")
    credit_limit: Amount = field(default=None, name="creditLimit")
    creditlimit: Absent = UNSET
    is_inactive: bool = field(default=False, name="isInactive")
    isinactive: Absent = UNSET

    @property
    def terms(self) -> str | None:
        """The terms' text."""
        return _label(self.terms_label)


class ContactRecord(_Created):
    """models.ContactRecord."""

    company: Ref | None = None
    entity_id: str | None = field(default=None, name="entityId")
    entityid: Absent = UNSET
    first_name: str | None = field(default=None, name="firstName")
    firstname: Absent = UNSET
    last_name: str | None = field(default=None, name="lastName")
    lastname: Absent = UNSET
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    is_inactive: bool = field(default=False, name="isInactive")
    isinactive: Absent = UNSET


class _Transaction(_S):
    tran_id: str | None = field(default=None, name="tranId")
    tranid: Absent = UNSET
    tran_date: date | None = field(default=None, name="tranDate")
    trandate: Absent = UNSET
    entity: Ref | None = None
    status_label: Label = field(default=None, name="status")
    currency_label: Label = field(default=None, name="currency")
    total: Amount = None
    memo: str | None = None

    @property
    def status(self) -> str | None:
        """The status text."""
        return _label(self.status_label)

    @property
    def currency(self) -> str | None:
        """The currency text."""
        return _label(self.currency_label)


class _Items(_S):
    items: list[ItemLine] | UnsetType = UNSET  # unset: {"links": [...]} only, the sublist was not expanded


class _WithLines(_Transaction):
    item: _Items | None = None

    @property
    def lines(self) -> list[ItemLine]:
        """item.items[] (empty when the sublist was not expanded)."""
        return self.item.items if self.lines_given else []  # type: ignore[union-attr,return-value]

    @property
    def lines_given(self) -> bool:
        """models._WithLines.lines_given."""
        return self.item is not None and self.item.items is not UNSET


class SalesOrderRecord(_WithLines):
    """models.SalesOrderRecord."""

    ship_date: date | None = field(default=None, name="shipDate")
    shipdate: Absent = UNSET
    other_ref_num: str | None = field(default=None, name="otherRefNum")
    otherrefnum: Absent = UNSET


class InvoiceRecord(_WithLines):
    """models.InvoiceRecord."""

    created_from: Ref | None = field(default=None, name="createdFrom")
    createdfrom: Absent = UNSET
    due_date: date | None = field(default=None, name="dueDate")
    duedate: Absent = UNSET
    terms_label: Label = field(default=None, name="terms")
    amount_remaining: Amount = field(default=None, name="amountRemaining")
    amountremaining: Absent = UNSET
    amount_paid: Amount = field(default=None, name="amountPaid")
    amountpaid: Absent = UNSET
    other_ref_num: str | None = field(default=None, name="otherRefNum")
    otherrefnum: Absent = UNSET
    exchange_rate: Finite = field(default=None, name="exchangeRate")
    exchangerate: Absent = UNSET

    @property
    def terms(self) -> str | None:
        """The terms' text."""
        return _label(self.terms_label)


class _PackageList(_S):
    packages: list[Package] | UnsetType = UNSET
    package: Absent = UNSET
    items: Absent = UNSET


class _PackageItems(_S):
    items: list[Package] | UnsetType = UNSET


class FulfillmentRecord(_WithLines):
    """models.FulfillmentRecord: packages from packageList.packages, else package.items (REST)."""

    created_from: Ref | None = field(default=None, name="createdFrom")
    createdfrom: Absent = UNSET
    ship_status_label: Label = field(default=None, name="shipStatus")
    shipstatus: Absent = UNSET
    carrier_label: Label = field(default=None, name="shipCarrier")
    shipcarrier: Absent = UNSET
    carrier_other: Absent = field(default=UNSET, name="carrier")
    package_list: _PackageList | UnsetType = field(default=UNSET, name="packageList")
    packagelist: Absent = UNSET
    package_node: _PackageItems | UnsetType = field(default=UNSET, name="package")
    # Carrier sublists (rare: an integrated carrier's fulfillments) take the pydantic path.
    packageUps: Absent = UNSET
    packageups: Absent = UNSET
    packageFedex: Absent = UNSET
    packagefedex: Absent = UNSET
    packageFedEx: Absent = UNSET
    packageUsps: Absent = UNSET
    packageusps: Absent = UNSET

    # models.FulfillmentRecord's carrier package lists: always empty here.
    ups_packages: ClassVar[list[Any]] = []
    fedex_packages: ClassVar[list[Any]] = []
    usps_packages: ClassVar[list[Any]] = []
    carrier_packages: ClassVar[list[Any]] = []
    carriers_given: ClassVar[frozenset[str]] = frozenset()

    @property
    def ship_status(self) -> str | None:
        """shipStatus as given."""
        return _label(self.ship_status_label)

    @property
    def carrier(self) -> str | None:
        """The carrier's text."""
        return _label(self.carrier_label)

    @property
    def package_items(self) -> list[Package] | None:
        """The packages, read in the pydantic model's alias order; None when no package list was given."""
        if self.package_list is not UNSET and self.package_list.packages is not UNSET:
            return self.package_list.packages
        if self.package_node is not UNSET and self.package_node.items is not UNSET:
            return self.package_node.items
        return None  # absent, or a `package` object without items (models._as_list gives None too)

    @property
    def packages(self) -> list[Package]:
        """models.FulfillmentRecord.packages."""
        return self.package_items or []

    @property
    def packages_given(self) -> bool:
        """models.FulfillmentRecord.packages_given (carrier sublists never pass this gate)."""
        return self.package_items is not None

    @property
    def status_word(self) -> str | None:
        """shipStatus in one spelling (models.FulfillmentRecord.status_word)."""
        status = self.ship_status
        if status is None:
            return None
        return SHIP_STATUS.get(status.strip().lower(), status.strip().lower())


class _Apply(_S):
    items: list[ApplyLine] | UnsetType = UNSET


class _WithApply(_Transaction):
    apply_node: _Apply | None = field(default=None, name="apply")

    @property
    def applications(self) -> list[ApplyLine]:
        """apply.items[]."""
        return self.apply_node.items if self.applications_given else []  # type: ignore[union-attr,return-value]

    @property
    def applications_given(self) -> bool:
        """models._WithApply.applications_given."""
        return self.apply_node is not None and self.apply_node.items is not UNSET

    @property
    def applied(self) -> list[ApplyLine]:
        """Only the lines actually applied (apply: true)."""
        return [a for a in self.applications if a.apply]


class PaymentRecord(_WithApply):
    """models.PaymentRecord."""

    customer: Ref | None = None
    payment: Amount = None
    unapplied: Amount = None


class CreditMemoRecord(_WithApply):
    """models.CreditMemoRecord."""

    created_from: Ref | None = field(default=None, name="createdFrom")
    createdfrom: Absent = UNSET
    amount_remaining: Amount = field(default=None, name="amountRemaining")
    amountremaining: Absent = UNSET
    unapplied: Absent = UNSET


# No control characters (models._printable_id): such an id fails the gate and pydantic names the character.
EventId = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
RecordId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


class _Event(Struct, frozen=True, gc=False, tag_field="record_type"):
    event_id: EventId
    record_id: RecordId
    operation: Literal["create", "update", "delete"]
    last_modified: str  # checked and normalised by intake (canonical ISO-8601 only)


def _event(record_type: str, record: type[_S]) -> type[_Event]:
    return msgspec.defstruct(f"{record.__name__}Event", [("record", record | None, None)], bases=(_Event,),
                             tag=record_type, frozen=True, gc=False)


# The pydantic model each twin stands for: the gate is used only while RECORD_MODELS holds that model.
TWINS: dict[str, tuple[str, type[_S]]] = {
    "customer": ("CustomerRecord", CustomerRecord),
    "contact": ("ContactRecord", ContactRecord),
    "salesorder": ("SalesOrderRecord", SalesOrderRecord),
    "itemfulfillment": ("FulfillmentRecord", FulfillmentRecord),
    "invoice": ("InvoiceRecord", InvoiceRecord),
    "customerpayment": ("PaymentRecord", PaymentRecord),
    "creditmemo": ("CreditMemoRecord", CreditMemoRecord),
}
EVENTS = {record_type: _event(record_type, twin) for record_type, (_, twin) in TWINS.items()}
EVENT_UNION: Any = functools.reduce(operator.or_, EVENTS.values())  # tagged on record_type
