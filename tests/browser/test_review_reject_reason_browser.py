"""In headless Chromium: a half-typed reject reason survives the order form's Search, Add rows and Add a charge,
a blank Reject is refused with the lines kept as typed, Enter submits nothing, and Reject then rejects."""

from __future__ import annotations

import pytest

from tests.browser_support import sign_in_browser
from tests.review_seed import add_review_item, parsed_po, seed_reference

pytestmark = pytest.mark.browser
TYPED = 'Duplicate of DF-40411 <b>&amp;</b> "resent"\nsee the'


def one(server, sql, params=()):
    return tuple(server.run(server.env.db.fetchone(sql, params)))


def press(page, selector):
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def test_a_half_typed_reason_survives_every_re_render_and_a_refused_reject_keeps_the_lines(server, browser):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                        add_review_item(conn, parsed=parsed_po()))[1]))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    page.fill("textarea[name=reason]", TYPED)
    page.fill("input[name=l1_item]", "CHS-MOZZ-LMPS")
    page.fill("input[name=find]", "melt")
    page.press("input[name=find]", "Enter")  # submits nothing: the form's default button is disabled
    assert one(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == ("pending",)
    press(page, "button[name=search]")
    assert page.input_value("textarea[name=reason]") == TYPED  # was empty: the reject form was not posted
    press(page, "button[name=add_rows]")
    assert page.input_value("textarea[name=reason]") == TYPED
    press(page, "button[name=add_charge]")
    assert page.input_value("textarea[name=reason]") == TYPED
    assert page.input_value("input[name=l1_item]") == "CHS-MOZZ-LMPS"
    # A blank reason: the server refuses it (the box is not `required`, or Approve would demand it too), and the
    # lines come back as typed.
    page.fill("textarea[name=reason]", " ")
    page.fill("input[name=l0_qty]", "7")
    press(page, ".reject button")
    assert "a reason is required to reject" in page.inner_text("ul.error")
    assert page.input_value("input[name=l0_qty]") == "7" and page.input_value("input[name=l1_item]") == "CHS-MOZZ-LMPS"
    # No customer chosen: Reject skips the browser's checks (a rejected order needs none) and rejects.
    page.select_option("select[name=customer_id]", "")
    page.fill("textarea[name=reason]", TYPED)
    press(page, ".reject button")
    assert page.url.endswith("/review/orders")
    assert one(server, "SELECT status, decision_reason FROM review_items WHERE id = ?", (item,)) == \
        ("rejected", TYPED)
    context.close()
