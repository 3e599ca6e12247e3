"""Customer and line matching against a real SQLite file; similarity and the outlier rule tested directly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.test_email_fixtures import DRISCOLL, HARBOR, NOW, seed_reference
from worker.env import Env
from worker.intake.customers import customer_flags, match_customer
from worker.intake.lines import LineMatcher, quantity_outlier, similarity, unlike
from worker.po.model import POLine, PurchaseOrder
from worker.pricing import ProgramTerms

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
    (["rep@gfs.local"], _po(ship_to=["Harbor Grill Group Seaport", "1 Seaport Blvd"]), HARBOR, "name_prefix"),
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
