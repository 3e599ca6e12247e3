"""Order lines typed into an email's text: candidates (pure) and the PO number of running text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from worker.po import typed
from worker.po.header import po_number_in_text
from worker.po.typed import MAX_CANDIDATES, order_text_lines, typed_lines


def _read(text: str) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    return [(str(t.quantity), t.uom, t.code, t.description, None if t.unit_price is None else str(t.unit_price))
            for t in typed_lines(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("12 cs DF-10023 Fries 4/5#", [("12", "CS", "DF-10023", "Fries 4/5#", None)]),
    ("Please send 10 cases of DF-10023 by Friday.", [("10", "CS", "DF-10023", None, None)]),  # prose is no description
    ("- 10 cs DF-10023, 4 cs df-20011 @ 31.50", [("10", "CS", "DF-10023", None, None),
                                                 ("4", "CS", "DF-20011", None, "31.50")]),
    ("DF-10023 - Fries 4/5#: 12 cs", [("12", "CS", "DF-10023", "Fries 4/5#", None)]),
    ("DF-10023 x 12, DF-20011 x 4", [("12", None, "DF-10023", None, None), ("4", None, "DF-20011", None, None)]),
    ("item DF-10023 qty 12 cases at $31.50", [("12", "CS", "DF-10023", None, "31.50")]),
    ("2. 4 cs 10023", [("4", "CS", "10023", None, None)]),  # a numbered list's number is not a quantity
    ("12x GFS-448812", [("12", None, "GFS-448812", None, None)]),
    ("1.5 lb AB12", [("1.5", "LB", "AB12", None, None)]),
    ("3 cases romaine hearts", [("3", "CS", None, "romaine hearts", None)]),  # described, not coded
])
def test_typed_order_lines_are_read_in_their_usual_spellings(text, expected):
    assert _read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Diced tomato 6/#10 DF-72014 x 3", ("3", None, "DF-72014")),  # '#10' is a can size
    ("4/5# fries DF-10023 x 2", ("2", None, "DF-10023")),  # '4/5' is a pack, not a code
    ("Fries 4/5lb DF-10023 2 cs", ("2", "CS", "DF-10023")),  # 10023 is part of the code, not a quantity
    ("12/1 qt DF-50001 x 2", ("2", None, "DF-50001")),
    ("Ranch 4/1 gal DF-60001 qty 5", ("5", None, "DF-60001")),
    ("DF-40001 6/#10 tomato sauce: 3", ("3", None, "DF-40001")),
    ("DF-10023 Fries 4/5# - 2", ("2", None, "DF-10023")),  # a dash between spaces still separates
])
def test_pack_sizes_and_code_parts_are_never_quantities(text, expected):
    assert [(str(t.quantity), t.uom, t.code) for t in typed_lines(text)] == [expected]


@pytest.mark.parametrize("text", [
    "3 days ago the truck was late",
    "We need 2 cases got damaged",  # not at the start of a line: prose
    "See you on 12/05",
    "0 cs DF-10023",  # nothing to order
    "Thanks, Bob",
    "2026-11-22 - 3 pallets",  # a date is not a code
    "554 Too many hops 19 (17 max): from <admin@www.example.org>",  # a bounce's status line names an address
    "5001 Romaine 12 - questions to buyer@driscollfoods.com",
])
def test_prose_gives_no_line(text):
    assert typed_lines(text) == []


def test_a_number_in_prose_is_only_a_candidate_and_carries_its_line():
    [candidate] = typed_lines("Call me about 2 x DF-1234 if anything is missing")
    assert (candidate.quantity, candidate.code) == (Decimal(2), "DF-1234")  # the intake keeps it only if DF-1234 is ours
    assert candidate.text == "Call me about 2 x DF-1234 if anything is missing" and not candidate.listed


@pytest.mark.parametrize("text", [
    "Call me at 555 1234 if anything is missing",  # digits after digits in prose: a phone number
    "Date: Mon, 01 Dec 1997 12:24:00 -0500",
    "Mobile: +39 335 7368459",
    "Zero termico: 2200 m; T 1500 m",
    "Cap. Soc. euro 347.256.998,80",  # an amount
    "ore 7.00: 1021 hPa",
])
def test_numbers_in_prose_are_not_codes(text):
    assert typed_lines(text) == []


def test_a_numeric_code_counts_after_a_unit_or_on_an_order_line():
    assert [(t.code, t.listed) for t in typed_lines("please send 10 cases of 5001 too")] == [("5001", False)]
    assert [(t.code, t.listed) for t in typed_lines("5001 x 10")] == [("5001", True)]


@pytest.mark.parametrize(("text", "listed"), [
    ("2 cs XYZ-999 special order", True),  # quantity and unit first: an order line even with an unknown code
    ("- XYZ-999 x 2", True),  # a code and its quantity
    ("12 XYZ-999", False),  # no unit: only a known item makes it a line
    ("please send 10 cases of XYZ-999", False),  # in a sentence
])
def test_order_line_shape(text, listed):
    [candidate] = typed_lines(text)
    assert candidate.listed is listed


def test_quoted_replies_signatures_and_reply_headers_are_not_this_messages_order():
    text = ("Hi,\n\n10 cs DF-10023\n> 4 cs DF-20011\n-- \nBob\n5 cs DF-99999\n")
    assert [t.code for t in typed_lines(text)] == ["DF-10023"]
    assert order_text_lines("12 cs A1\nOn Mon, 3 Nov 2026 at 09:12, Ann <a@x.com> wrote:\n12 cs B2") == ["12 cs A1"]
    assert order_text_lines("12 cs A1\n-----Original Message-----\n12 cs B2") == ["12 cs A1"]


def test_a_pasted_catalogue_is_cut_at_the_candidate_limit():
    assert len(typed_lines("\n".join(f"1 cs A{n:04d}" for n in range(MAX_CANDIDATES + 50)))) == MAX_CANDIDATES


def test_a_line_longer_than_an_order_line_is_not_read():
    line = "12 cs DF-10023 Fries 4/5# frozen"
    long = (line + " " + "x" * typed.MAX_LINE_CHARS)[:typed.MAX_LINE_CHARS]
    assert [t.code for t in typed_lines(f"2 cs DF-20011\n{long}\n3 cs DF-30088")] == ["DF-20011", "DF-10023", "DF-30088"]
    assert [t.code for t in typed_lines(f"2 cs DF-20011\n{long}x\n3 cs DF-30088")] == ["DF-20011", "DF-30088"]
    assert typed_lines("A1 x 1/" * 2857) == []  # audit AF1b: this 20,000-character line took ~50 s


# Audit AF1b: lines of these shapes took quadratic time in their length (a code's description scanned to the end
# of the line; the look-back for "1,2000" and the address search tried every earlier character). With the line
# bound lifted, each is now read in about a second at most; the timeout is a guard, not a measure (before: minutes).
@pytest.mark.timeout(20)
@pytest.mark.parametrize(("unit", "size"), [("A1 x 1/", 40_000), ("A1 x", 40_000), (" 1, DF-1", 100_000),
                                            ("11a\t1,@", 100_000), ("a", 100_000)])
def test_hostile_lines_take_time_linear_in_their_length(monkeypatch, unit, size):
    monkeypatch.setattr(typed, "MAX_LINE_CHARS", 10**6)
    typed_lines(unit * (size // len(unit)))


@pytest.mark.timeout(20)
def test_a_worst_shaped_line_under_the_bound_is_read_quickly():
    # Many codes, each followed by separators whose numbers are sizes: every code tries its whole description.
    unit = "DF-1 EGGS 15DZ 80/20 10# x "
    lines = [(unit * (typed.MAX_LINE_CHARS // len(unit) + 1))[:typed.MAX_LINE_CHARS] for _ in range(20)]
    assert all(len(line) == typed.MAX_LINE_CHARS for line in lines)
    typed_lines("\n".join(lines))


@pytest.mark.parametrize(("texts", "expected"), [
    (["PO 4471 - order for Friday"], "4471"),
    (["Our PO# A-55812, thanks"], "A-55812"),
    (["Re: Purchase Order No. 77-1203."], "77-1203"),
    (["order # 5566 for next week"], "5566"),
    (["", "no number here", "PO: 88123"], "88123"),  # the subject first, then the body's lines
    (["PO Box 1234"], None),
    (["TPO 1234"], None),  # a label inside a word is no label
    (["PO: 12/05/2026"], None),  # a date is not a PO number
    (["see photo 12"], None),
])
def test_po_number_in_running_text(texts, expected):
    assert po_number_in_text(texts) == expected


def test_real_mail_without_orders_gives_no_candidates(corpora):
    # 51 real-world messages (lists, bounces, newsletters, Outlook forwards): dates, phone numbers, amounts
    # and times in their text must not look like order lines.
    from worker.intake.mime import read_mail

    messages = [p for p in sorted((corpora / "emails").rglob("*")) if p.is_file()]
    assert len(messages) > 40
    found = {p.name: typed_lines(read_mail(p.read_bytes()).body_text(20_000)) for p in messages}
    assert {name: lines for name, lines in found.items() if lines} == {}
