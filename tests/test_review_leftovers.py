"""Review-queue leftovers, over real HTTP: the observations bulk form sent with an earlier sign-in's token comes
back ticked as sent (422, nothing triaged) as the other review forms do; a price draft whose sales order the mirror
never had is refused like one whose order was deleted or cancelled; the orders pages say their times are UTC."""

from __future__ import annotations

import re

import pytest

from tests.review_seed import (
    add_observation,
    hidden,
    seed_reference,
)
from tests.test_review_second_sign_in import (
    _signed_out_and_in_again,
    rows,
    signed_in,
    token_of,
)

NEEDS_REVIEW = "SELECT id FROM reflexion_log WHERE status = 'needs_review' ORDER BY id"


def ticked(page: str) -> list[int]:
    return sorted(int(i) for i in re.findall(r'<input type="checkbox" name="id" value="(\d+)"[^>]* checked>', page))


@pytest.fixture
def observations(server):
    """Four observations awaiting review."""
    ids = server.run(server.env.db.write(lambda conn: (
        seed_reference(conn), [add_observation(conn, f"Observation {i}") for i in range(4)])[1]))
    return server, ids


@pytest.mark.parametrize("button", [{"op": "rejected"}, {"op": "approved_for_reuse"}, {"row": "ROW:rejected"}])
def test_an_observations_form_from_an_ended_session_comes_back_ticked_not_applied(observations, button):
    server, ids = observations
    browser = signed_in(server)
    page = browser.get("/review/observations").text
    assert ticked(page) == []
    chosen = [ids[0], ids[2]]
    form = {"csrf": hidden(page, "csrf"), "cursor": hidden(page, "cursor"), "id": [str(i) for i in chosen],
            **{k: v.replace("ROW", str(ids[1])) for k, v in button.items()}}
    _signed_out_and_in_again(browser)
    again = browser.post("/review/observations", data=form)
    assert again.status_code == 422, again.text
    assert "loaded under an earlier sign-in" in again.text and ticked(again.text) == chosen
    fresh = hidden(again.text, "csrf")
    assert fresh != form["csrf"] and fresh == token_of(browser, "/review/orders")
    assert [r[0] for r in rows(server, NEEDS_REVIEW)] == ids  # nothing triaged
    assert rows(server, "SELECT count(*) FROM events WHERE type LIKE 'reflexion.%'") == [(0,)]
    resent = browser.post("/review/observations", data={**form, "csrf": fresh})  # sent again from the page shown
    assert resent.status_code == 303, resent.text
    assert len(rows(server, NEEDS_REVIEW)) == (3 if "row" in button else 2)  # a row's button: that row only


def test_a_ticked_observation_triaged_since_is_named_not_ticked(observations):
    server, ids = observations
    browser = signed_in(server)
    page = browser.get("/review/observations").text
    form = {"csrf": hidden(page, "csrf"), "op": "rejected", "id": [str(ids[0]), str(ids[3]), "nonsense"]}
    _signed_out_and_in_again(browser)
    done = browser.post("/review/observations", data={"csrf": token_of(browser, "/review/observations"),
                                                      "row": f"{ids[3]}:approved_for_reuse"})
    assert done.status_code == 303
    again = browser.post("/review/observations", data=form)
    assert again.status_code == 422 and ticked(again.text) == [ids[0]]
    assert f"Also ticked, no longer awaiting review: #{ids[3]}." in again.text
    assert [r[0] for r in rows(server, NEEDS_REVIEW)] == ids[:3]


def test_an_observations_form_without_a_token_of_ours_is_still_refused(observations):
    server, ids = observations
    browser = signed_in(server)
    for token in (None, "", "forged-token"):
        data = {"op": "rejected", "id": str(ids[0])} | ({} if token is None else {"csrf": token})
        response = browser.post("/review/observations", data=data)
        assert response.status_code == 403 and "security token" in response.text
    assert len(rows(server, NEEDS_REVIEW)) == 4
