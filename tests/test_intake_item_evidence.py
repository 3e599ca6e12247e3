"""Which item a line's printed evidence names, when the evidence disagrees (audit CC): a manufacturer's number that
equals one of our internal ids, a customer cross-reference against our own printed code, a fresh line against a
frozen item. Real PDFs (reportlab) through the real extraction, parser and intake pipeline."""
from __future__ import annotations

import json

from tests.po.layouts import Page
from tests.test_email_fixtures import DRISCOLL, order_email
from worker.env import Env
from worker.intake.lines import conflict
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.po.columns import role_of

# Numeric internal ids, as NetSuite has them, beside the fixtures' items.
ITEMS = [("511", "CHK-BRST-IQF6", "Chicken Breast IQF 6oz", "118.50"),
         ("512", "CHK-TEND-BRD", "Chicken Tenders Breaded 4/5 LB", "89.90"),
         ("530", "MILK-2PCT", "2% Milk", "24.00"),
         ("551", "GLV-NIT-L", "Nitrile Gloves Large", "58.90"),
         ("501", "MM-CHZ-AM160", "MM AMERICAN CHEESE SLICES 4/160", "52.75"),
         ("507", "MM-CHZ-PJ160", "MM PEPPER JACK SLICES 4/160", "52.75")]


def _seed(conn) -> None:
    for item_id, code, desc, price in ITEMS:
        conn.execute("INSERT INTO spec_items (item_id, item_code, description, uom) VALUES (?,?,?,'CS')",
                     (item_id, code, desc))
        conn.execute("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom) VALUES (?,'',?,'CS')",
                     (item_id, float(price)))
    conn.execute("INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id) VALUES (?,?,?)",
                 (DRISCOLL, "DF-100160", "501"))


def _pdf(cols: list[tuple[str, float, bool]], rows: list[tuple[str, ...]], total: str) -> bytes:
    """A one-page order: letterhead, a header row of (title, x, right-aligned) and its rows, a total."""
    p = Page()
    p.t(40, 40, "Driscoll Foods", font=("Helvetica-Bold", 13))
    p.t(380, 40, "PURCHASE ORDER", font=("Helvetica-Bold", 9))
    p.t(380, 54, "PO No.: DF-0918")
    p.t(380, 66, "PO Date: 11/21/2026")
    y = 100.0
    for title, x, right in cols:
        p.t(x, y, title, right=right, font=("Helvetica-Bold", 9))
    for row in rows:
        y += 14
        for (_, x, right), s in zip(cols, row):
            p.t(x, y, s, right=right)
    p.t(440, y + 30, "Total")
    p.t(575, y + 30, total, right=True)
    return p.done()


async def _intake(env: Env, pdf: bytes) -> tuple[list[dict], list[dict]]:
    await env.db.write(_seed)
    received = await accept_raw(env, order_email([("order.pdf", pdf)]), door="http")
    assert await process_email(env, received.email_id) == "processed"
    item = dict(await env.db.fetchone("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,)))
    return json.loads(item["parsed_json"])["lines"], json.loads(item["flags_json"])


def _unsure(flags: list[dict]) -> dict[int, dict]:
    return {f["line_no"]: f for f in flags if f["code"] == "uncertain_item"}


# po9b_mfr: "Item #" prints our code, "Mfr #" the manufacturer's number, which for tenders equals our chicken
# breast's internal id 511 (and for gloves our milk's 530).
MFR_COLS = [("Qty", 50, True), ("UOM", 58, False), ("Item #", 90, False), ("Mfr #", 170, False),
            ("Description", 215, False), ("Pack/Size", 370, False), ("Price", 500, True), ("Amount", 575, True)]
MFR_ROWS = [("3", "CS", "CHK-TEND-BRD", "511", "Breaded Chicken Tenders", "4/5 LB", "89.90", "269.70"),
            ("2", "CS", "GLV-NIT-L", "530", "Nitrile Gloves Large", "10/100", "58.90", "117.80")]


def test_a_manufacturer_number_column_is_its_own_kind() -> None:
    for header in ("Mfr #", "MFG #", "Manufacturer Part #", "Mfr. No."):
        assert role_of(header) == "mfr_code", header
    assert role_of("Vendor Item #") == role_of("GFS Item") == "vendor_code"


async def test_a_manufacturer_number_equal_to_an_internal_id_never_beats_the_printed_item_code(seeded: Env) -> None:
    lines, flags = await _intake(seeded, _pdf(MFR_COLS, MFR_ROWS, "387.50"))
    assert [(ln["customer_item_code"], ln["vendor_item_code"], ln["item_id"]) for ln in lines] == [
        ("CHK-TEND-BRD", None, "512"), ("GLV-NIT-L", None, "551")]  # were 511 and 530, by the Mfr #
    assert not _unsure(flags) and not [f for f in flags if f["code"] == "price_deviation"]


async def test_code_columns_naming_different_items_are_flagged_and_exact_codes_come_first(seeded: Env) -> None:
    # The same line with our internal id printed in a vendor column: the exact item code wins, and the
    # disagreement is flagged naming both items.
    cols = [(("Vendor #" if t == "Mfr #" else t), x, r) for t, x, r in MFR_COLS]
    lines, flags = await _intake(seeded, _pdf(cols, MFR_ROWS[:1], "269.70"))
    assert [(ln["customer_item_code"], ln["vendor_item_code"], ln["item_id"]) for ln in lines] == [
        ("CHK-TEND-BRD", "511", "512")]  # was 511: the internal id came before the exact code
    [flag] = _unsure(flags).values()
    assert flag["item_id"] == "512" and flag["other_item_ids"] == ["511"] and flag["severity"] == "warning"
    assert flag["message"] == (
        "line 1: item code CHK-TEND-BRD is item 512 'Chicken Tenders Breaded 4/5 LB', but vendor code 511 is the "
        "internal id of item 511 'Chicken Breast IQF 6oz'; item 512 is proposed, as matching takes an exact item "
        "code before an internal id; please confirm")


# po18b_xref_vs_vendor_similar: Driscoll's code DF-100160 is mapped to our American slices (501); our own code
# printed beside it, MM-CHZ-PJ160, is the pepper jack (507) the description names.
XREF_COLS = [("Line", 40, False), ("Our Item #", 70, False), ("Vendor Item #", 140, False),
             ("Description", 230, False), ("Qty", 420, True), ("UOM", 428, False), ("Unit Price", 510, True),
             ("Extended", 575, True)]


async def test_a_cross_reference_and_our_printed_code_naming_different_items_are_flagged(seeded: Env) -> None:
    rows = [("1", "DF-100160", "MM-CHZ-PJ160", "MM PEPPER JACK SLICES", "10", "CS", "52.75", "527.50"),
            ("2", "DF-100160", "MM-CHZ-AM160", "MM AMERICAN SLICES", "2", "CS", "52.75", "105.50")]  # they agree
    lines, flags = await _intake(seeded, _pdf(XREF_COLS, rows, "633.00"))
    assert [(ln["customer_item_code"], ln["vendor_item_code"], ln["item_id"]) for ln in lines] == [
        ("DF-100160", "MM-CHZ-PJ160", "501"), ("DF-100160", "MM-CHZ-AM160", "501")]
    unsure = _unsure(flags)
    assert sorted(unsure) == [1]  # was none: the vendor code was never looked at
    assert unsure[1]["item_id"] == "501" and unsure[1]["other_item_ids"] == ["507"]
    assert unsure[1]["message"] == (
        "line 1: customer code DF-100160 maps to item 501 'MM AMERICAN CHEESE SLICES 4/160', but vendor code "
        "MM-CHZ-PJ160 is item 507 'MM PEPPER JACK SLICES 4/160'; item 501 is proposed, as matching takes the "
        "customer's cross-reference first; please confirm")


def test_fresh_against_frozen_is_a_conflict_and_iqf_is_frozen() -> None:
    assert conflict("Chicken Breast Fresh 6oz", "Chicken Breast IQF 6oz") == "FRESH where the item has FROZEN"
    assert conflict("CHICKEN BREAST CHILLED 6OZ", "CHICKEN BREAST FRZ 6OZ") == "FRESH where the item has FROZEN"
    assert conflict("chicken breast frozen 4oz", "CHICKEN BREAST BNLS 4OZ IQF 10# CS") is None
    assert conflict("Chicken breast 6oz", "Chicken Breast IQF 6oz") is None  # a line that omits it: no difference
    assert conflict("PEAS FRESH FROZEN", "PEAS FROZEN 12/2.5LB") is None


# po26b_fresh: no code of ours, the description is all there is; our only chicken breast is IQF (similarity 0.81).
async def test_a_fresh_line_matched_to_a_frozen_item_by_description_is_flagged(seeded: Env) -> None:
    cols = [("Cust Item #", 40, False), ("Description", 120, False), ("Qty", 360, True), ("UOM", 370, False),
            ("Unit Price", 470, True), ("Amount", 560, True)]
    rows = [("BSL-0101", "Chicken Breast Fresh 6oz", "4", "CS", "118.50", "474.00")]
    lines, flags = await _intake(seeded, _pdf(cols, rows, "474.00"))
    assert [ln["item_id"] for ln in lines] == ["511"]  # proposed, for the reviewer to confirm
    [flag] = _unsure(flags).values()  # was none: similarity 0.81 passed as a match
    assert flag["item_id"] == "511" and flag["message"] == (
        "line 1: item 511 'Chicken Breast IQF 6oz' proposed from the description (similarity 0.81), but the line "
        "reads FRESH where the item has FROZEN; please confirm")
