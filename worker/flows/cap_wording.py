"""How a collection plan words a health-score cap that lowered the score (pure): its rule from the thresholds in the
stored `score_cap` record (worker.health.CAP_RULES), the cap and its tier, and the uncapped score.

The call's talking points (worker/flows/collection_situation.py) and the run's observation
(worker/flows/ar_aging_action_plan.py) say it; unchanged when no cap lowered the score.
"""

from __future__ import annotations

from typing import Any

from worker.aging import BUCKETS
from worker.health import BUCKET_SEVERITY, tier_for

# The first day past due of each bucket (the day after the previous one's last): '61-90' -> 61.
_BUCKET_FIRST_DAY = {name: prev + 1 for (name, _), (_, prev) in zip(BUCKETS[1:], BUCKETS, strict=False)
                     if prev is not None}


def threshold_words(name: str, at: float) -> str:
    """One threshold of a health cap rule (worker.health.CAP_RULES) in a collector's words, worded from the number."""
    if name == "ar_aging":
        # The signal is recent billing weighted by bucket severity: at a bucket's severity the typical dollar is
        # that old. Not a share of the balance: all of it 61-90 days past due reaches 0.75 too.
        reached = [b for b, severity in BUCKET_SEVERITY.items() if 0 < severity <= at and b in _BUCKET_FIRST_DAY]
        if reached:
            first_day = _BUCKET_FIRST_DAY[max(reached, key=BUCKET_SEVERITY.__getitem__)]
            return (f"the typical dollar of recent billing is {first_day}+ days past due "
                    f"(AR aging signal {at:g} or more)")
        return f"the AR aging signal is {at:g} or more"
    if name == "payment_lateness_trend":
        return f"payments come {at:g}+ days late on average (counting any rise over the period before)"
    return f"{name} is {at:g} or more"


def applied_cap(health: dict[str, Any] | None) -> dict[str, Any] | None:
    """The health score's cap (worker.health.score: `score_cap` on the signals its rule reads) when it lowered the
    score, else None: a cap recorded above the weighted sum changed nothing a collector needs to hear about."""
    for signal in ((health or {}).get("signals") or {}).values():
        cap = signal.get("score_cap")
        if cap and cap["weighted_sum"] > cap["at_most"]:
            return cap
    return None


def cap_text(health: dict[str, Any] | None) -> str | None:
    """Why a capped health score is as low as it is (its rule, cap and tier, and the uncapped score), or None."""
    if (cap := applied_cap(health)) is None:
        return None
    rule = " and ".join(threshold_words(name, at) for name, at in cap["thresholds"].items())
    at_most, uncapped = cap["at_most"], cap["weighted_sum"]
    return (f"health score capped at {at_most:g} ({tier_for(at_most)}) because {rule}; "
            f"uncapped, its signals would score {uncapped:g} ({tier_for(uncapped)})")
