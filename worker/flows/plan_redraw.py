"""ar_aging_action_plan on `ar.plan_stale`: a staged plan naming invoices no longer owed is redrawn or withdrawn.

So is a plan whose staged service hold names only invoices still owed but has lost its reason (money arrived on
account, the credit limit was raised: collection_queries.hold_not_warranted); the redraw works the hold out afresh,
so it is not proposed again while its reason is gone.

The warm tick appends the event (worker/stale_plans.py); the handler looks again, since the plan may have been
replaced or decided, or the invoice reopened (the hold become warranted again), since then. When something is still
61+ days past due (or the customer's latest score is red), a fresh plan of what is still open supersedes the stale
one; else the stale one is withdrawn. Either way the stale rows are closed in the runner's commit (`Withdrawal`),
rejected by the flow with a reason naming the invoices (or the hold's lost reason), and give up their dedupe keys
so the situation they answered, if it comes back, is planned afresh. The redraw's keys carry the event
(trigger_state's `redraw_of`): the same 61+ set was likely planned before, by the stale plan itself or one it
superseded, and must not deduplicate the redraw away.
Its payload's `answers` (the state without that mark) keeps the situation reserved while the redraw holds its
keys, so the same situation seen again is not planned anew over it (and over a reviewer's edit of it).

A staged draft a reviewer edited but did not decide goes too: its amounts are wrong now, and left staged it stays
approvable. Its text stays readable on the closed row, the observation names it and the new email's problems
point to it. What a person decided in the stale plan stands; the redraw does not propose a kind a person approved
(an approved email stays sent) or rejected while it was still owed as named (a judgment: no hold for this
customer), but does propose one a person rejected as stale, corrected (rejecting a stale draft, or a hold whose
reason is gone, is what the refusal to approve it advises; worker/decisions.py marks such a rejection
`rejected_as_stale`), should its situation warrant it again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from worker.env import Env
from worker.flows.collection_queries import examine, why_hold_not_warranted
from worker.flows.collection_situation import NAME, Situation
from worker.flows.plan_draw import draw
from worker.flows.withdrawals import WITHDRAWN
from worker.ledger import Event
from worker.pricing import amounts_text
from worker.stale_plans import NotOwed, staged_not_owed, what_went_stale
from worker.workflow_runner import Withdrawal, WorkflowResult

# The customer's still-staged proposals of this flow (edited: a person saved a change; decided_earlier and
# rejected_earlier: what a redraw carries from the plans before it), and the kinds a person decided in a plan,
# which a redraw does not propose again: approved, or rejected while still owed as named. A rejection as stale
# (the flow's own withdrawals, or a person's as the refusal to approve advises) asks for the corrected draft.
STAGED = """
SELECT id, kind, dedupe_key, updated_at <> created_at, json_extract(payload_json, '$.decided_earlier'),
       json_extract(payload_json, '$.rejected_earlier')
FROM proposed_actions
WHERE customer_id = :customer_id AND status = 'staged' AND substr(dedupe_key, 1, length(:prefix)) = :prefix
ORDER BY id
"""
PERSON_DECIDED = """
SELECT DISTINCT kind, status = 'rejected' FROM proposed_actions
WHERE substr(dedupe_key, 1, length(:plan)) = :plan
  AND (status IN ('approved', 'executed')
       OR (status = 'rejected' AND decided_by IS NOT :flow AND json_extract(payload_json, '$.rejected_as_stale') IS NULL))
"""
LATEST_TIER = "SELECT tier, as_of FROM customer_health_scores WHERE customer_id = ? ORDER BY as_of DESC LIMIT 1"


@dataclass(frozen=True)
class StalePlan:
    """A customer's staged plan as ar.plan_stale finds it when handled."""

    not_owed: list[NotOwed]  # what it names that is no longer owed so (empty: nothing to do any more)
    drafts: list[tuple[int, str, str, bool]]  # the staged proposals: id, kind, dedupe key, edited
    # kind -> "approved" or "rejected" (while still owed as named), as a person decided it in that plan or the
    # plans it redrew; an approval wins over a rejection of the same kind
    decided: dict[str, str]
    red_on: str | None  # the night of the customer's latest score, when it is red
    hold_gone: str | None = None  # why its staged hold, naming only invoices still owed, no longer stands


def read_stale_plan(conn: sqlite3.Connection, customer_id: str, redraw_of: int,
                    standard_terms: int | None = None) -> tuple[StalePlan, Situation | None]:
    """The customer's staged plan, what it names no longer owed (or why its hold no longer stands), and the
    situation a redraw would answer (`standard_terms`: as collection_queries.examine takes it)."""
    not_owed = staged_not_owed(conn, customer_id, standard_terms=standard_terms)
    rows = conn.execute(STAGED, {"customer_id": customer_id, "prefix": f"{NAME}:{customer_id}:"}).fetchall()
    drafts = [(r[0], r[1], r[2], bool(r[3])) for r in rows]
    # As the warm tick finds them (stale_plans.holds_not_warranted): a hold naming invoices no longer owed is
    # stale already; the redraw words the hold of what is open afresh either way.
    holds = [d for d in drafts if d[1] == "service_hold" and d[0] not in {n.action_id for n in not_owed}]
    plans = {key.rsplit(":", 1)[0] + ":" for _, _, key, _ in drafts}
    found = [(kind, "rejected" if rejected else "approved") for plan in plans
             for kind, rejected in conn.execute(PERSON_DECIDED, {"plan": plan, "flow": NAME})]
    # Carried from the plans a redraw replaced: an approved email stays sent, a rejected hold stays rejected.
    found += [(kind, how) for r in rows for how, carried in (("approved", r[4]), ("rejected", r[5])) if carried
              for kind in json.loads(carried)]
    decided = {kind: how for kind, how in found if how == "rejected"} | \
        {kind: how for kind, how in found if how == "approved"}
    tier = conn.execute(LATEST_TIER, (customer_id,)).fetchone()
    red_on = tier[1] if tier and tier[0] == "red" else None
    situation = examine(conn, customer_id, red_on, redraw_of, standard_terms=standard_terms) if not_owed or holds \
        else None
    hold_gone = why_hold_not_warranted(situation) if holds else None
    return StalePlan(not_owed, drafts, decided, red_on, hold_gone), situation


def _kinds(decided: dict[str, str], how: str) -> list[str]:
    return sorted(kind for kind, was in decided.items() if was == how)


async def redraw_stale(env: Env, event: Event) -> WorkflowResult | None:
    """Bring a staged plan naming invoices no longer owed, or holding on a reason gone, up to date: redraw it from
    what is open, or withdraw it."""
    customer_id = str(event.payload.get("customer_id") or event.entity_id)
    stale, s = await env.db.read_sync(read_stale_plan, customer_id, event.id,
                                      env.settings.programs["standard"].payment_terms_days)
    if not stale.not_owed and not stale.hold_gone:
        return None  # replaced, decided, or owed (the hold warranted) again since the tick saw it
    changed = what_went_stale(stale.not_owed, stale.hold_gone, " since the plan was drafted")
    parts = [f"{s.company if s else f'customer {customer_id}'}: {changed}."]
    edited = [f"#{i} {kind}" for i, kind, _, was_edited in stale.drafts if was_edited]
    if edited:
        parts.append(f"Edited by a reviewer, not decided (the text stays on the closed row): {', '.join(edited)}.")
    output = {"customer_id": customer_id, "stale_plan_actions": [d[0] for d in stale.drafts],
              "not_owed": sorted({n.invoice_id for n in stale.not_owed}), "changed": changed,
              **({"hold_not_warranted": stale.hold_gone} if stale.hold_gone else {})}
    if s is None or not (s.severe or stale.red_on):
        why = "the customer is no longer in the mirror" if s is None else \
            "nothing is 61+ days past due now and the customer is not red"
        parts.append(f"Withdrawn, as {why}.")
        return WorkflowResult(customer_id, " ".join(parts), output={**output, "plan": None},
                              withdrawals=[Withdrawal(key, f"{WITHDRAWN}{changed}", release_key=True)
                                           for _, _, key, _ in stale.drafts])
    note = f"redrawn: {changed}; the earlier draft {', '.join(edited)} was edited by a reviewer, see it for their wording"
    notes = (note,) if edited else ()
    # `answers`: the redraw keeps the situation reserved (collection_queries.ALREADY_PLANNED) although the stale
    # plan gives its keys up, so the same 61+ set seen again (a red night) does not supersede it.
    approved, rejected = _kinds(stale.decided, "approved"), _kinds(stale.decided, "rejected")
    extra = {"answers": s.answers, **({"decided_earlier": approved} if approved else {}),
             **({"rejected_earlier": rejected} if rejected else {})}
    plan = await draw(env, s, event, skip=stale.decided, notes=notes, extra=extra)
    parts.append(f"Redrawn as plan {s.state}: {len(s.past_due)} invoice(s) past due "
                 f"({amounts_text(s.past_due_totals)}); "
                 f"proposed {', '.join(p.kind for p in plan.proposals) or 'nothing'}; {plan.drafted}.")
    if approved:
        parts.append(f"Not proposed again, a reviewer approved them: {', '.join(approved)}.")
    if rejected:
        parts.append(f"Not proposed again, a reviewer rejected them while still owed as named: {', '.join(rejected)}.")
    reason = f"superseded by plan {s.state}: {changed}"
    return WorkflowResult(customer_id, " ".join(parts), plan.proposals,
                          output={**output, **plan.common, "proposals": len(plan.proposals)},
                          withdrawals=[Withdrawal(key, reason, release_key=True) for _, _, key, _ in stale.drafts])
