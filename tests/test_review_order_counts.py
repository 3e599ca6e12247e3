"""The Orders list's status counts, over real HTTP: filtered on a customer they count that customer's open orders
and say so ("12 pending" beside a filtered list of 2 read as that customer's); unfiltered, every customer's. A
status filter leaves both counts shown, and the page says they are of both statuses."""

from __future__ import annotations

import re

from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in


def counts(page):
    found = re.search(r"<h1>Orders to review <small>(.*?)</small></h1>", page, re.DOTALL)
    assert found, "the page heads the list with its counts"
    return " ".join(found.group(1).split())


def test_the_counts_follow_the_customer_filter_and_say_whose_they_are(server):
    def seed(conn):
        seed_reference(conn)
        for n in range(3):
            add_review_item(conn, parsed=parsed_po(po_number=f"MM-{n}"), customer_id="2201")
        add_review_item(conn, parsed=parsed_po(po_number="MM-9"), customer_id="2201", status="needs_manual")
        add_review_item(conn, parsed=parsed_po(po_number="DF-1"), customer_id="1187")
        add_review_item(conn, parsed=parsed_po(po_number="X-1"), customer_id=None, status="needs_manual")
        add_review_item(conn, parsed=parsed_po(po_number="DF-0"), customer_id="1187", status="approved")
    server.run(server.env.db.write(seed))
    client = sign_in(server.url)
    assert counts(client.get("/review/orders").text) == "4 pending · 2 need manual entry"
    # Was "4 pending · 2 need manual entry (all customers and statuses)" beside Driscoll's one order.
    assert counts(client.get("/review/orders?customer=1187").text) == "1 pending · 0 need manual entry for Driscoll Foods"
    assert (counts(client.get("/review/orders?customer=2201&status=pending").text)
            == "3 pending · 1 need manual entry for Melt Mates Kitchen Co (both statuses)")
    assert counts(client.get("/review/orders?status=needs_manual").text) == (
        "4 pending · 2 need manual entry (both statuses)")
    # A customer with no open orders counts none, named from the mirror as the menu names it.
    assert counts(client.get("/review/orders?customer=3302").text) == (
        "0 pending · 0 need manual entry for Harbor Street Deli")
