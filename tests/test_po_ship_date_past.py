"""A requested ship date already gone when the order arrives is a warning for the reviewer, never a refusal."""

from datetime import date
from decimal import Decimal

from worker.po.model import POLine, PurchaseOrder, validate_order


def order(ship: date | None) -> PurchaseOrder:
    line = POLine(line_no=1, quantity=Decimal(2), unit_price=Decimal("10.00"), amount=Decimal("20.00"))
    return PurchaseOrder(po_number="P-77", po_date=date(2026, 2, 3), requested_ship_date=ship, lines=[line],
                         subtotal=Decimal("20.00"), total=Decimal("20.00"))


def test_a_ship_date_past_on_arrival_is_a_warning_naming_both_dates():
    found = validate_order(order(date(2026, 2, 9)), today=date(2026, 11, 24))
    assert [(f.code, f.severity) for f in found] == [("ship_date_past", "warning")]
    assert found[0].message == ("requested ship date 2026-02-09 had passed when the order was received (2026-11-24): "
                                "ask the customer for a new date")


def test_a_ship_date_on_the_day_of_arrival_or_later_or_none_is_no_finding():
    for ship in (date(2026, 11, 24), date(2026, 12, 1), None):
        assert validate_order(order(ship), today=date(2026, 11, 24)) == []


def test_without_the_day_it_arrived_a_ship_date_is_not_judged_against_the_clock():
    # The vision reader passes no day: its fixtures' ship dates would turn into findings as the calendar moves on.
    assert validate_order(order(date(2026, 2, 9))) == []
