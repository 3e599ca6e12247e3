"""AR aging, pure: calendar dates in the company's zone, days past due, buckets, bucket transitions.

The warm tier does the same arithmetic set-based in SQL (cron/aging.py); the SQL CASE for buckets is
generated from BUCKETS below, so the two can never disagree on a boundary, and a test runs both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Basis = Literal["due_date", "invoice_date"]

# (bucket, highest days past due it holds); the last bucket is open-ended (> 90).
BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("current", 0),
    ("1-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", None),
)
BUCKET_NAMES = tuple(name for name, _ in BUCKETS)
SEVERITY = {name: rank for rank, name in enumerate(BUCKET_NAMES)}
ACTION_BUCKETS = frozenset({"61-90", "90+"})  # reaching one of these starts ar_aging_action_plan


def company_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date in the company's time zone at an aware instant (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(tz).date()


# Invoice statuses that owe nothing, with case, spaces and punctuation dropped: REST's refName ("Paid In Full",
# "Voided"), SuiteScript's ids ("paidInFull"), SuiteQL's codes ("B", "V", "CustInvc:B"). "Open" says nothing
# about partial payments, so it never implies an amount.
SETTLED_STATUSES = frozenset({"paidinfull", "b", "custinvcb", "voided", "v", "custinvcv"})


def invoice_remaining(amount_remaining: float | None, total: float | None, amount_paid: float | None,
                      status: str | None) -> float | None:
    """What an invoice still owes: NetSuite's amountRemaining, else derived where that is safe, else None (unknown).

    REST leaves out a field that is null or not requested, so a record may come without amountRemaining.
    A settled status owes 0; total less amountPaid is how NetSuite computes amountRemaining itself. Anything
    else is unknown, never 0: the mirror's own application rows only bound it (payments from before the
    mirror, discounts taken on lines mirrored before schema version 15 and journal entries are not in them).
    """
    if amount_remaining is not None:
        return amount_remaining
    if status is not None and re.sub(r"[^a-z]", "", status.lower()) in SETTLED_STATUSES:
        return 0.0
    if total is not None and amount_paid is not None:
        return round(total - amount_paid, 2)
    return None


def bucket_for(days_past_due: int) -> str:
    """The aging bucket of a number of days past due (<= 0 is current, > 90 is 90+)."""
    for name, upper in BUCKETS:
        if upper is None or days_past_due <= upper:
            return name
    raise AssertionError("unreachable: the last bucket is open-ended")


def bucket_case_sql(days_expr: str) -> str:
    """A SQL CASE expression giving the bucket of `days_expr` (generated from BUCKETS)."""
    arms = [f"WHEN {days_expr} <= {upper} THEN '{name}'" for name, upper in BUCKETS if upper is not None]
    return f"CASE {' '.join(arms)} ELSE '{BUCKETS[-1][0]}' END"


_NET_DAYS = re.compile(r"net\s*(\d{1,3})", re.IGNORECASE)


def terms_days(terms: str | None) -> int | None:
    """Days until due from a NetSuite terms name ('Net 30', '1% 10 Net 30' -> 30; 'Due on receipt' -> 0)."""
    if not terms:
        return None
    if match := _NET_DAYS.search(terms):
        return int(match.group(1))
    return 0 if re.search(r"receipt|cod|cash", terms, re.IGNORECASE) else None


# The due date of customer_invoice `i` in SQL, as the warm tier ages on the due-date basis (cron/aging.py REFERENCE)
# and the collection plan counts days past due on either basis (worker/flows/collection_queries.py). One without
# a due date is due its date + the customer's payment terms (SPEC 6): the program's days, else the invoice's own
# terms, else the customer's, else the standard program's (:standard_terms). terms_days() is the SQL function of
# terms_days above (the caller registers it); the lookups run only for such rows (coalesce short-circuits).
DUE_DATE_SQL = """coalesce(date(i.due_date), date(i.tran_date, '+' || coalesce(
    (SELECT cp.payment_terms_days FROM customer_program cp WHERE cp.customer_id = i.customer_id),
    terms_days(i.terms),
    (SELECT terms_days(c.terms) FROM customers c WHERE c.ns_id = i.customer_id),
    :standard_terms) || ' days'))"""


def reference_date(due_date: date | None, tran_date: date | None, terms_days: int, basis: Basis) -> date | None:
    """The date days past due count from: the due date (or invoice date + terms), or the invoice date."""
    if basis == "invoice_date":
        return tran_date or due_date
    if due_date is not None:
        return due_date
    return tran_date + timedelta(days=terms_days) if tran_date is not None else None


def days_past_due(as_of: date, reference: date | None) -> int:
    """Whole days from the reference date to the as-of date (0 when there is no date at all)."""
    # An invoice without any date is still open money: keep it visible as current rather than drop it.
    return (as_of - reference).days if reference is not None else 0


@dataclass(frozen=True)
class AgingState:
    """An invoice's place in one snapshot."""

    customer_id: str | None
    bucket: str
    since: str  # the tick (ISO UTC) at which the invoice entered this bucket


@dataclass(frozen=True)
class Transition:
    """An invoice that moved between buckets from one snapshot to the next."""

    invoice_id: str
    customer_id: str | None
    from_bucket: str
    to_bucket: str
    from_since: str

    @property
    def dedupe_key(self) -> str:
        """Ledger key: one event per stay left, so re-runs collapse but a later genuine move is new."""
        return transition_key(self.invoice_id, self.from_bucket, self.from_since, self.to_bucket)


def transition_key(invoice_id: str, from_bucket: str, from_since: str, to_bucket: str) -> str:
    """The events.dedupe_key of a transition (the SQL path builds the same string)."""
    return f"ar.bucket_changed:{invoice_id}:{from_bucket}@{from_since}>{to_bucket}"


def transitions(previous: Mapping[str, AgingState], current: Mapping[str, AgingState]) -> list[Transition]:
    """Invoices in both snapshots whose bucket differs; new and closed invoices are not transitions."""
    moved = []
    for invoice_id in sorted(current.keys() & previous.keys()):
        before, after = previous[invoice_id], current[invoice_id]
        if before.bucket != after.bucket:
            moved.append(Transition(invoice_id, after.customer_id, before.bucket, after.bucket, before.since))
    return moved


def carry_since(previous: AgingState | None, bucket: str, tick: str) -> str:
    """When the invoice entered `bucket`: kept from the previous snapshot if it stayed, else this tick."""
    return previous.since if previous is not None and previous.bucket == bucket else tick
