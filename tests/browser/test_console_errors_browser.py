"""The browser fixture's watch (tests/browser_watch.py) catches what a page logs as an error: a console.error,
an uncaught exception, a script the Content Security Policy refuses, a 404; and its check fails naming them.
A refused form's page (422) is no error."""

from __future__ import annotations

import pytest

from tests.browser_support import sign_in_browser
from tests.review_seed import add_action, seed_reference

pytestmark = pytest.mark.browser
INLINE_SCRIPT = "document.head.append(Object.assign(document.createElement('script'), {textContent: 'window.ran = 1'}))"


def test_every_kind_of_page_error_is_recorded_and_fails_the_check(server, browser, console_errors):
    context = browser.new_context()
    page = context.new_page()
    sign_in_browser(page, server.url)
    assert console_errors.errors == []  # signing in and the queue log nothing
    with page.expect_console_message(lambda m: m.type == "error"):
        page.evaluate("console.error('logged on purpose')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('thrown on purpose') })")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(INLINE_SCRIPT)
    assert page.evaluate("window.ran") is None  # refused by the policy, so logged
    with page.expect_console_message(lambda m: "404" in m.text):
        page.evaluate("fetch('/static/no-such-file.css')")
    page.goto(server.url + "/review/no-such-page")  # a page answered 404: only a refused form's 422 is excused
    second = context.new_page()  # a page opened later in the context is watched too
    with second.expect_console_message(lambda m: m.type == "error"):
        second.evaluate("console.error('from the second page')")
    with pytest.raises(AssertionError, match="thrown on purpose"):
        console_errors.check()
    taken = console_errors.take()  # else this test would fail at teardown, as the check is meant to
    assert len(taken) == 6, taken
    assert "console error: logged on purpose" in taken[0] and taken[1] == "page error: thrown on purpose"
    assert "Content Security Policy" in taken[2] and "404" in taken[3] and "from the second page" in taken[5]
    assert "status of 404" in taken[4] and taken[4].endswith("/review/no-such-page)")
    console_errors.check()  # nothing left: passes


def test_a_refused_forms_page_is_no_error(server, browser, console_errors):
    action = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_action(
        conn, "call_task", {"note": "Call Driscoll AP"}))[1]))
    page = browser.new_context().new_page()
    sign_in_browser(page, server.url)
    page.goto(server.url + "/review/actions")
    with page.expect_console_message(lambda m: "status of 422" in m.text):  # Chromium logs the page's status
        page.click(f"#action-{action} button[value=reject]")  # no reason: refused, the page again beside the field
    page.wait_for_load_state()
    assert page.locator(f"#action-{action} [role=alert]").inner_text() == "a reason is required to reject"
    assert any("status of 422" in text for text, _ in console_errors.logged)  # recorded, then excused
    assert console_errors.errors == []
