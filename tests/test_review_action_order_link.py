"""An approved order's create_sales_order card links the purchase order it came from, whose page shows what was
approved: the order is reachable from the Actions tab, not only by typing its URL."""

from __future__ import annotations

from tests.review_seed import add_review_item, seed_reference, sign_in
from tests.test_review_decisions import order
from worker.decisions import approve_order


def test_the_sales_order_card_links_its_purchase_order(server):
    def approved(conn):
        seed_reference(conn)
        item = add_review_item(conn)
        return item, approve_order(conn, item, "mike", order(), "2026-11-19T10:00:00Z").action_id

    item, action = server.run(server.env.db.write(approved))
    browser = sign_in(server.url)
    page = browser.get("/review/actions", params={"status": "approved"}).text
    card = page.split(f'id="action-{action}"', 1)[1].split("</article>", 1)[0]
    assert f'<a href="/review/orders/{item}">purchase order DF-40412</a>' in card
    shown = browser.get(f"/review/orders/{item}")
    assert shown.status_code == 200 and f"proposed action #{action}</a> (approved)" in shown.text
