"""The cold tier's workflow_run_log prune keeps the runs holding a sales order's state the order workflows read.

quote_review.FIRST_REVIEW (the first review's key, while a later review is kept) and order_lines.NEWLY_CANCELLED
(`cancelled`, said once) read the run log: each scenario behaves the same with a prune before NetSuite's last
edit as without (cron/housekeeping.py ORDER_STATE_RUN), while runs that hold nothing still go.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cron.housekeeping import prune_workflow_runs
from tests.flows_support import apply, proposals, ref, rows, sales_order
from tests.test_quote_rereview import FLOW, notes, priced, reviews, updated  # noqa: F401 (priced: fixture)
from worker.decisions import decide_action
from worker.workflow_runner import drain

YEAR_ON = datetime(2027, 12, 3, 3, 0, tzinfo=UTC)  # 13 months after the first review: past the 365 days kept


def at(env, *when: int) -> None:
    env.clock = lambda: datetime(*when, tzinfo=UTC)


async def runs(env) -> int:
    return (await rows(env, "SELECT count(*) AS n FROM workflow_run_log"))[0]["n"]


@pytest.mark.parametrize("prune", [False, True])
async def test_prices_a_person_rejected_at_the_first_review_are_not_proposed_again_after_a_prune(priced, prune):  # noqa: F811
    env = priced
    at(env, 2026, 11, 2, 16)
    order = sales_order("9006", "1187", [("502", 4, 18.00)])  # Driscoll's contract is 20.00: -10%
    await apply(env, order)
    await drain(env, FLOW)
    [first] = await proposals(env)
    await env.db.write(decide_action, first["id"], "mike", False, "2026-11-03T09:00:00.000Z",
                       seen=first["updated_at"], reason="agreed with the customer")
    at(env, 2027, 10, 1, 12)  # eleven months on, NetSuite edits the rate: reviewed again
    await apply(env, updated(order, "2027-10-01T11:00:00Z", [("502", 4, 15.00)]))
    await drain(env, FLOW)
    at(env, 2027, 12, 3, 3)
    if prune:
        await prune_workflow_runs(env, YEAR_ON)
        assert await runs(env) == 2  # the first review stays beside the later one
    await apply(env, updated(order, "2027-12-03T02:00:00Z", [("502", 4, 18.00)]))  # back to the rejected price
    assert (await drain(env, FLOW))["proposed"] == 0
    assert [r for r in await reviews(env) if r[0] == "staged"] == []
    assert "Decided before at these prices, left as it is: #1 review_quote_pricing (rejected by mike)" in (
        await notes(env))[-1]


@pytest.mark.parametrize("prune", [False, True])
async def test_a_long_cancelled_order_is_not_reported_cancelled_again_after_a_prune(priced, prune):  # noqa: F811
    env = priced
    at(env, 2026, 11, 2, 16)
    order = sales_order("9006", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, FLOW)
    [first] = await proposals(env)
    await env.db.write(decide_action, first["id"], "mike", True, "2026-11-03T09:00:00.000Z", seen=first["updated_at"])
    at(env, 2026, 11, 10, 12)
    await apply(env, updated(order, "2026-11-10T11:00:00Z", status=ref("C", "Cancelled")))
    await drain(env, FLOW)
    said = len(await notes(env))
    at(env, 2027, 12, 3, 3)
    if prune:
        await prune_workflow_runs(env, YEAR_ON)
        assert await runs(env) == 1  # the run that said so; the review before it went
    await apply(env, updated(order, "2027-12-03T02:00:00Z", status=ref("C", "Cancelled"), memo="archived"))
    assert await drain(env, FLOW) == {"not_applicable": 1}
    assert (await notes(env))[said:] == []


async def test_an_order_reviewed_once_and_a_deleted_orders_runs_still_go(priced):  # noqa: F811
    env = priced
    at(env, 2026, 11, 2, 16)
    await apply(env, sales_order("9006", "1187", [("502", 4, 18.00)]))
    gone = sales_order("9007", "1187", [("502", 4, 18.00)])
    await apply(env, gone)
    await drain(env, FLOW)
    at(env, 2026, 11, 10, 12)
    await apply(env, updated(gone, "2026-11-10T11:00:00Z", status=ref("C", "Cancelled")))
    await drain(env, FLOW)
    await apply(env, {**updated(gone, "2026-11-11T11:00:00Z"), "operation": "delete", "record": None})
    await drain(env, FLOW)
    await prune_workflow_runs(env, YEAR_ON)
    assert await runs(env) == 0
