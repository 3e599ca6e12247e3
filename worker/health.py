"""Customer health score, pure: six signals -> sub-scores (0-100) -> weighted score -> tier.

Every sub-score is a non-increasing function of its raw signal (more risk never scores higher) and
weights are non-negative, so a worse signal never raises the score, and paying an invoice never lowers it (the
AR share is of open AR plus what was paid). Severe signals cap the score (score_cap, non-increasing in them, so
that still holds): in a weighted sum the four clean signals outvote the other two. An open invoice whose remaining
amount is unknown (or in another currency without an exchange rate) is never scored as clean: the AR signal takes
the worst it can be (worst_ar_aging). Thresholds are named here so a person reading signals_json can redo the
arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SIGNALS = ("ar_aging", "dispute_count", "payment_lateness_trend", "order_frequency_drop", "credit_memo_count",
           "contact_churn")
# How bad each aging bucket is: the share of recent billing (open AR plus what was paid in 90 days) weighted by
# these is the ar_aging signal.
BUCKET_SEVERITY = {"current": 0.0, "1-30": 0.25, "31-60": 0.5, "61-90": 0.75, "90+": 1.0}
DISPUTES_FOR_ZERO = 4  # disputes in 90 days at which the sub-score reaches 0
LATENESS_DAYS_FOR_ZERO = 30.0  # lateness signal (average days late now, plus any rise over the 90 days
# before) at which the sub-score reaches 0: 30 days late steadily, or 15 late after paying on time
CREDIT_MEMOS_FOR_ZERO = 12  # credit memos in 12 months at which the sub-score reaches 0
CHURN_SHARE_FOR_ZERO = 0.5  # losing half the contacts in 90 days scores 0
PRIOR_ORDER_PERIODS = 3  # the run rate is the previous 270 days, per 90 days
NEUTRAL_SCORE = 70.0  # no history: neither trusted nor suspected
TIERS = ((80.0, "green"), (60.0, "yellow"), (40.0, "orange"), (0.0, "red"))
# Score caps: with the other four signals clean, aging and lateness (30% + 20% of the weight) cost at most 50
# points, so a customer who keeps ordering but stops paying could not go below orange, nor a chronic late payer
# below green. The score is the weighted sum capped by the lowest cap of the rules met (the first, on a tie): a
# rule met stays met as its signals worsen, so the cap never rises with them. The ar_aging thresholds are bucket
# severities (BUCKET_SEVERITY): the typical dollar of recent billing at 0.75 is 61+ days past due, where the warm
# tier starts ar_aging_action_plan (SPEC 6), and at 0.5 it is 31-60 days past due. A lateness signal of
# LATENESS_DAYS_FOR_ZERO (its sub-score's zero) is paying a month past due on average, the same 31-60 days; together
# with a balance that old it means what is owed is not being paid. Lateness alone (nothing owed today) is at most
# orange: red starts a collection plan, and there is nothing to collect.
RED_CAP = 39.0
ORANGE_CAP = 59.0
AR_AGING_FOR_RED = 0.75
AR_AGING_FOR_ORANGE = 0.5
LATENESS_FOR_CAP = LATENESS_DAYS_FOR_ZERO
CAP_RULES = (  # (signals the rule reads, cap, why): a rule is met when every named signal reaches its threshold
    ({"ar_aging": AR_AGING_FOR_RED}, RED_CAP, "the typical dollar of recent billing is 61+ days past due"),
    ({"ar_aging": AR_AGING_FOR_ORANGE, "payment_lateness_trend": LATENESS_FOR_CAP}, RED_CAP,
     "the typical dollar is 31+ days past due and payments come a month or more late: it is not being paid"),
    ({"ar_aging": AR_AGING_FOR_ORANGE}, ORANGE_CAP, "the typical dollar of recent billing is 31+ days past due"),
    ({"payment_lateness_trend": LATENESS_FOR_CAP}, ORANGE_CAP, "payments come a month or more late"),
)


UNKNOWN_LISTED = 20  # invoices of unknown remainder named in a signal; the count covers the rest


@dataclass(frozen=True)
class UnknownRemainder:
    """An open invoice whose amount in US dollars is unknown: NetSuite did not send what it still owes
    (worker.aging.invoice_remaining: None), or it is in another currency and came without an exchange rate."""

    invoice: str  # its number, for people
    bucket: str  # where its days past due put it on the night
    at_most: float | None  # the most it can still owe: its total less what the mirror saw applied to it (None:
    # no total either, so no bound)
    total: float | None = None
    due_date: str | None = None
    currency: str | None = None  # one not in US dollars: `total` is in it, `at_most` in US dollars at its rate


@dataclass(frozen=True)
class SignalInputs:
    """What the cold tier measured for one customer (windows relative to the as-of date)."""

    ar_by_bucket: Mapping[str, float] = field(default_factory=dict)  # open AR per aging bucket
    paid_90d: float = 0.0  # US dollars applied to invoices by payments dated in the last 90 days
    paid_unconverted: int = 0  # invoices paid then in another currency without an exchange rate: not in paid_90d
    disputes_90d: int = 0  # distinct invoices credited (disputed) in the last 90 days
    late_days_recent: float | None = None  # average days late of payments, last 90 days
    late_days_prior: float | None = None  # the same, the 90 days before
    orders_recent: int = 0  # sales orders in the last 90 days
    orders_prior: int = 0  # sales orders in the 270 days before those
    credit_memos_12m: int = 0
    contacts_total: int = 0  # contacts ever, including those churned
    contacts_churned: int = 0  # deleted or inactivated in the last 90 days
    has_history: bool = True  # any invoice, order or payment ever
    ar_remaining_unknown: tuple[UnknownRemainder, ...] = ()  # open invoices left out of ar_by_bucket


@dataclass(frozen=True)
class Score:
    """A computed health score and why."""

    score: float
    tier: str
    signals: dict[str, dict[str, Any]]
    is_neutral: bool = False


def tier_for(score: float) -> str:
    """green >= 80, yellow 60-79, orange 40-59, red < 40."""
    for floor, tier in TIERS:
        if score >= floor:
            return tier
    return "red"


def _linear(raw: float, zero_at: float) -> float:
    return 100.0 * min(1.0, max(0.0, 1.0 - raw / zero_at))


def worst_ar_aging(ar_by_bucket: Mapping[str, float], unknown: tuple[UnknownRemainder, ...],
                   paid: float = 0.0) -> tuple[float, list[UnknownRemainder]]:
    """Share of recent billing past due, weighted by bucket severity (0 = all current or paid, 1 = all 90+), at
    its worst. Recent billing is open AR plus what was `paid` (in the last 90 days): paying an invoice moves its
    amount from open to paid, so it lowers the share whatever its bucket (over open AR alone, paying a less
    severe invoice raised it); a customer who pays nothing scores as before.

    Invoices of unknown remainder may owe anything from 0 to `at_most`. A share is made worse only by adding
    money more severe than it, so the worst is reached by counting them at `at_most`, most severe first,
    while each is more severe than the share so far. One with no bound (at_most None: no total either) can
    owe so much that the share reaches its bucket's severity, and no further: it counts at that severity,
    which no invoice counted after it (less severe) can raise. Returns the share and the invoices counted.
    """
    total = sum(max(0.0, v) for v in ar_by_bucket.values()) + max(0.0, paid)
    weighted = sum(max(0.0, v) * BUCKET_SEVERITY[b] for b, v in ar_by_bucket.items())
    counted = []
    for u in sorted(unknown, key=lambda u: -BUCKET_SEVERITY[u.bucket]):
        severity = BUCKET_SEVERITY[u.bucket]
        if severity <= (weighted / total if total > 0 else 0.0):
            continue
        if u.at_most is None:
            return severity, [*counted, u]
        if u.at_most > 0:
            total += u.at_most
            weighted += u.at_most * severity
            counted.append(u)
    return (weighted / total if total > 0 else 0.0), counted


def unknown_detail(unknown: tuple[UnknownRemainder, ...], counted: list[UnknownRemainder]) -> dict[str, Any]:
    """What the ar_aging signal says about the invoices it could not weigh exactly."""
    weighed = {id(u) for u in counted}
    shown = [{"invoice": u.invoice, "bucket": u.bucket, "due_date": u.due_date, "total": u.total,
              "at_most": u.at_most, "counted": id(u) in weighed, **({"currency": u.currency} if u.currency else {})}
             for u in unknown[:UNKNOWN_LISTED]]
    return {"count": len(unknown), "counted": len(counted), "listed": len(shown), "invoices": shown,
            "note": "NetSuite sent no amountRemaining for these open invoices, or one in another currency came "
                    "without an exchange rate (one with a currency: total is what it owes in that currency, at_most "
                    "in US dollars at its rate, null without one): each counts "
                    "at the most it can still owe where that makes this signal worse, else not at all (at_most null: "
                    "no bound, so it counts as if it outweighed the rest)"}


def lateness_trend(recent: float | None, prior: float | None) -> tuple[float, float]:
    """(level, deterioration): average days late in the last 90 days, and how much later than in the 90 before.

    The signal is their sum: the level counts too, so a chronic late payer, or one even later before, does not
    score as punctual. No recent payments: no evidence, 0. No prior ones: no evidence of a rise, the level
    alone. Non-decreasing in `recent`.
    """
    if recent is None:
        return 0.0, 0.0
    level = max(0.0, recent)
    return level, max(0.0, level - prior) if prior is not None else 0.0


def order_drop(recent: int, prior: int) -> float:
    """Fraction by which orders fell below the prior run rate (0 = at or above it, 1 = stopped)."""
    rate = prior / PRIOR_ORDER_PERIODS
    return max(0.0, 1.0 - recent / rate) if rate > 0 else 0.0


def raw_signals(s: SignalInputs) -> dict[str, tuple[float, float, dict[str, Any]]]:
    """Per signal: (raw value, sub-score 0-100, details)."""
    churn = s.contacts_churned / s.contacts_total if s.contacts_total else 0.0
    aging, counted = worst_ar_aging(s.ar_by_bucket, s.ar_remaining_unknown, s.paid_90d)
    ar_detail: dict[str, Any] = {"open_by_bucket": dict(s.ar_by_bucket), "paid_90d": s.paid_90d}
    if s.paid_unconverted:
        ar_detail["paid_unconverted_invoices"] = s.paid_unconverted
    if s.ar_remaining_unknown:
        ar_detail["remaining_unknown"] = unknown_detail(s.ar_remaining_unknown, counted)
    level, deterioration = lateness_trend(s.late_days_recent, s.late_days_prior)
    drop = order_drop(s.orders_recent, s.orders_prior)
    return {
        "ar_aging": (aging, 100.0 * (1.0 - aging), ar_detail),
        "dispute_count": (s.disputes_90d, _linear(s.disputes_90d, DISPUTES_FOR_ZERO), {"window_days": 90}),
        "payment_lateness_trend": (level + deterioration, _linear(level + deterioration, LATENESS_DAYS_FOR_ZERO),
                                   {"recent_avg_days_late": s.late_days_recent,
                                    "prior_avg_days_late": s.late_days_prior,
                                    "level_days_late": round(level, 2),
                                    "deterioration_days": round(deterioration, 2)}),
        "order_frequency_drop": (drop, 100.0 * (1.0 - drop),
                                 {"orders_last_90d": s.orders_recent, "orders_prior_270d": s.orders_prior}),
        "credit_memo_count": (s.credit_memos_12m, _linear(s.credit_memos_12m, CREDIT_MEMOS_FOR_ZERO),
                              {"window_days": 365}),
        "contact_churn": (churn, _linear(churn, CHURN_SHARE_FOR_ZERO),
                          {"churned_90d": s.contacts_churned, "contacts": s.contacts_total}),
    }


def score_cap(raw: Mapping[str, float]) -> tuple[float, dict[str, float], str] | None:
    """The lowest cap whose rule the raw signals meet: (cap, the thresholds met, why), or None."""
    met = [(cap, rule, why) for rule, cap, why in CAP_RULES if all(raw[name] >= at for name, at in rule.items())]
    return min(met, key=lambda m: m[0]) if met else None


def normalize(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to 1 (missing signals weigh 0)."""
    total = sum(max(0.0, weights.get(name, 0.0)) for name in SIGNALS)
    return {name: max(0.0, weights.get(name, 0.0)) / total for name in SIGNALS}


def score(inputs: SignalInputs, weights: Mapping[str, float]) -> Score:
    """The weighted score with each signal's raw value, sub-score, weight and contribution, capped by score_cap
    (recorded on each signal its rule reads, with the weighted sum: score = min(weighted_sum, at_most))."""
    w = normalize(weights)
    measured = raw_signals(inputs)
    signals: dict[str, dict[str, Any]] = {}
    for name, (raw, sub, detail) in measured.items():
        signals[name] = {"raw": round(float(raw), 4), "sub_score": round(sub, 2), "weight": round(w[name], 4),
                         "contribution": round(w[name] * sub, 2), **detail}
    for rule, _, _ in CAP_RULES:
        for name in rule:
            signals[name]["score_cap"] = None
    if not inputs.has_history:
        return Score(NEUTRAL_SCORE, tier_for(NEUTRAL_SCORE), signals, is_neutral=True)
    total = round(sum(w[name] * sub for name, (_, sub, _) in measured.items()), 1)
    total = min(100.0, max(0.0, total))
    # On the stored (rounded) raw values, so that a person reading signals_json finds the same rule met.
    capped = score_cap({name: entry["raw"] for name, entry in signals.items()})
    if capped is not None:
        cap, rule, why = capped
        record = {"at_most": cap, "weighted_sum": total, "thresholds": dict(rule), "why": why}
        for name in rule:
            signals[name]["score_cap"] = record
        total = min(total, cap)
    return Score(total, tier_for(total), signals)
