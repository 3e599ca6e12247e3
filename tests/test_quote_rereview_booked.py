"""customer_quote_review of an order booked from the review page after NetSuite changed it: the approval's price
checks were for its customer, date and currency, so an order moved off any of them is reviewed in full."""

import json
from datetime import date
from decimal import Decimal

import pytest

from tests.flows_support import (
    apply,
    customer,
    load_reference,
    proposals,
    ref,
    rows,
    sales_order,
)
from tests.test_flows_price_review_lifecycle import (
    ITEMS,
    PRICES,
    PROGRAMS,
    notes,
    updated,
)
from worker.flows import quote_review
from worker.netsuite_shape import ReviewedLine, ReviewedOrder, salesorder_payload
from worker.workflow_runner import drain

FLOW = [quote_review.WORKFLOW]


@pytest.fixture
async def priced(env, tmp_path):
    """Driscoll (1187: 502 at 20.00 through 2026, else the list's 25.00 + 15%) and Harbor Bistro (2001: list)."""
    await load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, spec_items__csv=ITEMS,
                         pricing_master__csv=PRICES)
    await apply(env, customer("1187", "Driscoll Foods"), customer("2001", "Harbor Bistro"))
    return env


async def _booked(env, currency=None, **prices):
    """A create_sales_order action for Driscoll (1187) dated 2026-11-02, executed by mike from review item 42."""
    order = ReviewedOrder(customer_id="1187", tran_date=date(2026, 11, 2), lines=[
        ReviewedLine(line_no=n, item_id=item, quantity=Decimal(4), uom="CS", unit_price=Decimal(price))
        for n, (item, price) in enumerate(prices.items(), start=1)])
    payload = salesorder_payload(order, external_id="gfs-review-42", currency=currency)
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO proposed_actions (kind, status, customer_id, payload_json, risk, source, created_at, updated_at,"
        " decided_by, decided_at) VALUES ('create_sales_order', 'executed', '1187', ?, 3, 'review', ?, ?, 'mike', ?)",
        (json.dumps(payload), *["2026-11-02T14:00:00.000Z"] * 3)))


async def _last_run(env):
    [run] = await rows(env, "SELECT output_json FROM workflow_run_log ORDER BY id DESC LIMIT 1")
    return json.loads(run["output_json"])


async def test_a_booked_order_moved_to_another_customer_is_reviewed_in_full(priced):
    # Was: the line approved at Driscoll's contract price (20.00) stayed "approved at review" for Harbor Bistro, whose
    # price is the list's 25.00 (-20%): nobody checked the new customer's prices.
    env = priced
    await _booked(env, **{"502": "20.00"})
    order = sales_order("9601", "1187", [("502", 4, 20.0)], externalId="gfs-review-42")
    await apply(env, order)
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 0, "deduplicated": 0}  # within Driscoll's program
    await apply(env, updated(order, "2026-11-03T09:30:00Z", entity=ref("2001")))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await proposals(env, "review_quote_pricing")
    assert review["customer_id"] == "2001"
    assert [(f["item_id"], f["quoted"], f["expected"]) for f in review["payload"]["lines"]] == [("502", 20.0, 25.0)]
    assert "approved_at_review" not in review["payload"]
    assert review["payload"]["booked_at_review"]["changed"] == ["customer"]
    assert ("Booked at review by mike for Driscoll Foods; the order's customer changed since, so reviewed in full."
            in (await notes(env))[-1])


async def test_a_booked_order_redated_past_its_contract_is_reviewed_in_full(priced):
    env = priced
    await _booked(env, **{"502": "20.00"})
    order = sales_order("9603", "1187", [("502", 4, 20.0)], externalId="gfs-review-42")
    await apply(env, order)
    await drain(env, FLOW)
    # past the end of Driscoll's contract price (2026-12-31): the list's 25.00 + 15% = 28.75
    await apply(env, updated(order, "2026-11-03T09:30:00Z", tranDate="2027-02-01"))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await proposals(env, "review_quote_pricing")
    assert [(f["item_id"], f["expected"]) for f in review["payload"]["lines"]] == [("502", 28.75)]
    assert (await _last_run(env))["booked_at_review"]["changed"] == ["date"]


async def test_a_booked_order_whose_currency_changed_is_reviewed_in_full(priced):
    # Booked in the customer's currency (none sent): the order came in euros, its rates compared with nothing; moved
    # to US dollars, its 18.00 is 10% under Driscoll's 20.00, which the reviewer never saw.
    env = priced
    await _booked(env, **{"502": "18.00"})
    order = sales_order("9604", "1187", [("502", 4, 18.0)], externalId="gfs-review-42", currency=ref("4", "Euro"))
    await apply(env, order)
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert [f["basis"] for f in (await _last_run(env))["approved_at_review"]["lines"]] == ["no_comparable_price"]
    await apply(env, updated(order, "2026-11-03T09:30:00Z", currency=ref("1", "USA")))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await proposals(env, "review_quote_pricing")
    assert [(f["quoted"], f["expected"]) for f in review["payload"]["lines"]] == [(18.0, 20.0)]
    assert review["payload"]["booked_at_review"]["changed"] == ["currency"]


async def test_a_booked_order_still_as_approved_keeps_its_approval_when_reviewed_again(priced):
    # The control: a line added in NetSuite brings a review again, but the customer, date and currency are still
    # the approval's (its currency named otherwise: "EUR" sent, the mirror's "Euro"), so 502 is not proposed again.
    env = priced
    await _booked(env, currency="EUR", **{"502": "18.00"})
    order = sales_order("9605", "1187", [("502", 4, 18.0)], externalId="gfs-review-42", currency=ref("4", "Euro"))
    await apply(env, order)
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    changed = json.loads(json.dumps(order["record"]["item"]))
    changed["items"].append({"line": 2, "item": ref("501"), "quantity": 1, "units": "CS", "rate": 52.0, "amount": 52.0})
    await apply(env, updated(order, "2026-11-03T09:30:00Z", item=changed))
    assert await drain(env, FLOW) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    [review] = await proposals(env, "review_quote_pricing")
    assert [f["item_id"] for f in review["payload"]["lines"]] == ["501"]
    assert [f["item_id"] for f in review["payload"]["approved_at_review"]["lines"]] == ["502"]
    assert "booked_at_review" not in review["payload"]
