"""Health score caps (audit BY): severe signals cap the weighted sum, where the clean signals outvoted them."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_health import WEIGHTS  # the configured weights
from worker.health import (
    AR_AGING_FOR_ORANGE,
    AR_AGING_FOR_RED,
    LATENESS_FOR_CAP,
    ORANGE_CAP,
    RED_CAP,
    SignalInputs,
    score,
    score_cap,
)

# Ordering steadily, no disputes, credit memos or churn: the four other signals clean.
STEADY = SignalInputs(orders_recent=10, orders_prior=30, contacts_total=3)


def cap_record(result, signal):
    return result.signals[signal]["score_cap"]


def test_a_chronic_late_payer_owing_nothing_is_not_green():
    # Pays every invoice 60 days late, as before, and owes nothing today: the weighted sum is 80 (green).
    s = replace(STEADY, paid_90d=9_000.0, late_days_recent=60.0, late_days_prior=60.0)
    result = score(s, WEIGHTS)
    assert (result.score, result.tier) == (ORANGE_CAP, "orange")
    cap = cap_record(result, "payment_lateness_trend")
    assert cap["at_most"] == ORANGE_CAP and cap["weighted_sum"] == 80.0
    assert cap["thresholds"] == {"payment_lateness_trend": LATENESS_FOR_CAP}
    assert cap_record(result, "ar_aging") is None  # the rule does not read it


def test_a_customer_who_never_paid_an_invoice_120_days_past_due_is_red():
    # 3,000 at 90+ (the ar_aging signal's worst, 1.0) and late so far by 120 days: the weighted sum is 50 (orange).
    s = replace(STEADY, ar_by_bucket={"90+": 3_000.0}, late_days_recent=120.0)
    result = score(s, WEIGHTS)
    assert result.signals["ar_aging"]["raw"] == 1.0
    assert (result.score, result.tier) == (RED_CAP, "red")
    cap = cap_record(result, "ar_aging")
    assert cap == {"at_most": RED_CAP, "weighted_sum": 50.0, "thresholds": {"ar_aging": AR_AGING_FOR_RED},
                   "why": cap["why"]} and "61+ days past due" in cap["why"]
    assert cap_record(result, "payment_lateness_trend") is None  # the lowest cap's rule reads ar_aging alone


def test_demo_customer_1221_who_keeps_ordering_but_stopped_paying_is_red():
    # Fresh Fork Catering in the demo year on 2026-11-20: nothing paid in 90 days, 14,978 past due, and payments
    # 67 days late after 3. The weighted sum is 64.3 (yellow).
    s = replace(STEADY, ar_by_bucket={"current": 4999.8, "1-30": 3908.66, "31-60": 1699.02, "61-90": 2947.94,
                                      "90+": 6422.38}, late_days_recent=66.89, late_days_prior=2.67)
    result = score(s, WEIGHTS)
    assert result.signals["ar_aging"]["raw"] == 0.5236
    assert (result.score, result.tier) == (RED_CAP, "red")
    cap = cap_record(result, "ar_aging")
    assert cap["weighted_sum"] == 64.3 and cap["thresholds"] == {
        "ar_aging": AR_AGING_FOR_ORANGE, "payment_lateness_trend": LATENESS_FOR_CAP}
    assert cap_record(result, "payment_lateness_trend") == cap  # both signals it reads say so


def test_a_balance_31_to_60_days_past_due_alone_is_at_most_orange():
    result = score(replace(STEADY, ar_by_bucket={"31-60": 5_000.0}, late_days_recent=5.0), WEIGHTS)
    assert (result.score, result.tier) == (ORANGE_CAP, "orange")


def test_below_every_threshold_no_cap_and_the_neutral_score_is_untouched():
    result = score(replace(STEADY, ar_by_bucket={"current": 5_000.0, "31-60": 4_000.0}, late_days_recent=29.0), WEIGHTS)
    assert cap_record(result, "ar_aging") is None and cap_record(result, "payment_lateness_trend") is None
    neutral = score(SignalInputs(has_history=False), WEIGHTS)
    assert (neutral.score, neutral.tier, neutral.is_neutral) == (70.0, "yellow", True)
    assert cap_record(neutral, "ar_aging") is None


def test_a_capped_score_below_the_cap_keeps_the_weighted_sum():
    worst = SignalInputs(ar_by_bucket={"90+": 1_000.0}, disputes_90d=4, late_days_recent=90.0, orders_prior=30,
                         credit_memos_12m=12, contacts_total=2, contacts_churned=1)
    result = score(worst, WEIGHTS)
    assert result.score == 0.0 == cap_record(result, "ar_aging")["weighted_sum"]


raw = st.floats(min_value=0, max_value=1, allow_nan=False) | st.sampled_from([AR_AGING_FOR_ORANGE, AR_AGING_FOR_RED])
days = st.floats(min_value=0, max_value=200, allow_nan=False) | st.just(LATENESS_FOR_CAP)


def cap_value(aging, lateness):
    found = score_cap({"ar_aging": aging, "payment_lateness_trend": lateness})
    return 100.0 if found is None else found[0]


@settings(max_examples=300, deadline=None)
@given(raw, raw, days, days)
def test_the_cap_never_rises_with_a_worse_signal(a1, a2, l1, l2):
    assert cap_value(max(a1, a2), max(l1, l2)) <= min(cap_value(a1, l1), cap_value(a2, l2))


@pytest.mark.parametrize(("aging", "lateness", "cap"), [
    (0.0, 0.0, 100.0), (0.4999, 29.99, 100.0), (0.5, 0.0, ORANGE_CAP), (0.0, 30.0, ORANGE_CAP),
    (0.5, 30.0, RED_CAP), (0.75, 0.0, RED_CAP), (1.0, 200.0, RED_CAP),
])
def test_cap_thresholds(aging, lateness, cap):
    assert cap_value(aging, lateness) == cap
