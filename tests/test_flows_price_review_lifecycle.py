"""customer_quote_review and new_assembly_item over an order's life: its lines' SuiteQL spelling, a reassignment,
a cancellation, and an order booked from the review page."""

import json
from datetime import date
from decimal import Decimal

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
from worker.flows import assembly_item, quote_review
from worker.netsuite_shape import ReviewedLine, ReviewedOrder, salesorder_payload
from worker.workflow_runner import drain

PROGRAMS = ("customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
            "1187,driscoll,15,prepaid,30,yes\n")
ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
         "501,CHZ-AM-160,Melt Mates American Slices,CS,0,4/160ct\n"
         "502,CHZ-CH-120,Melt Mates Cheddar Slices,CS,0,4/120ct\n"
         "601,KIT-RS-BRK,Right Start Breakfast Kit,CS,1,48 kits\n")
PRICES = PRICING_HEADER + "501,,40.00,CS,,\n502,,25.00,CS,,\n502,1187,20.00,CS,2026-01-01,2026-12-31\n"
FLOWS = [quote_review.WORKFLOW, assembly_item.WORKFLOW]


@pytest.fixture
async def priced(env, tmp_path):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, spec_items__csv=ITEMS,
                         pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods"), customer("2001", "Harbor Bistro"))
    return env


def updated(order, when, **record):
    changed = json.loads(json.dumps(order))
    changed["record"].update(record)
    return {**changed, "event_id": f"{order['event_id']}-{when}", "operation": "update", "last_modified": when}


def deleted(order, when="2026-11-03T10:00:00Z"):
    return {**order, "event_id": f"{order['event_id']}-del", "operation": "delete", "record": None,
            "last_modified": when}


async def notes(env):
    return [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")]


async def test_a_line_typed_in_suiteql_spelling_is_an_assembly_or_a_charge_as_in_rest_spelling(priced):
    env = priced
    order = sales_order("9501", "1187", [("501", 1, 46.0), ("813", 1, 10.0), ("814", 1, 12.0), ("900", 1, 25.0),
                                         ("901", 1, 4.0)])
    lines = order["record"]["item"]["items"]
    lines[1]["itemtype"] = "Assembly"  # SuiteQL: lower-case keys
    lines[2]["itemtype"] = {"id": "7", "refname": "Assembly"}
    lines[3]["itemtype"] = "OthCharge"  # freight the review page booked
    lines[4]["itemType"] = {"refname": "Markup"}
    await apply(env, order)
    assert await drain(env, FLOWS) == {"ok": 2, "proposed": 2, "deduplicated": 0}
    assert [(p["kind"], p["payload"]["item_id"]) for p in await proposals(env)] == [
        ("price_new_assembly_item", "813"), ("price_new_assembly_item", "814")]
    [review] = await rows(env, "SELECT output_json FROM workflow_run_log WHERE workflow = 'customer_quote_review'")
    output = json.loads(review["output_json"])
    assert (output["lines"], output["unpriced_assembly_items"], output["lines_checked"]) == ([], ["813", "814"], 1)


async def test_a_request_of_an_order_moved_to_another_customer_is_withdrawn_when_it_is_deleted(priced):
    env = priced
    order = sales_order("9502", "1187", [("601", 2, 55.0)])
    await apply(env, order)
    await drain(env, [assembly_item.WORKFLOW])
    # asked for Driscoll, now Harbor's: the move withdraws Driscoll's request and asks for Harbor
    await apply(env, updated(order, "2026-11-02T16:00:00Z", entity=ref("2001")))
    await drain(env, [assembly_item.WORKFLOW])
    await apply(env, deleted(order))
    assert await drain(env, [assembly_item.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert [(p["customer_id"], p["status"], p["decision_reason"]) for p in await proposals(env)] == [
        ("1187", "rejected", "withdrawn: sales order SO-9502 was moved to Harbor Bistro in NetSuite at 2026-11-02 16:00 UTC"),
        ("2001", "rejected", "withdrawn: sales order SO-9502 was deleted in NetSuite at 2026-11-03 10:00 UTC")]


async def test_a_cancelled_order_is_not_reviewed_nor_asks_nor_keeps_a_request(priced):
    env = priced
    live = sales_order("9503", "1187", [("601", 1, 55.0)])
    cancelled = sales_order("9504", "1187", [("601", 1, 55.0), ("502", 4, 18.0)], status=ref("C", "Cancelled"))
    await apply(env, live, cancelled)
    await drain(env, FLOWS)
    assert [(p["kind"], p["payload"]["sales_order_id"]) for p in await proposals(env)] == [
        ("price_new_assembly_item", "9503")]
    assert "SO-9504 for Driscoll Foods was cancelled in NetSuite before it could be reviewed." in await notes(env)
    await apply(env, deleted(live))  # SO-9504 uses the kit too, but is no order: the request goes
    assert (await drain(env, FLOWS))["withdrawn"] == 1
    assert [p["status"] for p in await proposals(env)] == ["rejected"]


@pytest.mark.parametrize("letter", ["C", "SalesOrd:C"])
async def test_an_order_stored_cancelled_by_its_letter_keeps_no_request(priced, letter):
    env = priced
    live = sales_order("9505", "1187", [("601", 1, 55.0)])
    other = sales_order("9506", "1187", [("601", 1, 55.0)])
    await apply(env, live, other)
    await drain(env, FLOWS)
    # a row mirrored before the status letters were named
    await env.db.write(lambda conn: conn.execute("UPDATE transactions SET status = ? WHERE ns_id = '9506'", (letter,)))
    await apply(env, deleted(live))
    assert (await drain(env, FLOWS))["withdrawn"] == 1
    assert [p["status"] for p in await proposals(env)] == ["rejected"]


async def test_the_update_that_cancels_an_order_withdraws_its_staged_review_and_requests_once(priced):
    env = priced
    order = sales_order("9507", "1187", [("601", 1, 55.0), ("502", 4, 18.0)])
    await apply(env, order)
    assert await drain(env, FLOWS) == {"ok": 2, "proposed": 2, "deduplicated": 0}
    await apply(env, updated(order, "2026-11-03T09:30:00Z", status=ref("C", "Cancelled")))
    assert await drain(env, FLOWS) == {"ok": 2, "proposed": 0, "deduplicated": 0, "withdrawn": 2}
    reason = "withdrawn: sales order SO-9507 was cancelled in NetSuite at 2026-11-03 09:30 UTC"
    assert [(p["kind"], p["status"], p["decision_reason"]) for p in await proposals(env)] == [
        ("review_quote_pricing", "rejected", reason), ("price_new_assembly_item", "rejected", reason)]
    said = [n for n in await notes(env) if "was cancelled" in n]
    assert len(said) == 2 and all(n.startswith("Sales order SO-9507 for Driscoll Foods was cancelled in NetSuite "
                                               "at 2026-11-03 09:30 UTC. Withdrawn: #") for n in said)
    # a later update of the cancelled order is no news
    await apply(env, updated(order, "2026-11-03T11:00:00Z", status=ref("C", "Cancelled"), memo="closed out"))
    assert await drain(env, FLOWS) == {"not_applicable": 2}


async def test_a_cancellation_leaves_an_approved_review_as_it_is_and_says_so_once(priced):
    from worker.decisions import decide_action

    env = priced
    order = sales_order("9508", "1187", [("502", 4, 18.0)])
    await apply(env, order)
    await drain(env, [quote_review.WORKFLOW])
    [review] = await proposals(env)
    await env.db.write(decide_action, review["id"], "mike", True, "2026-11-03T09:00:00.000Z",
                       seen=review["updated_at"])
    for when in ("2026-11-03T09:30:00Z", "2026-11-03T11:00:00Z"):
        await apply(env, updated(order, when, status=ref("C", "Cancelled"), memo=when))
        await drain(env, [quote_review.WORKFLOW])
    assert [p["status"] for p in await proposals(env)] == ["approved"]
    assert [n for n in await notes(env) if "was cancelled" in n] == [
        ("Sales order SO-9508 for Driscoll Foods was cancelled in NetSuite at 2026-11-03 09:30 UTC. Already decided, "
         f"left as it is: #{review['id']} review_quote_pricing (approved by mike).")]


async def _booked(env, status="approved", **prices):
    """A create_sales_order action as approving review item 42 queues it (its NetSuite payload)."""
    order = ReviewedOrder(customer_id="1187", tran_date=date(2026, 11, 2), lines=[
        ReviewedLine(line_no=n, item_id=item, quantity=Decimal(4), uom="CS", unit_price=Decimal(price))
        for n, (item, price) in enumerate(prices.items(), start=1)])
    payload = salesorder_payload(order, external_id="gfs-review-42")
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO proposed_actions (kind, status, customer_id, payload_json, risk, source, created_at, updated_at,"
        " decided_by, decided_at) VALUES ('create_sales_order', ?, '1187', ?, 3, 'review', ?, ?, 'mike', ?)",
        (status, json.dumps(payload), *["2026-11-02T14:00:00.000Z"] * 3)))


async def test_an_order_booked_from_the_review_page_proposes_only_what_changed_since_the_approval(priced):
    env = priced
    await _booked(env, **{"502": "18", "501": "50.00"})  # both outside the program: the reviewer saw it and approved
    # NetSuite booked 502 as approved, but 501 at another rate; 777 was added in NetSuite
    await apply(env, sales_order("9509", "1187", [("502", 4, 18.0), ("501", 4, 52.0), ("777", 1, 9.99)],
                                 externalId="gfs-review-42"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await proposals(env, "review_quote_pricing")
    payload = review["payload"]
    assert [(f["item_id"], f["quoted"]) for f in payload["lines"]] == [("501", 52.0), ("777", 9.99)]
    assert (payload["approved_at_review"]["approved_by"],
            [(f["item_id"], f["quoted"]) for f in payload["approved_at_review"]["lines"]]) == ("mike", [("502", 18.0)])
    [note] = await notes(env)
    assert ("1 approved at review by mike, not proposed again: 502 quoted 18.00 vs 20.00 (-10.00%, customer_price)"
            in note)


async def test_an_order_booked_as_approved_has_nothing_else_to_review(priced):
    env = priced
    await _booked(env, status="executed", **{"502": "18"})
    await apply(env, sales_order("9510", "1187", [("502", 4, 18.0)], externalId="gfs-review-42"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    [note] = await notes(env)
    assert note.endswith("1 approved at review by mike, not proposed again: 502 quoted 18.00 vs 20.00 (-10.00%, "
                         "customer_price); nothing else to review.")


async def test_a_booked_line_covers_one_line_in_its_own_unit_only(priced):
    # Was: matched on item and rate alone, so a line added in NetSuite in eaches at the approved case rate
    # (20.00 EA against 5.00 on file: +300%) was never proposed, and the note said the reviewer had approved it.
    env = priced
    await _booked(env, status="executed", **{"502": "18"})  # 4 CS at 18.00: seen and approved on the form
    order = sales_order("9512", "1187", [("502", 4, 18.0), ("502", 10, 20.0), ("502", 2, 18.0)],
                        externalId="gfs-review-42")
    order["record"]["item"]["items"][1]["units"] = "Each"  # added in NetSuite, per each at about the case rate
    await apply(env, order)  # line 3 repeats the approved line: one approved line accounts for one line
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await proposals(env, "review_quote_pricing")
    assert [(f["line"], f["units"], f["quoted"]) for f in review["payload"]["lines"]] == [(2, "Each", 20.0),
                                                                                          (3, "CS", 18.0)]
    assert [f["line"] for f in review["payload"]["approved_at_review"]["lines"]] == [1]


async def test_an_order_naming_no_approved_action_is_reviewed_in_full(priced):
    env = priced
    await _booked(env, status="rejected", **{"502": "18"})
    await apply(env, sales_order("9511", "1187", [("502", 4, 18.0)], externalId="gfs-review-42"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await proposals(env, "review_quote_pricing")
    assert [f["item_id"] for f in review["payload"]["lines"]] == ["502"]
    assert "approved_at_review" not in review["payload"]


async def test_a_cancellation_is_still_said_once_after_the_run_log_is_pruned(priced):
    # order_lines.NEWLY_CANCELLED reads the run whose output says `cancelled`: the cold tier keeps the newest such run
    # of each workflow while the order is in the mirror (tests/test_prune_keeps_order_state.py: pruned, a later
    # update named a decided draft again), and prunes the others as old.
    from datetime import UTC, datetime

    from cron.housekeeping import prune_workflow_runs

    env = priced
    order = sales_order("9509", "1187", [("601", 1, 55.0), ("502", 4, 18.0)])
    await apply(env, order)
    await drain(env, FLOWS)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", status=ref("C", "Cancelled")))
    assert (await drain(env, FLOWS))["withdrawn"] == 2
    before = len(await notes(env))
    assert (await prune_workflow_runs(env, datetime(2028, 1, 5, 3, 0, tzinfo=UTC)))["workflow_runs_pruned"] == 2
    await apply(env, updated(order, "2027-12-20T11:00:00Z", status=ref("C", "Cancelled"), memo="archived"))
    assert await drain(env, FLOWS) == {"not_applicable": 2}
    assert (await notes(env))[before:] == []
