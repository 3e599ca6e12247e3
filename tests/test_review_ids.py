"""Ids in review URLs: a number SQLite cannot hold is a clear 400, never an OverflowError (500)."""

from __future__ import annotations

import pytest

from tests.review_seed import sign_in

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
