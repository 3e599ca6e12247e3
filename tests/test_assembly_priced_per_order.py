"""A pricing request is needless only once a price applies on the date of every live order using the item (audit CN).

75c674a withdrew a staged `price_new_assembly_item` request (and af13f7c refused approving it) when a price applied on
the date the asking order had when it asked: an older order of the customer that still has no price on its own date
lost its request without being asked again, and an order re-dated into a priced period kept one nobody needed.
"""

from __future__ import annotations

import pytest

from tests.flows_support import (
    PRICING_HEADER,
    apply,
    load_reference,
    proposals,
    sales_order,
)
from tests.test_assembly_line_closed import ITEMS, updated
from tests.test_assembly_request_orphan import requests, setup
from worker.decisions import DecisionError, decide_action
from worker.flows import assembly_item
from worker.workflow_runner import drain

WORKFLOWS = [assembly_item.WORKFLOW]
FROM_NOV_10 = "601,3001,72.00,CS,2026-11-10,\n"  # Riverside's price for the kit, from 10 November on


async def reprice(env, tmp_path, prices: str) -> None:
    await load_reference(env, tmp_path / "reprice", spec_items__csv=ITEMS,
                         pricing_master__csv=PRICING_HEADER + "501,,40.00,CS,,\n" + prices)


def two_orders():
    newer = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)], tran_date="2026-11-20")
    older = sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)], tran_date="2026-11-02")
    return newer, older


async def test_an_older_order_without_a_price_on_its_date_keeps_the_request(env, tmp_path):
    newer, older = two_orders()
    await setup(env, tmp_path, newer, older)
    await reprice(env, tmp_path, FROM_NOV_10)
    for record, at in ((newer, "2026-11-24T10:00:00Z"), (older, "2026-11-24T11:00:00Z")):
        await apply(env, updated(record, at, rate=41.0))
        assert (await drain(env, WORKFLOWS)).get("withdrawn", 0) == 0
    assert [r[3] for r in await requests(env)] == ["staged"]  # SO-7031 of 2 November still needs the price


async def test_approving_is_refused_only_when_every_using_order_has_a_price(env, tmp_path):
    newer, older = two_orders()
    await setup(env, tmp_path, newer, older)
    await reprice(env, tmp_path, FROM_NOV_10)
    [request] = await proposals(env)
    decided = await env.db.write(decide_action, request["id"], "mike", True, "2026-11-24T16:00:00.000Z",
                                 seen=request["updated_at"])
    assert decided.status == "approved"  # SO-7031's date has no price: the request is still wanted


async def test_an_order_redated_into_a_priced_period_lets_its_request_go(env, tmp_path):
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)], tran_date="2026-11-02")
    await setup(env, tmp_path, order)
    await reprice(env, tmp_path, FROM_NOV_10)
    redated = updated(order, "2026-11-24T10:00:00Z", rate=41.0)
    redated["record"]["tranDate"] = "2026-11-20"
    [request] = await proposals(env)
    await apply(env, redated)
    with pytest.raises(DecisionError, match="has a price for"):  # before the workflow runs: refused, not approved
        await env.db.write(decide_action, request["id"], "mike", True, "2026-11-24T16:00:00.000Z",
                           seen=request["updated_at"])
    assert (await drain(env, WORKFLOWS))["withdrawn"] == 1
    [(reason,)] = [(p["decision_reason"],) for p in await proposals(env)]
    assert reason.startswith("withdrawn: KIT-RS-BRK has a price for Riverside") and "72.00 per CS" in reason
