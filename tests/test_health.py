"""Pure health scoring: monotone in every signal (hypothesis), tier boundaries, neutral score, explanations."""

from dataclasses import replace
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.health import (
    BUCKET_SEVERITY,
    NEUTRAL_SCORE,
    SIGNALS,
    SignalInputs,
    UnknownRemainder,
    score,
    tier_for,
)

WEIGHTS = {"ar_aging": 0.30, "dispute_count": 0.15, "payment_lateness_trend": 0.20, "order_frequency_drop": 0.15,
           "credit_memo_count": 0.10, "contact_churn": 0.10}
BUCKETS = ["current", "1-30", "31-60", "61-90", "90+"]
money = st.floats(min_value=0, max_value=1e6, allow_nan=False)
late = st.one_of(st.none(), st.floats(min_value=0, max_value=200, allow_nan=False))
# at_most None: an invoice with no total either, which may owe any amount
unknowns = st.lists(st.builds(UnknownRemainder, st.just("INV-1"), st.sampled_from(BUCKETS),
                              st.one_of(money, st.none())), max_size=4).map(tuple)
UNBOUNDED = 1e15  # stands for an unbounded amount: it outweighs everything else by 1e8


@st.composite
def inputs(draw):
    total = draw(st.integers(0, 30))
    return SignalInputs(
        ar_by_bucket={b: draw(money) for b in draw(st.sets(st.sampled_from(BUCKETS)))},
        paid_90d=draw(st.one_of(st.just(0.0), money)),
        disputes_90d=draw(st.integers(0, 10)), late_days_recent=draw(late), late_days_prior=draw(late),
        orders_recent=draw(st.integers(0, 50)), orders_prior=draw(st.integers(0, 150)),
        credit_memos_12m=draw(st.integers(0, 30)), contacts_total=total,
        contacts_churned=draw(st.integers(0, total)), ar_remaining_unknown=draw(unknowns))


weights = st.fixed_dictionaries({name: st.floats(min_value=0, max_value=5, allow_nan=False) for name in SIGNALS}).filter(
    lambda w: sum(w.values()) > 0.01)


def worsen(s: SignalInputs, which: str, amount: int, data) -> SignalInputs:
    """The same customer with one signal made worse."""
    if which == "ar_aging":  # money ages into a later bucket
        ar = dict(s.ar_by_bucket)
        src = data.draw(st.sampled_from(BUCKETS[:-1]))
        dst = data.draw(st.sampled_from(BUCKETS[BUCKETS.index(src) + 1:]))
        moved = min(ar.get(src, 0.0), float(amount))
        ar[src] = ar.get(src, 0.0) - moved
        ar[dst] = ar.get(dst, 0.0) + moved
        return replace(s, ar_by_bucket=ar)
    if which == "dispute_count":
        return replace(s, disputes_90d=s.disputes_90d + amount)
    if which == "payment_lateness_trend":
        return replace(s, late_days_recent=(s.late_days_recent or 0.0) + amount if s.late_days_recent is not None
                       else float(amount) + (s.late_days_prior or 0.0))
    if which == "order_frequency_drop":
        return replace(s, orders_recent=max(0, s.orders_recent - amount))
    if which == "credit_memo_count":
        return replace(s, credit_memos_12m=s.credit_memos_12m + amount)
    churned = min(s.contacts_total, s.contacts_churned + amount)
    return replace(s, contacts_churned=churned)


def cap_of(result) -> float:
    """The cap on a score (100: none), from what its signals record."""
    caps = [v["score_cap"]["at_most"] for v in result.signals.values() if v.get("score_cap")]
    return min(caps, default=100.0)


@settings(max_examples=300, deadline=None)
@given(inputs(), weights, st.sampled_from(SIGNALS), st.integers(1, 50), st.data())
def test_a_worse_signal_never_raises_the_score(base, w, which, amount, data):
    before = score(base, w)
    after = score(worsen(base, which, amount, data), w)
    assert after.signals[which]["sub_score"] <= before.signals[which]["sub_score"]
    assert after.score <= before.score
    assert 0 <= after.score <= 100
    assert cap_of(after) <= cap_of(before)  # the cap (audit BY) is non-increasing in the signals too


@settings(max_examples=300, deadline=None)
@given(inputs(), weights, st.sampled_from(BUCKETS), money)
def test_paying_an_invoice_never_lowers_the_score(base, w, bucket, amount):
    # Paying moves money from an open bucket to paid. Over open AR alone, paying a less severe invoice raised the
    # past-due share: 100 at 90+ beside 10,000 at 1-30 was 0.26; paying the 10,000 made it 1.0.
    ar = dict(base.ar_by_bucket)
    moved = min(ar.get(bucket, 0.0), amount)
    ar[bucket] = ar.get(bucket, 0.0) - moved
    after = score(replace(base, ar_by_bucket=ar, paid_90d=base.paid_90d + moved), w)
    before = score(base, w)
    assert after.signals["ar_aging"]["sub_score"] >= before.signals["ar_aging"]["sub_score"]
    assert after.score >= before.score
    assert cap_of(after) >= cap_of(before)


def test_paying_the_less_overdue_invoice_scores_better_and_the_paid_amount_is_shown():
    owing = SignalInputs(ar_by_bucket={"90+": 100.0, "1-30": 10_000.0})
    paid = SignalInputs(ar_by_bucket={"90+": 100.0}, paid_90d=10_000.0)
    before, after = score(owing, WEIGHTS).signals["ar_aging"], score(paid, WEIGHTS).signals["ar_aging"]
    assert before["raw"] == pytest.approx(2600 / 10_100, abs=1e-4)
    assert after["raw"] == pytest.approx(100 / 10_100, abs=1e-4)  # of the customer's 10,100 billed, 100 is 90+
    assert (after["open_by_bucket"], after["paid_90d"]) == ({"90+": 100.0}, 10_000.0)
    # paid without open AR is clean; money paid in another currency without a rate is named, not counted
    unconverted = score(SignalInputs(ar_by_bucket={"90+": 100.0}, paid_unconverted=2), WEIGHTS).signals["ar_aging"]
    assert (unconverted["raw"], unconverted["paid_90d"], unconverted["paid_unconverted_invoices"]) == (1.0, 0.0, 2)


@settings(max_examples=300, deadline=None)
@given(late, late, st.floats(min_value=0, max_value=200, allow_nan=False))
def test_paying_later_recently_never_raises_the_lateness_sub_score(recent, prior, more):
    def sub(r):
        return score(SignalInputs(late_days_recent=r, late_days_prior=prior), WEIGHTS).signals[
            "payment_lateness_trend"]["sub_score"]
    later = (recent or 0.0) + more  # later than before, or the first recent payment at all
    assert sub(later) <= sub(recent)


def lateness(recent, prior):
    return score(SignalInputs(late_days_recent=recent, late_days_prior=prior), WEIGHTS).signals[
        "payment_lateness_trend"]


def test_a_chronic_late_payer_is_not_scored_punctual_and_a_rise_scores_worse_than_the_level():
    # Before: the signal was recent - prior, so 20 days late after 20 (or after 70) scored a perfect 100.
    chronic, improved, slipped = lateness(20.0, 20.0), lateness(20.0, 70.0), lateness(20.0, 0.0)
    assert (chronic["raw"], chronic["sub_score"]) == (20.0, 33.33)
    assert (improved["raw"], improved["sub_score"]) == (20.0, 33.33)  # the level counts, whatever came before
    assert (slipped["raw"], slipped["sub_score"]) == (40.0, 0.0)  # 20 days late, 20 later than before
    assert slipped["sub_score"] < chronic["sub_score"] < 100
    assert {k: slipped[k] for k in ("recent_avg_days_late", "prior_avg_days_late", "level_days_late",
                                    "deterioration_days")} == {
        "recent_avg_days_late": 20.0, "prior_avg_days_late": 0.0, "level_days_late": 20.0, "deterioration_days": 20.0}
    first = lateness(15.0, None)  # no prior payments: no evidence of a rise, the level alone
    assert (first["raw"], first["level_days_late"], first["deterioration_days"]) == (15.0, 15.0, 0.0)
    assert lateness(None, 70.0)["sub_score"] == 100.0  # no recent payments: no evidence


@given(inputs(), weights)
def test_contributions_explain_the_score(s, w):
    result = score(s, w)
    assert set(result.signals) == set(SIGNALS)
    # The contributions add up to the weighted sum; a cap (audit BY), recorded on the signals its rule reads, lowers
    # the score to at most its value.
    weighted = sum(v["contribution"] for v in result.signals.values())
    cap = result.signals["ar_aging"]["score_cap"] or result.signals["payment_lateness_trend"]["score_cap"]
    assert abs(min(weighted, cap["at_most"] if cap else 100.0) - result.score) < 0.1
    if cap:
        assert abs(weighted - cap["weighted_sum"]) < 0.1
    assert abs(sum(v["weight"] for v in result.signals.values()) - 1) < 1e-3
    assert result.tier == tier_for(result.score)


@pytest.mark.parametrize(("value", "tier"), [
    (100, "green"), (80, "green"), (79.9, "yellow"), (60, "yellow"), (59.9, "orange"), (40, "orange"),
    (39.9, "red"), (0, "red"),
])
def test_tier_boundaries(value, tier):
    assert tier_for(value) == tier


def test_clean_payer_is_green_and_the_worst_is_red():
    clean = SignalInputs(ar_by_bucket={"current": 12_000.0}, late_days_recent=0.0, late_days_prior=0.0,
                         orders_recent=12, orders_prior=36, contacts_total=3)
    assert score(clean, WEIGHTS).score == 100.0 and score(clean, WEIGHTS).tier == "green"
    worst = SignalInputs(ar_by_bucket={"90+": 50_000.0, "current": 1_000.0}, disputes_90d=4, late_days_recent=45.0,
                         late_days_prior=5.0, orders_recent=0, orders_prior=30, credit_memos_12m=12,
                         contacts_total=4, contacts_churned=2)
    result = score(worst, WEIGHTS)
    assert result.tier == "red" and result.score < 5
    assert result.signals["ar_aging"]["raw"] == pytest.approx(50 / 51, abs=1e-4)
    assert result.signals["payment_lateness_trend"]["raw"] == 85.0  # 45 days late, 40 later than before
    assert result.signals["dispute_count"]["sub_score"] == 0


def test_no_history_gets_a_flagged_neutral_score():
    result = score(SignalInputs(has_history=False, contacts_total=2), WEIGHTS)
    assert (result.score, result.tier, result.is_neutral) == (NEUTRAL_SCORE, "yellow", True)
    assert set(result.signals) == set(SIGNALS)


def test_weights_are_normalized():
    s = SignalInputs(ar_by_bucket={"90+": 100.0})
    doubled = {k: v * 2 for k, v in WEIGHTS.items()}
    assert score(s, WEIGHTS).score == score(s, doubled).score == 39.0  # all 90+: capped red (audit BY)
    assert (score(s, WEIGHTS).signals["ar_aging"]["score_cap"]["weighted_sum"]
            == score(s, doubled).signals["ar_aging"]["score_cap"]["weighted_sum"] == 70.0)


def share(amounts: list[tuple[str, float]], paid: float = 0.0) -> float:
    """The severity-weighted past-due share of some (bucket, amount) pairs and an amount paid, by the book."""
    total = sum(a for _, a in amounts) + paid
    return sum(BUCKET_SEVERITY[b] * a for b, a in amounts) / total if total > 0 else 0.0


@settings(max_examples=300, deadline=None)
@given(inputs(), weights, unknowns)
def test_invoices_of_unknown_remainder_never_score_better_and_take_the_worst_they_can_be(base, w, unknown):
    known = replace(base, ar_remaining_unknown=())
    scored = score(replace(base, ar_remaining_unknown=unknown), w)
    assert scored.score <= score(known, w).score
    # each may owe 0 to at_most; a weighted share is worst at one of those ends for each, so try them all
    pairs = [(b, a) for b, a in known.ar_by_bucket.items()]
    extremes = [share(pairs + [(u.bucket, UNBOUNDED if u.at_most is None else u.at_most) for u in chosen],
                      known.paid_90d)
                for n in range(len(unknown) + 1) for chosen in combinations(unknown, n)]
    assert scored.signals["ar_aging"]["raw"] == pytest.approx(max(extremes), abs=1e-4)


@settings(max_examples=200, deadline=None)
@given(inputs(), weights, unknowns, st.data())
def test_an_invoice_with_no_total_scores_no_better_than_any_amount_it_could_owe(base, w, unknown, data):
    if not unknown:
        return
    n = data.draw(st.integers(0, len(unknown) - 1))
    unbounded = unknown[:n] + (replace(unknown[n], at_most=None),) + unknown[n + 1:]
    assert score(replace(base, ar_remaining_unknown=unbounded), w).score <= \
        score(replace(base, ar_remaining_unknown=unknown), w).score


def test_an_overdue_invoice_with_no_total_counts_at_its_buckets_severity():
    # NetSuite sent neither amountRemaining nor total: it may owe anything, so it is not 0 (clean) but the
    # share tends to its bucket's severity as its amount grows.
    no_total = UnknownRemainder("INV-9", "90+", None, None, "2026-01-31")
    alone = score(SignalInputs(ar_remaining_unknown=(no_total,)), WEIGHTS).signals["ar_aging"]
    assert (alone["raw"], alone["sub_score"], alone["remaining_unknown"]["counted"]) == (1.0, 0.0, 1)
    assert alone["remaining_unknown"]["invoices"][0]["at_most"] is None
    mixed = (UnknownRemainder("INV-8", "31-60", None, None, None), UnknownRemainder("INV-7", "90+", 500.0))
    ar = score(SignalInputs(ar_by_bucket={"current": 1000.0}, ar_remaining_unknown=mixed), WEIGHTS)
    assert ar.signals["ar_aging"]["raw"] == 0.5  # 500 at 90+ makes 0.333; the unbounded 31-60 one, 0.5
    worse = SignalInputs(ar_by_bucket={"90+": 1000.0}, ar_remaining_unknown=mixed)
    assert score(worse, WEIGHTS).signals["ar_aging"]["raw"] == 1.0  # already worse than 0.5: not counted


def test_an_invoice_of_unknown_remainder_is_named_in_the_ar_signal():
    unknown = (UnknownRemainder("INV-77", "90+", 4000.0, 5000.0, "2026-03-27"),
               UnknownRemainder("INV-78", "current", 900.0, 900.0, "2026-07-15"))
    result = score(SignalInputs(ar_by_bucket={"current": 8000.0}, ar_remaining_unknown=unknown), WEIGHTS)
    ar = result.signals["ar_aging"]
    assert (ar["raw"], ar["sub_score"], ar["open_by_bucket"]) == (0.3333, 66.67, {"current": 8000.0})
    assert ar["remaining_unknown"]["invoices"] == [
        {"invoice": "INV-77", "bucket": "90+", "due_date": "2026-03-27", "total": 5000.0, "at_most": 4000.0,
         "counted": True},
        {"invoice": "INV-78", "bucket": "current", "due_date": "2026-07-15", "total": 900.0, "at_most": 900.0,
         "counted": False}]  # counting a current invoice would only make the share look better
    assert (ar["remaining_unknown"]["count"], ar["remaining_unknown"]["counted"]) == (2, 1)
    assert "amountRemaining" in ar["remaining_unknown"]["note"]
    clean = score(SignalInputs(ar_by_bucket={"current": 8000.0}), WEIGHTS).signals["ar_aging"]
    assert clean == {"raw": 0.0, "sub_score": 100.0, "weight": 0.3, "contribution": 30.0,
                     "open_by_bucket": {"current": 8000.0}, "paid_90d": 0.0,
                     "score_cap": None}  # nothing unknown: no more


def test_one_customer_scored_by_hand():
    # ar_aging: 4,000 of 10,000 in 61-90 (severity 0.75) = 0.3 -> 70; one dispute of 4 -> 75; 6 days late after 3
    # (level 6 + rise 3 = 9 of 30) -> 70; 8 orders against 30 / 3 = 10 -> 80; 2 memos of 12 -> 83.33; 1 of 10
    # contacts churned, 0.1 of the 0.5 that scores 0 -> 80.
    s = SignalInputs(ar_by_bucket={"current": 6000.0, "61-90": 4000.0}, disputes_90d=1, late_days_recent=6.0,
                     late_days_prior=3.0, orders_recent=8, orders_prior=30, credit_memos_12m=2, contacts_total=10,
                     contacts_churned=1)
    result = score(s, WEIGHTS)
    assert {name: signal["sub_score"] for name, signal in result.signals.items()} == {
        "ar_aging": 70.0, "dispute_count": 75.0, "payment_lateness_trend": 70.0, "order_frequency_drop": 80.0,
        "credit_memo_count": 83.33, "contact_churn": 80.0}
    # 0.30*70 + 0.15*75 + 0.20*70 + 0.15*80 + 0.10*83.33 + 0.10*80 = 74.58
    assert (result.score, result.tier, result.is_neutral) == (74.6, "yellow", False)
