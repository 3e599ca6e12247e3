"""PO validation rounds quantity x unit price as the order form and NetSuite do: half-up, to the cent."""

from datetime import date
from decimal import Decimal as D

from worker.netsuite_shape import ReviewedLine
from worker.po.model import POLine, PurchaseOrder, validate_order
from worker.pricing import cents


def test_three_half_cent_lines_printed_half_up_are_no_subtotal_mismatch():
    # Amounts not read: each line is 1 x 2.345, which the customer (and NetSuite) round to 2.35; half-even said 2.34.
    lines = [POLine(line_no=i, quantity=D(1), unit_price=D("2.345")) for i in (1, 2, 3)]
    po = PurchaseOrder(po_number="P1", lines=lines, subtotal=D("7.05"), total=D("7.05"))
    assert [f.code for f in validate_order(po, today=date(2026, 1, 1))] == []


def test_a_printed_line_amount_rounded_half_up_is_no_line_mismatch_and_matches_the_order_form():
    line = POLine(line_no=1, quantity=D(3), unit_price=D("0.835"), amount=D("2.51"))  # 2.505 -> 2.51
    po = PurchaseOrder(po_number="P2", lines=[line], subtotal=D("2.51"), total=D("2.51"))
    assert validate_order(po, today=date(2026, 1, 1)) == []
    reviewed = ReviewedLine(line_no=1, item_id="x", quantity=line.quantity, unit_price=line.unit_price)
    assert reviewed.amount == cents(D("2.505")) == D("2.51")


def test_cents_rounds_half_up_both_ways():
    assert [cents(D(v)) for v in ("2.345", "2.335", "-2.345", "2.344", "7")] == [
        D("2.35"), D("2.34"), D("-2.35"), D("2.34"), D("7.00")]
