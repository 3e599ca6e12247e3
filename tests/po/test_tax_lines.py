"""Audit CC6: every tax line in a PO's totals area is read and they add up (VAT at two rates, a state and a county
tax, GST + PST), a printed tax total is their sum and never one more tax, and what only names a tax (a registration
number, "Tax ID", "Taxable amount", "Tax exempt", a rate alone, "Total incl. tax") is no tax line."""
from decimal import Decimal

import pytest

from tests.po.layouts import Page
from worker.po.doc import doc_lines
from worker.po.parser import TAX_LINES_DIFFER, ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.po.totals import is_totals_label, parse_totals

# The two audit layouts (/tmp/audit_CC/out/po21_two_vat_rates.pdf, po22_state_county_tax.pdf), drawn again.
PO21 = (["Evergreen Corporate Catering GmbH", "Hauptstrasse 12, 10115 Berlin"],
        ["BESTELLUNG / PURCHASE ORDER", "Bestellnummer: 4711-26", "Datum: 24.11.2026"],
        ["Pos.", "Artikel", "Bezeichnung", "Menge", "Einheit", "Preis", "Betrag"],
        [["1", "EGG-LG-15DZ", "Eier gross 15 Dutzend", "4", "CS", "25,00", "100,00"],
         ["2", "GLV-NIT-L", "Nitrilhandschuhe L", "4", "CS", "50,00", "200,00"]],
        [("Nettobetrag", "300,00"), ("MwSt 7%", "7,00"), ("MwSt 19%", "38,00"), ("Gesamtbetrag EUR", "345,00")])
PO22 = (["Hilltop Tavern", "9 Hill Rd, Columbus, OH 43004"],
        ["PURCHASE ORDER", "PO Number: HT-2291", "PO Date: 11/24/2026"],
        ["", "Item Code", "Description", "Qty", "UOM", "Unit Price", "Amount"],
        [["", "NAP-DINR-3000", "Dinner Napkins", "10", "CS", "42.00", "420.00"],
         ["", "FOIL-18-500", "Foil Roll 18in x 500ft", "5", "EA", "39.40", "197.00"]],
        [("Subtotal", "617.00"), ("State Tax 5.75%", "35.48"), ("County Tax 1.5%", "9.26"), ("Total", "661.74")])
_X = [40, 70, 160, 370, 380, 470, 560]  # left edges, but quantity, price and amount are right-aligned at these


def _draw(p: Page, doc, totals_y: float = 160) -> None:
    left, right, head, rows, totals = doc
    for i, s in enumerate(left):
        p.t(40, 40 + 14 * i, s)
    for i, s in enumerate(right):
        p.t(350, 40 + 12 * i, s)
    for y, cells in [(100, head)] + [(116 + 14 * k, r) for k, r in enumerate(rows)]:
        for n, (x, s) in enumerate(zip(_X, cells, strict=True)):
            p.t(x, y, s, right=n in (3, 5, 6))
    for i, (label, v) in enumerate(totals):
        p.t(370, totals_y + 14 * i, label)
        p.t(560, totals_y + 14 * i, v, right=True)


def _parse(pdf: bytes):
    return parse_purchase_order(extract_pdf(pdf, 50), ParseHints())


@pytest.mark.parametrize(("doc", "tax", "total"), [(PO21, "45.00", "345.00"), (PO22, "44.74", "661.74")])
def test_the_audit_orders_read_every_tax_line(doc, tax, total) -> None:
    p = Page()
    _draw(p, doc)
    po = _parse(p.done())
    assert (len(po.lines), po.tax, po.total, po.findings) == (2, Decimal(tax), Decimal(total), [])


def test_a_totals_block_printed_on_every_page_counts_its_taxes_once() -> None:
    p = Page()
    _draw(p, PO22)
    p.c.showPage()
    p.font("Helvetica", 9)
    _draw(p, (PO22[0], PO22[1], PO22[2], [], PO22[4]))
    po = _parse(p.done())
    assert (len(po.lines), po.tax, po.total, po.findings) == (2, Decimal("44.74"), Decimal("661.74"), [])


def _totals(rows: list[tuple[str, str]]) -> dict:
    p = Page()
    for i, (label, v) in enumerate([("Subtotal", "100.00"), *rows]):
        p.t(300, 50 + 14 * i, label)
        p.t(560, 50 + 14 * i, v, right=True)
    return parse_totals(doc_lines(extract_pdf(p.done(), 5)), None)


@pytest.mark.parametrize(("rows", "tax"), [
    ([("State Tax 5.75%", "5.75"), ("County Tax 1.5%", "1.50")], "7.25"),
    ([("VAT 7%", "7.00"), ("VAT 19%", "19.00")], "26.00"),
    ([("NJ Sales Tax 6.625%", "6.63")], "6.63"),
    ([("County Tax (1%)", "1.00"), ("City Tax", "2.00"), ("Local Tax", "0.50")], "3.50"),
    ([("Ohio Sales Tax", "5.75"), ("Franklin County Tax", "1.25"), ("City of Columbus Tax", "2.50")], "9.50"),
    ([("GST 5%", "5.00"), ("PST 7%", "7.00")], "12.00"),
    ([("Federal GST", "5.00"), ("BC PST", "7.00")], "12.00"),
    ([("GST 5%", "5.00"), ("QST 9.975%", "9.98")], "14.98"),
    ([("HST 13%", "13.00")], "13.00"),
    ([("Denver Tax 4.81%", "4.81")], "4.81"),
    # A tax total printed with its lines is their sum, before or after them, never one more tax.
    ([("VAT 7%", "7.00"), ("VAT 19%", "19.00"), ("Total VAT", "26.00")], "26.00"),
    ([("State Tax", "5.75"), ("County Tax", "1.50"), ("Tax total", "7.25")], "7.25"),
    ([("Total tax", "7.25"), ("State Tax", "5.75"), ("County Tax", "1.50")], "7.25"),
    ([("Total tax", "8.00")], "8.00"),
    # The same line printed again is one tax, with or without its rate (audit CH: 'Sales Tax 8.25%' then 'Sales Tax'
    # of the same amount was counted twice); two rates of one tax with the same amount stay two.
    ([("Sales Tax 8%", "8.00"), ("Sales Tax 8%", "8.00")], "8.00"),
    ([("Sales Tax 8.25%", "8.25"), ("Sales Tax", "8.25")], "8.25"),
    ([("Tax (8.25%)", "8.25"), ("Tax", "8.25")], "8.25"),
    ([("VAT 7%", "7.00"), ("VAT 19%", "7.00")], "14.00"),
    ([("State Tax", "5.00"), ("County Tax", "5.00")], "10.00"),
])
def test_every_tax_line_is_read_and_summed(rows, tax) -> None:
    assert _totals(rows + [("Total", "200.00")])["tax"] == Decimal(tax)


@pytest.mark.parametrize("row", [
    ("VAT Reg. No.", "123456789"), ("VAT: DE123456789", ""), ("USt-IdNr.: DE123456789", ""), ("Tax ID", "12-3456789"),
    ("State Tax ID", "12-3456789"), ("Sales tax license", "123456"), ("GST/HST No.", "123456789"),
    ("Taxable amount", "100.00"), ("Taxable subtotal", "100.00"), ("Non-taxable amount", "0.00"),
    ("Tax exempt", "0.00"), ("Total tax-exempt sales", "100.00"), ("Amount before tax", "100.00"),
    ("Tax rate 8.25%", ""), ("VAT 19%", ""), ("Total incl. tax", "108.00"), ("Pickle Vat", "12.00"),
    # A tax's basis, code or jurisdiction number (audit CH: each was added to the tax).
    ("State Tax Basis", "100.00"), ("County Tax Code", "23"), ("PO Tax Code", "2"), ("City Tax Jurisdiction", "4401"),
    ("Sales Tax Rate", "8.25"), ("Tax Area", "12"),
])
def test_what_only_names_a_tax_is_no_tax_line(row) -> None:
    found = _totals([row, ("Sales tax", "8.00"), ("Total", "108.00")])
    assert (found["tax"], found["total"], "tax_lines_sum" in found) == (Decimal("8.00"), Decimal("108.00"), False)


def test_a_tax_total_its_lines_do_not_add_up_to_is_taken_and_flagged() -> None:
    p = Page()
    _draw(p, PO22[:4] + ([("Subtotal", "617.00"), ("State Tax 5.75%", "35.48"), ("County Tax 1.5%", "9.26"),
                          ("Total tax", "45.74"), ("Total", "662.74")],))
    po = _parse(p.done())
    assert (po.tax, po.total, [f.code for f in po.findings]) == (Decimal("45.74"), Decimal("662.74"),
                                                                 [TAX_LINES_DIFFER])
    assert po.findings[0].message == "tax lines add up to 44.74, tax total printed 45.74"


@pytest.mark.parametrize(("text", "ends"), [
    ("State Tax 5.75%", True), ("NJ Sales Tax", True), ("Total tax", True), ("Tax total", True),
    ("Taxable amount", False), ("Cook County Ham 5 lb", False), ("PICKLE VAT 5 GAL", False),
])
def test_tax_labels_end_the_item_table(text, ends) -> None:
    assert is_totals_label(text) is ends
