"""A price review approved while NetSuite changed its order, judged as its workflow judges the order (audit CR).

The approval is refused whenever the workflow would take the draft back at the order's next update (quote_review's
own fingerprint and proposal, redrawn_for): a currency, customer, date or terms changed, a line added off program;
it stands for what the workflow keeps the draft for (a quantity, a line's number, 'Case' for CS, a rate spelled
otherwise or changed past the 6th decimal, a line within program repriced within program). Each case is drained
afterwards: the workflow does what the approval check foresaw. Also: a bulk triage notice names who triaged first
however long the reviewer's name.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cron.housekeeping import DELETE_WORKFLOW_RUNS, DETACH_WORKFLOW_RUNS
from handlers.review.actions import price_rules
from handlers.review.observations import NOTICE_MAX_BYTES, triage_notice
from tests.flows_support import apply, proposals, ref, sales_order
from tests.test_approval_rechecks import AT, drafted
from tests.test_flows_price_review_lifecycle import FLOWS, priced, updated  # noqa: F401 (priced: fixture)
from worker.decisions import (
    Decision,
    DecisionError,
    decide_action,
)
from worker.env import iso
from worker.flows.quote_review import NAME
from worker.pricing import standard_program
from worker.quote_checks import order_changes_text, recounted
from worker.workflow_runner import drain, history_cutoff

NEXT = ("Reject it, or leave it: the workflow redraws it from the order's prices now (or withdraws it) when it next "
        "runs")
WITH_KIT_AND_SLICES = (("601", 1, 55.0), ("502", 4, 18.0), ("501", 2, 46.0))  # 501 within program: 40.00 + 15%


def relined(order: dict, when: str, change) -> dict:
    """The order updated with `change` applied to each of its lines (a dict, changed in place)."""
    update = updated(order, when)
    for line in update["record"]["item"]["items"]:
        change(line)
    return update


def pruned(conn) -> None:
    """The price reviews' runs pruned as the cold tier prunes runs (their actions' workflow_run_id cleared)."""
    ids = json.dumps([r[0] for r in conn.execute("SELECT id FROM workflow_run_log WHERE workflow = ?", (NAME,))])
    for sql in (*DETACH_WORKFLOW_RUNS, DELETE_WORKFLOW_RUNS):
        conn.execute(sql, (ids,))


async def reviews(env) -> list[dict]:
    return [p for p in await proposals(env) if p["kind"] == "review_quote_pricing"]


async def refused(env, review) -> str:
    with pytest.raises(DecisionError) as caught:
        await env.db.write(decide_action, review["id"], "alice", True, AT, seen=review["updated_at"])
    return str(caught.value)


async def redrawn(env, review) -> None:
    """The drain takes the draft back (superseded or withdrawn), as the refusal said it would."""
    await drain(env, FLOWS)
    [was] = [p for p in await reviews(env) if p["id"] == review["id"]]
    assert was["status"] == "rejected" and was["decided_by"] == "customer_quote_review"


async def approved_and_kept(env, review) -> None:
    """Approved, and the drain proposes no other review of the order: the workflow kept the draft as it stood."""
    decision = await env.db.write(decide_action, review["id"], "alice", True, AT, seen=review["updated_at"])
    assert decision.changed and decision.status == "approved"
    await drain(env, FLOWS)
    assert [(p["id"], p["status"]) for p in await reviews(env)] == [(review["id"], "approved")]


# --- 1. a change the workflow redraws the draft for is refused ----------------------------------------------------

@pytest.mark.parametrize("record, says", [
    ({"currency": ref("4", "EUR")}, "is now in EUR (was USD)"),
    ({"tranDate": "2026-06-01"}, "is now dated 2026-06-01 (was 2026-11-02)"),
    ({"entity": ref("2001")}, "is now for Harbor Bistro (was Driscoll Foods)"),
    ({"terms": ref("3", "Net 45")}, "now has payment terms of 45 days (was 30 days)"),
    ({"custbody_freight_terms": "Collect"}, "now has freight terms collect (was none stated)"),
])
async def test_a_price_review_whose_order_netsuite_changed_otherwise_than_its_rates_is_not_approved(
        priced, record, says):  # noqa: F811
    env = priced
    order = sales_order("9601", "1187", [("601", 1, 55.0), ("502", 4, 18.0)], currency=ref("1", "USD"))
    await apply(env, order)
    await drain(env, FLOWS)
    [review] = await reviews(env)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", **record))  # in the mirror; the drain has not run
    # Was: approved (the draft's lines are still quoted as drafted), and the approval stood beside the redraw.
    assert await refused(env, review) == (
        f"Sales order SO-9601 {says} since this price review was drafted: approving it would settle prices judged "
        f"for the order as it was. {NEXT}")
    await redrawn(env, review)


async def test_a_priced_line_added_off_program_is_named_and_refused(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    change = updated(order, "2026-11-03T09:30:00Z")
    items = change["record"]["item"]["items"]
    items.append({**items[1], "line": 3, "rate": 30.0})
    await apply(env, change)
    assert await refused(env, review) == (
        "Sales order SO-9601 now has 502 at 30.00 CS (line 3) to review since this price review was drafted: approving "
        f"it would settle prices judged for the order as it was. {NEXT}")
    await redrawn(env, review)


async def test_a_rate_changed_is_still_refused_naming_the_line(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    await apply(env, relined(order, "2026-11-03T09:30:00Z", lambda line: line.update(rate=18.5)
                             if line["item"]["id"] == "502" else None))
    assert await refused(env, review) == (
        "Sales order SO-9601 no longer quotes 502 at 18.00 CS (line 2) since this price review was drafted: approving "
        f"it would settle prices the order no longer has. {NEXT}")
    await redrawn(env, review)


# --- 2. a change the workflow keeps the draft for is approved ------------------------------------------------------

def benign(line: dict) -> None:
    """Line 2 renumbered 9, its quantity changed, its unit spelled 'Case' and its rate 18.000 (as NetSuite may)."""
    if line["line"] == 2:
        line.update(line=9, quantity=7, units="Case", rate=float("18.000"))


@pytest.mark.parametrize("change", [
    benign,
    # Past the 6th decimal, as the fingerprint rounds: the workflow never redraws, so this was refused for good.
    lambda line: line.update(rate=18.0000001) if line["line"] == 2 else None,
    # 501 is within program at 46.00 and at 46.20: the review would propose the same (the fingerprint changed).
    lambda line: line.update(rate=46.2) if line["line"] == 3 else None,
])
async def test_a_change_the_workflow_keeps_the_draft_for_is_approved(priced, change):  # noqa: F811
    env = priced
    order, staged = await drafted(env, lines=WITH_KIT_AND_SLICES)
    await apply(env, relined(order, "2026-11-03T09:30:00Z", change))
    await approved_and_kept(env, staged["review_quote_pricing"])


async def test_payment_terms_spelled_otherwise_or_stated_as_the_default_are_approved(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", terms=ref("9", "Net 30 days")))
    await approved_and_kept(env, staged["review_quote_pricing"])


async def test_a_review_whose_runs_were_pruned_is_judged_by_its_quoted_lines_as_the_fingerprint_rounds(
        priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    await env.db.write(pruned)
    await apply(env, relined(order, "2026-11-03T09:30:00Z", lambda line: line.update(rate=18.0000001)
                             if line["line"] == 2 else None))
    decision = await env.db.write(decide_action, review["id"], "alice", True, AT, seen=review["updated_at"])
    assert decision.status == "approved"  # was refused: compared within 1e-9


async def test_a_pruned_reviews_repriced_line_is_still_refused(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    await env.db.write(pruned)
    await apply(env, relined(order, "2026-11-03T09:30:00Z", lambda line: line.update(rate=18.5)
                             if line["line"] == 2 else None))
    assert "no longer quotes 502 at 18.00 CS (line 2)" in await refused(env, review)


def test_order_changes_are_named_as_a_reviewer_reads_them():
    found = {"line": 2, "item_id": "502", "item_name": "Cheddar", "units": "CS", "quoted": 18.0}
    assert order_changes_text({"currency": ("USD", "EUR"), "tran_date": ("2026-11-02", None),
                               "lines": ("a", "b")}, [found], [{**found, "line": 3, "quoted": 30.0}]) == (
        "is now in EUR (was USD), is now dated no date (was 2026-11-02), no longer quotes Cheddar at 18.00 CS "
        "(line 2) and now has Cheddar at 30.00 CS (line 3) to review")
    assert order_changes_text({"customer_id": ("1187", "2001")}, [], customers={"2001": "Harbor Bistro"}) == (
        "is now for Harbor Bistro (was customer 1187)")


# --- 3. a bulk triage notice with a long reviewer name -------------------------------------------------------------

def late(obs_id: int, reviewer: str, status: str = "rejected") -> Decision:
    return Decision(False, status, f"observation {obs_id} was already {status.replace('_', ' ')} by {reviewer} at "
                                   "2026-11-25 02:00:07 UTC; nothing changed")


@pytest.mark.parametrize("status", ["rejected", "approved_for_reuse"])
@pytest.mark.parametrize("obs_id", [7, 12345, 9_999_999_999])
def test_a_late_triage_names_who_even_with_a_reviewer_name_of_64_characters(obs_id, status):
    name = "r" * 64
    moved = [Decision(True, "rejected", "observation 6 rejected")]
    for notice in (triage_notice("rejected", moved + [late(obs_id, name, status)]),
                   triage_notice("rejected", moved + [late(obs_id, name, status)] * 3),
                   triage_notice("rejected", [late(obs_id, name, status)])):
        # Was "1 observation(s) rejected; 1 had already been triaged" (or "0 …"), naming neither which nor by whom.
        assert len(notice.encode()) <= NOTICE_MAX_BYTES, notice
        assert f"observation {obs_id} was already {status.replace('_', ' ')} by rrrrrrrrrrrr" in notice, notice
        assert notice.startswith("1 observation(s) rejected; ") or notice.endswith("; nothing changed")


def test_a_sentence_too_long_loses_its_time_then_its_names_tail():
    name = "r" * 64
    assert triage_notice("rejected", [late(12345, name, "approved_for_reuse")]) == (
        f"observation 12345 was already approved for reuse by {name}; nothing changed")
    moved = [Decision(True, "rejected", "observation 6 rejected")]
    assert triage_notice("rejected", moved + [late(12345, name)] * 2) == (
        "1 observation(s) rejected; 2 had already been triaged: observation 12345 was already rejected by "
        f"{name[:46]}… (and 1 more)")
    assert triage_notice("rejected", moved + [late(7, "bob")] * 3, limit=80) == (
        "1 observation(s) rejected; 3 had already been triaged")  # not even the name would be left


def test_a_late_triage_notice_keeps_the_whole_sentence_when_it_fits():
    assert triage_notice("rejected", [late(7, "bob")]) == (
        "observation 7 was already rejected by bob at 2026-11-25 02:00:07 UTC; nothing changed")


async def test_the_review_page_judges_a_price_review_by_the_settings_its_workflow_uses(env):
    rules = price_rules(env)
    assert (rules.standard, rules.tolerance_pct) == (standard_program(env.settings), env.settings.pricing.tolerance_pct)
    assert rules.today == env.clock().astimezone(env.settings.timezone).date().isoformat()
    # History as a drain running then judges it (quote_review.handle's is_old_change: history_cutoff).
    later = replace(env, clock=lambda: FAR)
    assert (price_rules(later).history_from, price_rules(later).history_days) == (
        history_cutoff(later), env.settings.workflows.history_days)


# --- 4. a refusal says what becomes of the draft, and names only lines that changed a finding (audit CS) ----------

FAR = datetime(2126, 12, 1, tzinfo=UTC)  # more than history_days (tests: 36,500) after the orders' changes
THEN = "Reject it and review the order by hand: "


async def test_an_order_changed_longer_ago_than_history_days_is_refused_without_promising_a_redraw(
        priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    await apply(env, updated(order, "2026-11-03T09:30:00Z", currency=ref("4", "EUR")))
    await drain(env, FLOWS, tick=FAR)  # history to this drain: not reviewed again, the draft stays
    [review] = [p for p in await reviews(env) if p["id"] == review["id"]]
    assert review["status"] == "staged"
    later = replace(env, clock=lambda: FAR)  # the review page a century on, judging history as that drain did
    with pytest.raises(DecisionError) as caught:
        await env.db.write(decide_action, review["id"], "alice", True, iso(FAR), seen=review["updated_at"],
                           price_rules=price_rules(later))
    # Was: "… Reject it, or leave it: the workflow redraws it … when it next runs", refused so for good.
    assert str(caught.value) == (
        "Sales order SO-9601 is now in EUR (was USD) since this price review was drafted: approving it would settle "
        f"prices judged for the order as it was. {THEN}NetSuite last changed it at 2026-11-03 09:30 UTC, more than "
        "36500 days ago ([workflows] history_days), and the workflow does not review a change that old, so it will "
        "not redraw this draft")
    # Judged on the day of the change (a drain then would review it), the refusal promises the redraw.
    assert await refused(env, review) == (
        "Sales order SO-9601 is now in EUR (was USD) since this price review was drafted: approving it would settle "
        f"prices judged for the order as it was. {NEXT}")


async def test_a_pruned_reviews_refusal_says_the_workflow_will_not_redraw_it(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    await env.db.write(pruned)
    await apply(env, relined(order, "2026-11-03T09:30:00Z", lambda line: line.update(rate=18.5)
                             if line["line"] == 2 else None))
    said = ("Sales order SO-9601 no longer quotes 502 at 18.00 CS (line 2) since this price review was drafted: "
            f"approving it would settle prices the order no longer has. {THEN}the runs of this review were pruned "
            "([retention] workflow_run_log_days), so the workflow does not review the order again")
    assert await refused(env, review) == said  # was: "… the workflow redraws it … when it next runs"
    await drain(env, FLOWS)  # ... which it does not: the draft stays, refused as before
    assert [(p["id"], p["status"]) for p in await reviews(env)] == [(review["id"], "staged")]
    assert await refused(env, review) == said


async def test_a_line_within_program_repriced_beside_another_change_is_not_named(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env, lines=WITH_KIT_AND_SLICES)
    change = relined(order, "2026-11-03T09:30:00Z", lambda line: line.update(rate=46.2) if line["line"] == 3 else None)
    change["record"]["terms"] = ref("3", "Net 45")
    await apply(env, change)
    # Was: "… (was 30 days) and has a line added, removed or repriced that the review now judges otherwise since …"
    assert await refused(env, staged["review_quote_pricing"]) == (
        "Sales order SO-9601 now has payment terms of 45 days (was 30 days) since this price review was drafted: "
        f"approving it would settle prices judged for the order as it was. {NEXT}")
    await redrawn(env, staged["review_quote_pricing"])


async def test_a_line_added_within_program_is_refused_saying_what_the_review_now_counts(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    change = updated(order, "2026-11-03T09:30:00Z")
    items = change["record"]["item"]["items"]
    items.append({**items[1], "line": 3, "item": ref("501"), "rate": 46.0, "quantity": 1})  # 501 is within program
    await apply(env, change)
    # Was: "… has a line added, removed or repriced that the review now judges otherwise since …"
    assert await refused(env, review) == (
        "Sales order SO-9601 now has 2 priced line(s) to check (was 1) since this price review was drafted: "
        f"approving it would settle prices judged for the order as it was. {NEXT}")
    await redrawn(env, review)


def test_what_a_review_counts_otherwise_is_said_only_of_lines_alone():
    drafted_, proposed = {"lines_checked": 1, "unpriced_assembly_items": ["601"]}, {"lines_checked": 1}
    assert recounted(drafted_, proposed) == ["now has 0 assembly item(s) with no price on file (was 1)"]
    assert recounted(drafted_, {**drafted_}) == []
    lines = {"lines": ("a", "b")}
    assert order_changes_text(lines, [], counted=recounted(drafted_, proposed)) == (
        "now has 0 assembly item(s) with no price on file (was 1)")
    assert order_changes_text(lines, []) == "has its lines changed so that the review now notes them otherwise"
    assert order_changes_text({**lines, "terms": (30, 45)}, [], counted=["now has 2 priced line(s) to check (was 1)"]) \
        == "now has payment terms of 45 days (was 30 days)"
