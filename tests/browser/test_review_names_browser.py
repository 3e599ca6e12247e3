"""In headless Chromium, by its accessibility tree: each Actions card's buttons and fields, and each observation's
buttons, have a name of their own that starts with the visible label (audit CE6, WCAG 2.5.3), so a screen reader's
list of buttons reads "Approve action #24, …" and the hidden part takes no room on screen."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.browser_support import sign_in_browser
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    seed_reference,
)

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}


# The text a sighted reviewer reads on a control: its text less the part only a screen reader gets.
SHOWN = """e => [...e.childNodes].filter(n => !n.classList?.contains('visually-hidden')).map(n => n.textContent)
  .join('').trim()"""


def named_alike(context, page, roles=("button", "textbox")):
    """Names Chromium's own accessibility tree (what a screen reader is given) has for more than one control."""
    nodes = context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    names = Counter(n.get("name", {}).get("value") for n in nodes if n["role"]["value"] in roles)
    return [name for name, count in names.items() if count > 1]


def only_one(page, role, name, card):
    """The one element of `role` named exactly `name`, which must be inside `card`."""
    found = page.get_by_role(role, name=name, exact=True)
    assert found.count() == 1, f"{role} {name!r}: {found.count()} elements"
    assert page.locator(card).get_by_role(role, name=name, exact=True).count() == 1, f"{name!r} not in {card}"
    return found


@pytest.mark.parametrize("size", list(WIDTHS))
def test_each_action_cards_controls_have_their_own_names(server, browser, size):
    def rows(conn):
        seed_reference(conn)
        emails = [add_action(conn, "collection_email", COLLECTION_EMAIL) for _ in range(2)]
        call = add_action(conn, "call_task", {"note": "Call Melt Mates AP"}, customer_id="2201")
        return emails, call
    emails, call = server.run(server.env.db.write(rows))
    context = browser.new_context(viewport=WIDTHS[size])
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(server.url + "/review/actions")
    cards = {e: "Collection email for Driscoll Foods" for e in emails} | {call: "Call task for Melt Mates Kitchen Co"}
    for action, what in cards.items():
        card, ctx = f"#action-{action}", f"action #{action}, {what}"
        for label, name in [("Approve", f"Approve {ctx}"), ("Save edits", f"Save edits to {ctx}"),
                            ("Reject", f"Reject {ctx}")]:
            button = only_one(page, "button", name, card)
            assert button.evaluate(SHOWN) == label  # the visible label is the name's start; the rest is not shown
        only_one(page, "textbox", f"Reason to reject {ctx}", card)
    for email in emails:
        for field in ("Subject", "Body"):
            only_one(page, "textbox", f"{field} of action #{email}, {cards[email]}", f"#action-{email}")
    only_one(page, "textbox", f"Note of action #{call}, Call task for Melt Mates Kitchen Co", f"#action-{call}")
    assert page.get_by_role("button", name="Approve", exact=True).count() == 0
    assert named_alike(context, page) == []
    # The hidden text takes no room: a clipped 1 px box, the page still as wide as the phone.
    box = page.locator(f"#action-{call} button[value=approve] .visually-hidden").bounding_box()
    assert box["width"] <= 1 and box["height"] <= 1
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    # The name is the button: activating it by its name approves that action.
    page.get_by_role("button", name=f"Approve action #{call}, Call task for Melt Mates Kitchen Co", exact=True).click()
    page.wait_for_url("**/review/actions")
    assert tuple(server.run(server.env.db.fetchone("SELECT status FROM proposed_actions WHERE id = ?", (call,)))) == \
        ("approved",)
    context.close()


def test_each_observations_buttons_have_their_own_names(server, browser):
    obs = server.run(server.env.db.write(lambda conn: (seed_reference(conn), [
        add_observation(conn, f"Observation {i}") for i in range(3)])[1]))
    context = browser.new_context(viewport=WIDTHS["desktop"])
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(server.url + "/review/observations")
    for o in obs:
        for label, name in [("Approve for reuse", f"Approve for reuse observation #{o}, Driscoll Foods"),
                            ("Reject", f"Reject observation #{o}, Driscoll Foods")]:
            assert only_one(page, "button", name, f"#obs-{o}").evaluate(SHOWN) == label
    for label in ("Approve for reuse", "Reject"):
        bulk = page.get_by_role("button", name=f"{label} the selected observations", exact=True)
        assert bulk.count() == 1 and bulk.evaluate(SHOWN) == label
    assert named_alike(context, page, roles=("button",)) == []
    context.close()
