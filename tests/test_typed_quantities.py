"""Typed code-first order lines: a pack size in the description is never the quantity (audit AF4)."""

from __future__ import annotations

import pytest

from worker.po.typed import typed_lines


def _read(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(str(t.quantity), t.uom, t.code, t.description) for t in typed_lines(text)]


@pytest.mark.parametrize(("text", "expected"), [
    # Audit AF4: the first number after a space was read, so each became its pack size (15 DZ, 50 LB, 10 LB, 10).
    ("DF-11876 EGGS LARGE GRADE A WHITE LOOSE 15DZ - 3 cs",
     [("3", "CS", "DF-11876", "EGGS LARGE GRADE A WHITE LOOSE 15DZ")]),
    ("DF-13384 FLOUR ALL PURPOSE 50LB BAG: 6 bags", [("6", "BG", "DF-13384", "FLOUR ALL PURPOSE 50LB BAG")]),
    ("DF-30088 BEEF GROUND 80/20 CHUB 10LB x 20", [("20", None, "DF-30088", "BEEF GROUND 80/20 CHUB 10LB")]),
    ("DF-10023 CHICKEN BREAST BNLS 4OZ IQF 10# CS x 2",
     [("2", None, "DF-10023", "CHICKEN BREAST BNLS 4OZ IQF 10# CS")]),
    # a size set off by spaces, or right after the code: the quantity is the one after the last separator
    ("DF-11876 EGGS 15 DZ - 3 cs", [("3", "CS", "DF-11876", "EGGS 15 DZ")]),
    ("DF-13384 50 LB FLOUR x 6", [("6", None, "DF-13384", "50 LB FLOUR")]),
    ("DF-13384: 50 LB BAG qty 6 bags", [("6", "BG", "DF-13384", "50 LB BAG")]),
    ("DF-30088 80/20 CHUB 10LB, 4 cs", [("4", "CS", "DF-30088", "80/20 CHUB 10LB")]),
    # and two items on a line keep their own quantities
    ("DF-13384 FLOUR 50LB x 6, DF-11876 EGGS 15DZ x 3",
     [("6", None, "DF-13384", "FLOUR 50LB"), ("3", None, "DF-11876", "EGGS 15DZ")]),
    ("DF-10023 12 cs Fries, DF-20011 x 4", [("12", "CS", "DF-10023", None), ("4", None, "DF-20011", None)]),
])
def test_a_pack_size_in_the_description_is_not_the_quantity(text, expected):
    assert _read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("DF-10023 12cs", [("12", "CS", "DF-10023", None)]),  # right after the code, it ends the line: a quantity
    ("DF-10023 Fries x 12cs", [("12", "CS", "DF-10023", "Fries")]),  # after a separator
    ("DF-10023 x 12 cases Fries 4/5#", [("12", "CS", "DF-10023", None)]),  # code, quantity, then what it is
    ("DF-10023 Fries 4/5# 2 cs", [("2", "CS", "DF-10023", "Fries 4/5#")]),  # set off by spaces at the end
    ("DF-10023 Fries x 2cs, DF-20011 x 4", [("2", "CS", "DF-10023", "Fries"), ("4", None, "DF-20011", None)]),
    ("DF-30088 BEEF GROUND 80/20 CHUB 10LB x 20 @ 31.50", [("20", None, "DF-30088", "BEEF GROUND 80/20 CHUB 10LB")]),
])
def test_a_quantity_still_reads_after_a_separator_or_at_the_end(text, expected):
    assert _read(text) == expected


@pytest.mark.parametrize("text", [
    "DF-30088 BEEF GROUND 80/20 CHUB 10LB",  # no quantity was typed: its sizes are none
    "DF-13384 FLOUR ALL PURPOSE 50LB BAG",
    "DF-10023 CHICKEN BREAST 4OZ IQF 10#",
    "DF-30088 BEEF GROUND 80/20",
    "DF-11876 EGGS 15 DZ LOOSE",  # set off by spaces inside the description
    "DF-13384 FLOUR, 50LB BAG",  # glued to its unit, and the item goes on
])
def test_a_line_with_only_sizes_has_no_quantity(text):
    assert typed_lines(text) == []
