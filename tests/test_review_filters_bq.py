"""Review-page filters that say what they show (browser audit BQ5-BQ8), over real HTTP."""

from __future__ import annotations

import re

import pytest

from handlers.review.actions import kind_filter, kind_options
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    add_review_item,
    seed_reference,
    sign_in,
)


@pytest.fixture
def mixed(server):
    """Collection emails staged by the API and by a workflow (two raw kinds, one label), and a call task."""
    def seed(conn):
        seed_reference(conn)
        workflow = add_action(conn, "send_collection_email", COLLECTION_EMAIL)
        api = add_action(conn, "collection_email", COLLECTION_EMAIL, customer_id="2201")
        call = add_action(conn, "schedule_collection_call", {"note": "Call Driscoll AP"})
        return workflow, api, call
    return server, server.run(server.env.db.write(seed)), sign_in(server.url)


def cards(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="action-(\d+)"', page)}


def test_a_kind_filter_is_a_label_standing_for_every_kind_under_it():
    known = ["collection_email", "send_collection_email", "log_dispute"]
    assert kind_filter("Collection email", known) == ("Collection email", ["collection_email", "send_collection_email"])
    assert kind_filter("send_collection_email", known)[1] == ["collection_email", "send_collection_email"]
    assert kind_filter("log_dispute", known) == ("Log dispute", ["log_dispute"])
    assert kind_filter("nothing_like_it", known) == ("nothing_like_it", ["nothing_like_it"])
    assert kind_filter("", known) == ("", [])
    assert kind_options(known, "") == ["Collection email", "Log dispute"]


def test_the_kind_menu_lists_labels_and_one_lists_both_raw_kinds(mixed):
    _server, (workflow, api, _call), client = mixed
    page = client.get("/review/actions").text
    menu = re.search(r'<select name="kind">(.*?)</select>', page, re.DOTALL).group(1)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", menu) == ["all kinds", "Call task", "Collection email"]
    by_label = client.get("/review/actions", params={"kind": "Collection email"}).text
    assert cards(by_label) == {workflow, api} and "<option selected>Collection email</option>" in by_label
    # A raw kind (a bookmark, a link from before) still works, and lists its label's kinds, as the menu does.
    by_raw = client.get("/review/actions?kind=collection_email").text
    assert cards(by_raw) == {workflow, api} and "<option selected>Collection email</option>" in by_raw


def test_a_decision_from_a_label_filtered_page_returns_to_it(mixed):
    _server, (workflow, api, _call), client = mixed
    page = client.get("/review/actions", params={"kind": "Collection email"}).text
    version = re.search(rf'id="action-{api}".*?name="version" value="([^"]*)"', page, re.DOTALL).group(1)
    response = client.post(f"/review/actions/{api}", data={"csrf": client.csrf, "version": version, "op": "save",
                                                           "kind": "Collection email", "subject": "Past due",
                                                           "body": COLLECTION_EMAIL["body"]})
    assert response.headers["location"] == f"/review/actions?kind=Collection+email#action-{api}"
    assert cards(client.get(response.headers["location"]).text) == {workflow, api}


def test_cards_show_the_customer_id_and_an_empty_filter_names_itself(mixed):
    _server, (workflow, _api, _call), client = mixed
    assert "Driscoll Foods (id 1187)" in client.get("/review/actions").text
    assert cards(client.get("/review/actions?customer=1187&kind=Collection+email").text) == {workflow}
    none = client.get("/review/actions?customer=9999").text
    assert "No staged actions for customer id 9999." in none and "not a name" not in none
    named = client.get("/review/actions?customer=Driscoll&kind=Collection+email").text
    assert "No staged actions of kind Collection email for customer id Driscoll." in named
    assert "The customer filter takes a NetSuite customer id (digits), not a name." in named
    assert ('<a href="/review/actions?status=staged&amp;kind=Collection%20email&amp;customer=1187">'
            "Driscoll Foods (id 1187)</a>") in named
    assert "No customer is named “Nobody”." in client.get("/review/actions?customer=Nobody").text


def test_an_orders_filter_with_nothing_open_stays_visible_and_can_be_cleared(server):
    server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))))
    client = sign_in(server.url)
    page = client.get("/review/orders?customer=2201").text
    # Named from the mirror (was "customer id 2201": the menu lists only customers with open orders).
    assert '<option value="2201" selected>Melt Mates Kitchen Co (no open orders)</option>' in page
    # Its counts are its own, and say so (they were every customer's: "(all customers and statuses)").
    assert "Nothing to review" not in page and "0 need manual entry for Melt Mates Kitchen Co</small>" in page
    assert ('No open orders for Melt Mates Kitchen Co: the list is filtered. <a href="/review/orders">Show all '
            'orders</a>' in page)
    unknown = client.get("/review/orders?customer=9999").text  # in no mirror: its id
    assert '<option value="9999" selected>customer id 9999 (no open orders)</option>' in unknown
    manual = client.get("/review/orders?customer=1187&status=needs_manual").text
    assert "No needs manual orders for Driscoll Foods: the list is filtered." in manual
    assert "(all customers" not in client.get("/review/orders").text


def test_bulk_triage_with_nothing_ticked_shows_the_tab_again_and_keeps_the_page(server):
    obs = server.run(server.env.db.write(lambda conn: [add_observation(conn, f"Observation {i}") for i in range(3)]))
    client = sign_in(server.url)
    empty = client.post("/review/observations", data={"csrf": client.csrf, "op": "approved_for_reuse",
                                                       "cursor": str(obs[2])})
    assert empty.status_code == 422 and "Nothing was triaged: tick the observations first" in empty.text
    assert "<h1>Observations</h1>" in empty.text and f'id="obs-{obs[0]}"' in empty.text
    assert f'id="obs-{obs[2]}"' not in empty.text  # still on the page it was on (older than the cursor)
    done = client.post("/review/observations", data={"csrf": client.csrf, "op": "rejected", "id": str(obs[0]),
                                                      "cursor": str(obs[2])})
    assert done.status_code == 303 and done.headers["location"] == f"/review/observations?cursor={obs[2]}"
    row = client.post("/review/observations", data={"csrf": client.csrf, "row": f"{obs[1]}:rejected", "cursor": "0"})
    assert row.headers["location"] == "/review/observations"
