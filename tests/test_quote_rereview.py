"""customer_quote_review on an update of a reviewed order: reviewed again when what the review judges changed (a
line's item, unit or rate, the customer, date, currency or terms), one live price draft per order, through the real
CDC apply and drain."""

import json
from datetime import UTC, datetime

import pytest

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
from worker.flows import quote_review
from worker.workflow_runner import _decide, drain, history_cutoff, record_runs

PROGRAMS = ("customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
            "1187,driscoll,15,prepaid,30,yes\n")
# 501: list 40.00 + 15% = 46.00 for Driscoll; 502: Driscoll's contract 20.00 (Harbor: list 25.00, no markup)
PRICES = PRICING_HEADER + "501,,40.00,CS,,\n502,,25.00,CS,,\n502,1187,20.00,CS,2026-01-01,2026-12-31\n"
FLOW = [quote_review.WORKFLOW]


@pytest.fixture
async def priced(env, tmp_path):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods"), customer("2001", "Harbor Bistro"))
    return env


def updated(order, when, lines=None, **record):
    """The order as a later NetSuite update: `lines` (item, quantity, rate) replace its lines."""
    changed = json.loads(json.dumps(order))
    if lines is not None:
        changed["record"]["item"] = sales_order("0", "0", lines)["record"]["item"]
    changed["record"].update(record)
    return {**changed, "event_id": f"{order['event_id']}-{when}", "operation": "update", "last_modified": when}


async def reviews(env):
    return [(p["status"], p["dedupe_key"], [(f["item_id"], f["quoted"]) for f in p["payload"]["lines"]])
            for p in await proposals(env, "review_quote_pricing")]


async def live(env):
    return [p for p in await proposals(env, "review_quote_pricing") if p["status"] == "staged"]


async def notes(env):
    return [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")]


async def test_a_rate_changed_after_a_clean_review_is_reviewed_again(priced):
    env = priced
    order = sales_order("9001", "1187", [("501", 10, 46.00), ("502", 4, 20.00)])
    await apply(env, order)
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    await apply(env, updated(order, "2026-11-03T09:30:00Z", [("501", 10, 46.00), ("502", 4, 17.00)]))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await live(env)
    assert [(f["item_id"], f["quoted"], f["expected"]) for f in review["payload"]["lines"]] == [("502", 17.0, 20.0)]
    assert review["dedupe_key"].startswith("review_quote_pricing:9001:") and "fingerprint" not in review["payload"]
    assert (await notes(env))[-1].endswith("Reviewed again: line items, units or rates of SO-9001 for Driscoll Foods "
                                           "changed in NetSuite at 2026-11-03 09:30 UTC.")
    [_, run] = await rows(env, "SELECT output_json FROM workflow_run_log ORDER BY id")
    output = json.loads(run["output_json"])
    assert (output["changed"], output["review_key"]) == (["lines"], review["dedupe_key"])


async def test_a_deviation_fixed_by_an_update_withdraws_the_staged_draft(priced):
    env = priced
    order = sales_order("9002", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, FLOW)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", [("502", 4, 20.00)]))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    [review] = await proposals(env)
    assert (review["status"], review["decided_by"], review["decision_reason"]) == (
        "rejected", "customer_quote_review",
        "withdrawn: sales order SO-9002 was changed in NetSuite at 2026-11-03 09:30 UTC; its prices are now within program")
    [event] = await rows(env, "SELECT entity_id FROM events WHERE type = 'action.rejected'")
    assert event["entity_id"] == str(review["id"])
    assert (await notes(env))[-1].endswith(f"all within program. Reviewed again: line items, units or rates of SO-9002 "
                                           f"for Driscoll Foods changed in NetSuite at 2026-11-03 09:30 UTC. "
                                           f"Withdrawn: #{review['id']} review_quote_pricing.")


async def test_updates_that_change_nothing_the_review_judges_propose_nothing(priced):
    env = priced
    order = sales_order("9003", "1187", [("501", 10, 46.00), ("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, FLOW)
    before = await proposals(env)
    # status, memo, shipping, quantities, line order and another spelling of the same unit are not judged
    await apply(env, updated(order, "2026-11-03T09:00:00Z", status=ref("E", "Pending Billing/Partially Fulfilled")))
    await apply(env, updated(order, "2026-11-03T10:00:00Z", memo="call before delivery", shipMethod=ref("7", "UPS")))
    reordered = updated(order, "2026-11-03T11:00:00Z", [("502", 9, 18.00), ("501", 2, 46.00)])
    reordered["record"]["item"]["items"][0]["units"] = "Case"
    await apply(env, reordered)
    assert await drain(env, FLOW) == {"not_applicable": 3}
    assert await proposals(env) == before and len(await notes(env)) == 1


async def test_two_updates_leave_one_live_draft(priced):
    env = priced
    order = sales_order("9004", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, FLOW)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", [("502", 4, 17.00)]))
    await drain(env, FLOW)
    await apply(env, updated(order, "2026-11-03T10:30:00Z", [("502", 4, 16.00), ("501", 1, 30.00)]))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    found = await reviews(env)
    assert [(status, lines) for status, _, lines in found] == [
        ("rejected", [("502", 18.0)]), ("rejected", [("502", 17.0)]), ("staged", [("502", 16.0), ("501", 30.0)])]
    first, second, _ = await proposals(env)
    assert [p["decision_reason"] for p in (first, second)] == [
        "superseded by the price review of sales order SO-9004 as changed in NetSuite at 2026-11-03 09:30 UTC",
        "superseded by the price review of sales order SO-9004 as changed in NetSuite at 2026-11-03 10:30 UTC"]
    # the superseded drafts gave up their keys: prices that come back are proposed afresh, one live draft still
    await apply(env, updated(order, "2026-11-03T11:30:00Z", [("502", 4, 18.00)]))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    # two changes drained together: the first event's review sees the mirror's newest lines, the second finds them
    await apply(env, updated(order, "2026-11-03T12:00:00Z", [("502", 4, 19.00)]))
    await apply(env, updated(order, "2026-11-03T12:30:00Z", [("502", 4, 17.00)]))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1, "not_applicable": 1}
    [staged] = await live(env)
    assert [(f["item_id"], f["quoted"]) for f in staged["payload"]["lines"]] == [("502", 17.0)]
    # deleting the order withdraws the live draft; the superseded ones are not named as decided
    await apply(env, {**order, "event_id": "del-9004", "operation": "delete", "record": None,
                      "last_modified": "2026-11-04T10:00:00Z"})
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert (await notes(env))[-1] == ("Sales order SO-9004 for Driscoll Foods was deleted in NetSuite at 2026-11-04 "
                                      f"10:00 UTC. Withdrawn: #{staged['id']} review_quote_pricing.")


async def test_the_same_update_delivered_twice_or_run_twice_proposes_once(priced):
    env = priced
    order = sales_order("9005", "1187", [("501", 10, 46.00)])
    await apply(env, order)
    await drain(env, FLOW)
    change = updated(order, "2026-11-03T09:30:00Z", [("501", 10, 41.00)])
    assert (await apply(env, change))["applied"] == 1
    assert (await apply(env, change))["applied"] == 0  # the webhook's retry
    # a crash after the handler decided, before the commit: the drain decides it again, and proposes once
    [event] = [e for e in await _events(env) if e.type == "salesorder.updated"]
    lost = await _decide(env, quote_review.WORKFLOW, event, history_cutoff(env))
    assert len(lost[1].proposals) == 1
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    # the lost attempt's result committed late: the run is done, nothing more
    assert await env.db.write(record_runs, quote_review.WORKFLOW, [lost]) == {"already_done": 1}
    # the same record sent again under another event id (a backfill of the same change)
    await apply(env, {**change, "event_id": "again-9005", "last_modified": "2026-11-03T09:45:00Z"})
    assert await drain(env, FLOW) == {"not_applicable": 1}
    assert [status for status, _, _ in await reviews(env)] == ["staged"]


async def _events(env):
    from worker.ledger import events_after

    return await env.db.read_sync(lambda conn: events_after(conn, 0, ("salesorder.updated",), 50))


async def test_a_decided_draft_stays_as_decided_and_the_new_review_is_a_new_draft(priced):
    from worker.decisions import decide_action

    env = priced
    order = sales_order("9006", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, FLOW)
    [first] = await proposals(env)
    await env.db.write(decide_action, first["id"], "mike", True, "2026-11-03T09:00:00.000Z", seen=first["updated_at"])
    await apply(env, updated(order, "2026-11-03T09:30:00Z", [("502", 4, 15.00)]))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    assert [(status, lines) for status, _, lines in await reviews(env)] == [
        ("approved", [("502", 18.0)]), ("staged", [("502", 15.0)])]
    # back to the approved prices: nothing new to propose (the approval covers them), the staged draft goes
    await apply(env, updated(order, "2026-11-03T10:30:00Z", [("502", 4, 18.00)]))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 0, "deduplicated": 1, "withdrawn": 1}
    assert [status for status, _, _ in await reviews(env)] == ["approved", "rejected"]
    assert (f"Decided before at these prices, left as it is: #{first['id']} review_quote_pricing (approved by mike). "
            "Withdrawn: #2 review_quote_pricing.") in (await notes(env))[-1]


async def test_an_order_moved_to_another_customer_is_reviewed_for_it(priced):
    env = priced
    order = sales_order("9007", "1187", [("502", 4, 18.00)])  # Driscoll: 20.00 on contract, -10%
    await apply(env, order)
    await drain(env, FLOW)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", entity=ref("2001")))  # Harbor: list 25.00, -28%
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    old, new = await proposals(env)
    assert (old["customer_id"], old["status"], new["customer_id"], new["status"]) == (
        "1187", "rejected", "2001", "staged")
    assert [(f["expected"], f["deviation_pct"]) for f in new["payload"]["lines"]] == [(25.0, -28.0)]
    assert "Reviewed again: customer of SO-9007 for Harbor Bistro changed" in (await notes(env))[-1]


async def test_an_old_change_of_a_reviewed_order_is_history(priced):
    env = priced
    order = sales_order("9008", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, FLOW)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", [("502", 4, 12.00)]))
    # a drain ticking history_days (the tests' 36,500) after the change: the order has a run, so the event reaches
    # the workflow, which starts nothing new on it
    assert await drain(env, FLOW, tick=datetime(2126, 12, 1, tzinfo=UTC)) == {"not_applicable": 1}
    assert [status for status, _, _ in await reviews(env)] == ["staged"]


async def test_a_cancelled_order_changed_later_is_not_reviewed(priced):
    env = priced
    order = sales_order("9009", "1187", [("501", 10, 46.00)])
    await apply(env, order)
    await drain(env, FLOW)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", status=ref("C", "Cancelled")))
    await apply(env, updated(order, "2026-11-03T10:30:00Z", [("501", 10, 30.00)], status=ref("C", "Cancelled")))
    assert await drain(env, FLOW) == {"not_applicable": 2}
    assert await proposals(env) == []


async def test_an_order_reviewed_before_fingerprints_were_kept_is_reviewed_again_on_a_new_finding(priced):
    env = priced
    order = sales_order("9010", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, FLOW)
    await env.db.write(lambda conn: conn.execute(
        "UPDATE workflow_run_log SET output_json = json_remove(output_json, '$.fingerprint', '$.review_key')"))
    await apply(env, updated(order, "2026-11-03T09:30:00Z", memo="rush"))  # the same findings: its draft stands
    assert await drain(env, FLOW) == {"not_applicable": 1}
    await apply(env, updated(order, "2026-11-03T10:30:00Z", [("502", 4, 17.00)], memo="rush"))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    assert [(status, lines) for status, _, lines in await reviews(env)] == [
        ("rejected", [("502", 18.0)]), ("staged", [("502", 17.0)])]
    assert "Reviewed again: what the review judges of SO-9010" in (await notes(env))[-1]
