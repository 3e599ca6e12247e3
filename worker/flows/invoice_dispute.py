"""customer_invoice_dispute: a posted credit memo is a resolved dispute (SPEC 4, fan-out 2).

Logs the reason (the memo's `memo`), links the invoice it was issued against (`createdFrom`, when that is
an invoice) and the invoice(s) it is applied to, and drafts a confirmation email from a Jinja2 template:
the amount applied to each invoice, and what is left unapplied as credit on account (a memo issued against
an invoice is not necessarily applied to it). Proposes `log_dispute` (risk 1) and
`send_dispute_confirmation` (risk 3: a person reads every email before it goes to a customer).

A memo NetSuite sent without its apply list is drafted at once all the same (amount, reason, the invoice it
was issued against, `amountRemaining`; `problems` asks the reviewer to check the invoices), and redrafted in
place, once, by the first event that finds the list (worker/flows/memo_apply.py): the same rows, never a
second live draft, and never a draft a person has edited or decided, which the observation names instead.

A memo deleted in NetSuite (`creditmemo.deleted`) withdraws its drafts still staged, edited or not
(worker/flows/withdrawals.py): a confirmation for a memo that no longer exists must not stay approvable.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from jinja2 import Environment, StrictUndefined

from worker.env import Env
from worker.flows.memo_apply import REDRAFTED, Draft, arrival, outcomes
from worker.flows.reads import record_id
from worker.flows.withdrawals import drafts, withdraw_drafts
from worker.ledger import Event
from worker.workflow_runner import Proposal, Workflow, WorkflowResult

NAME = "customer_invoice_dispute"
MEMO = """
SELECT m.tran_id, m.customer_id, m.created_from, m.tran_date, m.total, m.memo, m.deleted_at,
       c.company_name, c.email, m.amount_remaining, m.cdc_apply_version,
       (SELECT sum(a.amount) FROM credit_memo_application a WHERE a.credit_memo_id = m.ns_id)
FROM credit_memo m LEFT JOIN customers c ON c.ns_id = m.customer_id
WHERE m.ns_id = ?
"""
INVOICES = """
SELECT i.ns_id, i.tran_id, i.tran_date, i.total, i.amount_remaining, i.other_ref_num,
       (SELECT sum(a.amount) FROM credit_memo_application a WHERE a.credit_memo_id = :memo AND a.invoice_id = i.ns_id)
FROM customer_invoice i
WHERE i.ns_id IN (SELECT invoice_id FROM credit_memo_application WHERE credit_memo_id = :memo) OR i.ns_id = :created
ORDER BY i.tran_date, i.ns_id
"""
NAMED = """
SELECT m.tran_id, m.customer_id, c.company_name FROM credit_memo m LEFT JOIN customers c ON c.ns_id = m.customer_id
WHERE m.ns_id = ?
"""
KINDS = {"log_dispute": "dispute log", "send_dispute_confirmation": "confirmation"}  # how notes name them
EMAIL = "send_dispute_confirmation"
CONTACTS = """
SELECT name, email, title FROM customer_contacts
WHERE customer_id = ? AND deleted_at IS NULL AND is_inactive = 0 AND coalesce(email, '') <> ''
ORDER BY ns_id
"""
# Accounts-payable people handle credits; anyone else only when the customer has no AP contact or email.
_AP_TITLE = re.compile(r"payable|accounts|billing|finance|controller|bookkeep", re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\r\n]+")
CENT = 0.005  # below half a cent an amount is nothing

_TEMPLATES = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                         keep_trailing_newline=True)  # plain-text email: nothing is HTML here
SUBJECT = _TEMPLATES.from_string("Credit memo {{ memo_number }} issued{% if invoices %} for invoice"
                                 "{{ 's' if invoices | length > 1 }} "
                                 "{{ invoices | map(attribute='number') | join(', ') }}{% endif %}")
BODY = _TEMPLATES.from_string("""\
Dear {{ greeting }},

Thank you for raising this with us. We have issued credit memo {{ memo_number }} for {{ amount }} to {{ company }}
{%- if against %} against invoice {{ against.number }}{% if against.po %} (your PO {{ against.po }}){% endif %}{% endif %}.
{% if applied %}

It is applied to:
{% for inv in applied %}
  - invoice {{ inv.number }}{% if inv.po %} (your PO {{ inv.po }}){% endif %}: {{ inv.applied }} credited
{%- if inv.remaining is not none %}, {{ inv.remaining }} still open{% endif %}

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


def money(value: float | None) -> str:
    """US dollars for people ('$1,234.50')."""
    return f"${value or 0:,.2f}"


def one_line(text: str | None) -> str:
    """Text safe for a header or a single line (line breaks folded to spaces)."""
    return _LINE_BREAKS.sub(" ", text or "").strip()


def pick_recipient(customer_email: str | None, contacts: list[tuple[str, str, str]]) -> tuple[str | None, str | None]:
    """(name, email) to write to: an accounts-payable contact, else the customer's email, else any contact."""
    for name, email, title in contacts:
        if title and _AP_TITLE.search(title):
            return name, email
    if customer_email:
        return None, customer_email
    return (contacts[0][0], contacts[0][1]) if contacts else (None, None)


@dataclass(frozen=True)
class Credit:
    """How much of a credit memo is applied to invoices, and how much is left as credit on account."""

    applied: float | None  # None: unknown (sent without its apply list and without amountRemaining)
    unapplied: float | None

    @property
    def on_account(self) -> float | None:
        """The credit left on the customer's account, when there is any (half a cent or more)."""
        return self.unapplied if self.unapplied is not None and self.unapplied >= CENT else None

    @property
    def nothing_applied(self) -> bool:
        """True when the memo is known to be applied to no invoice."""
        return self.applied is not None and abs(self.applied) < CENT


def credit_split(total: float | None, remaining: float | None, apply_version: str | None,
                 applied_sum: float | None) -> Credit:
    """The memo's applied and unapplied amounts; NetSuite's own `amountRemaining` wins where it is known."""
    if apply_version != "":  # the apply list was given ('' = never sent, worker/cdc/versions.py)
        applied: float | None = applied_sum or 0.0
    else:
        applied = round(total - remaining, 2) if total is not None and remaining is not None else None
    if remaining is None and total is not None and applied is not None:
        remaining = round(total - applied, 2)
    return Credit(applied, remaining)


def on_account_text(credit: Credit) -> str | None:
    """The email's sentence about the credit left on account (None when none is)."""
    if credit.on_account is None:
        return None
    if credit.nothing_applied:
        return f"It is not applied to an invoice yet: {money(credit.on_account)} stays as credit on your account."
    return f"{money(credit.on_account)} of it is not applied to an invoice: it stays as credit on your account."


def credit_problems(credit: Credit, total: float | None) -> list[str]:
    """What the reviewer must know about where the credit went before the email goes."""
    if credit.applied is None:
        return ["NetSuite sent the credit memo without its apply list: check which invoices it is applied to"]
    if credit.nothing_applied:
        left = credit.unapplied if credit.unapplied is not None else total
        return [f"the credit memo is not applied to any invoice: {money(left)} stays as credit on account"]
    return []


def draft(memo_number: str, company: str, amount: float | None, reason: str | None, invoices: list[dict[str, Any]],
          greeting: str | None, credit: Credit | None = None) -> tuple[str, str]:
    """Subject and plain-text body of the confirmation email."""
    shown = [{"number": one_line(i["tran_id"] or i["invoice_id"]), "po": one_line(i.get("po")),
              "applied": money(i["applied"]), "remaining": None if i["remaining"] is None else money(i["remaining"]),
              "is_applied": abs(i["applied"] or 0) >= CENT, "issued_against": i.get("issued_against", False)}
             for i in invoices]
    subject = one_line(SUBJECT.render(memo_number=one_line(memo_number), invoices=shown))
    body = BODY.render(greeting=one_line(greeting) or f"{company} team", memo_number=one_line(memo_number),
                       amount=money(amount), company=company, reason=(reason or "").strip(),
                       against=next((i for i in shown if i["issued_against"]), None),
                       applied=[i for i in shown if i["is_applied"]],
                       on_account=on_account_text(credit) if credit else None)
    return subject, body


def examine(conn: sqlite3.Connection, memo_id: str) -> WorkflowResult | None:
    """The dispute log entry and the drafted confirmation for one credit memo (None if not mirrored)."""
    row = conn.execute(MEMO, (memo_id,)).fetchone()
    if row is None:
        return None
    (tran_id, customer_id, created_from, tran_date, total, reason, deleted_at, company, customer_email,
     remaining, apply_version, applied_sum) = row
    number = tran_id or f"#{memo_id}"
    company = company or f"customer {customer_id}"
    if deleted_at:
        return WorkflowResult(customer_id, f"Credit memo {number} for {company} was deleted before it was reviewed.",
                              output={"credit_memo_id": memo_id, "deleted": True})
    invoices = [{"invoice_id": r[0], "tran_id": r[1], "tran_date": r[2], "total": r[3], "remaining": r[4],
                 "po": r[5], "applied": r[6] or 0.0, "issued_against": r[0] == created_from}
                for r in conn.execute(INVOICES, {"memo": memo_id, "created": created_from})]
    credit = credit_split(total, remaining, apply_version, applied_sum)
    pending = apply_version == ""  # never sent: redrafted when it is (NULL, written with the data, is given)
    contacts = [tuple(r) for r in conn.execute(CONTACTS, (customer_id,))]
    to_name, to_email = pick_recipient(customer_email, contacts)
    subject, body = draft(number, company, total, reason, invoices, to_name, credit)
    problems = ([] if to_email else ["no email address on file for the customer or its contacts"]) + (
        [] if reason else ["the credit memo has no memo: no reason recorded"]) + (
        [] if invoices else ["not linked to any mirrored invoice"]) + credit_problems(credit, total)
    common = {"credit_memo_id": memo_id, "credit_memo_number": tran_id, "customer_id": customer_id,
              "tran_date": tran_date, "amount": total, "reason": reason,
              "invoice_ids": [i["invoice_id"] for i in invoices],
              "issued_against": next((i["invoice_id"] for i in invoices if i["issued_against"]), None),
              "applied_total": credit.applied, "unapplied": credit.unapplied, "apply_pending": pending}
    log = Proposal("log_dispute", {**common, "invoices": invoices, "problems": problems}, risk=1,
                   customer_id=customer_id, dedupe_key=f"log_dispute:{memo_id}")
    email = Proposal("send_dispute_confirmation", {**common, "to": to_email, "to_name": to_name, "subject": subject,
                                                   "body": body, "problems": problems},
                     risk=3, customer_id=customer_id, dedupe_key=f"send_dispute_confirmation:{memo_id}")
    linked = ", ".join(i["tran_id"] or i["invoice_id"] for i in invoices) or "no invoice"
    on_account = f", {money(credit.on_account)} of it unapplied (credit on account)" if credit.on_account else ""
    observation = (f"Credit memo {number} for {company}, {money(total)} against {linked}{on_account}: "
                   f"{one_line(reason) or 'no reason given'}; confirmation drafted to {to_email or 'nobody (no email)'}"
                   + ("; NetSuite sent no apply list: the draft is redone when it does" if pending else "") + ".")
    return WorkflowResult(customer_id, observation, [log, email],
                          output={**common, "company": company, "problems": problems})


def redraft_note(number: str, company: str, applied: list[str], outcomes: dict[str, str]) -> str:
    """The observation of a redraft: where the credit went, what was redrafted, what a person had taken over."""
    found = f"applied to {', '.join(applied)}" if applied else "applied to no invoice"
    done = [KINDS[k] for k, o in outcomes.items() if o == REDRAFTED]
    parts = [f"{' and '.join(done)} redrafted with it"] if done else []
    parts += [f"{KINDS[k]} left as it is ({o})" for k, o in outcomes.items() if o != REDRAFTED]
    if outcomes[EMAIL] != REDRAFTED:
        parts.append("check the confirmation names the right invoices")
    return f"Credit memo {number} for {company}: NetSuite sent its apply list ({found}); {'; '.join(parts)}."


def redraft(conn: sqlite3.Connection, memo_id: str, drafts: dict[str, Draft]) -> WorkflowResult | None:
    """The memo's proposals drafted again with its apply list; the runner replaces only untouched drafts."""
    result = examine(conn, memo_id)
    if result is None:
        return None
    out = result.output
    log = next(p for p in result.proposals if p.kind == "log_dispute")
    applied = [i["tran_id"] or i["invoice_id"] for i in log.payload["invoices"] if abs(i["applied"] or 0) >= CENT]
    done = outcomes(drafts, list(KINDS))
    observation = redraft_note(out["credit_memo_number"] or f"#{memo_id}", out["company"], applied, done)
    return WorkflowResult(result.customer_id, observation, [replace(p, redraft=True) for p in result.proposals],
                          output={**out, "apply_arrived": True, "drafts": done})


def withdraw(conn: sqlite3.Connection, memo_id: str, event: Event) -> WorkflowResult | None:
    """The memo was deleted in NetSuite: its drafts still staged are withdrawn (None when it has none at all)."""
    tran_id, customer_id, company = conn.execute(NAMED, (memo_id,)).fetchone() or (None, None, None)
    customer_id = event.payload.get("customer_id") or customer_id
    found = drafts(conn, [f"{kind}:{memo_id}" for kind in KINDS])
    return withdraw_drafts(customer_id, f"credit memo {tran_id or '#' + memo_id}", company or f"customer {customer_id}",
                           event, found, {"credit_memo_id": memo_id, "credit_memo_number": tran_id})


def decide(conn: sqlite3.Connection, event: Event) -> WorkflowResult | None:
    """What one credit memo event calls for: the first draft, the redraft its apply list brings, its withdrawal."""
    memo_id = record_id(event)
    if event.type == "creditmemo.deleted":
        return withdraw(conn, memo_id, event)
    if (drafts := arrival(conn, NAME, memo_id, list(KINDS), EMAIL)) is not None:
        return redraft(conn, memo_id, drafts)
    return examine(conn, memo_id) if event.type == "creditmemo.posted" else None


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Log a posted credit memo as a dispute and draft its confirmation; redraft or withdraw them as it changes."""
    return await env.db.read_sync(decide, event)


WORKFLOW = Workflow(NAME, ("creditmemo.posted", "creditmemo.updated", "creditmemo.sublists_updated",
                                 "creditmemo.deleted"), handle)
