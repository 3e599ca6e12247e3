"""Actions and Observations over real HTTP: every card's buttons have a name of their own (audit CE6). A screen
reader listing the buttons reads "Approve action #24, Collection email for Driscoll Foods", never "Approve" once per
card; each name starts with the visible label (WCAG 2.5.3, label in name)."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    seed_reference,
    sign_in,
)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Buttons(HTMLParser):
    """The page's buttons as (card id, accessible name, visible text), by the name computation's rules a server page
    needs: aria-label first, else the text content less what is hidden from everyone (hidden, aria-hidden); the
    visible text leaves out .visually-hidden too. A hidden button is no button to a screen reader."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.card = ""
        self.stack: list[tuple[bool, bool]] = []  # inside the open button: (hidden from all, visually hidden)
        self.button: dict[str, str | None] | None = None
        self.name: list[str] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "article":
            self.card = a.get("id") or ""
        if tag == "button" and self.button is None:
            self.button, self.name, self.seen, self.stack = a, [], [], [("hidden" in a or "aria-hidden" in a, False)]
        elif self.button is not None and tag not in VOID:
            gone, unseen = self.stack[-1]
            self.stack.append((gone or "hidden" in a or a.get("aria-hidden") == "true",
                               unseen or "visually-hidden" in (a.get("class") or "").split()))

    def handle_endtag(self, tag: str) -> None:
        if self.button is None or tag in VOID:
            return
        self.stack.pop()
        if tag == "button" and not self.stack:
            if "hidden" not in self.button and self.button.get("aria-hidden") != "true":
                name = self.button.get("aria-label") or "".join(self.name)
                self.found.append((self.card, " ".join(name.split()), " ".join("".join(self.seen).split())))
            self.button = None

    def handle_data(self, data: str) -> None:
        if self.button is not None and not self.stack[-1][0]:
            self.name.append(data)
            if not self.stack[-1][1]:
                self.seen.append(data)


def buttons(html: str) -> list[tuple[str, str, str]]:
    """(card id, accessible name, visible text) of each button a screen reader lists on the page."""
    parser = Buttons()
    parser.feed(html)
    parser.close()
    return parser.found


def assert_names_unique_and_labelled(found: list[tuple[str, str, str]]) -> None:
    """No two buttons share a name, and each name starts with the button's visible text."""
    twice = [name for name, n in Counter(name for _, name, _ in found).items() if n > 1]
    assert twice == [], f"buttons named alike: {twice}"
    assert [(name, seen) for _, name, seen in found if not seen or not name.startswith(seen)] == []


@pytest.fixture
def queue(server):
    def seed(conn):
        seed_reference(conn)
        conn.execute("INSERT INTO customers (ns_id, entity_id, company_name, email, terms, last_modified) "
                     "VALUES ('4404', 'SMITH', 'Smith & <Sons>', 'ap@smith.test', 'Net 30', '2026-11-20T14:05:00Z')")
        actions = [add_action(conn, "collection_email", COLLECTION_EMAIL),
                   add_action(conn, "collection_email", COLLECTION_EMAIL),  # same kind, same customer: only the id
                   add_action(conn, "call_task", {"note": "Call Driscoll AP", "phone": "201-555-0100"}),
                   add_action(conn, "service_hold", {"reason": "90+ days past due", "amount": 14220.18},
                              customer_id="4404"),
                   add_action(conn, "call_task", {"note": "no customer known"}, customer_id="")]
        observations = [add_observation(conn, f"Observation {i}") for i in range(3)]
        return actions, observations
    actions, observations = server.run(server.env.db.write(seed))
    return actions, observations, sign_in(server.url)


def test_each_action_cards_buttons_name_the_action(queue):
    (email, email2, call, hold, nobody), _, client = queue
    found = buttons(client.get("/review/actions").text)
    assert_names_unique_and_labelled(found)
    by_card = {(card, seen): name for card, name, seen in found if card}
    assert by_card[(f"action-{email}", "Approve")] == f"Approve action #{email}, Collection email for Driscoll Foods"
    assert by_card[(f"action-{email2}", "Save edits")] == \
        f"Save edits to action #{email2}, Collection email for Driscoll Foods"
    assert by_card[(f"action-{call}", "Reject")] == f"Reject action #{call}, Call task for Driscoll Foods"
    assert by_card[(f"action-{hold}", "Approve")] == f"Approve action #{hold}, Service hold for Smith & <Sons>"
    assert by_card[(f"action-{nobody}", "Reject")] == f"Reject action #{nobody}, Call task"
    # a hold has nothing to edit: no Save edits
    assert Counter(seen for card, _, seen in found if card) == {"Approve": 5, "Reject": 5, "Save edits": 4}


def test_each_observation_rows_buttons_name_the_observation(queue):
    _, observations, client = queue
    found = buttons(client.get("/review/observations").text)
    assert_names_unique_and_labelled(found)
    names = {name for _, name, _ in found}
    for obs in observations:
        assert {f"Approve for reuse observation #{obs}, Driscoll Foods", f"Reject observation #{obs}, Driscoll Foods"} \
            <= names
    assert {"Approve for reuse the selected observations", "Reject the selected observations"} <= names
