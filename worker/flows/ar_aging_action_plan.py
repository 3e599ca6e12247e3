"""ar_aging_action_plan (risk 3): an invoice reached 61-90 / 90+, or a customer turned red (SPEC 6).

Proposes a collection email (drafted from the customer's past-due invoices), a call task with talking
points and, when the customer is over its credit limit or mostly 90+, a service hold. Every proposal's
dedupe key carries the *trigger state* (the set of invoices 61+ days past due and their buckets, or the
night a customer with nothing 61+ turned red), so ten invoices moving the same tick, or the same
situation seen again, produce one plan; a new invoice crossing 61 or one moving on to 90+ is a new plan.

One live plan per customer: staging a new plan rejects the customer's older proposals of this flow that are
still `staged` ("superseded by plan …", an `action.rejected` event), so the same dunning email is never
approvable twice; approved or decided ones are left alone. The handler names them as `Withdrawal`s (keys kept:
the situation they answered stays planned), which the runner closes in the commit that stages the new plan,
only those still staged then (edited or not): a lost commit closes nothing, and the retry supersedes them anew.

A plan that names invoices no longer owed (paid, credited, voided, deleted, partly paid or of unknown remainder
since it was drafted) is redrawn from what is still open, or withdrawn, on `ar.plan_stale`
(worker/flows/plan_redraw.py, worker/stale_plans.py).

Aging buckets are over invoices (SPEC 6), but the credit-limit hold and the dunning use the net exposure:
open invoices less unapplied payments and open credit memos. When the cash and credits on account cover
everything past due, the plan proposes no email or hold, only the call whose talking points say to apply them.
Amounts keep their currency: the email shows each invoice in its own and totals per currency, and the exposure,
the credit limit and the 90+ share are in the customer's primary currency only (the limit's; US dollars when none
is known), with other currencies named under `problems`. Money on account covers past due per currency.
Every amount in a payload names its currency beside it, as totals are keyed (pricing.currency_name): the hold's
`credit_limit` and `net_exposure` in `currency`, the email's `on_account` in `on_account_currency` and
`past_due_total` (the US-dollar part) in `past_due_total_currency`; `past_due_totals` keys each currency's.

This module drafts the plan and handles its events; the situation, its keys and the plan's wording are pure
(worker/flows/collection_situation.py), the reads are SQL (worker/flows/collection_queries.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.aging import ACTION_BUCKETS, SEVERITY
from worker.claude import client_for
from worker.currency import BASE_CURRENCY
from worker.drafting import (
    CollectionContext,
    approved_examples,
    draft_collection_email,
)
from worker.env import Env
from worker.flows.collection_queries import examine, older_plans, red_turn_overtaken
from worker.flows.collection_situation import (
    NAME,
    Situation,
    email_problems,
    hold_reason,
    proposal_key,
    talking_points,
)
from worker.ledger import Event
from worker.pricing import amounts_text
from worker.stale_plans import EVENT as STALE
from worker.workflow_runner import Proposal, Withdrawal, Workflow, WorkflowResult


@dataclass(frozen=True)
class Drawn:
    """A plan's proposals, how its email was drafted, and the fields every proposal carries."""

    proposals: list[Proposal]
    drafted: str
    common: dict[str, Any]


async def draw(env: Env, s: Situation, event: Event, *, skip: Mapping[str, str] | None = None,
               notes: tuple[str, ...] = (), extra: dict[str, Any] | None = None) -> Drawn:
    """The plan's proposals for a situation, but none of the kinds in `skip` (kind: how a reviewer decided it).

    `notes` go under the email's problems, `extra` into every proposal's payload.
    """
    key = lambda kind: proposal_key(s.customer_id, s.state, kind)
    worst = max((i["bucket"] for i in s.invoices), key=SEVERITY.__getitem__, default="current")
    common = {"customer_id": s.customer_id, "company": s.company, "trigger": event.type, "trigger_event_id": event.id,
              "worst_bucket": worst, "plan": s.state, **(extra or {})}
    skip = skip or {}
    proposals = []
    drafted = "no email (nothing past due)"
    if s.paid_on_account:
        drafted = (f"no email or hold: {amounts_text(s.on_account_totals)} unapplied cash and credits on account cover "
                   f"the past-due amount and should be applied")
    elif "send_collection_email" in skip:
        drafted = f"no email (a reviewer {skip['send_collection_email']} the stale plan's email)"
    elif s.past_due:
        ctx = CollectionContext(s.customer_id, s.company, s.email, s.to_name, s.past_due,
                                await approved_examples(env, s.customer_id, NAME))
        draft = await draft_collection_email(ctx, client_for(env), model=env.settings.anthropic.draft_model)
        drafted = f"email drafted by {draft.drafted_by}" + (f" ({draft.fallback_reason})" if draft.fallback_reason else "")
        proposals.append(Proposal("send_collection_email", {
            **common, "to": s.email, "to_name": s.to_name, "subject": draft.subject, "body": draft.body,
            "invoices": s.past_due, "past_due_total": s.past_due_total, "past_due_total_currency": BASE_CURRENCY,
            "past_due_totals": ctx.totals, "drafted_by": draft.drafted_by, "model": draft.model,
            "fallback_reason": draft.fallback_reason, "on_account": s.exposure.on_account,
            "on_account_currency": s.currency, "problems": [*email_problems(s), *notes]},
            risk=3, customer_id=s.customer_id, dedupe_key=key("send_collection_email")))
    # The call names the invoices too, so a plan without an email still goes stale when they close.
    proposals.append(Proposal("schedule_collection_call", {
        **common, "contact_name": s.to_name, "phone": s.phone, "email": s.email, "talking_points": talking_points(s),
        "invoices": s.past_due},
        risk=3, customer_id=s.customer_id, dedupe_key=key("schedule_collection_call")))
    # The hold names the open invoices its reason was worked out from, so that it too goes stale (and is
    # redrawn or withdrawn, worker/stale_plans.py) when they are paid, and is refused approval until then.
    # Its limit and exposure are in the customer's currency, named beside them: 5000 alone reads as any currency.
    if reason := hold_reason(s):
        proposals.append(Proposal("service_hold", {**common, "reason": reason, "credit_limit": s.credit_limit,
                                                   "net_exposure": s.exposure.net, "currency": s.currency,
                                                   "invoices": s.invoices},
                                  risk=3, customer_id=s.customer_id, dedupe_key=key("service_hold")))
    return Drawn([p for p in proposals if p.kind not in skip], drafted, common)


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Plan collections for the customer behind a bucket move to 61+ or a turn to red."""
    if event.type == STALE:
        # Imported here: the redraw builds on this module (draw), which would make a cycle at import.
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
    if red_on and (overtaken := await env.db.read_sync(red_turn_overtaken, customer_id, red_on)):
        return WorkflowResult(customer_id, f"{s.company} turned red on {red_on}, but {overtaken}; no plan proposed.")
    if event.type == "ar.bucket_changed" and not s.severe:
        return WorkflowResult(customer_id, f"{s.company}: invoice {p.get('tran_id') or p.get('invoice_id')} reached "
                              f"{p.get('to')} but nothing is 61+ days past due now; no plan proposed.")
    plan = await draw(env, s, event)
    # Closed by the runner in the commit that stages this plan (only if still staged then), never before it.
    superseded = await env.db.read_sync(older_plans, customer_id, s.state)
    observation = (f"{s.company}: {len(s.past_due)} invoice(s) past due ({amounts_text(s.past_due_totals)}), worst "
                   f"{plan.common['worst_bucket']}, after {event.type}; proposed "
                   f"{', '.join(pr.kind for pr in plan.proposals)}; {plan.drafted}"
                   + (f"; supersedes staged proposal(s) {', '.join(f'#{i}' for i, _ in superseded)} of earlier plans"
                      if superseded else "") + ".")
    reason = f"superseded by plan {s.state}"
    return WorkflowResult(customer_id, observation, plan.proposals,
                          output={**plan.common, "proposals": len(plan.proposals),
                                  "superseded": [i for i, _ in superseded],
                                  "net_exposure": s.exposure.net, "on_account": s.exposure.on_account,
                                  "currency": s.currency},
                          withdrawals=[Withdrawal(key, reason) for _, key in superseded])


WORKFLOW = Workflow(NAME, ("ar.bucket_changed", "customer.health_tier_changed", STALE), handle)
