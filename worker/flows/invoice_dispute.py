"""customer_invoice_dispute: a posted credit memo is a resolved dispute (SPEC 4, fan-out 2).

Logs the reason (the memo's `memo`), links the invoice it was issued against (`createdFrom`, when that is
an invoice) and the invoice(s) it is applied to, and drafts a confirmation email from a Jinja2 template:
the amount applied to each invoice, and what is left unapplied as credit on account (a memo issued against
an invoice is not necessarily applied to it). Proposes `log_dispute` (risk 1) and
`send_dispute_confirmation` (risk 3: a person reads every email before it goes to a customer).

Amounts are in the memo's currency: "$" for US dollars (or no currency), else its NetSuite name ("EUR 250.00").
Credit applied to a document the mirror does not hold is listed by its NetSuite id and named in `problems`,
never left out. An invoice's "still open" is stated only when its mirrored row is not older than the memo
version whose apply list the mirror holds: an older row may predate this credit (NetSuite's update of the
invoice has not arrived yet), so the figure is left out and `problems` says why. An invoice the mirror holds
under another customer (a mis-keyed createdFrom or apply line, or an invoice since moved) is never named in
the drafts, neither its number nor its PO nor its balance: `problems` names it for the reviewer.

A memo NetSuite sent without its apply list is drafted at once all the same (amount, reason, the invoice it
was issued against, `amountRemaining`; `problems` asks the reviewer to check the invoices), and redrafted in
place, once, by the first event that finds the list (worker/flows/memo_apply.py): the same rows, never a
second live draft, and never a draft a person has edited or decided, which the observation names instead.
A memo whose total (or currency) NetSuite changed after drafting ($300 to $250) is redrafted the same way by
the first event that finds it (memo_apply.new_total): a draft a person kept at the old figure is named, and
the reviewer asked to check it, once. An event that brings both the apply list and a new total redrafts once.

A memo deleted in NetSuite (`creditmemo.deleted`) withdraws its drafts still staged, edited or not
(worker/flows/withdrawals.py): a confirmation for a memo that no longer exists must not stay approvable.
So does a memo voided (status Voided, or a total of 0) or moved to another customer, on whichever event
finds it so: its confirmation would confirm a credit that is not there, or to a customer it is not for. A
moved memo is drafted afresh for its new customer in the same run (the withdrawn drafts give up their dedupe
keys); a kind whose draft a person already decided keeps its key, so none of that kind is drafted, and the
observation says so. A change is named once: a later update finds the drafts withdrawn, or the run's
`retracted` in the log. Each draft records the memo as drafted (`customer_id`, `amount`, `memo_status`,
`memo_version`), what an approval compares with the mirror.

A memo without a customer (no `entity`) is drafted nothing: a confirmation needs someone to confirm it to, and a
run without a customer leaves no reflexion row. One left without a customer after drafting withdraws its drafts
(the observation goes to the customer they were for) and drafts none afresh; the run's output says
`awaiting_customer`, and the first event that finds the memo with a customer again drafts it as a posting would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from jinja2 import Environment, StrictUndefined

from worker.cdc.versions import key_time
from worker.env import Env, parse_iso
from worker.flows import names
from worker.flows.memo_apply import REDRAFTED, Draft, arrival, new_total, outcomes
from worker.flows.reads import record_id
from worker.flows.recipients import CONTACTS, one_line, pick_recipient
from worker.flows.withdrawals import Draft as WithdrawableDraft
from worker.flows.withdrawals import changed_at, drafts, withdraw_drafts
from worker.ledger import Event
from worker.memo_checks import MemoChange, void_change
from worker.pricing import HALF_CENT, Credit, credit_split, money
from worker.workflow_runner import Proposal, Workflow, WorkflowResult

NAME = names.INVOICE_DISPUTE
MEMO = """
SELECT m.tran_id, m.customer_id, m.created_from, m.tran_date, m.total, m.memo, m.deleted_at,
       c.company_name, c.email, m.amount_remaining, m.cdc_apply_version,
       (SELECT sum(a.amount) FROM credit_memo_application a WHERE a.credit_memo_id = m.ns_id),
       m.currency, coalesce(m.cdc_apply_version, m.cdc_data_version), m.last_modified, m.status, m.cdc_data_version
FROM credit_memo m LEFT JOIN customers c ON c.ns_id = m.customer_id
WHERE m.ns_id = ?
"""
INVOICES = """
SELECT i.ns_id, i.tran_id, i.tran_date, i.total, i.amount_remaining, i.other_ref_num,
       (SELECT sum(a.amount) FROM credit_memo_application a WHERE a.credit_memo_id = :memo AND a.invoice_id = i.ns_id),
       i.cdc_data_version, i.last_modified, i.customer_id
FROM customer_invoice i
WHERE i.ns_id IN (SELECT invoice_id FROM credit_memo_application WHERE credit_memo_id = :memo) OR i.ns_id = :created
ORDER BY i.tran_date, i.ns_id
"""
# The memo's applications to documents INVOICES cannot list (not mirrored, or applied with no document id).
UNMIRRORED = """
SELECT a.invoice_id, a.doc_type, sum(a.amount)
FROM credit_memo_application a
WHERE a.credit_memo_id = ? AND (a.invoice_id IS NULL OR a.invoice_id NOT IN (SELECT ns_id FROM customer_invoice))
GROUP BY a.invoice_id, a.doc_type
ORDER BY min(a.line_no)
"""
NAMED = """
SELECT m.tran_id, m.customer_id, c.company_name, m.status, m.total, m.currency, m.deleted_at
FROM credit_memo m LEFT JOIN customers c ON c.ns_id = m.customer_id
WHERE m.ns_id = ?
"""
COMPANY = "SELECT company_name FROM customers WHERE ns_id = ?"
# The memo's latest concluded run drafted nothing for want of a customer (`awaiting_customer` in its output): the
# first event finding it with one drafts it (index workflow_run_log_memo).
AWAITING = """
SELECT coalesce(json_extract(output_json, '$.awaiting_customer'), 0) FROM workflow_run_log
WHERE workflow = ? AND json_extract(output_json, '$.credit_memo_id') = ? AND status = 'ok'
ORDER BY id DESC LIMIT 1
"""
# A concluded run on the memo that already reported this change (`retracted` in its output): said once, even
# when only drafts a person decided are left to name (index workflow_run_log_memo).
RETRACTED = """
SELECT 1 FROM workflow_run_log
WHERE workflow = ? AND json_extract(output_json, '$.credit_memo_id') = ? AND status = 'ok'
  AND json_extract(output_json, '$.retracted') = ?
LIMIT 1
"""
KINDS = {"log_dispute": "dispute log", "send_dispute_confirmation": "confirmation"}  # how notes name them
EMAIL = "send_dispute_confirmation"

_TEMPLATES = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                         keep_trailing_newline=True)  # plain-text email: nothing is HTML here
SUBJECT = _TEMPLATES.from_string("Credit memo {{ memo_number }} issued{% if invoices %} for invoice"
                                 "{{ 's' if invoices | length > 1 }} "
                                 "{{ invoices | map(attribute='number') | join(', ') }}{% endif %}")
BODY = _TEMPLATES.from_string("""\
Dear {{ greeting }},

Thank you for raising this with us. We have issued credit memo {{ memo_number }}{% if amount is not none %} for \
{{ amount }}{% endif %} to {{ company }}
{%- if against %} against invoice {{ against.number }}{% if against.po %} (your PO {{ against.po }}){% endif %}{% endif %}.
{% if applied or others %}

It is applied to:
{% for inv in applied %}
  - invoice {{ inv.number }}{% if inv.po %} (your PO {{ inv.po }}){% endif %}: {{ inv.applied }} credited
{%- if inv.remaining is not none %}, {{ inv.remaining }} still open{% endif %}

{% endfor %}
{% for doc in others %}
  - document {{ doc.number }}: {{ doc.applied }} credited
{% endfor %}
{% endif %}
{% if on_account %}

{{ on_account }}
{% endif %}
{% if reason %}

Reason recorded: {{ reason }}
{% endif %}

If anything here does not match your records, simply reply to this email and we will put it right.

Kind regards,
Accounts Receivable
""")


def on_account_text(credit: Credit, currency: str | None = None) -> str | None:
    """The email's sentence about the credit left on account (None when none is)."""
    if credit.on_account is None:
        return None
    left = money(credit.on_account, currency)
    if credit.nothing_applied:
        return f"It is not applied to an invoice yet: {left} stays as credit on your account."
    return f"{left} of it is not applied to an invoice: it stays as credit on your account."


def memo_amount(total: float | None, credit: Credit) -> float | None:
    """The memo's amount as the drafts state it: its total, else applied plus unapplied when both are known
    (REST leaves out a field it has no value for); None when unknown, and the drafts then state no amount."""
    if total is not None:
        return total
    if credit.applied is None or credit.unapplied is None:
        return None
    return round(credit.applied + credit.unapplied, 2)


def total_problem(number: str, total: float | None, amount: float | None, currency: str | None) -> list[str]:
    """The reviewer's note on a memo NetSuite sent without its total: what the email says instead."""
    if total is not None:
        return []
    said = (f"the email states {money(amount, currency)}, applied plus unapplied" if amount is not None
            else "the email leaves its amount out")
    return [f"NetSuite sent no total for credit memo {number}: {said}; check it in NetSuite"]


def credit_problems(credit: Credit, total: float | None, currency: str | None = None) -> list[str]:
    """What the reviewer must know about where the credit went before the email goes."""
    if credit.applied is None:
        return ["NetSuite sent the credit memo without its apply list: check which invoices it is applied to"]
    if credit.nothing_applied:
        left = credit.unapplied if credit.unapplied is not None else total
        stays = "its credit stays on account" if left is None else f"{money(left, currency)} stays as credit on account"
        return [f"the credit memo is not applied to any invoice: {stays}"]  # an unknown amount is never "$0.00"
    return []


def unmirrored_problem(others: list[dict[str, Any]], currency: str | None) -> list[str]:
    """The credit the email can name only by NetSuite id: the reviewer must know it is there and whose it is."""
    if not others:
        return []
    named = ", ".join(f"{o['document_id'] or 'no id'}{' (' + o['doc_type'] + ')' if o['doc_type'] else ''}: "
                      f"{money(o['applied'], currency)}" for o in others)
    amount = money(sum(o["applied"] for o in others), currency)
    return [(f"{amount} of the credit is applied to documents not in the mirror ({named}): the email names them "
             "by NetSuite internal id only")]


def moment(version: str | None, last_modified: str | None) -> datetime | None:
    """When a row's data (or sublist) was current in NetSuite: its version key's time, else its last_modified."""
    return parse_iso(key_time(version) if version else last_modified or "")


def stale_open(invoice_at: datetime | None, applied_at: datetime | None) -> bool:
    """True when the invoice's mirrored amountRemaining may predate the memo's credit (or a time is unknown).

    NetSuite lowers an invoice's amountRemaining when a memo is applied to it, in the invoice's own update,
    which may reach the mirror after the memo's. `applied_at` is the time of the memo version whose apply list
    the mirror holds: the credit was applied by then, so an invoice row from then or later includes it. An
    older row may or may not (the memo may have been applied in that later edit), and subtracting this memo's
    amount from it could count the credit twice: only the first case gives a figure that is provably right.
    """
    return invoice_at is None or applied_at is None or invoice_at < applied_at


def draft(memo_number: str, company: str, amount: float | None, reason: str | None, invoices: list[dict[str, Any]],
          greeting: str | None, credit: Credit | None = None, currency: str | None = None,
          others: list[dict[str, Any]] | None = None) -> tuple[str, str]:
    """Subject and plain-text body of the confirmation email (`others`: credit to documents not mirrored;
    `amount` None: unknown, and the body states none)."""
    shown = [{"number": one_line(i["tran_id"] or i["invoice_id"]), "po": one_line(i.get("po")),
              "applied": money(i["applied"], currency),
              "remaining": None if i["remaining"] is None else money(i["remaining"], currency),
              "is_applied": abs(i["applied"] or 0) >= HALF_CENT, "issued_against": i.get("issued_against", False)}
             for i in invoices]
    subject = one_line(SUBJECT.render(memo_number=one_line(memo_number), invoices=shown))
    body = BODY.render(greeting=one_line(greeting) or f"{company} team", memo_number=one_line(memo_number),
                       amount=None if amount is None else money(amount, currency), company=company,
                       reason=(reason or "").strip(),
                       against=next((i for i in shown if i["issued_against"]), None),
                       applied=[i for i in shown if i["is_applied"]],
                       others=[{"number": one_line(o["document_id"]) or "without an id",
                                "applied": money(o["applied"], currency)} for o in others or []],
                       on_account=on_account_text(credit, currency) if credit else None)
    return subject, body


def foreign_problem(invoice: dict[str, Any], owner: str | None, currency: str | None) -> str:
    """The problem naming an invoice of another customer that the memo points at (only the reviewer reads it)."""
    how = (["issued against it"] if invoice["issued_against"] else []) + (
        [f"{money(invoice['applied'], currency)} applied to it"] if abs(invoice["applied"]) >= HALF_CENT else [])
    return (f"the credit memo names invoice {invoice['tran_id'] or invoice['invoice_id']}, which the mirror holds "
            f"under another customer ({owner or 'none'}): {', '.join(how)}; the email leaves that invoice out, "
            "check the memo's customer in NetSuite")


def linked_invoices(conn: sqlite3.Connection, memo_id: str, customer_id: str | None, created_from: str | None,
                    applied_at: datetime | None, currency: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The memo customer's mirrored invoices the memo is applied to or issued against, and the problems: one for
    each whose open amount may predate the credit (its `remaining` is then None: the email leaves it out), one
    for each invoice of another customer the memo names (left out of the drafts: its number, PO and balance are
    not this customer's business)."""
    invoices, problems = [], []
    for r in conn.execute(INVOICES, {"memo": memo_id, "created": created_from}):
        invoice = {"invoice_id": r[0], "tran_id": r[1], "tran_date": r[2], "total": r[3], "remaining": r[4],
                   "po": r[5], "applied": round(r[6] or 0.0, 2), "issued_against": r[0] == created_from}
        if r[9] is None or r[9] != customer_id:
            problems.append(foreign_problem(invoice, r[9], currency))
            continue
        if abs(invoice["applied"]) >= HALF_CENT and r[4] is not None and stale_open(moment(r[7], r[8]), applied_at):
            problems.append(f"invoice {r[1] or r[0]} was last updated in the mirror before the credit memo: its "
                            f"{money(r[4], currency)} open may not include this credit, so the email does not say "
                            "what is still open")
            invoice["remaining"] = None
        invoices.append(invoice)
    return invoices, problems


def examine(conn: sqlite3.Connection, memo_id: str) -> WorkflowResult | None:
    """The dispute log entry and the drafted confirmation for one credit memo (None if not mirrored)."""
    row = conn.execute(MEMO, (memo_id,)).fetchone()
    if row is None:
        return None
    (tran_id, customer_id, created_from, tran_date, total, reason, deleted_at, company, customer_email,
     remaining, apply_version, applied_sum, currency, applied_key, memo_modified, status, data_version) = row
    applied_at = moment(applied_key, memo_modified)
    number = tran_id or f"#{memo_id}"
    company = company or f"customer {customer_id}"
    if deleted_at:
        return WorkflowResult(customer_id, f"Credit memo {number} for {company} was deleted before it was reviewed.",
                              output={"credit_memo_id": memo_id, "deleted": True})
    if voided := void_change(status, total, currency):  # no credit to confirm (one that was drafted: retract)
        return WorkflowResult(customer_id, f"Credit memo {number} for {company} {voided} before it was reviewed.",
                              output={"credit_memo_id": memo_id, "retracted": "voided"})
    # Not "Dear customer None team": nobody to confirm it to. apply_pending as a drafting run states it, since
    # memo_apply.WAITED reads it over every run on the memo.
    if customer_id is None:
        return WorkflowResult(None, f"Credit memo {number} has no customer in NetSuite: nothing is drafted until it "
                              "has one.", output={"credit_memo_id": memo_id, "credit_memo_number": tran_id,
                                                  "customer_id": None, "amount": total, "currency": currency,
                                                  "apply_pending": apply_version == "", "awaiting_customer": True})
    invoices, linked_problems = linked_invoices(conn, memo_id, customer_id, created_from, applied_at, currency)
    others = [{"document_id": r[0], "doc_type": r[1], "applied": round(r[2], 2)}
              for r in conn.execute(UNMIRRORED, (memo_id,)) if abs(r[2] or 0) >= HALF_CENT]
    credit = credit_split(total, remaining, apply_version, applied_sum)
    pending = apply_version == ""  # never sent: redrafted when it is (NULL, written with the data, is given)
    contacts = [tuple(r) for r in conn.execute(CONTACTS, (customer_id,))]
    to_name, to_email = pick_recipient(customer_email, contacts)
    amount = memo_amount(total, credit)
    subject, body = draft(number, company, amount, reason, invoices, to_name, credit, currency, others)
    problems = ([] if to_email else ["no email address on file for the customer or its contacts"]) + (
        [] if reason else ["the credit memo has no memo: no reason recorded"]) + (
        [] if invoices else ["not linked to any mirrored invoice"]) + total_problem(number, total, amount, currency) + (
        credit_problems(credit, total, currency)) + (
        unmirrored_problem(others, currency)) + linked_problems
    common = {"credit_memo_id": memo_id, "credit_memo_number": tran_id, "customer_id": customer_id,
              "tran_date": tran_date, "amount": total, "currency": currency, "reason": reason,
              "invoice_ids": [i["invoice_id"] for i in invoices],
              "issued_against": next((i["invoice_id"] for i in invoices if i["issued_against"]), None),
              "applied_total": credit.applied, "unapplied": credit.unapplied, "apply_pending": pending,
              "unmirrored": others, "memo_status": status, "memo_version": data_version}
    log = Proposal("log_dispute", {**common, "invoices": invoices, "problems": problems}, risk=1,
                   customer_id=customer_id, dedupe_key=f"log_dispute:{memo_id}")
    email = Proposal("send_dispute_confirmation", {**common, "to": to_email, "to_name": to_name, "subject": subject,
                                                   "body": body, "problems": problems},
                     risk=3, customer_id=customer_id, dedupe_key=f"send_dispute_confirmation:{memo_id}")
    linked = ", ".join([i["tran_id"] or i["invoice_id"] for i in invoices]
                       + [f"document {o['document_id'] or 'without an id'} (not in the mirror)" for o in others])
    on_account = (f", {money(credit.on_account, currency)} of it unapplied (credit on account)"
                  if credit.on_account else "")
    stated = " (no total from NetSuite)" if amount is None else f", {money(amount, currency)}"
    observation = (f"Credit memo {number} for {company}{stated} against {linked or 'no invoice'}"
                   f"{on_account}: "
                   f"{one_line(reason) or 'no reason given'}; confirmation drafted to {to_email or 'nobody (no email)'}"
                   + ("; NetSuite sent no apply list: the draft is redone when it does" if pending else "") + ".")
    return WorkflowResult(customer_id, observation, [log, email],
                          output={**common, "company": company, "problems": problems})


def redraft_note(number: str, company: str, applied: list[str] | None, outcomes: dict[str, str],
                 change: MemoChange | None = None, kept: Sequence[str] = ()) -> str:
    """The observation of a redraft: what NetSuite sent (the apply list, with where the credit went, `applied`;
    a new total, `change`), what was redrafted, what a person had taken over; `kept`: those of the kinds a
    person took over that still count (not rejected), whose figure the reviewer must check."""
    news = []
    if applied is not None:
        news.append(f"NetSuite sent its apply list (applied to {', '.join(applied) if applied else 'no invoice'})")
    if change is not None:
        news.append(f"its total changed from {change.drafted} to {change.now}")
    done = [KINDS[k] for k, o in outcomes.items() if o == REDRAFTED]
    parts = [f"{' and '.join(done)} redrafted with {'it' if len(news) == 1 else 'them'}"] if done else []
    parts += [f"{KINDS[k]} left as it is ({o})" for k, o in outcomes.items() if o != REDRAFTED]
    if applied is not None and outcomes[EMAIL] != REDRAFTED:
        parts.append("check the confirmation names the right invoices")
    if change is not None and kept:
        parts.append(f"check the figure in the {' and '.join(KINDS[k] for k in kept)}: the memo now totals "
                     f"{change.now}")
    return f"Credit memo {number} for {company}: {' and '.join(news)}; {'; '.join(parts)}."


def redraft(conn: sqlite3.Connection, memo_id: str, drafts: dict[str, Draft], arrived: bool = True,
            change: MemoChange | None = None) -> WorkflowResult | None:
    """The memo's proposals drafted again, with its apply list (`arrived`) and/or its new total (`change`); the
    runner replaces only untouched drafts."""
    result = examine(conn, memo_id)
    if result is None or not result.proposals:
        return None  # gone, or without a customer: nothing to redraft
    out = result.output
    log = next(p for p in result.proposals if p.kind == "log_dispute")
    applied = None
    if arrived:
        applied = [i["tran_id"] or i["invoice_id"] for i in log.payload["invoices"]
                   if abs(i["applied"] or 0) >= HALF_CENT]
        applied += [f"document {o['document_id'] or 'without an id'}" for o in log.payload["unmirrored"]]
    done = outcomes(drafts, list(KINDS))
    kept = [k for k, o in done.items() if o != REDRAFTED and drafts[k].status != "rejected"]
    observation = redraft_note(out["credit_memo_number"] or f"#{memo_id}", out["company"], applied, done, change,
                               kept)
    output = {**out, "drafts": done} | ({"apply_arrived": True} if arrived else {}) | (
        {"retotalled": change.now, "retotalled_from": change.drafted} if change else {})
    return WorkflowResult(result.customer_id, observation, [replace(p, redraft=True) for p in result.proposals],
                          output=output)


def memo_drafts(conn: sqlite3.Connection, memo_id: str) -> list[WithdrawableDraft]:
    """The memo's drafts not yet withdrawn, whatever their status."""
    return [d for d in drafts(conn, [f"{kind}:{memo_id}" for kind in KINDS]) if not d.withdrawn]


def withdraw(conn: sqlite3.Connection, memo_id: str, event: Event) -> WorkflowResult | None:
    """The memo was deleted in NetSuite: its drafts still staged are withdrawn (None when it has none at all)."""
    tran_id, customer_id, company = (conn.execute(NAMED, (memo_id,)).fetchone() or (None, None, None))[:3]
    customer_id = event.payload.get("customer_id") or customer_id
    found = drafts(conn, [f"{kind}:{memo_id}" for kind in KINDS])
    return withdraw_drafts(customer_id, f"credit memo {tran_id or '#' + memo_id}", company or f"customer {customer_id}",
                           changed_at(conn, event), found, {"credit_memo_id": memo_id, "credit_memo_number": tran_id})


def said(conn: sqlite3.Connection, memo_id: str, found: list[WithdrawableDraft], retracted: str) -> bool:
    """True when nothing is left to withdraw and a run already named this change (decided drafts: once)."""
    return (all(d.status != "staged" for d in found)
            and conn.execute(RETRACTED, (NAME, memo_id, retracted)).fetchone() is not None)


def void(conn: sqlite3.Connection, memo_id: str, event: Event, found: list[WithdrawableDraft],
         change: str) -> WorkflowResult | None:
    """The memo was voided (or its total became 0): its drafts still staged are withdrawn, as for a deletion.

    The run is the customer's the drafts were for, as a move's is: voided and moved (or left without a customer)
    in one update, the memo's customer now is not whom the withdrawn drafts concerned."""
    tran_id, customer_id, company = conn.execute(NAMED, (memo_id,)).fetchone()[:3]
    if said(conn, memo_id, found, "voided"):
        return None
    if (owner := drafted_for(found)) and owner != customer_id:
        customer_id, company = owner, (conn.execute(COMPANY, (owner,)).fetchone() or (None,))[0]
    output = {"credit_memo_id": memo_id, "credit_memo_number": tran_id, "retracted": "voided"}
    return withdraw_drafts(customer_id, f"credit memo {tran_id or '#' + memo_id}", company or f"customer {customer_id}",
                           changed_at(conn, event), found, output, change=change)


def move(conn: sqlite3.Connection, memo_id: str, event: Event, found: list[WithdrawableDraft]) -> WorkflowResult | None:
    """The memo is now another customer's: the drafts for the old one are withdrawn (their keys released) and
    the memo drafted afresh for the new one, in the same run; a kind a person decided keeps its key and its
    draft, so none of that kind is drafted anew (the observation says so). Left without a customer, nothing is
    drafted and the run is the old customer's."""
    tran_id, customer_id, company = conn.execute(NAMED, (memo_id,)).fetchone()[:3]
    moved = [d for d in found if d.customer_id != customer_id]
    retracted = f"moved:{customer_id}"
    fresh = examine(conn, memo_id)
    if fresh is None or said(conn, memo_id, moved, retracted):
        return None
    before = drafted_for(moved)
    old = owner_name(conn, before)
    new = company or f"customer {customer_id}"
    record = f"credit memo {tran_id or '#' + memo_id}"
    held = {d.kind: d for d in moved if d.status != "staged"}
    notes = [f"No new {KINDS[k]} is drafted for {new}: #{d.id} keeps its place ({d.status}); draft one by hand if "
             "it is needed." for k, d in held.items()] if customer_id else []
    change = f"was moved to {new} ({customer_id})" if customer_id else "was left without a customer"
    owner = customer_id or before  # left without one: the run (and its reflexion row) is the old customer's
    gone = withdraw_drafts(owner, record, old, changed_at(conn, event), moved, {}, release_key=True, notes=notes,
                           change=change)
    assert gone is not None  # `moved` is never empty here
    return WorkflowResult(owner, f"{gone.observation} {fresh.observation}",
                          [p for p in fresh.proposals if p.kind not in held],
                          output={**fresh.output, "retracted": retracted, "moved_from": before},
                          withdrawals=gone.withdrawals)


def drafted_for(found: Sequence[WithdrawableDraft]) -> str | None:
    """Whom the memo's live drafts are for: the newest still staged (what a withdrawal closes), else the newest.
    An older draft a person decided may be an earlier customer's, from before a move."""
    newest = ([d for d in found if d.status == "staged"] or list(found))[-1:]
    return newest[0].customer_id if newest else None


def owner_name(conn: sqlite3.Connection, customer_id: str | None) -> str:
    """How observations name whom drafts were for ('Driscoll Foods'; 'no customer' for drafts made before a
    customerless memo was drafted nothing)."""
    if customer_id is None:
        return "no customer"
    return (conn.execute(COMPANY, (customer_id,)).fetchone() or (None,))[0] or f"customer {customer_id}"


def awaiting_customer(conn: sqlite3.Connection, memo_id: str) -> bool:
    """Whether the memo's latest concluded run drafted nothing for want of a customer."""
    row = conn.execute(AWAITING, (NAME, memo_id)).fetchone()
    return row is not None and row[0] == 1


def given(conn: sqlite3.Connection, memo_id: str, found: list[WithdrawableDraft]) -> WorkflowResult | None:
    """The memo, drafted nothing while it had no customer, has one now: drafted as a posting would be, but not a
    kind whose draft a person decided before (it keeps its key; the observation says so)."""
    fresh = examine(conn, memo_id)
    if fresh is None or not fresh.proposals:
        return fresh
    out = fresh.output
    held = {d.kind: d for d in found}  # what keeps its key: decided (staged ones were withdrawn)
    notes = [f"No new {KINDS[k]} is drafted: #{d.id} keeps its place ({d.status}); draft one by hand if it is "
             "needed." for k, d in held.items()]
    number = out["credit_memo_number"] or f"#{memo_id}"
    now = f"Credit memo {number} now has a customer in NetSuite, {out['company']} ({fresh.customer_id})."
    observation = " ".join([now, *notes, fresh.observation])
    return replace(fresh, observation=observation, proposals=[p for p in fresh.proposals if p.kind not in held])


def decide(conn: sqlite3.Connection, event: Event) -> WorkflowResult | None:
    """What one credit memo event calls for: the first draft, the redraft its apply list or a new total brings,
    its withdrawal (deleted, voided, moved to another customer)."""
    memo_id = record_id(event)
    if event.type == "creditmemo.deleted":
        return withdraw(conn, memo_id, event)
    memo = conn.execute(NAMED, (memo_id,)).fetchone()
    found = memo_drafts(conn, memo_id) if memo is not None and not memo[6] else []
    if found:
        if change := void_change(memo[3], memo[4], memo[5]):
            return void(conn, memo_id, event, found, change)
        if any(d.customer_id != memo[1] for d in found) and (moved := move(conn, memo_id, event, found)):
            return moved
    if memo is not None and not memo[6] and memo[1] and awaiting_customer(conn, memo_id):
        return given(conn, memo_id, found)
    arrived = arrival(conn, NAME, memo_id, list(KINDS), EMAIL)
    retotalled = new_total(conn, NAME, memo_id, list(KINDS), EMAIL)
    if arrived is not None or retotalled is not None:  # one redraft for both
        current = arrived if arrived is not None else retotalled[0]
        return redraft(conn, memo_id, current, arrived is not None, retotalled[1] if retotalled else None)
    return examine(conn, memo_id) if event.type == "creditmemo.posted" else None


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Log a posted credit memo as a dispute and draft its confirmation; redraft or withdraw them as it changes."""
    return await env.db.read_sync(decide, event)


WORKFLOW = Workflow(NAME, ("creditmemo.posted", "creditmemo.updated", "creditmemo.sublists_updated",
                                 "creditmemo.deleted"), handle)
