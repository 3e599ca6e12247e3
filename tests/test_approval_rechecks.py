"""Approving a staged action re-checks, in the transaction that approves it, what the mirror says now.

A price review (or a request to price an assembly item) whose sales order NetSuite deleted or cancelled is refused
until its workflow withdraws it (worker/decisions.py ORDER_KINDS).
"""

import pytest

from tests.flows_support import apply, proposals, ref, sales_order
from tests.test_flows_price_review_lifecycle import FLOWS, deleted, priced, updated  # noqa: F401 (priced: fixture)
from worker.decisions import DecisionError, decide_action
from worker.workflow_runner import drain

AT = "2026-11-03T16:00:00.000Z"


async def drafted(env, so_id: str = "9601", lines=(("601", 1, 55.0), ("502", 4, 18.0))) -> tuple[dict, dict]:
    """An order of Driscoll's with an unpriced kit and a rate off program: its review and its request, staged."""
    order = sales_order(so_id, "1187", list(lines))
    await apply(env, order)
    await drain(env, FLOWS)
    return order, {p["kind"]: p for p in await proposals(env) if p["payload"].get("sales_order_id") == so_id}


@pytest.mark.parametrize("change, says", [
    (lambda o: deleted(o), "Sales order SO-9601 was deleted in NetSuite at 2026-11-03 10:00 UTC since this"),
    (lambda o: updated(o, "2026-11-03T09:30:00Z", status=ref("C", "Cancelled")),
     "Sales order SO-9601 was cancelled in NetSuite since this"),
])
@pytest.mark.parametrize("kind, what", [("review_quote_pricing", "price review"),
                                        ("price_new_assembly_item", "request to price a new assembly item")])
async def test_a_price_draft_whose_order_is_gone_is_not_approved_but_can_be_rejected(priced, change, says, kind,  # noqa: F811
                                                                                     what):
    env = priced
    order, staged = await drafted(env)
    await apply(env, change(order))  # in the mirror; the workflows have not run on it yet
    action = staged[kind]
    with pytest.raises(DecisionError) as refused:
        await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
    assert f"{says} {what} was drafted: approving it would" in str(refused.value)
    assert "the workflow withdraws it when it next runs" in str(refused.value)
    [still] = [p for p in await proposals(env) if p["id"] == action["id"]]
    assert still["status"] == "staged"
    decision = await env.db.write(decide_action, action["id"], "mike", False, AT, seen=action["updated_at"],
                                  reason="order gone")
    assert decision.changed and decision.status == "rejected"


async def test_a_price_draft_of_a_live_order_is_approved(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", memo="dock 4"))  # changed, still an order
    for action in staged.values():
        decision = await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
        assert decision.changed and decision.status == "approved"


async def test_a_request_for_an_item_another_live_order_uses_stays_approvable(priced):  # noqa: F811
    # As the workflow keeps it (worker/flows/assembly_item.py withdraw_for_order): the item still needs a price.
    env = priced
    order, staged = await drafted(env, lines=[("601", 1, 55.0)])
    await apply(env, sales_order("9602", "1187", [("601", 2, 55.0)]))
    await drain(env, FLOWS)
    await apply(env, deleted(order))
    action = staged["price_new_assembly_item"]
    decision = await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
    assert decision.changed and decision.status == "approved"
