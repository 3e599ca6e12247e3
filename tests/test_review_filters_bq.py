"""Review-page filters that say what they show (browser audit BQ5-BQ8), over real HTTP."""

from __future__ import annotations

from tests.review_seed import add_observation, add_review_item, seed_reference, sign_in


def test_an_orders_filter_with_nothing_open_stays_visible_and_can_be_cleared(server):
    server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))))
    client = sign_in(server.url)
    page = client.get("/review/orders?customer=2201").text
    assert '<option value="2201" selected>customer id 2201 (no open orders)</option>' in page
    assert "Nothing to review" not in page and "(all customers and statuses)" in page
    assert ('No open orders for customer id 2201: the list is filtered. <a href="/review/orders">Show all orders</a>'
            in page)
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
