"""Order review over real HTTP: what the reviewer typed survives a customer search and a refused decision, and
each row shows its own price check."""

from __future__ import annotations

import html
import re

import pytest

from tests.review_seed import add_review_item, hidden, seed_reference, sign_in

NEW_ROWS = [("CHS-CHED-40", "2", "98.50"), ("OIL-CAN-35", "3", "42.25"), ("FLR-AP-50", "4", "18.40")]


@pytest.fixture
def manual(server):
    """A needs-manual order the parser read no lines from (three blank rows to fill) and a signed-in client."""
    def seed(conn):
        seed_reference(conn)
        return add_review_item(conn, parsed={"po_number": "M-1", "lines": [], "findings": []}, customer_id=None,
                               status="needs_manual", flags=[], email_text="send cheddar, oil and flour")
    return server, server.run(server.env.db.write(seed)), sign_in(server.url)


def db(server, sql, params=()):
    return [tuple(r) for r in server.run(server.env.db.fetchall(sql, params))]


def typed_form(client, **changes):
    """The manual order's form with the three blank rows filled in by hand."""
    form = {"csrf": client.csrf, "n": "3", "customer_id": "1187", "po_number": "M-1", "tran_date": "2026-11-19",
            "ship_date": "2026-11-24", "memo": "call before delivery", "find": ""}
    for i, (code, qty, price) in enumerate(NEW_ROWS):
        form |= {f"l{i}_no": "", f"l{i}_code": "", f"l{i}_parsed": "", f"l{i}_item": code, f"l{i}_desc": "",
                 f"l{i}_qty": qty, f"l{i}_uom": "", f"l{i}_price": price}
    return form | changes


def value(page, name):
    match = re.search(rf'<input name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, f"no input {name!r}"
    return html.unescape(match.group(1))


def check_cells(page):
    return [re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r'<td class="check">(.*?)</td>', page, re.DOTALL)]


def test_a_customer_search_re_renders_what_was_typed_and_decides_nothing(manual):
    server, item, client = manual
    form = typed_form(client, customer_id="", l1_price="41.10", memo="leave at dock 4", find="harbor", search="1")
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 200, response.text  # was: the search was a GET that rebuilt the page from the parse
    page = response.text
    assert [value(page, f"l{i}_item") for i in range(3)] == [code for code, _, _ in NEW_ROWS]
    assert (value(page, "l1_price"), value(page, "memo"), value(page, "find")) == ("41.10", "leave at dock 4", "harbor")
    assert '<option value="3302">Harbor Street Deli (3302)</option>' in page and "Driscoll Foods (1187)" not in page
    assert 'class="error"' not in page  # no customer chosen yet: a search is not an approval attempt
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("needs_manual",)]
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
    # A customer already chosen stays chosen whatever the search finds.
    kept = client.post(f"/review/orders/{item}/approve", data={**form, "customer_id": "2201", "find": "harbor"}).text
    assert '<option value="2201" selected>Melt Mates Kitchen Co (2201)</option>' in kept


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_search_without_the_csrf_token_is_refused(manual, token):
    _server, item, client = manual
    form = typed_form(client, find="harbor", search="1")
    if token is None:
        del form["csrf"]
    else:
        form["csrf"] = token
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 403 and "security token" in response.text


def test_the_page_offers_search_as_a_button_of_the_approve_form(manual):
    _server, item, client = manual
    page = client.get(f"/review/orders/{item}").text
    form = page[page.index(f'<form method="post" action="/review/orders/{item}/approve"'):]
    form = form[:form.index("</form>")]
    # Inside the approve form, so it posts the rows; formnovalidate, so a blank customer does not block it;
    # after the disabled default button, so Enter in a field still submits nothing.
    assert 'name="find"' in form
    assert form.index("disabled hidden") < form.index('<button type="submit" name="search" value="1" formnovalidate>')
    assert 'method="get"' not in page


def test_each_new_row_shows_its_own_price_check(manual):
    _server, item, client = manual
    # A refused approval (ship date before order date) re-renders the rows with their checks.
    response = client.post(f"/review/orders/{item}/approve", data=typed_form(client, ship_date="2000-01-01"))
    assert response.status_code == 422 and "is before the order date" in response.text
    # Was 18.952 (flour's expected price) on all three: new rows all have line number "".
    cells = check_cells(response.text)
    assert [c[:3] for c in cells] == [["98.50", "(+0.0%)", "customer"], ["43.5175", "(-2.9%)", "list"],
                                      ["18.952", "(-2.9%)", "list"], []]  # the blank row to fill has none
    # A dropped row has no check, and the rows after it keep theirs.
    dropped = client.post(f"/review/orders/{item}/approve", data=typed_form(client, l1_drop="1", search="1")).text
    assert [c[:1] for c in check_cells(dropped)] == [["98.50"], [], ["18.952"], []]  # and a blank row to fill


def test_a_refused_reject_reason_comes_back_in_the_box(manual):
    server, item, client = manual
    reason = "Not ours: " + "the buyer sent this to the wrong distributor. " * 30
    response = client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "reason": reason})
    assert response.status_code == 422 and "longer than 1000 characters" in response.text
    box = re.search(r'<textarea name="reason"[^>]*>\n(.*?)</textarea>', response.text, re.DOTALL)
    assert box and html.unescape(box.group(1)) == reason  # was empty: the reviewer had to type it again
    assert hidden(response.text, "csrf") == client.csrf
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("needs_manual",)]
