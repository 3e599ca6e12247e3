"""new_assembly_item: a live order whose line for the item NetSuite closes, or an update removes, withdraws the request.

The order was looked at once (its request staged), so its later updates pass order_lines.gate as `done`; the
request must not stay approvable when nothing needs the price any more, unless another live order of the customer
still uses the item (then it stays, said once). An update that changes nothing of what was asked records no run.
"""

from __future__ import annotations

import json
from typing import Any

from tests.flows_support import (
    PRICING_HEADER,
    apply,
    customer,
    load_reference,
    proposals,
    rows,
    sales_order,
)
from worker.flows import assembly_item
from worker.flows.withdrawals import LINE_CLOSED, LINE_REMOVED, lines_changed
from worker.workflow_runner import drain

ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
         "501,CHZ-AM-160,Melt Mates American Slices,CS,0,4/160ct\n"
         "601,KIT-RS-BRK,Right Start Breakfast Kit,CS,1,48 kits\n"
         "602,KIT-MM-GRL,Melt Mates Grilled Cheese Kit,CS,1,24 kits\n")
PRICES = PRICING_HEADER + "501,,40.00,CS,,\n"
RIVERSIDE = "Riverside Unified School District"
NO_RUN = {"not_applicable": 1}


def updated(order: dict[str, Any], when: str, *, close: tuple[str, ...] = (), drop: tuple[str, ...] = (),
            rate: float | None = None) -> dict[str, Any]:
    """The order's update as NetSuite sends it: its lines for `close` closed, for `drop` gone, 501's rate changed."""
    record = json.loads(json.dumps(order["record"]))
    items = [ln for ln in record["item"]["items"] if ln["item"]["id"] not in drop]
    for ln in items:
        if ln["item"]["id"] in close:
            ln["isClosed"] = True
        if rate is not None and ln["item"]["id"] == "501":
            ln["rate"] = rate
    record["item"]["items"] = items
    return {**order, "event_id": f"{order['event_id']}-{when}", "operation": "update", "last_modified": when,
            "record": record}


async def setup(env, tmp_path, *orders: dict[str, Any]) -> None:
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICES)
    await apply(env, customer("3001", RIVERSIDE))
    await apply(env, *orders)
    await drain(env, [assembly_item.WORKFLOW])


async def runs(env) -> int:
    return len(await rows(env, "SELECT id FROM workflow_run_log"))


async def last_note(env) -> str:
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    return note["observation"]


def test_the_change_names_each_items_line_and_what_became_of_it() -> None:
    assert lines_changed({LINE_CLOSED: ["KIT-RS-BRK"], LINE_REMOVED: []}) == "had its line for KIT-RS-BRK closed"
    assert lines_changed({LINE_CLOSED: ["A", "B"], LINE_REMOVED: ["C"]}) == (
        "had its lines for A and B closed and its line for C removed")
    assert lines_changed({LINE_CLOSED: [], LINE_REMOVED: ["A", "B", "C"]}) == "had its lines for A, B and C removed"


async def test_a_closed_line_withdraws_the_request_and_releases_its_key(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    [request] = await proposals(env)
    await apply(env, updated(order, "2026-11-03T10:00:00Z", close=("601",)))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    [withdrawn] = await proposals(env)
    assert (withdrawn["status"], withdrawn["decided_by"], withdrawn["decision_reason"], withdrawn["dedupe_key"]) == (
        "rejected", "new_assembly_item",
        "withdrawn: sales order SO-7030 had its line for KIT-RS-BRK closed in NetSuite at 2026-11-03 10:00 UTC",
        f"price_new_assembly_item:601:3001:withdrawn:{request['id']}")
    assert await last_note(env) == (
        f"Sales order SO-7030 for {RIVERSIDE} had its line for KIT-RS-BRK closed in NetSuite at 2026-11-03 10:00 UTC. "
        f"Withdrawn: #{request['id']} price_new_assembly_item.")
    # a later update of the order (a rate of another line) has nothing to say: no run
    before = await runs(env)
    await apply(env, updated(order, "2026-11-03T11:00:00Z", close=("601",), rate=41.0))
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    assert await runs(env) == before
    # the key was released: a later order using the kit asks afresh
    await apply(env, sales_order("7031", "3001", [("601", 3, 55.0)]))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    assert [(p["status"], p["payload"]["sales_order_id"]) for p in await proposals(env)] == [
        ("rejected", "7030"), ("staged", "7031")]


async def test_a_removed_line_withdraws_the_request(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0), ("602", 2, 61.0)])
    await setup(env, tmp_path, order)
    assert [p["payload"]["item_id"] for p in await proposals(env)] == ["601", "602"]
    await apply(env, updated(order, "2026-11-03T10:00:00Z", drop=("601",)))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert [(p["payload"]["item_id"], p["status"], p["decision_reason"]) for p in await proposals(env)] == [
        ("601", "rejected",
         "withdrawn: sales order SO-7030 had its line for KIT-RS-BRK removed in NetSuite at 2026-11-03 10:00 UTC"),
        ("602", "staged", None)]  # its line is still open
    # one update closing one line and removing another: both withdrawn, the reason telling them apart
    await apply(env, customer("1187", "Driscoll Foods"))
    other = sales_order("7040", "1187", [("601", 1, 55.0), ("602", 1, 61.0), ("501", 1, 40.0)])
    await apply(env, other)
    assert (await drain(env, [assembly_item.WORKFLOW]))["proposed"] == 2
    await apply(env, updated(other, "2026-11-03T12:00:00Z", drop=("601",), close=("602",)))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 2}
    reason = ("withdrawn: sales order SO-7040 had its line for KIT-MM-GRL closed and its line for KIT-RS-BRK removed "
              "in NetSuite at 2026-11-03 12:00 UTC")
    assert [(p["payload"]["item_id"], p["status"], p["decision_reason"]) for p in await proposals(env)
            if p["customer_id"] == "1187"] == [("601", "rejected", reason), ("602", "rejected", reason)]


async def test_another_live_order_using_the_item_keeps_the_request_said_once(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("601", 2, 55.0)])
    await setup(env, tmp_path, first, second)
    [request] = await proposals(env)
    assert request["payload"]["sales_order_id"] == "7030"
    await apply(env, updated(first, "2026-11-03T10:00:00Z", close=("601",)))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert [p["status"] for p in await proposals(env)] == ["staged"]
    assert await last_note(env) == (
        f"Sales order SO-7030 for {RIVERSIDE} had its line for KIT-RS-BRK closed in NetSuite at 2026-11-03 10:00 UTC. "
        "The request to price KIT-RS-BRK stays: SO-7031 uses it too.")
    # said once: the order's next update records no run
    before = await runs(env)
    await apply(env, updated(first, "2026-11-03T11:00:00Z", close=("601",)))
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    assert await runs(env) == before
    # SO-7031 deleted: no live order uses the kit on an open line now, so the deletion withdraws it
    await apply(env, {**second, "event_id": "deleted-7031", "operation": "delete", "record": None,
                      "last_modified": "2026-11-03T12:00:00Z"})
    assert (await drain(env, [assembly_item.WORKFLOW])).get("withdrawn") == 1


async def test_a_request_naming_another_order_is_not_this_orders_to_withdraw(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)])
    await setup(env, tmp_path, first, second)
    before = await runs(env)
    await apply(env, updated(second, "2026-11-03T10:00:00Z", close=("601",)))  # the request names SO-7030
    assert await drain(env, [assembly_item.WORKFLOW]) == NO_RUN
    assert await runs(env) == before
    assert [(p["status"], p["payload"]["sales_order_id"]) for p in await proposals(env)] == [("staged", "7030")]
    # SO-7030, which it names, removes the kit: no open line uses it now, so it goes
    await apply(env, updated(first, "2026-11-03T11:00:00Z", drop=("601",)))
    assert (await drain(env, [assembly_item.WORKFLOW])).get("withdrawn") == 1
    assert [p["status"] for p in await proposals(env)] == ["rejected"]


async def test_an_update_of_a_cancelled_order_is_the_cancellations_business(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    cancelled = updated(order, "2026-11-03T10:00:00Z", close=("601",))
    cancelled["record"]["status"] = {"id": "C", "refName": "Cancelled"}
    await apply(env, cancelled)
    assert (await drain(env, [assembly_item.WORKFLOW])).get("withdrawn") == 1
    [request] = await proposals(env)
    assert request["decision_reason"] == "withdrawn: sales order SO-7030 was cancelled in NetSuite at 2026-11-03 10:00 UTC"
