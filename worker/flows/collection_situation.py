"""The collection plan's pure logic: a customer's AR situation, the plan's keys, and what the plan says.

worker/flows/collection_queries.py reads a `Situation`; worker/flows/ar_aging_action_plan.py (and plan_redraw.py)
draw it into proposals with the talking points, email problems and hold reason worded here. The hold and the
dunning use the net exposure (open invoices less unapplied payments and open credit memos), not the buckets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from worker.aging import ACTION_BUCKETS
from worker.drafting import money

NAME = "ar_aging_action_plan"
HOLD_SHARE_90_PLUS = 0.5  # share of open AR 90+ days past due at which a service hold is proposed


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
    answers: str = ""  # the trigger state without a redraw's mark: the situation itself (a redraw reserves it)
    on_account_unknown: tuple[str, ...] = ()  # payments and credit memos whose amount on account is unknown

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


def cents(amount: float) -> int:
    """An amount in whole cents, for comparisons a float's last bit must not decide."""
    return round(amount * 100)


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


def unknown_on_account_text(s: Situation) -> str | None:
    """The payments and credit memos counted as nothing on account because their amount is unknown, if any."""
    if not s.on_account_unknown:
        return None
    return (f"amount on account unknown for {', '.join(s.on_account_unknown)} (NetSuite sent neither the amount "
            "left on account nor the apply list): counted as nothing on account; check in NetSuite")


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
    for unknown in (unknown_remaining_text(s), unknown_on_account_text(s)):
        if unknown:
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
    return problems + [t for t in (unknown_remaining_text(s), unknown_on_account_text(s)) if t]


def hold_reason(s: Situation) -> str | None:
    """Why a service hold is warranted, or None (never when money on account pays everything past due)."""
    if s.paid_on_account:
        return None
    if over_credit_limit(s):
        return f"{open_ar_text(s.exposure)} is over the credit limit {money(s.credit_limit)}"
    total_open = s.exposure.open_invoices
    # Compared in whole cents, both sides summed to the cent: 1234.10 + 250.35 is 1484.4499999999998 in floats,
    # which would put exactly half just under the line when split across two invoices.
    ninety_plus = round(sum(i["amount_remaining"] for i in s.invoices if i["bucket"] == "90+"), 2)
    if total_open and cents(ninety_plus) >= HOLD_SHARE_90_PLUS * cents(total_open):
        return f"{ninety_plus / total_open:.0%} of open AR is more than 90 days past due"
    return None

