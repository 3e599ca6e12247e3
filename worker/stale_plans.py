"""Staged collection plans that name invoices no longer owed: found by the warm tick, refused at approval.

A plan of ar_aging_action_plan names the past-due invoices it was drawn from, with the amounts it asks for
(`invoices` in the email's and the call's payloads). When one of them is since paid, credited, voided, deleted,
partly paid, moved to another customer, or its remainder became unknown, the plan asks for money the customer
does not owe. Each warm tick compares every still-staged plan with the mirror, in the transaction that writes
the snapshot, and appends one `ar.plan_stale` per customer and situation as of the invoices' NetSuite versions
(a re-tick adds nothing; the same change made again in NetSuite is news); the flow
then redraws or withdraws the plan (worker/flows/ar_aging_action_plan.py). Approving such an email before
the tick has run is refused (worker/decisions.py).

Plain functions of a connection and pure text; no flow import, so the aging job and the review queue stay light.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from worker.ledger import append_event
from worker.pricing import listed, money

FLOW = "ar_aging_action_plan"  # worker.flows.collection_situation.NAME (importing it pulls in drafting)
EVENT = "ar.plan_stale"
# Each invoice a still-staged proposal names, with the mirror's view of it where it no longer owes what is named.
# A sub-cent remainder counts as paid, as in the aging (cron/aging.py FILL_NEW).
NAMED_NOT_OWED = """
SELECT a.customer_id, a.id, json_extract(n.value, '$.invoice_id'),
       coalesce(json_extract(n.value, '$.number'), json_extract(n.value, '$.invoice_id')),
       json_extract(n.value, '$.amount_remaining'),
       i.ns_id IS NOT NULL, i.customer_id, round(i.amount_remaining, 2), i.deleted_at IS NOT NULL,
       coalesce(i.cdc_version, i.last_modified), i.currency
FROM proposed_actions a
JOIN json_each(a.payload_json, '$.invoices') n ON n.type = 'object'
LEFT JOIN customer_invoice i ON i.ns_id = json_extract(n.value, '$.invoice_id')
WHERE a.status = 'staged' AND {which}
  AND (i.ns_id IS NULL OR i.deleted_at IS NOT NULL OR i.customer_id IS NOT a.customer_id
       OR i.amount_remaining IS NULL
       OR round(i.amount_remaining, 2) < round(json_extract(n.value, '$.amount_remaining'), 2))
ORDER BY a.customer_id, a.id, n.key
"""
OF_FLOW = "substr(a.dedupe_key, 1, length(:prefix)) = :prefix AND (:customer_id IS NULL OR a.customer_id = :customer_id)"
OF_ACTION = "a.id = :action_id"
# Why an invoice is no longer owed as named, and how a reason says it of one invoice / of several.
PHRASES = {
    "closed": ("was paid or closed in NetSuite", "were paid or closed in NetSuite"),
    "deleted": ("was deleted in NetSuite", "were deleted in NetSuite"),
    "moved": ("now belongs to another customer in NetSuite", "now belong to another customer in NetSuite"),
    "unknown": ("no longer has a known amount remaining (NetSuite sent none)",
                "no longer have a known amount remaining (NetSuite sent none)"),
    "partly_paid": ("was partly paid", "were partly paid"),
}


@dataclass(frozen=True)
class NotOwed:
    """An invoice a staged proposal names that the customer no longer owes as named."""

    customer_id: str
    action_id: int
    invoice_id: str
    number: str
    named: float
    why: str  # a key of PHRASES
    remaining: float | None  # what the mirror says is left (None: unknown, deleted or gone)
    version: str | None = None  # the mirror row's CDC version (last_modified before CDC): a NetSuite change moves it
    currency: str | None = None  # the invoice's (None: US dollars)


def why_not_owed(named: float, plan_customer: str | None, found: bool, customer_id: str | None,
                 remaining: float | None, deleted: bool) -> str | None:
    """Why an invoice named at `named` is no longer owed so (pure); None when it still is."""
    if not found:
        return "closed"  # never hard-deleted from the mirror; gone is as good as closed
    if deleted:
        return "deleted"
    if customer_id != plan_customer:
        return "moved"
    if remaining is None:
        return "unknown"
    if remaining <= 0:
        return "closed"
    return "partly_paid" if remaining < round(named, 2) else None


def _read(conn: sqlite3.Connection, which: str, params: dict[str, object]) -> list[NotOwed]:
    found = []
    for cid, action_id, inv, number, named, hit, owner, remaining, deleted, version, currency in conn.execute(
            NAMED_NOT_OWED.format(which=which), params):
        if why := why_not_owed(named or 0.0, cid, bool(hit), owner, remaining, bool(deleted)):
            found.append(NotOwed(cid, action_id, str(inv), str(number), named or 0.0, why,
                                 remaining if why == "partly_paid" else None, version, currency))
    return found


def staged_not_owed(conn: sqlite3.Connection, customer_id: str | None = None) -> list[NotOwed]:
    """What the flow's still-staged proposals (of one customer, or all) name but is no longer owed as named."""
    prefix = f"{FLOW}:{customer_id}:" if customer_id else f"{FLOW}:"
    return _read(conn, OF_FLOW, {"prefix": prefix, "customer_id": customer_id})


def action_not_owed(conn: sqlite3.Connection, action_id: int) -> list[NotOwed]:
    """What one staged proposal names but is no longer owed as named."""
    return _read(conn, OF_ACTION, {"action_id": action_id})


def what_changed(found: Sequence[NotOwed]) -> str:
    """'INV-1042 and INV-1077 were paid or closed in NetSuite; INV-9 was partly paid ($5.00 left of $9.00)' (pure)."""
    by_invoice = {n.invoice_id: n for n in found}  # the email and the call name the same invoices
    parts = []
    for why, (one, several) in PHRASES.items():
        group = [n for n in by_invoice.values() if n.why == why]
        if not group:
            continue
        if why == "partly_paid":
            numbers = [f"{n.number} ({money(n.remaining, n.currency)} left of {money(n.named, n.currency)})"
                       for n in group]
        else:
            numbers = [n.number for n in group]
        parts.append(f"{listed(numbers)} {one if len(group) == 1 else several}")
    return "; ".join(parts)


def flag_stale_plans(conn: sqlite3.Connection, as_of: str, tick: str, now: str) -> int:
    """Append one ar.plan_stale per customer whose staged plan names invoices no longer owed; returns how many."""
    by_customer: dict[str, list[NotOwed]] = {}
    for n in staged_not_owed(conn):
        by_customer.setdefault(n.customer_id, []).append(n)
    appended = 0
    for customer_id, found in by_customer.items():
        # Keyed by what was found, as of each invoice's version: the same stale plan seen again adds nothing; a
        # further change is news, and so is the same change made again in NetSuite (paid, bounced, paid again:
        # the handler of the first event may have found it owed again and done nothing).
        state = sorted((n.action_id, n.invoice_id, n.why, n.remaining, n.version) for n in found)
        digest = hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16]
        payload = {"customer_id": customer_id, "actions": sorted({n.action_id for n in found}),
                   "invoices": sorted({n.invoice_id for n in found}), "changed": what_changed(found),
                   "as_of": as_of, "tick": tick}
        if append_event(conn, EVENT, "customer", customer_id, payload,
                        dedupe_key=f"{EVENT}:{customer_id}:{digest}", created_at=now):
            appended += 1
    return appended
