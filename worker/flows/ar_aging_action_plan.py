"""ar_aging_action_plan (risk 3): an invoice reached 61-90 / 90+, or a customer turned red (SPEC 6).

Proposes a collection email (drafted from the customer's past-due invoices), a call task with talking
points (which, as the run's observation, name a health-score cap and its rule when one lowered the score) and, when the customer is over its credit limit or mostly 90+, a service hold. Every proposal's
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
Every amount in a payload names its currency beside it (worker/flows/plan_draw.py lists the fields).

This module handles the plan's events; the plan's proposals are drawn in worker/flows/plan_draw.py (for a new
plan here, for a stale one's redraw in worker/flows/plan_redraw.py), the situation, its keys and the plan's wording
are pure (worker/flows/collection_situation.py), the reads are SQL (worker/flows/collection_queries.py).
"""

from __future__ import annotations

from functools import partial

from worker.aging import ACTION_BUCKETS
from worker.env import Env
from worker.flows.cap_wording import cap_text
from worker.flows.collection_queries import examine, older_plans, red_turn_overtaken
from worker.flows.collection_situation import NAME
from worker.flows.plan_draw import draw
from worker.flows.plan_redraw import redraw_stale
from worker.ledger import Event
from worker.pricing import amounts_text
from worker.stale_plans import EVENT as STALE
from worker.workflow_runner import Withdrawal, Workflow, WorkflowResult


async def handle(env: Env, event: Event) -> WorkflowResult | None:
    """Plan collections for the customer behind a bucket move to 61+ or a turn to red."""
    if event.type == STALE:
        return await redraw_stale(env, event)
    p = event.payload
    if event.type == "ar.bucket_changed" and p.get("to") not in ACTION_BUCKETS:
        return None
    if event.type == "customer.health_tier_changed" and p.get("to") != "red":
        return None
    customer_id = str(p.get("customer_id") or event.entity_id)
    red_on = p.get("as_of") if event.type == "customer.health_tier_changed" else None
    s = await env.db.read_sync(partial(examine, standard_terms=env.settings.programs["standard"].payment_terms_days),
                               customer_id, red_on)
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
                      if superseded else "")
                   + (f"; {capped}" if (capped := cap_text(s.health)) else "") + ".")
    reason = f"superseded by plan {s.state}"
    return WorkflowResult(customer_id, observation, plan.proposals,
                          output={**plan.common, "proposals": len(plan.proposals),
                                  "superseded": [i for i, _ in superseded],
                                  "net_exposure": s.exposure.net, "on_account": s.exposure.on_account,
                                  "currency": s.currency},
                          withdrawals=[Withdrawal(key, reason) for _, key in superseded])


WORKFLOW = Workflow(NAME, ("ar.bucket_changed", "customer.health_tier_changed", STALE), handle)
