"""Hypothesis fuzz of the ERP webhook body, correctly signed, against the live app over HTTP.

Bodies are random bytes, random JSON, and valid events with one thing broken (a key dropped, a value
replaced by random JSON, a wrong type). Whatever arrives: never a 5xx, never a hang (30 s per request),
every rejection says what was wrong, and nothing is lost (each rejected body or event has its dead letter).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import LiveServer
from tests.reliability.conftest import FUZZ_LARGE, FUZZ_SMALL
from tests.reliability.traffic import signed_headers

VALID = [
    {"event_id": "fz-c", "record_type": "customer", "record_id": "77", "operation": "update",
     "last_modified": "2026-11-20T14:03:11Z",
     "record": {"id": "77", "companyName": "Fuzz Foods", "email": "ap@fuzz.example", "creditLimit": 5000}},
    {"event_id": "fz-so", "record_type": "salesorder", "record_id": "5001", "operation": "create",
     "last_modified": "2026-11-20T14:03:11Z",
     "record": {"tranId": "SO5001", "entity": {"id": "77"}, "total": 20.0,
                "item": {"items": [{"line": 1, "item": {"id": "9"}, "quantity": 2, "rate": 10.0, "amount": 20.0}]}}},
    {"event_id": "fz-inv", "record_type": "invoice", "record_id": "8001", "operation": "update",
     "last_modified": "2026-11-21T09:00:00Z",
     "record": {"tranId": "INV8001", "entity": {"id": "77"}, "dueDate": "2026-12-20", "total": 20.0,
                "amountremaining": 20.0}},
    {"event_id": "fz-del", "record_type": "contact", "record_id": "31", "operation": "delete",
     "last_modified": "2026-11-22T09:00:00Z"},
]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                                              inner, max_size=4),
                           max_leaves=20)


@st.composite
def broken_event(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with one field dropped or replaced, anywhere in the record."""
    event = json.loads(json.dumps(draw(st.sampled_from(VALID))))
    event["event_id"] = f"fz-{draw(st.uuids()).hex[:12]}"
    target = event if draw(st.booleans()) or "record" not in event else event["record"]
    key = draw(st.sampled_from(sorted(target)))
    if draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(json_values)
    return event


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    broken_event().map(lambda e: json.dumps(e).encode()),
    st.lists(broken_event() | st.sampled_from(VALID) | json_values, max_size=6)
      .map(lambda events: json.dumps({"events": events}).encode()),
)


def dead_letter_ids(server: LiveServer) -> set[int]:
    """Ids of every stored dead letter."""
    return {row[0] for row in server.run(server.env.db.fetchall("SELECT id FROM dead_letters"))}


def check(server: LiveServer, body: bytes) -> None:
    """The contract for any authentic body."""
    reply = httpx.post(server.url + "/api/ns-webhook", content=body, headers=signed_headers(body), timeout=30)
    assert reply.status_code in (200, 400, 413, 422), (reply.status_code, reply.text, body)
    answer = reply.json()
    if reply.status_code == 200:
        assert answer["applied"] + answer["duplicate"] + answer["stale"] == answer["events"], answer
        return
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert answer["detail"].strip(), answer
    letters = dead_letter_ids(server)
    if reply.status_code == 422:
        assert answer["rejected_events"], answer
        for rejected in answer["rejected_events"]:
            assert rejected["reason"].strip() and rejected["dead_letter_id"] in letters, rejected
    else:
        assert answer["dead_letter_id"] in letters, answer


@FUZZ_SMALL
@given(body=bodies)
def test_any_signed_body_is_answered_and_kept(server: LiveServer, body: bytes) -> None:
    check(server, body)


@pytest.mark.slow
@FUZZ_LARGE
@given(body=bodies)
def test_any_signed_body_is_answered_and_kept_long(server: LiveServer, body: bytes) -> None:
    check(server, body)
