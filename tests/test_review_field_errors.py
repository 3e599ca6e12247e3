"""A refused form says what is wrong beside the field it is about: that field is marked invalid, described by the
message and autofocused (an action's card; the order form's fields, its summary linking to each)."""

from __future__ import annotations

import re

import pytest

from handlers.review.actions import refused_field
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    hidden,
    seed_reference,
    sign_in,
)


@pytest.mark.parametrize(("message", "field"), [
    ("a reason is required to reject", "reason"),
    ("the reason is longer than 500 characters", "reason"),
    ("subject must be one line", "subject"),
    ("body cannot be empty", "body"),
    ("body is longer than 20000 characters", "body"),
    ("bodyguard cannot be empty", None),  # a name, not a prefix
    ("Sales order SO-9801 was deleted in NetSuite", None),  # about the action, not a field
])
def test_a_refusal_names_its_field(message, field):
    assert refused_field(message, ["subject", "body"]) == field


def tag(page: str, name: str) -> str:
    """The opening tag of the form field `name` (an input or a textarea)."""
    return re.search(rf'<(?:input|textarea|select)\b[^>]*\bname="{name}"[^>]*>', page).group(0)


def test_an_emptied_body_is_refused_beside_the_body(server):
    email = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                         add_action(conn, "collection_email", COLLECTION_EMAIL))[1]))
    client = sign_in(server.url)
    seen = hidden(client.get("/review/actions").text, "version")
    page = client.post(f"/review/actions/{email}", data={"csrf": client.csrf, "op": "save", "version": seen,
                                                         "subject": "Past due", "body": "  "})
    assert page.status_code == 422
    body = tag(page.text, "body")
    assert f'aria-describedby="action-{email}-error"' in body and 'aria-invalid="true"' in body and "autofocus" in body
    assert f'<p class="error" id="action-{email}-error" role="alert">body cannot be empty</p>' in page.text
    assert "autofocus" not in tag(page.text, "subject") and "aria-invalid" not in tag(page.text, "reason")
    assert page.text.count("autofocus") == 1


def test_a_refusal_about_the_action_is_said_on_its_card(server):
    email = server.run(server.env.db.write(lambda conn: (seed_reference(conn),
                                                         add_action(conn, "collection_email", COLLECTION_EMAIL))[1]))
    client = sign_in(server.url)
    page = client.post(f"/review/actions/{email}", data={"csrf": client.csrf, "op": "approve",
                                                         "version": "2026-01-01T00:00:00.000Z", "subject": "Past due"})
    assert page.status_code == 422
    card = page.text[page.text.index(f'id="action-{email}"'):]
    assert re.search(rf'<p class="error" id="action-{email}-error" role="alert">[^<]*changed', card), card[:1500]
    assert "aria-invalid" not in card and "autofocus" in tag(card, "subject")  # the first field, as before
