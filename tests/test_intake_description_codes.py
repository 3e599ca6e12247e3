"""Audit CC8: an item code printed inside the description cell (no code column) is looked up as a code
(customer xref, then our item code) before the description is compared; an ordinary word never is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.test_email_fixtures import DRISCOLL, NOW, seed_reference
from worker.env import Env
from worker.intake.lines import LineMatcher, codes_in_description
from worker.po.model import POLine, PurchaseOrder
from worker.pricing import ProgramTerms

STANDARD = ProgramTerms("standard", 0.0, "prepaid", 30, False)


@pytest.fixture
async def db(env: Env) -> Env:
    def seed(conn):
        seed_reference(conn)
        # Our 6 oz breast, whose description is less like the line's than the 4 oz one the seeds hold.
        conn.execute("INSERT INTO spec_items (item_id, item_code, description, uom) VALUES (?,?,?,?)",
                     ("5010", "10234", "CHKN BRST BNLS SKNLS 6 OZ RAW", "CS"))
        conn.execute("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom) VALUES (?,?,?,?)",
                     ("5010", "", 48.0, "CS"))
        conn.executemany("INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id, updated_at) "
                         "VALUES (?,?,?,?)", [(DRISCOLL, "CHK-BRST-6OZ", "5010", NOW),
                                              (DRISCOLL, "BACON", "I448812", NOW)])  # an ordinary word as a code
    await env.db.write(seed)
    return env


def _line(n: int, desc: str) -> POLine:
    return POLine(line_no=n, description=desc, quantity=Decimal(2), uom="CS", unit_price=Decimal("48.00"))


async def _apply(db: Env, *descriptions: str):
    po = PurchaseOrder(lines=[_line(n, d) for n, d in enumerate(descriptions, 1)])

    def run(conn):
        matcher = LineMatcher(conn, DRISCOLL, STANDARD, 2.0)
        return [matcher.match(ln) for ln in po.lines], matcher.apply(po, "2026-03-01")[0]
    return await db.db.write(run)


@pytest.mark.parametrize(("text", "codes"), [
    ("CHK-BRST-6OZ Chicken breast 6oz", ["CHK-BRST-6OZ"]),
    ("Chicken breast 6oz (Item# 10234)", ["10234"]),
    ("SKU: DF-10023 chicken", ["DF-10023"]),
    ("Item No. 10234 chicken", ["10234"]),
    # A maker's number is not ours (audit CH: "Mfr Item# 10234" matched our item 10234, a chicken breast, to gloves).
    ("Nitrile gloves L (Mfr Item# 10234)", []), ("Gloves Mfr. Part No. 10234", []), ("Gloves MFG item# 10234", []),
    ("Gloves Vendor SKU: 10234", []), ("Gloves UPC item 10234", []), ("Gloves (Mfr 55) Item# 10234", ["10234"]),
    ("10LB BAG FLOUR", []), ("80/20 GROUND BEEF", []), ("2PLY NAPKIN", []), ("15X17 NAPKIN", []),
    ("#10 CAN TOMATO", []), ("BACON SLICED 14/18", []), ("Item 12 cases", []), (None, []),
])
def test_the_words_of_a_description_that_may_be_a_code(text, codes) -> None:
    assert codes_in_description(text) == codes


async def test_a_code_in_the_description_is_looked_up_before_the_description(db: Env) -> None:
    # Before, both lines fell to the description: the 4 oz breast (I448812) or nothing, never the 6 oz one.
    matches, flags = await _apply(db, "CHK-BRST-6OZ Chicken breast 6oz", "Chicken breast 6oz (Item# 10234)")
    assert [(m.item_id, m.method) for m in matches] == [("5010", "xref"), ("5010", "item_code")]
    assert [m.evidence for m in matches] == [(("xref", "CHK-BRST-6OZ", "5010"),), (("code", "10234", "5010"),)]
    assert not [f for f in flags if f["code"] in ("uncertain_item", "unknown_item", "price_deviation")]


async def test_an_ordinary_word_or_an_unknown_code_never_makes_a_match(db: Env) -> None:
    # "BACON" is in the xref, but a word without a digit is never read as a code; "ZZ-999" is no known code.
    matches, _ = await _apply(db, "BACON SLICED 14/18 LAYFLAT SMOKED 15LB", "ZZ-999 POTATO FRY 3/8 STRAIGHT CUT 6/5#")
    assert [(m.item_id, m.method) for m in matches] == [("I125544", "description"), ("I330071", "description")]


async def test_a_line_with_its_own_code_does_not_read_the_description(db: Env) -> None:
    po = PurchaseOrder(lines=[POLine(line_no=1, customer_item_code="GFS-117650", description="CHK-BRST-6OZ cheese",
                                     quantity=Decimal(1), uom="CS")])

    def run(conn):
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).match(po.lines[0])
    found = await db.db.write(run)
    assert (found.item_id, found.evidence) == ("I117650", (("code", "GFS-117650", "I117650"),))
