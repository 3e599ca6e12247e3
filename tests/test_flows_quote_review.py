"""customer_quote_review through the real runner: mirror rows from the CDC apply code, reference from the importer."""

import json

import pytest

from tests.flows_support import PRICING_HEADER, apply, customer, load_reference, proposals, rows, sales_order
from worker.flows import quote_review
from worker.flows.registry import WORKFLOWS
from worker.aging import terms_days
from worker.ledger import append_event
from worker.workflow_runner import drain

PROGRAMS = ("customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
            "1187,driscoll,15,prepaid,30,yes\n")
PRICES = PRICING_HEADER + "501,,40.00,CS,,\n502,,25.00,CS,,\n502,1187,20.00,CS,2026-01-01,2026-12-31\n"


@pytest.fixture
async def priced(env, tmp_path):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods"), customer("2001", "Harbor Bistro", terms="Net 15"))
    return env


@pytest.mark.parametrize("text, days", [("Net 30", 30), ("1% 10 Net 30", 30), ("NET45", 45),
                                        ("Due on receipt", 0), ("COD", 0), ("End of month", None), (None, None)])
def test_terms_days(text, days):
    assert terms_days(text) == days


async def test_deviating_lines_and_terms_become_one_review_proposal(priced):
    env = priced
    await apply(env, sales_order("9001", "1187", [("501", 10, 46.50), ("502", 4, 18.00), ("777", 1, 9.99)],
                                 terms="Net 45", custbody_freight_terms=" Collect"))
    counts = await drain(env, [quote_review.WORKFLOW])
    assert counts == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(env)
    assert (proposal["kind"], proposal["risk"], proposal["status"], proposal["customer_id"]) == (
        "review_quote_pricing", 2, "staged", "1187")
    payload = proposal["payload"]
    # 501: list 40.00 + 15% = 46.00; 46.50 is +1.09%, inside the 2% tolerance. 502: the customer price wins.
    # 777 is no item on file at all: nothing to compare its rate with, so a person prices it.
    assert payload["lines"] == [{"line": 2, "item_id": "502", "item_name": "502", "quantity": 4.0, "units": "CS",
                                 "quoted": 18.0, "expected": 20.0, "deviation_pct": -10.0, "basis": "customer_price",
                                 "reason": None},
                                {"line": 3, "item_id": "777", "item_name": "777", "quantity": 1.0, "units": "CS",
                                 "quoted": 9.99, "expected": None, "deviation_pct": None, "basis": "no_price_on_file",
                                 "reason": "item not in spec_items; no pricing_master row applies on 2026-11-02"}]
    assert payload["terms"] == [
        {"field": "payment_terms", "quoted": "Net 45", "quoted_days": 45, "source": "sales order", "expected_days": 30},
        {"field": "freight_terms", "quoted": "Collect", "expected": "prepaid"}]
    assert payload["unpriced_assembly_items"] == [] and payload["lines_checked"] == 2
    [run] = await rows(env, "SELECT * FROM workflow_run_log")
    assert (run["workflow"], run["customer_id"], run["status"]) == ("customer_quote_review", "1187", "ok")
    [note] = await rows(env, "SELECT * FROM reflexion_log")
    assert (note["entity_type"], note["entity_id"], note["status"], json.loads(note["tags_json"])) == (
        "customer", "1187", "needs_review", ["customer_quote_review"])
    assert note["workflow_run_id"] == run["id"]
    assert "SO-9001 for Driscoll Foods" in note["observation"]
    assert "502 quoted 18.00 vs 20.00 (-10.00%, customer_price)" in note["observation"]
    assert "payment terms Net 45 (sales order) vs program 30 days" in note["observation"]


async def test_an_order_within_program_is_an_ok_run_without_proposal(priced):
    env = priced
    # Harbor Bistro has no program row: the standard program (0% markup, 30 days) applies, and its
    # customer default terms (Net 15) stand in for the order's missing terms.
    await apply(env, sales_order("9002", "2001", [("501", 2, 40.00)], terms=None))
    await apply(env, sales_order("9003", "1187", [("501", 2, 46.00), ("502", 1, 20.30)]))
    counts = await drain(env, [quote_review.WORKFLOW])
    assert counts["ok"] == 2
    payloads = {p["payload"]["sales_order_id"]: p["payload"] for p in await proposals(env)}
    assert list(payloads) == ["9002"]
    assert payloads["9002"]["lines"] == [] and payloads["9002"]["program"] == "standard"
    assert payloads["9002"]["terms"][0] == {"field": "payment_terms", "quoted": "Net 15", "quoted_days": 15,
                                            "source": "customer default", "expected_days": 30}
    [clean] = await rows(env, "SELECT observation FROM reflexion_log WHERE entity_id = '1187'")
    assert clean["observation"].endswith("all within program.")
    assert len(await rows(env, "SELECT * FROM workflow_run_log WHERE status = 'ok'")) == 2


async def test_redrain_and_a_repeated_event_propose_nothing_new(priced):
    env = priced
    await apply(env, sales_order("9004", "1187", [("501", 1, 30.00)]))
    await drain(env, WORKFLOWS)
    assert await drain(env, WORKFLOWS) == {}  # the cursor moved past the event
    # the same order announced again (e.g. a replayed export): a new run, the same proposal is not staged twice
    await env.db.write(lambda conn: append_event(conn, "salesorder.created", "salesorder", "9004",
                                                 {"record_id": "9004", "customer_id": "1187"}))
    counts = await drain(env, [quote_review.WORKFLOW])
    assert counts == {"ok": 1, "proposed": 0, "deduplicated": 1}
    assert len(await proposals(env, "review_quote_pricing")) == 1
    assert len(await rows(env, "SELECT * FROM reflexion_log WHERE entity_id = '1187'")) == 2


async def test_a_deleted_order_is_logged_not_reviewed(priced):
    env = priced
    created = sales_order("9005", "1187", [("501", 1, 1.00)])
    deleted = {**created, "event_id": "test-del-9005", "operation": "delete", "record": None,
               "last_modified": "2026-11-02T16:00:00Z"}
    await apply(env, created)
    await apply(env, deleted)
    await drain(env, [quote_review.WORKFLOW])
    assert await proposals(env) == []
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert "was deleted in NetSuite" in note["observation"]


def without_lines(order: dict) -> dict:
    """The order as NetSuite REST sends it when the item sublist was not expanded."""
    record = {k: v for k, v in order["record"].items() if k != "item"}
    return {**order, "record": {**record, "item": {"links": [{"rel": "self", "href": "…/item"}]}}}


def updated(order: dict, when: str) -> dict:
    """The same record as a later `update` event."""
    return {**order, "event_id": f"{order['event_id']}-{when}", "operation": "update", "last_modified": when}


async def test_an_order_sent_without_lines_is_reviewed_on_the_update_that_brings_them(priced):
    env = priced
    order = sales_order("9201", "1187", [("501", 10, 20.00)])  # list 40.00 + 15% = 46.00: -56.52%
    await apply(env, without_lines(order))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    [run] = await rows(env, "SELECT output_json FROM workflow_run_log")
    assert json.loads(run["output_json"])["lines_pending"] is True
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert note["observation"] == ("SO-9201 for Driscoll Foods: NetSuite sent the order without its lines (item "
                                   "sublist not expanded); the price review waits for the update that brings them.")
    # an update that still leaves the lines out changes nothing; the first one that brings them is the review
    await apply(env, updated(without_lines(order), "2026-11-02T15:05:00Z"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"not_applicable": 1}
    await apply(env, updated(order, "2026-11-02T15:10:00Z"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(env)
    assert [(f["quoted"], f["expected"], f["deviation_pct"]) for f in proposal["payload"]["lines"]] == [
        (20.0, 46.0, -56.52)]
    # a later update that changes nothing the review judges is not reviewed again (one that does: test_quote_rereview)
    await apply(env, updated(sales_order("9201", "1187", [("501", 10, 20.00)], memo="rush"), "2026-11-02T15:20:00Z"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"not_applicable": 1}
    assert len(await proposals(env)) == 1 and len(await rows(env, "SELECT * FROM workflow_run_log")) == 2
    assert not [n for n in await rows(env, "SELECT observation FROM reflexion_log")
                if "all within program" in n["observation"]]


async def test_lines_an_older_event_brings_after_a_newer_header_are_reviewed(priced):
    # NetSuite's later edit (lines left out) is delivered first; the earlier event that carried the lines comes
    # last. It is stale for the header but its lines are the newest known, so the ledger says so and the wait ends.
    env = priced
    order = sales_order("9205", "1187", [("501", 10, 20.00)])
    await apply(env, updated(without_lines(order), "2026-11-02T15:10:00Z"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert await apply(env, order) == {"applied": 0, "duplicate": 0, "stale": 1, "rejected": 0}
    [news] = await rows(env, "SELECT type, entity_id, payload_json FROM events WHERE type LIKE '%sublists%'")
    assert (news["type"], news["entity_id"]) == ("salesorder.sublists_updated", "9205")
    assert json.loads(news["payload_json"]) == {
        "record_id": "9205", "event_id": order["event_id"], "operation": "create",
        "last_modified": "2026-11-02T15:00:00.000Z", "customer_id": "1187", "sublists": ["transaction_lines"],
        "line_count": 1}
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(env)
    assert [(f["quoted"], f["expected"]) for f in proposal["payload"]["lines"]] == [(20.0, 46.0)]


async def test_lines_that_arrive_before_the_drain_are_reviewed_once_on_the_created_event(priced):
    env = priced
    order = sales_order("9202", "1187", [("501", 10, 20.00)])
    await apply(env, without_lines(order), updated(order, "2026-11-02T15:05:00Z"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0,
                                                          "not_applicable": 1}
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert "1 outside tolerance: 501 quoted 20.00 vs 46.00" in note["observation"]


async def test_an_update_of_a_reviewed_order_that_changes_no_price_is_not_reviewed_again(priced):
    env = priced
    await apply(env, sales_order("9203", "1187", [("501", 1, 46.00)]))
    await drain(env, [quote_review.WORKFLOW])
    await apply(env, updated(sales_order("9203", "1187", [("501", 5, 46.00)], memo="rush"), "2026-11-02T15:05:00Z"))
    assert await drain(env, [quote_review.WORKFLOW]) == {"not_applicable": 1}
    assert await proposals(env) == [] and len(await rows(env, "SELECT * FROM workflow_run_log")) == 1


def with_units(ev, *units):
    for item, unit in zip(ev["record"]["item"]["items"], units, strict=True):
        item["units"] = unit
    return ev


async def test_lines_are_priced_in_their_own_unit_never_another_units_price(env, tmp_path):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS,
                         spec_items__csv="item_id,item_code,description,uom,is_assembly,pack_size\n"
                                         "802,X-802,Widget,CS,0,12 ea\n",
                         pricing_master__csv=PRICING_HEADER + "802,,24.00,CS,,\n803,,4.00,EA,,\n803,,48.00,CS,,\n"
                                                              "804,,50.00,,,\n804,1187,40.00,CS,2026-01-01,\n")
    await apply(env, customer("1187", "Driscoll Foods"))
    # 802 by the each: 24.00 / 12 + 15% = 2.30 (was compared with the case price, -91.67%); 803 in NetSuite's
    # "Each": the EA row, 4.60 (was the CS row); 804 in "Case": Driscoll's contract 40.00 (was list 50 + 15%)
    await apply(env, with_units(sales_order("9401", "1187", [("802", 12, 2.30), ("803", 6, 4.60), ("804", 1, 40.00),
                                                             ("803", 1, 50.00)]), "EA", "Each", "Case", "Case"))
    await drain(env, [quote_review.WORKFLOW])
    [proposal] = await proposals(env)
    assert proposal["payload"]["lines"] == [{"line": 4, "item_id": "803", "item_name": "803", "quantity": 1.0,
                                             "units": "Case", "quoted": 50.0, "expected": 55.2,
                                             "deviation_pct": -9.42, "basis": "list_plus_markup", "reason": None}]


async def test_sub_cent_prices_and_free_items_are_compared_exactly(env, tmp_path):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS,
                         pricing_master__csv=PRICING_HEADER + "830,,0.0300,CS,,\n801,,0.00,CS,,\n")
    await apply(env, customer("1187", "Driscoll Foods"))
    # 0.0300 + 15% = 0.0345: quoted exactly was flagged +15.00% (expected rounded to 0.03); 0.0300 passed
    await apply(env, sales_order("9301", "1187", [("830", 5000, 0.0345), ("801", 5, 0.0)]))
    await apply(env, sales_order("9302", "1187", [("830", 5000, 0.0300)]))
    await drain(env, [quote_review.WORKFLOW])
    [proposal] = await proposals(env)
    assert proposal["payload"]["sales_order_id"] == "9302"
    [line] = proposal["payload"]["lines"]
    assert (line["quoted"], line["expected"], line["deviation_pct"]) == (0.03, 0.0345, -13.04)


async def test_lines_without_a_comparable_price_or_priced_free_items_are_named_not_given_a_percentage(env, tmp_path):
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS,
                         pricing_master__csv=PRICING_HEADER + "830,,0.0300,CS,,\n801,,0.00,CS,,\n802,,24.00,CS,,\n")
    await apply(env, customer("1187", "Driscoll Foods"))
    await apply(env, with_units(sales_order("9501", "1187", [("830", 5000, 0.0300), ("801", 5, 2.50), ("802", 12, 2.30)]),
                                "CS", "CS", "EA"))
    await drain(env, [quote_review.WORKFLOW])
    [proposal] = await proposals(env)
    assert [(f["line"], f["expected"], f["deviation_pct"], f["basis"], f["reason"]) for f in proposal["payload"]["lines"]] == [
        (1, 0.0345, -13.04, "list_plus_markup", None), (2, 0.0, None, "list_plus_markup", "free item"),
        (3, None, None, "no_comparable_price", "no price per EA: priced per CS; spec_items gives no pack count to convert")]
    assert proposal["payload"]["lines_checked"] == 2
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert ("2 outside tolerance: 830 quoted 0.03 vs 0.0345 (-13.04%, list_plus_markup), 801 quoted 2.50 vs 0.00 "
            "(free item, list_plus_markup); 1 with no comparable price: 802 quoted 2.30: no price per EA: priced per "
            "CS; spec_items gives no pack count to convert") in note["observation"]


async def test_an_order_deleted_while_waiting_for_its_lines_ends_in_a_note(priced):
    env = priced
    order = sales_order("9601", "1187", [("501", 1, 20.00)])
    await apply(env, without_lines(order))
    await drain(env, [quote_review.WORKFLOW])
    await apply(env, updated(order, "2026-11-02T15:05:00Z"))
    await apply(env, {k: v for k, v in updated(order, "2026-11-02T15:10:00Z").items() if k != "record"}
                | {"operation": "delete", "event_id": "del-9601"})
    await drain(env, [quote_review.WORKFLOW])
    notes = [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")]
    assert len(notes) == 2 and "waits for the update" in notes[0] and "deleted in NetSuite" in notes[1], notes
    assert await proposals(env) == []


async def test_an_order_reassigned_while_waiting_for_its_lines_is_still_reviewed(priced):
    env = priced
    await apply(env, customer("2001", "Driscoll Brothers Bakery"))
    await apply(env, without_lines(sales_order("9701", "1187", [("501", 1, 20.00)])))
    await drain(env, [quote_review.WORKFLOW])  # waits, logged under 1187
    await apply(env, updated(sales_order("9701", "2001", [("501", 10, 20.00)]), "2026-11-02T15:05:00Z"))
    await drain(env, [quote_review.WORKFLOW])
    [proposal] = await proposals(env)
    assert proposal["payload"]["sales_order_id"] == "9701" and proposal["payload"]["customer_id"] == "2001"


def test_the_waiting_runs_of_an_order_are_found_through_an_index(tmp_path):
    from worker.db import connect
    from worker.flows.order_lines import WAITED
    from worker.migrations import apply_schema

    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {WAITED}", ("w", "9701")))
    assert "USING INDEX workflow_run_log_order" in plan, plan


def deleted(order: dict, when: str = "2026-11-03T10:00:00Z") -> dict:
    """The order's deletion as NetSuite sends it: no record."""
    return {**order, "event_id": f"{order['event_id']}-deleted", "operation": "delete", "record": None,
            "last_modified": when}


async def test_a_deleted_order_withdraws_its_staged_review(priced):
    env = priced
    order = sales_order("9801", "1187", [("502", 4, 18.00)])  # customer price 20.00: -10%
    await apply(env, order)
    await drain(env, [quote_review.WORKFLOW])
    await apply(env, deleted(order))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    [review] = await proposals(env)
    reason = "withdrawn: sales order SO-9801 was deleted in NetSuite at 2026-11-03 10:00 UTC"
    assert (review["status"], review["decided_by"], review["decision_reason"]) == (
        "rejected", "customer_quote_review", reason)
    [event] = await rows(env, "SELECT entity_id, payload_json FROM events WHERE type = 'action.rejected'")
    assert (event["entity_id"], json.loads(event["payload_json"])) == (
        str(review["id"]), {"reviewer": "customer_quote_review", "kind": "review_quote_pricing", "reason": reason})
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert note["observation"] == ("Sales order SO-9801 for Driscoll Foods was deleted in NetSuite at 2026-11-03 "
                                   f"10:00 UTC. Withdrawn: #{review['id']} review_quote_pricing.")


async def test_a_deleted_order_leaves_an_approved_review_as_it_is(priced):
    from worker.decisions import decide_action

    env = priced
    order = sales_order("9802", "1187", [("502", 4, 18.00)])
    await apply(env, order)
    await drain(env, [quote_review.WORKFLOW])
    [review] = await proposals(env)
    await env.db.write(decide_action, review["id"], "mike", True, "2026-11-03T09:00:00.000Z",
                       seen=review["updated_at"])
    [approved] = await proposals(env)
    await apply(env, deleted(order))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert await proposals(env) == [approved]
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert note["observation"].endswith(f"Already decided, left as it is: #{review['id']} review_quote_pricing "
                                        "(approved by mike).")


async def test_an_order_deleted_while_waiting_for_its_lines_ends_the_wait_on_its_deletion(priced):
    env = priced
    order = sales_order("9803", "1187", [("501", 1, 20.00)])
    await apply(env, without_lines(order))
    await drain(env, [quote_review.WORKFLOW])
    await apply(env, deleted(order))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert note["observation"] == "SO-9803 for Driscoll Foods was deleted in NetSuite before it could be reviewed."


async def test_an_order_in_another_currency_has_no_comparable_price(priced):
    # 46.00 EUR vs the list's 40.00 + 15% = 46.00 (US dollars): not "within program", and not a deviation either
    await apply(priced, sales_order("9201", "1187", [("501", 10, 46.00)], currency={"id": "4", "refName": "EUR"}),
                sales_order("9202", "1187", [("501", 10, 46.00)], currency={"id": "1", "refName": "USA"}))
    assert await drain(priced, [quote_review.WORKFLOW]) == {"ok": 2, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(priced)
    payload = proposal["payload"]
    assert (payload["sales_order_id"], payload["currency"], payload["lines_checked"]) == ("9201", "EUR", 0)
    assert [(f["line"], f["expected"], f["deviation_pct"], f["basis"], f["reason"]) for f in payload["lines"]] == [
        (1, None, None, "no_comparable_price", "the order is in EUR; prices on file are in US dollars")]
    notes = [r["observation"] for r in await rows(priced, "SELECT observation FROM reflexion_log ORDER BY id")]
    assert "1 with no comparable price: 501 quoted 46.00: the order is in EUR" in notes[0]
    assert notes[1].endswith("all within program.")  # the USD order ("USA", NetSuite's name) is compared as ever


async def test_an_order_is_priced_on_its_own_date_not_the_day_it_is_reviewed(env, tmp_path):
    # 520 cost Driscoll 10.00 through 2025 and 12.00 since: an order dated 2025-06-01 quoted at 12.00 is 20% over
    # what applied that day, though 12.00 is today's price; the order dated 2026 at 12.00 is within program.
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS,
                         pricing_master__csv=PRICING_HEADER + "520,1187,10.00,CS,2025-01-01,2025-12-31\n"
                                                              "520,1187,12.00,CS,2026-01-01,\n")
    await apply(env, customer("1187", "Driscoll Foods"))
    await apply(env, sales_order("9701", "1187", [("520", 3, 12.00)], tran_date="2025-06-01"),
                sales_order("9702", "1187", [("520", 3, 12.00)]))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 2, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(env)
    assert (proposal["payload"]["sales_order_id"], proposal["payload"]["tran_date"]) == ("9701", "2025-06-01")
    assert [(f["item_id"], f["quoted"], f["expected"], f["deviation_pct"], f["basis"])
            for f in proposal["payload"]["lines"]] == [("520", 12.0, 10.0, 20.0, "customer_price")]


async def test_an_order_in_a_currency_given_by_id_names_it_readably(priced):
    # SuiteQL sends the currency's internal id: "4" is not dollars, and "the order is in 4" would read as a number.
    await apply(priced, sales_order("9203", "1187", [("501", 10, 46.00)], currency="4"))
    assert await drain(priced, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(priced)
    assert [f["reason"] for f in proposal["payload"]["lines"]] == [
        "the order is in currency #4; prices on file are in US dollars"]


NO_PRICE_ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
                  "501,X-501,Thing,CS,0,4/5lb\n777,X-777,New sauce,CS,0,6/#10\n810,K-810,Party kit,CS,1,1 kit\n")


async def test_a_line_with_no_price_on_file_is_put_before_a_person_once(env, tmp_path):
    # 777 is in spec_items, not an assembly, and has no pricing_master row: $0.01 a case reached nobody and the
    # note said "all within program". 999 is no item on file at all.
    await load_reference(env, tmp_path / "ref", spec_items__csv=NO_PRICE_ITEMS,
                         pricing_master__csv=PRICING_HEADER + "501,,40.00,CS,,\n")
    await apply(env, customer("2001", "Harbor Bistro"))
    order = sales_order("9901", "2001", [("501", 2, 40.00), ("777", 10, 0.01), ("999", 1, 5.00)])
    await apply(env, order)
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [proposal] = await proposals(env)
    payload = proposal["payload"]
    assert (proposal["kind"], proposal["risk"], payload["lines_checked"]) == ("review_quote_pricing", 2, 1)
    assert [(f["line"], f["item_id"], f["quoted"], f["expected"], f["basis"], f["reason"])
            for f in payload["lines"]] == [
        (2, "777", 0.01, None, "no_price_on_file", "no pricing_master row applies on 2026-11-02"),
        (3, "999", 5.0, None, "no_price_on_file",
         "item not in spec_items; no pricing_master row applies on 2026-11-02")]
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert note["observation"] == (
        "SO-9901 for Harbor Bistro: 1 priced line(s) checked against the standard program (±2%); 2 with no price "
        "on file: 777 quoted 0.01: no pricing_master row applies on 2026-11-02, 999 quoted 5.00: item not in "
        "spec_items; no pricing_master row applies on 2026-11-02.")
    # the same order announced again: still one review
    await env.db.write(lambda conn: append_event(conn, "salesorder.created", "salesorder", "9901",
                                                 {"record_id": "9901", "customer_id": "2001"}))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 1}
    assert len(await proposals(env)) == 1


async def test_an_unpriced_assembly_line_is_left_to_new_assembly_item_and_named(env, tmp_path):
    # 810 is an assembly in spec_items; 812 is not in spec_items but NetSuite sends it as an Assembly line:
    # new_assembly_item asks for both prices, so the review proposes nothing, yet never says "all within program".
    await load_reference(env, tmp_path / "ref", spec_items__csv=NO_PRICE_ITEMS,
                         pricing_master__csv=PRICING_HEADER + "501,,40.00,CS,,\n")
    await apply(env, customer("2001", "Harbor Bistro"))
    order = sales_order("9902", "2001", [("501", 2, 40.00), ("810", 1, 0.01), ("812", 1, 0.01), ("810", 2, 0.01)])
    order["record"]["item"]["items"][2]["itemType"] = {"id": "Assembly", "refName": "Assembly"}
    await apply(env, order, sales_order("9903", "2001", [("810", 1, 0.01)]))
    assert await drain(env, WORKFLOWS) == {"ok": 4, "proposed": 2, "deduplicated": 1}
    assert [(p["kind"], p["payload"]["item_id"]) for p in await proposals(env)] == [
        ("price_new_assembly_item", "810"), ("price_new_assembly_item", "812")]
    [run] = await rows(env, "SELECT output_json FROM workflow_run_log WHERE workflow = 'customer_quote_review' "
                            "AND json_extract(output_json, '$.sales_order_id') = '9902'")
    assert json.loads(run["output_json"])["unpriced_assembly_items"] == ["810", "812"]
    notes = [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
             if "program" in r["observation"]]
    assert notes == [
        ("SO-9902 for Harbor Bistro: 1 priced line(s) checked against the standard program (±2%); no price on file "
         "for assembly item(s) 810, 812: new_assembly_item asks for a price; the checked lines are within program."),
        ("SO-9903 for Harbor Bistro: 0 priced line(s) checked against the standard program (±2%); no price on file "
         "for assembly item(s) 810: new_assembly_item asks for a price.")]
