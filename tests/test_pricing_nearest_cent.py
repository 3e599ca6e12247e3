"""A quote in cents as near the expected price as cents can be is within tolerance, whatever its percentage."""

from decimal import Decimal as D

import pytest

from worker.pricing import (
    ExpectedPrice,
    Pack,
    PriceRow,
    ProgramTerms,
    check_price,
    choose_price,
)

PLUS_15 = ProgramTerms("standard", 15.0, None, 30, False)


def expected(list_price: str):
    return choose_price([PriceRow("", D(list_price), "EA")], "EA", Pack("EA"), PLUS_15)


@pytest.mark.parametrize("list_price, quoted, deviation", [
    ("0.1000", "0.12", 4.35), ("0.1000", "0.11", -4.35),  # 0.115: both nearest cents
    ("0.0300", "0.03", -13.04),  # 0.0345: a price in cents can be no closer
    ("0.1000", 0.12, 4.35),  # a float rate (NetSuite's) is read as written
])
def test_the_nearest_cents_are_within_and_keep_their_true_deviation(list_price, quoted, deviation):
    check = check_price(D(quoted) if isinstance(quoted, str) else quoted, expected(list_price), 2.0)
    assert check.within_tolerance and check.deviation_pct == deviation
    assert check.reason and check.reason.startswith("within half a cent of ")


@pytest.mark.parametrize("list_price, quoted", [
    ("0.0300", "0.04"),  # 0.0055 off: more than half a cent
    ("0.1000", "0.112"),  # 0.003 off, but three decimals could have been 0.115 exactly
    ("0.1000", "0.1100"),  # written to four decimals: no allowance either
    ("0.1000", "0.10"), ("0.1000", "0.13"),
])
def test_a_quote_that_could_be_nearer_is_still_flagged(list_price, quoted):
    check = check_price(D(quoted), expected(list_price), 2.0)
    assert not check.within_tolerance and check.reason is None


def test_exactly_half_a_cent_off_is_within_and_the_percentage_alone_still_decides_first():
    exact = choose_price([PriceRow("7", D("0.125"), "EA")], "EA", Pack("EA"), PLUS_15)  # customer price, no markup
    assert check_price(D("0.12"), exact, 2.0).within_tolerance and check_price(D("0.13"), exact, 2.0).within_tolerance
    assert check_price(D("11.73"), expected("10.00"), 2.0).reason is None  # +2.0%: within by the percentage


def test_a_netsuite_rate_gets_no_nearest_cent_allowance():
    # Quote review judges NetSuite's own rates, which hold four decimals: 0.03 could have been the exact 0.0345.
    expected = ExpectedPrice(D("0.0345"), "CS", "list_plus_markup")
    assert check_price(D("0.03"), expected, 2.0).within_tolerance
    check = check_price(D("0.03"), expected, 2.0, in_cents=False)
    assert (check.within_tolerance, check.deviation_pct, check.reason) == (False, -13.04, None)
