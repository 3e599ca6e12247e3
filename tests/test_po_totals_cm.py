"""PO totals and item-table readers (audit CM): a range of delivery days beside a freight label is no amount ("Dec 1-3"
was a freight of -3, "Dec 1 - 3, 2026" one of 2,026), and beside a freight label a minus sign glued after a digit is a
range, not a credit; "Total Fr 107.70" (francs without their dot) ranks as a plain "Total"; a measure printed with a
charge's name in the item table ("Shipping weight 12.5") is no charge; terms, zones, routes, freight classes and
calendar weeks beside a freight label ("Net 30", "Zone 2", "Route 66", "Freight class 70", "KW 49") are no amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.po.test_tax_lines import PO22, _draw, _parse
from tests.test_po_freight_ordinals import _table_order
from tests.test_po_totals_estimates import _order, _totals

# --- a range of delivery days ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("row", [
    ("Est. delivery:", "Dec 1-3"), ("Delivery:", "Dec 1-3"), ("Delivery: Dec 1-3", ""),
    ("Estimated delivery:", "Dec 1 - 3, 2026"), ("Est. delivery", "1-3 Dec"), ("Delivery:", "1 - 3 December 2026"),
    ("Delivery:", "Dec 1–3"), ("Delivery:", "12/1-12/3"),
    ("Delivery:", "12/1-3"), ("Shipping:", "December 1st-3rd"), ("Delivery:", "Dec 1 to 3"),
])
def test_a_range_of_delivery_days_is_no_freight(row) -> None:
    # Before, "Dec 1-3" left "-3" after the date (a freight of -3), "Dec 1 - 3, 2026" left the year (2,026.00).
    found = _totals([row, ("Total", "100.00")])
    assert (found.get("freight"), found["total"], found["charges"]) == (None, Decimal("100.00"), [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Freight", "-8.00"), "-8.00"), (("Shipping", "8.00-"), "-8.00"), (("Shipping", "(8.00)"), "-8.00"),
    (("Delivery: Dec 1-3", "25.00"), "25.00"), (("Est. delivery Dec 1 - 3, 2026", "$12.00"), "12.00"),
    (("Freight", "Dec 12.50"), "12.50"),
])
def test_a_freight_beside_a_range_or_printed_negative_is_still_read(row, freight) -> None:
    assert _totals([row, ("Total", "100.00")]).get("freight") == Decimal(freight)


@pytest.mark.parametrize("row", [("Shipping:", "2-3rd day"), ("Delivery:", "1-3rd"), ("Delivery", "1-2nd week")])
def test_a_minus_glued_after_a_digit_beside_a_freight_label_is_no_credit(row) -> None:
    # Once the ordinal is read as no amount, "2-" was a freight credit of -2; a range's dash is no minus sign.
    assert _totals([row, ("Total", "100.00")]).get("freight") is None


@pytest.mark.parametrize("row", [("Delivery:", "2-3"), ("Shipping", "1-5")])
def test_a_range_of_numbers_beside_a_freight_label_is_never_a_credit(row) -> None:
    assert _totals([row, ("Total", "100.00")]).get("freight", Decimal(0)) >= 0


@pytest.mark.parametrize("row", [("Est. delivery:", "Dec 1-3"), ("Estimated delivery:", "Dec 1 - 3, 2026"),
                                 ("Est. delivery", "1-3 Dec"), ("Delivery:", "Dec 1-3")])
def test_an_order_printing_its_delivery_days_adds_up(row) -> None:
    # Before, PO22 with "Est. delivery: Dec 1-3" had a freight of -3 and a total_mismatch.
    po = _order([("Subtotal", "617.00"), row, ("Freight", "25.00"), ("Total", "642.00")])
    assert (len(po.lines), po.freight, po.total, po.findings) == (2, Decimal("25.00"), Decimal("642.00"), [])
    po = _order([("Subtotal", "617.00"), row, ("Total", "617.00")])
    assert (po.freight, po.total, po.findings) == (None, Decimal("617.00"), [])


# --- a total in francs without their dot ----------------------------------------------------------------------------

@pytest.mark.parametrize("row", [("Total Fr 107.70", ""), ("Total", "Fr 107.70"), ("Total SFr 107.70", ""),
                                 ("Total sfr", "107.70")])
def test_a_total_in_francs_ranks_as_a_plain_total(row) -> None:
    # Before, "Total Fr 107.70" was a qualified total: a later "Total Savings 12.00" replaced it.
    assert _totals([("Tax", "7.70"), row, ("Total Savings", "12.00")])["total"] == Decimal("107.70")
    assert _totals([("Tax", "7.70"), row, ("Grand Total", "109.70")])["total"] == Decimal("109.70")


@pytest.mark.parametrize("total", [("Total Fr 664.51", ""), ("Total", "Fr 664.51"), ("Total SFr 664.51", "")])
def test_an_order_totalled_in_francs_adds_up(total) -> None:
    po = _order([("Subtotal", "617.00"), ("MwSt 7.7%", "47.51"), total, ("Total Savings", "12.00")])
    assert (len(po.lines), po.tax, po.total, po.findings) == (2, Decimal("47.51"), Decimal("664.51"), [])


def test_a_french_vat_number_after_total_still_qualifies_it() -> None:
    assert _totals([("Total", "107.70"), ("Total FR12345678901", "")])["total"] == Decimal("107.70")


# --- a measure beside a charge's name in the item table -------------------------------------------------------------

@pytest.mark.parametrize(("label", "amount"), [("Shipping weight", "12.5"), ("Est. Shipping weight", "12.5"),
                                               ("Est. delivery pallets", "3"), ("Freight cartons", "4")])
def test_a_measure_in_the_item_table_is_no_freight(label, amount) -> None:
    # Before, "Shipping weight 12.5" was a freight of 12.50 and the order a total_mismatch. It is no charge now: a row
    # without a quantity, flagged for review as any such row (as before 7aee2e9 for "Est. Shipping weight").
    po = _table_order(label, amount, "617.00")
    assert (po.freight, po.other_charges, po.total) == (None, [], Decimal("617.00"))
    row = [ln for ln in po.lines if ln.description == label]
    assert (len(row), row[0].quantity, row[0].amount) == (1, None, Decimal(amount))
    assert [f.code for f in po.findings] == ["missing_quantity", "subtotal_mismatch"]


@pytest.mark.parametrize("label", ["Shipping", "Freight charge", "Est. Freight", "Pallet charge",
                                   "Handling fee per pallet", "Delivery fee (2 pallets)"])
def test_a_charge_row_naming_a_measure_with_its_fee_is_still_a_charge(label) -> None:
    po = _table_order(label)
    assert (len(po.lines), po.total, po.findings) == (2, Decimal("625.00"), [])
    assert (po.freight or sum(c.amount for c in po.other_charges)) == Decimal("8.00")


def test_delivery_bags_with_a_quantity_stay_an_item() -> None:
    p = Page()
    rows = PO22[3] + [["", "DEL-BAG", "Delivery bags insulated", "2", "EA", "10.00", "20.00"]]
    _draw(p, PO22[:3] + (rows, [("Subtotal", "637.00"), ("Total", "637.00")]), totals_y=175)
    po = _parse(p.done())
    assert ([(ln.description, ln.quantity, ln.amount) for ln in po.lines][-1], po.freight, po.findings) == (
        ("Delivery bags insulated", Decimal(2), Decimal("20.00")), None, [])


# --- terms, zones, routes, classes and weeks beside a freight label -------------------------------------------------

@pytest.mark.parametrize("row", [
    ("Freight class", "70"), ("Freight class 70", ""), ("Freight class:", "77.5"), ("Shipping:", "Net 30"),
    ("Shipping:", "Zone 2"), ("Delivery:", "Route 66"), ("Delivery:", "KW 49"), ("Delivery: Wk 49", ""),
])
def test_terms_zones_routes_classes_and_weeks_are_no_freight(row) -> None:
    # Before, each was read as the freight (70, 30, 2, 66, 49).
    found = _totals([row, ("Total", "100.00")])
    assert (found.get("freight"), found["total"], found["charges"]) == (None, Decimal("100.00"), [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Freight", "25"), "25"), (("Shipping", "$12"), "12"), (("Freight class 70", "125.00"), "125.00"),
    (("Shipping: Zone 2", "$12.00"), "12.00"), (("Delivery: Route 66", "25"), "25"),
    (("Shipping net", "12.00"), "12.00"),
    (("Freight", "30.00"), "30.00"),
])
def test_a_freight_beside_them_is_still_read(row, freight) -> None:
    assert _totals([row, ("Total", "200.00")]).get("freight") == Decimal(freight)


def test_an_order_naming_its_freight_class_and_terms_adds_up() -> None:
    po = _order([("Subtotal", "617.00"), ("Freight class", "70"), ("Shipping:", "Net 30"), ("Freight", "25.00"),
                 ("Total", "642.00")])
    assert (len(po.lines), po.freight, po.total, po.findings) == (2, Decimal("25.00"), Decimal("642.00"), [])
