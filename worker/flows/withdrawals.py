"""Taking back a workflow's drafts when the NetSuite record they are about is deleted (or, for a credit memo,
voided or moved to another customer: worker/flows/invoice_dispute.py; for a sales order's price review, changed:
superseded by its new review, or withdrawn as within program now, worker/flows/quote_review.py).

A workflow subscribes to its record's `*.deleted` event and answers with `Withdrawal`s; the runner closes
each draft that is still `staged` in the commit that records the run (worker/workflow_runner.py WITHDRAW):
rejected, decided by the workflow, the reason naming the deletion, an `action.rejected` event, like the
collection plan's "superseded by plan" (worker/flows/ar_aging_action_plan.py). So it is at least once,
idempotent, and judged on the row as it is at that commit.

A staged draft is withdrawn even when a reviewer edited it: unlike a redraft, which must not overwrite a
person's wording of a record that still exists, a deletion makes every undecided draft about the record
wrong whoever wrote it, and left staged it stays approvable (a dispute confirmation for a memo NetSuite no
longer has). The edit stays readable on the rejected row, and the observation names it. What a person
already decided (approved, rejected, executed) is never touched; the observation names it too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker.flows.names import WORKFLOW_NAMES
from worker.flows.order_lines import ORDER
from worker.flows.reads import record_id
from worker.ledger import Event
from worker.pricing import listed
from worker.workflow_runner import Withdrawal, WorkflowResult

# The drafts behind some dedupe keys (unique), whatever their status; `edited`: a person saved a change.
DRAFTS = """
SELECT id, kind, dedupe_key, status, status = 'staged' AND updated_at <> created_at, decided_by, decision_reason,
       customer_id
FROM proposed_actions WHERE dedupe_key IN (SELECT value FROM json_each(?)) ORDER BY id
"""
# The same, for the drafts whose keys are `key` or start with `key:` (a draft per change of the record: a range
# of the unique index on dedupe_key, ';' following ':').
DRAFTS_UNDER = """
SELECT id, kind, dedupe_key, status, status = 'staged' AND updated_at <> created_at, decided_by, decision_reason,
       customer_id
FROM proposed_actions WHERE dedupe_key = :key OR (dedupe_key >= :key || ':' AND dedupe_key < :key || ';') ORDER BY id
"""
# When the mirror's row of a record last changed, by the event's record type: its `last_modified`, the newest
# event's it holds, a tombstone's included (worker/cdc/versions.py).
MIRRORED_AT = {"creditmemo": "SELECT last_modified FROM credit_memo WHERE ns_id = ?",
               "salesorder": "SELECT last_modified FROM transactions WHERE ns_id = ?"}
WITHDRAWN = "withdrawn: "  # how the reason of a draft withdrawn by a deletion starts
SUPERSEDED = "superseded by "  # ... and of one a newer draft of its record replaced, as a collection plan's
DELETED = "was deleted"  # what happened to the record, as the observation and the reason say it
CANCELLED = "was cancelled"  # a sales order's: still in NetSuite, but no order (worker/flows/order_lines.py)
CHANGED = "was changed"  # a sales order whose price review judged it again (worker/flows/quote_review.py)
LINE_CLOSED = "closed"  # a sales order's line NetSuite closed (transaction_lines.is_closed): on the order, not ordered
LINE_REMOVED = "removed"  # ... or one its update's item sublist no longer has
MOVED = "was moved to "  # a record NetSuite gave another customer (its drafts were for the old one)


@dataclass(frozen=True)
class Draft:
    """One proposal about the deleted record, as the handler found it."""

    id: int
    kind: str
    dedupe_key: str
    status: str
    edited: bool
    decided_by: str | None
    decision_reason: str | None
    customer_id: str | None = None  # whom it was drafted for

    @property
    def withdrawn(self) -> bool:
        """Already withdrawn by a deletion or a change, or superseded (a deletion event has nothing to say about it):
        closed by a workflow, so a person's rejection whose reason happens to start the same way stays theirs."""
        return (self.status == "rejected" and self.decided_by in WORKFLOW_NAMES
                and (self.decision_reason or "").startswith((WITHDRAWN, SUPERSEDED)))

    def named(self) -> str:
        """How observations name it: '#12 send_dispute_confirmation'."""
        return f"#{self.id} {self.kind}"


def drafts(conn: sqlite3.Connection, keys: Sequence[str]) -> list[Draft]:
    """The proposals holding these dedupe keys, oldest first."""
    found = conn.execute(DRAFTS, (json.dumps(list(keys)),))
    return [Draft(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7]) for r in found]


def drafts_under(conn: sqlite3.Connection, key: str) -> list[Draft]:
    """The proposals holding `key` or a key under it (`key:…`), oldest first."""
    return [Draft(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7])
            for r in conn.execute(DRAFTS_UNDER, {"key": key})]


def changed_at(conn: sqlite3.Connection, event: Event) -> str:
    """When NetSuite made the change a run acts on, for people ('2026-11-03 10:00 UTC'; lastModifiedDate is to the
    minute).

    A run judges the record as the mirror holds it, which a later event of the same drain may have changed already
    (the memo's text edited at 10:30, then voided at 10:40: the 10:30 event's run finds it voided), so the row's own
    version dates it, not the event handled. A deletion dates itself (its run acts on the event, whatever the row
    holds now), as does an event whose record the mirror does not hold."""
    query = None if event.type.endswith(".deleted") else MIRRORED_AT.get(event.entity_type)
    row = conn.execute(query, (record_id(event),)).fetchone() if query else None
    return for_people(row[0] if row and row[0] else event.payload.get("last_modified") or event.created_at)


def for_people(when: str) -> str:
    """An ISO instant as reasons and observations say it, to the minute: '2026-11-03 10:00 UTC' (pure)."""
    return f"{str(when)[:16].replace('T', ' ')} UTC"


def withdrawn_reason(record: str, when: str, change: str = DELETED) -> str:
    """The decision_reason of a withdrawn draft: 'withdrawn: credit memo CM-12 was deleted in NetSuite at …' (`when`:
    changed_at's)."""
    return f"{WITHDRAWN}{record} {change} in NetSuite at {when}"


def superseded_reason(by: str, record: str, when: str) -> str:
    """The decision_reason of a draft a newer one replaced: 'superseded by the price review of sales order SO-12 as
    changed in NetSuite at …'."""
    return f"{SUPERSEDED}{by} of {record} as changed in NetSuite at {when}"


def lines_changed(changed: Mapping[str, Sequence[str]]) -> str:
    """The change of a sales order whose lines for some items went (LINE_CLOSED or LINE_REMOVED: the items' names), as
    reasons say it: 'had its line for KIT-RS-BRK closed', 'had its lines for A and B closed and its line for C
    removed' (pure)."""
    said = [f"its line{'s' if len(items) > 1 else ''} for {listed(items)} {what}"
            for what, items in changed.items() if items]
    return f"had {' and '.join(said)}"


def moved_to(owner: str) -> str:
    """The change of a record moved to another customer, as reasons say it: 'was moved to Birchwood Middle School'
    (pure)."""
    return f"{MOVED}{owner}"


def changed_sentence(record: str, owner: str, change: str, when: str) -> str:
    """The sentence an observation opens with: 'Sales order SO-12 for Driscoll Foods was deleted in NetSuite at ….'
    (pure)."""
    return f"{record[:1].upper()}{record[1:]} for {owner} {change} in NetSuite at {when}."


def changed_reason(record: str, when: str, now: str) -> str:
    """The decision_reason of a draft its record's change made needless: 'withdrawn: sales order SO-12 was changed in
    NetSuite at …; its prices are now within program' (`now` says what the change made of it)."""
    return f"{withdrawn_reason(record, when, CHANGED)}; {now}"


def withdraw_drafts(customer_id: str | None, record: str, owner: str, when: str, found: Sequence[Draft],
                    output: dict[str, Any], *, release_key: bool = False, notes: Sequence[str] = (),
                    change: str = DELETED) -> WorkflowResult | None:
    """The run of a deletion: withdraw the staged drafts, name the decided ones (None when there is neither).

    `record` names the deleted record ('credit memo CM-12'), `owner` its customer, `when` the change (changed_at's);
    `notes` add sentences (drafts kept for a reason of the workflow's own). The runner adds which drafts it did
    withdraw. `change` says what became of the record when it still exists ('was voided'): the output then has no
    `deleted`.
    """
    found = [d for d in found if not d.withdrawn]
    if not found and not notes:
        return None
    staged = [d for d in found if d.status == "staged"]
    decided = [d for d in found if d.status != "staged"]
    parts = [changed_sentence(record, owner, change, when)]
    if edited := [d.named() for d in staged if d.edited]:
        parts.append(f"Edited by a reviewer, not decided: {', '.join(edited)}.")
    if decided:
        shown = [f"{d.named()} ({d.status}{f' by {d.decided_by}' if d.decided_by else ''})" for d in decided]
        parts.append(f"Already decided, left as it is: {', '.join(shown)}.")
    reason = withdrawn_reason(record, when, change)
    return WorkflowResult(customer_id, " ".join([*parts, *notes]),
                          output={**output, "deleted": True} if change == DELETED else output,
                          withdrawals=[Withdrawal(d.dedupe_key, reason, release_key) for d in staged])


def withdraw_order_drafts(conn: sqlite3.Connection, event: Event, so_id: str, found: Sequence[Draft], *,
                          release_key: bool = False, notes: Sequence[str] = (),
                          change: str = DELETED) -> WorkflowResult | None:
    """The run of a sales order's deletion (or cancellation) for an order workflow: its drafts `found` withdrawn
    or named. A cancellation's output says `cancelled`, so that it is said once (order_lines.NEWLY_CANCELLED)."""
    row = conn.execute(ORDER, (so_id,)).fetchone()
    tran_id, customer_id, company = (row[0], row[1], row[4]) if row else (None, None, None)
    if event.type.endswith(".deleted") or not customer_id:
        # a deletion names the customer the order had just before it (worker/cdc); an update's may be stale (a later
        # event of the same drain moved it back): the run is the order's customer's as the mirror holds it
        customer_id = event.payload.get("customer_id") or customer_id
    # sales_order_id in the output: a run that waited for the order's lines is over (order_lines.WAITED)
    output = {"sales_order_id": so_id, "tran_id": tran_id, **({"cancelled": True} if change == CANCELLED else {})}
    return withdraw_drafts(customer_id, f"sales order {tran_id or so_id}", company or f"customer {customer_id}",
                           changed_at(conn, event), found, output, release_key=release_key, notes=notes,
                           change=change)
