"""new_assembly_item: a request no live order of its customer needs any more is withdrawn, whichever order let it go.

A request names the order that first asked; another order of the customer using the item asked too (deduplicated
against it), and keeps it staged when the named order no longer orders the item. When that last order closes or
removes its line, the request is withdrawn although it names another order: the item's dedupe key finds it, and
the order's runs remember it asked for the item (its lines are replaced as a whole, so a removed one is gone from
the mirror). An order NetSuite moves to another customer no longer orders for the old one: the old customer's
request goes (unless another of its live orders uses the item), and the new customer is asked for its price.
"""

from __future__ import annotations

from typing import Any

from tests.flows_support import (
    PRICING_HEADER,
    apply,
    customer,
    load_reference,
    proposals,
    ref,
    rows,
    sales_order,
)
from tests.test_assembly_line_closed import (
    ITEMS,
    NO_RUN,
    RIVERSIDE,
    last_note,
    runs,
    updated,
)
from worker.flows import assembly_item
from worker.workflow_runner import drain

BIRCHWOOD = "Birchwood Middle School"
KIT = "KIT-RS-BRK"


async def setup(env, tmp_path, *orders: dict[str, Any], prices: str = "501,,40.00,CS,,\n") -> None:
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICING_HEADER + prices)
    await apply(env, customer("3001", RIVERSIDE), customer("3002", BIRCHWOOD))
    await apply(env, *orders)
    await drain(env, [assembly_item.WORKFLOW])


def moved(order: dict[str, Any], when: str, to: str, **change: Any) -> dict[str, Any]:
    """The order's update moving it to customer `to` (its lines as `updated` makes them)."""
    update = updated(order, when, **change)
    update["record"] = {**update["record"], "entity": ref(to)}
    return update


def deleted(order: dict[str, Any], when: str) -> dict[str, Any]:
    return {**order, "event_id": f"deleted-{order['record']['id']}", "operation": "delete", "record": None,
            "last_modified": when}


async def requests(env) -> list[tuple[str, str, str, str, str | None]]:
    """(item, customer, named order, status, reason) of each request, oldest first."""
    return [(p["payload"]["item_id"], p["customer_id"], p["payload"]["sales_order_id"], p["status"],
             p["decision_reason"]) for p in await proposals(env)]


async def test_the_last_order_closing_the_item_withdraws_the_request_naming_another(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)])
    await setup(env, tmp_path, first, second)
    await apply(env, updated(first, "2026-11-03T10:00:00Z", close=("601",)))
    await drain(env, [assembly_item.WORKFLOW])  # kept: SO-7031 uses it
    assert await requests(env) == [("601", "3001", "7030", "staged", None)]
    await apply(env, updated(second, "2026-11-03T11:00:00Z", close=("601",)))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    reason = f"withdrawn: sales order SO-7031 had its line for {KIT} closed in NetSuite at 2026-11-03 11:00 UTC"
    assert await requests(env) == [("601", "3001", "7030", "rejected", reason)]
    [request] = await proposals(env)
    assert await last_note(env) == (
        f"Sales order SO-7031 for {RIVERSIDE} had its line for {KIT} closed in NetSuite at 2026-11-03 11:00 UTC. "
        f"Withdrawn: #{request['id']} price_new_assembly_item.")
    before = await runs(env)
    await apply(env, updated(second, "2026-11-03T12:00:00Z", close=("601",), rate=41.0))
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    assert await runs(env) == before


async def test_the_last_order_removing_the_item_withdraws_it_after_the_named_one_was_deleted(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)])
    await setup(env, tmp_path, first, second)
    await apply(env, deleted(first, "2026-11-03T10:00:00Z"))
    assert (await drain(env, [assembly_item.WORKFLOW])).get("withdrawn") is None  # kept: SO-7031 uses it
    # the removed line is gone from the mirror: SO-7031's run, which asked for the kit, remembers it
    await apply(env, updated(second, "2026-11-03T11:00:00Z", drop=("601",)))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    reason = f"withdrawn: sales order SO-7031 had its line for {KIT} removed in NetSuite at 2026-11-03 11:00 UTC"
    assert await requests(env) == [("601", "3001", "7030", "rejected", reason)]


async def test_a_request_another_live_order_still_needs_stays_without_a_word(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)])
    third = sales_order("7032", "3001", [("601", 1, 55.0)])
    await setup(env, tmp_path, first, second, third)
    await apply(env, updated(first, "2026-11-03T10:00:00Z", close=("601",)))
    await drain(env, [assembly_item.WORKFLOW])  # kept, said once by SO-7030's run
    before = await runs(env)
    await apply(env, updated(second, "2026-11-03T11:00:00Z", drop=("601",)))  # SO-7032 still uses it
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    await apply(env, updated(second, "2026-11-03T11:30:00Z", drop=("601",), rate=41.0))
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    assert await runs(env) == before
    assert [r[3] for r in await requests(env)] == ["staged"]
    await apply(env, updated(third, "2026-11-03T12:00:00Z", drop=("601",)))  # the last one
    assert (await drain(env, [assembly_item.WORKFLOW])).get("withdrawn") == 1
    reason = f"withdrawn: sales order SO-7032 had its line for {KIT} removed in NetSuite at 2026-11-03 12:00 UTC"
    assert await requests(env) == [("601", "3001", "7030", "rejected", reason)]


async def test_an_order_moved_to_another_customer_withdraws_the_old_request_and_asks_the_new(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    [request] = await proposals(env)
    await apply(env, moved(order, "2026-11-03T10:00:00Z", "3002"))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    reason = f"withdrawn: sales order SO-7030 was moved to {BIRCHWOOD} in NetSuite at 2026-11-03 10:00 UTC"
    assert await requests(env) == [("601", "3001", "7030", "rejected", reason), ("601", "3002", "7030", "staged", None)]
    [_, fresh] = await proposals(env)
    assert fresh["dedupe_key"] == "price_new_assembly_item:601:3002"
    assert await last_note(env) == (
        f"Sales order SO-7030 for {RIVERSIDE} was moved to {BIRCHWOOD} in NetSuite at 2026-11-03 10:00 UTC. "
        f"SO-7030 for {BIRCHWOOD}: 1 of 1 assembly item(s) have no price on file: {KIT} (quoted $55.00). "
        f"Withdrawn: #{request['id']} price_new_assembly_item.")
    [run] = await rows(env, "SELECT customer_id FROM workflow_run_log ORDER BY id DESC LIMIT 1")
    assert run["customer_id"] == "3002"
    before = await runs(env)
    await apply(env, moved(order, "2026-11-03T11:00:00Z", "3002", rate=41.0))  # said once
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    assert await runs(env) == before
    # its line closed for the new customer now: the new request goes as any would
    await apply(env, moved(order, "2026-11-03T12:00:00Z", "3002", close=("601",)))
    assert (await drain(env, [assembly_item.WORKFLOW])).get("withdrawn") == 1
    assert [r[3] for r in await requests(env)] == ["rejected", "rejected"]


async def test_a_move_keeps_a_request_another_order_of_the_old_customer_uses(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("601", 10, 55.0), ("602", 1, 61.0)])
    other = sales_order("7031", "3001", [("601", 2, 55.0)])
    # the new customer has its own price for the kit: nothing to ask it for that one
    await setup(env, tmp_path, order, other, prices="501,,40.00,CS,,\n601,3002,55.00,CS,,\n")
    await apply(env, moved(order, "2026-11-03T10:00:00Z", "3002"))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    reason = f"withdrawn: sales order SO-7030 was moved to {BIRCHWOOD} in NetSuite at 2026-11-03 10:00 UTC"
    assert await requests(env) == [("601", "3001", "7030", "staged", None), ("602", "3001", "7030", "rejected", reason),
                                   ("602", "3002", "7030", "staged", None)]
    note = await last_note(env)
    assert f"The request to price {KIT} stays: SO-7031 uses it too." in note
    assert f"SO-7030 for {BIRCHWOOD}: 1 of 2 assembly item(s) have no price on file: KIT-MM-GRL" in note
    # said once: the kept request is not named again on the order's next update
    before = await runs(env)
    await apply(env, moved(order, "2026-11-03T11:00:00Z", "3002", rate=41.0))
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    assert await runs(env) == before


async def test_moving_the_last_order_using_the_item_withdraws_the_request_naming_another(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)])
    await setup(env, tmp_path, first, second)
    await apply(env, updated(first, "2026-11-03T10:00:00Z", close=("601",)))
    await drain(env, [assembly_item.WORKFLOW])  # kept: SO-7031 uses it
    await apply(env, moved(second, "2026-11-03T11:00:00Z", "3002"))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    reason = f"withdrawn: sales order SO-7031 was moved to {BIRCHWOOD} in NetSuite at 2026-11-03 11:00 UTC"
    assert await requests(env) == [("601", "3001", "7030", "rejected", reason), ("601", "3002", "7031", "staged", None)]



async def test_a_move_an_earlier_queued_update_finds_is_handled_once(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    # both updates arrive before the workflow drains: the first one's run already finds the order moved
    await apply(env, updated(order, "2026-11-03T10:00:00Z", rate=41.0), moved(order, "2026-11-03T11:00:00Z", "3002"))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1,
                                                          "not_applicable": 1}
    assert [(r[1], r[3]) for r in await requests(env)] == [("3001", "rejected"), ("3002", "staged")]
