"""new_assembly_item names the order's currency: the rate a request quotes is in it, not in the US dollars of the
prices on file, so the payload carries it and the observation says the rate in it."""

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
from worker.flows import assembly_item
from worker.workflow_runner import drain

ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
         "601,KIT-RS-BRK,Right Start Breakfast Kit,CS,1,48 kits\n")


@pytest.fixture
async def kits(env, tmp_path):
    await load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS)
    await apply(env, customer("1203", "Riverside Unified School District"))
    return env


async def requested(env, order) -> tuple[dict, str]:
    await apply(env, order)
    assert (await drain(env, [assembly_item.WORKFLOW]))["proposed"] == 1
    [proposal] = await proposals(env, "price_new_assembly_item")
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    return proposal["payload"], note["observation"]


async def test_a_request_from_an_order_in_euros_says_its_rate_in_euros(kits):
    payload, observation = await requested(kits, sales_order("7101", "1203", [("601", 2, 70.0)],
                                                             currency=ref("4", "Euro")))
    assert observation == ("SO-7101 for Riverside Unified School District: 1 of 1 assembly item(s) have no price on "
                           "file: KIT-RS-BRK (quoted EUR 70.00).")
    assert (payload["quoted_rate"], payload["currency"]) == (70.0, "Euro")


async def test_a_request_from_an_order_in_dollars_keeps_a_rate_to_its_fourth_decimal(kits):
    payload, observation = await requested(kits, sales_order("7102", "1203", [("601", 2, 0.0345)],
                                                             currency=ref("1", "USA")))
    assert observation.endswith("KIT-RS-BRK (quoted $0.0345).")
    assert (payload["quoted_rate"], payload["currency"]) == (0.0345, "USA")


async def test_a_line_without_a_rate_says_so(kits):
    order = sales_order("7103", "1203", [("601", 2, 1.0)])
    del order["record"]["item"]["items"][0]["rate"]
    payload, observation = await requested(kits, order)
    assert observation.endswith("KIT-RS-BRK (no rate quoted).")
    assert (payload["quoted_rate"], payload["currency"]) == (None, None)
