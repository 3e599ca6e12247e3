"""Withdrawal and supersession reasons date the change a run judged: two changes of one record drained together are
judged once, on the mirror's row as the later one left it, so the reason says that one's time, not the earlier
event's that ran the workflow (worker/flows/withdrawals.py changed_at)."""

import json

import pytest

from tests.flows_support import (
    PRICING_HEADER,
    apply,
    customer,
    event,
    load_reference,
    proposals,
    ref,
    rows,
    sales_order,
)
from worker.flows import assembly_item, invoice_dispute, quote_review
from worker.workflow_runner import drain

PROGRAMS = ("customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
            "1187,driscoll,15,prepaid,30,yes\n")
ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
         "601,KIT-RS-BRK,Right Start Breakfast Kit,CS,1,48 kits\n")
PRICES = PRICING_HEADER + "502,1187,20.00,CS,2026-01-01,2026-12-31\n"


def later(record_event: dict, when: str, **record) -> dict:
    """The record as a later NetSuite update at `when`, with `record`'s fields changed."""
    changed = json.loads(json.dumps(record_event))
    changed["record"].update(record)
    return {**changed, "event_id": f"{record_event['event_id']}-{when}", "operation": "update", "last_modified": when}


async def notes(env) -> list[str]:
    return [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")]


@pytest.fixture
async def priced(env, tmp_path):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, spec_items__csv=ITEMS,
                         pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"))
    return env


async def test_a_memo_edited_then_voided_in_one_drain_is_withdrawn_as_voided_at_the_void(priced):
    env = priced
    await apply(env, event("invoice", {"id": "7001", "tranId": "INV-7001", "tranDate": "2026-10-01",
                                       "dueDate": "2026-10-31", "entity": ref("1187"), "total": 1000.0,
                                       "amountRemaining": 700.0, "status": ref("A", "Open")}))
    memo = event("creditmemo", {"id": "8040", "tranId": "CM-8040", "tranDate": "2026-11-02", "entity": ref("1187"),
                                "total": 300.0, "memo": "short shipped", "status": ref("B", "Fully Applied"),
                                "createdFrom": ref("7001"),
                                "apply": {"items": [{"doc": {"id": "7001"}, "apply": True, "amount": 300.0,
                                                     "type": "Invoice"}]}})
    await apply(env, memo)
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["proposed"] == 2
    # 10:30 changes only the memo's text; 10:40 voids it: the 10:30 event's run finds it voided
    await apply(env, later(memo, "2026-11-24T10:30:00Z", memo="short shipped, 2 cases"),
                later(memo, "2026-11-24T10:40:00Z", memo="short shipped, 2 cases", total=0.0,
                      status=ref("V", "Voided"), apply={"items": []}))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                            "withdrawn": 2, "not_applicable": 1}
    reason = "withdrawn: credit memo CM-8040 was voided in NetSuite at 2026-11-24 10:40 UTC"
    assert [(p["status"], p["decision_reason"]) for p in await proposals(env)] == [("rejected", reason)] * 2
    assert (await notes(env))[-1].startswith("Credit memo CM-8040 for Driscoll Foods was voided in NetSuite at "
                                             "2026-11-24 10:40 UTC.")


async def test_an_order_changed_twice_in_one_drain_is_reviewed_again_as_of_the_rate_fix(priced):
    env = priced
    order = sales_order("9040", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    assert (await drain(env, [quote_review.WORKFLOW]))["proposed"] == 1
    # 10:10 changes a quantity only (not judged); 10:20 changes the rate (still off program): one review, of 10:20
    lines = order["record"]["item"]["items"]
    await apply(env, later(order, "2026-11-24T10:10:00Z", item={"items": [{**lines[0], "quantity": 9}]}),
                later(order, "2026-11-24T10:20:00Z", item={"items": [{**lines[0], "quantity": 9, "rate": 17.0}]}))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1,
                                                         "not_applicable": 1}
    first, _ = await proposals(env)
    assert first["decision_reason"] == ("superseded by the price review of sales order SO-9040 as changed in "
                                        "NetSuite at 2026-11-24 10:20 UTC")
    assert ("Reviewed again: line items, units or rates of SO-9040 for Driscoll Foods changed in NetSuite at "
            "2026-11-24 10:20 UTC. Withdrawn: #") in (await notes(env))[-1]


async def test_an_order_changed_then_cancelled_in_one_drain_is_withdrawn_as_cancelled_at_the_cancellation(priced):
    env = priced
    order = sales_order("9041", "1187", [("601", 1, 55.0)])
    await apply(env, order)
    assert (await drain(env, [assembly_item.WORKFLOW]))["proposed"] == 1
    await apply(env, later(order, "2026-11-24T10:10:00Z", memo="call first"),
                later(order, "2026-11-24T10:20:00Z", memo="call first", status=ref("C", "Cancelled")))
    assert (await drain(env, [assembly_item.WORKFLOW]))["withdrawn"] == 1
    [request] = await proposals(env)
    assert request["decision_reason"] == "withdrawn: sales order SO-9041 was cancelled in NetSuite at 2026-11-24 10:20 UTC"


async def test_a_deletion_is_dated_by_its_own_event(priced):
    env = priced
    order = sales_order("9042", "1187", [("601", 1, 55.0)])
    await apply(env, order)
    await drain(env, [assembly_item.WORKFLOW])
    await apply(env, {**order, "event_id": "del-9042", "operation": "delete", "record": None,
                      "last_modified": "2026-11-24T11:00:00Z"})
    assert (await drain(env, [assembly_item.WORKFLOW]))["withdrawn"] == 1
    [request] = await proposals(env)
    assert request["decision_reason"] == "withdrawn: sales order SO-9042 was deleted in NetSuite at 2026-11-24 11:00 UTC"
