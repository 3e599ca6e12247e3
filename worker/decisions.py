"""A reviewer's decisions, as plain functions of a sqlite3 connection (run them with `env.db.write`).

Each one checks the row's status inside the same IMMEDIATE transaction that changes it, so a
double-submitted form changes nothing the second time; each records who and when and appends a
ledger event (with a dedupe key, so even a replayed decision appends once).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from worker.cdc.models import ORDER_CANCELLED
from worker.ledger import append_event
from worker.memo_checks import memo_not_as_drafted
from worker.names import normalize_name
from worker.netsuite_shape import ReviewedOrder, salesorder_payload
from worker.quote_checks import PriceRules, quote_not_as_drafted
from worker.stale_plans import HOLD_GONE, action_not_owed, what_changed

OPEN_ORDER = ("pending", "needs_manual")
EDITABLE_FIELDS = ("subject", "body", "note")  # text a person may reword; never amounts or recipients
# Characters an edited field may have (the form's maxlength too); a subject as the proposed-actions API allows.
MAX_EDIT = {"subject": 200, "body": 20_000, "note": 20_000}
# An email subject is one line: a header once sent. A line ends at any character str.splitlines breaks on, as
# email.policy counts it: it refuses a header value holding one (and compat32 makes \x0b, \x0c and \x1c-\x1e a
# line break of their own), so such a draft could not be sent. Escapes Python's re, pydantic's Rust regex and a
# JSON Schema reader (ECMA-262) all read; match it whole in Python (re.fullmatch: `$` passes a final \n there).
LINE_BREAKS = r"\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029"
ONE_LINE = rf"^[^{LINE_BREAKS}]+$"
MAX_REASON = 1000  # characters of a rejection reason
NOTHING_CHANGED = "; nothing changed"  # how a decision made already (_already) ends
TRIAGE = {"approved_for_reuse": "reflexion.approved", "rejected": "reflexion.rejected"}
# Kinds whose approval rests on the invoices they name (`invoices`), what approving one would do were they no
# longer owed as named (the email asks for the money, the hold's reason was worked out from those amounts), and
# what the reviewer can do: the plan's drafts are redrawn by the warm tick, an API proposal is not.
REDRAWN = "Reject it, or leave it: the next warm tick redraws or withdraws the customer's collection plan"
DUNNING = "ask for money the customer does not owe"
OWED_KINDS = {"send_collection_email": ("email", DUNNING, REDRAWN),
              "service_hold": ("hold", ("hold the customer's service on a reason worked out from money it no "
                                        "longer owes"), REDRAWN),
              "collection_email": ("email", DUNNING, "Reject it, and propose it again naming what is still owed"),
              # The plan's call names the email's invoices (plan_draw.draw): its talking points ask for that money.
              "schedule_collection_call": ("call", "call the customer about money it does not owe", REDRAWN)}
# A credit memo's dispute drafts (worker/flows/invoice_dispute.py): what approving one would do once the memo is
# not what it says (worker/memo_checks.py).
MEMO_KINDS = {"send_dispute_confirmation": ("confirmation", "confirm a credit to the customer that is not as it says"),
              "log_dispute": ("dispute log", "log a dispute on a credit that is not as it says")}
# What becomes of such a draft: a deleted, voided or moved memo's drafts are withdrawn (a moved one drafted
# afresh for its new customer) when the workflow next runs; for a new total it redrafts the drafts nobody edited,
# and leaves (and names) an edited one, which can then only be rejected.
MEMO_NEXT = ("Reject it, or leave it: the workflow withdraws it when it next runs (and drafts a moved memo afresh "
             "for its new customer)")
MEMO_TOTAL = ("If nobody edited it, leave it: the workflow redrafts it with the new total when it next runs. "
              "A draft a reviewer edited is never redrafted: reject it, and confirm the new total by hand")

# A sales order's price drafts (worker/flows/quote_review.py, assembly_item.py) and what approving one would do once
# NetSuite deleted or cancelled the order its payload names (`sales_order_id`): its workflow withdraws the draft
# when it next runs, but until then (the hot tier's drain) it stays staged.
ORDER_KINDS = {"review_quote_pricing": ("price review", "settle the prices of an order that is no order any more"),
               "price_new_assembly_item": ("request to price a new assembly item",
                                           "price an item for an order that is no order any more")}
ORDER_NEXT = "Reject it, or leave it: the workflow withdraws it when it next runs"
# ... or once the mirror has no such order at all (its events never arrived, or the row is gone): nothing says the
# order stands, and no workflow run will come to withdraw the draft, so it is refused until the order is mirrored.
ORDER_UNSEEN = ("Reject it, or leave it until the mirror has the order (NetSuite sends it again, or a backfill "
                "loads it): it can be approved then if the order stands")
# ... or once its item got a price for the customer that no import withdrew it for (a price on file by other means, a
# dateless order judged on a later day): the workflow withdraws it at the customer's next order event
# (worker/flows/assembly_item.py; an import-reference run withdraws the requests its own prices answer at once).
ASSEMBLY_PRICED_NEXT = "Reject it, or leave it: the workflow withdraws it at the customer's next order event"
ORDER_NOW = f"""
SELECT coalesce(tran_id, ns_id), deleted_at, {ORDER_CANCELLED.format(status="status")} FROM transactions
WHERE ns_id = ?
"""

GET_ITEM = "SELECT status, customer_id, parsed_json, decided_by, decided_at FROM review_items WHERE id = ?"
CLOSE_ITEM = """
UPDATE review_items SET status = :status, customer_id = coalesce(:customer_id, customer_id), decided_by = :by,
    decided_at = :at, decision_reason = :reason, updated_at = :at
WHERE id = :id AND status IN ('pending', 'needs_manual')
"""
INSERT_ORDER_ACTION = """
INSERT INTO proposed_actions (kind, status, customer_id, payload_json, risk, source, review_item_id, dedupe_key,
                              created_at, updated_at, decided_by, decided_at)
VALUES ('create_sales_order', 'approved', ?, ?, 3, 'review', ?, ?, ?, ?, ?, ?)
"""
# A reviewer's choice for a code: every spelling of it the customer has (the intake matches codes in any case, the
# newest first) now names the chosen item, so no other spelling's row can shadow it, and the code as printed is
# mapped too.
REMEMBER_XREF = (
    """UPDATE customer_item_xref SET item_id = :item, source = 'reviewer', updated_at = :at
WHERE customer_id = :customer AND upper(customer_item_code) = upper(:code) AND item_id IS NOT :item""",
    """INSERT OR IGNORE INTO customer_item_xref (customer_id, customer_item_code, item_id, source, updated_at)
VALUES (:customer, :code, :item, 'reviewer', :at)""",
)
# A line approved as the page showed it: its code is remembered only when nothing maps it yet (in any case, as the
# intake matches codes), so it never undoes a mapping made after the page was loaded.
REMEMBER_NEW_XREF = """
INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id, source, updated_at)
SELECT :customer, :code, :item, 'reviewer', :at
WHERE NOT EXISTS (SELECT 1 FROM customer_item_xref WHERE customer_id = :customer
                  AND upper(customer_item_code) = upper(:code))
"""
# The order's customer as the mirror has it: absent or deleted, or inactive (NetSuite refuses new transactions).
ORDER_CUSTOMER = "SELECT company_name, is_inactive FROM customers WHERE ns_id = ? AND deleted_at IS NULL"
# An executed sales-order action `a` whose sales order (found by its externalId) the mirror holds only as
# deleted: deleted in NetSuite, it is not an order any more (as MIRRORED_ORDERS has it). min() is 1 when every
# such row is deleted, NULL when there is none (not mirrored back yet): coalesce keeps that false, not NULL,
# which `NOT` would leave NULL and so drop the approval from the duplicate check.
SO_DELETED = """(a.status = 'executed'
  AND coalesce((SELECT min(t.deleted_at IS NOT NULL) FROM transactions t WHERE t.type = 'salesorder'
       AND json_extract(t.raw_json, '$.externalId') = json_extract(a.payload_json, '$.externalId')), 0) = 1)"""
# The same order approved before: the customer's sales-order actions with this PO number, or another item of
# the same PDF bytes (the same order of them), but not one whose sales order was since deleted in NetSuite.
# Checked when approving, not only at intake, because the earlier copy may have been approved after this one
# was queued.
EARLIER_APPROVALS = f"""
SELECT a.review_item_id, a.decided_by, a.decided_at, 'same PO number' FROM proposed_actions a
WHERE a.customer_id = :customer_id AND a.kind = 'create_sales_order' AND a.status IN ('approved', 'executed')
  AND a.review_item_id IS NOT :id AND trim(:po) <> ''
  AND upper(trim(json_extract(a.payload_json, '$.otherRefNum'))) = upper(trim(:po)) AND NOT {SO_DELETED}
UNION ALL
SELECT other.id, other.decided_by, other.decided_at, 'same PDF' FROM review_items me
JOIN email_attachments mine ON mine.id = me.attachment_id
JOIN email_attachments copy ON copy.sha256 = mine.sha256
JOIN review_items other ON other.attachment_id = copy.id AND other.part = me.part
WHERE me.id = :id AND other.id <> :id AND other.status = 'approved'
  AND NOT EXISTS (SELECT 1 FROM proposed_actions a WHERE a.review_item_id = other.id
                  AND a.kind = 'create_sales_order' AND {SO_DELETED})
ORDER BY 1
"""
# ... or already a sales order in NetSuite (entered there by hand, or by an approval synced back).
MIRRORED_ORDERS = """
SELECT ns_id, coalesce(tran_id, ns_id) FROM transactions
WHERE customer_id = :customer_id AND type = 'salesorder' AND deleted_at IS NULL AND trim(:po) <> ''
  AND upper(trim(other_ref_num)) = upper(trim(:po))
ORDER BY tran_date, ns_id
"""
KNOWN_ITEM = "SELECT 1 FROM spec_items WHERE item_id = ?"
# A new customer's namesakes (same_name_customers): live customers by their name_key (schema.sql; NULL: not computed
# since the row was written or renamed), and those a customer synonym of the name points to; a synonym's
# `normalized` is normalize_name's form (worker/names.py).
NAMESAKE_CANDIDATES = """
SELECT ns_id, company_name, name_key FROM customers WHERE deleted_at IS NULL AND (name_key = ? OR name_key IS NULL)
"""
STORE_NAME_KEY = "UPDATE customers SET name_key = ? WHERE ns_id = ? AND name_key IS NULL"
SYNONYM_CUSTOMERS = """
SELECT DISTINCT s.customer_id FROM name_synonyms s JOIN customers c ON c.ns_id = s.customer_id
WHERE s.kind = 'customer' AND s.normalized = ? AND c.deleted_at IS NULL
"""
COMPANY_NAME = "SELECT company_name FROM customers WHERE ns_id = ?"
# Other new customers approved (or sent to NetSuite) before: matched by name in Python, as the mirror's are.
APPROVED_CUSTOMERS = """
SELECT id, json_extract(payload_json, '$.companyName'), status, decided_by, decided_at FROM proposed_actions
WHERE kind = 'create_customer' AND status IN ('approved', 'executed') AND id <> ?
ORDER BY id
"""
GET_ACTION = "SELECT status, kind, payload_json, decided_by, decided_at, updated_at FROM proposed_actions WHERE id = ?"
# `updated_at = :seen`: the row is still the version the reviewer's page showed (optimistic concurrency).
DECIDE_ACTION = """
UPDATE proposed_actions SET status = :status, payload_json = :payload, decided_by = :by, decided_at = :at,
    decision_reason = :reason, updated_at = :at
WHERE id = :id AND status = 'staged' AND updated_at = :seen
"""
EDIT_ACTION = """
UPDATE proposed_actions SET payload_json = :payload, updated_at = :at
WHERE id = :id AND status = 'staged' AND updated_at = :seen
"""
# Who saved the action's current version (an edit's event carries the row's new updated_at as created_at).
EDITED_BY = """
SELECT json_extract(payload_json, '$.reviewer') FROM events
WHERE type = 'action.edited' AND entity_type = 'proposed_action' AND entity_id = ? AND created_at = ?
ORDER BY id DESC LIMIT 1
"""
# ... or which workflow redrafted it: a redraft (worker/workflow_runner.py REDRAFT) sets created_at and updated_at
# anew to its run's end and names the run, so a page showing an earlier version (`seen`) was loaded before it (an
# untouched first draft has the same marks, but no page showed it earlier). A run pruned since names none.
REDRAFTED_BY = """
SELECT r.workflow FROM proposed_actions a JOIN workflow_run_log r ON r.id = a.workflow_run_id
WHERE a.id = :id AND a.created_at = a.updated_at AND :seen < a.created_at
"""
GET_OBSERVATION = "SELECT status, decided_by, decided_at FROM reflexion_log WHERE id = ?"
DECIDE_OBSERVATION = """
UPDATE reflexion_log SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'needs_review'
"""


class DecisionError(ValueError):
    """The decision cannot be made as asked (the message says what to fix)."""


class DuplicateOrder(DecisionError):
    """The order (or new customer) was approved before or is already in NetSuite; approving again needs the
    reviewer's say-so.

    `copies` are the keys of the earlier copies the message names (EarlierCopy.key): the page that shows them
    posts them back with "approve anyway", and that consent covers those copies only.
    """

    def __init__(self, message: str, copies: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.copies = tuple(dict.fromkeys(copies))


@dataclass(frozen=True)
class EarlierCopy:
    """Where the order exists already: `key` names it on a form ("item:12", "so:77"), `text` for people."""

    key: str
    text: str


class NotFound(LookupError):
    """No such review item, action or observation."""


@dataclass(frozen=True)
class Decision:
    """What happened: `changed` is False when the row had already been decided (a double submit)."""

    changed: bool
    status: str
    message: str
    action_id: int | None = None


def _already(kind: str, status: str, by: str | None, at: str | None) -> Decision:
    who = f" by {by}" if by else ""
    when = f" at {at[:19].replace('T', ' ')} UTC" if at else ""  # as people read it, like changed_since_loaded
    return Decision(False, status, f"{kind} was already {status.replace('_', ' ')}{who}{when}{NOTHING_CHANGED}")


def plain_text(text: str) -> str:
    """Text as a browser means it (pure): line ends as \n (a form posts \r\n), no surrounding whitespace."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _reason(reason: str | None) -> str:
    # Measured after plain_text: the form's maxlength counts a newline once, but the browser posts it as \r\n.
    text = plain_text(reason or "")
    if not text:
        raise DecisionError("a reason is required to reject")
    if len(text) > MAX_REASON:
        raise DecisionError(f"the reason is longer than {MAX_REASON} characters")
    return text


def _remember_items(conn: sqlite3.Connection, customer_id: str, order: ReviewedOrder, parsed: Mapping[str, Any],
                    now: str, shown: Mapping[int, str] | None) -> int:
    # Product lines only: a charge's item (a discount or other-charge item) is no customer's item code.
    codes = {ln.get("line_no"): ln.get("customer_item_code") for ln in parsed.get("lines") or [] if isinstance(ln, dict)}
    remembered = 0
    for line in order.lines:
        code = (line.customer_item_code or codes.get(line.line_no) or "").strip()
        if not code:
            continue
        named = {"customer": customer_id, "code": code, "item": line.item_id, "at": now}
        if shown is None or shown.get(line.line_no) != line.item_id:  # the reviewer chose this item
            remembered += any([conn.execute(sql, named).rowcount for sql in REMEMBER_XREF])
        else:
            remembered += conn.execute(REMEMBER_NEW_XREF, named).rowcount
    return remembered


def name_key(name: str | None) -> str:
    """A company name as namesakes compare (pure): normalize_name's form, or for a name that is nothing but legal
    words ('Inc.') its case-folded text, so that it still meets itself."""
    return normalize_name(name) or " ".join((name or "").casefold().split())


def same_name_customers(conn: sqlite3.Connection, name: str | None) -> list[str]:
    """The live customers (ns_ids) whose company name, or a customer synonym, is `name` as names compare.

    In a transaction, the keys it computes (of customers written or renamed since the last call) are stored; outside
    one they are not, which would cost a commit each."""
    key = name_key(name)
    if not key:
        return []
    found, computed = set(), []
    for ns_id, company, stored in conn.execute(NAMESAKE_CANDIDATES, (key,)).fetchall():
        if stored is None:
            stored = name_key(company)
            computed.append((stored, ns_id))
        if stored == key:
            found.add(ns_id)
    if computed and conn.in_transaction:
        conn.executemany(STORE_NAME_KEY, computed)
    found |= {row[0] for row in conn.execute(SYNONYM_CUSTOMERS, (key,))}
    return sorted(found)


def customer_copies(conn: sqlite3.Connection, action_id: int, name: str | None) -> list[EarlierCopy]:
    """Where a new customer exists already: in the mirror ('customer Harbor Bistro (4410) in NetSuite'), or
    approved here before under the same name ('new customer action 12, approved by mike at ...')."""
    found = []
    for ns_id in same_name_customers(conn, name):
        company = conn.execute(COMPANY_NAME, (ns_id,)).fetchone()
        found.append(EarlierCopy(f"customer:{ns_id}", f"customer {(company and company[0]) or '(no name)'} ({ns_id}) "
                                                      "in NetSuite"))
    key = name_key(name)
    for other, company, status, by, at in conn.execute(APPROVED_CUSTOMERS, (action_id,)):
        if key and name_key(company) == key:
            sent = ", sent to NetSuite" if status == "executed" else ""
            found.append(EarlierCopy(f"action:{other}", f"new customer action {other} ({company}), approved by "
                                                        f"{by or 'someone'} at {(at or '?')[:16].replace('T', ' ')}"
                                                        f"{sent}"))
    return found


def earlier_copies(conn: sqlite3.Connection, item_id: int, order: ReviewedOrder) -> list[EarlierCopy]:
    """Where this order exists already, one each ("review item 12 (same PO number), approved by ...")."""
    params = {"id": item_id, "customer_id": order.customer_id, "po": order.po_number or ""}
    found = [EarlierCopy(f"item:{other}", f"review item {other} ({why}), approved by {by or 'someone'} at "
                                          f"{(at or '?')[:16].replace('T', ' ')}")
             for other, by, at, why in conn.execute(EARLIER_APPROVALS, params)]
    found += [EarlierCopy(f"so:{ns_id}", f"sales order {number} in NetSuite")
              for ns_id, number in conn.execute(MIRRORED_ORDERS, params)]
    return found


def _duplicate(exists: str, thing: str, copies: list[EarlierCopy], unseen: list[EarlierCopy]) -> DuplicateOrder:
    # `exists` names what is there already ('PO DF-1'), `thing` what approving makes another of ('sales order').
    told = f"{exists} exists already: {'; '.join(c.text for c in copies)}. "
    if len(unseen) < len(copies):  # the reviewer consented to the others; these came after (or were not shown)
        told += (f"Your page did not show {'; '.join(c.text for c in unseen)}. Approving creates another {thing}; "
                 "tick \"approve anyway\" again if that is still meant, or reject this copy")
    else:
        told += (f"Approving it again creates a second {thing}; tick \"approve anyway\" if that is meant, or "
                 "reject this copy")
    return DuplicateOrder(told, (c.key for c in copies))


def approve_order(conn: sqlite3.Connection, item_id: int, reviewer: str, order: ReviewedOrder, now: str, *,
                  approve_anyway: Collection[str] = (), shown: Mapping[int, str] | None = None,
                  unconverted: str | None = None) -> Decision:
    """Close a review item as approved and queue its `create_sales_order` action (NetSuite REST shape).

    An order that exists already (earlier_copies) raises DuplicateOrder unless every copy is among
    `approve_anyway`, the keys of the copies the reviewer was shown and confirmed a second sales order
    despite: a copy approved since (by someone else) needs its own say-so. The ledger event records what
    the order repeats, and `unconverted`, what the reviewer confirmed booking a PO's figures unconverted in another
    currency as.

    Each line's customer item code is remembered as its item (customer_item_xref). `shown` gives, by line number,
    the item the reviewer's page showed each line with: a line approved with that item is remembered only where
    the code has no mapping yet, so a page loaded before another reviewer's correction does not undo it. Without
    `shown` every line counts as chosen by the reviewer.
    """
    row = conn.execute(GET_ITEM, (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"review item {item_id} does not exist")
    if row[0] not in OPEN_ORDER:
        return _already("this order", row[0], row[3], row[4])
    customer = conn.execute(ORDER_CUSTOMER, (order.customer_id,)).fetchone()
    if customer is None:
        raise DecisionError(f"customer {order.customer_id!r} is not in the mirror (or was deleted)")
    if customer[1]:
        raise DecisionError(f"customer {customer[0] or '(no name)'} ({order.customer_id}) is inactive in NetSuite, "
                            "which takes no new transactions for it: choose another customer, or reactivate it in "
                            "NetSuite and approve once the mirror has the change")
    for line in order.lines:
        if conn.execute(KNOWN_ITEM, (line.item_id,)).fetchone() is None:
            raise DecisionError(f"line {line.line_no}: item {line.item_id!r} is not in spec_items")
    for charge in order.charges:
        if conn.execute(KNOWN_ITEM, (charge.item_id,)).fetchone() is None:
            raise DecisionError(f"charge {charge.text}: item {charge.item_id!r} is not in spec_items")
    copies = earlier_copies(conn, item_id, order)
    unseen = [c for c in copies if c.key not in approve_anyway]
    if unseen:
        raise _duplicate(f"PO {order.po_number or '(no number)'}", "sales order", copies, unseen)
    parsed = json.loads(row[2]) if row[2] else {}
    # The currency the reviewer booked it in (the order form's), else the PO's as parsed: NetSuite would book the
    # customer's otherwise.
    currency = (order.currency if "currency" in order.model_fields_set
                else parsed.get("currency") if isinstance(parsed, dict) else None)
    payload = salesorder_payload(order, external_id=f"gfs-review-{item_id}",
                                 currency=currency if isinstance(currency, str) else None)
    action_id = conn.execute(INSERT_ORDER_ACTION, (
        order.customer_id, json.dumps(payload), item_id, f"review_item:{item_id}:create_sales_order",
        now, now, reviewer, now)).lastrowid
    remembered = _remember_items(conn, order.customer_id, order, parsed, now, shown)
    conn.execute(CLOSE_ITEM, {"status": "approved", "customer_id": order.customer_id, "by": reviewer, "at": now,
                              "reason": None, "id": item_id})
    append_event(conn, "review.approved", "review_item", str(item_id),
                 {"action_id": action_id, "customer_id": order.customer_id, "reviewer": reviewer,
                  "total": float(order.total), "xref_remembered": remembered,
                  "charges_left_off": [{"description": c.description, "amount": float(c.amount)}
                                       for c in order.charges_left_off] or None,
                  # How many of the payload's lines, at its end, are carried charges: the payload cannot tell a
                  # product line of quantity 1 without a unit from one (the approved-order page reads this).
                  "charges_carried": len(order.charges),
                  "reassigned_from": row[1] if row[1] != order.customer_id else None,
                  "approved_despite": [c.text for c in copies] or None, "approved_unconverted": unconverted},
                 dedupe_key=f"review.approved:{item_id}", created_at=now)
    note = f"; remembered {remembered} item code(s) for next time" if remembered else ""
    return Decision(True, "approved", f"order approved and queued for NetSuite as action {action_id}{note}", action_id)


def reject_order(conn: sqlite3.Connection, item_id: int, reviewer: str, reason: str | None, now: str) -> Decision:
    """Close a review item as rejected, with the reviewer's reason."""
    row = conn.execute(GET_ITEM, (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"review item {item_id} does not exist")
    if row[0] not in OPEN_ORDER:
        return _already("this order", row[0], row[3], row[4])
    text = _reason(reason)  # after: no reason makes a missing or decided order anything else
    conn.execute(CLOSE_ITEM, {"status": "rejected", "customer_id": None, "by": reviewer, "at": now, "reason": text,
                              "id": item_id})
    append_event(conn, "review.rejected", "review_item", str(item_id), {"reviewer": reviewer, "reason": text},
                 dedupe_key=f"review.rejected:{item_id}", created_at=now)
    return Decision(True, "rejected", "order rejected")


def apply_edits(payload: Mapping[str, Any], changes: Mapping[str, str] | None) -> tuple[dict[str, Any], list[str]]:
    """The payload with editable text fields replaced (pure); returns it and the names of fields that changed."""
    updated = dict(payload)
    changed = []
    for name, value in (changes or {}).items():
        if name not in EDITABLE_FIELDS or not isinstance(updated.get(name), str):
            raise DecisionError(f"{name!r} cannot be edited on this action")
        value = plain_text(value)
        if not value:
            raise DecisionError(f"{name} cannot be empty")
        # Compared as the form shows it: a draft ending in a newline (a sign-off) posted back untouched is no
        # edit, and keeps its text as drafted.
        if value == plain_text(updated[name]):
            continue
        if len(value) > MAX_EDIT[name]:
            raise DecisionError(f"{name} is longer than {MAX_EDIT[name]} characters")
        if name == "subject" and not re.fullmatch(ONE_LINE, value):  # a line break would start another header
            raise DecisionError("subject must be one line")
        updated[name] = value
        changed.append(name)
    return updated, changed


def _staged_action(conn: sqlite3.Connection, action_id: int) -> tuple[Any, ...]:
    row = conn.execute(GET_ACTION, (action_id,)).fetchone()
    if row is None:
        raise NotFound(f"proposed action {action_id} does not exist")
    return tuple(row)


def changed_since_loaded(seen: str, by: str | None, at: str, *, workflow: str | None = None) -> str:
    """Why a form from an older page was refused (pure): who changed the action and when, if known; `workflow`: the
    workflow that redrafted it."""
    if not seen:
        return "the form does not say which version of the action it showed; nothing was done. Reload and review it"
    how = f"redrafted by {workflow}" if workflow else f"changed by {by}" if by else "changed"
    return (f"{how} at {at[:19].replace('T', ' ')} UTC after you loaded the page; nothing was saved or decided. "
            "Review it again")


def _changed_by(conn: sqlite3.Connection, action_id: int, updated_at: str,
                seen: str) -> tuple[str | None, str | None]:
    """(reviewer, workflow) that made the action's current version after version `seen`, each None when not theirs
    (or not known)."""
    edited = conn.execute(EDITED_BY, (str(action_id), updated_at)).fetchone()
    if edited is not None:
        return edited[0], None
    redrafted = conn.execute(REDRAFTED_BY, {"id": action_id, "seen": seen}).fetchone()
    return None, redrafted[0] if redrafted else None


def _check_unchanged(conn: sqlite3.Connection, action_id: int, updated_at: str, seen: str) -> None:
    # A form from an older page would overwrite (or approve without seeing) someone else's saved edit.
    if seen != updated_at:
        by, workflow = _changed_by(conn, action_id, updated_at, seen)
        raise DecisionError(changed_since_loaded(seen, by, updated_at, workflow=workflow))


def _saved_already(conn: sqlite3.Connection, action_id: int, reviewer: str, updated_at: str, payload: dict[str, Any],
                   changes: Mapping[str, str]) -> bool:
    # A Save sent twice (a double click, a resubmit): the first saved the text, so the second's page is one version
    # behind. Nothing of anyone's is lost when the version is this reviewer's own with exactly the posted text.
    edited = conn.execute(EDITED_BY, (str(action_id), updated_at)).fetchone()
    if edited is None or edited[0] != reviewer:
        return False
    try:
        return not apply_edits(payload, changes)[1]
    except DecisionError:  # not a text this action takes: refused as changed since, as before
        return False


def edit_action(conn: sqlite3.Connection, action_id: int, reviewer: str, changes: Mapping[str, str], now: str, *,
                seen: str) -> Decision:
    """Save a reviewer's rewording of a staged action (subject, body, note), if it is still at version `seen`."""
    status, kind, payload_json, by, at, updated_at = _staged_action(conn, action_id)
    if status != "staged":
        return _already("this action", status, by, at)
    if changes and seen and seen != updated_at and _saved_already(conn, action_id, reviewer, updated_at, json.loads(payload_json),
                                                      changes):
        return Decision(False, status, "already saved; nothing changed")
    _check_unchanged(conn, action_id, updated_at, seen)
    payload, changed = apply_edits(json.loads(payload_json), changes)
    if not changed:
        return Decision(False, status, "nothing to save: the text is unchanged")
    conn.execute(EDIT_ACTION, {"payload": json.dumps(payload), "at": now, "id": action_id, "seen": seen})
    append_event(conn, "action.edited", "proposed_action", str(action_id),
                 {"reviewer": reviewer, "kind": kind, "fields": changed}, created_at=now)
    return Decision(True, status, f"saved {', '.join(changed)}")


def _check_still_owed(conn: sqlite3.Connection, action_id: int, kind: str, standard_terms: int | None) -> None:
    # The warm tick redraws or withdraws a stale plan (worker/stale_plans.py); until it has run, and for an API
    # proposal ever, the mirror is ahead of the draft, and an approval would demand money already paid (or hold
    # service for it). A plan's email counts as such once money on account, applied to nothing yet, covers
    # everything past due (stale_plans._paid_on_account: the flow would draft no email then).
    if gone := action_not_owed(conn, action_id, standard_terms=standard_terms):
        what, would, then = OWED_KINDS[kind]
        raise DecisionError(f"{what_changed(gone)} since this {what} was drafted: approving it would {would}. {then}")


def _hold_not_warranted(conn: sqlite3.Connection, payload: dict[str, Any], standard_terms: int | None) -> str | None:
    # A plan's hold whose invoices are all still owed may have lost its reason to money on account (an unapplied
    # payment, a credit memo), which moves no invoice: the warm tick flags its plan stale, but may not have run yet.
    # Imported here: the flows are not the review queue's weight.
    from worker.flows.collection_queries import hold_not_warranted

    return hold_not_warranted(conn, str(payload.get("customer_id")), standard_terms=standard_terms)


def _check_hold_warranted(conn: sqlite3.Connection, payload: dict[str, Any], standard_terms: int | None) -> None:
    if why := _hold_not_warranted(conn, payload, standard_terms):
        raise DecisionError(f"The reason for this hold no longer holds: {why}. Approving it would hold the "
                            "customer's service for nothing. Reject it")


def _check_memo_as_drafted(conn: sqlite3.Connection, kind: str, payload: dict[str, Any]) -> None:
    if change := memo_not_as_drafted(conn, payload):
        what, would = MEMO_KINDS[kind]
        memo = payload.get("credit_memo_number") or f"#{payload.get('credit_memo_id')}"
        raise DecisionError(f"Credit memo {memo} {change.text} since this {what} was drafted: approving it would "
                            f"{would}. {MEMO_NEXT if change.withdrawn else MEMO_TOTAL}")


def _order_gone(conn: sqlite3.Connection, kind: str, payload: dict[str, Any]) -> tuple[str, bool] | None:
    """How the draft's sales order is no order any more ('was cancelled in NetSuite', False), or is not in the
    mirror at all ('is not in the mirror', True), or None while it stands. A request to price an item that another
    live order of the customer uses stays, as the workflow keeps it (worker/flows/assembly_item.py
    reconciles its requests with the live orders)."""
    so_id = str(payload.get("sales_order_id") or "")
    row = conn.execute(ORDER_NOW, (so_id,)).fetchone() if so_id else None
    if row is not None and not (row[1] or row[2]):
        return None
    if kind == "price_new_assembly_item":
        # Imported here: the flows are not the review queue's weight.
        from worker.flows.assembly_item import STILL_ORDERED

        still = (str(payload.get("item_id")), str(payload.get("customer_id")), so_id)
        if conn.execute(STILL_ORDERED, still).fetchone() is not None:
            return None
    if row is None:  # never mirrored (or no longer): as good as gone, since nothing shows the order stands
        named = payload.get("tran_id") or (f"#{so_id}" if so_id else None)
        return (f"Sales order {named} is not in the mirror (its events never arrived, or it was removed)" if named
                else "The draft names no sales order"), True
    when = f" at {str(row[1])[:16].replace('T', ' ')} UTC" if row[1] else ""
    return f"Sales order {row[0]} was {'deleted' if row[1] else 'cancelled'} in NetSuite{when}", False


def _check_order_live(conn: sqlite3.Connection, kind: str, payload: dict[str, Any]) -> None:
    if found := _order_gone(conn, kind, payload):
        what, would = ORDER_KINDS[kind]
        gone, unseen = found
        if unseen:
            raise DecisionError(f"{gone}, so nothing shows it is still an order: approving this {what} could "
                                f"{would}. {ORDER_UNSEEN}")
        raise DecisionError(f"{gone} since this {what} was drafted: approving it would {would}. {ORDER_NEXT}")


def _check_quote_as_drafted(conn: sqlite3.Connection, payload: dict[str, Any], rules: PriceRules) -> None:
    if why := quote_not_as_drafted(conn, payload, rules):
        raise DecisionError(why)


def _check_still_unpriced(conn: sqlite3.Connection, payload: dict[str, Any], now: str) -> None:
    # An import-reference run may have priced the item since the request was staged, on the date of every live order
    # using it (as the workflow judges each order): approving it would ask for a price already on file. The workflow withdraws it at the customer's next order event; until then it is refused.
    # Imported here: the flows are not the review queue's weight.
    from worker.flows.assembly_item import priced_for_every_order, priced_now

    customer = payload.get("customer_id")
    if price := priced_for_every_order(conn, str(payload.get("item_id")), customer, now[:10]):
        shown = payload.get("item_code") or payload.get("item_name") or payload.get("item_id")
        owner = payload.get("customer_name") or f"customer {customer}"
        raise DecisionError(f"{priced_now(shown, owner, price)}: approving this request to price a new assembly item "
                            f"would ask for a price already on file. {ASSEMBLY_PRICED_NEXT}")


def _check_new_customer(conn: sqlite3.Connection, action_id: int, payload: dict[str, Any],
                        approve_anyway: Collection[str]) -> list[EarlierCopy]:
    # The same name checked when it was staged (possible_duplicate_of), again: the customer may have been entered
    # in NetSuite since, or another copy of the proposal (a retry without Idempotency-Key) approved.
    copies = customer_copies(conn, action_id, payload.get("companyName"))
    if unseen := [c for c in copies if c.key not in approve_anyway]:
        raise _duplicate(f"A customer named {payload.get('companyName')!r}", "customer", copies, unseen)
    return copies


def decide_action(conn: sqlite3.Connection, action_id: int, reviewer: str, approve: bool, now: str, *, seen: str,
                  reason: str | None = None, changes: Mapping[str, str] | None = None,
                  approve_anyway: Collection[str] = (), standard_terms: int | None = None,
                  price_rules: PriceRules | None = None) -> Decision:
    """Approve (with any last edits) or reject (with a reason) a staged action still at version `seen`.

    A new customer (create_customer) whose name is a live customer's or another approved one's raises
    DuplicateOrder unless each of those copies is among `approve_anyway` (as approve_order's). `standard_terms`:
    the standard program's payment days ([programs.standard]), with which a collection plan's email and hold are
    checked against the account as the flow drew them (stale_plans, collection_queries.hold_not_warranted).
    `price_rules`: what a price review (review_quote_pricing) is judged by, as its workflow judges it (None: the
    settings' defaults, on `now`'s date)."""
    status, kind, payload_json, by, at, updated_at = _staged_action(conn, action_id)
    if status != "staged":
        return _already("this action", status, by, at)
    text = None if approve else _reason(reason)  # after: no reason makes a missing or decided action anything else
    _check_unchanged(conn, action_id, updated_at, seen)
    if approve and kind in OWED_KINDS:
        _check_still_owed(conn, action_id, kind, standard_terms)
    payload, changed = apply_edits(json.loads(payload_json), changes if approve else None)
    if approve and kind == "service_hold" and "plan" in payload:  # drawn by ar_aging_action_plan, not the API
        _check_hold_warranted(conn, payload, standard_terms)
    if approve and kind in MEMO_KINDS:
        _check_memo_as_drafted(conn, kind, payload)
    if approve and kind in ORDER_KINDS:
        _check_order_live(conn, kind, payload)
    if approve and kind == "review_quote_pricing":
        _check_quote_as_drafted(conn, payload, price_rules or PriceRules.default(now))
    if approve and kind == "price_new_assembly_item":
        _check_still_unpriced(conn, payload, now)
    despite = _check_new_customer(conn, action_id, payload, approve_anyway) \
        if approve and kind == "create_customer" else []
    if not approve and (gone := action_not_owed(conn, action_id, standard_terms=standard_terms)):
        # Rejected because it names money no longer owed (as the refusal to approve it advises): a request for
        # the corrected draft, which a collection plan's redraw then proposes. Rejected while still owed as
        # named, it is a reviewer's judgment the redraw respects (worker/flows/plan_redraw.py).
        payload["rejected_as_stale"] = what_changed(gone)
    elif not approve and kind == "service_hold" and "plan" in payload and (
            why := _hold_not_warranted(conn, payload, standard_terms)):
        # Likewise a plan's hold whose reason is gone (as the refusal to approve it advises): no judgment against
        # holding this customer, so a redraw may propose a hold again once a reason arises.
        payload["rejected_as_stale"] = HOLD_GONE.format(why)
    if approve and kind == "create_customer":
        # NetSuite refuses a second record under one externalId: a sender retrying after a timeout (the first
        # create may have landed) cannot make the customer twice, as gfs-review-<item> guards a sales order.
        payload.setdefault("externalId", f"gfs-action-{action_id}")
    new_status = "approved" if approve else "rejected"
    conn.execute(DECIDE_ACTION, {"status": new_status, "payload": json.dumps(payload), "by": reviewer, "at": now,
                                 "reason": text, "id": action_id, "seen": seen})
    event = {"reviewer": reviewer, "kind": kind, "edited": changed} if approve else \
        {"reviewer": reviewer, "kind": kind, "reason": text}
    if despite:
        event["approved_despite"] = [c.text for c in despite]
    append_event(conn, f"action.{new_status}", "proposed_action", str(action_id), event,
                 dedupe_key=f"action.decided:{action_id}", created_at=now)
    return Decision(True, new_status, f"action {action_id} {new_status}", action_id)


def triage_observations(conn: sqlite3.Connection, ids: Iterable[int], reviewer: str, status: str,
                        now: str) -> list[Decision]:
    """Move `needs_review` observations to approved_for_reuse or rejected; already-triaged ones are left alone."""
    if status not in TRIAGE:
        raise DecisionError(f"unknown triage decision {status!r} (approved_for_reuse or rejected)")
    results = []
    for obs_id in dict.fromkeys(ids):
        row = conn.execute(GET_OBSERVATION, (obs_id,)).fetchone()
        if row is None:
            raise NotFound(f"observation {obs_id} does not exist")
        if row[0] != "needs_review":
            results.append(_already(f"observation {obs_id}", row[0], row[1], row[2]))
            continue
        conn.execute(DECIDE_OBSERVATION, (status, reviewer, now, obs_id))
        append_event(conn, TRIAGE[status], "reflexion", str(obs_id), {"reviewer": reviewer},
                     dedupe_key=f"reflexion.triaged:{obs_id}", created_at=now)
        results.append(Decision(True, status, f"observation {obs_id} {status.replace('_', ' ')}"))
    return results
