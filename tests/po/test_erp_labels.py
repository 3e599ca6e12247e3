"""Audit CC9 and CC8b: 'Doc. Date', 'Req. Delivery' and 'Net amount' labels, and a total printed on the line
under its label, without making other labels ('Net 30', 'Delivery' with no date) mean more than they did."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.po.layouts import Page, build
from worker.po.doc import doc_lines
from worker.po.header import find_dates
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.po.totals import is_totals_label, parse_totals


def _lines(rows: list[tuple[float, float, str]]):
    p = Page()
    for x, y, text in rows:
        p.t(x, y, text)
    return doc_lines(extract_pdf(p.done(), 5))


@pytest.mark.parametrize(("label", "field"), [
    ("Doc. Date", "po_date"), ("Doc Date", "po_date"), ("Document Date", "po_date"),
    ("Req. Delivery", "requested_ship_date"), ("Req Delivery", "requested_ship_date"),
    ("Requested Delivery", "requested_ship_date"), ("Req. Delivery Date", "requested_ship_date"),
    ("Required Delivery", "requested_ship_date"), ("Required Ship", "requested_ship_date"),
])
def test_erp_date_labels(label, field) -> None:
    for rows in ([(40, 50, f"{label}: 03/18/2026")], [(40, 50, label), (140, 50, "03/18/2026")],
                 [(40, 50, label), (40, 62, "03/18/2026")]):
        dates = find_dates(_lines(rows + [(300, 50, "Terms: Net 30")]), None)
        assert dates[field][0] == date(2026, 3, 18), rows
        assert dates["po_date" if field != "po_date" else "requested_ship_date"][0] is None


def test_doc_date_and_req_delivery_side_by_side_are_told_apart() -> None:
    dates = find_dates(_lines([(40, 50, "Doc. Date"), (120, 50, "02/27/2026"), (300, 50, "Req. Delivery"),
                               (380, 50, "03/04/2026")]), None)
    assert (dates["po_date"][0], dates["requested_ship_date"][0]) == (date(2026, 2, 27), date(2026, 3, 4))


@pytest.mark.parametrize(("text", "subtotal"), [
    ("Net amount", True), ("Net Amount:", True), ("NET AMOUNT USD", True),
    ("Net 30", False), ("Net 30 days", False), ("Net amount due", False), ("Net amount payable", False),
])
def test_net_amount_is_a_subtotal_and_net_terms_are_not(text, subtotal) -> None:
    assert is_totals_label(text) is subtotal
    found = parse_totals(_lines([(300, 50, text), (500, 50, "1,234.56")]), None)
    assert (found.get("subtotal") == Decimal("1234.56")) is subtotal
    assert "total" not in found


def test_a_net_30_term_beside_the_totals_is_no_amount() -> None:
    found = parse_totals(_lines([(40, 50, "Terms:"), (80, 50, "Net 30"), (300, 50, "Net amount"),
                                 (500, 50, "100.00"), (300, 64, "Total"), (500, 64, "100.00")]), None)
    assert (found["subtotal"], found["total"], found["charges"], found["payments"]) == (100, 100, [], [])


@pytest.mark.parametrize("value", ["$1,234.56", "1,234.56", "USD 1,234.56", "1.234,56 €"])
def test_a_total_on_the_line_under_its_label_is_read(value) -> None:
    found = parse_totals(_lines([(300, 50, "Subtotal"), (300, 62, "1,200.00"), (300, 80, "Total"),
                                 (300, 92, value)]), True if "€" in value else None)
    assert (found["subtotal"], found["total"]) == (Decimal("1200.00"), Decimal("1234.56"))


@pytest.mark.parametrize(("rows", "why"), [
    ([(300, 50, "Total"), (300, 62, "1,234.56"), (400, 62, "99.00")], "two amounts below: whose is which"),
    ([(300, 50, "Total"), (300, 100, "1,234.56")], "too far below to be its value"),
    ([(300, 50, "Total"), (40, 62, "1,234.56")], "another column's"),
    ([(300, 50, "Total"), (300, 62, "1,234")], "no cents: a count or a number, not money"),
    ([(300, 50, "Total"), (300, 62, "03.12.26")], "a date"),
    ([(300, 50, "Total Weight"), (300, 62, "1,234.56")], "a weight, as beside it"),
    ([(300, 50, "Total"), (300, 62, "Fuel surcharge 1,234.56")], "a labelled amount of its own"),
])
def test_a_value_below_is_read_only_when_unambiguous(rows, why) -> None:
    assert "total" not in parse_totals(_lines(rows), None), why


def test_erp_export_layout_parses_exactly() -> None:
    pdf, expected = build("erp_export", seed=7)
    po = parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=expected.po_date + timedelta(days=1)))
    assert (po.po_date, po.requested_ship_date) == (expected.po_date, expected.requested_ship_date)
    assert (po.subtotal, po.freight, po.total) == (expected.subtotal, expected.freight, expected.total)
    assert po.other_charges == [] and po.findings == []


def test_a_po_date_beats_a_doc_date() -> None:
    # Audit CH: "Doc. Date" scored as "PO Date", so two different dates left the order with none.
    dates = find_dates(_lines([(40, 50, "Doc. Date: 11/20/2026"), (40, 62, "PO Date: 11/24/2026")]), None)
    assert dates["po_date"][0] == date(2026, 11, 24)
    alone = find_dates(_lines([(40, 50, "Doc. Date: 11/20/2026")]), None)
    assert alone["po_date"][0] == date(2026, 11, 20)
