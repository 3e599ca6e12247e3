"""Orders tab over real HTTP: list, detail, approve after an edit, idempotency, reject, CSRF, escaping, PDF."""

from __future__ import annotations

import html
import json
import re

import pytest

from tests.review_seed import (
    NOW,
    add_review_item,
    hidden,
    parsed_po,
    po_pdf,
    seed_reference,
    sign_in,
)

SCRIPT = '<script>alert("pwn")</script>'


@pytest.fixture
def queue(server):
    """Reference data, one PO with a PDF in the bucket, and a signed-in client."""
    def seed(conn):
        seed_reference(conn)
        return add_review_item(conn, parsed=parsed_po(description=f"Mozzarella {SCRIPT}"), pdf_key="po/df-40412.pdf")
    item = server.run(server.env.db.write(seed))
    server.run(server.env.bucket.put("po/df-40412.pdf", po_pdf(), "application/pdf"))
    return server, item, sign_in(server.url)


def approve_form(client, item, **changes):
    page = client.get(f"/review/orders/{item}").text
    form = {"csrf": client.csrf, "n": hidden(page, "n"), "customer_id": "1187", "po_number": "DF-40412",
            "tran_date": "2026-11-19", "ship_date": "2026-11-24", "memo": ""}
    for i in range(int(form["n"])):
        for field in ("no", "code", "item", "desc", "qty", "uom", "price", "parsed"):
            match = f'name="l{i}_{field}" value="'
            start = page.index(match) + len(match)
            form[f"l{i}_{field}"] = page[start:page.index('"', start)]
    # The PO's charges (the seed's freight, 35.00): left off, so named in the memo, unless a test says otherwise.
    form["cn"] = hidden(page, "cn")
    for i in range(int(form["cn"])):
        form |= {f"c{i}_desc": hidden(page, f"c{i}_desc"), f"c{i}_amount": hidden(page, f"c{i}_amount"),
                 f"c{i}_off": "1"}
    form.update(changes)
    return form


def db(server, sql, params=()):
    return [tuple(r) for r in server.run(server.env.db.fetchall(sql, params))]


def test_list_shows_open_orders_with_their_columns_and_filters(queue):
    server, _item, client = queue
    def more(conn):
        add_review_item(conn, parsed=parsed_po(po_number="MM-77"), customer_id="2201", sender="orders@meltmates.com",
                        created_at="2026-11-21T09:00:00.000Z")
        add_review_item(conn, parsed={"lines": []}, customer_id=None, status="needs_manual",
                        created_at="2026-11-21T10:00:00.000Z", flags=["no_text_layer"])
        add_review_item(conn, parsed=parsed_po(po_number="OLD-1"), status="approved")
    server.run(server.env.db.write(more))
    page = client.get("/review/orders").text
    assert page.index("no_text_layer") < page.index("MM-77") < page.index("DF-40412")  # newest first
    assert "OLD-1" not in page and "Melt Mates Kitchen Co" in page and "2,497.00" in page and "86%" in page
    assert "purchasing@driscollfoods.com" in page and "unmatched" in page
    only_manual = client.get("/review/orders?status=needs_manual").text
    assert "no_text_layer" in only_manual and "DF-40412" not in only_manual
    only_mm = client.get("/review/orders?customer=2201").text
    assert "MM-77" in only_mm and "DF-40412" not in only_mm
    assert client.get("/review/orders?status=closed").status_code == 400
    assert len(page.encode()) < 50_000


def test_pagination_is_keyset_newest_first(queue):
    server, _, client = queue
    def many(conn):
        for i in range(60):
            add_review_item(conn, parsed=parsed_po(po_number=f"P-{i:03d}"), created_at=f"2026-11-22T10:{i:02d}:00.000Z")
    server.run(server.env.db.write(many))
    first = client.get("/review/orders").text
    assert "P-059" in first and "P-010" in first and "P-009" not in first
    cursor = first.split("cursor=")[1].split('"')[0]
    second = client.get(f"/review/orders?cursor={cursor}").text
    assert "P-009" in second and "P-000" in second and "DF-40412" in second and "P-010" not in second


@pytest.mark.parametrize("path", ["/review/orders", "/review/actions", "/review/observations"])
def test_a_cursor_beyond_sqlite_integers_is_a_400_that_names_it(queue, path):
    _server, _, client = queue
    too_big = client.get(f"{path}?cursor=99999999999999999999")  # was a 500 (OverflowError in sqlite3)
    assert too_big.status_code == 400 and "cursor: Expected `int` &lt;= 9223372036854775807" in too_big.text
    assert client.get(f"{path}?cursor=-1").status_code == 400
    assert client.get(f"{path}?cursor=9223372036854775807").status_code == 200


def test_detail_escapes_po_text_and_shows_price_checks(queue):
    _server, item, client = queue
    response = client.get(f"/review/orders/{item}")
    assert response.status_code == 200
    assert SCRIPT not in response.text and "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;" in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["referrer-policy"]
    assert "strict-transport-security" not in response.headers  # plain HTTP: the header would mean nothing
    behind_tls = client.get(f"/review/orders/{item}", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["strict-transport-security"] == "max-age=31536000"
    assert "98.50 (+0.0%)" in response.text and "customer price" in response.text  # line 1 checked against pricing
    assert f'src="/review/orders/{item}/pdf"' in response.text
    assert 'value="CHS-MOZZ-LMPS"' in response.text  # the item picker offers our items
    assert len(response.content) < 50_000


def test_json_apis_read_by_session_are_never_cached(queue):
    """Audit BV1: the APIs answer a reviewer's cookie with PO and AR data; no cache may keep or share it."""
    _server, _item, client = queue
    for path in ("/api/review-items", "/api/proposed-actions", "/api/customers?q=Driscoll"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "private, no-store", path
        assert response.headers["vary"] == "Cookie, Authorization", path
    page = client.get("/review/orders")  # a page keeps its own header
    assert page.headers["cache-control"] == "no-store" and "vary" not in page.headers


def test_pdf_is_served_through_the_app(queue):
    _server, item, client = queue
    response = client.get(f"/review/orders/{item}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert client.get("/review/orders/999/pdf").status_code == 404


@pytest.mark.parametrize(("filename", "ascii_name"), [
    ("PO.pdf", "PO.pdf"), ("Bestellung_Müller.pdf", "Bestellung_Mller.pdf"), ("Заказ_4471.pdf", "_4471.pdf"),
    ("注文書.pdf", "po.pdf"), ('a"b\r\nSet-Cookie: x=1.pdf', "abSet-Cookiex1.pdf")])
def test_the_pdfs_name_survives_any_script_and_cannot_break_the_header(filename, ascii_name):
    # Headers are Latin-1: a Cyrillic attachment name made the PDF route answer 500.
    from urllib.parse import unquote

    from handlers.review.orders import content_disposition

    header = content_disposition(filename)
    header.encode("latin-1")
    assert header.startswith(f'inline; filename="{ascii_name}"; filename*=UTF-8\'\'')
    assert unquote(header.rpartition("''")[2]) == filename and "\n" not in header


def test_approve_after_editing_a_line_queues_the_order_and_remembers_the_code(queue):
    server, item, client = queue
    form = approve_form(client, item, l1_item="CHS-MOZZ-LMPS", l1_price="61.00", l1_qty="18", memo="dock 4")
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/review/orders"
    assert "queued for NetSuite" in client.get("/review/orders").text  # the one-time notice
    (kind, status, risk, source, review_item, payload_json, by), = db(
        server, "SELECT kind, status, risk, source, review_item_id, payload_json, decided_by FROM proposed_actions")
    assert (kind, status, risk, source, review_item, by) == ("create_sales_order", "approved", 3, "review", item, "mike")
    payload = json.loads(payload_json)
    assert payload["entity"] == {"id": "1187"} and payload["otherRefNum"] == "DF-40412"
    assert payload["memo"] == "dock 4 — PO charges left off: Freight 35.00"  # the seed PO's freight, left off
    assert payload["item"]["items"][1]["item"] == {"id": "5002"}
    assert payload["item"]["items"][1]["quantity"] == 18 and payload["item"]["items"][1]["amount"] == 1098.0
    assert db(server, "SELECT item_id, source FROM customer_item_xref WHERE customer_item_code = 'DF-207'") == \
        [("5002", "reviewer")]
    assert db(server, "SELECT status, decided_by FROM review_items WHERE id = ?", (item,)) == [("approved", "mike")]
    assert db(server, "SELECT count(*) FROM events WHERE type = 'review.approved'") == [(1,)]
    # Double submit: the same form again changes nothing and says so.
    again = client.post(f"/review/orders/{item}/approve", data=form)
    assert again.status_code == 303 and again.headers["location"] == f"/review/orders/{item}"
    assert "already approved by mike" in client.get(again.headers["location"]).text
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(1,)]


def test_a_second_copy_of_an_approved_po_is_refused_until_the_reviewer_ticks_approve_anyway(queue):
    server, item, client = queue
    copy = server.run(server.env.db.write(add_review_item, parsed=parsed_po(), pdf_key="po/df-40412.pdf"))
    first = approve_form(client, item, l1_item="CHS-MOZZ-LMPS")
    assert client.post(f"/review/orders/{item}/approve", data=first).status_code == 303
    page = client.get(f"/review/orders/{copy}").text
    assert 'name="approve_duplicate"' not in page  # offered only once the server has said what it repeats
    form = approve_form(client, copy, l1_item="CHS-MOZZ-LMPS")
    refused = client.post(f"/review/orders/{copy}/approve", data=form)
    assert refused.status_code == 422
    assert f"PO DF-40412 exists already: review item {item} (same PO number), approved by mike" in refused.text
    assert 'name="approve_duplicate" value="1"' in refused.text
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (copy,)) == [("pending",)]
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(1,)]
    assert hidden(refused.text, "duplicate_of") == f"item:{item}"  # the copies the consent is for
    anyway = {**form, "approve_duplicate": "1", "duplicate_of": hidden(refused.text, "duplicate_of")}
    assert client.post(f"/review/orders/{copy}/approve", data=anyway).status_code == 303
    assert db(server, "SELECT count(*) FROM proposed_actions WHERE kind = 'create_sales_order'") == [(2,)]


def test_approve_anyway_covers_only_the_copies_the_reviewer_was_shown(server):
    # Was: the tick was a bare yes, so a copy approved by someone else after the refusal was repeated too,
    # and the event said the reviewer approved despite copies never shown to them.
    def seed(conn):
        seed_reference(conn)
        return [add_review_item(conn, parsed=parsed_po(), created_at=f"2026-11-20T1{i}:00:00.000Z") for i in range(3)]
    one, two, three = server.run(server.env.db.write(seed))
    ann, bob = sign_in(server.url), sign_in(server.url)
    assert ann.post(f"/review/orders/{one}/approve", data=approve_form(ann, one, l1_item="5002")).status_code == 303
    refused = ann.post(f"/review/orders/{three}/approve", data=approve_form(ann, three, l1_item="5002"))
    assert refused.status_code == 422 and hidden(refused.text, "duplicate_of") == f"item:{one}"
    shown = hidden(refused.text, "duplicate_of")
    # Meanwhile Bob approves copy two anyway, having been shown copy one.
    bob_refused = bob.post(f"/review/orders/{two}/approve", data=approve_form(bob, two, l1_item="5002"))
    assert bob.post(f"/review/orders/{two}/approve", data=approve_form(
        bob, two, l1_item="5002", approve_duplicate="1",
        duplicate_of=hidden(bob_refused.text, "duplicate_of"))).status_code == 303
    # Ann ticks "approve anyway" on the page that showed copy one only: refused afresh, naming copy two,
    # with her edits kept on the form.
    again = ann.post(f"/review/orders/{three}/approve", data=approve_form(
        ann, three, l1_item="5002", memo="dock 4", approve_duplicate="1", duplicate_of=shown))
    assert again.status_code == 422
    assert f"Your page did not show review item {two} (same PO number), approved by mike" in again.text
    assert hidden(again.text, "duplicate_of") == f"item:{one} item:{two}"
    assert 'name="memo" value="dock 4"' in again.text and 'name="l1_item" value="5002"' in again.text
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(2,)]
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (three,)) == [("pending",)]
    # Ticked on the page that shows both, it goes through, and the event names both.
    assert ann.post(f"/review/orders/{three}/approve", data=approve_form(
        ann, three, l1_item="5002", approve_duplicate="1",
        duplicate_of=hidden(again.text, "duplicate_of"))).status_code == 303
    despite = db(server, "SELECT json_extract(payload_json, '$.approved_despite') FROM events "
                         "WHERE type = 'review.approved' AND entity_id = ?", (str(three),))[0][0]
    assert [text.split(" (")[0] for text in json.loads(despite)] == [f"review item {one}", f"review item {two}"]


def test_approve_with_an_unknown_item_re_renders_with_the_reason(queue):
    server, item, client = queue
    response = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, l1_item="NO-SUCH",
                                                                                l0_qty="-3"))
    assert response.status_code == 422
    assert "line 2: item &#39;NO-SUCH&#39; is not in the item list" in response.text
    assert "line 1: quantity: Input should be greater than 0" in response.text
    assert 'value="NO-SUCH"' in response.text  # what the reviewer typed is kept
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]


def test_an_order_whose_parse_repeats_a_line_number_can_be_approved(queue):
    server, _, client = queue
    parsed = parsed_po()
    parsed["lines"] = [dict(parsed["lines"][0], line_no=1), dict(parsed["lines"][0], line_no=2, quantity=3),
                       dict(parsed["lines"][0], line_no=2, quantity=5)]  # an older parse of "1, blank, 2"
    item = server.run(server.env.db.write(lambda conn: add_review_item(conn, parsed=parsed)))
    form = approve_form(client, item)
    assert [form[f"l{i}_no"] for i in range(3)] == ["1", "2", "3"]
    stale = {**form, "l2_no": "2"}  # as a page rendered before the renumbering posts it
    response = client.post(f"/review/orders/{item}/approve", data=stale)
    assert response.status_code == 303, response.text  # was 422 "lines: line numbers repeat"
    (payload_json,), = db(server, "SELECT payload_json FROM proposed_actions WHERE review_item_id = ?", (item,))
    assert [ln["quantity"] for ln in json.loads(payload_json)["item"]["items"]] == [12, 3, 5]


def test_customer_reassignment(queue):
    server, item, client = queue
    found = client.get(f"/review/orders/{item}?find=harbor").text
    assert "Harbor Street Deli (3302)" in found
    form = approve_form(client, item, customer_id="3302", l1_item="5002")
    assert client.post(f"/review/orders/{item}/approve", data=form).status_code == 303
    assert db(server, "SELECT customer_id FROM review_items WHERE id = ?", (item,)) == [("3302",)]
    assert db(server, "SELECT customer_id FROM customer_item_xref WHERE customer_item_code = 'DF-207'") == [("3302",)]


def picker(page):
    """The customer picker's options (ns_id, text), in order, without the blank "choose" one."""
    select = page[page.index('<select name="customer_id"'):]
    return [(v, html.unescape(t)) for v, t in
            re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select[:select.index("</select>")])]


def test_find_customer_finds_names_as_customer_search_does_in_any_script(queue):
    server, item, client = queue
    def more(conn):
        for ns_id, entity, name in [("4401", "ECL", "Éclair Bakery"), ("4402", "OZ", "ÖZEL GIDA A.Ş."),
                                    ("4403", "ECLPATIS", "Patisserie Éclair du Nord")]:
            conn.execute("INSERT INTO customers (ns_id, entity_id, company_name, last_modified) VALUES (?, ?, ?, ?)",
                         (ns_id, entity, name, NOW))
        conn.execute("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) "
                     "VALUES ('customer', 'hsd', 'HSD', '3302')")
    server.run(server.env.db.write(more))
    # SQLite's lower() and LIKE fold ASCII only: each of these found nothing, only "clair" or the id did.
    for wanted, first in [("Éclair", "4401"), ("Éclair Bakery", "4401"), ("éclair", "4401"), ("ECLAIR", "4401"),
                          ("ÖZEL", "4402"), ("Özel", "4402"), ("özel gida", "4402"), ("4401", "4401"),
                          ("ecl", "4401"), ("HSD", "3302"), ("harbor", "3302")]:
        found = picker(client.get(f"/review/orders/{item}", params={"find": wanted}).text)
        assert found[0][0] == first, (wanted, found)  # the best match first, then the item's own customer
        assert api_ids(client, wanted)[0] == first
    # Both names hold the word: the exact name ranks above the one that only contains it (was: by name).
    both = [v for v, _ in picker(client.get(f"/review/orders/{item}", params={"find": "éclair"}).text)]
    assert both == ["4401", "4403", "1187"]
    # Nothing searched: every live customer up to 50, by name; a posted search finds as the GET does.
    assert [v for v, _ in picker(client.get(f"/review/orders/{item}").text)] == \
        ["1187", "3302", "2201", "4403", "4401", "4402"]
    posted = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, find="ÖZEL", search="1"))
    assert [v for v, _ in picker(posted.text)] == ["4402", "1187"]


def test_an_inactive_customer_is_marked_in_the_picker_and_approving_for_it_is_refused(queue):
    server, item, client = queue
    server.run(server.env.db.write(lambda conn: conn.execute(
        "UPDATE customers SET is_inactive = 1 WHERE ns_id IN ('2201', '1187')")))
    # Nothing searched: marked, after the active ones; the item's own customer (1187) still offered, selected.
    page = client.get(f"/review/orders/{item}").text
    assert picker(page) == [("3302", "Harbor Street Deli (3302)"),
                            ("1187", "Driscoll Foods (1187) · inactive in NetSuite"),
                            ("2201", "Melt Mates Kitchen Co (2201) · inactive in NetSuite")]
    assert '<option value="1187" selected>' in page and "Driscoll Foods (1187) is inactive in NetSuite" in page
    found = picker(client.get(f"/review/orders/{item}", params={"find": "melt"}).text)
    assert found[0] == ("2201", "Melt Mates Kitchen Co (2201) · inactive in NetSuite")
    # Approving for it is refused (was queued for NetSuite, which refuses it), the reviewer's edits kept.
    form = approve_form(client, item, customer_id="2201", l1_item="CHS-MOZZ-LMPS", memo="dock 4")
    refused = client.post(f"/review/orders/{item}/approve", data=form)
    assert refused.status_code == 422
    assert "customer Melt Mates Kitchen Co (2201) is inactive in NetSuite" in html.unescape(refused.text)
    assert '<option value="2201" selected>' in refused.text and 'name="memo" value="dock 4"' in refused.text
    assert 'name="l1_item" value="CHS-MOZZ-LMPS"' in refused.text
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]
    # Another, active customer is approved as before.
    assert client.post(f"/review/orders/{item}/approve", data={**form, "customer_id": "3302"}).status_code == 303


def api_ids(client, wanted):
    return [r["ns_id"] for r in client.get("/api/customers", params={"q": wanted}).json()["results"]]


def test_reject_requires_a_reason(queue):
    server, item, client = queue
    blank = client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "reason": "  "})
    assert blank.status_code == 422 and "a reason is required to reject" in blank.text
    ok = client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "reason": "duplicate of DF-40411"})
    assert ok.status_code == 303
    assert db(server, "SELECT status, decision_reason FROM review_items WHERE id = ?", (item,)) == \
        [("rejected", "duplicate of DF-40411")]


def test_the_notice_cookie_is_secure_over_https_as_the_session_is(queue):
    """Audit BV2: the one-time notice cookie went out without Secure behind TLS, unlike the session's."""
    _server, item, client = queue
    plain = client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "reason": "no"},
                        headers={"X-Forwarded-Proto": "http"})
    assert plain.status_code == 303 and "gfs_notice=" in plain.headers["set-cookie"]
    assert "secure" not in plain.headers["set-cookie"].lower()  # plain HTTP: a browser would drop a Secure cookie
    again = client.post(f"/review/orders/{item}/reject", data={"csrf": client.csrf, "reason": "no"},
                        headers={"X-Forwarded-Proto": "https"})
    assert again.status_code == 303 and "gfs_notice=" in again.headers["set-cookie"]
    assert "; secure" in again.headers["set-cookie"].lower()


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_posts_without_a_valid_csrf_token_change_nothing(queue, token):
    server, item, client = queue
    form = approve_form(client, item, l1_item="CHS-MOZZ-LMPS")
    if token is None:
        del form["csrf"]
    else:
        form["csrf"] = token
    for path, data in [(f"/review/orders/{item}/approve", form),
                       (f"/review/orders/{item}/reject", {**form, "reason": "no"})]:
        response = client.post(path, data=data)
        assert response.status_code == 403 and "security token" in response.text
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
    assert db(server, "SELECT count(*) FROM customer_item_xref") == [(0,)]
