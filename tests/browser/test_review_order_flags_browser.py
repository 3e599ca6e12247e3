"""An order with 45 flags in headless Chromium: a duplicate PO's warning is readable at once, the 23 unknown items
are folded under their code until opened, and the page still fits a phone (audit BQ2)."""

from __future__ import annotations

import pytest

from tests.browser_support import sign_in_browser
from tests.review_seed import add_review_item, parsed_po, seed_reference
from tests.test_review_order_flags import DUPLICATE, many_flags

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 375])
def test_many_flags_read_in_a_browser(server, browser, width):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(
        conn, parsed=parsed_po(), flags=many_flags()))[1]))
    context = browser.new_context(viewport={"width": width, "height": 812})
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    assert page.get_by_text(DUPLICATE).is_visible()
    unknown = page.get_by_text("line 7: no item matches code X-7 or description 'thing 7'")
    assert not unknown.is_visible()  # folded: 23 of them would push the form off the screen
    page.click("details.flag-notes summary >> text=unknown_item: 23 notes")
    assert unknown.is_visible()
    assert page.get_by_text("line 42: the code matched item 5001 'Cheddar', but the line reads '<b>Brie</b>'").is_visible()
    if width == 375:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    context.close()
