"""PO totals printed as estimates and in francs (follow-ups to audit CK, 88ea2ce): an estimated freight ("Est. Freight
12.00") is the freight and an estimated total ("Est. Total 107.70") the total, while an estimated delivery date stays
no amount; a total glued to francs ("Total Fr.107.70") ranks as a plain "Total"; an amount in francs or with its
currency's code alone on the line under its label ("Sales Tax" / "CHF 8.00") is read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.po.test_tax_lines import PO22, _draw
from worker.po.doc import doc_lines
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.po.totals import is_totals_label, parse_totals


def _totals(rows: list[tuple[str, str]], dc: bool | None = None) -> dict:
    p = Page()
    for i, (label, v) in enumerate([("Subtotal", "100.00"), *rows]):
        p.t(300, 50 + 14 * i, label)
        p.t(560, 50 + 14 * i, v, right=True)
    return parse_totals(doc_lines(extract_pdf(p.done(), 5)), dc)


def _under(rows: list[tuple[str, str]], dc: bool | None = None) -> dict:
    """Each label with its amount alone on the line under it, right-aligned a little right of the label."""
    p = Page()
    for i, (label, v) in enumerate(rows):
        p.t(300, 50 + 26 * i, label)
        p.t(400, 62 + 26 * i, v, right=True)
    return parse_totals(doc_lines(extract_pdf(p.done(), 5)), dc)


def _order(totals: list[tuple[str, str]], under: list[tuple[str, str]] = ()):
    """PO22's two lines (617.00) with these totals; `under` rows print their amount on the line under the label."""
    p = Page()
    _draw(p, PO22[:4] + (totals,))
    y = 160 + 14 * len(totals)
    for label, v in under:
        p.t(370, y, label)
        p.t(560, y + 12, v, right=True)
        y += 26
    return parse_purchase_order(extract_pdf(p.done(), 50), ParseHints())


# --- freight and total printed as estimates ------------------------------------------------------------------------

@pytest.mark.parametrize("label", ["Estimated shipping", "Est. Freight", "Estimated delivery charge", "Est Shipping",
                                   "Approx. freight", "Estimated Shipping:", "Projected delivery fee"])
def test_an_estimated_freight_is_the_freight(label) -> None:
    found = _totals([(label, "8.00"), ("Total", "108.00")])
    assert (found.get("freight"), found["total"], found["charges"]) == (Decimal("8.00"), Decimal("108.00"), [])


@pytest.mark.parametrize("label", ["Est. Total", "Estimated Total", "Estimated total:", "Est Total", "Approx. Total",
                                   "Estimated Order Total", "Estimated Total Amount"])
def test_an_estimated_total_is_the_total(label) -> None:
    found = _totals([("Tax", "7.70"), (label, "107.70")])
    assert (found.get("total"), found["tax"]) == (Decimal("107.70"), Decimal("7.70"))
    assert is_totals_label(label)


def test_an_estimated_total_ranks_as_a_plain_total() -> None:
    # A later "Total <something>" does not replace it, a grand total does.
    assert _totals([("Est. Total", "107.70"), ("Total Savings", "5.00")])["total"] == Decimal("107.70")
    assert _totals([("Est. Total", "107.70"), ("Estimated Grand Total", "109.70")])["total"] == Decimal("109.70")


@pytest.mark.parametrize("label", ["Estimated Total Tax", "Est. Tax Total", "Estimated Total VAT"])
def test_an_estimated_tax_total_is_the_tax_total(label) -> None:
    # The sum of the tax lines, never added to them; alone, it is the tax.
    found = _totals([("State Tax", "5.00"), ("County Tax", "2.70"), (label, "7.70"), ("Total", "107.70")])
    assert (found["tax"], "tax_lines_sum" in found, found["total"]) == (Decimal("7.70"), False, Decimal("107.70"))
    assert _totals([(label, "7.70"), ("Total", "107.70")]).get("tax") == Decimal("7.70")


def test_an_order_printing_its_totals_as_estimates_adds_up() -> None:
    # Before, neither the estimated freight nor the estimated total was read: the order had no total, and with a
    # plain total its freight was missing (a total_mismatch).
    po = _order([("Subtotal", "617.00"), ("Estimated shipping", "8.00"), ("Estimated Tax", "44.74"),
                 ("Est. Total", "669.74")])
    assert (len(po.lines), po.freight, po.tax, po.total, po.findings) == (
        2, Decimal("8.00"), Decimal("44.74"), Decimal("669.74"), [])
    po = _order([("Subtotal", "617.00"), ("Est. Freight", "8.00"), ("Total", "625.00")])
    assert (po.freight, po.total, po.findings) == (Decimal("8.00"), Decimal("625.00"), [])


@pytest.mark.parametrize("row", [
    ("Estimated delivery date", "12/01/2026"), ("Est. ship date", "12/01/2026"),
    ("Estimated Delivery Date:", "12/01/26"),
    ("Estimated shipping date", "2026-12-01"), ("Estimated delivery", "12/01/2026"), ("Est. delivery", "01.12.2026"),
    ("Estimated delivery:", "Dec 1, 2026"), ("Estimated delivery", "December 1"), ("Estimated delivery", "12/01"),
    ("Est. delivery", "Mon 12/01"), ("Estimated delivery", "1 Dec 2026"), ("Est. Delivery", "Dec. 1st"),
    ("Estimated delivery", "12/1-12/3"), ("Est. delivery", "Tue, Dec 1"),
    # A lead time or a weight is no amount either.
    ("Estimated shipping weight", "250 lbs"), ("Estimated shipping", "3-5 days"), ("Estimated delivery", "ASAP"),
    ("Estimated delivery:", "3-5 business days"), ("Est. shipping", "2 weeks"), ("Estimated delivery", "Week 49"),
    # The plain forms, which read a date's day or year as the freight before ("Delivery: Dec 1, 2026" was 2026.00).
    ("Delivery:", "Dec 1, 2026"), ("Shipping", "12/01"), ("Delivery", "1 Dec 2026"), ("Delivery", "December 1st"),
    ("Delivery:", "3-5 business days"),
])
def test_an_estimated_date_is_no_freight(row) -> None:
    found = _totals([row, ("Total", "100.00")])
    assert (found.get("freight"), found["total"], found["charges"]) == (None, Decimal("100.00"), [])


@pytest.mark.parametrize(("row", "freight"), [
    (("Freight (est. Dec 1)", "25.00"), "25.00"), (("Estimated shipping", "12.01"), "12.01"),
    (("Delivery", "1,200.50"), "1200.50"), (("Estimated delivery", "$12.00"), "12.00"),
])
def test_an_amount_beside_a_date_is_still_the_freight(row, freight) -> None:
    assert _totals([row, ("Total", "125.00")]).get("freight") == Decimal(freight)


# --- a total glued to francs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["Fr.107.70", "Fr. 107.70", "SFr.107.70", "CHF107.70", "CHF 107.70", "EUR107.70",
                                   "USD 107.70", "$107.70"])
def test_a_total_glued_to_a_currency_ranks_as_a_plain_total(value) -> None:
    # Before, "Total Fr.107.70" ranked as a "Total <something>": a later "Total Savings 5.00" replaced it.
    found = _totals([("VAT", "Fr.7.70"), ("Total", value), ("Total Savings", "5.00")])
    assert (found["total"], found["tax"]) == (Decimal("107.70"), Decimal("7.70"))
    assert _totals([("Total", value), ("Grand Total", "109.70")])["total"] == Decimal("109.70")


def test_an_order_totalled_in_francs_adds_up() -> None:
    po = _order([("Subtotal", "Fr.617.00"), ("MwSt 7.7%", "Fr.47.51"), ("Total", "Fr.664.51"),
                 ("Total savings", "Fr.12.00")])
    assert (len(po.lines), po.tax, po.total, po.findings) == (2, Decimal("47.51"), Decimal("664.51"), [])


# --- an amount with its currency alone under its label -------------------------------------------------------------

@pytest.mark.parametrize("value", ["CHF 8.00", "Fr.8.00", "Fr. 8.00", "SFr.8.00", "CHF8.00", "8.00 CHF", "EUR 8.00",
                                   "AUD 8.00", "$8.00", "8.00"])
def test_an_amount_with_its_currency_under_its_label_is_read(value) -> None:
    found = _under([("Subtotal", "100.00"), ("Sales Tax", value), ("Total", value.replace("8.00", "108.00"))])
    assert (found["subtotal"], found.get("tax"), found.get("total")) == (
        Decimal("100.00"), Decimal("8.00"), Decimal("108.00"))


@pytest.mark.parametrize(("value", "why"), [
    ("CHF 8", "no cents: a count or a number, not money"), ("FR12345678901", "a French VAT number"),
    ("TX12.50A", "an identifier"), ("Fr.8.00 CHF 9.00", "two amounts: whose is which"), ("Frs 8.00", "not a currency"),
])
def test_a_value_under_a_label_is_still_read_only_when_it_is_money_alone(value, why) -> None:
    assert "tax" not in _under([("Sales Tax", value)]), why


def test_an_order_with_its_amounts_in_francs_under_their_labels_adds_up() -> None:
    po = _order([], [("Subtotal", "CHF 617.00"), ("MwSt", "Fr.47.51"), ("Freight", "CHF 10.00"),
                     ("Total", "CHF 674.51")])
    assert (len(po.lines), po.subtotal, po.tax, po.freight, po.total, po.findings) == (
        2, Decimal("617.00"), Decimal("47.51"), Decimal("10.00"), Decimal("674.51"), [])
