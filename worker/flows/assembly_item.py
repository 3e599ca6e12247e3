"""new_assembly_item: a sales order uses an assembly item that has no price yet.

An assembly item is one spec_items marks `is_assembly`, or one NetSuite sent on the order line with itemType
"Assembly" (any case, plain or as a select's id/refName, kept in transaction_lines.raw_json): an item NetSuite
knows as an assembly may not be in spec_items yet, and a new one is the likeliest to have no price.

Each such item becomes one `price_new_assembly_item` proposal per item and customer (its dedupe key), so the
team is asked once to price it, however many orders use it before they do. Orders without assembly lines
are not this workflow's business (no run, no observation). An order NetSuite sent without its lines is
checked on the update that brings them (worker/flows/order_lines.py).

An order deleted or cancelled in NetSuite withdraws the staged requests for its items (worker/flows/withdrawals.py;
a cancelled order is no order: it asks for nothing either), unless another live order of the customer still uses
the item: that order's need is the same request (it was deduplicated against it), so it stays. A withdrawn
request gives up its dedupe key, so an order that uses the item later asks afresh.

So does a live order's update after which it no longer orders the item of a request that names it: NetSuite closed
the line, or the item sublist no longer has it (the order's lines are replaced as a whole). It runs although the
order was looked at already, and a request kept (another live order uses the item) is said so once. A request naming
another order is that order's need while it orders the item; when it no longer does, the update of the last live
order that still used it (found by the dedupe key of an item the order asked for, as its runs' `unpriced` remember,
or has on a closed line) withdraws it.

An order NetSuite moves to another customer orders for the new one only: the old customer's requests for its items
are withdrawn (unless another live order of the old customer uses the item), and the order is looked at again for
the new customer, in one run (the customer its runs were for tells the move, once).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

from worker.cdc.models import ORDER_CANCELLED
from worker.env import Env
from worker.flows import names
from worker.flows.order_lines import gate, newly_cancelled, order_name
from worker.flows.reads import record_id
from worker.flows.withdrawals import (
    CANCELLED,
    DELETED,
    LINE_CLOSED,
    LINE_REMOVED,
    changed_at,
    changed_sentence,
    drafts,
    lines_changed,
    moved_to,
    withdraw_drafts,
    withdraw_order_drafts,
)
from worker.ledger import Event
from worker.pricing import (
    ProgramTerms,
    expected_price,
    price_in,
    program_for,
    standard_program,
)
from worker.workflow_runner import Proposal, Workflow, WorkflowResult

NAME = names.ASSEMBLY_ITEM
# `gone`: deleted, or cancelled (no order either).
ORDER = f"""
SELECT o.tran_id, o.customer_id, o.tran_date,
       o.deleted_at IS NOT NULL OR {ORDER_CANCELLED.format(status="o.status")} AS gone, c.company_name, o.currency
FROM transactions o LEFT JOIN customers c ON c.ns_id = o.customer_id
WHERE o.ns_id = ?
"""
# The types NetSuite gives an order line `l`, lower case: itemType as text or as a select's id/refName, in the
# REST or the SuiteQL spelling (itemtype, refname): a one-column table (`type`) for IN and EXISTS. Shared with
# customer_quote_review's charge lines, so the two read a line's type alike.
_TYPE_PATHS = [f"$.{key}{part}" for key in ("itemType", "itemtype") for part in ("", ".id", ".refName", ".refname")]
LINE_TYPES = ("(SELECT lower(value) AS type FROM json_each(CASE WHEN json_valid(l.raw_json) THEN json_array("
              + ", ".join(f"json_extract(l.raw_json, '{path}')" for path in _TYPE_PATHS) + ") END))")
ASSEMBLY_LINES = f"""
SELECT l.line_no, l.item_id, l.item_name, l.quantity, l.units, l.rate,
       s.item_code, s.description, s.uom, s.pack_size
FROM transaction_lines l LEFT JOIN spec_items s ON s.item_id = l.item_id
WHERE l.transaction_id = ? AND l.item_id IS NOT NULL AND l.is_closed = 0
  AND (s.is_assembly = 1 OR 'assembly' IN {LINE_TYPES})
ORDER BY l.line_no
"""

# The staged requests for the items of a deleted or cancelled order (its lines stay in the mirror): the one that
# names it (asked for its customer then, which it may no longer be), and by their dedupe keys the ones for its
# items and customer, which may name another order; says whether each names this one.
STAGED_FOR_ORDER = """
SELECT p.dedupe_key, json_extract(p.payload_json, '$.item_id'), json_extract(p.payload_json, '$.item_code'),
       p.customer_id, json_extract(p.payload_json, '$.sales_order_id') = :so
FROM proposed_actions p
WHERE p.status = 'staged' AND p.kind = 'price_new_assembly_item' AND (
    json_extract(p.payload_json, '$.sales_order_id') = :so OR p.dedupe_key IN (
    SELECT 'price_new_assembly_item:' || l.item_id || ':' || o.customer_id
    FROM transactions o JOIN transaction_lines l ON l.transaction_id = o.ns_id WHERE o.ns_id = :so))
ORDER BY p.id
"""
# Another live (neither deleted nor cancelled) order of the request's customer that uses the item on a line NetSuite
# has not closed, newest first.
STILL_ORDERED = f"""
SELECT coalesce(o.tran_id, o.ns_id) FROM transaction_lines l JOIN transactions o ON o.ns_id = l.transaction_id
WHERE l.item_id = ? AND o.customer_id = ? AND o.ns_id <> ? AND o.type = 'salesorder' AND o.deleted_at IS NULL
  AND l.is_closed = 0
  AND NOT {ORDER_CANCELLED.format(status="o.status")}
ORDER BY o.tran_date DESC, o.ns_id DESC LIMIT 1
"""

# The items an order had: on its lines in the mirror (a closed one included), or asked for by a run of the
# workflow (`:asked`, ASKED's): a line an update removed is gone from the mirror, but the run that asked remembers it.
# (An item an update added after the order was looked at is not remembered: that update recorded no run.)
HAD = """(SELECT l.item_id AS item FROM transaction_lines l WHERE l.transaction_id = :so
         UNION SELECT value FROM json_each(:asked))"""
# The staged requests this order no longer orders the item of (no open line on it any more): those naming it, and by
# their dedupe keys those for an item it had and its customer, which name another order (`names_it` 0: withdrawn
# only when no other live order uses the item); `closed`: NetSuite closed its line (else an update removed it).
LINES_GONE = f"""
SELECT p.dedupe_key, json_extract(p.payload_json, '$.item_id'),
       coalesce(json_extract(p.payload_json, '$.item_code'), json_extract(p.payload_json, '$.item_name'),
                json_extract(p.payload_json, '$.item_id')),
       p.customer_id,
       EXISTS (SELECT 1 FROM transaction_lines l WHERE l.transaction_id = :so
               AND l.item_id = json_extract(p.payload_json, '$.item_id') AND l.is_closed = 1),
       json_extract(p.payload_json, '$.sales_order_id') IS :so
FROM proposed_actions p
WHERE p.kind = 'price_new_assembly_item' AND p.status = 'staged'
  AND (json_extract(p.payload_json, '$.sales_order_id') = :so OR p.dedupe_key IN (
       SELECT 'price_new_assembly_item:' || h.item || ':' || o.customer_id FROM transactions o, {HAD} h
       WHERE o.ns_id = :so))
  AND NOT EXISTS (SELECT 1 FROM transaction_lines l WHERE l.transaction_id = :so
                  AND l.item_id = json_extract(p.payload_json, '$.item_id') AND l.is_closed = 0)
ORDER BY p.id
"""
# The staged requests of the customer an order was moved from (`:before`): those naming it, and by their dedupe keys
# those for an item it had, which may name another order of that customer.
LEFT_BEHIND = f"""
SELECT p.dedupe_key, json_extract(p.payload_json, '$.item_id'),
       coalesce(json_extract(p.payload_json, '$.item_code'), json_extract(p.payload_json, '$.item_name'),
                json_extract(p.payload_json, '$.item_id')),
       p.customer_id, json_extract(p.payload_json, '$.sales_order_id') IS :so
FROM proposed_actions p
WHERE p.kind = 'price_new_assembly_item' AND p.status = 'staged' AND p.customer_id = :before
  AND (json_extract(p.payload_json, '$.sales_order_id') = :so OR p.dedupe_key IN (
       SELECT 'price_new_assembly_item:' || h.item || ':' || :before FROM {HAD} h))
ORDER BY p.id
"""
# The items the workflow's runs on the order asked to price (find_unpriced's `unpriced`, deduplicated ones included).
ASKED = """
SELECT DISTINCT u.value FROM workflow_run_log w, json_each(w.output_json, '$.unpriced') u
WHERE w.workflow = ? AND json_extract(w.output_json, '$.sales_order_id') = ? AND w.status = 'ok'
"""
# Whom the newest run of the workflow that looked at the order's lines was for (find_unpriced's, which says
# `unpriced`, or a move's): another customer than the order's now tells a move, and the run that handles it is the
# new customer's, so the move is handled once. A withdrawal's run may be a stale event's customer's: not asked.
RAN_FOR = """
SELECT customer_id FROM workflow_run_log
WHERE workflow = ? AND json_extract(output_json, '$.sales_order_id') = ? AND status = 'ok'
  AND (json_type(output_json, '$.unpriced') IS NOT NULL OR json_type(output_json, '$.moved_from') IS NOT NULL)
ORDER BY id DESC LIMIT 1
"""
COMPANY = "SELECT company_name FROM customers WHERE ns_id = ?"
# The requests a run of the workflow on the order already said stay (its output's `kept`): said once, not again on
# each later update of the order.
KEPT_NOTED = """
SELECT k.value FROM workflow_run_log w, json_each(w.output_json, '$.kept') k
WHERE w.workflow = ? AND json_extract(w.output_json, '$.sales_order_id') = ? AND w.status = 'ok'
"""


def withdraw_for_order(conn: sqlite3.Connection, event: Event, so_id: str,
                       change: str = DELETED) -> WorkflowResult | None:
    """A deleted (or cancelled) order's staged requests: withdrawn, or kept where another live order uses the item."""
    gone, kept = [], []
    for key, item_id, code, customer_id, names_it in conn.execute(STAGED_FOR_ORDER, {"so": so_id}).fetchall():
        other = conn.execute(STILL_ORDERED, (item_id, customer_id, so_id)).fetchone()
        if other is None:
            gone.append(key)
        elif names_it:  # one naming another live order is that order's request: nothing to say
            kept.append(f"The request to price {code or item_id} stays: {other[0]} uses it too.")
    if not gone and not kept:
        return None
    return withdraw_order_drafts(conn, event, so_id, drafts(conn, gone), release_key=True, notes=kept,
                                 change=change)


def withdraw_for_lines(conn: sqlite3.Connection, event: Event, so_id: str) -> WorkflowResult | None:
    """A live order's staged requests for items it no longer orders (line closed or removed): withdrawn, or kept
    where another live order uses the item (None when there is nothing new to say)."""
    order = conn.execute(ORDER, (so_id,)).fetchone()
    if order is None or order[3]:
        return None  # deleted or cancelled: withdraw_for_order's
    noted = {key for key, in conn.execute(KEPT_NOTED, (NAME, so_id))}
    gone, kept, notes = [], [], []
    changed: dict[str, list[str]] = {LINE_CLOSED: [], LINE_REMOVED: []}
    for key, item_id, shown, customer_id, closed, names_it in conn.execute(LINES_GONE, had(conn, so_id)).fetchall():
        other = conn.execute(STILL_ORDERED, (item_id, customer_id, so_id)).fetchone()
        if other is None:
            gone.append(key)
        elif key in noted or not names_it:  # one naming another order stays that order's: nothing to say
            continue
        else:
            kept.append(key)
            notes.append(f"The request to price {shown} stays: {other[0]} uses it too.")
        changed[LINE_CLOSED if closed else LINE_REMOVED].append(shown)
    if not gone and not kept:
        return None  # an update that changed nothing of what was asked records no run
    result = withdraw_order_drafts(conn, event, so_id, drafts(conn, gone), release_key=True, notes=notes,
                                   change=lines_changed(changed))
    return result and replace(result, output={**result.output, "kept": kept})


def had(conn: sqlite3.Connection, so_id: str) -> dict[str, str]:
    """The parameters of HAD for the order: its id and the items its runs asked for."""
    return {"so": so_id, "asked": json.dumps([item for item, in conn.execute(ASKED, (NAME, so_id))])}


def moved_from(conn: sqlite3.Connection, so_id: str) -> str | None:
    """The customer the order was moved from since the workflow's last run on it (None: not moved)."""
    order = conn.execute(ORDER, (so_id,)).fetchone()
    ran = conn.execute(RAN_FOR, (NAME, so_id)).fetchone()
    before = ran[0] if ran else None
    moved = order is not None and not order[3] and order[1] and before and before != order[1]
    return before if moved else None  # a cancelled order orders for no one: its cancellation said so


def withdraw_for_move(conn: sqlite3.Connection, event: Event, so_id: str, before: str, standard: ProgramTerms,
                      today: str) -> WorkflowResult:
    """The order is now another customer's: the old customer's requests for its items withdrawn (or kept where
    another live order of it uses the item), and the order looked at for the new customer, in one run."""
    gone, kept, notes = [], [], []
    for key, item_id, shown, customer_id, names_it in conn.execute(
            LEFT_BEHIND, {**had(conn, so_id), "before": before}).fetchall():
        other = conn.execute(STILL_ORDERED, (item_id, customer_id, so_id)).fetchone()
        if other is None:
            gone.append(key)
        elif names_it:  # one naming another order of the old customer is that order's: nothing to say
            kept.append(key)
            notes.append(f"The request to price {shown} stays: {other[0]} uses it too.")
    tran_id, customer_id, _date, _gone, company, _currency = conn.execute(ORDER, (so_id,)).fetchone()
    record, when = f"sales order {tran_id or so_id}", changed_at(conn, event)
    old = (conn.execute(COMPANY, (before,)).fetchone() or (None,))[0] or f"customer {before}"
    change = moved_to(company or f"customer {customer_id}")
    left = withdraw_drafts(customer_id, record, old, when, drafts(conn, gone), {}, release_key=True, notes=notes,
                           change=change)
    fresh = find_unpriced(conn, so_id, standard, today)
    said = [left.observation if left else changed_sentence(record, old, change, when)]
    output = fresh.output if fresh else {"sales_order_id": so_id, "tran_id": tran_id}
    return WorkflowResult(customer_id, " ".join(said + ([fresh.observation] if fresh else [])),
                          fresh.proposals if fresh else [], output={**output, "moved_from": before, "kept": kept},
                          withdrawals=left.withdrawals if left else [])


def find_unpriced(conn: sqlite3.Connection, so_id: str, standard: ProgramTerms, today: str) -> WorkflowResult | None:
    """Proposals for the order's unpriced assembly items (None when it has no assembly line, or is no order)."""
    order = conn.execute(ORDER, (so_id,)).fetchone()
    if order is None or order[3]:
        return None
    tran_id, customer_id, tran_date, _gone, company, currency = order
    lines = conn.execute(ASSEMBLY_LINES, (so_id,)).fetchall()
    if not lines:
        return None
    program = program_for(conn, customer_id, standard)
    on = tran_date or today
    proposals: dict[str, Proposal] = {}
    for line_no, item_id, item_name, quantity, units, rate, code, description, uom, pack in lines:
        if item_id in proposals or expected_price(conn, item_id, customer_id, on, program, uom=units):
            continue
        payload = {"item_id": item_id, "item_code": code, "item_name": item_name, "description": description,
                   "uom": uom or units, "pack_size": pack, "customer_id": customer_id, "customer_name": company,
                   "sales_order_id": so_id, "tran_id": tran_id, "tran_date": tran_date, "line": line_no,
                   "quantity": quantity, "quoted_rate": rate, "currency": currency, "program": program.program}
        proposals[item_id] = Proposal("price_new_assembly_item", payload, risk=2, customer_id=customer_id,
                                      dedupe_key=f"price_new_assembly_item:{item_id}:{customer_id}")
    name = order_name(tran_id, so_id, company, customer_id)
    distinct = len({line[1] for line in lines})
    if proposals:
        listed = ", ".join(f"{p.payload['item_code'] or p.payload['item_name'] or p.payload['item_id']} "
                           f"({quoted(p.payload['quoted_rate'], currency)})" for p in proposals.values())
        observation = f"{name}: {len(proposals)} of {distinct} assembly item(s) have no price on file: {listed}."
    else:
        observation = f"{name}: all {distinct} assembly item(s) already priced."
    output = {"sales_order_id": so_id, "assembly_items": distinct, "unpriced": sorted(proposals)}
    return WorkflowResult(customer_id, observation, list(proposals.values()), output=output)


def quoted(rate: float | None, currency: str | None) -> str:
    """A line's rate in the order's currency, as money() spells an amount but to a price's precision (money() rounds
    to the cent): 'quoted EUR 70.00', 'quoted $0.0345' (pure)."""
    return "no rate quoted" if rate is None else f"quoted {price_in(rate, currency)}"


def check_event(conn: sqlite3.Connection, event: Event, standard: ProgramTerms, today: str) -> WorkflowResult | None:
    """The check an order event calls for: once per order, when its lines are known; withdrawn if it is deleted
    or cancelled, or (a later update) if its line for the item is closed or removed; again if it was moved to another
    customer."""
    # Awaited lines without an assembly item leave no run, so the order stays awaited: an update that adds one
    # later is still checked.
    so_id = record_id(event)
    if event.type == "salesorder.deleted" and (withdrawn := withdraw_for_order(conn, event, so_id)):
        return withdrawn
    if newly_cancelled(conn, NAME, event, so_id) and (withdrawn := withdraw_for_order(conn, event, so_id, CANCELLED)):
        return withdrawn
    ready = gate(conn, NAME, event, so_id, "assembly item check")
    if ready.done and (before := moved_from(conn, so_id)):  # looked at for another customer: it orders for this one
        return withdraw_for_move(conn, event, so_id, before, standard, today)
    if ready.done:  # looked at once; a line NetSuite closed or removed since may make a request of that look needless
        return withdraw_for_lines(conn, event, so_id)
    return find_unpriced(conn, so_id, standard, today) if ready.proceed else ready.instead


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Look for unpriced assembly items on a new sales order (or the update that first brings its lines)."""
    today = env.clock().astimezone(env.settings.timezone).date().isoformat()
    return await env.db.read_sync(check_event, event, standard_program(env.settings), today)


WORKFLOW = Workflow(NAME, ("salesorder.created", "salesorder.updated", "salesorder.sublists_updated",
                                 "salesorder.deleted"), handle)
