"""The review pages in Debian's headless Chromium (Playwright): sign in, edit + approve, reject, approve an email,
triage an observation, at desktop and phone widths; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser_support import sign_in_browser
from tests.helpers import TEST_REVIEWER
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    add_review_item,
    parsed_po,
    po_pdf,
    seed_reference,
)

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}


def seed(server):
    def rows(conn):
        seed_reference(conn)
        first = add_review_item(conn, pdf_key="po/df-40412.pdf")
        second = add_review_item(conn, parsed=parsed_po(po_number="DF-40413"), created_at="2026-11-20T15:00:00.000Z")
        email = add_action(conn, "collection_email", COLLECTION_EMAIL)
        obs = add_observation(conn, "Driscoll moved two invoices into 61-90; the drafted email cites both.")
        return first, second, email, obs
    ids = server.run(server.env.db.write(rows))
    server.run(server.env.bucket.put("po/df-40412.pdf", po_pdf(), "application/pdf"))
    return ids


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def one(server, sql, params=()):
    return tuple(server.run(server.env.db.fetchone(sql, params)))


@pytest.mark.parametrize("size", list(WIDTHS))
def test_reviewer_works_the_queue(server, browser, size):
    first, second, email, obs = seed(server)
    context = browser.new_context(viewport=WIDTHS[size])
    page = context.new_page()

    page.goto(server.url + "/review")
    assert page.url.startswith(server.url + "/review/login")
    shot(page, f"{size}-01-login")
    page.fill("input[name=username]", TEST_REVIEWER[0])
    page.fill("input[name=password]", TEST_REVIEWER[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/review")
    assert page.locator("text=DF-40413").count() >= 1
    shot(page, f"{size}-02-orders")
    if size == "phone":  # nothing wider than the screen: the table turns into cards
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1

    # Approve the first order after choosing the item for line 2 and correcting its price.
    with page.expect_response(lambda r: r.url.endswith(f"/review/orders/{first}/pdf")) as pdf:
        page.goto(f"{server.url}/review/orders/{first}")
    assert pdf.value.status == 200 and pdf.value.headers["content-type"] == "application/pdf"
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)  # let the PDF viewer paint before the screenshot (nothing is timed)
    page.press("input[name=l0_qty]", "Enter")  # Enter while editing must not approve anything
    assert one(server, "SELECT status FROM review_items WHERE id = ?", (first,)) == ("pending",)
    page.fill("input[name=l1_item]", "CHS-MOZZ-LMPS")
    page.fill("input[name=l1_price]", "61.00")
    page.check("input[name=c0_off]")  # the PO's freight: left off, named in the memo
    shot(page, f"{size}-03-order-detail")
    if size == "phone":  # the lines table scrolls inside its box; the page itself fits the phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.click("#approve button.primary")
    page.wait_for_url("**/review/orders")
    assert "queued for NetSuite" in page.inner_text(".notice")
    status, = one(server, "SELECT status FROM review_items WHERE id = ?", (first,))
    payload = json.loads(one(server, "SELECT payload_json FROM proposed_actions WHERE review_item_id = ?", (first,))[0])
    assert status == "approved" and payload["item"]["items"][1]["rate"] == 61
    assert payload["memo"] == "PO charges left off: Freight 35.00"

    # Reject the second one with a reason.
    page.goto(f"{server.url}/review/orders/{second}")
    page.fill("textarea[name=reason]", "Duplicate of DF-40412")
    page.click(".reject button")
    page.wait_for_url("**/review/orders")
    assert one(server, "SELECT status, decision_reason FROM review_items WHERE id = ?", (second,)) == \
        ("rejected", "Duplicate of DF-40412")

    # Approve the collection email after rewording its subject.
    page.click("nav >> text=Actions")
    page.fill(f"#action-{email} input[name=subject]", "Two invoices now past 60 days")
    page.press(f"#action-{email} input[name=subject]", "Enter")
    assert one(server, "SELECT status FROM proposed_actions WHERE id = ?", (email,)) == ("staged",)
    shot(page, f"{size}-04-actions")
    page.click(f"#action-{email} button[value=approve]")
    page.wait_for_url("**/review/actions")
    status, payload_json = one(server, "SELECT status, payload_json FROM proposed_actions WHERE id = ?", (email,))
    assert status == "approved" and json.loads(payload_json)["subject"] == "Two invoices now past 60 days"

    # Triage the observation with the bulk form.
    page.click("nav >> text=Observations")
    page.check(f"#sel-{obs}")
    shot(page, f"{size}-05-observations")
    page.click(".bulk button[value=approved_for_reuse]")
    page.wait_for_url("**/review/observations")
    assert "1 observation(s) approved for reuse" in page.inner_text(".notice")
    assert one(server, "SELECT status, decided_by FROM reflexion_log WHERE id = ?", (obs,)) == \
        ("approved_for_reuse", "mike")
    context.close()


@pytest.mark.parametrize("size", list(WIDTHS))
def test_an_email_without_pdf_shows_its_text_as_written(server, browser, size):
    text = "Hi, please send 12 cs DF-10023 and 4 cs CHS-MOZZ-LMPS by Friday.\n<script>alert('x')</script> Thanks, Maria"
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(
        conn, parsed={"lines": [], "findings": []}, status="needs_manual", flags=[], email_text=text))[1]))
    context = browser.new_context(viewport=WIDTHS[size])
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    assert page.inner_text("pre.email-text") == text  # shown as written: the markup is text, not HTML
    assert dialogs == [] and page.locator(".pdf iframe").count() == 0
    shot(page, f"{size}-06-email-text")
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.fill("textarea[name=reason]", "A question, not an order: answered by phone")
    page.click(".reject button")
    page.wait_for_url("**/review/orders")
    assert one(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == ("rejected",)
    context.close()


def test_a_customer_search_keeps_every_edit_and_enter_in_a_field_submits_nothing(server, browser):
    def rows(conn):
        seed_reference(conn)
        conn.execute("INSERT INTO spec_items (item_id, item_code, description) VALUES ('5090', 'FRT', 'Freight')")
        return add_review_item(conn)
    item = server.run(server.env.db.write(rows))
    context = browser.new_context(viewport=WIDTHS["desktop"])
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    typed = {"l1_item": "CHS-MOZZ-LMPS", "l1_price": "61.00", "l2_item": "OIL-CAN-35", "l2_qty": "3",
             "l2_price": "42.25", "memo": "dock 4", "po_number": "DF-40412-R", "ship_date": "2026-11-27",
             "c0_item": "FRT"}
    for name, text in typed.items():
        page.fill(f"[name={name}]", text)
    page.evaluate("window.notReloaded = true")
    # Enter in a line field, a header field or the search field submits nothing: no approval, nothing lost.
    page.fill("input[name=find]", "harbor")
    for name in ("l1_price", "memo", "find"):
        page.press(f"input[name={name}]", "Enter")
    page.wait_for_timeout(500)
    assert page.evaluate("window.notReloaded") is True and page.input_value("input[name=l1_price]") == "61.00"
    assert one(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == ("pending",)
    # By keyboard: Tab from the search field to Search, Enter. The page comes back with every edit.
    page.focus("input[name=find]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Search"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert {name: page.input_value(f"[name={name}]") for name in typed} == typed  # was: the PO's 64.0, no memo
    assert page.input_value("input[name=find]") == "harbor" and page.locator(".error").count() == 0
    assert one(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == ("pending",)
    page.select_option("select[name=customer_id]", "3302")  # found by the search
    page.click("#approve button.primary")
    page.wait_for_url("**/review/orders")
    payload = json.loads(one(server, "SELECT payload_json FROM proposed_actions WHERE review_item_id = ?", (item,))[0])
    assert payload["entity"] == {"id": "3302"} and payload["memo"] == "dock 4"
    assert [(ln["item"]["id"], ln["rate"]) for ln in payload["item"]["items"]] == \
        [("5001", 98.5), ("5002", 61), ("5003", 42.25), ("5090", 35)]  # the PO's freight, carried
    context.close()


def test_add_rows_comes_back_at_the_lines_with_what_was_typed(server, browser):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(
        conn, parsed={"po_number": "M-1", "lines": []}, customer_id=None, status="needs_manual", flags=[]))[1]))
    context = browser.new_context(viewport=WIDTHS["phone"])
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    page.fill("[name=l2_item]", "OIL-CAN-35")
    with page.expect_navigation():
        page.click("button[name=add_rows]")  # no customer chosen: formnovalidate, as Search
    assert page.locator("table.lines tbody tr").count() == 8 and page.input_value("[name=l2_item]") == "OIL-CAN-35"
    assert page.url.endswith("#lines") and page.evaluate("window.scrollY") > 0  # the page opens at the lines
    assert one(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == ("needs_manual",)
    context.close()


@pytest.mark.parametrize("size", list(WIDTHS))
def test_a_rewrite_of_an_action_closed_meanwhile_stays_on_screen_and_the_filters_stay(server, browser, size):
    from worker.decisions import decide_action
    from worker.env import iso

    def rows(conn):
        seed_reference(conn)
        calls = [add_action(conn, "call_task", {"note": f"call {i}"}, customer_id="2201") for i in range(32)]
        return add_action(conn, "collection_email", COLLECTION_EMAIL), calls
    email, calls = server.run(server.env.db.write(rows))
    context = browser.new_context(viewport=WIDTHS[size])
    page = context.new_page()
    sign_in_browser(page, server.url)
    # On a filtered second page, a Save comes back to it, at the saved card.
    page.goto(server.url + "/review/actions?kind=call_task&customer=2201")
    page.click("text=Older »")
    page.fill(f"#action-{calls[0]} textarea[name=note]", "Call Dana first")
    page.click(f"#action-{calls[0]} button[value=save]")
    page.wait_for_url(f"**/review/actions?kind=call_task&customer=2201&cursor={calls[2]}#action-{calls[0]}")
    # Someone else rejects the email while this reviewer rewrites it; Approve keeps the rewrite on screen.
    page.goto(server.url + "/review/actions?kind=collection_email")
    page.fill(f"#action-{email} textarea[name=body]", "My careful rewrite")
    seen = page.input_value(f"#action-{email} input[name=version]")
    server.run(server.env.db.write(decide_action, email, "anna", False, iso(server.env.clock()), seen=seen,
                                   reason="wrong contact"))
    page.click(f"#action-{email} button[value=approve]")
    page.wait_for_load_state()
    assert "rejected by anna at " in page.inner_text(".notice") and "wrong contact" in page.inner_text(".notice")
    kept = page.locator(f"#action-{email} .unsaved")
    assert kept.is_visible() and "My careful rewrite" in kept.inner_text()
    assert page.locator("select[name=kind]").input_value() == "Collection email"  # the label the menu lists
    shot(page, f"{size}-07-closed-meanwhile")
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    assert one(server, "SELECT status, decided_by FROM proposed_actions WHERE id = ?", (email,)) == ("rejected", "anna")
    context.close()
