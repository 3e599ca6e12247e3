"""The collection plan's SQL: reading a customer's AR situation in one snapshot, and the older plans it supersedes.

Plain functions of a connection (worker/db.py runs them), used by worker/flows/ar_aging_action_plan.py and
worker/flows/plan_redraw.py; what the situation means is worker/flows/collection_situation.py.
"""

from __future__ import annotations

import json
import sqlite3

from worker.aging import DUE_DATE_SQL, terms_days
from worker.flows.collection_situation import (
    HOLD_SHARE_90_PLUS,
    NAME,
    Situation,
    customer_currency,
    hold_reason,
    net_exposure,
    open_ar_text,
    proposal_key,
    trigger_state,
)
from worker.flows.recipients import CONTACTS, mail_address, pick_recipient
from worker.pricing import (
    amounts_text,
    credit_split,
    currency_name,
    money,
    totals_by_currency,
)

# The customer's primary currency (its credit limit's) is only in the record: REST sends a ref {"id", "refName"}
# (read as the mirror reads any, models._as_label: refName, else id), SuiteQL the internal id.
CUSTOMER = """
SELECT company_name, email, phone, credit_limit, deleted_at,
       CASE WHEN json_valid(raw_json) THEN CASE json_type(raw_json, '$.currency')
           WHEN 'object' THEN coalesce(nullif(json_extract(raw_json, '$.currency.refName'), ''),
                                       nullif(json_extract(raw_json, '$.currency.refname'), ''),
                                       json_extract(raw_json, '$.currency.id'))
           ELSE json_extract(raw_json, '$.currency') END END
FROM customers WHERE ns_id = ?
"""
# The latest snapshot's open invoices, each with the due date the plan counts days past due from, whatever
# [aging] basis aged the buckets (only the buckets and the health signal follow it): an invoice dated 40 days ago
# and due in 20 is not past due. That is the snapshot row's due date, else the warm tier's own fallback
# (worker.aging.DUE_DATE_SQL: the invoice's date plus the payment terms), as cron/health.py LATENESS reads it.
# Without either (no dates; or :standard_terms not given and needed), the snapshot's days: the due-date basis'.
OPEN_INVOICES = f"""
SELECT invoice_id, number, po, coalesce(due_date, due),
       coalesce(CAST(julianday(as_of) - julianday(due) AS INTEGER), days) AS days_past_due, bucket,
       amount_remaining, currency
FROM (SELECT s.invoice_id, coalesce(s.tran_id, s.invoice_id) AS number, i.other_ref_num AS po, s.due_date, s.as_of,
             s.days_past_due AS days, s.bucket, s.amount_remaining, i.currency,
             coalesce(date(s.due_date), {DUE_DATE_SQL}) AS due
      FROM ar_aging_snapshot s LEFT JOIN customer_invoice i ON i.ns_id = s.invoice_id
      WHERE s.as_of = (SELECT max(as_of) FROM ar_aging_runs) AND s.customer_id = :customer_id)
ORDER BY days_past_due DESC, invoice_id
"""
# A turn to red is acted on while it is the customer's current one: not when a later night scored it better (a
# re-run of an old night with --as-of, or a ledger backlog), nor when a later turn to red has its own event.
SCORED_BETTER_SINCE = """
SELECT tier, as_of FROM customer_health_scores WHERE customer_id = :customer_id AND as_of > :night AND tier <> 'red'
ORDER BY as_of DESC LIMIT 1
"""
TURNED_RED_SINCE = """
SELECT max(json_extract(payload_json, '$.as_of')) FROM events
WHERE type = 'customer.health_tier_changed' AND entity_id = :customer_id
  AND json_extract(payload_json, '$.to') = 'red' AND json_extract(payload_json, '$.as_of') > :night
"""
# Open invoices whose remaining amount NetSuite did not send (cron/aging.py reports them): not in the snapshot,
# so the plan names them rather than let its totals look complete.
REMAINING_UNKNOWN = """
SELECT coalesce(tran_id, ns_id) FROM customer_invoice
WHERE customer_id = ? AND amount_remaining IS NULL AND deleted_at IS NULL ORDER BY tran_date, ns_id
"""
HEALTH = "SELECT score, tier, signals_json FROM customer_health_scores WHERE customer_id = ? ORDER BY as_of DESC LIMIT 1"
# A situation is planned when a plan of it holds its key, or when a redraw answering it (a plan of its own key,
# worker/flows/plan_redraw.py, with `answers` in the payload) still holds that own key: the stale plan gave its
# keys up, yet the redraw is the plan of the same situation now. A withdrawn redraw (key released) reserves nothing.
ALREADY_PLANNED = """
SELECT 1 FROM proposed_actions WHERE dedupe_key = :key
UNION ALL
SELECT 1 FROM proposed_actions
WHERE customer_id = :customer_id AND json_extract(payload_json, '$.answers') = :state
  AND dedupe_key = :prefix || json_extract(payload_json, '$.plan') || ':' || kind
LIMIT 1
"""
# Money the customer already has on account, by source; deleted mirror rows are gone from NetSuite. A payment
# sent without `unapplied` (a memo without `amountRemaining`) is read with its applications: see on_account_left.
ON_ACCOUNT = """
SELECT 'payment', coalesce(p.tran_id, p.ns_id), p.currency, p.total, p.unapplied, p.cdc_apply_version,
       (SELECT sum(a.amount) FROM payment_application a WHERE a.payment_id = p.ns_id)
FROM customer_payment p
WHERE p.customer_id = :customer_id AND p.deleted_at IS NULL AND (p.unapplied > 0 OR p.unapplied IS NULL)
UNION ALL
SELECT 'credit', coalesce(m.tran_id, m.ns_id), m.currency, m.total, m.amount_remaining, m.cdc_apply_version,
       (SELECT sum(a.amount) FROM credit_memo_application a WHERE a.credit_memo_id = m.ns_id)
FROM credit_memo m
WHERE m.customer_id = :customer_id AND m.deleted_at IS NULL AND (m.amount_remaining > 0 OR m.amount_remaining IS NULL)
"""
SOURCE_NAMES = {"payment": "payment", "credit": "credit memo"}
# The customer's still-staged proposals of this flow from any plan but the current one: a new plan supersedes them,
# closed by the runner in the commit that stages it (worker/workflow_runner.py WITHDRAW), as a reviewer's
# rejection would be (worker.decisions), so the queue shows who closed them and why.
OLDER_STAGED = """
SELECT id, dedupe_key FROM proposed_actions
WHERE customer_id = :customer_id AND status = 'staged'
  AND substr(dedupe_key, 1, length(:flow_prefix)) = :flow_prefix
  AND substr(dedupe_key, 1, length(:plan_prefix)) <> :plan_prefix
ORDER BY id
"""


def examine(conn: sqlite3.Connection, customer_id: str, red_on: str | None,
            redraw_of: int | None = None, *, standard_terms: int | None = None) -> Situation | None:
    """Read the customer's situation in one snapshot (None for an unknown or deleted customer); `standard_terms`:
    the standard program's payment days ([programs.standard]), for an invoice with no due date nor any terms."""
    row = conn.execute(CUSTOMER, (customer_id,)).fetchone()
    if row is None or row[4]:
        return None
    company, email, phone, credit_limit, _, label = row
    home = customer_currency(label)
    cols = ("invoice_id", "number", "po", "due_date", "days_past_due", "bucket", "amount_remaining", "currency")
    conn.create_function("terms_days", 1, terms_days, deterministic=True)  # in DUE_DATE_SQL
    invoices = [dict(zip(cols, r, strict=True)) for r in conn.execute(
        OPEN_INVOICES, {"customer_id": customer_id, "standard_terms": standard_terms})]
    contacts = [tuple(r) for r in conn.execute(CONTACTS, (customer_id,))]
    to_name, to_email = pick_recipient(email, contacts)
    # The call's number: that of the first live contact with the chosen address, compared as pick_recipient reads
    # it (CONTACTS has only live, active contacts: a deleted one sharing the customer's ap@ mailbox is no one to call).
    contact_phone = next((phone for _, address, _, phone in contacts
                          if to_email and (mail_address(address) or "").lower() == to_email.lower()), None)
    h = conn.execute(HEALTH, (customer_id,)).fetchone()
    health = {"score": h[0], "tier": h[1], "signals": json.loads(h[2])} if h else None
    answers = trigger_state(invoices, red_on)
    state = answers if redraw_of is None else trigger_state(invoices, red_on, redraw_of)
    planned = conn.execute(ALREADY_PLANNED, {
        "key": proposal_key(customer_id, answers, "schedule_collection_call"), "customer_id": customer_id,
        "state": answers, "prefix": f"{NAME}:{customer_id}:"}).fetchone()
    on_account = [(source, number, currency, on_account_left(total, left, apply_version, applied))
                  for source, number, currency, total, left, apply_version, applied
                  in conn.execute(ON_ACCOUNT, {"customer_id": customer_id})]
    # In the customer's currency only (the credit limit's); the rest is stated per currency (collection_situation.py).
    same = [a for a in on_account if currency_name(a[2]) == home]
    exposure = net_exposure((i["amount_remaining"] for i in invoices if currency_name(i["currency"]) == home),
                            (a for source, _, _, a in same if source == "payment"),
                            (a for source, _, _, a in same if source == "credit"))
    other_on_account = totals_by_currency((a, currency) for _, _, currency, a in on_account
                                          if a is not None and a > 0 and currency_name(currency) != home)
    unknown = tuple(r[0] for r in conn.execute(REMAINING_UNKNOWN, (customer_id,)))
    return Situation(customer_id, company or f"customer {customer_id}", to_email, to_name,
                     contact_phone or phone, credit_limit, invoices, health, state,
                     planned is not None, exposure, unknown, answers,
                     on_account_unknown=tuple(f"{SOURCE_NAMES[source]} {number}"
                                              for source, number, _, a in on_account if a is None),
                     other_on_account=other_on_account, currency=home)


def red_turn_overtaken(conn: sqlite3.Connection, customer_id: str, night: str) -> str | None:
    """Why the customer's turn to red on `night` is no longer news, or None while it is its current one."""
    args = {"customer_id": customer_id, "night": night}
    if better := conn.execute(SCORED_BETTER_SINCE, args).fetchone():
        return f"it was scored {better[0]} on {better[1]} since"
    if later := conn.execute(TURNED_RED_SINCE, args).fetchone()[0]:
        return f"its turn to red on {later} is the one a plan answers"
    return None


def on_account_left(total: float | None, left: float | None, apply_version: str | None,
                    applied: float | None) -> float | None:
    """What a payment or credit memo leaves on account: NetSuite's `unapplied` / `amountRemaining` when it sent
    it, else its total less its apply list (as the dispute confirmation works it out); None when neither came."""
    return credit_split(total, left, apply_version, applied).unapplied


def older_plans(conn: sqlite3.Connection, customer_id: str, state: str) -> list[tuple[int, str]]:
    """The customer's still-staged proposals of earlier plans (id, dedupe key), which plan `state` supersedes."""
    return [(r[0], r[1]) for r in conn.execute(OLDER_STAGED, {
        "customer_id": customer_id, "flow_prefix": f"{NAME}:{customer_id}:",
        "plan_prefix": f"{NAME}:{customer_id}:{state}:"})]


def hold_not_warranted(conn: sqlite3.Connection, customer_id: str, *, standard_terms: int | None = None) -> str | None:
    """Why a staged service hold no longer stands although every invoice it names is still owed, or None.

    Money arriving on account (an unapplied payment, a credit memo) moves no invoice, so no named invoice makes
    the plan stale; its reason, worked out again from the account as it is now, may be gone all the same.
    Checked when a reviewer approves or rejects the hold (worker/decisions.py) and by the warm tick, which then
    flags the plan stale (worker/stale_plans.py). `standard_terms` as examine takes it, the value the flow drew
    the hold with: else an invoice without a due date or any terms counts other days past due than in the plan.
    """
    return why_hold_not_warranted(examine(conn, customer_id, None, standard_terms=standard_terms))


def why_hold_not_warranted(s: Situation | None) -> str | None:
    """hold_not_warranted of a situation read already (pure): the redraw words it from the one it draws from."""
    if s is None:
        return "the customer is no longer in the mirror"
    if hold_reason(s) is not None:
        return None
    if s.home_paid_on_account:
        return (f"{money(s.exposure.on_account, s.currency)} unapplied cash and credits on account now cover the "
                f"{money(s.home_past_due, s.currency)} past due")
    if s.paid_on_account:  # nothing past due in the customer's currency; what is, in others, is covered in each
        return f"{amounts_text(s.on_account_totals)} unapplied cash and credits on account now cover everything past due"
    limit = "" if s.credit_limit is None else f", within the credit limit {money(s.credit_limit, s.currency)}"
    return f"{open_ar_text(s)}{limit}, and less than {HOLD_SHARE_90_PLUS:.0%} of it is more than 90 days past due"
