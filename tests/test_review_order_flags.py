"""The intake's flags on the review order page, over real HTTP: each says what it found (escaped, with its line),
grouped by code with a count, so an order with 45 flags stays readable (audit BQ2: only the codes were shown, and
a duplicate PO's earlier item appeared nowhere until an approval was refused)."""

from __future__ import annotations

import re

import pytest

from handlers.review.web import flag_groups
from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in

DUPLICATE = ("PO DF-40412 may have been received before: review item 5 (approved; same PO number); approving both "
             "would create two sales orders")
PARSER_FINDING = {"code": "unknown_item", "severity": "warning", "message": "line 2: no item matched DF-207",
                  "line_no": 2, "source": "parser"}


def many_flags() -> list[object]:
    """45 flags as the intake writes them: 23 unknown items, 3 quantity outliers, a duplicate PO, and more."""
    flags: list[object] = [{"code": "duplicate_po", "severity": "warning", "earlier_items": [5], "message": DUPLICATE}]
    flags += [{"code": "unknown_item", "severity": "warning", "line_no": n,
               "message": f"line {n}: no item matches code X-{n} or description 'thing {n}'"} for n in range(1, 24)]
    flags += [{"code": "quantity_outlier", "severity": "warning", "line_no": n,
               "message": f"line {n}: quantity 40 CS is 4.4x the usual 9 CS (max 12 in 8 orders)"} for n in (24, 25, 26)]
    flags += [{"code": "price_deviation", "severity": "warning", "line_no": n, "message": f"quoted {n}.00 vs 9.00"}
              for n in range(27, 42)]  # a message not naming its line: the page puts it in front
    flags += [{"code": "uncertain_item", "severity": "warning", "line_no": 42,
               "message": "line 42: the code matched item 5001 'Cheddar', but the line reads '<b>Brie</b>'"},
              "no_text_layer", PARSER_FINDING]  # a bare code as older rows have; a parser finding the page lists
    assert len(flags) == 45
    return flags


@pytest.fixture
def flagged(server):
    def write(conn):
        seed_reference(conn)
        return add_review_item(conn, parsed=parsed_po(), flags=many_flags())
    return server.run(server.env.db.write(write)), sign_in(server.url)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_each_flag_says_what_it_found_grouped_by_code(flagged):
    item, client = flagged
    page = client.get(f"/review/orders/{item}").text
    chips = [text(c) for c in re.findall(r'<span class="flag[^"]*">(.*?)</span>', page)]
    assert chips == ["duplicate_po", "unknown_item ×24", "quantity_outlier ×3", "price_deviation ×15",
                     "uncertain_item", "no_text_layer"]
    # Was: the codes only; what each one found appeared nowhere until an approval was refused.
    assert DUPLICATE in page
    assert "line 24: quantity 40 CS is 4.4x the usual 9 CS (max 12 in 8 orders)" in page
    assert "line 27: quoted 27.00 vs 9.00" in page
    assert "line 42: the code matched item 5001 &#39;Cheddar&#39;, but the line reads &#39;&lt;b&gt;Brie&lt;/b&gt;&#39;" in page
    assert "<b>Brie</b>" not in page
    assert page.count("line 2: no item matched DF-207") == 1  # the parser's finding, listed once
    groups = re.findall(r'<details class="flag-notes"( open)?><summary>(.*?)</summary>', page)
    # A long group starts folded; a short one (the duplicate PO) is open.
    assert groups == [(" open", "duplicate_po: 1 note"), ("", "unknown_item: 23 notes"),
                      (" open", "quantity_outlier: 3 notes"), ("", "price_deviation: 15 notes"),
                      (" open", "uncertain_item: 1 note")]


def test_flag_groups():
    assert flag_groups([]) == [] and flag_groups(None) == [] and flag_groups({"code": "x"})[0]["count"] == 1
    [group] = flag_groups([{"code": "needs_manual", "severity": "error", "message": "encrypted PDF"},
                           {"code": "needs_manual", "severity": "bogus", "line_no": 3, "message": "again"}])
    assert group == {"code": "needs_manual", "count": 2, "severity": "error",
                     "notes": ["encrypted PDF", "line 3: again"]}
    [group] = flag_groups([PARSER_FINDING], [PARSER_FINDING])
    assert group["count"] == 1 and group["notes"] == []
    assert flag_groups([{"message": "no code"}])[0] == {"code": "note", "count": 1, "severity": "warning",
                                                        "notes": ["no code"]}


def test_the_orders_list_shows_one_chip_per_code_with_its_count(flagged):
    _item, client = flagged
    page = client.get("/review/orders").text
    chips = [text(c) for c in re.findall(r'<span class="flag[^"]*">(.*?)</span>', page)]
    # Was 45 bare chips, "unknown_item" 24 times.
    assert chips == ["duplicate_po", "unknown_item ×24", "quantity_outlier ×3", "price_deviation ×15",
                     "uncertain_item", "no_text_layer"]
