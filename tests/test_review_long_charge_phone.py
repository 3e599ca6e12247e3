"""A charge description with no spaces (a PDF's run-together text, 215 characters) stays inside a 375 px phone.

The order page's "On the PO: … · <charge> … · total" line did not wrap such a word: the whole page widened to
1,713 px on a phone, its fields sliding off screen (audit CM).
"""

from __future__ import annotations

import pytest

from tests.browser_support import sign_in_browser
from tests.review_seed import add_review_item, parsed_po, seed_reference

PHONE = {"width": 375, "height": 800}
LONG = "FUELSURCHARGEPERDELIVERYPERSTOPADJUSTEDWEEKLYBYDIESELINDEX" * 4  # 228 characters, no space


@pytest.mark.browser
def test_a_long_unbroken_charge_name_does_not_widen_the_page(server, browser):
    parsed = {**parsed_po(), "other_charges": [{"description": LONG, "amount": 12.5}], "total": 2509.5}
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn, parsed=parsed))[1]))
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    assert LONG in page.locator("p.totals").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
