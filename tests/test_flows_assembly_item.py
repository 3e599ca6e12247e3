"""new_assembly_item through the real runner: one proposal per unpriced assembly item and customer."""

import json

from tests.flows_support import PRICING_HEADER, apply, customer, load_reference, proposals, rows, sales_order
from worker.flows import assembly_item
from worker.workflow_runner import drain

ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
         "501,CHZ-AM-160,Melt Mates American Slices,CS,0,4/160ct\n"
         "601,KIT-RS-BRK,Right Start Breakfast Kit,CS,1,48 kits\n"
         "602,KIT-MM-GRL,Melt Mates Grilled Cheese Kit,CS,1,24 kits\n")
PRICES = PRICING_HEADER + "501,,40.00,CS,,\n602,,61.00,CS,,\n"


async def test_unpriced_assembly_items_are_proposed_once_per_item_and_customer(env, tmp_path):
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICES)
    await apply(env, customer("3001", "Riverside Unified School District"), customer("1187", "Driscoll Foods"))
    await apply(env, sales_order("7001", "3001", [("601", 10, 55.0), ("602", 5, 61.0), ("601", 2, 55.0)]))
    counts = await drain(env, [assembly_item.WORKFLOW])
    assert counts == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(env)
    assert (proposal["kind"], proposal["risk"], proposal["customer_id"]) == ("price_new_assembly_item", 2, "3001")
    assert proposal["payload"] | {} == {
        "item_id": "601", "item_code": "KIT-RS-BRK", "item_name": "601", "description": "Right Start Breakfast Kit",
        "uom": "CS", "pack_size": "48 kits", "customer_id": "3001", "customer_name": "Riverside Unified School District",
        "sales_order_id": "7001", "tran_id": "SO-7001", "tran_date": "2026-11-02", "line": 1, "quantity": 10.0,
        "quoted_rate": 55.0, "currency": None, "program": "standard"}
    [note] = await rows(env, "SELECT * FROM reflexion_log")
    assert json.loads(note["tags_json"]) == ["new_assembly_item"] and note["entity_id"] == "3001"
    assert "1 of 2 assembly item(s) have no price on file: KIT-RS-BRK (quoted $55.00)" in note["observation"]

    # the same customer orders it again before anyone priced it: not proposed a second time
    await apply(env, sales_order("7002", "3001", [("601", 3, 56.0)]))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 1}
    # another customer using it is a separate pricing question
    await apply(env, sales_order("7003", "1187", [("601", 1, 60.0)]))
    assert (await drain(env, [assembly_item.WORKFLOW]))["proposed"] == 1
    assert [(p["customer_id"], p["payload"]["item_id"]) for p in await proposals(env)] == [("3001", "601"),
                                                                                         ("1187", "601")]


async def test_orders_without_assembly_lines_are_not_its_business(env, tmp_path):
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods"))
    await apply(env, sales_order("7010", "1187", [("501", 1, 40.0)]), sales_order("7011", "1187", [("602", 1, 61.0)]))
    counts = await drain(env, [assembly_item.WORKFLOW])
    assert counts == {"not_applicable": 1, "ok": 1, "proposed": 0, "deduplicated": 0}
    assert await proposals(env) == []
    [run] = await rows(env, "SELECT w.status, r.observation FROM workflow_run_log w JOIN reflexion_log r "
                            "ON r.workflow_run_id = w.id")
    assert run == {"status": "ok", "observation": "SO-7011 for Driscoll Foods: all 1 assembly item(s) already priced."}
    # the priced list price is seen only after its effective date: a later price row does not count
    await load_reference(env, tmp_path / "ref", pricing_master__csv=PRICES.replace("602,,61.00,CS,,",
                                                                                   "602,,61.00,CS,2027-01-01,"))
    await apply(env, sales_order("7012", "1187", [("602", 1, 61.0)]))
    assert (await drain(env, [assembly_item.WORKFLOW]))["proposed"] == 1


async def test_an_order_sent_without_lines_is_checked_on_the_update_that_brings_them(env, tmp_path):
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICES)
    await apply(env, customer("3001", "Riverside Unified School District"))
    order = sales_order("7020", "3001", [("601", 10, 55.0)])
    links = {**order, "record": {**order["record"], "item": {"links": [{"rel": "self", "href": "…/item"}]}}}
    await apply(env, links)
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert note["observation"] == ("SO-7020 for Riverside Unified School District: NetSuite sent the order without "
                                   "its lines (item sublist not expanded); the assembly item check waits for the "
                                   "update that brings them.")
    for n, when in enumerate(("2026-11-02T15:05:00Z", "2026-11-02T15:10:00Z")):  # lines arrive, then a plain update
        await apply(env, {**order, "event_id": f"test-7020-u{n}", "operation": "update", "last_modified": when})
        await drain(env, [assembly_item.WORKFLOW])
    [proposal] = await proposals(env)
    assert (proposal["payload"]["item_id"], proposal["payload"]["sales_order_id"]) == ("601", "7020")
    assert len(await rows(env, "SELECT * FROM workflow_run_log WHERE status = 'ok'")) == 2


def deleted(order: dict, when: str = "2026-11-03T10:00:00Z") -> dict:
    """The order's deletion as NetSuite sends it: no record."""
    return {**order, "event_id": f"{order['event_id']}-deleted", "operation": "delete", "record": None,
            "last_modified": when}


async def test_a_deleted_order_withdraws_its_pricing_request_unless_another_order_still_needs_it(env, tmp_path):
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICES)
    await apply(env, customer("3001", "Riverside Unified School District"))
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("601", 2, 55.0)])
    await apply(env, first, second)
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 2, "proposed": 1, "deduplicated": 1}
    [request] = await proposals(env)
    assert request["payload"]["sales_order_id"] == "7030"
    # the order the request names is deleted, but SO-7031 still uses the kit: the request stays
    await apply(env, deleted(first))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert [p["status"] for p in await proposals(env)] == ["staged"]
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert note["observation"] == ("Sales order SO-7030 for Riverside Unified School District was deleted in NetSuite "
                                   "at 2026-11-03 10:00 UTC. The request to price KIT-RS-BRK stays: SO-7031 uses it too.")
    # once SO-7031 is deleted too, no live order needs the kit: the request is withdrawn
    await apply(env, deleted(second, "2026-11-03T11:00:00Z"))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert [(p["status"], p["decision_reason"]) for p in await proposals(env)] == [
        ("rejected", "withdrawn: sales order SO-7031 was deleted in NetSuite at 2026-11-03 11:00 UTC")]

    # a withdrawn request gives up its key
    third = sales_order("7032", "3001", [("602", 1, 70.0)])
    await load_reference(env, tmp_path / "ref", pricing_master__csv=PRICING_HEADER + "501,,40.00,CS,,\n")
    await apply(env, third)
    await drain(env, [assembly_item.WORKFLOW])
    await apply(env, deleted(third, "2026-11-03T12:00:00Z"))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    kit = [p for p in await proposals(env) if p["payload"]["item_id"] == "602"]
    assert [(p["status"], p["decision_reason"], p["dedupe_key"]) for p in kit] == [
        ("rejected", "withdrawn: sales order SO-7032 was deleted in NetSuite at 2026-11-03 12:00 UTC",
         f"price_new_assembly_item:602:3001:withdrawn:{kit[0]['id']}")]
    # so an order that uses the kit later asks again, rather than being deduplicated against the withdrawn one
    await apply(env, sales_order("7033", "3001", [("602", 3, 70.0)]))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    assert [(p["status"], p["payload"]["sales_order_id"]) for p in await proposals(env)
            if p["payload"]["item_id"] == "602"] == [("rejected", "7032"), ("staged", "7033")]


async def test_a_line_netsuite_marks_as_an_assembly_is_one_even_when_spec_items_does_not_say_so(env, tmp_path):
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS, pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods"))
    order = sales_order("7020", "1187", [("812", 5, 60.0), ("813", 1, 10.0), ("501", 1, 40.0), ("814", 1, 9.0)])
    lines = order["record"]["item"]["items"]
    lines[0] |= {"itemType": "Assembly", "item": {"id": "812", "refName": "Holiday Platter Kit"}}  # not in spec_items
    lines[1]["itemType"] = {"id": "Assembly", "refName": "assembly"}  # select form, other case
    lines[2]["itemType"] = "InvtPart"
    lines[3]["itemType"] = "NonInvtPart"
    await apply(env, order)
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0}
    found = [p["payload"] for p in await proposals(env)]
    assert [(p["item_id"], p["item_code"], p["item_name"], p["uom"]) for p in found] == [
        ("812", None, "Holiday Platter Kit", "CS"), ("813", None, "813", "CS")]
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert note["observation"] == ("SO-7020 for Driscoll Foods: 2 of 2 assembly item(s) have no price on file: "
                                   "Holiday Platter Kit (quoted $60.00), 813 (quoted $10.00).")
