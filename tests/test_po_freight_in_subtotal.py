"""A freight row printed in the item table, above a subtotal that includes it, is counted once (as charges printed
above the subtotal are); an estimated freight row of the item table ("Estimated shipping", "Est. Freight", "Approx.
delivery") is the freight, not an item line without a quantity."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.claude_support import replying
from tests.po.layouts import Page
from tests.po.test_tax_lines import PO22, _draw, _parse
from worker.po.model import Charge, POLine, PurchaseOrder, validate_order
from worker.po.vision import parse_with_claude, tool_input_schema


def _table_order(label: str, subtotal: str = "625.00", total: str = "625.00", amount: str = "8.00"):
    """PO22's two lines (617.00), then a charge row in the item table, then its subtotal and total."""
    p = Page()
    rows = PO22[3] + [["", "", label, "", "", "", amount]]
    _draw(p, PO22[:3] + (rows, [("Subtotal", subtotal), ("Total", total)]), totals_y=175)
    return _parse(p.done())


def _codes(po: PurchaseOrder) -> list[str]:
    return [f.code for f in po.findings]


# --- the parsed order --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("label", ["Shipping charge", "Shipping", "Freight", "Delivery fee", "Freight charge",
                                   "Estimated shipping charge"])
@pytest.mark.parametrize("subtotal", ["625.00", "617.00"])  # the freight row inside the subtotal, or added after it
def test_a_freight_row_of_the_item_table_is_counted_once(label, subtotal) -> None:
    # Before, a subtotal of 625.00 was a subtotal_mismatch (lines 617.00) and a total_mismatch (633.00): the freight
    # counted twice, where a "Handling fee" in the same place was counted once.
    po = _table_order(label, subtotal)
    assert (len(po.lines), po.freight, po.other_charges, po.subtotal, po.total, po.findings) == (
        2, Decimal("8.00"), [], Decimal(subtotal), Decimal("625.00"), [])


def test_a_freight_row_inside_the_subtotal_and_added_again_to_the_total_is_still_flagged() -> None:
    po = _table_order("Shipping", "625.00", "633.00")
    assert _codes(po) == ["total_mismatch"]
    assert po.findings[0].message == "subtotal + freight + charges + tax = 625.00, total printed 633.00"


def test_a_subtotal_matching_neither_still_names_the_lines_sum() -> None:
    po = _table_order("Shipping", "630.00", "638.00")
    assert _codes(po) == ["subtotal_mismatch"]
    assert po.findings[0].message == "lines sum to 617.00, subtotal printed 630.00"


def test_a_freight_row_and_a_charge_row_inside_the_subtotal_count_once() -> None:
    p = Page()
    rows = PO22[3] + [["", "", "Shipping", "", "", "", "8.00"], ["", "", "Fuel surcharge", "", "", "", "5.00"]]
    _draw(p, PO22[:3] + (rows, [("Subtotal", "630.00"), ("Total", "630.00")]), totals_y=190)
    po = _parse(p.done())
    assert (po.freight, [(c.description, c.amount) for c in po.other_charges], po.findings) == (
        Decimal("8.00"), [("Fuel surcharge", Decimal("5.00"))], [])


@pytest.mark.parametrize("label", ["Estimated shipping", "Est. Freight", "Approx. delivery", "Est shipping",
                                   "Projected freight", "Approximate delivery"])
@pytest.mark.parametrize("subtotal", ["625.00", "617.00"])
def test_an_estimated_freight_row_without_charge_or_fee_is_the_freight(label, subtotal) -> None:
    # Before, "Estimated shipping 8.00" was a third item line with missing_quantity, and no freight was read.
    po = _table_order(label, subtotal)
    assert (len(po.lines), po.freight, po.other_charges, po.findings) == (2, Decimal("8.00"), [], [])


def test_an_estimated_surcharge_row_is_a_charge() -> None:
    po = _table_order("Est. fuel surcharge", "625.00")
    assert (len(po.lines), po.freight, [(c.description, c.amount) for c in po.other_charges], po.findings) == (
        2, None, [("Est. fuel surcharge", Decimal("8.00"))], [])


# --- validate_order on its own -------------------------------------------------------------------------------------

def _order(subtotal: str | None, total: str, *, above: bool = True, amount: str | None = "100") -> PurchaseOrder:
    line = POLine(line_no=1, quantity=Decimal(1), unit_price=Decimal(100) if amount else None,
                  amount=Decimal(amount) if amount else None)
    return PurchaseOrder(po_number="1", lines=[line], freight=Decimal(10), freight_above_subtotal=above,
                         subtotal=Decimal(subtotal) if subtotal else None, total=Decimal(total))


@pytest.mark.parametrize(("subtotal", "total", "above", "codes"), [
    ("110.00", "110.00", True, []),  # inside the subtotal
    ("100.00", "110.00", True, []),  # printed above it, added after it
    ("110.00", "120.00", True, ["total_mismatch"]),  # counted twice
    ("105.00", "115.00", True, ["subtotal_mismatch"]),
    ("110.00", "110.00", False, ["subtotal_mismatch", "total_mismatch"]),  # freight from the totals area: after it
    (None, "110.00", True, []),
])
def test_the_printed_subtotal_says_whether_the_freight_above_it_is_inside(subtotal, total, above, codes) -> None:
    assert [f.code for f in validate_order(_order(subtotal, total, above=above))] == codes


def test_with_a_line_without_amount_the_total_says_whether_the_freight_is_inside() -> None:
    po = _order("110.00", "110.00", amount=None)
    po.lines.append(POLine(line_no=2, quantity=Decimal(1), unit_price=Decimal(100), amount=Decimal(100)))
    assert [f.code for f in validate_order(po) if f.severity == "error"] == []
    po.total = Decimal("120.00")
    assert [f.code for f in validate_order(po) if f.severity == "error"] == []  # added after it: the total says so


def test_freight_and_a_charge_above_the_subtotal_are_inside_together() -> None:
    po = _order("115.00", "115.00")
    po.other_charges = [Charge(description="Fuel surcharge", amount=Decimal(5), above_subtotal=True)]
    assert validate_order(po) == []
    po.subtotal, po.total = Decimal(100), Decimal(115)
    assert validate_order(po) == []


# --- the note stays the parser's: out of the JSON, the vision tool's schema, and the vision path -----------------

SCHEMA_PROPERTIES = ["po_number", "po_date", "requested_ship_date", "buyer", "bill_to", "ship_to", "currency", "lines",
                     "subtotal", "freight", "tax", "total", "other_charges"]


def test_the_freight_note_stays_out_of_the_json_and_the_tool_schema() -> None:
    assert "freight_above_subtotal" not in _order("110.00", "110.00").model_dump_json()
    schema = tool_input_schema()
    assert list(schema["properties"]) == SCHEMA_PROPERTIES
    assert "freight_above_subtotal" not in json.dumps(schema) and "above_subtotal" not in json.dumps(schema)


VISION_INPUT = {
    "po_number": "HT-2291", "po_date": "2026-11-24", "requested_ship_date": None, "buyer": "Hilltop Tavern",
    "bill_to": [], "ship_to": [], "currency": "USD",
    "lines": [{"line_no": 1, "customer_item_code": "NAP-DINR-3000", "vendor_item_code": None,
               "description": "Dinner Napkins", "quantity": 10, "uom": "CS", "unit_price": 42.0, "amount": 420.0},
              {"line_no": 2, "customer_item_code": "FOIL-18-500", "vendor_item_code": None,
               "description": "Foil Roll 18in x 500ft", "quantity": 5, "uom": "EA", "unit_price": 39.4,
               "amount": 197.0}],
    "subtotal": 617.0, "freight": 8.0, "tax": None, "total": 625.0, "other_charges": []}


def _message(inp: dict) -> dict:
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": "record_purchase_order", "input": inp}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 10}}


@pytest.mark.asyncio
async def test_a_scanned_orders_freight_after_the_subtotal_still_adds_up() -> None:
    seen: list = []
    po = await parse_with_claude(replying(200, _message(VISION_INPUT), seen), b"%PDF-1.7\n", model="m", timeout=30)
    assert (po.freight, po.freight_above_subtotal, po.total, po.findings) == (Decimal(8), False, Decimal(625), [])
    sent = json.loads(seen[0].content)["tools"][0]["input_schema"]
    assert list(sent["properties"]) == SCHEMA_PROPERTIES and "above_subtotal" not in json.dumps(sent)
