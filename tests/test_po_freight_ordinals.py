"""PO freight and tax gaps left by 7f0a79d: a carrier's service beside a freight label ("Shipping: UPS 2nd Day",
"Freight: 3rd party") is no amount, while "Freight 25" and "Shipping $12" still are; a freight row of the item table
printed as an estimate ("Est. Freight charge") is the freight, as in the totals area; a tax printed with its rate and
its amount on the next line ("MwSt 7.7%" / "Fr.47.51") is read, a rate alone still is no tax line; an estimated
delivery date in the header is the requested ship date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.po.test_tax_lines import PO22, _draw, _parse
from tests.test_po_totals_estimates import _order, _totals, _under

# --- a carrier's service is no freight amount ---------------------------------------------------------------------

@pytest.mark.parametrize("row", [
    ("Shipping:", "UPS 2nd Day"), ("Shipping", "UPS 2nd Day Air"), ("Ship Via:", "FedEx 2Day"), ("Shipping:", "FedEx 2Day"),
    ("Shipping:", "FedEx2Day"), ("Delivery:", "Next Day Air"), ("Freight:", "3rd party"), ("Freight", "3rd Party Billing"),
    ("Shipping method:", "UPS 1st class"), ("Shipping:", "USPS 1st Class"), ("Delivery", "2nd day"),
    ("Shipping: UPS 2nd Day", ""), ("Est. shipping:", "UPS 2nd Day"),
])
def test_a_carriers_service_is_no_freight(row) -> None:
    # Before, "Shipping: UPS 2nd Day" was a freight of 2.00 and "Freight: 3rd party" one of 3.00.
    found = _totals([row, ("Total", "100.00")])
    assert (found.get("freight"), found["total"], found["charges"]) == (None, Decimal("100.00"), [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Freight", "25"), "25"), (("Shipping", "$12"), "12"), (("Shipping", "USD 12"), "12"), (("Shipping", "12 USD"), "12"),
    (("Freight", "25USD"), "25"), (("Freight", "Fr.12"), "12"), (("Freight", "25.00"), "25.00"),
    (("Shipping", "1,200"), "1200"), (("Shipping: UPS 2nd Day", "12.00"), "12.00"),
    (("Shipping", "FedEx 2Day 12.00"), "12.00"), (("Shipping", "UPS 2nd Day Air $12"), "12"),
    (("Freight (3rd party)", "25.00"), "25.00"),
])
def test_an_amount_beside_a_carriers_service_is_still_the_freight(row, freight) -> None:
    assert _totals([row, ("Total", "125.00")]).get("freight") == Decimal(freight)


def test_an_order_naming_its_carrier_service_in_the_totals_adds_up() -> None:
    # Before, the first freight label's "2nd" was the freight (2.00): the real freight below it was dropped and the
    # total did not add up.
    po = _order([("Subtotal", "617.00"), ("Shipping: UPS 2nd Day", ""), ("Freight", "25"), ("Total", "642.00")])
    assert (len(po.lines), po.freight, po.total, po.findings) == (2, Decimal(25), Decimal("642.00"), [])
    po = _order([("Subtotal", "617.00"), ("Freight:", "3rd party"), ("Shipping", "$12.00"), ("Total", "629.00")])
    assert (po.freight, po.total, po.findings) == (Decimal("12.00"), Decimal("629.00"), [])


# --- an estimated freight row inside the item table --------------------------------------------------------------

def _table_order(label: str, amount: str = "8.00", total: str = "625.00"):
    """PO22's two lines (617.00), then a charge row in the item table, then its subtotal and total."""
    p = Page()
    rows = PO22[3] + [["", "", label, "", "", "", amount]]
    _draw(p, PO22[:3] + (rows, [("Subtotal", "617.00"), ("Total", total)]), totals_y=175)
    return _parse(p.done())


@pytest.mark.parametrize("label", ["Estimated shipping charge", "Est. Freight charge", "Est. delivery fee",
                                   "Approx. freight charge", "Shipping charge"])
def test_an_estimated_freight_row_in_the_item_table_is_the_freight(label) -> None:
    # Before, "Est. Freight charge" was an "other" charge: the sales order lost its freight.
    po = _table_order(label)
    assert (len(po.lines), po.freight, po.other_charges, po.total, po.findings) == (
        2, Decimal("8.00"), [], Decimal("625.00"), [])


def test_an_estimated_freight_discount_in_the_item_table_stays_a_discount() -> None:
    po = _table_order("Est. shipping discount", "8.00", "609.00")
    assert (po.freight, [(c.description, c.amount) for c in po.other_charges], po.findings) == (
        None, [("Est. shipping discount", Decimal("-8.00"))], [])


# --- a tax rate in its label, the amount on the next line ---------------------------------------------------------

@pytest.mark.parametrize(("label", "value"), [
    ("MwSt 7.7%", "Fr.47.51"), ("Sales Tax 8.25%", "$50.90"), ("Sales Tax (8.25%)", "50.90"), ("VAT @ 19%", "€19.00"),
    ("State Tax 5.75%:", "CHF 35.48"), ("GST 5%", "5.00"),
])
def test_a_tax_rate_in_the_label_leaves_its_amount_on_the_next_line(label, value) -> None:
    # Before, the rate's digits stopped the label from taking the amount under it: no tax was read.
    found = _under([("Subtotal", "100.00"), (label, value), ("Total", "200.00")])
    assert (found.get("tax"), found["total"]) == (Decimal(value.lstrip("$€CHFr. ")), Decimal("200.00"))


@pytest.mark.parametrize("rows", [
    [("VAT 19%", "")], [("Tax rate 8.25%", "$50.90")], [("Sales Tax Rate 8.25%", "50.90")],
    [("VAT 19%", "Fr.8.00 CHF 9.00")], [("MwSt 7.7%", "CHF 8")],
])
def test_a_rate_printed_alone_is_still_no_tax_line(rows) -> None:
    assert "tax" not in _under([("Subtotal", "100.00"), *rows])


def test_a_rate_above_a_labelled_amount_is_still_no_tax_line() -> None:
    found = _totals([("VAT 19%", ""), ("Sales tax", "8.00"), ("Total", "108.00")])
    assert (found["tax"], "tax_lines_sum" in found) == (Decimal("8.00"), False)


def test_a_tax_read_under_its_rate_and_printed_again_counts_once() -> None:
    found = _under([("Subtotal", "617.00"), ("Sales Tax 8.25%", "$50.90"), ("Sales Tax", "$50.90"),
                    ("Total", "$667.90")])
    assert (found["tax"], "tax_lines_sum" in found) == (Decimal("50.90"), False)


@pytest.mark.parametrize("under", [
    [("Subtotal", "$617.00"), ("Sales Tax 8.25%", "$50.90"), ("Total", "$667.90")],
    [("Subtotal", "CHF 617.00"), ("MwSt 7.7%", "Fr.47.51"), ("Freight", "CHF 10.00"), ("Total", "CHF 674.51")],
])
def test_an_order_with_its_tax_under_its_rate_adds_up(under) -> None:
    # Before, the tax was missing: subtotal + freight against the printed total was a total_mismatch.
    po = _order([], under)
    total = Decimal(under[-1][1].lstrip("$CHF "))
    assert (len(po.lines), po.tax, po.total, po.findings) == (
        2, Decimal(under[1][1].lstrip("$Fr.")), total, [])


# --- an estimated delivery date in the header ---------------------------------------------------------------------

@pytest.mark.parametrize(("label", "value"), [
    ("Estimated delivery:", "Dec 1, 2026"), ("Estimated delivery: Dec 1, 2026", ""),
    ("Est. delivery date:", "12/01/2026"), ("Estimated Delivery Date:", "12/01/2026"),
    ("Estimated ship date:", "12/01/2026"), ("Est. Ship Date", "12/01/2026"),
    ("Delivery date:", "Dec 1, 2026"), ("Requested delivery:", "Dec 1, 2026"),
])
def test_an_estimated_delivery_date_is_the_requested_ship_date(label, value) -> None:
    # Before, "Estimated delivery: Dec 1, 2026" was no date, while "Delivery: Dec 1, 2026" was the requested one.
    p = Page()
    _draw(p, PO22)
    p.t(350, 76, label)
    if value:
        p.t(460, 76, value)
    po = _parse(p.done())
    assert (po.requested_ship_date, po.po_date, po.total) == (date(2026, 12, 1), date(2026, 11, 24), Decimal("661.74"))
