"""new_assembly_item: a sales order uses an assembly item that has no price yet.

An assembly item is one spec_items marks `is_assembly`, or one NetSuite sent on the order line with itemType
"Assembly" (any case, plain or as a select's id/refName, kept in transaction_lines.raw_json): an item NetSuite
knows as an assembly may not be in spec_items yet, and a new one is the likeliest to have no price.

Each such item becomes one `price_new_assembly_item` proposal per item and customer (its dedupe key), so the
team is asked once to price it, however many orders use it before they do. Orders without assembly lines
are not this workflow's business (no run, no observation). An order NetSuite sent without its lines is
checked on the update that brings them (worker/flows/order_lines.py).

Each order event reconciles rather than tracks what changed: a customer keeps a staged request for an item only while
a live (neither deleted nor cancelled) order of theirs uses it on a line NetSuite has not closed. So the event
withdraws (giving up the dedupe key, so that a later order asks afresh) every staged request of the customers it
concerns (the order's, and those the workflow's runs on it were for: a customer it was moved from) that no live order
of theirs needs, whichever order asked, and however events were batched. The reason says what the event did to this
order when it had the item (deleted, cancelled, moved to another customer, its line closed or removed: a removed line
is gone from the mirror, so the runs' `unpriced` remember what it asked for), else that no live order uses it any more.
A request naming this order that another order still needs stays, said once. A request whose item has meanwhile got
a price for its customer (an import-reference run loaded one that applies on the date of every live order of theirs
using the item: the rule find_unpriced asks each order by) asks for a price already on file: that import withdraws it
in its own transaction, saying what price is on file (withdraw_priced, one run and observation per customer as for an
event; the rule reads pricing_master alone). An import looks only at the requests for the items it inserted or updated
a pricing_master row of (a deleted row prices nothing), so its cost follows those, not every staged request. One
needless otherwise (a dateless order judged on a later day, a price on file before imports withdrew) goes at the
customer's next order event, whichever order, with the same reason; until then approving it is refused
(worker/decisions.py). A live order is looked at when its lines are first known, and again whenever that asks
something no request holds (un-cancelled, sent again after a deletion, moved to another customer, a line added or
reopened); an event that changes nothing of this records no run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from worker.cdc.models import ORDER_CANCELLED
from worker.env import Env
from worker.flows import names
from worker.flows.order_lines import gate, order_name
from worker.flows.reads import record_id
from worker.flows.withdrawals import (
    CANCELLED,
    CHANGED,
    DELETED,
    LINE_CLOSED,
    LINE_REMOVED,
    MOVED,
    WITHDRAWN,
    changed_at,
    drafts,
    lines_changed,
    moved_to,
    withdraw_drafts,
)
from worker.ledger import Event
from worker.pricing import (
    PRICE_ROWS,
    ProgramTerms,
    expected_price,
    listed,
    price_in,
    price_text,
    program_for,
    standard_program,
)
from worker.workflow_runner import (
    INSERT_REFLEXION,
    Proposal,
    Withdrawal,
    Workflow,
    WorkflowResult,
    to_json,
    withdraw,
    withdrawn_note,
)

NAME = names.ASSEMBLY_ITEM
# `gone`: deleted, or cancelled (no order either); the last column: deleted.
ORDER = f"""
SELECT o.tran_id, o.customer_id, o.tran_date,
       o.deleted_at IS NOT NULL OR {ORDER_CANCELLED.format(status="o.status")} AS gone, c.company_name, o.currency,
       o.deleted_at IS NOT NULL
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

# Whom an order event's reconciliation concerns: the order's customer (a deleted order's last), and those the workflow's
# runs on it were for or its staged requests name it for (a customer it was moved from; a stale event's, harmless).
CONCERNED = """
SELECT customer_id FROM transactions WHERE ns_id = :so AND customer_id IS NOT NULL
UNION SELECT customer_id FROM workflow_run_log
WHERE workflow = :workflow AND json_extract(output_json, '$.sales_order_id') = :so AND status = 'ok'
  AND customer_id IS NOT NULL
UNION SELECT customer_id FROM proposed_actions
WHERE kind = 'price_new_assembly_item' AND status = 'staged' AND json_extract(payload_json, '$.sales_order_id') = :so
  AND customer_id IS NOT NULL
"""
# The invariant's one rule: the live (neither deleted nor cancelled) sales orders `o` using an item on a line `l`
# NetSuite has not closed, every customer's (LIVE_LINES.format(item=...)) or a customer's (LIVE_USE.format(item=...,
# customer=...)): SQL expressions or parameters. Read from the item's lines (index transaction_lines_item).
_LIVE = ("transaction_lines l JOIN transactions o ON o.ns_id = l.transaction_id "
         "WHERE l.item_id = {item} <customer>AND o.type = 'salesorder' AND o.deleted_at IS NULL "
         f"AND l.is_closed = 0 AND NOT {ORDER_CANCELLED.format(status='o.status')}")
LIVE_LINES = _LIVE.replace("<customer>", "")
LIVE_USE = _LIVE.replace("<customer>", "AND o.customer_id = {customer} ")  # tested first: the cheapest to fail
# Those of request `r`'s customer using its item.
_USING = f"SELECT coalesce(o.tran_id, o.ns_id) FROM {LIVE_USE.format(item='r.item', customer='r.customer_id')}"
# _USING read from the order's own lines (`+`: its key, not every line of the item) for one order, `o.ns_id = ...`.
_IN_ORDER = _USING.replace("l.item_id =", "+l.item_id =", 1)
# How reasons name a request's item: its code, else its name, else its id.
_SHOWN = ("coalesce(json_extract(p.payload_json, '$.item_code'), json_extract(p.payload_json, '$.item_name'), "
          "json_extract(p.payload_json, '$.item_id'))")
# The staged requests of a customer, each with whether it names the order (`:so`), whether the order uses its item
# (`here`) and another order that does (`other`, the newest; NULL: none): one neither uses, no live order of the
# customer needs, so it is withdrawn. `+p.kind`: read through proposed_actions_customer (the customer's rows), not
# proposed_actions_kind (every customer's staged requests).
STAGED = f"""
SELECT r.dedupe_key, r.item, r.shown, r.names_it, EXISTS ({_IN_ORDER} AND o.ns_id = :so),
       ({_USING} AND o.ns_id <> :so ORDER BY o.tran_date DESC, o.ns_id DESC LIMIT 1)
FROM (SELECT p.id, p.dedupe_key, p.customer_id, json_extract(p.payload_json, '$.item_id') AS item, {_SHOWN} AS shown,
             json_extract(p.payload_json, '$.sales_order_id') IS :so AS names_it
      FROM proposed_actions p
      WHERE +p.kind = 'price_new_assembly_item' AND p.status = 'staged' AND p.customer_id = :customer) r
ORDER BY r.id
"""
# Another live order of the request's customer that uses the item on an open line, newest first (the review queue's
# check before approving, worker/decisions.py).
STILL_ORDERED = f"""
SELECT coalesce(o.tran_id, o.ns_id) FROM {LIVE_USE.format(item="?", customer="?")} AND o.ns_id <> ?
ORDER BY o.tran_date DESC, o.ns_id DESC LIMIT 1
"""
# The items on the order's lines in the mirror, each with whether one of its lines is open.
LINES = "SELECT item_id, max(is_closed = 0) FROM transaction_lines WHERE transaction_id = ? GROUP BY item_id"
# The items the workflow's runs on the order asked to price (find_unpriced's `unpriced`, deduplicated ones included):
# an update replaces an order's lines as a whole, so a removed one is gone from the mirror, but the run remembers it.
ASKED = """
SELECT DISTINCT u.value FROM workflow_run_log w, json_each(w.output_json, '$.unpriced') u
WHERE w.workflow = ? AND json_extract(w.output_json, '$.sales_order_id') = ? AND w.status = 'ok'
"""
# The requests a run of the workflow on the order already said stay (its output's `kept`): said once.
KEPT_NOTED = """
SELECT k.value FROM workflow_run_log w, json_each(w.output_json, '$.kept') k
WHERE w.workflow = ? AND json_extract(w.output_json, '$.sales_order_id') = ? AND w.status = 'ok'
"""
# The dates (today for an order without one) of the customer's live orders using the item on an open line: a price
# must apply on each for the request to be needless, as find_unpriced judges each order on its own date.
USED_ON = f"""
SELECT DISTINCT coalesce(o.tran_date, :today) FROM {LIVE_USE.format(item=":item", customer=":customer")}
ORDER BY 1
"""
# USED_ON for every customer at once (a price import's, withdraw_priced): one pass over the item's lines.
ITEM_USED_ON = f"""
SELECT DISTINCT o.customer_id, coalesce(o.tran_date, :today) FROM {LIVE_LINES.format(item=":item")}
ORDER BY 2
"""
HELD = "SELECT 1 FROM proposed_actions WHERE dedupe_key = ?"
# Whether the customer has a staged request at all: most order events concern customers with none, and then there is
# nothing to reconcile.
ANY_STAGED = """
SELECT 1 FROM proposed_actions WHERE customer_id = ? AND kind = 'price_new_assembly_item' AND status = 'staged' LIMIT 1
"""
COMPANY = "SELECT company_name FROM customers WHERE ns_id = ?"
# The staged requests naming one of the items (`:items`, a JSON array), by customer: those a price import of the items
# may have answered (one pass over index proposed_actions_kind), each with STAGED's first three columns.
ASKING = f"""
SELECT p.customer_id, p.dedupe_key, json_extract(p.payload_json, '$.item_id'), {_SHOWN}
FROM proposed_actions p
WHERE p.kind = 'price_new_assembly_item' AND p.status = 'staged' AND p.customer_id IS NOT NULL
  AND json_extract(p.payload_json, '$.item_id') IN (SELECT value FROM json_each(:items))
ORDER BY p.customer_id, p.id
"""
# The run of a price import's withdrawals: no ledger event triggered it (an import is none), so no trigger_event_id,
# and no dedupe key (the runner's is per event).
INSERT_RUN = """
INSERT INTO workflow_run_log (workflow, customer_id, status, started_at, finished_at, output_json, attempts)
VALUES (?, ?, 'ok', ?, ?, ?, 1) RETURNING id
"""


@dataclass(frozen=True)
class Order:
    """The order as the mirror holds it, for the reasons a reconciliation gives."""

    so_id: str
    tran_id: str | None
    customer_id: str | None
    company: str | None
    deleted: bool
    cancelled: bool

    @property
    def record(self) -> str:
        """How reasons name it: 'sales order SO-12'."""
        return f"sales order {self.tran_id or self.so_id}"

    @property
    def state(self) -> str:
        """What became of it, as a general reason says it."""
        return DELETED if self.deleted else CANCELLED if self.cancelled else CHANGED


@dataclass(frozen=True)
class Request:
    """A staged request the event let go (`kept_by` None: withdrawn) or the order no longer keeps alive."""

    key: str
    item: str
    shown: str
    kept_by: str | None = None


def change_of(order: Order, customer: str, item: str, lines: dict[str, int], asked: set[str]) -> str | None:
    """What the order did to the customer's need for the item it had (None: the order never had it, as far as is
    known): deleted, cancelled, moved to another customer, or its line closed or removed (pure)."""
    if item not in lines and item not in asked:
        return None
    if order.deleted or order.cancelled:
        return order.state
    if customer != order.customer_id:
        return MOVED
    return LINE_CLOSED if item in lines else LINE_REMOVED


def let_go(conn: sqlite3.Connection, order: Order, customer: str, staged: list[tuple[Any, ...]],
           ) -> list[tuple[Request, str | None]]:
    """Of the customer's staged requests (STAGED rows), those no live order uses the item of (withdrawn), and those
    naming the order that another order keeps (said once), each with change_of's."""
    lines = dict(conn.execute(LINES, (order.so_id,)).fetchall())
    asked = {item for item, in conn.execute(ASKED, (NAME, order.so_id))}
    noted = {key for key, in conn.execute(KEPT_NOTED, (NAME, order.so_id))}
    found = []
    for key, item, shown, names_it, here, other in staged:
        if here or (other and (not names_it or key in noted)):
            continue  # needed by this order, or another's need: nothing to say
        found.append((Request(key, item, shown, other), change_of(order, customer, item, lines, asked)))
    return found


def price_on_file(conn: sqlite3.Connection, item_id: str, customer_id: str | None, on: str) -> str | None:
    """The price the item has for the customer on the date (YYYY-MM-DD), as expected_price finds one (its first
    pricing_master row: the customer's own before the list's), for people ('customer price 72.00 per CS'); None while
    it has none, when a request to price it is still wanted."""
    row = conn.execute(PRICE_ROWS, {"item_id": item_id, "customer_id": customer_id or "", "on": on}).fetchone()
    if row is None:
        return None
    own, unit_price, uom = row
    return f"{'customer' if own else 'list'} price {price_text(unit_price)}{f' per {uom}' if uom else ''}"


def priced_for_every_order(conn: sqlite3.Connection, item_id: str, customer_id: str | None, today: str) -> str | None:
    """The item's price for the customer (price_on_file's words, on the latest date) when one applies on the date of
    every live order of theirs that uses it on an open line; None while one of them has none, or none uses it (the
    reconciliation's other rule then decides)."""
    dates = [d for d, in conn.execute(USED_ON, {"item": item_id, "customer": customer_id or "", "today": today})]
    return priced_on(conn, item_id, customer_id, dates)


def priced_on(conn: sqlite3.Connection, item_id: str, customer_id: str | None, dates: list[str]) -> str | None:
    """priced_for_every_order's answer for the dates (ascending) of the orders using the item."""
    prices = [price_on_file(conn, item_id, customer_id, on) for on in dates]
    return prices[-1] if prices and all(prices) else None


def priced_now(shown: str, owner: str, price: str) -> str:
    """Why a request is no longer wanted (pure): 'KIT-RS-BRK has a price for Riverside now (list price 60.00 per
    CS)'."""
    return f"{shown} has a price for {owner} now ({price})"


def priced_since(conn: sqlite3.Connection, customer: str, owner: str, today: str, staged: list[tuple[Any, ...]],
                 skip: set[str], used_on: Mapping[str, list[str]] | None = None) -> tuple[list[str], list[Withdrawal]]:
    """The customer's staged requests (STAGED rows, but `skip`'s) whose item has a price on file now: withdrawn,
    releasing the key (a price removed later asks afresh). `used_on`: each item's USED_ON dates, when read already."""
    found = [(key, priced_now(shown, owner, price))
             for key, item, shown, *_ in staged
             if key not in skip and (price := priced_for_every_order(conn, item, customer, today) if used_on is None
                                     else priced_on(conn, item, customer, used_on.get(item, [])))]
    return [f"{why[0].upper()}{why[1:]}." for _, why in found], [Withdrawal(key, f"{WITHDRAWN}{why}", True)
                                                               for key, why in found]


def described(order: Order, owner: str, known: list[tuple[Request, str]]) -> tuple[str, str]:
    """The change reasons and the observation name (change_of's: one for all of a customer's requests, lines aside),
    and whose order they say it was: the customer's it was moved from, else its own now (pure)."""
    now = order.company or f"customer {order.customer_id}"  # a deleted order's last customer
    first = known[0][1]
    if first in (LINE_CLOSED, LINE_REMOVED):
        return lines_changed({what: [r.shown for r, c in known if c == what]
                              for what in (LINE_CLOSED, LINE_REMOVED)}), now
    return (moved_to(now), owner) if first == MOVED else (first, now)


def reconcile(conn: sqlite3.Connection, order: Order, customer: str, when: str, today: str,
              ) -> tuple[list[str], list[Withdrawal], list[str]]:
    """The customer's requests the order event let go, or whose item got a price meanwhile: sentences, withdrawals
    and the keys of those kept."""
    if conn.execute(ANY_STAGED, (customer,)).fetchone() is None:
        return [], [], []
    staged = conn.execute(STAGED, {"so": order.so_id, "customer": customer}).fetchall()
    found = let_go(conn, order, customer, staged)
    owner = owner_of(conn, customer)
    # what the order did to a request says more than a price found since; one kept by another order but priced goes
    priced, gone = priced_since(conn, customer, owner, today, staged, {r.key for r, _ in found if not r.kept_by})
    taken = {w.dedupe_key for w in gone}
    found = [(r, c) for r, c in found if r.key not in taken]
    said, withdrawals, kept = let_go_said(conn, order, customer, owner, when, found)
    return said + priced, withdrawals + gone, kept


def owner_of(conn: sqlite3.Connection, customer: str) -> str:
    """How reasons name the customer: its company name, else 'customer 3001'."""
    return (conn.execute(COMPANY, (customer,)).fetchone() or (None,))[0] or f"customer {customer}"


def withdraw_priced(conn: sqlite3.Connection, now: str, today: str, items: Collection[str]) -> int:
    """After an import inserted or updated pricing_master rows of `items`, in its transaction: withdraw the staged
    requests for those items that have a price on file now (priced_since, the order events' rule and reason), each
    customer's with a run and an observation as the runner records an event's; returns how many were withdrawn.
    Only the items the import wrote: a request for another item is no nearer a price (a deleted row prices nothing)."""
    asking: dict[str, list[tuple[str, str, str]]] = {}
    for customer, key, item, shown in conn.execute(ASKING, {"items": json.dumps(sorted(items))}):
        asking.setdefault(customer, []).append((key, item, shown))
    # each asked item's order dates read once for all its customers, not once per request (the item's every line)
    used_on: dict[str, dict[str, list[str]]] = {}
    for item in sorted({item for staged in asking.values() for _, item, _ in staged}):
        for customer, on in conn.execute(ITEM_USED_ON, {"item": item, "today": today}):
            if customer in asking:
                used_on.setdefault(customer, {}).setdefault(item, []).append(on)
    withdrawn = 0
    for customer, staged in asking.items():
        said, gone = priced_since(conn, customer, owner_of(conn, customer), today, staged, set(),
                                  used_on.get(customer, {}))
        if gone:
            withdrawn += record_priced(conn, customer, said, gone, now)
    return withdrawn


def record_priced(conn: sqlite3.Connection, customer: str, said: list[str], gone: list[Withdrawal], now: str) -> int:
    """The customer's priced requests withdrawn (releasing their keys), with the run and the observation an order
    event's withdrawal records (worker/workflow_runner.py record_run); returns how many were still staged."""
    closed = withdraw(conn, NAME, gone, now)
    output = {"priced_by": "import-reference", "withdrawn": [action_id for action_id, _ in closed]}
    [run_id] = conn.execute(INSERT_RUN, (NAME, customer, now, now, to_json(output))).fetchone()
    conn.execute(INSERT_REFLEXION, (customer, json.dumps([NAME]), f"{' '.join(said)} {withdrawn_note(closed)}",
                                    run_id, now))
    return len(closed)


def let_go_said(conn: sqlite3.Connection, order: Order, customer: str, owner: str, when: str,
                found: list[tuple[Request, str | None]]) -> tuple[list[str], list[Withdrawal], list[str]]:
    """What let_go found, said: sentences, withdrawals and the keys of those kept."""
    if not found:
        return [], [], []
    notes = [f"The request to price {r.shown} stays: {r.kept_by} uses it too." for r, _ in found if r.kept_by]
    said, withdrawals = [], []
    if known := [(r, c) for r, c in found if c is not None]:
        change, whose = described(order, owner, known)
        gone = drafts(conn, [r.key for r, _ in known if not r.kept_by])
        if left := withdraw_drafts(customer, order.record, whose, when, gone, {}, release_key=True, notes=notes,
                                   change=change):
            said, withdrawals = [left.observation], list(left.withdrawals)
    else:
        said = notes
    if orphans := [r.shown for r, c in found if c is None and not r.kept_by]:
        since = f"({order.record} {order.state} in NetSuite at {when})"
        said.append(f"No live order of {owner} uses {listed(orphans)} any more {since}.")
        withdrawals += [Withdrawal(r.key, f"{WITHDRAWN}no live order of {owner} uses {r.shown} any more {since}", True)
                        for r, c in found if c is None and not r.kept_by]
    return said, withdrawals, [r.key for r, _ in found if r.kept_by]


def find_unpriced(conn: sqlite3.Connection, so_id: str, standard: ProgramTerms, today: str) -> WorkflowResult | None:
    """Proposals for the order's unpriced assembly items (None when it has no assembly line, or is no order)."""
    order = conn.execute(ORDER, (so_id,)).fetchone()
    if order is None or order[3]:
        return None
    tran_id, customer_id, tran_date, _gone, company, currency, _deleted = order
    lines = conn.execute(ASSEMBLY_LINES, (so_id,)).fetchall()
    if not lines:
        return None
    program = program_for(conn, customer_id, standard)
    on = tran_date or today
    owner = company or f"customer {customer_id}"  # as owner_of names it
    proposals: dict[str, Proposal] = {}
    for line_no, item_id, item_name, quantity, units, rate, code, description, uom, pack in lines:
        if item_id in proposals or expected_price(conn, item_id, customer_id, on, program, uom=units):
            continue
        payload = {"item_id": item_id, "item_code": code, "item_name": item_name, "description": description,
                   "uom": uom or units, "pack_size": pack, "customer_id": customer_id, "customer_name": company,
                   "sales_order_id": so_id, "tran_id": tran_id, "tran_date": tran_date, "line": line_no,
                   "quantity": quantity, "quoted_rate": rate, "currency": currency, "program": program.program}
        proposals[item_id] = Proposal("price_new_assembly_item", payload, risk=2, customer_id=customer_id,
                                      dedupe_key=f"price_new_assembly_item:{item_id}:{customer_id}",
                                      wanted=still_unpriced(item_id, customer_id, on, program, units,
                                                            item_shown(payload), owner),
                                      listed=("unpriced", item_id))  # not asked after all: not remembered as asked
    name = order_name(tran_id, so_id, company, customer_id)
    distinct = len({line[1] for line in lines})
    if proposals:
        listed = ", ".join(f"{item_shown(p.payload)} ({quoted(p.payload['quoted_rate'], currency)})"
                           for p in proposals.values())
        observation = f"{name}: {len(proposals)} of {distinct} assembly item(s) have no price on file: {listed}."
    else:
        observation = f"{name}: all {distinct} assembly item(s) already priced."
    output = {"sales_order_id": so_id, "assembly_items": distinct, "unpriced": sorted(proposals)}
    return WorkflowResult(customer_id, observation, list(proposals.values()), output=output)


def item_shown(payload: Mapping[str, Any]) -> str:
    """How a request names its item, as _SHOWN reads it from a staged one: its code, else its name, else its id."""
    return str(payload["item_code"] or payload["item_name"] or payload["item_id"])


def still_unpriced(item_id: str, customer_id: str | None, on: str, program: ProgramTerms, units: str | None,
                   item: str, owner: str) -> Callable[[sqlite3.Connection], str | None]:
    """find_unpriced's question asked again in the runner's commit (Proposal.wanted): a price import committed after
    the handler read, having withdrawn the request and released its key, must not see it staged again. None while
    the item is unpriced; else why it is not asked, in the words a withdrawal gives (priced_now): 'KIT-RS-BRK has a
    price for Riverside now (list price 60.00 per CS): not asked.'"""
    def why_not(conn: sqlite3.Connection) -> str | None:
        if expected_price(conn, item_id, customer_id, on, program, uom=units) is None:
            return None
        price = price_on_file(conn, item_id, customer_id, on)  # as a withdrawal words it (priced_since)
        return f"{priced_now(item, owner, price or 'a price on file')}: not asked."
    return why_not


def quoted(rate: float | None, currency: str | None) -> str:
    """A line's rate in the order's currency, as money() spells an amount but to a price's precision (money() rounds
    to the cent): 'quoted EUR 70.00', 'quoted $0.0345' (pure)."""
    return "no rate quoted" if rate is None else f"quoted {price_in(rate, currency)}"


def order_now(conn: sqlite3.Connection, event: Event, so_id: str) -> Order:
    """The order as the mirror holds it (one it never held: as the event names it, deleted when it is a deletion)."""
    row = conn.execute(ORDER, (so_id,)).fetchone()
    if row is None:
        return Order(so_id, None, event.payload.get("customer_id"), None, event.type.endswith(".deleted"), False)
    tran_id, customer_id, _date, gone, company, _currency, deleted = row
    return Order(so_id, tran_id, customer_id, company, bool(deleted), bool(gone and not deleted))


def asks_afresh(conn: sqlite3.Connection, fresh: WorkflowResult | None) -> bool:
    """Whether the look at the order asks something no request holds yet: a line added or reopened, the order an
    order again (un-cancelled, sent again after its deletion) or another customer's (a withdrawal gave up its key)."""
    return fresh is not None and any(conn.execute(HELD, (p.dedupe_key,)).fetchone() is None for p in fresh.proposals)


def check_event(conn: sqlite3.Connection, event: Event, standard: ProgramTerms, today: str) -> WorkflowResult | None:
    """Reconcile the customers the order event concerns: a staged request stays only while a live order of its
    customer uses the item on an open line; the order, when live, is looked at once its lines are known, and again
    when that asks something no request holds."""
    so_id = record_id(event)
    ready = gate(conn, NAME, event, so_id, "assembly item check")
    if ready.instead is not None:
        return ready.instead  # it waits for its lines
    order = order_now(conn, event, so_id)
    if order.deleted and not event.type.endswith(".deleted"):
        return None  # an update an unhandled deletion overtook: the deletion's event, queued after it, says it
    when = changed_at(conn, event)
    said, withdrawals, kept = [], [], []
    concerned = {c for c, in conn.execute(CONCERNED, {"so": so_id, "workflow": NAME})}
    if event.type.endswith(".deleted") and event.payload.get("customer_id"):
        concerned.add(event.payload["customer_id"])
    # the customers it was moved from first, as their requests went before the new customer is asked
    for customer in sorted(concerned, key=lambda c: (c == order.customer_id, c)):
        words, taken, noted = reconcile(conn, order, customer, when, today)
        said, withdrawals, kept = said + words, withdrawals + taken, kept + noted
    fresh = find_unpriced(conn, so_id, standard, today)
    if not ready.proceed and not asks_afresh(conn, fresh):
        fresh = None
    if not said and fresh is None:
        return None  # nothing changed of what was asked: no run
    output = fresh.output if fresh else {"sales_order_id": so_id, "tran_id": order.tran_id}
    if order.cancelled:  # as order workflows say it (order_lines.NEWLY_CANCELLED; housekeeping keeps the newest)
        output = {**output, "cancelled": True}
    return WorkflowResult(order.customer_id, " ".join(said + ([fresh.observation] if fresh else [])),
                          fresh.proposals if fresh else [], output={**output, "kept": kept}, withdrawals=withdrawals)


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Reconcile the order event's customers' requests; ask for the order's unpriced assembly items (check_event)."""
    today = env.clock().astimezone(env.settings.timezone).date().isoformat()
    return await env.db.read_sync(check_event, event, standard_program(env.settings), today)


WORKFLOW = Workflow(NAME, ("salesorder.created", "salesorder.updated", "salesorder.sublists_updated",
                                 "salesorder.deleted"), handle)
