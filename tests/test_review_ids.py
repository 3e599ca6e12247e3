"""Ids in review URLs: a number SQLite cannot hold is a clear 400, never an OverflowError (500)."""

from __future__ import annotations

import pytest

from handlers.review import queries as q
from handlers.review.actions import one_action
from tests.review_seed import NOW, sign_in
from worker.db import MAX_ROWID

TOO_BIG = str(2**63)  # one past SQLite's largest rowid


@pytest.mark.parametrize("path", ["/review/orders/{}", "/review/orders/{}/pdf", "/review/orders/{}/email"])
def test_an_item_id_past_the_largest_rowid_is_a_400_and_the_largest_a_404(server, path):
    client = sign_in(server.url)
    response = client.get(path.format(TOO_BIG))
    assert response.status_code == 400 and "item_id" in response.text
    assert client.get(path.format(2**63 - 1)).status_code == 404


@pytest.mark.parametrize("path", ["/review/orders/{}/approve", "/review/orders/{}/reject", "/review/actions/{}"])
def test_a_decision_on_an_id_past_the_largest_rowid_is_a_400(server, path):
    client = sign_in(server.url)
    response = client.post(path.format(TOO_BIG), data={"reason": "x", "op": "reject"})
    assert response.status_code == 400 and ("item_id" in response.text or "action_id" in response.text)


def test_a_decision_without_a_reason_on_the_largest_rowid_is_a_404(server):
    # The audit's 500: a refused form is shown again, fetched as "the action below id + 1", past SQLite's integers.
    client = sign_in(server.url)
    response = client.post(f"/review/actions/{MAX_ROWID}", data={"csrf": client.csrf, "op": "reject", "reason": ""})
    assert response.status_code == 404, response.text[:300]


async def test_the_refused_action_is_found_at_the_largest_rowid(env):
    # Not reachable over HTTP since a refusal needs a staged action (always first on its page); kept within range.
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO proposed_actions (id, kind, status, payload_json, risk, source, created_at, updated_at) "
        "VALUES (?, 'call_task', 'approved', '{}', 3, 'workflow', ?, ?)", (MAX_ROWID, NOW, NOW)))
    assert [row["id"] for row in await q.rows(env, q.ACTIONS, one_action(MAX_ROWID))] == [MAX_ROWID]
