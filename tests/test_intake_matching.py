"""Customer and line matching against a real SQLite file; similarity and the outlier rule tested directly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.test_email_fixtures import DRISCOLL, HARBOR, NOW, seed_reference
from worker.env import Env
from worker.intake.customers import customer_flags, match_customer
from worker.intake.lines import (
    LineMatcher,
    conflict,
    in_unit,
    quantity_outlier,
    similarity,
    unlike,
)
from worker.po.model import POLine, PurchaseOrder
from worker.pricing import Pack, ProgramTerms

STANDARD = ProgramTerms("standard", 0.0, "prepaid", 30, False)
OWN = frozenset({"gfs.local"})


@pytest.fixture
async def db(env: Env) -> Env:
    await env.db.write(seed_reference)
    return env


def _po(**kw) -> PurchaseOrder:
    return PurchaseOrder(**kw)


@pytest.mark.parametrize(("senders", "po", "customer", "method"), [
    (["buyer@driscollfoods.com"], None, DRISCOLL, "contact"),
    (["ORDERS@DriscollFoods.com"], None, DRISCOLL, "email"),
    (["someone.new@driscollfoods.com"], None, DRISCOLL, "domain"),
    (["someone@gmail.com"], _po(buyer="DRISCOLL FOODS INC."), DRISCOLL, "name"),
    (["someone@gmail.com"], _po(buyer="Driscoll"), DRISCOLL, "synonym"),
    (["rep@gfs.local"], _po(bill_to=["Harbor Grill Group", "88 Water St"]), HARBOR, "name"),
    (["rep@gfs.local"], _po(ship_to=["Harbor Grill Group Seaport", "1 Seaport Blvd"]), HARBOR, "ship_to"),
    (["x@unknown.example"], _po(lines=[POLine(line_no=1, description="MELT MATES AMERICAN SLICES")]), DRISCOLL, "brand"),
    (["x@unknown.example"], _po(buyer="Someone Else Entirely"), None, "none"),
])
async def test_customer_match_order_of_evidence(db: Env, senders, po, customer, method) -> None:
    match = await db.db.write(match_customer, senders, po, OWN)
    assert (match.customer_id, match.method) == (customer, method)
    assert (match.confidence > 0) is (customer is not None)


async def test_free_mail_and_our_own_domain_never_match_by_domain(db: Env) -> None:
    def add(conn):
        conn.execute("INSERT INTO customer_contacts (ns_id, customer_id, email, last_modified) VALUES ('c9', ?, "
                     "'owner@gmail.com', ?)", (HARBOR, NOW))
    await db.db.write(add)
    assert (await db.db.write(match_customer, ["other@gmail.com"], None, OWN)).customer_id is None
    assert (await db.db.write(match_customer, ["owner@gmail.com"], None, OWN)).customer_id == HARBOR  # exact is fine


async def test_ambiguous_domain_and_mismatch_are_flagged(db: Env) -> None:
    def add(conn):
        conn.execute("INSERT INTO customer_contacts (ns_id, customer_id, email, last_modified) VALUES ('c8', ?, "
                     "'ap@driscollfoods.com', ?)", (HARBOR, NOW))
    await db.db.write(add)
    match = await db.db.write(match_customer, ["new@driscollfoods.com"], None, OWN)
    assert match.customer_id is None and set(match.candidates) == {DRISCOLL, HARBOR}
    [flag] = await db.db.write(customer_flags, match, None)
    assert flag["code"] == "ambiguous_customer"
    exact = await db.db.write(match_customer, ["buyer@driscollfoods.com"], _po(buyer="Harbor Grill Group"), OWN)
    [flag] = await db.db.write(customer_flags, exact, _po(buyer="Harbor Grill Group"))
    assert flag["code"] == "customer_mismatch" and flag["printed_customer_id"] == HARBOR


async def test_a_deleted_customers_contacts_match_nobody(db: Env) -> None:
    def delete_driscoll(conn):
        conn.execute("UPDATE customers SET deleted_at = ? WHERE ns_id = ?", (NOW, DRISCOLL))
    await db.db.write(delete_driscoll)
    # buyer@driscollfoods.com is a live contact of Driscoll: neither the address nor its domain may name it
    for sender in ("buyer@driscollfoods.com", "someone.new@driscollfoods.com"):
        match = await db.db.write(match_customer, [sender], None, OWN)
        assert (match.customer_id, match.method) == (None, "none")


def _line(n, code=None, vendor=None, desc=None, qty="10", price="45.50", uom="CS") -> POLine:
    return POLine(line_no=n, customer_item_code=code, vendor_item_code=vendor, description=desc,
                  quantity=Decimal(qty), unit_price=Decimal(price) if price else None, uom=uom)


async def test_line_matching_order_and_checks(db: Env) -> None:
    def seed_history(conn):
        for n, qty in enumerate([4, 5, 6, 5]):
            conn.execute("INSERT INTO transactions (ns_id, customer_id, tran_date, last_modified) VALUES (?,?,?,?)",
                         (f"so{n}", DRISCOLL, f"2025-0{n + 1}-01", NOW))
            conn.execute("INSERT INTO transaction_lines (transaction_id, line_no, item_id, quantity) VALUES (?,?,?,?)",
                         (f"so{n}", 1, "I448812", qty))
    await db.db.write(seed_history)
    po = _po(lines=[
        _line(1, code="DF-10023", qty="40"),                                        # xref; 8x the usual 5
        _line(2, code="X-1", vendor="gfs-117650", price="62.75"),                   # our code, any case
        _line(3, desc="POTATO FRY 3/8 STRAIGHT CUT FROZEN 6/5 LB", price="45.00"),  # description; +17.8 %
        _line(4, code="ZZ-9", desc="UNOBTAINIUM WIDGETS"),                          # unknown
    ])

    def run(conn):
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).apply(po, "2026-03-01")

    flags, matched = await db.db.write(run)
    assert [ln.item_id for ln in po.lines] == ["I448812", "I117650", "I330071", None] and matched == 0.75
    codes = {(f["code"], f.get("line_no")) for f in flags}
    assert codes == {("quantity_outlier", 1), ("price_deviation", 3), ("unknown_item", 4)}
    deviation = next(f for f in flags if f["code"] == "price_deviation")
    assert deviation["expected"] == 38.20 and deviation["deviation_pct"] == 17.8


async def test_customer_code_is_never_read_as_our_item_id(db: Env) -> None:
    def seed(conn):  # numeric internal ids, as NetSuite has them
        conn.executemany("INSERT INTO spec_items (item_id, item_code, description, uom) VALUES (?,?,?,?)",
                         [("5001", "CHS-CHED-40", "Cheddar block, mild, 40 lb", "CS"),
                          ("5003", "OIL-CAN-35", "Canola oil, 35 lb jug", "EA")])
    await db.db.write(seed)
    po = _po(lines=[_line(1, code="5001", desc="Canola oil 35 lb jug"),  # the customer's SKU, not our 5001
                    _line(2, vendor="5001", desc="Cheddar block mild 40 lb")])  # our id printed as vendor code

    def run(conn):
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).apply(po, "2026-03-01")

    flags, _ = await db.db.write(run)
    assert [ln.item_id for ln in po.lines] == ["5003", "5001"]
    assert not [f for f in flags if f["code"] == "uncertain_item"]


async def test_code_match_with_an_unlike_description_is_flagged(db: Env) -> None:
    def seed(conn):  # a wrong mapping: Driscoll's napkin code points at our chicken
        conn.execute("INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id) VALUES (?,?,?)",
                     (DRISCOLL, "DF-90045", "I448812"))
    await db.db.write(seed)
    po = _po(lines=[_line(1, code="DF-90045", desc="Napkin dinner 2 ply white"),
                    _line(2, vendor="GFS-902214", desc="TOMATO DICED IN JUICE #10"),
                    _line(3, code="DF-10023", desc="Chicken breast 4oz"),  # terse but the same product
                    _line(4, code="DF-10023", desc=None)])  # nothing printed to compare

    def run(conn):
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).apply(po, "2026-03-01")

    flags, _ = await db.db.write(run)
    unsure = {f["line_no"]: f for f in flags if f["code"] == "uncertain_item"}
    assert sorted(unsure) == [1, 2] and unsure[1]["severity"] == "warning" and unsure[1]["item_id"] == "I448812"
    assert "CHICKEN BREAST BNLS 4OZ IQF 10# CS" in unsure[1]["message"]
    assert "Napkin dinner 2 ply white" in unsure[1]["message"]
    assert "BEEF GROUND 80/20 CHUB 10LB" in unsure[2]["message"]


def test_unlike_needs_both_descriptions() -> None:
    assert unlike("Napkin dinner white", "CHICKEN BREAST BNLS 4OZ IQF 10# CS")
    assert not unlike("Chicken breast", "CHICKEN BREAST BNLS 4OZ IQF 10# CS")
    assert not unlike(None, "CHICKEN BREAST") and not unlike("--", "CHICKEN BREAST") and not unlike("NAPKIN", "")


async def test_customer_price_and_program_markup(db: Env) -> None:
    def seed(conn):
        conn.execute("INSERT INTO customer_program (customer_id, program, markup_pct) VALUES (?, 'club', 10)", (HARBOR,))
    await db.db.write(seed)
    po = _po(lines=[_line(1, vendor="GFS-448812", price="50.05")])  # list 45.50 + 10 % = 50.05

    def run(conn):
        from worker.pricing import program_for
        return LineMatcher(conn, HARBOR, program_for(conn, HARBOR, STANDARD), 2.0).apply(po, "2026-03-01")

    flags, _ = await db.db.write(run)
    assert flags == []


def test_similarity_prefers_the_right_item() -> None:
    a = "CHICKEN BREAST BNLS 4OZ IQF 10# CS"
    assert similarity(a, a) == 1.0
    assert similarity("CHKN BREAST BNLS 4 OZ IQF", a) > similarity("CHKN BREAST BNLS 4 OZ IQF", "BEEF GROUND 80/20 CHUB")
    assert similarity("", a) == 0.0


@pytest.mark.parametrize(("qty", "history", "flagged"), [
    (40, [4, 5, 6, 5], True),
    (12, [4, 5, 6, 5], False),  # more than usual but within 3x the median
    (1, [20, 25, 30], True),
    (40, [4, 5], False),        # too little history to judge
    (100, [10, 10, 120], False),  # has been ordered that big before
])
def test_quantity_outlier(qty, history, flagged) -> None:
    assert (quantity_outlier(Decimal(qty), history) is not None) is flagged


async def test_price_checks_compare_like_units_only(db: Env) -> None:
    def free_eggs(conn):
        conn.execute("UPDATE pricing_master SET unit_price = 0 WHERE item_id = 'I118803'")
    await db.db.write(free_eggs)
    po = _po(lines=[_line(1, vendor="GFS-117650", uom="EA", price="15.69"),  # 62.75 a case of 4/5 LB: 15.6875 each
                    _line(2, vendor="GFS-551209", uom="LB", price="41.00"),  # priced per case of 48 CT only
                    _line(3, vendor="GFS-118803", price="5.00")])           # a free item, quoted at a price

    def run(conn):
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).apply(po, "2026-03-01")

    flags, _ = await db.db.write(run)
    by_line = {f["line_no"]: f for f in flags}
    assert sorted(by_line) == [2, 3]  # line 1 was a -75% deviation against the case price
    assert (by_line[2]["code"], by_line[2]["severity"]) == ("price_not_comparable", "info")
    assert by_line[2]["message"] == "line 2: item I551209: no price per LB: priced per CS; check the price by hand"
    assert (by_line[3]["code"], by_line[3]["deviation_pct"], by_line[3]["expected"]) == ("price_deviation", None, 0.0)
    assert by_line[3]["message"] == "line 3: quoted 5.00 vs expected 0.00 per CS (free item)"


async def test_a_po_in_another_currency_is_never_price_checked_in_dollars(db: Env) -> None:
    lines = [_line(1, code="DF-10023", price="45.50"),                 # the list's 45.50, but in euros
             _line(2, vendor="GFS-117650", price="30.00"),             # list 62.75: was a -52% "deviation"
             _line(3, vendor="GFS-551209", uom="LB", price="41.00"),   # no comparable unit: that note stays
             _line(4, vendor="GFS-448812", price=None)]                # no price quoted: nothing to judge
    euros, dollars = _po(currency="EUR", lines=lines), _po(currency="US Dollar", lines=[lines[1].model_copy()])

    def run(conn):
        matcher = LineMatcher(conn, DRISCOLL, STANDARD, 2.0)
        return matcher.apply(euros, "2026-03-01")[0], matcher.apply(dollars, "2026-03-01")[0]

    flags, usd_flags = await db.db.write(run)
    by_line = {f["line_no"]: f for f in flags}
    assert sorted(by_line) == [1, 2, 3] and {f["code"] for f in flags} == {"price_not_comparable"}
    assert {f["severity"] for f in flags} == {"info"} and not any("expected" in f for f in flags)
    assert by_line[1]["message"] == ("line 1: item I448812: the order is in EUR; prices on file are in US dollars; "
                                     "check the price by hand")
    assert by_line[2]["message"].startswith("line 2: item I117650: the order is in EUR;")
    assert by_line[3]["message"] == "line 3: item I551209: no price per LB: priced per CS; check the price by hand"
    assert [f["code"] for f in usd_flags] == ["price_deviation"]  # US dollars, however spelled, are still checked


@pytest.mark.parametrize(("printed", "ours", "why"), [
    ("CHICKEN BREAST BNLS 8OZ IQF 10# CS", "CHICKEN BREAST BNLS 4OZ IQF 10# CS", "8OZ where the item has 4OZ"),
    ("BEEF GROUND 73/27 CHUB 10LB", "BEEF GROUND 80/20 CHUB 10LB", "73/27 where the item has 80/20"),
    ("EGGS MEDIUM GRADE A WHITE LOOSE 15DZ", "EGGS LARGE GRADE A WHITE LOOSE 15DZ", "MEDIUM where the item has LARGE"),
    ("EGGS LARGE GRADE A BROWN LOOSE 15DZ", "EGGS LARGE GRADE A WHITE LOOSE 15DZ", "BROWN where the item has WHITE"),
    ("EGGS X-LARGE WHITE 30 DOZ", "EGGS LARGE GRADE A WHITE LOOSE 15DZ", "30DZ XL where the item has 15DZ LARGE"),
    ("FLOUR ALL PURPOSE 25 LBS", "FLOUR ALL PURPOSE BLEACHED ENRICHED 50LB BAG", "25LB where the item has 50LB"),
    ("NAPKIN DINNER 3PLY 15X17", "NAPKIN DINNER 2PLY WHITE 15X17 3000CT", "3PLY where the item has 2PLY"),
    # the same item, spelled otherwise or tersely: nothing differs
    ("POTATO FRY 3/8 STRAIGHT CUT FROZEN 6/5 LB", "POTATO FRY 3/8 STRAIGHT CUT FROZEN 6/5#", None),
    ("Chicken breast 4 oz", "CHICKEN BREAST BNLS 4OZ IQF 10# CS", None),
    ("BEEF GROUND CHUB", "BEEF GROUND 80/20 CHUB 10LB", None),
    ("OIL FRYER 35.0 LB", "OIL FRYER CLEAR LIQUID SOYBEAN 35LB JIB", None),
    ("TOMATO DICED #10", "TOMATO DICED IN JUICE FANCY #10 CAN 6/CS", None),
])
def test_a_different_size_ratio_or_grade_is_a_conflict(printed, ours, why) -> None:
    assert conflict(printed, ours) == why


async def test_a_description_match_of_another_size_or_grade_is_flagged(db: Env) -> None:
    po = _po(lines=[_line(1, code="X-1", desc="CHICKEN BREAST BNLS 8OZ IQF 10# CS"),         # 0.91 to the 4OZ item
                    _line(2, code="X-2", desc="BEEF GROUND 73/27 CHUB 10LB", uom="LB", price="3.89"),
                    _line(3, code="X-3", desc="EGGS MEDIUM GRADE A WHITE LOOSE 15DZ", price="52.30"),
                    _line(4, code="X-4", desc="EGGS LARGE GRADE A BROWN LOOSE 15DZ", price="52.30"),
                    _line(5, code="X-5", desc="EGGS LARGE GRADE A WHITE LOOSE 15DZ", price="52.30"),  # exact
                    _line(6, vendor="GFS-448812", desc="CHICKEN BREAST BNLS 8OZ IQF 10# CS")])  # by code

    def run(conn):
        return LineMatcher(conn, HARBOR, STANDARD, 2.0).apply(po, "2026-03-01")

    flags, matched = await db.db.write(run)
    assert [ln.item_id for ln in po.lines] == ["I448812", "I902214", "I118803", "I118803", "I118803", "I448812"]
    unsure = {f["line_no"]: f for f in flags if f["code"] == "uncertain_item"}  # were none: all scored >= 0.84
    assert sorted(unsure) == [1, 2, 3, 4] and matched == 1.0
    assert unsure[1]["severity"] == "warning" and unsure[1]["item_id"] == "I448812"
    assert unsure[1]["message"].startswith("line 1: item I448812 'CHICKEN BREAST BNLS 4OZ IQF 10# CS' proposed "
                                           "from the description (similarity 0.91)")
    assert unsure[1]["message"].endswith(", but the line reads 8OZ where the item has 4OZ; please confirm")
    assert "73/27 where the item has 80/20" in unsure[2]["message"]


def test_past_quantities_are_compared_in_the_lines_unit() -> None:
    cases = [(10.0, "Case"), (10.0, "Case"), (10.0, "cs")]
    assert in_unit(cases, "EA", Pack("CS", 40)) == [400.0] * 3
    assert in_unit([(400.0, "Each"), (10.0, "Case")], "Case", Pack("CS", 40)) == [10.0, 10.0]
    assert in_unit(cases, "EA", Pack("CS")) == []  # no pack count: only past orders in the same unit count
    assert in_unit([(10.0, None), (40.0, "EA")], None, Pack("CS", 40)) == [10.0, 1.0]  # blank = the item's unit
    assert in_unit([(10.0, None), (12.0, "LB")], "LB", Pack()) == [10.0, 12.0]  # item unit unknown: any unit
    assert in_unit([(10.0, "Case"), (12.0, "LB")], None, Pack()) == [10.0, 12.0]  # nothing to tell apart by


async def test_quantity_outlier_converts_units_through_the_pack(db: Env) -> None:
    def seed_history(conn):  # 10 cases of 48 romaine hearts, three times
        for n in range(3):
            conn.execute("INSERT INTO transactions (ns_id, customer_id, tran_date, last_modified) VALUES (?,?,?,?)",
                         (f"so{n}", DRISCOLL, f"2025-0{n + 1}-01", NOW))
            conn.execute("INSERT INTO transaction_lines (transaction_id, line_no, item_id, quantity, units) "
                         "VALUES (?,?,?,?,?)", (f"so{n}", 1, "I551209", 10, "Case"))
    await db.db.write(seed_history)
    po = _po(lines=[_line(1, vendor="GFS-551209", qty="480", uom="EA", price=None),  # the usual 10 cases
                    _line(2, vendor="GFS-551209", qty="10", uom="EA", price=None),   # a 48th of it
                    _line(3, vendor="GFS-551209", qty="10", uom="CS", price=None),
                    _line(4, vendor="GFS-551209", qty="100", uom="CS", price=None)])

    def run(conn):
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).apply(po, "2026-03-01")

    flags, _ = await db.db.write(run)
    outliers = {f["line_no"]: f["message"] for f in flags if f["code"] == "quantity_outlier"}
    assert outliers == {  # were lines 1 ("48.0x the usual 10") and 4
        2: "line 2: quantity 10 EA is far below the usual 480 EA (min 480 in 3 orders)",
        4: "line 4: quantity 100 CS is 10.0x the usual 10 CS (max 10 in 3 orders)"}


async def test_the_customers_contract_price_is_checked_per_each_through_the_pack(db: Env) -> None:
    def seed(conn):  # list 1.00 per head; Driscoll's contract 36.00 per case of 48 = 0.75 per head
        conn.executemany("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom) VALUES (?,?,?,?)",
                         [("I551209", "", 1.00, "EA"), ("I551209", DRISCOLL, 36.00, "CS")])
    await db.db.write(seed)
    po = _po(lines=[_line(1, vendor="GFS-551209", qty="48", uom="EA", price="0.75"),
                    _line(2, vendor="GFS-551209", qty="1", uom="CS", price="36.00")])

    def run(conn):
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).apply(po, "2026-03-01")

    flags, _ = await db.db.write(run)
    assert flags == []  # was line 1: "quoted 0.75 vs expected 1.00 per EA (-25.00%, ...)"
