"""A form's own URL opened by GET (a reload or Back after Search, Add rows or a refusal left it in the address
bar) leads to the form's page (303), signed in or not; any other wrong method stays the HTML 405 page."""

from __future__ import annotations

import httpx
import pytest

from handlers.review.web import reloaded_form
from tests.review_seed import COLLECTION_EMAIL, add_action, add_review_item, seed_reference, sign_in


@pytest.mark.parametrize(("method", "path", "status", "target"), [
    ("GET", "/review/orders/7/approve", 405, "/review/orders/7"),
    ("HEAD", "/review/orders/7/reject", 405, "/review/orders/7"),
    ("GET", "/review/actions/12", 405, "/review/actions"),
    ("PUT", "/review/orders/7/approve", 405, None),  # not a reload: the 405 page
    ("GET", "/review/orders", 405, None),
    ("GET", "/review/orders/7/approve", 404, None),
    ("GET", "/review/orders/7/approvex", 405, None),
])
def test_only_a_get_of_a_forms_path_is_sent_to_its_page(method, path, status, target):
    assert reloaded_form(method, path, status) == target


def test_reloading_the_order_form_after_add_rows_shows_the_order_not_a_405(server):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))[1]))
    client = sign_in(server.url)
    page = client.post(f"/review/orders/{item}/approve", data={"csrf": client.csrf, "n": "1", "add_rows": "1"})
    assert page.status_code == 200  # the form as posted; the address bar now says .../approve
    for path in (f"/review/orders/{item}/approve", f"/review/orders/{item}/reject"):
        again = client.get(path)
        assert again.status_code == 303 and again.headers["location"] == f"/review/orders/{item}"
        assert client.get(path, follow_redirects=True).status_code == 200
    assert client.head(f"/review/orders/{item}/approve").status_code == 303
    # Signed out: to the page, which asks for a sign-in leading back to it.
    anonymous = httpx.get(f"{server.url}/review/orders/{item}/approve", follow_redirects=True)
    assert anonymous.url.path == "/review/login" and anonymous.url.params["next"] == f"/review/orders/{item}"
    status = server.run(server.env.db.fetchone("SELECT status FROM review_items WHERE id = ?", (item,)))[0]
    assert status == "pending"  # a GET decides nothing


def test_an_actions_address_leads_to_its_card(server):
    # A refused action form leaves /review/actions/{id} in the address bar; it led to the unfiltered list, far from
    # the card (an approved action's is not even in the staged list). It is now a link to the card, in its list.
    def seed(conn):
        seed_reference(conn)
        return add_action(conn, "send_collection_email", COLLECTION_EMAIL), add_action(
            conn, "send_collection_email", COLLECTION_EMAIL, status="approved")
    staged, approved = server.run(server.env.db.write(seed))
    client = sign_in(server.url)
    for action, status in ((staged, "staged"), (approved, "approved")):
        found = client.get(f"/review/actions/{action}")
        assert found.status_code == 303
        assert found.headers["location"] == f"/review/actions?status={status}&cursor={action + 1}#action-{action}"
        assert f'id="action-{action}"' in client.get(found.headers["location"]).text
    assert client.head(f"/review/actions/{staged}").status_code == 303
    missing = client.get(f"/review/actions/{approved + 1}")
    assert missing.status_code == 404 and "<h1>404</h1>" in missing.text
    # Signed out: sign in, then on to the card.
    anonymous = httpx.get(f"{server.url}/review/actions/{approved}", follow_redirects=True)
    assert anonymous.url.path == "/review/login" and anonymous.url.params["next"] == f"/review/actions/{approved}"
