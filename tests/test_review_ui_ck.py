"""Three review-page fixes: an approved order links its sales-order action by a lasting address (GET
/review/actions/{id}), not by the status list it had when the page was drawn; each "Approve anyway" checkbox is
named after its card or PO (WCAG 2.5.3, as the cards' buttons are); and the order's lines and charges fit a 375 px
phone, every field on screen, with the desktop table unchanged (audit CE5)."""

from __future__ import annotations

import re

import pytest

from handlers.review.approved import action_link, action_url
from tests.browser_support import sign_in_browser
from tests.review_seed import add_action, add_review_item, seed_reference, sign_in
from tests.test_review_decisions import order
from worker.decisions import approve_order

PHONE, DESKTOP = {"width": 375, "height": 800}, {"width": 1366, "height": 900}
# The text a sighted reviewer reads in a label: its text less the part only a screen reader gets.
SHOWN = """e => [...e.childNodes].filter(n => !n.classList?.contains('visually-hidden')).map(n => n.textContent)
  .join('').trim()"""


def approved_order(server) -> tuple[int, int]:
    """A review item approved as a create_sales_order action: (item, action)."""
    def rows(conn):
        seed_reference(conn)
        item = add_review_item(conn)
        return item, approve_order(conn, item, "mike", order(), "2026-11-19T10:00:00Z").action_id
    return server.run(server.env.db.write(rows))


def test_action_link_is_the_lasting_route():
    assert action_link(24) == "/review/actions/24#action-24"
    assert action_url(24, "approved") == "/review/actions?status=approved&cursor=25#action-24"  # the redirect's


def test_the_approved_orders_action_link_still_finds_the_card_after_its_status_changed(server):
    item, action = approved_order(server)
    client = sign_in(server.url)
    page = client.get(f"/review/orders/{item}").text
    href = re.search(r'class="notice approved-action">Approved as <a href="([^"]*)">', page).group(1)
    assert href == f"/review/actions/{action}#action-{action}"
    # NetSuite took the order meanwhile (the page above may stay open for hours): the link follows the action.
    server.run(server.env.db.write(lambda conn: conn.execute(
        "UPDATE proposed_actions SET status = 'executed' WHERE id = ?", (action,))))
    stale = client.get(action_url(action, "approved")).text  # what the page linked before: the approved list
    assert f'id="action-{action}"' not in stale
    redirect = client.get(href.split("#")[0])
    assert redirect.status_code == 303 and redirect.headers["location"] == action_url(action, "executed")
    landed = client.get(href.split("#")[0], follow_redirects=True)
    assert landed.status_code == 200 and landed.url.params["status"] == "executed"
    assert f'<article class="card action" id="action-{action}">' in landed.text


def checkbox_named(page, name: str, inside: str):
    """The one checkbox named exactly `name`, which must be inside `inside`."""
    found = page.get_by_role("checkbox", name=name, exact=True)
    assert found.count() == 1, f"checkbox {name!r}: {found.count()} elements"
    assert page.locator(inside).get_by_role("checkbox", name=name, exact=True).count() == 1
    return found


@pytest.mark.browser
def test_approve_anyway_on_an_action_card_is_named_after_its_card(server, browser):
    def rows(conn):
        seed_reference(conn)
        return [add_action(conn, "create_customer", {"companyName": "Driscoll Foods"}, None) for _ in range(2)]
    first, second = server.run(server.env.db.write(rows))
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in_browser(page, server.url)
    page.goto(server.url + "/review/actions")
    with page.expect_navigation():
        page.click(f"#action-{second} button[value=approve]")  # refused: Driscoll Foods exists already
    shown = "Approve anyway: it exists already, as the notice says"
    box = checkbox_named(page, f"{shown} (action #{second}, New customer)", f"#action-{second}")
    assert page.locator(f"#action-{second} label.confirm").evaluate(SHOWN) == shown  # what is read on screen
    assert page.get_by_role("checkbox", name=shown, exact=True).count() == 0  # no generic name left
    assert page.locator(f"#action-{first} [name=approve_duplicate]").count() == 0
    box.check()
    with page.expect_navigation():
        page.click(f"#action-{second} button[value=approve]")
    status = server.run(server.env.db.fetchone("SELECT status FROM proposed_actions WHERE id = ?", (second,)))
    assert tuple(status) == ("approved",)


@pytest.mark.browser
def test_approve_anyway_on_the_order_page_names_the_po(server, browser):
    _item, _action = approved_order(server)
    copy = server.run(server.env.db.write(add_review_item))
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{copy}")
    page.fill("input[name=l1_item]", "CHS-MOZZ-LMPS")
    page.check("input[name=c0_off]")  # the PO's freight
    with page.expect_navigation():
        page.click("#approve button.primary")  # refused: PO DF-40412 was approved already
    shown = "Approve anyway: create a second sales order for this PO"
    checkbox_named(page, f"{shown} (DF-40412)", "#approve")
    assert page.locator("#approve label.confirm").first.evaluate(SHOWN) == shown


def charged_order(server) -> int:
    """A pending order with two lines (one price-checked), a blank row, and the PO's freight as a charge."""
    return server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))[1]))


# Each shown cell of the order's tables and each of their fields, with its left and right edge and whether the
# scroll box it is in hides part of its content (scrolls sideways).
CELLS = """() => {
  const shown = e => getComputedStyle(e).display !== 'none';
  const edges = e => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; };
  return {
    cells: [...document.querySelectorAll('table.lines td')].filter(shown).map(edges),
    fields: [...document.querySelectorAll('table.lines input:not([type=hidden])')].map(e => [e.name, ...edges(e)]),
    boxes: [...document.querySelectorAll('.scroll')].map(b => b.scrollWidth - b.clientWidth),
  };
}"""


@pytest.mark.browser
def test_the_order_lines_fit_a_phone_every_field_on_screen(server, browser):
    item = charged_order(server)
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    found = page.evaluate(CELLS)
    assert found["boxes"] == [0, 0]  # the lines' box and the charges' box: nothing hidden to the right
    assert all(0 <= left and right <= PHONE["width"] for left, right in found["cells"]), found["cells"]
    names = [name for name, left, right in found["fields"] if 0 <= left and right <= PHONE["width"]]
    assert len(names) == len(found["fields"]) and {"l0_price", "l0_drop", "c0_amount", "c0_off"} <= set(names)
    # Each field is labelled on screen by its column's name; the price check reads beside its line's fields.
    line = page.locator("table.lines tbody tr").first
    assert line.locator("td[data-label='Unit price']").evaluate("e => getComputedStyle(e, '::before').content") \
        == '"Unit price"'
    check = line.locator("td.check")
    assert "customer price" in check.inner_text()
    assert check.evaluate("e => getComputedStyle(e, '::before').content") == '"Price check"'
    assert page.locator("table.lines thead").first.is_hidden()
    page.fill("input[name=l0_price]", "97.00")  # a field at the far right on a laptop is typed into here
    assert page.input_value("input[name=l0_price]") == "97.00"


@pytest.mark.browser
def test_the_order_lines_stay_a_table_on_a_laptop(server, browser):
    item = charged_order(server)
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    assert page.locator("#lines thead").is_visible()
    rows = page.locator("#lines tbody tr")
    assert rows.first.evaluate("e => getComputedStyle(e).display") == "table-row"
    for n in range(rows.count()):  # every cell of a row on one line, beside each other
        tops = rows.nth(n).locator("td").evaluate_all("cells => cells.map(c => c.getBoundingClientRect().top)")
        assert len(tops) == 9 and len(set(tops)) == 1, tops
    label = rows.first.locator("td:nth-child(7)").evaluate("e => getComputedStyle(e, '::before').content")
    assert label in ("normal", "none")  # the column names are the table's header, not above each field
