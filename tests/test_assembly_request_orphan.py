"""new_assembly_item: a request no live order of its customer needs any more is withdrawn, whichever order let it go.

A request names the order that first asked; another order of the customer using the item asked too (deduplicated
against it), and keeps it staged when the named order no longer orders the item. When that last order closes or
removes its line, the request is withdrawn although it names another order: the item's dedupe key finds it, and
the order's runs remember it asked for the item (its lines are replaced as a whole, so a removed one is gone from
the mirror).
"""

from __future__ import annotations

from typing import Any

from tests.flows_support import (
    PRICING_HEADER,
    apply,
    customer,
    load_reference,
    proposals,
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

KIT = "KIT-RS-BRK"


async def setup(env, tmp_path, *orders: dict[str, Any], prices: str = "501,,40.00,CS,,\n") -> None:
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICING_HEADER + prices)
    await apply(env, customer("3001", RIVERSIDE))
    await apply(env, *orders)
    await drain(env, [assembly_item.WORKFLOW])


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
