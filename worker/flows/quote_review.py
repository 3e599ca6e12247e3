"""customer_quote_review: a new sales order's rates and terms against the customer's program (SPEC 4).

Each line's rate is compared with worker.pricing.expected_price (a customer price, or the list price marked
up by the customer's program) within settings.pricing.tolerance_pct; the order's payment terms (its own, or
the customer's default that NetSuite would apply) and freight terms (when the order carries them) are
compared with the program. Deviations become one `review_quote_pricing` proposal (risk 2) per order.
The price list has no currency (it is in US dollars): the priced lines of an order in another currency have
no comparable price (a person checks them), never "within program". A line whose item has no price on file
(or is not in spec_items at all) is a deviation too (basis `no_price_on_file`), unless the item is an assembly:
new_assembly_item asks for that price (its ASSEMBLY_LINES rule), so the review only names it. A charge line
(a discount, freight or a surcharge the review page booked from the PO) is no product: it is not checked.
An order NetSuite sent without its lines is reviewed on the update that brings them (worker/flows/order_lines.py).

A reviewed order is reviewed again on an update that changed what the review judges (its `fingerprint`, kept in
the run's output: each priced line's item, unit and rate, the order's customer, date, currency, payment and freight
terms and the approval it was booked from), unless the change is history ([workflows] history_days) or the new
review's proposal is the last one's. Other updates (status, memo, shipping) propose nothing. The new review
supersedes the order's drafts still staged (rejected by the workflow, "superseded by the price review of …"; a
review that finds nothing withdraws them, "… its prices are now within program"), so a reviewer never sees two
live price drafts of one order; decided ones stay as decided. Its dedupe key names the fingerprint
(`review_quote_pricing:<order>:<digest>`; the first review's is `review_quote_pricing:<order>`), and the drafts it
takes back give up theirs, so prices that come back are proposed afresh, while the same update delivered again
finds nothing changed.
An order deleted or cancelled in NetSuite withdraws its review still staged (worker/flows/withdrawals.py); a
cancelled order is no order, so it is not reviewed. An order booked from the review page (its externalId names
the approved create_sales_order action) is reviewed too, but a line its reviewer approved as it is (the same item
at the same rate; the order form showed its price check) is named as "approved at review", not proposed again.
Only while the order is still for the approval's customer, date and currency (those checks were for them): one
NetSuite moved off any of them is reviewed in full, its note naming the earlier approval.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from worker.aging import terms_days
from worker.cdc.models import ORDER_CANCELLED
from worker.currency import currency_code, may_be_same_currency
from worker.env import Env
from worker.flows import names
from worker.flows.assembly_item import ASSEMBLY_LINES, LINE_TYPES
from worker.flows.order_lines import gate, newly_cancelled, order_name
from worker.flows.reads import label, raw_record, record_id
from worker.flows.withdrawals import (
    CANCELLED,
    MIRRORED_AT,
    changed_at,
    changed_reason,
    drafts_under,
    superseded_reason,
    withdraw_order_drafts,
)
from worker.ledger import Event
from worker.netsuite_shape import foreign_price_note
from worker.pricing import (
    ProgramTerms,
    check_price,
    currency_name,
    expected_price,
    price_text,
    program_for,
    standard_program,
    unit_code,
)
from worker.workflow_runner import (
    Proposal,
    Withdrawal,
    Workflow,
    WorkflowResult,
    changed_before,
    is_old_change,
)

NAME = names.QUOTE_REVIEW
KIND = "review_quote_pricing"
UPDATES = ("salesorder.updated", "salesorder.sublists_updated")
ORDER = f"""
SELECT o.tran_id, o.customer_id, o.tran_date, o.deleted_at, o.raw_json, c.company_name, c.terms AS customer_terms,
       o.currency, {ORDER_CANCELLED.format(status="o.status")}
FROM transactions o LEFT JOIN customers c ON c.ns_id = o.customer_id
WHERE o.ns_id = ?
"""
# The lines of products: not a PO's charge as the review page books it (worker/netsuite_shape.py), which no price
# on file is for: a discount (a negative rate) or a line NetSuite types (its LINE_TYPES, read as new_assembly_item
# reads them) as a discount, other-charge (freight, a surcharge) or markup item. Nor a line NetSuite closed: it is no
# longer sold, so its rate quotes nothing (closing or reopening one changes the fingerprint: reviewed again).
CHARGE_TYPES = "('discount', 'othcharge', 'other charge', 'markup')"
LINES = f"""
SELECT l.line_no, l.item_id, l.item_name, l.quantity, l.units, l.rate, s.item_id IS NOT NULL AS known
FROM transaction_lines l LEFT JOIN spec_items s ON s.item_id = l.item_id
WHERE l.transaction_id = ? AND coalesce(l.rate, 0) >= 0 AND l.is_closed = 0
  AND NOT EXISTS (SELECT 1 FROM {LINE_TYPES} WHERE type IN {CHARGE_TYPES})
ORDER BY l.line_no
"""
# The create_sales_order action (approved, or executed) an order was booked from on the review page: its
# externalId (gfs-review-<review item>) names it. Its reviewer saw each row's price check on the order form, for
# its customer, date and currency.
BOOKED_FROM_REVIEW = """
SELECT a.id, a.review_item_id, a.decided_by, a.payload_json, a.customer_id, c.company_name
FROM proposed_actions a LEFT JOIN customers c ON c.ns_id = a.customer_id
WHERE a.kind = 'create_sales_order' AND a.status IN ('approved', 'executed')
  AND json_extract(a.payload_json, '$.externalId') = ?
ORDER BY a.id DESC LIMIT 1
"""
# An item's own unit: that of a line without one, on the order form's price check as in this review.
ITEM_UNIT = "SELECT uom FROM spec_items WHERE item_id = ?"
FREIGHT_FIELDS = ("custbody_freight_terms", "freightTerms", "freightterms")
# The runs that reviewed the order (lines_checked: not a wait for its lines, a deletion or a cancellation), found
# by the order its runs name (index workflow_run_log_order): an order reassigned since is the same order.
_REVIEWS = """
SELECT output_json FROM workflow_run_log
WHERE workflow = ? AND json_extract(output_json, '$.sales_order_id') = ? AND status = 'ok'
  AND json_extract(output_json, '$.lines_checked') IS NOT NULL
ORDER BY id"""
LAST_REVIEW = _REVIEWS + " DESC LIMIT 1"
FIRST_REVIEW = _REVIEWS + " LIMIT 1"  # its key has no digest (the key before fingerprints were kept)
# The run's own keys in its output, not the proposal's: what was reviewed, the key, what changed, what was closed.
RUN_ONLY = ("fingerprint", "review_key", "changed", "withdrawn")
# What a fingerprint's parts are, as an observation names a change.
CHANGES = {"customer_id": "customer", "tran_date": "date", "currency": "currency", "terms": "payment terms",
           "freight_terms": "freight terms", "booked_from": "externalId", "lines": "line items, units or rates"}
NO_COMPARABLE_PRICE = "no_comparable_price"  # worker.pricing's basis for a price no line's rate compares with
NO_PRICE_ON_FILE = "no_price_on_file"  # no pricing_master row applies to the item: nothing to compare with


@dataclass(frozen=True)
class LineFinding:
    """A line whose rate is outside tolerance, or has no price on file or in a comparable unit (expected None)."""

    line: int
    item_id: str
    item_name: str | None
    quantity: float | None
    units: str | None
    quoted: float
    expected: float | None
    deviation_pct: float | None  # None: no percentage (a free item quoted at a price, no comparable price or none on file)
    basis: str
    reason: str | None = None


def _price_lines(conn: sqlite3.Connection, so_id: str, customer_id: str, on: str, program: ProgramTerms,
                 tolerance: float, currency: str | None) -> tuple[list[LineFinding], list[str], int]:
    findings, unpriced_assemblies, checked = [], [], 0
    foreign = foreign_price_note(currency)  # the price check on the review order page shares this rule
    # new_assembly_item's own rule (spec_items or the line's itemType) says which unpriced items it asks about.
    assemblies = {row[1] for row in conn.execute(ASSEMBLY_LINES, (so_id,))}
    for line_no, item_id, item_name, quantity, units, rate, known in conn.execute(LINES, (so_id,)):
        if not item_id or rate is None:
            continue  # description-only or subtotal lines carry no price to check
        expected = expected_price(conn, item_id, customer_id, on, program, uom=units)
        if expected is None and item_id in assemblies:
            if (item_name or item_id) not in unpriced_assemblies:  # named once however many lines use it
                unpriced_assemblies.append(item_name or item_id)
            continue
        if expected is None:  # nothing to compare the rate with: a person prices it, never "within program"
            reason = ("" if known else "item not in spec_items; ") + f"no pricing_master row applies on {on}"
            findings.append(LineFinding(line_no, item_id, item_name, quantity, units, float(rate), None, None,
                                        NO_PRICE_ON_FILE, reason))
            continue
        if expected.unit_price is None:  # priced, but in no unit this line's converts to: a person checks it
            findings.append(LineFinding(line_no, item_id, item_name, quantity, units, float(rate), None, None,
                                        expected.basis, expected.note))
            continue
        if foreign:
            findings.append(LineFinding(line_no, item_id, item_name, quantity, units, float(rate), None, None,
                                        NO_COMPARABLE_PRICE, foreign))
            continue
        checked += 1
        check = check_price(rate, expected, tolerance, in_cents=False)  # a NetSuite rate: four decimals
        if not check.within_tolerance:
            findings.append(LineFinding(line_no, item_id, item_name, quantity, units, float(rate),
                                        float(expected.unit_price), check.deviation_pct, expected.basis, check.reason))
    return findings, unpriced_assemblies, checked


@dataclass(frozen=True)
class Booking:
    """The review-page approval an order was booked from: its action, who approved it, and its lines as (item, rate,
    unit code), a line without a unit in its item's own (`units`: each item's, as the price check read it); the
    customer, date and currency its price checks were for (`currency` None: none sent, the customer's)."""

    action_id: int
    review_item_id: int | None
    approved_by: str | None
    lines: tuple[tuple[str, float, str], ...]
    units: dict[str, str]
    customer_id: str | None = None
    customer_name: str | None = None
    tran_date: str | None = None
    currency: str | None = None

    def changed(self, customer_id: str | None, tran_date: str | None, currency: str | None,
                booked_in: str | None) -> list[str]:
        """What of the order (CHANGES' names) is no longer what the approval's price checks were for (pure): its
        customer, date, or currency (`booked_in`: the order's first reviewed one, for an approval that named none).
        Only currencies that surely differ count: a NetSuite id and a name ("4", "Euro") may be one record."""
        approved = self.currency if self.currency is not None else booked_in
        return [part for part, moved in (("customer", self.customer_id != customer_id),
                                         ("date", self.tran_date != tran_date),
                                         ("currency", not may_be_same_currency(approved, currency))) if moved]

    def split(self, findings: list[LineFinding]) -> tuple[list[LineFinding], list[LineFinding]]:
        """(seen, rest): the findings on lines the approval booked as they are (the same item, rate and unit), each
        approved line accounting for one at most; the rest (a rate, a unit changed since, a line added in NetSuite)
        are proposed."""
        left, seen, rest = list(self.lines), [], []
        for finding in findings:
            unit = unit_code(finding.units) or self.units.get(finding.item_id, "")
            match = next((line for line in left if line[0] == finding.item_id and line[2] == unit
                          and math.isclose(line[1], finding.quoted, rel_tol=1e-9, abs_tol=1e-9)), None)
            if match is None:
                rest.append(finding)
            else:
                left.remove(match)
                seen.append(finding)
        return seen, rest


def booked_from(conn: sqlite3.Connection, raw: dict[str, Any]) -> Booking | None:
    """The approval the order was booked from (its externalId names it), or None for any other order."""
    external = raw.get("externalId") or raw.get("externalid")
    row = conn.execute(BOOKED_FROM_REVIEW, (str(external),)).fetchone() if external else None
    if row is None:
        return None
    try:
        items = [(str(label(i.get("item"))), float(i["rate"]), unit_code(i.get("units") if isinstance(
                  i.get("units"), str) else None)) for i in json.loads(row[3])["item"]["items"]
                 if isinstance(i, dict) and i.get("item") and isinstance(i.get("rate"), (int, float))]
    except (ValueError, KeyError, TypeError):
        items = []
    units = {item: unit_code(found[0]) for item in {i[0] for i in items}
             if (found := conn.execute(ITEM_UNIT, (item,)).fetchone())}
    lines = tuple((item, rate, unit or units.get(item, "")) for item, rate, unit in items)
    payload = raw_record(row[3])
    customer = row[4] or label(payload.get("entity"))
    return Booking(row[0], row[1], row[2], lines, units, customer, row[5], label(payload.get("tranDate")),
                   label(payload.get("currency")))


def _terms_findings(raw: dict[str, Any], customer_terms: str | None, program: ProgramTerms) -> list[dict[str, Any]]:
    findings = []
    so_terms = label(raw.get("terms"))
    terms, source = (so_terms, "sales order") if so_terms else (customer_terms, "customer default")
    days = terms_days(terms)
    if program.payment_terms_days is not None and days is not None and days != program.payment_terms_days:
        findings.append({"field": "payment_terms", "quoted": terms, "quoted_days": days, "source": source,
                         "expected_days": program.payment_terms_days})
    freight = next((label(raw[f]) for f in FREIGHT_FIELDS if raw.get(f)), None)
    if freight and program.freight_terms and freight.lower() != program.freight_terms.lower():
        findings.append({"field": "freight_terms", "quoted": freight, "expected": program.freight_terms})
    return findings


def digest(value: Any) -> str:
    """A short stable digest of JSON-able data (pure)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_judged(item: Any, units: str | None, rate: float) -> tuple[str, str, float]:
    """A priced line's item, unit and rate as the fingerprint judges them (pure): 'Case' is CS, a rate to 6 decimals
    (32.9300001 is 32.93)."""
    return str(item), unit_code(units), round(float(rate), 6)


def fingerprint(customer_id: str | None, tran_date: str | None, currency: str | None, raw: dict[str, Any],
                lines: list[tuple[Any, ...]]) -> dict[str, Any]:
    """What the review's verdict depends on, as the order has it (pure): `lines` are LINES rows. Spelled as the
    review reads it, so another spelling of the same thing is no change ('Case' is CS, 'USA' is USD, 'Net 30' is 30
    days); quantities, line numbers and order are not judged (a line's rate is per unit)."""
    terms = label(raw.get("terms"))
    days = terms_days(terms)
    freight = next((label(raw[f]) for f in FREIGHT_FIELDS if raw.get(f)), None)
    external = raw.get("externalId") or raw.get("externalid")
    priced = sorted(as_judged(item, units, rate) for _, item, _, _, units, rate, _ in lines
                    if item and rate is not None)
    return {"customer_id": customer_id, "tran_date": tran_date,
            "currency": currency_code(currency) or currency_name(currency),
            "terms": days if days is not None else terms, "freight_terms": freight.lower() if freight else None,
            "booked_from": str(external) if external else None, "lines": digest(priced)}


def _review_run(conn: sqlite3.Connection, query: str, so_id: str) -> dict[str, Any] | None:
    row = conn.execute(query, (NAME, so_id)).fetchone()
    return raw_record(row[0]) if row else None


def _key(conn: sqlite3.Connection, so_id: str, reviewed: dict[str, Any]) -> str:
    """The dedupe key of a review of the order as `reviewed`: one per fingerprint, so a draft a person decided stands
    for the same prices come back, and a draft the workflow took back (its key freed) is proposed afresh."""
    first = _review_run(conn, FIRST_REVIEW, so_id) or {}
    return (first.get("fingerprint") == reviewed and first.get("review_key")) or f"{KIND}:{so_id}:{digest(reviewed)}"


@dataclass(frozen=True)
class _Proposed:
    """A review of the order as the mirror has it: its proposal (`output`) and what the observation names."""

    output: dict[str, Any]
    program: ProgramTerms
    lines: list[LineFinding]
    terms: list[dict[str, Any]]
    unpriced: list[str]
    checked: int
    seen: list[LineFinding]
    booking: Booking | None
    stale: list[str]


def _propose(conn: sqlite3.Connection, so_id: str, order: tuple[Any, ...], raw: dict[str, Any],
             standard: ProgramTerms, tolerance: float, today: str) -> _Proposed:
    tran_id, customer_id, tran_date, _, _, _, customer_terms, currency, _ = order
    program = program_for(conn, customer_id, standard)
    found, unpriced, checked = _price_lines(conn, so_id, customer_id, tran_date or today, program, tolerance,
                                            currency)
    terms = _terms_findings(raw, customer_terms, program)
    # An order booked from the review page: a row its reviewer approved as it is (the form showed its price check)
    # is not proposed again; a rate changed since (in NetSuite, by anyone) still is. Those checks were for the
    # approved customer, date and currency: an order moved off any of them is reviewed in full.
    booking = booked_from(conn, raw)
    stale: list[str] = []
    if booking:
        first = _review_run(conn, FIRST_REVIEW, so_id) if booking.currency is None else None
        stale = booking.changed(customer_id, tran_date, currency,
                                first["currency"] if first and "currency" in first else currency)
    seen, lines = booking.split(found) if booking and not stale else ([], found)
    output = {"sales_order_id": so_id, "tran_id": tran_id, "customer_id": customer_id, "tran_date": tran_date,
              "currency": currency, "program": program.program, "tolerance_pct": tolerance, "lines_checked": checked,
              "lines": [asdict(f) for f in lines], "terms": terms,
              "unpriced_assembly_items": unpriced}
    if booking and not stale:
        output["approved_at_review"] = {"action_id": booking.action_id, "review_item_id": booking.review_item_id,
                                        "approved_by": booking.approved_by, "lines": [asdict(f) for f in seen]}
    elif booking:
        output["booked_at_review"] = {"action_id": booking.action_id, "review_item_id": booking.review_item_id,
                                      "approved_by": booking.approved_by, "customer_id": booking.customer_id,
                                      "tran_date": booking.tran_date, "changed": stale}
    return _Proposed(output, program, lines, terms, unpriced, checked, seen, booking, stale)


def _same(last: dict[str, Any] | None, reviewed: dict[str, Any], output: dict[str, Any]) -> bool:
    """Whether the last review's draft stands for the order `reviewed` (its fingerprint) with proposal `output`: the
    same order, or one the last review would propose the same for (its proposal: the output but the run's own keys;
    so a run from before fingerprints were kept compares too)."""
    return last is not None and (last.get("fingerprint") == reviewed
                                 or {k: v for k, v in last.items() if k not in RUN_ONLY} == output)


def last_review(conn: sqlite3.Connection, so_id: str) -> dict[str, Any] | None:
    """The output of the order's last review run (None: never reviewed, or its runs pruned)."""
    return _review_run(conn, LAST_REVIEW, so_id)


def redrawn_for(conn: sqlite3.Connection, so_id: str, last: dict[str, Any], standard: ProgramTerms, tolerance: float,
                today: str) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any]]:
    """What of the order (its fingerprint's parts: before, now) changed since its review `last` (a run's output), when
    an update would have review_order review it again and propose otherwise, taking back the review's staged draft
    (superseded, or withdrawn), and that review's proposal; ({}, {}) when the draft stands as it is. Reads only."""
    order = conn.execute(ORDER, (so_id,)).fetchone()
    if order is None:
        return {}, {}
    raw = raw_record(order[4])
    reviewed = fingerprint(order[1], order[2], order[7], raw, conn.execute(LINES, (so_id,)).fetchall())
    if last.get("fingerprint") == reviewed:
        return {}, {}
    output = _propose(conn, so_id, order, raw, standard, tolerance, today).output
    if _same(last, reviewed, output):
        return {}, {}
    before = last.get("fingerprint") or {}
    return {part: (before.get(part), value) for part, value in reviewed.items() if before.get(part) != value}, output


def review_order(conn: sqlite3.Connection, so_id: str, standard: ProgramTerms, tolerance: float, today: str,
                 event: Event, *, again: bool = False) -> WorkflowResult | None:
    """The review of one sales order as a WorkflowResult (None when the order is not in the mirror).

    `again`: `event` updates an order reviewed before; it is reviewed again only when what the review judges changed
    and the review would propose otherwise than the last (None: nothing new to say)."""
    order = conn.execute(ORDER, (so_id,)).fetchone()
    if order is None:
        return None
    tran_id, customer_id, tran_date, deleted_at, raw_json, company, _, currency, cancelled = order
    name = order_name(tran_id, so_id, company, customer_id)
    raw = raw_record(raw_json)
    reviewed = fingerprint(customer_id, tran_date, currency, raw, conn.execute(LINES, (so_id,)).fetchall())
    last = _review_run(conn, LAST_REVIEW, so_id)
    if again and (deleted_at or cancelled or last is None or last.get("fingerprint") == reviewed):
        return None  # gone (review_event said so when it happened), no review left (its runs pruned), or unchanged
    if deleted_at:
        return WorkflowResult(customer_id, f"{name} was deleted in NetSuite before it could be reviewed.",
                              output={"sales_order_id": so_id, "deleted": True})
    if cancelled:  # no order: nothing to review (the output's `cancelled` ends order_lines.NEWLY_CANCELLED)
        return WorkflowResult(customer_id, f"{name} was cancelled in NetSuite before it could be reviewed.",
                              output={"sales_order_id": so_id, "cancelled": True})
    review = _propose(conn, so_id, order, raw, standard, tolerance, today)
    output, booking, stale, seen, lines = review.output, review.booking, review.stale, review.seen, review.lines
    approved_by = (booking.approved_by or "a reviewer") if booking else None
    observation = _describe(name, review.program, tolerance, lines, review.terms, review.unpriced, review.checked,
                            seen, approved_by)
    if booking and stale:  # the earlier approval as context: its checks were for another customer, date or currency
        whom = booking.customer_name or booking.customer_id or "its customer"
        observation += (f" Booked at review by {approved_by} for {whom}; the order's {', '.join(stale)} changed "
                        "since, so reviewed in full.")
    same = _same(last, reviewed, output)
    if again and same:
        return None
    if last is None or same:
        key = (last or {}).get("review_key") or f"{KIND}:{so_id}"
    else:  # a review of the changed order: a key of its own, or the last one's draft would swallow it
        key = _key(conn, so_id, reviewed)
    proposals = [Proposal(KIND, dict(output), risk=2, customer_id=customer_id, dedupe_key=key)] \
        if lines or review.terms else []
    output |= {"fingerprint": reviewed, "review_key": key}
    if last is None or same:
        return WorkflowResult(customer_id, observation, proposals, output=output)
    return _supersede(conn, event, name, f"sales order {tran_id or so_id}", last,
                      WorkflowResult(customer_id, observation, proposals, output=output), bool(seen))


def _supersede(conn: sqlite3.Connection, event: Event, name: str, record: str, last: dict[str, Any],
               review: WorkflowResult, approved: bool) -> WorkflowResult:
    """The review of a changed order, taking back the order's drafts still staged (edited or not, as a deletion
    does: their prices are not the order's any more): superseded by its proposal, or withdrawn when it proposes
    nothing. Their keys are freed, so prices that come back are proposed afresh; decided drafts stay as decided."""
    output = review.output
    so_id, key = output["sales_order_id"], output["review_key"]
    before = last.get("fingerprint")
    output["changed"] = [part for part, value in output["fingerprint"].items() if before and before.get(part) != value]
    what = ", ".join(CHANGES[part] for part in output["changed"]) or "what the review judges"
    when = changed_at(conn, event)  # the order reviewed is the mirror's, maybe as a later event of the drain left it
    parts = [f"{review.observation} Reviewed again: {what} of {name} changed in NetSuite at {when}."]
    found = drafts_under(conn, f"{KIND}:{so_id}")
    staged = [d for d in found if d.status == "staged" and d.dedupe_key != key]
    if edited := [d.named() for d in staged if d.edited]:
        parts.append(f"Edited by a reviewer, not decided: {', '.join(edited)}.")
    if review.proposals and (decided := next((d for d in found if d.dedupe_key == key and d.status != "staged"), None)):
        who = f" by {decided.decided_by}" if decided.decided_by else ""
        parts.append(f"Decided before at these prices, left as it is: {decided.named()} ({decided.status}{who}).")
    if review.proposals:
        reason = superseded_reason("the price review", record, when)
    else:
        reason = changed_reason(record, when, "nothing in it is left to review" if approved
                                else "its prices are now within program")
    return WorkflowResult(review.customer_id, " ".join(parts), review.proposals, output,
                          [Withdrawal(d.dedupe_key, reason, release_key=True) for d in staged])


def _describe(name: str, program: ProgramTerms, tolerance: float, lines: list[LineFinding],
              terms: list[dict[str, Any]], unpriced: list[str], checked: int, seen: list[LineFinding],
              approved_by: str | None) -> str:
    parts = [f"{name}: {checked} priced line(s) checked against the {program.program} program (±{tolerance:g}%)"]
    unchecked = [f for f in lines if f.expected is None]
    for findings, what in (([f for f in lines if f.expected is not None], "outside tolerance"),
                           ([f for f in unchecked if f.basis != NO_PRICE_ON_FILE], "with no comparable price"),
                           ([f for f in unchecked if f.basis == NO_PRICE_ON_FILE], "with no price on file")):
        if findings:
            shown = ", ".join(_finding(f) for f in findings[:5])
            parts.append(f"{len(findings)} {what}: {shown}" + (" …" if len(findings) > 5 else ""))
    for t in terms:
        if t["field"] == "payment_terms":
            parts.append(f"payment terms {t['quoted']} ({t['source']}) vs program {t['expected_days']} days")
        else:
            parts.append(f"freight terms {t['quoted']} vs program {t['expected']}")
    if unpriced:
        shown = ", ".join(unpriced[:5]) + (" …" if len(unpriced) > 5 else "")
        parts.append(f"no price on file for assembly item(s) {shown}: new_assembly_item asks for a price")
    if seen:
        shown = ", ".join(_finding(f) for f in seen[:5]) + (" …" if len(seen) > 5 else "")
        parts.append(f"{len(seen)} approved at review by {approved_by}, not proposed again: {shown}")
    if not lines and not terms and not unpriced and not seen:
        parts.append("all within program")
    elif not lines and not terms and seen:
        parts.append("nothing else to review")
    elif not lines and not terms and checked:  # the unpriced assembly lines were not checked
        parts.append("the checked lines are within program")
    return "; ".join(parts) + "."


def old_change_at(conn: sqlite3.Connection, so_id: str, cutoff: datetime) -> str | None:
    """When NetSuite last changed the order (the mirror's last_modified), if that change is history to a drain judging
    by `cutoff` (workflow_runner.history_cutoff): review_event reviews no such update again (`old`, handle's
    is_old_change, the same rule), so a draft it made stale stays; None when an update would be reviewed. Reads only."""
    row = conn.execute(MIRRORED_AT["salesorder"], (so_id,)).fetchone()
    when = row[0] if row else None
    # The change as its update event carries it, so changed_before judges it as the drain judges the event.
    return when if changed_before(Event(0, UPDATES[0], "salesorder", so_id, {"last_modified": when}, ""), cutoff) \
        else None


def review_event(conn: sqlite3.Connection, event: Event, standard: ProgramTerms, tolerance: float,
                 today: str, old: bool = False) -> WorkflowResult | None:
    """The review an order event calls for: when its lines are known, and again when an update (not `old`: history)
    changed what it judges; its drafts withdrawn if it is deleted or cancelled."""
    so_id = record_id(event)
    if event.type == "salesorder.deleted" and (found := drafts_under(conn, f"{KIND}:{so_id}")):
        return withdraw_order_drafts(conn, event, so_id, found)
    if newly_cancelled(conn, NAME, event, so_id) and (found := drafts_under(conn, f"{KIND}:{so_id}")) and (
            withdrawn := withdraw_order_drafts(conn, event, so_id, found, change=CANCELLED)):
        return withdrawn
    ready = gate(conn, NAME, event, so_id, "price review")
    if ready.proceed:
        return review_order(conn, so_id, standard, tolerance, today, event)
    if ready.done and event.type in UPDATES and not old:
        return review_order(conn, so_id, standard, tolerance, today, event, again=True)
    return ready.instead


def _finding(f: LineFinding) -> str:
    name = f"{f.item_name or f.item_id} quoted {price_text(f.quoted)}"
    if f.expected is None:
        return f"{name}: {f.reason}"
    how = f"{f.deviation_pct:+.2f}%" if f.deviation_pct is not None else f.reason
    return f"{name} vs {price_text(f.expected)} ({how}, {f.basis})"


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Review a new sales order (or the update that first brings its lines), and a reviewed one that changed."""
    today = env.clock().astimezone(env.settings.timezone).date().isoformat()
    return await env.db.read_sync(review_event, event, standard_program(env.settings),
                                  env.settings.pricing.tolerance_pct, today, is_old_change(env, event))


WORKFLOW = Workflow(NAME, ("salesorder.created", *UPDATES, "salesorder.deleted"), handle)
