"""In headless Chromium: focus is never hidden and a refusal leads to its field. The sticky bulk bar of
Observations covers no focused control (WCAG 2.4.11); a refused action decision or order approval says what is
wrong beside the field, which gets focus, aria-invalid and aria-describedby."""

from __future__ import annotations

import pytest

from tests.browser_support import sign_in_browser
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    add_review_item,
    seed_reference,
)

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}
# The focused element's box against the bulk bar's; the overlap in pixels (0 when the bar does not cover it).
UNDER_BAR = """() => { const e = document.activeElement, bar = document.querySelector('.bulk');
  if (bar.contains(e)) return [e.outerHTML.slice(0, 80), 0];
  const a = e.getBoundingClientRect(), b = bar.getBoundingClientRect();
  return [e.outerHTML.slice(0, 80), Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top))]; }"""


@pytest.mark.parametrize("size", list(WIDTHS))
def test_tabbing_backwards_through_observations_never_lands_under_the_bulk_bar(server, browser, size):
    server.run(server.env.db.write(lambda conn: (seed_reference(conn), [add_observation(
        conn, f"Observation {i}: Driscoll moved two invoices into 61-90; the drafted email cites both.")
        for i in range(12)])))
    context = browser.new_context(viewport=WIDTHS[size])
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(server.url + "/review/observations")
    page.locator("main form button").last.focus()
    covered = []
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        what, overlap = page.evaluate(UNDER_BAR)
        if overlap > 0:
            covered.append(what)
    assert covered == []
    context.close()



def in_view(page, selector):
    """Whether the element is inside the viewport (the reviewer sees it without scrolling)."""
    return page.evaluate("""s => { const r = document.querySelector(s).getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""", selector)


@pytest.mark.parametrize("size", list(WIDTHS))
def test_a_refused_rejection_says_why_beside_the_reason_and_focuses_it(server, browser, size):
    def rows(conn):
        seed_reference(conn)
        email = add_action(conn, "collection_email", COLLECTION_EMAIL)
        for i in range(6):  # newer: listed above the email, which is far down the page
            add_action(conn, "call_task", {"note": f"call {i}"})
        return email
    email = server.run(server.env.db.write(rows))
    context = browser.new_context(viewport=WIDTHS[size])
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(server.url + "/review/actions")
    card = f"#action-{email}"
    page.fill(f"{card} input[name=subject]", "Two invoices now past 60 days")
    with page.expect_navigation():
        page.click(f"{card} button[value=reject]")
    alert = page.locator(f"{card} [role=alert]")
    assert alert.inner_text() == "a reason is required to reject"
    reason = page.locator(f"{card} input[name=reason]")
    assert reason.get_attribute("aria-invalid") == "true"
    assert reason.get_attribute("aria-describedby") == alert.get_attribute("id")
    assert page.evaluate("document.activeElement.name") == "reason"
    assert in_view(page, f"{card} [role=alert]") and in_view(page, f"{card} input[name=reason]")
    assert page.input_value(f"{card} input[name=subject]") == "Two invoices now past 60 days"  # the edit kept
    assert page.locator(f"{card} input[name=subject]").get_attribute("aria-invalid") is None
    context.close()


def test_a_refused_approval_focuses_the_field_and_its_summary_entry_leads_to_it(server, browser):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))[1]))
    context = browser.new_context(viewport=WIDTHS["phone"])
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    page.fill("[name=l1_item]", "CHS-MOZZ-LMPS")
    page.fill("[name=l0_qty]", "abc")
    page.check("[name=c0_off]")
    with page.expect_navigation():
        page.click("#approve button.primary")
    assert page.evaluate("document.activeElement.name") == "l0_qty"  # was BODY
    assert in_view(page, "#l0_qty")
    qty = page.locator("[name=l0_qty]")
    assert qty.get_attribute("aria-invalid") == "true" and qty.input_value() == "abc"
    described = page.locator(f"#{qty.get_attribute('aria-describedby')}").inner_text()
    assert described.startswith("line 1: quantity: ")
    page.evaluate("window.scrollTo(0, 0)")
    page.click("ul.error a[href='#l0_qty']")
    assert page.url.endswith("#l0_qty") and in_view(page, "#l0_qty")
    context.close()
