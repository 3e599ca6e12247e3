"""Three letters are an ISO code only when ISO 4217 lists them: "Yen" is the yen's name (JPY), "Won" and "abc" are
names not known here. Any three letters used to be taken as a code ("Yen" became a "YEN" currency of its own, totalled
apart from the customer's JPY invoices)."""

import pytest

from worker.currency import (
    ISO_4217_CODES,
    currency_code,
    may_be_same_currency,
    same_currency,
)
from worker.flows.collection_situation import Exposure, Situation, customer_currency
from worker.pricing import currency_name, money, totals_by_currency


@pytest.mark.parametrize(("spelling", "code"), [
    ("Yen", "JPY"), ("yen", "JPY"), (" YEN ", "JPY"), ("Sterling", "GBP"),  # one currency's names (were "YEN", None)
    ("Won", None), ("won", None), ("WON", None), ("Sol", None), ("abc", None), ("ABC", None),  # were "WON" … "ABC"
    ("HRK", None), ("BGN", None),  # withdrawn: the kuna and the lev are euros now
    ("cad", "CAD"), ("CAD", "CAD"), ("Cad", "CAD"), (" eur ", "EUR"), ("krw", "KRW"), ("XCG", "XCG"),  # codes
    ("USD", "USD"), ("usa", "USD"), ("Real", None), ("C.A.D.", None), ("", "USD"), ("4", None),
])
def test_three_letters_are_a_code_only_when_iso_lists_them(spelling, code):
    assert currency_code(spelling) == code


def test_the_list_is_iso_4217s_current_codes():
    assert len(ISO_4217_CODES) == 178 and all(len(c) == 3 and c.isalpha() and c.isupper() for c in ISO_4217_CODES)
    assert {"USD", "CAD", "EUR", "GBP", "MXN", "AUD", "CHF", "JPY", "NZD", "HKD", "SGD", "KRW", "PEN"} <= ISO_4217_CODES
    assert not {"HRK", "BGN", "ANG", "SLL", "ZWL", "CUC", "YEN", "WON", "SOL"} & ISO_4217_CODES


@pytest.mark.parametrize("name", ["dollar", "Peso", "POUND", "franc", "Krona"])
def test_a_bare_name_of_several_currencies_stays_unknown(name):
    assert currency_code(name) is None


def test_yen_and_jpy_are_one_currency():
    assert may_be_same_currency("Yen", "JPY") and same_currency("JPY", "yen")  # were two: "yen" against "jpy"
    assert not may_be_same_currency("Yen", "Yuan") and not may_be_same_currency("Sterling", "EUR")


def test_a_name_not_known_here_is_totalled_and_printed_as_its_own_text():
    totals = totals_by_currency([(100.0, "Yen"), (50.0, "JPY"), (10.0, "Won"), (5.0, "Won"), (1.0, "USA")])
    assert totals == {"USD": 1.0, "JPY": 150.0, "Won": 15.0}  # were {"USD": 1.0, "JPY": 50.0, "WON": 15.0, "YEN": …}
    assert money(10.0, "Won") == "Won 10.00" and money(10.0, "Yen") == "JPY 10.00"
    assert currency_name(" abc ") == "abc"


def test_a_yen_customer_counts_its_jpy_invoices_as_its_own():
    rows = [{"invoice_id": "1", "number": "INV1", "days_past_due": 95, "bucket": "90+", "amount_remaining": 400_000.0,
             "currency": "JPY"}]
    s = Situation("1", "Kyoto", None, None, None, 500_000.0, rows, None, "s", False, Exposure(400_000.0, 0.0, 0.0),
                  currency=customer_currency("Yen"))
    assert s.currency == "JPY" and s.other_open == {} and s.home_past_due == 400_000.0  # was "YEN": all "other"
