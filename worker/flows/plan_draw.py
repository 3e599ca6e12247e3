"""ar_aging_action_plan's proposals for a situation: the collection email, the call and the service hold (SPEC 6).

Drawn for a new plan (worker/flows/ar_aging_action_plan.py) and for a stale plan's redraw
(worker/flows/plan_redraw.py), which is why it is a module of its own: the flow imports the redraw, both import this.
The email is drafted by Claude from the customer's past-due invoices (worker/drafting.py); the situation, its keys
and the plan's wording are pure (worker/flows/collection_situation.py).

Every amount in a payload names its currency beside it, as totals are keyed (pricing.currency_name): the hold's
`credit_limit` and `net_exposure` in `currency`, the email's `on_account` in `on_account_currency` and
`past_due_total` (the US-dollar part) in `past_due_total_currency`; `past_due_totals` keys each currency's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.aging import SEVERITY
from worker.claude import client_for
from worker.currency import BASE_CURRENCY
from worker.drafting import CollectionContext, approved_examples, draft_collection_email
from worker.env import Env
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
from worker.workflow_runner import Proposal


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
