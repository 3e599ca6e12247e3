"""A collection plan says when a health-score cap (worker.health.CAP_RULES) is why the customer is red or orange."""

import json
from dataclasses import replace

import pytest

from cron.aging import action_plans, refresh_aging
from tests.test_action_plan import at, driscoll, staged
from tests.test_health import WEIGHTS
from tests.test_health_caps import STEADY
from worker.flows.cap_wording import cap_text, threshold_words
from worker.flows.collection_situation import (
    NAME,
    Situation,
    net_exposure,
    talking_points,
)
from worker.health import (
    AR_AGING_FOR_ORANGE,
    AR_AGING_FOR_RED,
    CAP_RULES,
    LATENESS_FOR_CAP,
    ORANGE_CAP,
    RED_CAP,
    score,
)
from worker.ledger import advance_cursor, append_event, last_event_id


def stored(result):
    """A score as the plan reads it back from customer_health_scores (collection_queries.examine)."""
    return {"score": result.score, "tier": result.tier, "signals": json.loads(json.dumps(result.signals))}


def situation(health):
    invoice = {"invoice_id": "9001", "number": "INV9001", "po": None, "due_date": "2026-01-31", "days_past_due": 75,
               "bucket": "61-90", "amount_remaining": 3_000.0, "currency": None}
    return Situation("1187", "Driscoll Foods", "ap@driscoll.com", "Maria Lopez", None, None, [invoice], health,
                     "state", False, net_exposure([3_000.0], [], []))


NEVER_PAID = replace(STEADY, ar_by_bucket={"90+": 3_000.0}, late_days_recent=120.0)  # weighted sum 50: orange
LATE_PAYER = replace(STEADY, paid_90d=9_000.0, late_days_recent=60.0, late_days_prior=60.0)  # weighted sum 80: green


def test_a_red_cap_is_named_with_its_rule_and_the_uncapped_score():
    health = stored(score(NEVER_PAID, WEIGHTS))
    points = talking_points(situation(health))
    at_health = next(i for i, p in enumerate(points) if p.startswith("Health score "))
    assert points[at_health] == (f"Health score {RED_CAP:.0f} (red); weakest signals: ar_aging (0/100), "
                                 "payment_lateness_trend (0/100).")  # unchanged
    assert points[at_health + 1] == (
        f"Health score capped at {RED_CAP:g} (red) because the typical dollar of recent billing is 61+ days past due "
        f"(AR aging signal {AR_AGING_FOR_RED:g} or more); uncapped, its signals would score 50 (orange).")


def test_an_orange_cap_on_lateness_alone_says_payments_come_late():
    text = cap_text(stored(score(LATE_PAYER, WEIGHTS)))
    assert text == (f"health score capped at {ORANGE_CAP:g} (orange) because payments come {LATENESS_FOR_CAP:g}+ days "
                    "late on average (counting any rise over the period before); uncapped, its signals would score 80 "
                    "(green)")


def test_a_rule_on_two_signals_names_both():
    late_and_owing = replace(STEADY, ar_by_bucket={"31-60": 5_000.0}, late_days_recent=45.0)
    text = cap_text(stored(score(late_and_owing, WEIGHTS)))
    assert text.startswith(f"health score capped at {RED_CAP:g} (red) because the typical dollar of recent billing is "
                           f"31+ days past due (AR aging signal {AR_AGING_FOR_ORANGE:g} or more) and payments come "
                           f"{LATENESS_FOR_CAP:g}+ days late")


@pytest.mark.parametrize(("rule", "cap", "why"), CAP_RULES)
def test_every_rule_is_worded_from_its_own_thresholds(rule, cap, why):
    for name, threshold in rule.items():
        assert f"{threshold:g}" in threshold_words(name, threshold)


@pytest.mark.parametrize(("at", "first_day"), [(0.25, "1+"), (0.5, "31+"), (0.6, "31+"), (0.75, "61+"), (1.0, "91+")])
def test_an_ar_aging_threshold_is_the_age_of_the_bucket_it_reaches(at, first_day):
    assert f" is {first_day} days past due (AR aging signal {at:g} or more)" in threshold_words("ar_aging", at)


def test_no_cap_or_a_cap_that_did_not_lower_the_score_leaves_the_points_unchanged():
    clean = stored(score(STEADY, WEIGHTS))
    # A cap recorded above the weighted sum changed nothing: the score is the weighted sum.
    below = {"score": 30.0, "tier": "red", "signals": {"ar_aging": {"sub_score": 0.0, "score_cap": {
        "at_most": RED_CAP, "weighted_sum": 30.0, "thresholds": {"ar_aging": AR_AGING_FOR_RED}, "why": "..."}}}}
    for health in (None, {"score": 30, "tier": "red", "signals": {}}, clean, below):
        assert cap_text(health) is None
        assert not any("capped" in p for p in talking_points(situation(health)))


async def test_a_customer_turned_red_by_a_cap_gets_a_plan_that_says_so(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-04-15"))  # 15 days past due at most: only the red night can plan
    await env.db.write(lambda conn: advance_cursor(conn, NAME, last_event_id(conn)))
    result = score(NEVER_PAID, WEIGHTS)

    def red(conn):
        conn.execute("INSERT INTO customer_health_scores (customer_id, as_of, score, tier, signals_json, computed_at) "
                     "VALUES ('1187', '2026-04-14', ?, ?, ?, '2026-04-14')",
                     (result.score, result.tier, json.dumps(result.signals)))
        append_event(conn, "customer.health_tier_changed", "customer", "1187",
                     {"customer_id": "1187", "from": "green", "to": "red", "score": result.score, "as_of": "2026-04-14"})
    await env.db.write(red)
    assert (await action_plans(env, at("2026-04-15")))["proposed"] >= 1
    call = next(a for a in await staged(env) if a["kind"] == "schedule_collection_call")
    said = f"capped at {RED_CAP:g} (red) because the typical dollar of recent billing is 61+ days past due"
    assert any(p.startswith(f"Health score {said}") for p in call["payload"]["talking_points"])
    observation = (await env.db.fetchone("SELECT observation FROM reflexion_log"))[0]
    assert f"; health score {said}" in observation and observation.endswith("would score 50 (orange).")
