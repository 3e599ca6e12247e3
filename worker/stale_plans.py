"""Staged collection plans that name invoices no longer owed, or hold on a reason gone: found by the warm tick.

A plan of ar_aging_action_plan names the past-due invoices it was drawn from, with the amounts it asks for
(`invoices` in the email's and the call's payloads). When one of them is since paid, credited, voided, deleted,
partly paid, moved to another customer, or its remainder became unknown, the plan asks for money the customer
does not owe. Each warm tick compares every still-staged plan with the mirror, in the transaction that writes
the snapshot, and appends one `ar.plan_stale` per customer and situation as of the invoices' NetSuite versions
(a re-tick adds nothing; the same change made again in NetSuite is news); the flow
then redraws or withdraws the plan (worker/flows/plan_redraw.py). Approving such an email before
the tick has run is refused (worker/decisions.py).

A plan's service hold whose invoices are all still owed can lose its reason all the same, to money arriving on
account (an unapplied payment, a credit memo) or a raised credit limit, which move no invoice: the tick works the
reason out again (worker/flows/collection_queries.py hold_not_warranted) and flags such a plan stale too, as of
the NetSuite versions of the customer and of its money on account; the redraw drops the hold.

So can a plan's email, whose invoices all still owe what it names: once unapplied cash and credits cover
everything past due (the flow's own rule, collection_situation.Situation.paid_on_account), the flow would draft no
email, only the call saying to apply them. Its invoices count as no longer owed as named ("paid on account"), as of
the NetSuite versions of the customer's money on account: the tick flags the plan, the redraw draws it afresh
(call only), and approval is refused until then.

Plain functions of a connection and pure text; no flow import at import time, so the aging job and the review
queue stay light: the hold and email checks import the flows only when a plan's hold is staged, or a plan's email
is staged for a customer with money on account.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Container, Sequence
from dataclasses import dataclass

from worker.flows.names import ACTION_PLAN
from worker.ledger import append_event
from worker.pricing import amounts_text, listed, money

FLOW = ACTION_PLAN
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
# A plan's still-staged service holds ("plan": drawn by the flow, not proposed through the API).
STAGED_PLAN_HOLDS = """
SELECT customer_id, id FROM proposed_actions
WHERE status = 'staged' AND kind = 'service_hold' AND substr(dedupe_key, 1, length(:prefix)) = :prefix
  AND json_extract(payload_json, '$.plan') IS NOT NULL
ORDER BY customer_id, id
"""
# The customer's money on account (as collection_queries.ON_ACCOUNT reads it), as of NetSuite versions: none, and
# no email can be paid on account. Keys the event of an email paid on account, so paid, bounced and paid again is
# flagged again.
ON_ACCOUNT_BASIS = """
SELECT 'payment', ns_id, coalesce(cdc_version, last_modified) FROM customer_payment
WHERE customer_id = :customer_id AND deleted_at IS NULL AND (unapplied > 0 OR unapplied IS NULL)
UNION ALL
SELECT 'credit', ns_id, coalesce(cdc_version, last_modified) FROM credit_memo
WHERE customer_id = :customer_id AND deleted_at IS NULL AND (amount_remaining > 0 OR amount_remaining IS NULL)
ORDER BY 1, 2
"""
# What a hold's reason is worked out from besides its invoices, as of NetSuite versions: the customer (its credit
# limit) and its money on account (the ORDER BY above sorts the whole). Keys the event of a hold whose reason is
# gone, likewise.
HOLD_BASIS = f"""
SELECT 'customer', ns_id, coalesce(cdc_version, last_modified) FROM customers WHERE ns_id = :customer_id
UNION ALL{ON_ACCOUNT_BASIS}"""
# Each invoice a plan's still-staged email names: once money on account covers everything past due, the flow would
# not have drafted it (worker/flows/plan_draw.py draw).
STAGED_PLAN_EMAILS = """
SELECT a.customer_id, a.id, json_extract(n.value, '$.invoice_id'),
       coalesce(json_extract(n.value, '$.number'), json_extract(n.value, '$.invoice_id')),
       json_extract(n.value, '$.amount_remaining'), json_extract(n.value, '$.currency')
FROM proposed_actions a
JOIN json_each(a.payload_json, '$.invoices') n ON n.type = 'object'
WHERE a.status = 'staged' AND a.kind = 'send_collection_email' AND {which}
  AND substr(a.dedupe_key, 1, length(:flow)) = :flow AND json_extract(a.payload_json, '$.plan') IS NOT NULL
ORDER BY a.customer_id, a.id, n.key
"""
# How a stale plan's reason, and a hold rejected for it (decisions.py `rejected_as_stale`), say a hold lost it.
HOLD_GONE = "the reason for the service hold no longer holds: {}"
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
    "paid_on_account": ("was paid on account", "were paid on account"),
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
    on_account: dict[str, float] | None = None  # paid_on_account: the money on account, by currency, now covering it


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


def _paid_on_account(conn: sqlite3.Connection, which: str, params: dict[str, object],
                     stale: Container[int], standard_terms: int | None) -> list[NotOwed]:
    """What a plan's staged emails (but those in `stale`) name, once the customer's money on account covers
    everything past due as the flow works it out: it then drafts no email, only the call to apply it.
    `standard_terms`: the standard program's payment days, as the flow reads the situation (collection_queries
    examine), so that an invoice without a due date or any terms is past due here exactly when in the plan."""
    emails: dict[str, list[tuple[int, str, str, float, str | None]]] = {}
    for customer_id, action_id, inv, number, named, currency in conn.execute(
            STAGED_PLAN_EMAILS.format(which=which), {**params, "flow": f"{FLOW}:"}):
        if action_id not in stale:  # naming invoices no longer owed, the plan is stale already
            emails.setdefault(customer_id, []).append((action_id, str(inv), str(number), named or 0.0, currency))
    found = []
    for customer_id, named_invoices in emails.items():
        basis = [list(r) for r in conn.execute(ON_ACCOUNT_BASIS, {"customer_id": customer_id})]
        if not basis:
            continue  # nothing on account, so nothing paid on account (and no flow import)
        # Imported only now: the flows (drafting, the model client) weigh on no tick or review without money on
        # account. The flow's own rule, read as the flow reads it: a second one would drift from it.
        from worker.flows.collection_queries import examine

        s = examine(conn, customer_id, None, standard_terms=standard_terms)
        if s is None or not s.paid_on_account:
            continue
        version = json.dumps(basis)  # as of the money's NetSuite versions: paid, bounced, paid again is news
        found += [NotOwed(customer_id, action_id, inv, number, named, "paid_on_account", None, version, currency,
                          s.on_account_totals) for action_id, inv, number, named, currency in named_invoices]
    return found


def staged_not_owed(conn: sqlite3.Connection, customer_id: str | None = None, *,
                    standard_terms: int | None) -> list[NotOwed]:
    """What the flow's still-staged proposals (of one customer, or all) name but is no longer owed as named
    (`standard_terms`: as _paid_on_account takes it)."""
    prefix = f"{FLOW}:{customer_id}:" if customer_id else f"{FLOW}:"
    params = {"prefix": prefix, "customer_id": customer_id}
    found = _read(conn, OF_FLOW, params)
    return found + _paid_on_account(conn, OF_FLOW, params, {n.action_id for n in found}, standard_terms)


def action_not_owed(conn: sqlite3.Connection, action_id: int, *, standard_terms: int | None) -> list[NotOwed]:
    """What one staged proposal names but is no longer owed as named (`standard_terms`: as _paid_on_account)."""
    params = {"action_id": action_id}
    return _read(conn, OF_ACTION, params) or _paid_on_account(conn, OF_ACTION, params, (), standard_terms)


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
        text = f"{listed(numbers)} {one if len(group) == 1 else several}"
        if why == "paid_on_account":  # the customer's money on account, the same for each
            text += (f" ({amounts_text(group[0].on_account or {})} unapplied cash and credits on account cover "
                     "everything past due)")
        parts.append(text)
    return "; ".join(parts)


def what_went_stale(found: Sequence[NotOwed], hold_gone: str | None, since: str = "") -> str:
    """What made a plan stale (pure): what_changed(found) and `since`, then why its hold no longer stands."""
    parts = [f"{what_changed(found)}{since}"] if found else []
    return "; ".join(parts + ([HOLD_GONE.format(hold_gone)] if hold_gone else []))


def holds_not_warranted(conn: sqlite3.Connection, stale: Container[int], *,
                        standard_terms: int | None) -> dict[str, tuple[list[int], str]]:
    """customer -> its plan's staged holds whose reason is gone although they name nothing stale, and why
    (`standard_terms`: as _paid_on_account takes it)."""
    holds: dict[str, list[int]] = {}
    for customer_id, action_id in conn.execute(STAGED_PLAN_HOLDS, {"prefix": f"{FLOW}:"}):
        if action_id not in stale:  # naming invoices no longer owed, the plan is stale already
            holds.setdefault(customer_id, []).append(action_id)
    if not holds:
        return {}
    # Imported only now: the flows (drafting, the model client) weigh on no tick without a staged plan hold.
    from worker.flows.collection_queries import hold_not_warranted

    return {customer_id: (ids, why) for customer_id, ids in holds.items()
            if (why := hold_not_warranted(conn, customer_id, standard_terms=standard_terms))}


def flag_stale_plans(conn: sqlite3.Connection, as_of: str, tick: str, now: str, *, standard_terms: int | None) -> int:
    """Append one ar.plan_stale per customer whose staged plan names invoices no longer owed, or holds on a reason
    gone; returns how many (`standard_terms`: the standard program's payment days, as the flow drew the plans)."""
    by_customer: dict[str, list[NotOwed]] = {}
    for n in staged_not_owed(conn, standard_terms=standard_terms):
        by_customer.setdefault(n.customer_id, []).append(n)
    holds = holds_not_warranted(conn, {n.action_id for found in by_customer.values() for n in found},
                                standard_terms=standard_terms)
    appended = 0
    for customer_id in sorted(by_customer.keys() | holds.keys()):
        found = by_customer.get(customer_id, [])
        hold_ids, hold_gone = holds.get(customer_id, ([], None))
        # Keyed by what was found, as of each invoice's version: the same stale plan seen again adds nothing; a
        # further change is news, and so is the same change made again in NetSuite (paid, bounced, paid again:
        # the handler of the first event may have found it owed again and done nothing). A hold's lost reason is
        # keyed likewise, as of the versions of what it is worked out from (HOLD_BASIS).
        state: list[object] = sorted((n.action_id, n.invoice_id, n.why, n.remaining, n.version) for n in found)
        if hold_gone:
            state.append(["hold", hold_ids, hold_gone,
                          [list(r) for r in conn.execute(HOLD_BASIS, {"customer_id": customer_id})]])
        digest = hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16]
        payload = {"customer_id": customer_id, "actions": sorted({n.action_id for n in found} | set(hold_ids)),
                   "invoices": sorted({n.invoice_id for n in found}), "changed": what_went_stale(found, hold_gone),
                   "as_of": as_of, "tick": tick}
        if append_event(conn, EVENT, "customer", customer_id, payload,
                        dedupe_key=f"{EVENT}:{customer_id}:{digest}", created_at=now):
            appended += 1
    return appended
