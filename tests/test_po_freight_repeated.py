"""A freight row of the item table printed again in the totals area ("Shipping 8.00" in the table, "Freight 8.00"
under the subtotal) is one freight, the totals area's, whether the printed subtotal includes it or not; a charge row
printed again there the same way is one charge. A different amount there is a second freight, kept and checked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.po.test_tax_lines import PO22, _draw, _parse


def _order(label: str, amount: str, totals: list[tuple[str, str]]):
    """PO22's two lines (617.00), then a charge row in the item table, then the totals area given."""
    p = Page()
    rows = PO22[3] + [["", "", label, "", "", "", amount]]
    _draw(p, PO22[:3] + (rows, totals), totals_y=175)
    return _parse(p.done())


def _charges(po) -> list[tuple[str, Decimal]]:
    return [(c.description, c.amount) for c in po.other_charges]


@pytest.mark.parametrize(("row", "again"), [
    ("Shipping", "Freight"), ("Shipping charge", "Shipping"), ("Freight", "Freight"), ("Delivery fee", "Shipping"),
    ("Est. Freight", "Freight"), ("Freight charge", "Shipping:"),
])
@pytest.mark.parametrize("subtotal", ["617.00", "625.00"])  # added after the subtotal, or inside it
def test_a_freight_row_printed_again_in_the_totals_is_one_freight(row, again, subtotal) -> None:
    # Before, the table's row was an other charge of 8.00 beside the freight: 633.00, a total_mismatch.
    po = _order(row, "8.00", [("Subtotal", subtotal), (again, "8.00"), ("Total", "625.00")])
    assert (len(po.lines), po.freight, po.other_charges, po.subtotal, po.total, po.findings) == (
        2, Decimal("8.00"), [], Decimal(subtotal), Decimal("625.00"), [])


def test_a_freight_printed_twice_and_charged_twice_is_flagged() -> None:
    # Two 8.00 freights added to a 633.00 total cannot be told from one printed twice: read as one, the total says so.
    po = _order("Shipping", "8.00", [("Subtotal", "617.00"), ("Freight", "8.00"), ("Total", "633.00")])
    assert (po.freight, po.other_charges, [f.code for f in po.findings]) == (Decimal("8.00"), [], ["total_mismatch"])


@pytest.mark.parametrize(("subtotal", "total"), [("617.00", "637.00"), ("625.00", "637.00")])
def test_a_different_freight_in_the_totals_is_a_second_charge(subtotal, total) -> None:
    # A real second freight: both are charged, the table's row as an other charge, never merged into one.
    po = _order("Shipping", "8.00", [("Subtotal", subtotal), ("Freight", "12.00"), ("Total", total)])
    assert (po.freight, _charges(po), po.findings) == (Decimal("12.00"), [("Shipping", Decimal("8.00"))], [])


@pytest.mark.parametrize("total", ["629.00", "625.00"])
def test_a_different_freight_the_total_does_not_carry_is_flagged(total) -> None:
    po = _order("Shipping", "8.00", [("Subtotal", "617.00"), ("Freight", "12.00"), ("Total", total)])
    assert (po.freight, _charges(po), [f.code for f in po.findings]) == (
        Decimal("12.00"), [("Shipping", Decimal("8.00"))], ["total_mismatch"])


@pytest.mark.parametrize(("row", "again", "amount", "subtotal", "total"), [
    ("Fuel surcharge", "Fuel surcharge", "5.00", "617.00", "622.00"),
    ("Fuel surcharge", "Fuel Surcharge:", "5.00", "622.00", "622.00"),
    ("Handling fee", "Handling Fee", "5.00", "617.00", "622.00"),
    ("Shipping discount", "Shipping discount", "8.00", "617.00", "609.00"),
    ("Shipping discount", "Shipping discount", "8.00", "609.00", "609.00"),
])
def test_a_charge_row_printed_again_in_the_totals_is_one_charge(row, again, amount, subtotal, total) -> None:
    po = _order(row, amount, [("Subtotal", subtotal), (again, amount), ("Total", total)])
    sign = -1 if "discount" in row else 1
    assert (po.freight, _charges(po), po.findings) == (None, [(again.rstrip(":"), sign * Decimal(amount))], [])


def test_a_charge_of_another_name_or_amount_in_the_totals_stays_two() -> None:
    po = _order("Fuel surcharge", "5.00", [("Subtotal", "617.00"), ("Handling fee", "5.00"), ("Total", "627.00")])
    assert (_charges(po), po.findings) == ([("Fuel surcharge", Decimal("5.00")), ("Handling fee", Decimal("5.00"))], [])
    po = _order("Fuel surcharge", "5.00", [("Subtotal", "617.00"), ("Fuel surcharge", "6.00"), ("Total", "628.00")])
    assert (_charges(po), po.findings) == ([("Fuel surcharge", Decimal("5.00")), ("Fuel surcharge", Decimal("6.00"))], [])


def test_a_freight_and_a_charge_both_printed_again_count_once() -> None:
    p = Page()
    rows = PO22[3] + [["", "", "Shipping", "", "", "", "8.00"], ["", "", "Fuel surcharge", "", "", "", "5.00"]]
    totals = [("Subtotal", "630.00"), ("Freight", "8.00"), ("Fuel surcharge", "5.00"), ("Total", "630.00")]
    _draw(p, PO22[:3] + (rows, totals), totals_y=190)
    po = _parse(p.done())
    assert (po.freight, _charges(po), po.total, po.findings) == (
        Decimal("8.00"), [("Fuel surcharge", Decimal("5.00"))], Decimal("630.00"), [])
