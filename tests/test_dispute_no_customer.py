"""A credit memo without a customer (no `entity`) is drafted nothing; one left so after drafting withdraws its drafts
with the observation on the old customer; the first event that finds it with a customer drafts it."""

import json

from tests.flows_support import apply, customer, proposals, rows
from tests.test_flows_invoice_dispute import (
    driscoll_and_memo,
    moved,
    ticking,  # noqa: F401 (fixture)
    touch,
    updated,
    without_apply_list,
)
from worker.flows import invoice_dispute
from worker.workflow_runner import drain

KINDS = ["log_dispute", "send_dispute_confirmation"]


def customerless(memo: dict, when: str = "2026-11-03T15:00:00Z") -> dict:
    """The memo as an update without `entity`, nothing applied."""
    record = {k: v for k, v in memo["record"].items() if k != "entity"}
    return updated({**memo, "record": {**record, "apply": {"items": []}}}, when)


async def runs(env) -> list[dict]:
    found = await rows(env, "SELECT customer_id, output_json FROM workflow_run_log ORDER BY id")
    return [{**r, "output": json.loads(r["output_json"])} for r in found]


async def observations(env) -> list[tuple[str, str]]:
    return [(r["entity_id"], r["observation"])
            for r in await rows(env, "SELECT entity_id, observation FROM reflexion_log ORDER BY id")]


async def test_a_memo_left_without_a_customer_withdraws_for_the_old_one_and_drafts_nothing(ticking):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await apply(env, customerless(memo))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 2}
    reason = "withdrawn: credit memo CM-8030 was left without a customer in NetSuite at 2026-11-03 15:00 UTC"
    assert [(p["kind"], p["status"], p["customer_id"], p["decision_reason"]) for p in await proposals(env)] == [
        (k, "rejected", "1187", reason) for k in KINDS]  # no "Dear customer None team" draft
    assert (await runs(env))[-1]["customer_id"] == "1187"
    assert (await observations(env))[-1] == ("1187", (
        "Credit memo CM-8030 for Driscoll Foods was left without a customer in NetSuite at 2026-11-03 15:00 UTC. "
        "Credit memo CM-8030 has no customer in NetSuite: nothing is drafted until it has one. "
        "Withdrawn: #1 log_dispute, #2 send_dispute_confirmation."))
    # said once: a later update still without a customer changes nothing
    await apply(env, customerless(memo, "2026-11-03T15:30:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    # NetSuite gives it a customer again: drafted afresh for that one
    await apply(env, moved(memo, "1187", "2026-11-03T16:00:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0}
    fresh = [p for p in await proposals(env) if p["status"] == "staged"]
    assert [(p["kind"], p["customer_id"]) for p in fresh] == [(k, "1187") for k in KINDS]
    mail = fresh[1]["payload"]
    assert mail["to"] == "ap@driscoll.example" and "to Driscoll Foods" in mail["body"]
    entity, note = (await observations(env))[-1]
    assert entity == "1187" and note.startswith(
        "Credit memo CM-8030 now has a customer in NetSuite, Driscoll Foods (1187). Credit memo CM-8030 for Driscoll "
        "Foods, $300.00 against INV-7001")
    await apply(env, moved(memo, "1187", "2026-11-03T16:30:00Z"))  # and only once
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}


async def test_a_decided_draft_keeps_its_place_when_the_customer_comes_back(ticking):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await proposals(env, "send_dispute_confirmation"))[0], "approved")
    await apply(env, customerless(memo))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert "Already decided, left as it is: #2 send_dispute_confirmation (approved by mike)." in \
        (await observations(env))[-1][1]
    await apply(env, moved(memo, "1187", "2026-11-03T16:00:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    assert [(p["id"], p["kind"], p["status"]) for p in await proposals(env)] == [
        (1, "log_dispute", "rejected"), (2, "send_dispute_confirmation", "approved"), (3, "log_dispute", "staged")]
    assert ("No new confirmation is drafted: #2 keeps its place (approved); draft one by hand if it is needed."
            in (await observations(env))[-1][1])


async def test_a_memo_posted_without_a_customer_is_drafted_once_it_has_one(ticking):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8031")
    posted = {**memo, "record": {k: v for k, v in memo["record"].items() if k != "entity"}}
    await apply(env, without_apply_list(posted))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert await proposals(env) == [] and await observations(env) == []  # no customer: no row to write it on
    [run] = await runs(env)
    assert run["customer_id"] is None and run["output"]["awaiting_customer"] is True
    # a customer, still without the apply list: drafted as a posting would be, redone when the list comes
    await apply(env, updated(without_apply_list(memo), "2026-11-03T15:00:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0}
    assert [(p["kind"], p["customer_id"], p["payload"]["apply_pending"]) for p in await proposals(env)] == [
        (k, "1187", True) for k in KINDS]
    await apply(env, updated(memo, "2026-11-03T15:10:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                             "redrafted": 2}
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert "invoice INV-7001 (your PO DF-7001): $300.00 credited" in mail["body"]


async def test_a_memo_voided_and_left_without_a_customer_at_once_reports_to_the_old_one(ticking):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8032")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    gone = customerless(memo)
    gone["record"] |= {"status": {"id": "V", "refName": "Voided"}, "total": 0.0}
    await apply(env, gone)
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 2}
    [*_, (customer, note)] = await observations(env)
    assert customer == "1187" and note.startswith("Credit memo CM-8032 for Driscoll Foods was voided in NetSuite")
    assert [r["customer_id"] for r in await runs(env)][-1] == "1187"


async def harbor_holds_the_memo_after_a_move(env) -> dict:
    """CM-8033 drafted for Driscoll, whose dispute log a person approved, then moved to Harbor Bistro (2001),
    which has the staged confirmation: the memo's oldest live draft is Driscoll's, the staged one Harbor's."""
    memo = await driscoll_and_memo(env, "8033")
    await apply(env, customer("2001", "Harbor Bistro", email="ap@harbor.example"), memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, {p["kind"]: p for p in await proposals(env)}["log_dispute"], "approved")
    await apply(env, moved(memo, "2001"))
    await drain(env, [invoice_dispute.WORKFLOW])
    return memo


async def test_a_void_after_a_move_reports_to_the_customer_whose_draft_it_withdraws(ticking):  # noqa: F811
    env = ticking
    memo = await harbor_holds_the_memo_after_a_move(env)
    gone = moved(memo, "2001", "2026-11-03T16:00:00Z")
    gone["record"] |= {"status": {"id": "V", "refName": "Voided"}, "total": 0.0}
    await apply(env, gone)
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["withdrawn"] == 1
    [*_, (customer_id, note)] = await observations(env)
    assert customer_id == "2001" and note.startswith("Credit memo CM-8033 for Harbor Bistro was voided"), note


async def test_left_without_a_customer_after_a_move_reports_to_the_last_customer(ticking):  # noqa: F811
    env = ticking
    memo = await harbor_holds_the_memo_after_a_move(env)
    await apply(env, customerless(memo, "2026-11-03T16:00:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["withdrawn"] == 1
    [*_, (customer_id, note)] = await observations(env)
    assert customer_id == "2001" and note.startswith("Credit memo CM-8033 for Harbor Bistro was left without"), note
