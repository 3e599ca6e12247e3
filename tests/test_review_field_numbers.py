"""The order form's fields show the PO's numbers as it prints them: a quantity without a trailing '.0', a price
with at least two decimals and every decimal it has (never rounded: the field is what is approved)."""

from __future__ import annotations

import re

import pytest

from handlers.review.order_form import price_field, quantity_text, rows_from_parsed
from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in


@pytest.mark.parametrize(("value", "shown"), [
    (12.0, "12"), (2.5, "2.5"), ("3", "3"), (1e2, "100"), (0.0, "0"), (None, ""), ("abc", "abc"), ("1,5", "1,5"),
    (True, "True"), (float("nan"), "nan"),
])
def test_a_quantity_is_shown_normalized(value, shown):
    assert quantity_text(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (90.5, "90.50"), (12, "12.00"), (64.0, "64.00"), (0.0345, "0.0345"), (0.00001, "0.00001"), (-3.1, "-3.10"),
    ("61.00", "61.00"), (1e2, "100.00"), (None, ""), ("x", "x"),
])
def test_a_price_shows_cents_and_every_decimal_it_has(value, shown):
    assert price_field(value) == shown


def test_the_parsed_lines_become_rows_as_the_po_prints_them():
    parsed = {"lines": [{"line_no": 1, "quantity": 12.0, "unit_price": 90.5}, {"line_no": 2, "quantity": 2.5,
                                                                                "unit_price": 0.0345}]}
    assert [(r["qty"], r["price"]) for r in rows_from_parsed(parsed, {})] == [("12", "90.50"), ("2.5", "0.0345")]


def test_the_order_page_shows_them_so(server):
    parsed = parsed_po()
    parsed["lines"][0] |= {"quantity": 12.0, "unit_price": 90.5}
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn, parsed=parsed))[1]))
    page = sign_in(server.url).get(f"/review/orders/{item}").text
    shown = {name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1)
             for name in ("l0_qty", "l0_price", "l1_qty", "l1_price")}
    assert shown == {"l0_qty": "12", "l0_price": "90.50", "l1_qty": "20", "l1_price": "64.00"}  # were 12.0, 90.5, 64.0
