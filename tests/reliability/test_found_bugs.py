"""Minimal reproductions of the 5xx that schemathesis and the fuzzers found, one request each.

A test here is `xfail(strict=True)` while its fix belongs to a module whose owner is still at work: it
turns into a failure (XPASS) the moment the bug is fixed, so the marker is removed with the fix (and the
operation taken out of KNOWN_BROKEN in test_schemathesis.py, so schemathesis covers it again).
"""

from __future__ import annotations

import httpx

from tests.helpers import TEST_INTAKE_TOKEN, LiveServer

BEARER = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}"}
TOO_BIG = str(2**63)  # one past SQLite's INTEGER range


def test_review_items_cursor_beyond_sqlite_integer_is_400(server: LiveServer) -> None:
    reply = httpx.get(server.url + "/api/review-items", params={"cursor": TOO_BIG}, headers=BEARER, timeout=30)
    assert reply.status_code == 400, reply.text


def test_proposed_actions_cursor_beyond_sqlite_integer_is_400(server: LiveServer) -> None:
    reply = httpx.get(server.url + "/api/proposed-actions", params={"cursor": TOO_BIG}, headers=BEARER, timeout=30)
    assert reply.status_code == 400, reply.text


def test_customer_search_with_odd_unicode_is_not_5xx(server: LiveServer) -> None:
    reply = httpx.get(server.url + "/api/customers", params={"q": "\u00f3\u00acQ"}, headers=BEARER, timeout=30)
    assert reply.status_code < 500, reply.text
