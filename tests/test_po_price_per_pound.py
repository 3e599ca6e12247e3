"""Audit CC7: a price per pound on a PO without a unit column ("Price/LB" header, "$4.25/lb" or "4.25 per lb" in
the cell) is never compared with a per-case list price: the line is flagged price_unit_differs (warning) when
our item is sold by the case, and compared as before when it is sold by the pound."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tests.po.layouts import Page
from tests.test_email_fixtures import order_email
from worker.env import Env
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.po.parser import (
    PRICE_PER_UNIT,
    ParseHints,
    parse_purchase_order,
    price_units,
)
from worker.po.textlayer import extract_pdf

CHICKEN = ("DF-10023", "CHICKEN BREAST BNLS 4OZ IQF 10# CS")  # Driscoll's, ours sold per CS at 45.50
BEEF = ("DF-30088", "BEEF GROUND 80/20 CHUB 10LB")  # ours sold per LB at 3.89


def _pdf(price_head: str, rows: list[tuple[str, ...]], total: str, uom: bool = False) -> bytes:
    """A one-page order: Item, Description, Qty, (UOM,) a price column headed `price_head`, Amount, Total."""
    p = Page()
    p.t(40, 45, "Driscoll Foods", font=("Helvetica-Bold", 16))
    p.t(400, 70, "PO #: PO-3003")
    p.t(400, 82, "Date: 03/20/2026")
    p.block(40, 110, "Bill To:", ["Driscoll Foods", "17 Industrial Road", "Clifton, NJ 07011"])
    heads = ["Item", "Description", "Qty"] + (["UOM"] if uom else []) + [price_head, "Amount"]
    xs = [40, 110, 330] + ([380] if uom else []) + [440, 520]
    for x, head in zip(xs, heads, strict=True):
        p.t(x, 180, head, font=("Helvetica-Bold", 8))
    y = 180
    for row in rows:
        y += 13
        for x, cell in zip(xs, row, strict=True):
            p.t(x, y, cell)
    p.t(400, y + 25, "Total:")
    p.t(520, y + 25, total)
    return p.done()


@pytest.mark.parametrize(("head", "cell"), [("Price/LB", "4.55"), ("Price per lb", "4.55"), ("Unit Price (LB)", "4.55"),
                                            ("Unit Price", "$4.55/lb"), ("Unit Price", "4.55 per lb")])
def test_the_parser_names_the_unit_a_price_is_printed_per(head, cell) -> None:
    po = parse_purchase_order(extract_pdf(_pdf(head, [(*CHICKEN, "20", cell, "91.00")], "91.00"), 50),
                              ParseHints(today=date(2026, 3, 21)))
    [line] = po.lines
    assert (line.quantity, line.uom, line.unit_price, line.amount) == (20, None, Decimal("4.55"), Decimal("91.00"))
    assert price_units(po) == {1: "LB"}
    [info] = [f for f in po.findings if f.code == PRICE_PER_UNIT]
    assert info.severity == "info" and [f for f in po.findings if f.severity != "info"] == []


def test_a_plain_price_header_names_no_unit() -> None:
    po = parse_purchase_order(extract_pdf(_pdf("Unit Price", [(*CHICKEN, "2", "45.50", "91.00")], "91.00"), 50))
    assert price_units(po) == {} and po.findings == []


def test_a_price_per_lb_header_over_a_case_line_is_no_case_price() -> None:
    # With a unit column, the header's unit is the price's as a "4.55/LB" cell's is (price_in_other_unit).
    po = parse_purchase_order(extract_pdf(_pdf("Price/LB", [(*CHICKEN, "2", "CS", "4.55", "91.00")], "91.00",
                                               uom=True), 50), ParseHints(today=date(2026, 3, 21)))
    [line] = po.lines
    assert (line.uom, line.unit_price) == ("CS", None)
    assert [f.code for f in po.findings] == ["price_unit_differs"]


async def _flags(env: Env, pdf: bytes) -> tuple[list[dict], dict]:
    received = await accept_raw(env, order_email([("po.pdf", pdf)]), door="http")
    await process_email(env, received.email_id)
    item = dict(await env.db.fetchone("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,)))
    return json.loads(item["flags_json"]), json.loads(item["parsed_json"])


@pytest.mark.parametrize(("head", "cell"), [("Price/LB", "4.55"), ("Unit Price", "$4.55/lb")])
async def test_a_per_pound_price_for_an_item_sold_by_the_case_is_flagged_not_compared(seeded: Env, head,
                                                                                     cell) -> None:
    # Before, 4.55 was checked as the price of a case listed at 45.50: a -90% price_deviation, never the real issue.
    flags, parsed = await _flags(seeded, _pdf(head, [(*CHICKEN, "20", cell, "91.00")], "91.00"))
    codes = {f["code"] for f in flags}
    assert "price_deviation" not in codes
    [differs] = [f for f in flags if f["code"] == "price_unit_differs"]
    assert (differs["severity"], differs["line_no"], differs["item_id"]) == ("warning", 1, "I448812")
    assert "per LB" in differs["message"] and "sold per CS" in differs["message"]
    [line] = parsed["lines"]
    assert (line["item_id"], line["uom"], line["unit_price"]) == ("I448812", None, 4.55)


async def test_a_per_pound_price_for_an_item_sold_by_the_pound_is_compared(seeded: Env) -> None:
    flags, _ = await _flags(seeded, _pdf("Price/LB", [(*BEEF, "20", "3.89", "77.80"), (*BEEF, "10", "9.00", "90.00")],
                                         "167.80"))
    assert {(f["code"], f.get("line_no")) for f in flags if f["severity"] != "info"} == {("price_deviation", 2)}
