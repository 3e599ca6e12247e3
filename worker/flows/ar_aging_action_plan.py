"""ar_aging_action_plan (risk 3): an invoice reached 61-90 / 90+, or a customer turned red (SPEC 6).

Proposes a collection email (drafted from the customer's past-due invoices), a call task with talking
points and, when the customer is over its credit limit or mostly 90+, a service hold. Every proposal's
dedupe key carries the *trigger state* (the set of invoices 61+ days past due and their buckets, or the
night a customer with nothing 61+ turned red), so ten invoices moving the same tick, or the same
situation seen again, produce one plan; a new invoice crossing 61 or one moving on to 90+ is a new plan.

One live plan per customer: staging a new plan rejects the customer's older proposals of this flow that are
still `staged` ("superseded by plan …", an `action.rejected` event), so the same dunning email is never
approvable twice; approved or decided ones are left alone. That write happens at the end of the handler,
after drafting (it predates the runner's Withdrawal, which plan_redraw uses): if the runner's commit is
then lost, the event is handled again and the (idempotent) supersede finds nothing left to close.

A plan that names invoices no longer owed (paid, credited, voided, deleted, partly paid or of unknown remainder
since it was drafted) is redrawn from what is still open, or withdrawn, on `ar.plan_stale`
(worker/flows/plan_redraw.py, worker/stale_plans.py).

Aging buckets are over invoices (SPEC 6), but the credit-limit hold and the dunning use the net exposure:
open invoices less unapplied payments and open credit memos. When the cash and credits on account cover
everything past due, the plan proposes no email or hold, only the call whose talking points say to apply them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from worker.aging import ACTION_BUCKETS, SEVERITY
from worker.claude import client_for
from worker.drafting import (
    CollectionContext,
    approved_examples,
    draft_collection_email,
    money,
)
from worker.env import Env, iso
from worker.flows.invoice_dispute import CONTACTS, pick_recipient
from worker.ledger import Event, append_event
from worker.stale_plans import EVENT as STALE
from worker.workflow_runner import Proposal, Workflow, WorkflowResult

NAME = "ar_aging_action_plan"
HOLD_SHARE_90_PLUS = 0.5  # share of open AR 90+ days past due at which a service hold is proposed
CUSTOMER = "SELECT company_name, email, phone, credit_limit, deleted_at FROM customers WHERE ns_id = ?"
OPEN_INVOICES = """
SELECT s.invoice_id, coalesce(s.tran_id, s.invoice_id), i.other_ref_num, s.due_date, s.days_past_due, s.bucket,
       s.amount_remaining
FROM ar_aging_snapshot s LEFT JOIN customer_invoice i ON i.ns_id = s.invoice_id
WHERE s.as_of = (SELECT max(as_of) FROM ar_aging_runs) AND s.customer_id = ?
ORDER BY s.days_past_due DESC, s.invoice_id
"""
# Open invoices whose remaining amount NetSuite did not send (cron/aging.py reports them): not in the snapshot,
# so the plan names them rather than let its totals look complete.
REMAINING_UNKNOWN = """
SELECT coalesce(tran_id, ns_id) FROM customer_invoice
WHERE customer_id = ? AND amount_remaining IS NULL AND deleted_at IS NULL ORDER BY tran_date, ns_id
"""
HEALTH = "SELECT score, tier, signals_json FROM customer_health_scores WHERE customer_id = ? ORDER BY as_of DESC LIMIT 1"
ALREADY_PLANNED = "SELECT 1 FROM proposed_actions WHERE dedupe_key = ?"
CONTACT_PHONE = "SELECT phone FROM customer_contacts WHERE customer_id = ? AND lower(email) = lower(?) LIMIT 1"
# Money the customer already has on account, by source; deleted mirror rows are gone from NetSuite.
ON_ACCOUNT = """
SELECT 'payment', unapplied FROM customer_payment
WHERE customer_id = :customer_id AND deleted_at IS NULL AND unapplied > 0
UNION ALL
SELECT 'credit', amount_remaining FROM credit_memo
WHERE customer_id = :customer_id AND deleted_at IS NULL AND amount_remaining > 0
"""
# Close the customer's still-staged proposals of this flow from any plan but the current one, as a reviewer's
# rejection would (worker.decisions), so the queue shows who closed them and why.
SUPERSEDE_OLDER = """
UPDATE proposed_actions SET status = 'rejected', decided_by = :by, decided_at = :now, decision_reason = :reason,
    updated_at = :now
WHERE customer_id = :customer_id AND status = 'staged'
  AND substr(dedupe_key, 1, length(:flow_prefix)) = :flow_prefix
  AND substr(dedupe_key, 1, length(:plan_prefix)) <> :plan_prefix
RETURNING id, kind
"""


@dataclass(frozen=True)
class Exposure:
    """What a customer owes net of money on account (unapplied payments, open credit memos)."""

    open_invoices: float
    unapplied_payments: float
    open_credits: float

    @property
    def on_account(self) -> float:
        """Cash and credits on the customer's account not yet applied to any invoice."""
        return round(self.unapplied_payments + self.open_credits, 2)

    @property
    def net(self) -> float:
        """Open invoices less what is on account (negative: the customer is in credit)."""
        return round(self.open_invoices - self.on_account, 2)

    def covers(self, amount: float) -> bool:
        """Whether the money on account pays `amount` in full (nothing to chase once it is applied)."""
        return amount > 0 and self.on_account >= round(amount, 2)


def net_exposure(open_invoices: Iterable[float | None], unapplied_payments: Iterable[float | None],
                 open_credits: Iterable[float | None]) -> Exposure:
    """Sum each source to the cent; missing and non-positive amounts count as nothing."""
    def total(amounts: Iterable[float | None]) -> float:
        return round(sum(a for a in amounts if a is not None and a > 0), 2)
    return Exposure(total(open_invoices), total(unapplied_payments), total(open_credits))


@dataclass(frozen=True)
class Situation:
    """A customer's receivables as the latest aging snapshot sees them."""

    customer_id: str
    company: str
    email: str | None
    to_name: str | None
    phone: str | None
    credit_limit: float | None
    invoices: list[dict[str, Any]]
    health: dict[str, Any] | None
    state: str
    already_planned: bool
    exposure: Exposure
    remaining_unknown: tuple[str, ...] = ()  # numbers of open invoices whose remaining amount is unknown

    @property
    def past_due(self) -> list[dict[str, Any]]:
        """Invoices at least one day past due."""
        return [i for i in self.invoices if i["days_past_due"] > 0]

    @property
    def severe(self) -> list[dict[str, Any]]:
        """Invoices 61+ days past due."""
        return [i for i in self.invoices if i["bucket"] in ACTION_BUCKETS]

    @property
    def past_due_total(self) -> float:
        """What is past due, gross of anything on account."""
        return round(sum(i["amount_remaining"] for i in self.past_due), 2)

    @property
    def paid_on_account(self) -> bool:
        """Unapplied cash and credits cover everything past due: apply them, do not dun."""
        return self.exposure.covers(self.past_due_total)


def trigger_state(invoices: list[dict[str, Any]], red_on: str | None, redraw_of: int | None = None) -> str:
    """A short hash of what the plan answers: the 61+ invoices and their buckets (or the red night).

    A redraw (`redraw_of`: its ar.plan_stale event) is a plan of its own whatever the set: the same set was
    likely planned before (the stale plan itself, or one it superseded), and must not deduplicate it away.
    """
    severe = sorted((i["invoice_id"], i["bucket"]) for i in invoices if i["bucket"] in ACTION_BUCKETS)
    basis: Any = severe if severe else f"red:{red_on}"
    if redraw_of is not None:
        basis = [basis, f"redraw:{redraw_of}"]
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:16]


def proposal_key(customer_id: str, state: str, kind: str) -> str:
    """The proposed_actions.dedupe_key of one action of one plan."""
    return f"{NAME}:{customer_id}:{state}:{kind}"


def examine(conn: sqlite3.Connection, customer_id: str, red_on: str | None,
            redraw_of: int | None = None) -> Situation | None:
    """Read the customer's situation in one snapshot (None for an unknown or deleted customer)."""
    row = conn.execute(CUSTOMER, (customer_id,)).fetchone()
    if row is None or row[4]:
        return None
    company, email, phone, credit_limit, _ = row
    cols = ("invoice_id", "number", "po", "due_date", "days_past_due", "bucket", "amount_remaining")
    invoices = [dict(zip(cols, r, strict=True)) for r in conn.execute(OPEN_INVOICES, (customer_id,))]
    contacts = [tuple(r) for r in conn.execute(CONTACTS, (customer_id,))]
    to_name, to_email = pick_recipient(email, contacts)
    contact_phone = conn.execute(CONTACT_PHONE, (customer_id, to_email)).fetchone() if to_email else None
    h = conn.execute(HEALTH, (customer_id,)).fetchone()
    health = {"score": h[0], "tier": h[1], "signals": json.loads(h[2])} if h else None
    state = trigger_state(invoices, red_on, redraw_of)
    planned = conn.execute(ALREADY_PLANNED, (proposal_key(customer_id, state, "schedule_collection_call"),)).fetchone()
    on_account = conn.execute(ON_ACCOUNT, {"customer_id": customer_id}).fetchall()
    exposure = net_exposure((i["amount_remaining"] for i in invoices),
                            (a for source, a in on_account if source == "payment"),
                            (a for source, a in on_account if source == "credit"))
    unknown = tuple(r[0] for r in conn.execute(REMAINING_UNKNOWN, (customer_id,)))
    return Situation(customer_id, company or f"customer {customer_id}", to_email, to_name,
                     (contact_phone[0] if contact_phone else None) or phone, credit_limit, invoices, health, state,
                     planned is not None, exposure, unknown)


def supersede_older_plans(conn: sqlite3.Connection, customer_id: str, state: str, now: str) -> list[int]:
    """Reject the customer's still-staged proposals of earlier plans, each with an action.rejected event."""
    reason = f"superseded by plan {state}"
    closed = sorted(tuple(r) for r in conn.execute(SUPERSEDE_OLDER, {
        "by": NAME, "now": now, "reason": reason, "customer_id": customer_id,
        "flow_prefix": f"{NAME}:{customer_id}:", "plan_prefix": f"{NAME}:{customer_id}:{state}:"}))
    for action_id, kind in closed:
        append_event(conn, "action.rejected", "proposed_action", str(action_id),
                     {"reviewer": NAME, "kind": kind, "reason": reason},
                     dedupe_key=f"action.decided:{action_id}", created_at=now)
    return [action_id for action_id, _ in closed]


def open_ar_text(e: Exposure) -> str:
    """The open AR the credit limit is compared with, saying what was netted."""
    if not e.on_account:
        return f"open AR {money(e.open_invoices)}"
    return f"open AR {money(e.net)} net of {money(e.on_account)} unapplied cash and credits"


def on_account_point(s: Situation) -> str | None:
    """The talking point about money on account, if there is any."""
    if not s.exposure.on_account:
        return None
    on_account = money(s.exposure.on_account)
    if s.paid_on_account:
        return (f"Unapplied cash and credits on account ({on_account}) cover the past-due "
                f"{money(s.past_due_total)}: apply them to the open invoices in NetSuite; do not ask for payment.")
    return (f"Apply the unapplied cash and credits on account ({on_account}) first: past due net of them is "
            f"{money(round(s.past_due_total - s.exposure.on_account, 2))}.")


def unknown_remaining_text(s: Situation) -> str | None:
    """The invoices left out of every figure because their remaining amount is unknown, if any."""
    if not s.remaining_unknown:
        return None
    return (f"amount remaining unknown for {', '.join(s.remaining_unknown)} (NetSuite sent no amountRemaining): "
            "not in these invoices or totals; check in NetSuite")


def over_credit_limit(s: Situation) -> bool:
    """True when net exposure is over the customer's credit limit."""
    # A blank NetSuite limit is NULL (no limit); 0 is a real limit of nothing (cash-only customers).
    return s.credit_limit is not None and s.exposure.net > s.credit_limit


def talking_points(s: Situation) -> list[str]:
    """What the caller should cover, most important first."""
    past_due = s.past_due
    points = [p] if (p := on_account_point(s)) else []
    if past_due:
        oldest = past_due[0]
        points.append(f"{len(past_due)} invoice(s) past due, {money(s.past_due_total)}; "
                      f"oldest {oldest['number']} is {oldest['days_past_due']} days past due.")
    if over_credit_limit(s):
        text = open_ar_text(s.exposure)
        points.append(f"{text[0].upper()}{text[1:]} exceeds the credit limit {money(s.credit_limit)}.")
    if s.health:
        weakest = sorted(s.health["signals"].items(), key=lambda kv: kv[1]["sub_score"])[:2]
        why = ", ".join(f"{name} ({v['sub_score']:.0f}/100)" for name, v in weakest)
        points.append(f"Health score {s.health['score']:.0f} ({s.health['tier']}); weakest signals: {why}.")
    if unknown := unknown_remaining_text(s):
        points.append(f"{unknown[0].upper()}{unknown[1:]}.")
    points.append("Ask for the remittance detail the cash on account is for; note any invoice they dispute and why."
                  if s.paid_on_account else
                  "Ask for a payment date and remittance reference; note any invoice they dispute and why.")
    return points


def email_problems(s: Situation) -> list[str]:
    """What the reviewer must sort out before the collection email can go."""
    problems = [] if s.email else ["no email address on file for the customer or its contacts"]
    if s.exposure.on_account:
        problems.append(f"{money(s.exposure.on_account)} unapplied cash and credits on account: apply them first; "
                        "the email lists invoice balances before they are applied")
    if unknown := unknown_remaining_text(s):
        problems.append(unknown)
    return problems


def hold_reason(s: Situation) -> str | None:
    """Why a service hold is warranted, or None (never when money on account pays everything past due)."""
    if s.paid_on_account:
        return None
    if over_credit_limit(s):
        return f"{open_ar_text(s.exposure)} is over the credit limit {money(s.credit_limit)}"
    total_open = s.exposure.open_invoices
    share = sum(i["amount_remaining"] for i in s.invoices if i["bucket"] == "90+") / total_open if total_open else 0
    if share >= HOLD_SHARE_90_PLUS:
        return f"{share:.0%} of open AR is more than 90 days past due"
    return None


@dataclass(frozen=True)
class Drawn:
    """A plan's proposals, how its email was drafted, and the fields every proposal carries."""

    proposals: list[Proposal]
    drafted: str
    common: dict[str, Any]


async def draw(env: Env, s: Situation, event: Event, *, skip: frozenset[str] = frozenset(),
               notes: tuple[str, ...] = (), extra: dict[str, Any] | None = None) -> Drawn:
    """The plan's proposals for a situation, but none of the kinds in `skip`.

    `notes` go under the email's problems, `extra` into every proposal's payload.
    """
    key = lambda kind: proposal_key(s.customer_id, s.state, kind)
    worst = max((i["bucket"] for i in s.invoices), key=SEVERITY.__getitem__, default="current")
    common = {"customer_id": s.customer_id, "company": s.company, "trigger": event.type, "trigger_event_id": event.id,
              "worst_bucket": worst, "plan": s.state, **(extra or {})}
    proposals = []
    drafted = "no email (nothing past due)"
    if s.paid_on_account:
        drafted = (f"no email or hold: {money(s.exposure.on_account)} unapplied cash and credits on account cover "
                   f"the past-due amount and should be applied")
    elif "send_collection_email" in skip:
        drafted = "no email (a reviewer decided the stale plan's email)"
    elif s.past_due:
        ctx = CollectionContext(s.customer_id, s.company, s.email, s.to_name, s.past_due,
                                await approved_examples(env, s.customer_id, NAME))
        draft = await draft_collection_email(ctx, client_for(env), model=env.settings.anthropic.draft_model)
        drafted = f"email drafted by {draft.drafted_by}" + (f" ({draft.fallback_reason})" if draft.fallback_reason else "")
        proposals.append(Proposal("send_collection_email", {
            **common, "to": s.email, "to_name": s.to_name, "subject": draft.subject, "body": draft.body,
            "invoices": s.past_due, "past_due_total": ctx.total, "drafted_by": draft.drafted_by, "model": draft.model,
            "fallback_reason": draft.fallback_reason, "on_account": s.exposure.on_account,
            "problems": [*email_problems(s), *notes]},
            risk=3, customer_id=s.customer_id, dedupe_key=key("send_collection_email")))
    # The call names the invoices too, so a plan without an email still goes stale when they close.
    proposals.append(Proposal("schedule_collection_call", {
        **common, "contact_name": s.to_name, "phone": s.phone, "email": s.email, "talking_points": talking_points(s),
        "invoices": s.past_due},
        risk=3, customer_id=s.customer_id, dedupe_key=key("schedule_collection_call")))
    if reason := hold_reason(s):
        proposals.append(Proposal("service_hold", {**common, "reason": reason, "credit_limit": s.credit_limit,
                                                   "net_exposure": s.exposure.net},
                                  risk=3, customer_id=s.customer_id, dedupe_key=key("service_hold")))
    return Drawn([p for p in proposals if p.kind not in skip], drafted, common)


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Plan collections for the customer behind a bucket move to 61+ or a turn to red."""
    if event.type == STALE:
        # Imported here: the redraw builds on this module (examine, draw), which would make a cycle at import.
        from worker.flows.plan_redraw import redraw_stale

        return await redraw_stale(env, event)
    p = event.payload
    if event.type == "ar.bucket_changed" and p.get("to") not in ACTION_BUCKETS:
        return None
    if event.type == "customer.health_tier_changed" and p.get("to") != "red":
        return None
    customer_id = str(p.get("customer_id") or event.entity_id)
    red_on = p.get("as_of") if event.type == "customer.health_tier_changed" else None
    s = await env.db.read_sync(examine, customer_id, red_on)
    if s is None or s.already_planned:
        return None  # unknown customer, or this very situation already has a plan
    if event.type == "ar.bucket_changed" and not s.severe:
        return WorkflowResult(customer_id, f"{s.company}: invoice {p.get('tran_id') or p.get('invoice_id')} reached "
                              f"{p.get('to')} but nothing is 61+ days past due now; no plan proposed.")
    plan = await draw(env, s, event)
    # Last, after everything that can fail: a handler that raises must not have closed the old plan.
    superseded = await env.db.write(supersede_older_plans, customer_id, s.state, iso(env.clock()))
    observation = (f"{s.company}: {len(s.past_due)} invoice(s) past due ({money(s.past_due_total)}), worst "
                   f"{plan.common['worst_bucket']}, after {event.type}; proposed "
                   f"{', '.join(pr.kind for pr in plan.proposals)}; {plan.drafted}"
                   + (f"; superseded staged proposal(s) {', '.join(f'#{i}' for i in superseded)} of earlier plans"
                      if superseded else "") + ".")
    return WorkflowResult(customer_id, observation, plan.proposals,
                          output={**plan.common, "proposals": len(plan.proposals), "superseded": superseded,
                                  "net_exposure": s.exposure.net, "on_account": s.exposure.on_account})


WORKFLOW = Workflow(NAME, ("ar.bucket_changed", "customer.health_tier_changed", STALE), handle)
