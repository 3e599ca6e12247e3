"""An order form shows each line with the item its customer code is remembered as now (customer_item_xref), and
approving remembers a code only for a line whose item the reviewer changed from the one the page showed: a line
approved as shown never undoes another reviewer's newer correction. Over real HTTP; the pure parts directly."""

from __future__ import annotations

import html
import json
import re

import pytest

from handlers.review.order_form import (
    is_as_shown,
    remembered_note,
    reviewed_order,
    rows_for_customer,
    rows_from_form,
    rows_from_parsed,
    shown_for,
    shown_items,
)
from tests.review_seed import NOW, add_review_item, parsed_po, seed_reference, sign_in
from worker.db import connect, run_in_transaction
from worker.decisions import approve_order
from worker.migrations import apply_schema

T1 = "2026-11-20T15:00:00.000Z"


def xref(conn, code: str, item_id: str, source: str = "reviewer", customer: str = "1187") -> None:
    conn.execute("INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id, source, updated_at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET item_id = excluded.item_id", (customer, code,
                                                                                              item_id, source, T1))


def form_of(client, page: str, item: int, **changes: str) -> dict[str, str]:
    """The approve form as a browser posts it from `page` (its inputs, the chosen customer), with changes."""
    section = page[page.index(f'action="/review/orders/{item}/approve"'):]
    section = section[:section.index("</form>")]
    form = {}
    for attrs in re.findall(r"<input([^>]*)>", section):
        name = re.search(r'name="([^"]*)"', attrs)
        value = re.search(r'value="([^"]*)"', attrs)
        if name and (' type="checkbox"' not in attrs or " checked" in attrs):
            form[name.group(1)] = html.unescape(value.group(1)) if value else ""
    form["customer_id"] = re.search(r'<option value="([^"]*)" selected>', section).group(1)
    form |= {"csrf": client.csrf, "c0_off": "1"}  # the seed PO's freight, left off
    return form | changes


def remembered(server) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in server.run(server.env.db.fetchall(
        "SELECT customer_item_code, item_id, source FROM customer_item_xref ORDER BY 1"))]


def lines_of(server, item: int) -> list[str]:
    row = server.run(server.env.db.fetchone("SELECT payload_json FROM proposed_actions WHERE review_item_id = ?",
                                            (item,)))
    return [line["item"]["id"] for line in json.loads(row[0])["item"]["items"]]


@pytest.fixture
def queued(server):
    """A PO of Driscoll's whose line 1 (DF-118) the intake matched to cheddar 5001; line 2 (DF-207) unmatched."""
    item = server.run(server.env.db.write(lambda c: (seed_reference(c), add_review_item(c, parsed=parsed_po()))[1]))
    return server, item, sign_in(server.url)


def test_a_line_is_shown_with_the_item_its_code_is_remembered_as_now_and_approved_so(queued):
    server, item, client = queued
    server.run(server.env.db.write(xref, "DF-118", "5002"))  # corrected by another reviewer after the parse
    page = client.get(f"/review/orders/{item}").text
    form = form_of(client, page, item, l1_item="CHS-MOZZ-LMPS")
    # Was: CHS-CHED-40, the parse's item, and approving the line as shown put DF-118 back to cheddar.
    assert (form["l0_item"], form["l0_parsed"], form["l0_shown"]) == ("CHS-MOZZ-LMPS", "5001", "5002")
    assert "DF-118 is now remembered as CHS-MOZZ-LMPS" in page
    assert "is now remembered as" not in page.split('name="l1_item"')[1]  # line 2 is not remembered
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 303, response.text
    assert lines_of(server, item) == ["5002", "5002"]
    assert remembered(server) == [("DF-118", "5002", "reviewer"), ("DF-207", "5002", "reviewer")]


def test_a_page_loaded_before_a_correction_does_not_undo_it(queued):
    server, item, client = queued
    page = client.get(f"/review/orders/{item}").text  # shows DF-118 as cheddar, as parsed
    assert (re.search(r'name="l0_item" value="([^"]*)"', page).group(1), "DF-118 is now" in page) == (
        "CHS-CHED-40", False)
    server.run(server.env.db.write(xref, "DF-118", "5002"))  # another reviewer's correction meanwhile
    form = form_of(client, page, item, l1_item="CHS-MOZZ-LMPS")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    assert lines_of(server, item) == ["5001", "5002"]  # the order as approved
    assert ("DF-118", "5002", "reviewer") in remembered(server)  # was: put back to 5001


def test_an_item_the_reviewer_changes_is_remembered_over_the_mapping(queued):
    server, item, client = queued
    server.run(server.env.db.write(xref, "DF-118", "5002"))
    page = client.get(f"/review/orders/{item}").text
    form = form_of(client, page, item, l0_item="CHS-CHED-40", l1_item="CHS-MOZZ-LMPS")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    assert ("DF-118", "5001", "reviewer") in remembered(server)


def test_a_search_keeps_what_the_page_first_showed_and_its_note(queued):
    server, item, client = queued
    server.run(server.env.db.write(xref, "DF-118", "5002"))
    page = client.get(f"/review/orders/{item}").text
    again = client.post(f"/review/orders/{item}/approve", data=form_of(client, page, item, search="1", find="dri"))
    assert again.status_code == 200
    assert re.search(r'name="l0_shown" value="5002"', again.text) and "DF-118 is now remembered as" in again.text


def field(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def notes(page: str) -> list[str]:
    return re.findall(r'class="remembered">([^<]*)<', page)


@pytest.fixture
def two_mappings(queued):
    """DF-118 remembered as mozzarella 5002 for Driscoll (1187), as canola oil 5003 for Melt Mates (2201)."""
    server, item, client = queued
    server.run(server.env.db.write(xref, "DF-118", "5002"))
    server.run(server.env.db.write(xref, "DF-118", "5003", "import", "2201"))
    return server, item, client


def test_another_customer_searched_shows_its_own_remembered_items(two_mappings):
    server, item, client = two_mappings
    page = client.get(f"/review/orders/{item}").text
    assert field(page, "shown_for") == "1187"
    # Line 2 typed by the reviewer before reassigning: theirs, kept.
    form = form_of(client, page, item, customer_id="2201", search="1", find="melt", l1_item="FLR-AP-50")
    again = client.post(f"/review/orders/{item}/approve", data=form)
    assert again.status_code == 200
    # Was: CHS-MOZZ-LMPS (5002), Driscoll's mapping, said to be "now remembered", and approved so for Melt Mates.
    assert [field(again.text, n) for n in ("shown_for", "l0_item", "l0_shown", "l1_item", "l1_shown")] == [
        "2201", "OIL-CAN-35", "5003", "FLR-AP-50", ""]
    note = "DF-118 is now remembered as OIL-CAN-35 (for this customer, not the one the PO was read for)"
    assert notes(again.text) == [note]
    done = client.post(f"/review/orders/{item}/approve", data=form_of(client, again.text, item))
    assert done.status_code == 303, done.text
    assert lines_of(server, item) == ["5003", "5004"]


def test_back_to_a_customer_without_a_mapping_shows_the_parses_item(two_mappings):
    _server, item, client = two_mappings
    page = client.get(f"/review/orders/{item}").text  # Driscoll's DF-118: mozzarella, with the note
    form = form_of(client, page, item, customer_id="3302", search="1", find="")
    again = client.post(f"/review/orders/{item}/approve", data=form)
    assert [field(again.text, n) for n in ("shown_for", "l0_item", "l0_shown")] == ["3302", "CHS-CHED-40", "5001"]
    assert notes(again.text) == []
    back = client.post(f"/review/orders/{item}/approve", data=form_of(client, again.text, item, customer_id="1187",
                                                                         search="1"))
    assert (field(back.text, "l0_item"), len(notes(back.text))) == ("CHS-MOZZ-LMPS", 1)


def test_approving_for_another_customer_without_a_search_shows_its_lines_first(two_mappings):
    server, item, client = two_mappings
    page = client.get(f"/review/orders/{item}").text
    form = form_of(client, page, item, customer_id="2201", l1_item="FLR-AP-50")
    refused = client.post(f"/review/orders/{item}/approve", data=form)
    # Was: approved for Melt Mates with Driscoll's mozzarella, never shown Melt Mates' canola oil.
    assert refused.status_code == 422
    assert "not approved: 1 line(s) now show the item their code is remembered as" in html.unescape(refused.text)
    assert (field(refused.text, "l0_item"), field(refused.text, "shown_for")) == ("OIL-CAN-35", "2201")
    assert client.post(f"/review/orders/{item}/approve", data=form_of(client, refused.text, item)).status_code == 303
    assert lines_of(server, item) == ["5003", "5004"]


def test_a_form_without_shown_for_counts_as_shown_for_the_items_customer(two_mappings):
    server, item, client = two_mappings
    page = client.get(f"/review/orders/{item}").text
    old = {k: v for k, v in form_of(client, page, item, l1_item="FLR-AP-50").items() if k != "shown_for"}
    assert client.post(f"/review/orders/{item}/approve", data=old).status_code == 303  # nothing to show anew
    assert lines_of(server, item) == ["5002", "5004"]


# --- the pure parts, and approve_order's own rule ------------------------------------------------------------------

def test_rows_carry_the_item_they_are_shown_with():
    parsed = {"lines": [{"line_no": 1, "customer_item_code": "DF-118", "item_id": "5001"},
                        {"line_no": 2, "customer_item_code": "DF-207", "item_id": None},
                        {"line_no": 3, "customer_item_code": "DF-300", "item_id": "5003"}]}
    codes = {"5001": "CHS-CHED-40", "5002": "CHS-MOZZ-LMPS", "5003": "OIL-CAN-35"}
    rows = rows_from_parsed(parsed, codes, {"DF-118": "5002", "DF-207": "5004", "DF-300": "5003"})
    assert [(r["item"], r["parsed_item"], r["shown_item"]) for r in rows] == [
        ("CHS-MOZZ-LMPS", "5001", "5002"), ("5004", "", "5004"), ("OIL-CAN-35", "5003", "5003")]
    assert [remembered_note(r, codes) for r in rows] == ["CHS-MOZZ-LMPS", "5004", ""]
    assert rows_from_parsed(parsed, codes)[0]["shown_item"] == "5001"  # nothing remembered: the parse's


def test_a_form_from_before_the_shown_field_counts_the_parses_item_as_shown():
    base = {"n": "2", "l0_item": "X", "l0_parsed": "5001", "l1_item": "Y", "l1_parsed": "5003", "l1_shown": "5002"}
    assert [r["shown_item"] for r in rows_from_form(base)] == ["5001", "5002"]


def test_shown_items_are_by_the_order_line_numbers():
    header = {"customer_id": "1187", "tran_date": "2026-11-19", "n": "3"}
    rows = [{"no": "1", "code": "A", "item": "OIL-CAN-35", "desc": "", "qty": "1", "uom": "", "price": "1",
             "parsed_item": "5003", "shown_item": "5003", "drop": ""},
            {"no": "2", "code": "B", "item": "FLR-AP-50", "desc": "", "qty": "1", "uom": "", "price": "1",
             "parsed_item": "", "shown_item": "", "drop": "1"},
            {"no": "", "code": "", "item": "FLR-AP-50", "desc": "", "qty": "1", "uom": "", "price": "1",
             "parsed_item": "", "shown_item": "", "drop": ""}]
    order, errors = reviewed_order(header, rows, {"OIL-CAN-35": "5003", "FLR-AP-50": "5004"})
    assert errors == [] and shown_items(order, rows) == {1: "5003", 3: ""}


@pytest.fixture
def conn(tmp_path):
    db = connect(tmp_path / "x.sqlite3")
    apply_schema(db)
    run_in_transaction(db, seed_reference)
    return db


def test_a_line_approved_as_shown_is_remembered_only_where_no_mapping_exists_in_any_case(conn):
    from tests.test_review_decisions import order

    first = run_in_transaction(conn, add_review_item)
    # DF-118 as shown (5001): remembered, nothing mapped it; DF-207 chosen (nothing shown): remembered.
    decision = run_in_transaction(conn, approve_order, first, "mike", order(), T1, shown={1: "5001", 2: ""})
    assert "remembered 2 item code(s)" in decision.message
    second = run_in_transaction(conn, add_review_item, parsed=parsed_po(po_number="DF-2"), created_at=T1)
    run_in_transaction(conn, lambda c: c.execute("DELETE FROM customer_item_xref"))
    run_in_transaction(conn, xref, "df-118", "5003", "import")  # another spelling, mapped to another item
    again = order().model_copy(update={"po_number": "DF-2"})
    decision = run_in_transaction(conn, approve_order, second, "anna", again, NOW, shown={1: "5001", 2: "5002"})
    assert "remembered 1 item code(s)" in decision.message  # DF-207, which nothing maps now
    assert sorted(map(tuple, conn.execute("SELECT customer_item_code, item_id FROM customer_item_xref"))) == [
        ("DF-207", "5002"), ("df-118", "5003")]  # no DF-118 row beside it: the intake would take the newest


def test_a_code_the_reviewer_changes_is_remembered_over_every_spelling_of_it(conn):
    # DF-118 imported as 5001 long ago and df-118 remembered as 5003 since (the intake reads the newest): a reviewer
    # choosing 5001 for DF-118 used to leave both rows as they were, so the intake went on reading 5003.
    from tests.test_review_decisions import order
    from worker.intake.lines import BY_XREF

    run_in_transaction(conn, lambda c: c.execute(
        "INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id, source, updated_at) "
        "VALUES ('1187', 'DF-118', '5001', 'import', '2026-11-01T00:00:00.000Z')"))
    run_in_transaction(conn, xref, "df-118", "5003")
    item = run_in_transaction(conn, add_review_item)
    decision = run_in_transaction(conn, approve_order, item, "mike", order(), NOW, shown={1: "5003", 2: "5002"})
    assert "remembered 2 item code(s)" in decision.message  # DF-118 (one code, two rows) and DF-207, new
    assert conn.execute(BY_XREF, ("1187", "DF-118", "DF-118")).fetchone()[0] == "5001"
    assert sorted(map(tuple, conn.execute("SELECT customer_item_code, item_id, source FROM customer_item_xref"))) == [
        ("DF-118", "5001", "import"), ("DF-207", "5002", "reviewer"), ("df-118", "5001", "reviewer")]


def test_rows_for_another_customer_keep_only_what_the_reviewer_changed():
    def row(code, item, parsed, shown):
        return {"no": "1", "code": code, "item": item, "desc": "", "qty": "1", "uom": "", "price": "1",
                "parsed_item": parsed, "shown_item": shown, "drop": ""}
    rows = [row("DF-118", "CHS-MOZZ-LMPS", "5001", "5002"),  # as shown: the new customer's mapping
            row("DF-207", "chs-mozz-lmps", "5001", "5002"),  # as shown, typed in another case: none, the parse's
            row("DF-300", "FLR-AP-50", "5001", "5002"),      # the reviewer's: kept, shown anew
            row("DF-400", "9999", "", "9999"),               # as shown, an id not in the mirror
            row("", "", "", "")]                             # a blank row to fill
    resolved = {"CHS-MOZZ-LMPS": "5002", "FLR-AP-50": "5004", "9999": None}
    codes = {"5001": "CHS-CHED-40", "5003": "OIL-CAN-35"}
    assert [is_as_shown(r, resolved) for r in rows] == [True, True, False, True, True]
    new = rows_for_customer(rows, resolved, {"DF-118": "5003", "DF-300": "5003", "DF-400": "5003"}, codes)
    assert [(r["item"], r["shown_item"]) for r in new] == [
        ("OIL-CAN-35", "5003"), ("CHS-CHED-40", "5001"), ("FLR-AP-50", "5003"), ("OIL-CAN-35", "5003"), ("", "")]
    assert [remembered_note(r, codes) for r in new] == ["OIL-CAN-35", "", "OIL-CAN-35", "OIL-CAN-35", ""]
    assert rows[0]["item"] == "CHS-MOZZ-LMPS"  # the posted rows are left as they were


def test_shown_for_is_the_items_customer_on_an_older_page():
    assert (shown_for({"shown_for": " 2201 "}, "1187"), shown_for({}, "1187"), shown_for({}, None),
            shown_for({"shown_for": ""}, "1187")) == ("2201", "1187", "", "")
