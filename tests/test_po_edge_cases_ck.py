"""Audit CK: PO edge cases. A tax printed as an estimate ("Estimated Tax 8.00") is the order's tax; a tax amount glued
to a currency's abbreviation ("VAT Fr.12.50") is read, one glued to other letters ("TX12.50A") stays an identifier;
a first address line that names a company starting with a digit ("3M Company") is the addressee, not the street."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.po.test_tax_lines import PO22, _draw
from worker.po.address import printed_lines, read_address
from worker.po.doc import doc_lines
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf
from worker.po.totals import is_totals_label, parse_totals


def _totals(rows: list[tuple[str, str]]) -> dict:
    p = Page()
    for i, (label, v) in enumerate([("Subtotal", "100.00"), *rows]):
        p.t(300, 50 + 14 * i, label)
        p.t(560, 50 + 14 * i, v, right=True)
    return parse_totals(doc_lines(extract_pdf(p.done(), 5)), None)


# --- a tax printed as an estimate ----------------------------------------------------------------------------------

@pytest.mark.parametrize("label", ["Estimated Tax", "Est. Tax", "Est Tax", "Estimated tax:", "Tax (est.)",
                                   "Estimated Sales Tax", "Approx. VAT", "Est. State Tax 6%"])
def test_a_tax_printed_as_an_estimate_is_a_tax_line(label) -> None:
    found = _totals([(label, "8.00"), ("Total", "108.00")])
    assert (found.get("tax"), found["total"]) == (Decimal("8.00"), Decimal("108.00"))
    assert is_totals_label(label)


def test_an_order_with_an_estimated_tax_adds_up() -> None:
    # Before, "Estimated Tax" was no tax line: 617.00 + nothing against a total of 661.74 was a total_mismatch.
    p = Page()
    _draw(p, PO22[:4] + ([("Subtotal", "617.00"), ("Estimated Tax", "44.74"), ("Total", "661.74")],))
    po = parse_purchase_order(extract_pdf(p.done(), 50), ParseHints())
    assert (len(po.lines), po.tax, po.total, po.findings) == (2, Decimal("44.74"), Decimal("661.74"), [])


@pytest.mark.parametrize("row", [
    ("Tax ID", "12-3456789"), ("Tax exempt certificate", "4471"), ("Taxable subtotal", "100.00"),
    ("Est. Tax ID", "12-3456789"), ("Estimated Taxable amount", "100.00"), ("Estimated Tax Rate", "8.25"),
    ("Estimated tax exempt", "0.00"), ("Estate tax", "4.00"), ("Estimated shipping", "3.00"),
])
def test_what_only_names_a_tax_or_an_estimate_is_still_no_tax_line(row) -> None:
    found = _totals([row, ("Sales tax", "8.00"), ("Total", "108.00")])
    assert (found["tax"], found["total"], "tax_lines_sum" in found) == (Decimal("8.00"), Decimal("108.00"), False)


# --- an amount glued to a currency's abbreviation ------------------------------------------------------------------

@pytest.mark.parametrize(("label", "value"), [
    ("VAT", "Fr.12.50"), ("Tax", "Fr.12.50"), ("MwSt 7.7%", "SFr.12.50"), ("VAT", "CHF12.50"), ("VAT", "EUR12.50"),
    ("Tax", "€12.50"), ("Tax", "£12.50"), ("Tax", "$12.50"), ("Tax", "US$12.50"), ("GST", "C$12.50"),
    ("GST", "A$12.50"), ("VAT", "Fr. 12.50"),
])
def test_a_tax_glued_to_a_currency_abbreviation_is_read(label, value) -> None:
    found = _totals([(label, value), ("Total", "112.50")])
    assert found.get("tax") == Decimal("12.50")


def test_a_tax_in_francs_printed_again_without_them_is_one_tax() -> None:
    found = _totals([("VAT", "Fr.12.50"), ("VAT", "12.50"), ("Total", "112.50")])
    assert (found["tax"], "tax_lines_sum" in found) == (Decimal("12.50"), False)


@pytest.mark.parametrize("value", ["TX12.50A", "DE123456789", "CHE-123.456.789", "FR12345678901", "Fr12.50X"])
def test_a_number_glued_to_other_letters_stays_an_identifier(value) -> None:
    found = _totals([("VAT", value), ("Sales tax", "8.00"), ("Total", "108.00")])
    assert (found["tax"], "tax_lines_sum" in found) == (Decimal("8.00"), False)


# --- a company's name starting with a digit ------------------------------------------------------------------------

@pytest.mark.parametrize(("lines", "fields"), [
    (["3M Company", "2501 Hudson Rd", "Maplewood, MN 55144"], {"addressee": "3M Company", "addr1": "2501 Hudson Rd"}),
    (["3M Company", "3M Center Bldg 220", "St. Paul, MN 55144"],
     {"addressee": "3M Company", "addr1": "3M Center Bldg 220", "addr2": None}),
    (["84 Lumber Co.", "1019 Route 519", "Eighty Four, PA 15330"],
     {"addressee": "84 Lumber Co.", "addr1": "1019 Route 519"}),
    (["99 Ranch Foods Inc", "45 Harbor Rd", "Clifton, NJ 07011"], {"addressee": "99 Ranch Foods Inc"}),
    (["3M Deli", "45 Harbor Rd", "Clifton, NJ 07011"], {"addressee": "3M Deli", "addr1": "45 Harbor Rd"}),
    # Streets stay streets, with or without a line under them.
    (["12 Main Street", "Clifton, NJ 07011"], {"addressee": None, "addr1": "12 Main Street"}),
    (["45-B Elm Rd", "Clifton, NJ 07011"], {"addressee": None, "addr1": "45-B Elm Rd"}),
    (["45-B Elm Rd", "Suite 100", "Clifton, NJ 07011"],
     {"addressee": None, "addr1": "45-B Elm Rd", "addr2": "Suite 100"}),
    (["100A Broadway", "Suite 5", "New York, NY 10001"], {"addressee": None, "addr1": "100A Broadway"}),
    (["2nd Floor", "45 Harbor Rd", "Clifton, NJ 07011"], {"addressee": None, "addr1": "2nd Floor"}),
    (["Driscoll Foods", "12 Main Street", "Clifton, NJ 07011"],
     {"addressee": "Driscoll Foods", "addr1": "12 Main Street"}),
])
def test_a_company_name_starting_with_a_digit_is_the_addressee(lines, fields) -> None:
    reading = read_address(lines)
    assert reading.problem is None, reading.problem
    assert {name: getattr(reading.address, name) for name in fields} == fields
    assert read_address(printed_lines(reading.address.subrecord())) == reading  # round trip


def test_a_company_name_with_no_street_under_it_is_a_problem_not_a_street() -> None:
    reading = read_address(["3M Company", "St. Paul, MN 55144"])
    assert reading.address is None and "no street line" in reading.problem and "'3M Company'" in reading.problem


# --- a UK county on its own line under the town --------------------------------------------------------------------

@pytest.mark.parametrize(("lines", "fields"), [
    (["Acme Ltd", "1 High St", "Guildford", "Surrey GU1 1AA", "United Kingdom"],
     {"addr1": "1 High St", "addr2": None, "city": "Guildford", "state": "Surrey", "zip": "GU1 1AA"}),
    (["Acme Ltd", "1 High St", "Guildford", "Surrey GU1 1AA"], {"addr2": None, "city": "Guildford", "state": "Surrey"}),
    (["Acme Ltd", "1 High St", "St Albans", "Hertfordshire AL1 3AW"], {"city": "St Albans", "state": "Hertfordshire"}),
    (["Acme Ltd", "1 High St", "Welwyn Garden City", "Hertfordshire AL8 6AA"],
     {"city": "Welwyn Garden City", "state": "Hertfordshire"}),
    (["Harbour Cafe", "Market Place", "Shere", "Surrey GU5 9HF", "UK"],
     {"addr1": "Market Place", "city": "Shere", "state": "Surrey"}),
    # No town line above the county: the county is read as the town, as before; Durham is a town, not a county.
    (["Durham DH1 3HP"], None),
    (["1 High St", "Durham DH1 3HP"], {"addr1": "1 High St", "city": "Durham", "state": None}),
    (["Acme Ltd", "1 High St", "Durham DH1 3HP", "UK"], {"addr1": "1 High St", "city": "Durham", "state": None}),
    (["Acme Ltd", "1 High St", "Gilesgate", "Durham DH1 3HP"], {"addr2": "Gilesgate", "city": "Durham", "state": None}),
    (["Acme Ltd", "1 High St", "Surrey GU1 1AA"], {"addr1": "1 High St", "city": "Surrey", "state": None}),
    # The line above is a street, a place in a building or a company, or no street is left above it: no town.
    (["Acme Foods Ltd", "Unit 4", "Riverside Industrial Estate", "Kent ME1 1TW", "UK"],
     {"addr2": "Riverside Industrial Estate", "city": "Kent", "state": None}),
    (["Acme Ltd", "1 High St", "Loading Dock", "Surrey GU1 1AA"], {"addr2": "Loading Dock", "city": "Surrey"}),
    (["Acme Ltd", "1 High St", "Acme Trading Ltd", "Surrey GU1 1AA"], {"addr2": "Acme Trading Ltd", "city": "Surrey"}),
    (["Acme Ltd", "Guildford", "Surrey GU1 1AA"], {"addr1": "Guildford", "city": "Surrey", "state": None}),
])
def test_a_county_under_the_town_is_the_county(lines, fields) -> None:
    reading = read_address(lines)
    if fields is None:
        assert reading.address is None and "no street line" in reading.problem
        return
    assert reading.problem is None, reading.problem
    assert {name: getattr(reading.address, name) for name in fields} == fields
    assert read_address(printed_lines(reading.address.subrecord())) == reading  # prints back as "Guildford, Surrey ..."
