"""new_assembly_item: a staged request for an item that has a price for its customer on file meanwhile (one that
applies on its order's date) asks for a price already on file.

An import-reference run withdraws the requests its prices answer at once (tests/test_assembly_priced_on_import.py);
these prices are on file without one having done so (loaded before imports withdrew, or by hand). Approving such a
request is refused beside the card, saying which price is on file (worker/decisions.py); the customer's next order
event, whichever order, withdraws it (releasing its key) with that reason. A price that does not apply on the order's
date, or another customer's, leaves it wanted.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.flows_support import apply, proposals, sales_order
from tests.review_seed import NOW, add_action, seed_reference, sign_in
from tests.test_assembly_line_closed import RIVERSIDE, last_note, updated
from tests.test_assembly_request_orphan import requests, setup
from worker.decisions import DecisionError, decide_action
from worker.flows import assembly_item
from worker.workflow_runner import drain

W = [assembly_item.WORKFLOW]
AT = "2026-11-24T16:00:00.000Z"
PRICE = ("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom, effective_from, effective_to) "
         "VALUES (?, ?, ?, ?, ?, ?)")


async def reprice(env, _tmp_path, prices: str) -> None:
    """pricing_master rows (CSV lines) on file that no import-reference run withdrew the requests they answer for."""
    def insert(conn) -> None:
        for line in prices.splitlines():
            item, customer, price, uom, start, end = line.split(",")
            conn.execute(PRICE, (item, customer, float(price), uom, start, end))

    await env.db.write(insert)


async def staged_for(env, tmp_path) -> tuple[dict[str, Any], dict[str, Any]]:
    """SO-7030 of Riverside (dated 2026-11-02) asking to price the kit: the order and its staged request."""
    order = sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)])
    await setup(env, tmp_path, order)
    [request] = await proposals(env)
    assert (request["payload"]["item_id"], request["status"]) == ("601", "staged")
    return order, request


async def approve(env, request: dict[str, Any]):
    return await env.db.write(decide_action, request["id"], "mike", True, AT, seen=request["updated_at"])


@pytest.mark.parametrize("prices, price", [("601,3001,72.00,CS,2026-11-01,\n", "customer price 72.00 per CS"),
                                           ("601,,60.00,CS,,\n", "list price 60.00 per CS")])
async def test_approving_a_request_for_an_item_priced_since_is_refused(env, tmp_path, prices, price) -> None:
    _order, request = await staged_for(env, tmp_path)
    await reprice(env, tmp_path, prices)
    with pytest.raises(DecisionError) as refused:
        await approve(env, request)
    assert str(refused.value) == (
        f"KIT-RS-BRK has a price for {RIVERSIDE} now ({price}): approving this request to price a new assembly item "
        "would ask for a price already on file. Reject it, or leave it: the workflow withdraws it at the customer's "
        "next order event")
    assert [r[3] for r in await requests(env)] == ["staged"]
    decision = await env.db.write(decide_action, request["id"], "mike", False, AT, seen=request["updated_at"],
                                  reason="priced already")
    assert decision.changed and decision.status == "rejected"


async def test_the_next_order_event_withdraws_it_and_a_new_order_asks_nothing(env, tmp_path) -> None:
    order, request = await staged_for(env, tmp_path)
    await reprice(env, tmp_path, "601,3001,72.00,CS,2026-11-01,\n")
    await apply(env, updated(order, "2026-11-24T10:00:00Z", rate=41.0))  # the order still uses the kit
    assert await drain(env, W) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    why = f"withdrawn: KIT-RS-BRK has a price for {RIVERSIDE} now (customer price 72.00 per CS)"
    assert await requests(env) == [("601", "3001", "7030", "rejected", why)]
    [withdrawn] = await proposals(env)
    assert withdrawn["dedupe_key"] == f"price_new_assembly_item:601:3001:withdrawn:{request['id']}"
    assert await last_note(env) == (
        f"KIT-RS-BRK has a price for {RIVERSIDE} now (customer price 72.00 per CS). "
        f"Withdrawn: #{request['id']} price_new_assembly_item.")
    await apply(env, sales_order("7031", "3001", [("601", 3, 55.0)]))
    await drain(env, W)
    assert [r[3] for r in await requests(env)] == ["rejected"]  # priced: nothing asked


async def test_another_order_of_the_customer_withdraws_it_too(env, tmp_path) -> None:
    await staged_for(env, tmp_path)
    await reprice(env, tmp_path, "601,,60.00,CS,,\n")
    await apply(env, sales_order("7032", "3001", [("501", 2, 40.0)]))  # no kit on it, nor any assembly
    assert await drain(env, W) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert await requests(env) == [
        ("601", "3001", "7030", "rejected",
         f"withdrawn: KIT-RS-BRK has a price for {RIVERSIDE} now (list price 60.00 per CS)")]
    await apply(env, sales_order("7033", "3001", [("501", 2, 40.0)]))
    assert await drain(env, W) == {"not_applicable": 1}  # nothing left to say: no run


async def test_a_kept_request_priced_since_is_withdrawn_not_said_to_stay(env, tmp_path) -> None:
    first = sales_order("7030", "3001", [("601", 10, 55.0)])
    second = sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)])
    await setup(env, tmp_path, first, second)
    await reprice(env, tmp_path, "601,3001,72.00,CS,,\n")
    await apply(env, updated(first, "2026-11-24T10:00:00Z", close=("601",)))  # SO-7031 would keep it
    assert (await drain(env, W)).get("withdrawn") == 1
    assert [(r[3], r[4]) for r in await requests(env)] == [
        ("rejected", f"withdrawn: KIT-RS-BRK has a price for {RIVERSIDE} now (customer price 72.00 per CS)")]
    assert "stays" not in await last_note(env)


async def test_a_price_not_applying_on_the_orders_date_or_another_customers_leaves_it_wanted(env, tmp_path) -> None:
    order, request = await staged_for(env, tmp_path)
    await reprice(env, tmp_path, "601,3001,72.00,CS,2026-12-01,\n601,3002,70.00,CS,,\n")
    await apply(env, updated(order, "2026-11-24T10:00:00Z", rate=41.0))
    await drain(env, W)
    assert [r[3] for r in await requests(env)] == ["staged"]
    decision = await approve(env, request)
    assert decision.changed and decision.status == "approved"


def test_the_actions_card_shows_the_refusal(server) -> None:
    # A request as the workflow stages it, for the canola oil jug the seed prices (list 42.25 per EA) since.
    request = {"item_id": "5003", "item_code": "OIL-CAN-35", "customer_id": "1187", "customer_name": "Driscoll Foods",
               "sales_order_id": "9701", "tran_id": "SO-9701", "tran_date": "2026-11-19", "line": 1,
               "quoted_rate": 40.0}

    def seed(conn):
        seed_reference(conn)
        conn.execute("INSERT INTO transactions (ns_id, type, tran_id, customer_id, tran_date, status, last_modified) "
                     "VALUES ('9701', 'salesorder', 'SO-9701', '1187', '2026-11-19', 'B', ?)", (NOW,))
        conn.execute("INSERT INTO transaction_lines (transaction_id, line_no, item_id, quantity, rate) "
                     "VALUES ('9701', 1, '5003', 4, 40.0)")  # the order uses it: priced on its date, needless
        return add_action(conn, "price_new_assembly_item", request)

    action = server.run(server.env.db.write(seed))
    client = sign_in(server.url)
    page = client.get("/review/actions").text
    seen = re.search(rf'id="action-{action}".*?name="version" value="([^"]*)"', page, re.DOTALL).group(1)
    refused = client.post(f"/review/actions/{action}", data={"csrf": client.csrf, "version": seen, "op": "approve"})
    assert refused.status_code == 422, refused.text
    text = " ".join(refused.text.split())
    assert ("OIL-CAN-35 has a price for Driscoll Foods now (list price 42.25 per EA): approving this request to "
            "price a new assembly item would ask for a price already on file.") in text
    assert f'id="action-{action}"' in refused.text  # beside its card, still offered
    [status] = server.run(server.env.db.fetchall("SELECT status FROM proposed_actions WHERE id = ?", (action,)))
    assert status[0] == "staged"
