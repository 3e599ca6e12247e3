"""The collection plan's pure logic: a customer's AR situation, the plan's keys, and what the plan says.

worker/flows/collection_queries.py reads a `Situation`; worker/flows/plan_draw.py (for ar_aging_action_plan.py and
plan_redraw.py) draws it into proposals with the talking points, email problems and hold reason worded here. The
hold and the dunning use the net exposure (open invoices less unapplied payments and open credit memos), not the
buckets.

Every amount keeps its currency (`customer_invoice.currency`), keyed and compared as pricing.currency_name spells
it: its ISO code whichever way NetSuite sends it ("CAD" or "Canadian Dollar"), so one currency is one total.
NetSuite's credit limit is in the customer's primary currency (`Situation.currency`, US dollars when none is
known), and with no exchange rate into it (an invoice's rate is to US dollars, at its own date) the net exposure,
the credit-limit comparison and the 90+ share are in that currency only; what is open or on account in other
currencies is stated per currency and named under the email's problems as not compared, never added in.
What the plan tells (past due, days past due, the 90+ share) counts from each invoice's due date, whatever
`[aging] basis` ages the buckets from: the basis decides the buckets (which start a plan) and the health signal only.
Whether money on account pays everything past due is decided per currency (a payment or credit memo applies only
to invoices in its own currency): each currency past due against the money on account in that same currency.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from worker.aging import ACTION_BUCKETS, bucket_for
from worker.currency import BASE_CURRENCY, is_base_currency
from worker.flows import names
from worker.flows.cap_wording import cap_text
from worker.pricing import amounts_text, currency_name, money, totals_by_currency

NAME = names.ACTION_PLAN
HOLD_SHARE_90_PLUS = 0.5  # share of open AR 90+ days past due at which a service hold is proposed


@dataclass(frozen=True)
class Exposure:
    """What a customer owes net of money on account (unapplied payments, open credit memos), in one currency."""

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
    # Each open invoice: its `bucket` is the snapshot's (the basis'); `days_past_due` are days past its `due_date`,
    # the effective one (collection_queries.OPEN_INVOICES), so none not yet due is ever said to be past due.
    invoices: list[dict[str, Any]]
    health: dict[str, Any] | None
    state: str
    already_planned: bool
    exposure: Exposure
    remaining_unknown: tuple[str, ...] = ()  # numbers of open invoices whose remaining amount is unknown
    answers: str = ""  # the trigger state without a redraw's mark: the situation itself (a redraw reserves it)
    on_account_unknown: tuple[str, ...] = ()  # payments and credit memos whose amount on account is unknown
    other_on_account: dict[str, float] = field(default_factory=dict)  # on account in other currencies, by currency
    # The customer's primary currency (pricing.currency_name): its credit limit's, the exposure's and the 90+ share's.
    currency: str = BASE_CURRENCY

    @property
    def past_due(self) -> list[dict[str, Any]]:
        """Invoices at least one day past their due date."""
        return [i for i in self.invoices if i["days_past_due"] > 0]

    @property
    def severe(self) -> list[dict[str, Any]]:
        """Invoices in the 61-90 and 90+ buckets (aged on the configured basis: what starts a plan)."""
        return [i for i in self.invoices if i["bucket"] in ACTION_BUCKETS]

    @property
    def past_due_totals(self) -> dict[str, float]:
        """What is past due in each currency, gross of anything on account."""
        return totals_by_currency((i["amount_remaining"], i.get("currency")) for i in self.past_due)

    @property
    def past_due_total(self) -> float:
        """What is past due in US dollars, gross of anything on account (other currencies: past_due_totals)."""
        return self.past_due_totals.get(BASE_CURRENCY, 0.0)

    @property
    def other_open(self) -> dict[str, float]:
        """Open AR in currencies other than the customer's: left out of the exposure, the limit and the 90+ share."""
        return totals_by_currency((i["amount_remaining"], i.get("currency")) for i in self.invoices
                                  if currency_name(i.get("currency")) != self.currency)

    @property
    def on_account_totals(self) -> dict[str, float]:
        """Unapplied cash and credits on account in each currency, US dollars first."""
        totals = {**({self.currency: self.exposure.on_account} if self.exposure.on_account else {}),
                  **self.other_on_account}
        return {name: totals[name] for name in sorted(totals, key=lambda n: (n != BASE_CURRENCY, n))}

    @property
    def past_due_net(self) -> dict[str, float]:
        """What is past due in each currency less the money on account in that same currency (none below 0)."""
        on_account = self.on_account_totals
        return {name: max(round(amount - on_account.get(name, 0.0), 2), 0.0)
                for name, amount in self.past_due_totals.items()}

    @property
    def home_past_due(self) -> float:
        """What is past due in the customer's currency, gross of anything on account."""
        return self.past_due_totals.get(self.currency, 0.0)

    @property
    def home_paid_on_account(self) -> bool:
        """Unapplied cash and credits cover everything past due in the customer's currency (the hold's)."""
        return self.exposure.covers(self.home_past_due)

    @property
    def paid_on_account(self) -> bool:
        """Unapplied cash and credits cover everything past due: apply them, do not dun. Each currency past due
        is covered by money on account in that same currency (NetSuite applies a payment or credit memo only to
        invoices in its own), so no exchange rate is needed; money in another currency covers none of it."""
        owed = {name: amount for name, amount in self.past_due_totals.items() if cents(amount) > 0}
        on_account = self.on_account_totals
        return bool(owed) and all(cents(on_account.get(name, 0.0)) >= cents(amount) for name, amount in owed.items())


def customer_currency(label: object) -> str:
    """The customer's currency as amounts are keyed (pricing.currency_name): US dollars when none is recorded."""
    text = None if label is None else str(label)  # SuiteQL may send an id as a number
    return BASE_CURRENCY if is_base_currency(text) else currency_name(text)


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


def currency_words(s: Situation) -> str:
    """The customer's currency in a sentence: 'US dollars', 'CAD'."""
    return "US dollars" if s.currency == BASE_CURRENCY else s.currency


def open_ar_label(s: Situation) -> str:
    """'open AR', saying it is the part in the customer's currency when the customer owes in others too."""
    return f"open AR in {currency_words(s)}" if s.other_open else "open AR"


def open_ar_text(s: Situation) -> str:
    """The open AR the credit limit is compared with, saying what was netted (and what was not compared)."""
    e, cur = s.exposure, s.currency
    if cur == BASE_CURRENCY:
        label, left_out = open_ar_label(s), ""
    else:  # 'open AR in CAD CAD 6,000.00' would stutter: the amount names the currency, the rest is said after it
        label = "open AR"
        left_out = (f" (not counting {amounts_text(s.other_open)} open in other currencies, with no exchange rate "
                    f"to {cur})" if s.other_open else "")
    if not e.on_account:
        return f"{label} {money(e.open_invoices, cur)}{left_out}"
    return (f"{label} {money(e.net, cur)} net of {money(e.on_account, cur)} unapplied cash and credits"
            f"{left_out}")


def on_account_point(s: Situation) -> str | None:
    """The talking point about money on account, if there is any."""
    if not s.on_account_totals:
        return None
    on_account = amounts_text(s.on_account_totals)
    if s.paid_on_account:
        return (f"Unapplied cash and credits on account ({on_account}) cover the past-due "
                f"{amounts_text(s.past_due_totals)}: apply them to the open invoices in NetSuite; do not ask for "
                "payment.")
    # Netted per currency: money in one currency may pay more than is past due in it while another is still owed.
    return (f"Apply the unapplied cash and credits on account ({on_account}) first: past due net of them is "
            f"{amounts_text(s.past_due_net)}.")


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


def other_currencies_texts(s: Situation) -> list[str]:
    """What is open or on account in other currencies than the customer's, which none of its figures includes."""
    texts = []
    words = currency_words(s)
    if s.other_open:
        texts.append(f"{amounts_text(s.other_open)} open in other currencies: not compared with the credit limit or "
                     f"counted in the 90+ share, which are in {words}")
    if s.other_on_account and s.exposure.open_invoices:  # with no invoices open in its currency, nothing to net
        invoices = "US-dollar invoices" if s.currency == BASE_CURRENCY else f"{s.currency} invoices"
        texts.append(f"{amounts_text(s.other_on_account)} unapplied cash and credits on account in other currencies: "
                     f"not netted against {invoices}")
    return texts


def over_credit_limit(s: Situation) -> bool:
    """True when net exposure (in the customer's currency, the limit's) is over the customer's credit limit."""
    # A blank NetSuite limit is NULL (no limit); 0 is a real limit of nothing (cash-only customers).
    return s.credit_limit is not None and s.exposure.net > s.credit_limit


def talking_points(s: Situation) -> list[str]:
    """What the caller should cover, most important first."""
    past_due = s.past_due
    points = [p] if (p := on_account_point(s)) else []
    if past_due:
        oldest = past_due[0]
        points.append(f"{len(past_due)} invoice(s) past due, {amounts_text(s.past_due_totals)}; "
                      f"oldest {oldest['number']} is {oldest['days_past_due']} days past due.")
    if over_credit_limit(s):
        text = open_ar_text(s)
        points.append(f"{text[0].upper()}{text[1:]} exceeds the credit limit {money(s.credit_limit, s.currency)}.")
    if s.health:
        weakest = sorted(s.health["signals"].items(), key=lambda kv: kv[1]["sub_score"])[:2]
        why = ", ".join(f"{name} ({v['sub_score']:.0f}/100)" for name, v in weakest)
        points.append(f"Health score {s.health['score']:.0f} ({s.health['tier']}); weakest signals: {why}.")
        if capped := cap_text(s.health):  # else four clean signals hide why the customer is red or orange
            points.append(f"{capped[0].upper()}{capped[1:]}.")
    for text in (unknown_remaining_text(s), unknown_on_account_text(s), *other_currencies_texts(s)):
        if text:
            points.append(f"{text[0].upper()}{text[1:]}.")
    points.append("Ask for the remittance detail the cash on account is for; note any invoice they dispute and why."
                  if s.paid_on_account else
                  "Ask for a payment date and remittance reference; note any invoice they dispute and why.")
    return points


def email_problems(s: Situation) -> list[str]:
    """What the reviewer must sort out before the collection email can go."""
    problems = [] if s.email else ["no email address on file for the customer or its contacts"]
    if s.on_account_totals:
        problems.append(f"{amounts_text(s.on_account_totals)} unapplied cash and credits on account: apply them first; "
                        "the email lists invoice balances before they are applied")
    return problems + [t for t in (unknown_remaining_text(s), unknown_on_account_text(s)) if t] + (
        other_currencies_texts(s))


def hold_reason(s: Situation) -> str | None:
    """Why a service hold is warranted, or None (never when money on account pays everything past due in
    the customer's currency, the only currency it is worked out in, nor when it pays everything past due in every
    currency: the plan then drafts no hold, and the approval and the warm tick's stale check read this)."""
    if s.home_paid_on_account or s.paid_on_account:
        return None
    if over_credit_limit(s):
        return f"{open_ar_text(s)} is over the credit limit {money(s.credit_limit, s.currency)}"
    total_open = s.exposure.open_invoices  # the customer's currency only, as the 90+ amount below
    # Compared in whole cents, both sides summed to the cent: 1234.10 + 250.35 is 1484.4499999999998 in floats,
    # which would put exactly half just under the line when split across two invoices.
    # More than 90 days past the due date, not the 90+ bucket: on the invoice-date basis that counts from the
    # invoice's date.
    ninety_plus = round(sum(i["amount_remaining"] for i in s.invoices if bucket_for(i["days_past_due"]) == "90+"
                            and currency_name(i.get("currency")) == s.currency), 2)
    if total_open and cents(ninety_plus) >= HOLD_SHARE_90_PLUS * cents(total_open):
        return f"{ninety_plus / total_open:.0%} of {open_ar_label(s)} is more than 90 days past due"
    return None

