"""msgspec twins of the nested parts of records: references, select-field labels, lines, packages.

See fast.py: each twin accepts a subset of what its pydantic model (models.py) accepts, with equal values.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType, field

from worker.cdc.models import MAX_AMOUNT, MAX_LINE

# A key the pydantic model may read instead: any value under it (even null) fails the gate.
Absent = UnsetType


class _S(Struct, frozen=True, gc=False):
    """Base: immutable, and untracked by the cycle collector (these never form cycles)."""


class Ref(_S):
    """A reference object {"id", "refName"} (a bare id takes the pydantic path)."""

    id: str | None = None
    refName: str | None = None
    refname: Absent = UNSET


class _LabelRef(_S):
    id: str | None = None
    refName: str | None = None
    refname: str | None = None


Label = str | _LabelRef | None
LineNumber = Annotated[int, Meta(ge=0, le=MAX_LINE)]
# models.Amount, Quantity, Rate, Weight: a number beyond the bound fails the gate and pydantic words the refusal.
Bounded = Annotated[float, Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT)] | None
Finite = Annotated[float, Meta(ge=-sys.float_info.max, le=sys.float_info.max)] | None  # models.ExchangeRate


def _label(value: Any) -> str | None:
    # models._as_label: a select field's text is its refName, else refname, else id.
    if value is None or value.__class__ is str:
        return value  # type: ignore[no-any-return]
    return value.refName or value.refname or value.id  # type: ignore[no-any-return]


class ItemLine(_S):
    """models.ItemLine."""

    line: LineNumber | None = None
    item: Ref | None = None
    description: str | None = None
    quantity: Bounded = None
    units_label: Label = field(default=None, name="units")
    rate: Bounded = None
    amount: Bounded = None
    order_line: LineNumber | None = field(default=None, name="orderLine")
    orderline: Absent = UNSET
    # models.Flag: a JSON boolean only; null, 'T'/'F' (SuiteQL) or the lower-case spelling take the pydantic path.
    is_closed: bool = field(default=False, name="isClosed")
    isclosed: Absent = UNSET

    @property
    def units(self) -> str | None:
        """The unit's text."""
        return _label(self.units_label)


class ApplyLine(_S):
    """models.ApplyLine."""

    line: int | None = None
    apply: bool = False
    doc: Ref | None = None
    amount: Bounded = None
    type_label: Label = field(default=None, name="type")
    apply_date: date | None = field(default=None, name="applyDate")
    applydate: Absent = UNSET
    disc: Bounded = None

    @property
    def type(self) -> str | None:
        """The applied document's type text."""
        return _label(self.type_label)


class Package(_S):
    """models.Package."""

    tracking_number: str | None = field(default=None, name="packageTrackingNumber")
    packagetrackingnumber: Absent = UNSET
    trackingNumber: Absent = UNSET
    trackingnumber: Absent = UNSET
    weight: Bounded = field(default=None, name="packageWeight")
    packageweight: Absent = UNSET
    weight_other: Absent = field(default=UNSET, name="weight")
    description: str | None = field(default=None, name="packageDescr")
    packagedescr: Absent = UNSET
    description_other: Absent = field(default=UNSET, name="description")
    carrier_label: Label = field(default=None, name="carrier")
    # A carrier sublist's spellings (models.Package reads them too): the pydantic path takes such events.
    packagetrackingnumberups: Absent = UNSET
    packageTrackingNumberUps: Absent = UNSET
    packagetrackingnumberfedex: Absent = UNSET
    packageTrackingNumberFedEx: Absent = UNSET
    packagetrackingnumberusps: Absent = UNSET
    packageTrackingNumberUsps: Absent = UNSET
    packageweightups: Absent = UNSET
    packageWeightUps: Absent = UNSET
    packageweightfedex: Absent = UNSET
    packageWeightFedEx: Absent = UNSET
    packageweightusps: Absent = UNSET
    packageWeightUsps: Absent = UNSET
    packagedescrups: Absent = UNSET
    packageDescrUps: Absent = UNSET
    packagedescrusps: Absent = UNSET
    packageDescrUsps: Absent = UNSET
    reference1fedex: Absent = UNSET
    reference1FedEx: Absent = UNSET

    @property
    def carrier(self) -> str | None:
        """The package's carrier text."""
        return _label(self.carrier_label)
