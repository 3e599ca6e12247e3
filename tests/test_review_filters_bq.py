"""Review-page filters that say what they show (browser audit BQ5-BQ8), over real HTTP."""

from __future__ import annotations

from tests.review_seed import add_observation, sign_in


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
