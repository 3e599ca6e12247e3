"""The Orders tab's approved and rejected lists over real HTTP: a decided order is found from the tab (it was
reachable only by typing its address or from its action's card), with who decided it, when and, for a rejection,
why; open orders stay off them, and they filter by customer and page like the open list."""

from __future__ import annotations

import re

import pytest

from tests.review_seed import add_review_item, parsed_po, seed_reference, sign_in

SCRIPT = '<script>alert("pwn")</script>'


def decided(conn, po_number: str, status: str, *, at: str, by: str = "mike", reason: str | None = None,
            customer_id: str = "1187") -> int:
    item = add_review_item(conn, parsed=parsed_po(po_number=po_number), customer_id=customer_id, created_at=at)
    conn.execute("UPDATE review_items SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ? WHERE id = ?",
                 (status, by, at.replace("T09", "T11"), reason, item))
    return item


@pytest.fixture
def orders(server):
    def seed(conn):
        seed_reference(conn)
        add_review_item(conn, parsed=parsed_po(po_number="OPEN-1"), created_at="2026-11-21T08:00:00.000Z")
        ids = {"ok": decided(conn, "OK-1", "approved", at="2026-11-21T09:00:00.000Z"),
               "mm": decided(conn, "MM-1", "approved", at="2026-11-21T09:30:00.000Z", customer_id="2201", by="ana"),
               "no": decided(conn, "NO-1", "rejected", at="2026-11-20T09:00:00.000Z",
                             reason=f"duplicate of PO OK-1 {SCRIPT}")}
        return ids
    ids = server.run(server.env.db.write(seed))
    return server, ids, sign_in(server.url)


def rows(page: str) -> list[str]:
    return re.findall(r'<td data-label="PO"><a href="/review/orders/\d+">([^<]+)</a>', page)


def test_the_approved_list_shows_approved_orders_with_who_and_when(orders):
    _server, ids, client = orders
    page = client.get("/review/orders?status=approved")
    assert page.status_code == 200
    assert rows(page.text) == ["MM-1", "OK-1"]  # newest first; neither the open nor the rejected order
    assert "<h1>Approved orders <small>still open: 1 pending · 0 need manual entry</small></h1>" in page.text
    assert f'<a href="/review/orders/{ids["ok"]}">OK-1</a>' in page.text  # its page shows what was approved
    assert '<td data-label="Decided">by mike at 2026-11-21 11:00 UTC</td>' in page.text
    assert '<option value="approved" selected>approved</option>' in page.text


def test_the_rejected_list_says_why_escaped(orders):
    _server, _ids, client = orders
    page = client.get("/review/orders?status=rejected").text
    assert rows(page) == ["NO-1"]
    assert SCRIPT not in page
    assert ("by mike at 2026-11-20 11:00 UTC: duplicate of PO OK-1 &lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;"
            "</td>") in page


def test_the_open_list_is_unchanged(orders):
    _server, _ids, client = orders
    page = client.get("/review/orders").text
    assert rows(page) == ["OPEN-1"] and "<h1>Orders to review <small>1 pending" in page
    assert '<th>Flags</th>' in page and "Decided" not in page


def test_decided_lists_filter_by_customer_and_page(orders):
    server, _ids, client = orders
    page = client.get("/review/orders?status=approved&customer=2201").text
    assert rows(page) == ["MM-1"] and "for Melt Mates Kitchen Co" in page
    empty = client.get("/review/orders?status=rejected&customer=2201").text
    assert "No rejected orders for Melt Mates Kitchen Co" in empty and "the list is filtered" in empty

    def many(conn):
        for i in range(55):
            decided(conn, f"A-{i:03d}", "approved", at=f"2026-11-22T09:{i:02d}:00.000Z")
    server.run(server.env.db.write(many))
    first = client.get("/review/orders?status=approved").text
    assert rows(first)[:2] == ["A-054", "A-053"] and len(rows(first)) == 50
    cursor = re.search(r'status=approved&amp;customer=&amp;cursor=(\d+)', first)[1]
    second = rows(client.get(f"/review/orders?status=approved&cursor={cursor}").text)
    assert second == ["A-004", "A-003", "A-002", "A-001", "A-000", "MM-1", "OK-1"]


def test_an_unknown_status_names_the_choices(orders):
    _server, _ids, client = orders
    refused = client.get("/review/orders?status=closed")
    assert refused.status_code == 400
    assert "status: must be one of pending, needs_manual, approved, rejected (got &#39;closed&#39;)" in refused.text
