"""worker.pricing: units, pack counts and the comparison math tested directly; expected_price on a real SQLite file."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.flows_support import PRICING_HEADER, load_reference
from worker.pricing import (
    ExpectedPrice,
    Pack,
    PriceRow,
    ProgramTerms,
    check_price,
    choose_price,
    expected_price,
    pack_count,
    price_text,
    unit_code,
)

DRISCOLL = ProgramTerms("driscoll", 15.0, "prepaid", 30, True)
SPEC_HEADER = "item_id,item_code,description,uom,is_assembly,pack_size\n"


def row(price: str, uom: str = "CS", customer: str = "") -> PriceRow:
    return PriceRow(customer, Decimal(price), uom)


@pytest.mark.parametrize(("name", "code"), [("Each", "EA"), ("ea", "EA"), (" EA ", "EA"), ("Case", "CS"),
                                            ("cs", "CS"), ("Cases", "CS"), ("Bag", "BG"), ("Pallet", "PALLET"),
                                            ("", ""), (None, "")])
def test_unit_names_become_the_price_lists_codes(name, code):
    assert unit_code(name) == code


@pytest.mark.parametrize(("pack_size", "each"), [
    ("4/5lb", 4), ("4/160ct", 4), ("6/#10", 6), ("10/100", 10), ("1/10 LB", 1),  # pack/size: the pack
    ("48ct", 48), ("3000 CT", 3000), ("24 kits", 24), ("12 platters", 12), ("12 ea", 12), ("1 roll", 1),
    ("40lb", None), ("35 LB", None), ("15dz", None), ("0/5lb", None), ("", None), (None, None)])  # no count
def test_pack_count_reads_eaches_per_unit(pack_size, each):
    assert pack_count(pack_size) == each


def test_a_row_in_the_lines_unit_wins_customer_before_list():
    rows = [row("40.00", "CS", "1187"), row("4.00", "EA"), row("48.00", "CS")]
    each = choose_price(rows, "EA", Pack(), DRISCOLL)
    assert (each.unit_price, each.uom, each.basis, each.note) == (Decimal("4.60"), "EA", "list_plus_markup", None)
    case = choose_price(rows, "CS", Pack(), DRISCOLL)
    assert (case.unit_price, case.basis) == (Decimal("40.00"), "customer_price")


def test_another_units_price_is_converted_through_the_pack_count():
    per_each = choose_price([row("24.00", "CS")], "EA", Pack("CS", 12), DRISCOLL)
    assert per_each == ExpectedPrice(Decimal("2.30"), "EA", "list_plus_markup", "from 24.00 per CS, 12 EA per CS")
    per_case = choose_price([row("3.50", "EA", "1187")], "CS", Pack("CS", 12), DRISCOLL)
    assert (per_case.unit_price, per_case.basis) == (Decimal("42.00"), "customer_price")
    odd = choose_price([row("48.00", "CS")], "EA", Pack("CS", 7), ProgramTerms("standard", 0, None, None, False))
    assert check_price(Decimal("6.8571"), odd, 2.0).deviation_pct == 0.0  # 48 / 7 kept beyond cents


def test_the_customers_row_wins_over_a_list_row_in_the_lines_unit():
    # was: the list's 5.00 per EA + 6% = 5.30, ignoring the contract's 48.00 per case of 12 (4.00 per EA)
    contract = ProgramTerms("driscoll_contract", 6.0, "prepaid", 30, False)
    rows = [row("48.00", "CS", "1187"), row("5.00", "EA")]
    each = choose_price(rows, "EA", Pack("CS", 12), contract)
    assert each == ExpectedPrice(Decimal("4.00"), "EA", "customer_price", "from 48.00 per CS, 12 EA per CS")
    assert check_price(Decimal("4.00"), each, 2.0).within_tolerance
    # the customer's row in the line's unit before its converted one; the list only when none converts
    in_unit = choose_price([row("3.50", "CS", "1187"), row("0.25", "EA", "1187"), row("5.00", "EA")], "EA",
                           Pack("CS", 12), contract)
    assert (in_unit.unit_price, in_unit.note) == (Decimal("0.25"), None)
    assert choose_price(rows, "EA", Pack(), contract).basis == "list_plus_markup"


def test_without_a_comparable_unit_there_is_no_price_to_compare():
    # was: the case price compared with a price per each (-91.67%)
    found = choose_price([row("24.00", "CS")], "EA", Pack(), DRISCOLL)
    assert found == ExpectedPrice(None, "EA", "no_comparable_price",
                                  "no price per EA: priced per CS; spec_items gives no pack count to convert")
    check = check_price(Decimal("2.30"), found, 2.0)
    assert (check.deviation_pct, check.within_tolerance, check.reason) == (None, True, found.note)
    by_weight = choose_price([row("24.00", "CS")], "LB", Pack("CS", 4), DRISCOLL)  # 4/5lb: eaches, not pounds
    assert by_weight.unit_price is None and by_weight.note == "no price per LB: priced per CS"


def test_a_row_without_a_unit_is_in_the_items_unit_or_any_unit_when_that_is_unknown():
    # the customer's contract case price beats a blank-unit list price for a 'Case' line (was: list + 15%)
    rows = [row("40.00", "CS", "1187"), row("50.00", "")]
    assert choose_price(rows, unit_code("Case"), Pack(), DRISCOLL).basis == "customer_price"
    assert choose_price([row("50.00", "")], "EA", Pack(), DRISCOLL).unit_price == Decimal("57.50")  # item unit unknown
    assert choose_price([row("24.00", "")], "EA", Pack("CS", 12), DRISCOLL).unit_price == Decimal("2.30")
    assert choose_price([row("24.00", "")], "EA", Pack("CS"), DRISCOLL).unit_price is None
    # a line without a unit is in the item's unit; with neither, the first row as listed
    assert choose_price([row("4.00", "EA"), row("48.00", "CS")], "", Pack("CS", 12), DRISCOLL).uom == "CS"
    assert choose_price([row("4.00", "EA"), row("48.00", "CS")], "", Pack(), DRISCOLL).uom == "EA"
    assert choose_price([], "EA", Pack(), DRISCOLL) is None


@pytest.mark.parametrize("blank_first", [False, True])
def test_a_row_in_a_stated_unit_beats_a_blank_unit_row_of_the_same_standing(conn, blank_first):
    # A database loaded before the import refused such a pair holds both: the CS row wins whatever the table's
    # order (was: the blank-unit 45.00 came first, and a correct 40.00 quote was flagged)
    conn.execute("INSERT INTO spec_items (item_id, item_code, uom, pack_size) VALUES ('501', 'X-1', 'CS', '4/5lb')")
    prices = [("", 45.00, ""), ("", 40.00, "CS"), ("1187", 38.00, ""), ("1187", 37.00, "Case")]
    for customer, price, uom in sorted(prices, key=lambda p: (p[2] != "") != blank_first):
        conn.execute("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom) VALUES ('501', ?, ?, ?)",
                     (customer, price, uom))
    standard = ProgramTerms("standard", 0.0, None, 30, False)
    assert expected_price(conn, "501", "2001", "2026-11-02", standard, "CS").unit_price == Decimal("40.00")
    assert expected_price(conn, "501", "1187", "2026-11-02", standard, "CS").unit_price == Decimal("37.00")
    assert expected_price(conn, "501", "2001", "2026-11-02", standard).unit_price == Decimal("40.00")  # item's unit
    # a row that started later still wins over an older one in a stated unit
    conn.execute("INSERT INTO pricing_master (item_id, unit_price, effective_from) VALUES ('501', 41.00, '2026-06-01')")
    assert expected_price(conn, "501", "2001", "2026-11-02", standard, "CS").unit_price == Decimal("41.00")


def test_prices_are_compared_at_their_four_decimals():
    expected = choose_price([row("0.0300", "EA")], "EA", Pack(), DRISCOLL)
    assert expected.unit_price == Decimal("0.0345")  # was rounded to 0.03 before comparing
    assert check_price(Decimal("0.0345"), expected, 2.0).within_tolerance  # was flagged +15.00%
    under = check_price(Decimal("0.0300"), expected, 2.0)  # was passed as within tolerance
    assert (under.deviation_pct, under.within_tolerance) == (-13.04, False)
    assert check_price(0.14375, choose_price([row("0.1250")], "CS", Pack(), DRISCOLL), 2.0).deviation_pct == 0.0


def test_a_free_item_quoted_free_is_within_tolerance_and_priced_is_a_deviation_without_percentage():
    free = ExpectedPrice(Decimal(0), "CS", "list_plus_markup")
    assert check_price(Decimal("0.00"), free, 2.0).within_tolerance  # was flagged "+0.00%"
    priced = check_price(Decimal(5), free, 2.0)
    assert (priced.deviation_pct, priced.within_tolerance) == (None, False)
    assert priced.reason == "free item"


def test_absurd_quotes_never_raise():
    expected = ExpectedPrice(Decimal("46.00"), "CS", "list_plus_markup")
    for quoted in (Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN")):
        check = check_price(quoted, expected, 2.0)
        assert (check.deviation_pct, check.within_tolerance) == (None, False) and "not a finite number" in check.reason
    huge = check_price(Decimal("1e30"), expected, 2.0)  # was InvalidOperation quantizing the percentage
    assert huge.deviation_pct > 1e30 and not huge.within_tolerance
    assert check_price(None, expected, 2.0).within_tolerance and not check_price(Decimal(1), None, 2.0).within_tolerance


@pytest.mark.parametrize(("value", "text"), [(Decimal("0.0345"), "0.0345"), (Decimal("46.0000"), "46.00"), (2.3, "2.30"),
                                             (Decimal("0.14375"), "0.1438"), (Decimal("11.615"), "11.615"),
                                             (Decimal("1E+40"), "1E+40"), (Decimal("NaN"), "NaN"),
                                             (float("inf"), "inf")])
def test_price_text_shows_cents_or_the_decimals_a_price_has(value, text):
    assert price_text(value) == text


async def test_expected_price_reads_units_and_pack_sizes_from_the_reference_tables(env, tmp_path):
    await load_reference(env, tmp_path / "ref", spec_items__csv=SPEC_HEADER + "802,X-802,Widget,CS,0,12 ea\n",
                         pricing_master__csv=PRICING_HEADER + "802,,24.00,cs,,\n803,,4.00,EA,,\n803,,48.00,CS,,\n"
                         "804,,50.00,,,\n804,1187,40.00,CS,2026-01-01,\n")

    async def price(item, units):
        return await env.db.read_sync(expected_price, item, "1187", "2026-11-02", DRISCOLL, units)

    assert (await price("802", "EA")).unit_price == Decimal("2.30")  # was 27.60, the case price
    assert (await price("803", "Each")).unit_price == Decimal("4.60")  # was 55.20, the CS row
    assert (await price("803", "Case")).unit_price == Decimal("55.20")
    assert (await price("804", "Case")).basis == "customer_price"  # was the blank-unit list price + 15%
    assert (await price("803", "LB")).note == "no price per LB: priced per CS/EA; spec_items gives no pack count to convert"
    assert await price("999", "EA") is None


def test_a_deviation_just_over_the_tolerance_is_flagged_though_shown_rounded():
    from decimal import Decimal

    from worker.pricing import ExpectedPrice, check_price

    expected = ExpectedPrice(Decimal("250.00"), "CS", "customer_price")
    over = check_price(255.01, expected, 2.0)  # +2.004%
    assert (over.deviation_pct, over.within_tolerance) == (2.0, False)
    assert check_price(255.00, expected, 2.0).within_tolerance  # exactly +2%: the boundary is inclusive


async def test_a_dated_row_applies_only_within_its_dates_and_the_newest_started_wins(env, tmp_path):
    # 810: 10.00 through 2025, 12.00 from 2026 (open-ended). 811: an open-ended 10.00 from 2025 overlapped by
    # 12.00 from 2026: the newer row wins once both apply. 812: the customer's rows end the day before or start
    # the day after 2026-03-01: neither applies, the list price (+ 15%) does.
    await load_reference(env, tmp_path / "ref", pricing_master__csv=PRICING_HEADER
                         + "810,1187,10.00,CS,2025-01-01,2025-12-31\n810,1187,12.00,CS,2026-01-01,\n"
                         "811,1187,10.00,CS,2025-01-01,\n811,1187,12.00,CS,2026-01-01,\n"
                         "812,1187,7.00,CS,2025-01-01,2026-02-28\n812,1187,8.00,CS,2026-03-02,\n812,,20.00,CS,,\n"
                         "813,1187,9.00,CS,2026-01-01,2026-02-28\n")

    async def price(item, on):
        found = await env.db.read_sync(expected_price, item, "1187", on, DRISCOLL, "CS")
        return found and (found.unit_price, found.basis)

    assert await price("810", "2026-03-01") == (Decimal("12.00"), "customer_price")
    assert await price("810", "2025-06-01") == (Decimal("10.00"), "customer_price")
    assert await price("810", "2025-12-31") == (Decimal("10.00"), "customer_price")  # both ends inclusive
    assert await price("810", "2026-01-01") == (Decimal("12.00"), "customer_price")
    assert await price("810", "2024-12-31") is None  # before any row
    assert await price("811", "2026-03-01") == (Decimal("12.00"), "customer_price")
    assert await price("811", "2025-06-01") == (Decimal("10.00"), "customer_price")
    assert await price("812", "2026-03-01") == (Decimal("23.00"), "list_plus_markup")  # ended yesterday, starts tomorrow
    assert await price("812", "2026-03-02") == (Decimal("8.00"), "customer_price")
    assert await price("812", "2026-02-28") == (Decimal("7.00"), "customer_price")
    assert await price("813", "2026-03-01") is None  # its only row ended the day before: no price at all
