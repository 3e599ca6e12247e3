"""Every generated layout parses to exactly the PurchaseOrder its data describes."""
import json
from datetime import timedelta

import pytest

from tests.po.layouts import LAYOUTS, build
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf

FIELDS = ["po_number", "po_date", "requested_ship_date", "buyer", "bill_to", "ship_to", "currency", "subtotal",
          "freight", "tax", "total", "other_charges", "lines"]


def _parse(pdf: bytes, expected):
    today = (expected.po_date or expected.requested_ship_date) + timedelta(days=1)
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=today))


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_parses_exactly(name, seed):
    pdf, expected = build(name, seed=seed)
    got = json.loads(_parse(pdf, expected).model_dump_json())
    want = json.loads(expected.model_dump_json())
    for field in FIELDS:
        assert got[field] == want[field], f"{name}: {field}"


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_clean_layout_has_no_error_findings_and_confident_fields(name):
    pdf, expected = build(name, seed=4)
    po = _parse(pdf, expected)
    assert [f for f in po.findings if f.severity == "error"] == []
    assert po.confidence["lines"] >= 0.85
    assert all(0 < v <= 1 for v in po.confidence.values())


def test_charges_are_never_items():
    pdf, expected = build("qty_uom_cell", seed=9)
    po = _parse(pdf, expected)
    assert [c.description for c in po.other_charges] == ["Fuel Surcharge", "Discount"]
    assert po.other_charges[1].amount < 0
    assert not any("surcharge" in (ln.description or "").lower() for ln in po.lines)


def test_two_page_order_skips_footers_and_repeated_header():
    pdf, expected = build("two_page", seed=3)
    po = _parse(pdf, expected)
    assert len(po.lines) == 34 and [ln.line_no for ln in po.lines] == list(range(1, 35))
    assert not any("continued" in (ln.description or "").lower() for ln in po.lines)


def test_misread_amount_is_flagged_and_lowers_confidence():
    pdf, expected = build("classic_grid", seed=5)
    expected.lines[0].amount += 100  # what the parser would see if the PDF had a wrong extension
    po = _parse(pdf, expected)
    po.lines[0].amount += 100
    from worker.po.model import validate_order
    codes = {f.code for f in validate_order(po)}
    assert {"line_amount_mismatch", "subtotal_mismatch"} <= codes


def test_hints_column_alias_and_vendor_name():
    pdf, expected = build("classic_grid", seed=6)
    po = parse_purchase_order(extract_pdf(pdf, 50), ParseHints(column_aliases={"Item #": "vendor_code"}))
    assert po.lines[0].vendor_item_code == expected.lines[0].customer_item_code
    assert po.lines[0].customer_item_code is None
    po = parse_purchase_order(extract_pdf(pdf, 50), ParseHints(vendor_names=(expected.buyer,)))
    assert po.buyer != expected.buyer
