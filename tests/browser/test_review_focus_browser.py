"""In headless Chromium: focus is never hidden and a refusal leads to its field. The sticky bulk bar of
Observations covers no focused control (WCAG 2.4.11); a refused action decision or order approval says what is
wrong beside the field, which gets focus, aria-invalid and aria-describedby."""

from __future__ import annotations

import pytest

from tests.browser_support import launched_chromium, sign_in_browser
from tests.review_seed import add_observation, seed_reference

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}
# The focused element's box against the bulk bar's; the overlap in pixels (0 when the bar does not cover it).
UNDER_BAR = """() => { const e = document.activeElement, bar = document.querySelector('.bulk');
  if (bar.contains(e)) return [e.outerHTML.slice(0, 80), 0];
  const a = e.getBoundingClientRect(), b = bar.getBoundingClientRect();
  return [e.outerHTML.slice(0, 80), Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top))]; }"""


@pytest.fixture(scope="module")
def browser():
    yield from launched_chromium()


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

