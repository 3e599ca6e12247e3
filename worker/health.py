"""Customer health score, pure: six signals -> sub-scores (0-100) -> weighted score -> tier.

Every sub-score is a non-increasing function of its raw signal (more risk never scores higher) and
weights are non-negative, so a worse signal never raises the score. Thresholds are named here so a
person reading signals_json can redo the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SIGNALS = ("ar_aging", "dispute_count", "payment_lateness_trend", "order_frequency_drop", "credit_memo_count",
           "contact_churn")
# How bad each aging bucket is: the share of open AR weighted by these is the ar_aging signal.
BUCKET_SEVERITY = {"current": 0.0, "1-30": 0.25, "31-60": 0.5, "61-90": 0.75, "90+": 1.0}
DISPUTES_FOR_ZERO = 4  # disputes in 90 days at which the sub-score reaches 0
LATENESS_DAYS_FOR_ZERO = 30.0  # paying this many days later than before scores 0
CREDIT_MEMOS_FOR_ZERO = 12  # credit memos in 12 months at which the sub-score reaches 0
CHURN_SHARE_FOR_ZERO = 0.5  # losing half the contacts in 90 days scores 0
PRIOR_ORDER_PERIODS = 3  # the run rate is the previous 270 days, per 90 days
NEUTRAL_SCORE = 70.0  # no history: neither trusted nor suspected
TIERS = ((80.0, "green"), (60.0, "yellow"), (40.0, "orange"), (0.0, "red"))


@dataclass(frozen=True)
class SignalInputs:
    """What the cold tier measured for one customer (windows relative to the as-of date)."""

    ar_by_bucket: Mapping[str, float] = field(default_factory=dict)  # open AR per aging bucket
    disputes_90d: int = 0  # distinct invoices credited (disputed) in the last 90 days
    late_days_recent: float | None = None  # average days late of payments, last 90 days
    late_days_prior: float | None = None  # the same, the 90 days before
    orders_recent: int = 0  # sales orders in the last 90 days
    orders_prior: int = 0  # sales orders in the 270 days before those
    credit_memos_12m: int = 0
    contacts_total: int = 0  # contacts ever, including those churned
    contacts_churned: int = 0  # deleted or inactivated in the last 90 days
    has_history: bool = True  # any invoice, order or payment ever


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


def ar_aging_raw(ar_by_bucket: Mapping[str, float]) -> float:
    """Share of open AR past due, weighted by bucket severity (0 = all current, 1 = all 90+)."""
    total = sum(max(0.0, v) for v in ar_by_bucket.values())
    if total <= 0:
        return 0.0
    return sum(max(0.0, v) * BUCKET_SEVERITY[b] for b, v in ar_by_bucket.items()) / total


def lateness_trend(recent: float | None, prior: float | None) -> float:
    """Days later than before (no recent payments: no evidence of a trend; no prior: on time was the norm)."""
    if recent is None:
        return 0.0
    return recent - (prior if prior is not None else 0.0)


def order_drop(recent: int, prior: int) -> float:
    """Fraction by which orders fell below the prior run rate (0 = at or above it, 1 = stopped)."""
    rate = prior / PRIOR_ORDER_PERIODS
    return max(0.0, 1.0 - recent / rate) if rate > 0 else 0.0


def raw_signals(s: SignalInputs) -> dict[str, tuple[float, float, dict[str, Any]]]:
    """Per signal: (raw value, sub-score 0-100, details)."""
    churn = s.contacts_churned / s.contacts_total if s.contacts_total else 0.0
    aging = ar_aging_raw(s.ar_by_bucket)
    trend = lateness_trend(s.late_days_recent, s.late_days_prior)
    drop = order_drop(s.orders_recent, s.orders_prior)
    return {
        "ar_aging": (aging, 100.0 * (1.0 - aging), {"open_by_bucket": dict(s.ar_by_bucket)}),
        "dispute_count": (s.disputes_90d, _linear(s.disputes_90d, DISPUTES_FOR_ZERO), {"window_days": 90}),
        "payment_lateness_trend": (trend, _linear(max(0.0, trend), LATENESS_DAYS_FOR_ZERO),
                                   {"recent_avg_days_late": s.late_days_recent,
                                    "prior_avg_days_late": s.late_days_prior}),
        "order_frequency_drop": (drop, 100.0 * (1.0 - drop),
                                 {"orders_last_90d": s.orders_recent, "orders_prior_270d": s.orders_prior}),
        "credit_memo_count": (s.credit_memos_12m, _linear(s.credit_memos_12m, CREDIT_MEMOS_FOR_ZERO),
                              {"window_days": 365}),
        "contact_churn": (churn, _linear(churn, CHURN_SHARE_FOR_ZERO),
                          {"churned_90d": s.contacts_churned, "contacts": s.contacts_total}),
    }


def normalize(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to 1 (missing signals weigh 0)."""
    total = sum(max(0.0, weights.get(name, 0.0)) for name in SIGNALS)
    return {name: max(0.0, weights.get(name, 0.0)) / total for name in SIGNALS}


def score(inputs: SignalInputs, weights: Mapping[str, float]) -> Score:
    """The weighted score with each signal's raw value, sub-score, weight and contribution."""
    w = normalize(weights)
    measured = raw_signals(inputs)
    signals: dict[str, dict[str, Any]] = {}
    for name, (raw, sub, detail) in measured.items():
        signals[name] = {"raw": round(float(raw), 4), "sub_score": round(sub, 2), "weight": round(w[name], 4),
                         "contribution": round(w[name] * sub, 2), **detail}
    if not inputs.has_history:
        return Score(NEUTRAL_SCORE, tier_for(NEUTRAL_SCORE), signals, is_neutral=True)
    total = round(sum(w[name] * sub for name, (_, sub, _) in measured.items()), 1)
    total = min(100.0, max(0.0, total))
    return Score(total, tier_for(total), signals)
