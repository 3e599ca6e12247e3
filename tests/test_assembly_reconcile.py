"""new_assembly_item reconciles on each order event: a customer keeps a staged request to price an item only while a
live order of theirs uses it on an open line, whatever order of events got there (audit CL).

F1: a cancellation or deletion that came with (or in the same drain as) a removed line or a move; F2: a line an update
added after the first look, later removed; F3: an order cancelled, un-cancelled (or deleted and recreated) and
cancelled again; F4: the run is the order's customer's, not a stale event's.
"""

from __future__ import annotations

import json
from typing import Any

from tests.flows_support import apply, customer, load_reference, ref, rows, sales_order
from tests.test_assembly_line_closed import RIVERSIDE, updated
from tests.test_assembly_request_orphan import deleted, moved, requests, setup
from tests.test_flows_price_review_lifecycle import ITEMS as REVIEWED
from tests.test_flows_price_review_lifecycle import PRICES, PROGRAMS
from tests.test_flows_price_review_lifecycle import updated as changed
from worker.flows import assembly_item, quote_review
from worker.flows.withdrawals import changed_sentence, for_people
from worker.workflow_runner import drain

W = [assembly_item.WORKFLOW]
KIT = "KIT-RS-BRK"


def status(order: dict[str, Any], when: str, letter: str, name: str, **change: Any) -> dict[str, Any]:
    """The order's update setting its status (its lines as `updated` makes them)."""
    update = updated(order, when, **change)
    update["record"]["status"] = ref(letter, name)
    return update


def cancelled(order: dict[str, Any], when: str, **change: Any) -> dict[str, Any]:
    return status(order, when, "C", "Cancelled", **change)


async def kept_by_7030(env, tmp_path) -> dict[str, Any]:
    """SO-7031's request for the kit, kept by SO-7030 (deduplicated against it) after SO-7031 closed its line."""
    named = sales_order("7031", "3001", [("601", 2, 55.0)])
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)], tran_date="2026-11-03")
    await setup(env, tmp_path, named)
    await apply(env, order)
    await drain(env, W)
    await apply(env, updated(named, "2026-11-03T09:00:00Z", close=("601",)))
    await drain(env, W)
    assert await requests(env) == [("601", "3001", "7031", "staged", None)]
    return order


def reason(change: str, when: str) -> str:
    return f"withdrawn: sales order SO-7030 {change} in NetSuite at {for_people(when)}"


async def test_f1_a_line_removed_by_the_update_that_cancels_the_order(env, tmp_path) -> None:
    order = await kept_by_7030(env, tmp_path)
    await apply(env, cancelled(order, "2026-11-03T10:00:00Z", drop=("601",)))
    assert (await drain(env, W)).get("withdrawn") == 1
    assert await requests(env) == [("601", "3001", "7031", "rejected", reason("was cancelled", "2026-11-03T10:00"))]


async def test_f1_a_move_by_the_update_that_cancels_the_order(env, tmp_path) -> None:
    order = await kept_by_7030(env, tmp_path)
    update = cancelled(moved(order, "2026-11-03T10:00:00Z", "3002"), "2026-11-03T10:00:00Z")
    update["record"]["entity"] = ref("3002")
    await apply(env, update)
    assert (await drain(env, W)).get("withdrawn") == 1
    # a cancelled order asks the new customer for nothing either
    assert await requests(env) == [("601", "3001", "7031", "rejected", reason("was cancelled", "2026-11-03T10:00"))]


async def test_f1_a_removed_line_then_the_deletion_in_one_drain(env, tmp_path) -> None:
    order = await kept_by_7030(env, tmp_path)
    await apply(env, updated(order, "2026-11-03T10:00:00Z", drop=("601",)), deleted(order, "2026-11-03T11:00:00Z"))
    assert (await drain(env, W)).get("withdrawn") == 1  # by the deletion's event: the update's run finds it deleted
    assert await requests(env) == [("601", "3001", "7031", "rejected", reason("was deleted", "2026-11-03T11:00"))]


async def test_f1_a_move_then_the_deletion_in_one_drain(env, tmp_path) -> None:
    order = await kept_by_7030(env, tmp_path)
    await apply(env, moved(order, "2026-11-03T10:00:00Z", "3002"), deleted(order, "2026-11-03T11:00:00Z"))
    assert (await drain(env, W)).get("withdrawn") == 1
    assert await requests(env) == [("601", "3001", "7031", "rejected", reason("was deleted", "2026-11-03T11:00"))]


async def test_f2_a_line_added_after_the_first_look_then_removed(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("501", 1, 40.0)])
    await setup(env, tmp_path, first, second)
    added = updated(second, "2026-11-03T09:00:00Z")
    added["record"]["item"]["items"].append({"line": 2, "item": ref("601"), "quantity": 2, "units": "CS",
                                             "rate": 55.0, "amount": 110.0})
    await apply(env, added)
    assert await drain(env, W) == {"not_applicable": 1}  # the kit's request is staged already
    await apply(env, updated(first, "2026-11-03T10:00:00Z", close=("601",)))
    await drain(env, W)  # kept: SO-7031 uses it
    assert [r[3] for r in await requests(env)] == ["staged"]
    await apply(env, updated(second, "2026-11-03T11:00:00Z"))  # the kit's line gone again
    assert (await drain(env, W)).get("withdrawn") == 1
    why = (f"withdrawn: no live order of {RIVERSIDE} uses {KIT} any more (sales order SO-7031 was changed in NetSuite "
           "at 2026-11-03 11:00 UTC)")
    assert await requests(env) == [("601", "3001", "7030", "rejected", why)]


async def test_f3_an_uncancelled_order_asks_again_and_its_second_cancellation_withdraws(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    await apply(env, cancelled(order, "2026-11-03T10:00:00Z"))
    assert (await drain(env, W)).get("withdrawn") == 1
    await apply(env, status(order, "2026-11-03T11:00:00Z", "B", "Pending Fulfillment"))
    assert await drain(env, W) == {"ok": 1, "proposed": 1, "deduplicated": 0}  # an order again: it asks again
    assert [r[3] for r in await requests(env)] == ["rejected", "staged"]
    other = sales_order("7031", "3001", [("601", 1, 55.0)])
    await apply(env, other)
    assert await drain(env, W) == {"ok": 1, "proposed": 0, "deduplicated": 1}
    await apply(env, deleted(other, "2026-11-03T12:00:00Z"))
    assert await drain(env, W) == {"not_applicable": 1}  # SO-7030 uses the kit
    await apply(env, cancelled(order, "2026-11-03T13:00:00Z"))
    assert (await drain(env, W)).get("withdrawn") == 1
    assert await requests(env) == [("601", "3001", "7030", "rejected", reason("was cancelled", "2026-11-03T10:00")),
                                   ("601", "3001", "7030", "rejected", reason("was cancelled", "2026-11-03T13:00"))]
    # no request left staged for a later order to be deduplicated against: it asks afresh
    await apply(env, sales_order("7032", "3001", [("601", 1, 55.0)]))
    assert (await drain(env, W))["proposed"] == 1


async def test_f3_a_deleted_order_netsuite_sends_again_asks_again(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    await apply(env, deleted(order, "2026-11-03T10:00:00Z"))
    assert (await drain(env, W)).get("withdrawn") == 1
    await apply(env, updated(order, "2026-11-03T11:00:00Z"))  # the mirror takes it back: an order again
    assert await drain(env, W) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    assert [r[3] for r in await requests(env)] == ["rejected", "staged"]


async def test_f4_the_run_is_the_orders_customers_not_the_stale_events(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    # moved away and back with the kit's line closed, before the workflow drains: the first event names Birchwood
    await apply(env, moved(order, "2026-11-03T10:00:00Z", "3002"),
                moved(order, "2026-11-03T11:00:00Z", "3001", close=("601",)))
    assert (await drain(env, W)).get("withdrawn") == 1
    assert await requests(env) == [
        ("601", "3001", "7030", "rejected", reason(f"had its line for {KIT} closed", "2026-11-03T11:00"))]
    assert {r["customer_id"] for r in await rows(env, "SELECT customer_id FROM workflow_run_log")} == {"3001"}
    [*_, note] = await rows(env, "SELECT entity_id, observation FROM reflexion_log ORDER BY id")
    assert note["entity_id"] == "3001" and note["observation"].startswith(changed_sentence(
        "sales order SO-7030", RIVERSIDE, f"had its line for {KIT} closed", for_people("2026-11-03T11:00")))


async def test_a_request_every_order_of_its_customer_left_is_withdrawn_by_any_of_their_order_events(
        env, tmp_path) -> None:
    """A request left orphaned however it happened (here: staged by hand) goes at the next event of its customer."""
    await setup(env, tmp_path)
    orphan = {"item_id": "602", "item_code": "KIT-MM-GRL", "customer_id": "3001", "sales_order_id": "6999"}
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO proposed_actions (kind, payload_json, risk, status, customer_id, dedupe_key, created_at, "
        "updated_at) VALUES ('price_new_assembly_item', json(?), 2, 'staged', '3001', "
        "'price_new_assembly_item:602:3001', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')",
        (json.dumps(orphan),)))
    await apply(env, sales_order("7030", "3001", [("601", 10, 55.0)]))
    assert await drain(env, W) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    assert [(r[0], r[3]) for r in await requests(env)] == [("602", "rejected"), ("601", "staged")]


async def test_f4_a_price_reviews_cancellation_run_is_the_orders_customers_too(env, tmp_path) -> None:
    """order workflows' withdraw_order_drafts (customer_quote_review's cancellation) files the run likewise."""
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, spec_items__csv=REVIEWED,
                         pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods"), customer("2001", "Harbor Bistro"))
    order = sales_order("9507", "1187", [("502", 4, 18.0)])
    await apply(env, order)
    await drain(env, [quote_review.WORKFLOW])
    await apply(env, changed(order, "2026-11-03T09:00:00Z", entity=ref("2001")),
                changed(order, "2026-11-03T09:30:00Z", status=ref("C", "Cancelled")))
    assert (await drain(env, [quote_review.WORKFLOW])).get("withdrawn") == 1
    assert {r["customer_id"] for r in await rows(env, "SELECT customer_id FROM workflow_run_log")} == {"1187"}
    [*_, note] = await rows(env, "SELECT entity_id, observation FROM reflexion_log ORDER BY id")
    assert note["entity_id"] == "1187" and "was cancelled in NetSuite at 2026-11-03 09:30 UTC" in note["observation"]


async def test_a_line_reopened_or_added_after_the_look_asks_what_no_request_holds(env, tmp_path) -> None:
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    await apply(env, updated(order, "2026-11-03T10:00:00Z", close=("601",)))
    assert (await drain(env, W)).get("withdrawn") == 1
    await apply(env, updated(order, "2026-11-03T11:00:00Z"))  # NetSuite reopened it: the kit is ordered again
    assert await drain(env, W) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    grown = updated(order, "2026-11-03T12:00:00Z")
    grown["record"]["item"]["items"].append({"line": 3, "item": ref("602"), "quantity": 1, "units": "CS",
                                             "rate": 61.0, "amount": 61.0})
    await apply(env, grown)  # a kit the order did not have: asked, the staged one deduplicated
    assert await drain(env, W) == {"ok": 1, "proposed": 1, "deduplicated": 1}
    assert [(r[0], r[3]) for r in await requests(env)] == [("601", "rejected"), ("601", "staged"), ("602", "staged")]
    await apply(env, updated(grown, "2026-11-03T13:00:00Z", rate=41.0))  # nothing new: no run
    assert await drain(env, W) == {"not_applicable": 1}
