"""Totals-area labels read wrong before: a lead time or a truckload's count beside a freight label ("Delivery: 2-3",
"Delivery: Tuesday 12", "Freight LTL 2") was a freight; a subtotal or handling printed as an estimate ("Est. Subtotal",
"Estimated Handling") was not read; a year beside a freight label ("Shipping 2026") was a freight of 2,026."""
from decimal import Decimal

import pytest

from tests.po.layouts import Page
from worker.po.doc import doc_lines
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.po.totals import parse_totals

_HEAD = ["", "Item Code", "Description", "Qty", "UOM", "Unit Price", "Amount"]
_ROWS = [["", "NAP-DINR-3000", "Dinner Napkins", "10", "CS", "42.00", "420.00"],
         ["", "FOIL-18-500", "Foil Roll 18in x 500ft", "5", "EA", "39.40", "197.00"]]
_X = [40, 70, 160, 370, 380, 470, 560]  # left edges, but quantity, price and amount are right-aligned at these


def _po(totals: list[tuple[str, str]]):
    """A one-page PO of 617.00 in goods with the totals area given, drawn and parsed."""
    p = Page()
    for i, s in enumerate(["Hilltop Tavern", "9 Hill Rd, Columbus, OH 43004"]):
        p.t(40, 40 + 14 * i, s)
    for i, s in enumerate(["PURCHASE ORDER", "PO Number: HT-2291", "PO Date: 11/24/2026"]):
        p.t(350, 40 + 12 * i, s)
    for y, cells in [(100, _HEAD)] + [(116 + 14 * k, r) for k, r in enumerate(_ROWS)]:
        for n, (x, s) in enumerate(zip(_X, cells, strict=True)):
            p.t(x, y, s, right=n in (3, 5, 6))
    for i, (label, v) in enumerate(totals):
        p.t(370, 160 + 14 * i, label)
        p.t(560, 160 + 14 * i, v, right=True)
    return parse_purchase_order(extract_pdf(p.done(), 50), ParseHints())


def _with(row: tuple[str, str], total: str) -> list[tuple[str, str]]:
    return [("Subtotal", "617.00"), row, ("Sales Tax", "44.74"), ("Total", total)]


@pytest.mark.parametrize("row", [
    ("Delivery:", "2-3"), ("Delivery: 2-3", ""), ("Shipping 1 to 2", ""), ("Delivery: 12-15", ""),
    ("Delivery: Tuesday 12", ""), ("Delivery", "Tue. 12th"), ("Delivery:", "Friday, 4"),
    ("Freight LTL 2", ""), ("Freight LTL", "2"), ("Freight FTL: 1", ""), ("Freight class", "2"),
])
def test_a_day_range_a_weekday_or_a_truckload_beside_freight_is_no_freight(row) -> None:
    po = _po(_with(row, "661.74"))
    assert (po.freight, po.total, po.findings) == (None, Decimal("661.74"), [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Freight 12.50", ""), "12.50"), (("Freight:", "$45"), "45"), (("Delivery", "35.00"), "35.00"),
    (("Freight", "12"), "12"), (("Freight LTL", "125.00"), "125.00"), (("Freight LTL 2", "125.00"), "125.00"),
    (("Delivery: Tuesday", "35.00"), "35.00"), (("Delivery 2-3 days", "35.00"), "35.00"),
])
def test_a_real_amount_beside_freight_stays_the_freight(row, freight) -> None:
    po = _po(_with(row, str(Decimal("661.74") + Decimal(freight))))
    assert (po.freight, po.findings) == (Decimal(freight), [])


@pytest.mark.parametrize(("subtotal", "handling"), [
    ("Est. Subtotal", "Est. handling"), ("Estimated Subtotal", "Estimated Handling"),
    ("Approx. subtotal:", "Est handling:"), ("Estimated Sub-total", "Projected handling"),
])
def test_a_subtotal_or_handling_printed_as_an_estimate_is_read(subtotal, handling) -> None:
    po = _po([(subtotal, "617.00"), (handling, "5.00"), ("Sales Tax", "44.74"), ("Total", "666.74")])
    assert (len(po.lines), po.subtotal, [(c.description, c.amount) for c in po.other_charges], po.findings) == (
        2, Decimal("617.00"), [(handling.rstrip(":"), Decimal("5.00"))], [])


@pytest.mark.parametrize("row", [
    ("Shipping", "2026"), ("Shipping 2026", ""), ("Delivery:", "2026"), ("Delivery:", "December 2026"),
    ("Shipping", "Dec. 2026"),
])
def test_a_year_beside_freight_is_no_freight_where_the_amounts_have_cents(row) -> None:
    po = _po(_with(row, "661.74"))
    assert (po.freight, po.total, po.findings) == (None, Decimal("661.74"), [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Shipping", "2026.00"), "2026.00"), (("Shipping", "$2026"), "2026"), (("Shipping USD", "2026"), "2026"),
    (("Shipping", "2026 EUR"), "2026"), (("Shipping", "2,026"), "2026"), (("Shipping", "2150"), "2150"),
    # A whole number a year could be is the freight where the total proves it.
    (("Shipping", "2026"), "2026"),
])
def test_a_freight_a_year_could_be_is_read_where_printed_as_money(row, freight) -> None:
    po = _po(_with(row, str(Decimal("661.74") + Decimal(freight))))
    assert (po.freight, po.findings) == (Decimal(freight), [])


def _area(rows: list[tuple[str, str]]) -> dict:
    p = Page()
    for i, (label, v) in enumerate(rows):
        p.t(300, 50 + 14 * i, label)
        p.t(560, 50 + 14 * i, v, right=True)
    return parse_totals(doc_lines(extract_pdf(p.done(), 5)), None)


def test_a_year_beside_freight_is_the_freight_where_no_amount_has_cents() -> None:
    # No total to prove it either way: a totals area printing whole amounts reads "2026" as money, as before.
    assert _area([("Subtotal", "617"), ("Shipping", "2026")]).get("freight") == Decimal(2026)
    assert _area([("Subtotal", "617.00"), ("Shipping", "2026")]).get("freight") is None


@pytest.mark.parametrize("francs", ["Fr", "SFr", "Fr.", "CHF"])
def test_total_and_francs_printed_apart_with_the_amount_below_rank_as_a_plain_total(francs) -> None:
    # Before, "Fr" ending the line was a word qualifying the total, which a later "Total Savings" then replaced.
    p = Page()
    p.t(300, 50, "Subtotal")
    p.t(560, 50, "100.00", right=True)
    p.t(440, 64, "Total")
    p.t(520, 64, francs)
    p.t(560, 76, "107.70", right=True)
    p.t(300, 92, "Total Savings")
    p.t(560, 92, "5.00", right=True)
    assert parse_totals(doc_lines(extract_pdf(p.done(), 5)), None)["total"] == Decimal("107.70")


@pytest.mark.parametrize(("subtotal", "total"), [("642.00", "686.74"), ("617.00", "686.74")])
def test_a_freight_printed_above_the_subtotal_in_the_totals_area_may_be_inside_it(subtotal, total) -> None:
    # A note ends the item table, so the freight is the totals area's: before, it was always added after the
    # subtotal (642.00 + 25.00 + 44.74 = 711.74, two mismatches), as a freight row of the item table is not.
    p = Page()
    for y, cells in [(100, _HEAD)] + [(116 + 14 * k, r) for k, r in enumerate(_ROWS)]:
        for n, (x, s) in enumerate(zip(_X, cells, strict=True)):
            p.t(x, y, s, right=n in (3, 5, 6))
    p.t(40, 50, "PO Number: HT-2291")
    p.t(40, 160, "Notes: deliver to back door")
    for i, (label, v) in enumerate([("Freight", "25.00"), ("Subtotal", subtotal), ("Sales Tax", "44.74"),
                                    ("Total", total)]):
        p.t(370, 180 + 14 * i, label)
        p.t(560, 180 + 14 * i, v, right=True)
    po = parse_purchase_order(extract_pdf(p.done(), 50), ParseHints())
    assert (po.freight, po.subtotal, po.findings) == (Decimal("25.00"), Decimal(subtotal), [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Delivery Friday 12/4/2026", "40"), "40"), (("Delivery Tue 12/01", "35"), "35"),
    (("Delivery: Mon-Fri", "25"), "25"), (("Delivery: Mon - Fri", "25.00"), "25.00"),
])
def test_a_weekday_before_a_date_or_a_range_of_weekdays_leaves_the_freight(row, freight) -> None:
    # Before, the dates were blanked out twice: the second pass read the amount as the weekday's day, across the gap
    # the date left ("Friday ... 40"), and "Mon-Fri 25" as Friday the 25th.
    po = _po(_with(row, str(Decimal("661.74") + Decimal(freight))))
    assert (po.freight, po.findings) == (Decimal(freight), [])


@pytest.mark.parametrize(("row", "amount"), [(("Handling Sat 12", ""), "12"), (("Promo Mon 15", ""), "-15"),
                                             (("Handling", "Tuesday 5.00"), "5.00")])
def test_a_weekday_is_no_date_beside_a_charge(row, amount) -> None:
    # A weekday with its day is a date beside a freight label only: before, "Handling Sat 12" lost its charge.
    po = _po(_with(row, str(Decimal("661.74") + Decimal(amount))))
    assert ([c.amount for c in po.other_charges], po.findings) == ([Decimal(amount)], [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Delivery: Sat", "75"), "75"), (("Delivery: Tuesday", "45"), "45"),
    # A weekday's day, a truckload's count or a range of days the total proves to be the freight.
    (("Delivery: Sat", "25"), "25"), (("Freight LTL", "2"), "2"), (("Delivery:", "2-3"), "3"),
])
def test_a_whole_dollar_freight_beside_a_weekday_or_a_truckload_is_read_where_it_can_be(row, freight) -> None:
    # Before, a day was any two digits ("Sat 75") and such a freight was dropped whatever the total said.
    po = _po(_with(row, str(Decimal("661.74") + Decimal(freight))))
    assert (po.freight, po.findings) == (Decimal(freight), [])


@pytest.mark.parametrize("row", [("Delivery Saturday", "50"), ("Delivery: Sat", "25"), ("Freight LTL", "45")])
def test_a_whole_dollar_freight_in_a_totals_area_without_cents_is_read(row) -> None:
    rows = [("Subtotal", "617"), row, ("Sales Tax", "45")]
    po = _po([*rows, ("Total", str(617 + 45 + int(row[1])))])
    assert (po.freight, po.findings) == (Decimal(row[1]), [])
    assert _area(rows).get("freight") == Decimal(row[1])  # no total to tell: money, as the other amounts are


def _noted(totals: list[tuple[str, str]], extra_rows: tuple = ()):
    """A PO whose item table a note ends, so that its totals area starts with what is printed above the subtotal."""
    p = Page()
    rows = [*_ROWS, *extra_rows]
    for y, cells in [(100, _HEAD)] + [(116 + 14 * k, r) for k, r in enumerate(rows)]:
        for n, (x, s) in enumerate(zip(_X, cells, strict=True)):
            if s:
                p.t(x, y, s, right=n in (3, 5, 6))
    p.t(40, 50, "PO Number: HT-2291")
    y = 116 + 14 * len(rows) + 16
    p.t(40, y, "Notes: deliver to back door")
    for i, (label, v) in enumerate(totals):
        p.t(370, y + 20 + 14 * i, label)
        p.t(560, y + 20 + 14 * i, v, right=True)
    return parse_purchase_order(extract_pdf(p.done(), 50), ParseHints())


def test_a_year_valued_freight_inside_the_subtotal_is_the_freight() -> None:
    # Before, only a freight added after the subtotal could be proved: this one was lost (subtotal_mismatch).
    po = _noted([("Freight", "2026"), ("Subtotal", "2643.00"), ("Sales Tax", "44.74"), ("Total", "2687.74")])
    assert (po.freight, po.findings) == (Decimal(2026), [])


@pytest.mark.parametrize(("row", "why"), [
    (("Shipping", "1999"), "a year"), (("Delivery: Tuesday", "25"), "a date"),
    (("Freight LTL", "2"), "a truckload's count or class"), (("Delivery:", "2-3"), "a range of days"),
])
def test_a_freight_set_aside_with_no_total_to_tell_is_flagged(row, why) -> None:
    # Before, the freight was dropped and nothing said so.
    po = _po([("Subtotal", "617.00"), row, ("Sales Tax", "44.74")])
    assert (po.freight, [(f.code, f.severity) for f in po.findings]) == (None, [("freight_set_aside", "warning")])
    assert f"could be {why}, and no total is printed to tell" in po.findings[0].message


def test_a_freight_set_aside_where_the_total_adds_up_neither_way_is_flagged() -> None:
    po = _po(_with(("Shipping", "2026"), "700.00"))
    assert [f.code for f in po.findings] == ["total_mismatch", "freight_set_aside"]
    assert po.findings[1].message == ("'Shipping' 2026 not read as the freight: it could be a year, and the total adds "
                                      "up neither with it nor without it; please check the freight")


@pytest.mark.parametrize(("row", "freight"), [
    (("Shipping: USPS First Class", "8"), "8"), (("Shipping: First Class Mail", "5"), "5"),
    (("Freight class", "2"), "2"),  # a one-digit class the total proves to be the freight
])
def test_a_one_digit_class_away_from_the_freight_label_leaves_the_freight(row, freight) -> None:
    # Before, any "class" with one digit blanked it: "USPS First Class 8" was no freight (total_mismatch).
    po = _po(_with(row, str(Decimal("661.74") + Decimal(freight))))
    assert (po.freight, po.findings) == (Decimal(freight), [])


def test_a_one_digit_freight_class_with_no_total_is_flagged() -> None:
    po = _po([("Subtotal", "617.00"), ("Freight class", "2"), ("Sales Tax", "44.74")])
    assert (po.freight, [f.code for f in po.findings]) == (None, ["freight_set_aside"])


@pytest.mark.parametrize("row", [("Est. Handling: 2-3", ""), ("Handling:", "2-3"), ("Estimated handling", "1 - 2")])
def test_a_range_of_days_beside_handling_is_no_charge(row) -> None:
    # Before, "Est. Handling: 2-3" was a charge of 3 (total_mismatch).
    po = _po(_with(row, "661.74"))
    assert (po.other_charges, po.findings) == ([], [])


@pytest.mark.parametrize("estimated", ["Est. Subtotal", "Estimated Subtotal"])
def test_a_plain_subtotal_replaces_an_estimated_one(estimated) -> None:
    # Before, the first subtotal printed won: subtotal_mismatch and total_mismatch on a PO that added up.
    po = _po([(estimated, "600.00"), ("Subtotal", "617.00"), ("Sales Tax", "44.74"), ("Total", "661.74")])
    assert (po.subtotal, po.findings) == (Decimal("617.00"), [])
    po = _po([("Subtotal", "617.00"), (estimated, "600.00"), ("Sales Tax", "44.74"), ("Total", "661.74")])
    assert (po.subtotal, po.findings) == (Decimal("617.00"), [])
    po = _po([(estimated, "600.00"), ("Freight", "10.00"), ("Subtotal", "617.00"), ("Sales Tax", "44.74"),
              ("Total", "671.74")])
    assert (po.subtotal, po.freight, po.findings) == (Decimal("617.00"), Decimal("10.00"), [])


_SHIP = ["", "", "Shipping", "", "", "", "25.00"]
_FUEL = ["", "", "Fuel surcharge", "", "", "", "5.00"]


@pytest.mark.parametrize(("rows", "totals", "charges"), [
    # The table's "Shipping" inside the subtotal (617.00 + 25.00), the totals area's "Freight" above it added after.
    ([_SHIP], [("Freight", "30.00"), ("Subtotal", "642.00"), ("Sales Tax", "44.74"), ("Total", "716.74")], 1),
    # The totals area's "Freight" inside it (617.00 + 30.00), the table's "Shipping" added after.
    ([_SHIP], [("Freight", "30.00"), ("Subtotal", "647.00"), ("Sales Tax", "44.74"), ("Total", "716.74")], 1),
    # Both inside, and neither.
    ([_SHIP], [("Freight", "30.00"), ("Subtotal", "672.00"), ("Sales Tax", "44.74"), ("Total", "716.74")], 1),
    ([_SHIP], [("Freight", "30.00"), ("Subtotal", "617.00"), ("Sales Tax", "44.74"), ("Total", "716.74")], 1),
    # Two charge rows of the table: the surcharge inside (622.00), the shipping after.
    ([_FUEL, _SHIP], [("Freight", "30.00"), ("Subtotal", "622.00"), ("Sales Tax", "44.74"), ("Total", "721.74")], 2),
])
def test_each_charge_above_the_subtotal_is_inside_it_or_not_as_the_numbers_say(rows, totals, charges) -> None:
    # Before, the charges and freight above the subtotal were all inside it or none was: subtotal_mismatch and
    # total_mismatch where one was inside and another added after.
    po = _noted(totals, rows)
    assert (po.freight, len(po.other_charges), po.findings) == (Decimal("30.00"), charges, [])
