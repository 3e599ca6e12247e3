"""A PDF holding several purchase orders becomes one review item per order (SPEC 5 step 7), each with its own
parsed order and the pages it is on; schema version 6 makes room for them (review_items.part, .pages)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from tests.review_seed import sign_in
from tests.test_email_fixtures import order_email, order_pdf, seed_reference
from tests.test_po_document_audit import R1, R2, _pages
from tests.test_schema import DROP_V9, DROP_V10, DROP_V13, DROP_V15, DROP_V17, DROP_V18, DROP_V19
from tests.test_review_orders import approve_form
from worker.db import connect
from worker.env import Env
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.migrations import LATEST, apply_schema, schema_version

R3 = [("DF-72014", "TOMATO DICED IN JUICE FANCY #10 CAN 6/CS", "4", "29.95", "119.80")]
DATE = "Date: 03/20/2026"


def _order(po: str, rows: list, total: str | None) -> tuple[list[str], list, list[tuple[str, str]]]:
    return [f"PO #: {po}", DATE], rows, [("Total:", f"${total}")] if total else []


def _three_orders_on_four_pages() -> bytes:
    """PO-1001 on page 1, PO-1002 on pages 2-3 (its header repeated), PO-1003 on page 4."""
    return _pages(_order("PO-1001", R1, "734.25"), _order("PO-1002", R2, None), _order("PO-1002", R3, "392.80"),
                  _order("PO-1003", R3, "119.80"))



async def _receive(env: Env, pdfs: list[tuple[str, bytes]]) -> int:
    received = await accept_raw(env, order_email(pdfs), door="http")
    await process_email(env, received.email_id)
    return received.email_id


async def _items(env: Env, email_id: int) -> list[dict]:
    return [dict(r) for r in await env.db.fetchall("SELECT * FROM review_items WHERE email_id = ? ORDER BY part",
                                                   (email_id,))]


def _codes(item: dict) -> list[str]:
    return [f["code"] for f in json.loads(item["flags_json"])]


async def test_each_order_of_a_pdf_is_its_own_pending_item_with_its_lines_total_and_pages(seeded: Env) -> None:
    pdf = _three_orders_on_four_pages()
    email_id = await _receive(seeded, [("orders.pdf", pdf)])
    items = await _items(seeded, email_id)
    assert [(i["status"], i["part"], i["pages"], i["po_number"], i["line_count"], i["total"]) for i in items] == [
        ("pending", 0, "1", "PO-1001", 2, 734.25),
        ("pending", 1, "2-3", "PO-1002", 3, 392.80),  # both pages' lines, the total printed on the second
        ("pending", 2, "4", "PO-1003", 1, 119.80)]
    parsed = [json.loads(i["parsed_json"]) for i in items]
    assert [[ln["customer_item_code"] for ln in p["lines"]] for p in parsed] == \
        [["DF-10023", "DF-20417"], ["DF-41152", "DF-50963", "DF-72014"], ["DF-72014"]]
    assert [p["lines"][0]["item_id"] for p in parsed] == ["I448812", "I330071", "I774502"]  # each matched
    assert all(i["customer_id"] == "1187" and i["confidence"] > 0.5 and i["reason"] is None for i in items)
    assert all(_codes(i) == [] for i in items)  # no several_po_numbers, no total_mismatch, no duplicate_po
    # One stored PDF, one attachment row: every item points at it.
    assert len({(i["attachment_id"], i["pdf_key"]) for i in items}) == 1
    assert await seeded.bucket.get(items[0]["pdf_key"]) == pdf
    log = await seeded.db.fetchone("SELECT status, reason FROM inbound_email_log WHERE id = ?", (email_id,))
    assert (log["status"], log["reason"]) == ("processed", "3 review items created")
    events = await seeded.db.fetchall("SELECT entity_id FROM events WHERE type = 'review_item.created'")
    assert sorted(int(e[0]) for e in events) == [i["id"] for i in items]


async def test_a_retry_after_the_items_were_written_adds_nothing(seeded: Env) -> None:
    email_id = await _receive(seeded, [("orders.pdf", _three_orders_on_four_pages())])
    before = await _items(seeded, email_id)
    # As if the worker died after the commit: the claim is stale and the hot tier processes the email again.
    await seeded.db.write(lambda c: c.execute("UPDATE inbound_email_log SET status = 'processing', claimed_at = ? "
                                              "WHERE id = ?", ("2020-01-01T00:00:00.000Z", email_id)))
    assert await process_email(seeded, email_id) == "processed"
    assert await _items(seeded, email_id) == before
    assert (await seeded.db.fetchone("SELECT count(*) FROM events WHERE type = 'review_item.created'"))[0] == 3


async def test_the_same_po_twice_in_one_pdf_flags_the_second_copy_only(seeded: Env) -> None:
    pdf = _pages(_order("PO-1001", R1, "734.25"), _order("PO-1002", R2, "273.00"), _order("PO-1001", R1, "734.25"))
    email_id = await _receive(seeded, [("orders.pdf", pdf)])
    first, other, again = await _items(seeded, email_id)
    assert (first["pages"], other["pages"], again["pages"]) == ("1", "2", "3")
    assert _codes(first) == [] and _codes(other) == []  # the same PDF's other orders are not "the same PDF"
    [flag] = json.loads(again["flags_json"])
    assert (flag["code"], flag["earlier_items"]) == ("duplicate_po", [first["id"]])
    assert f"{first['id']} (pending; same PO number in the same PDF)" in flag["message"]


async def test_a_resent_pdf_flags_each_order_against_its_own_earlier_item(seeded: Env) -> None:
    pdf = _pages(_order("PO-1001", R1, "734.25"), _order("PO-1002", R2, "273.00"))
    earlier = await _items(seeded, await _receive(seeded, [("orders.pdf", pdf)]))
    later = await _items(seeded, await _receive(seeded, [("orders again.pdf", pdf)]))
    for old, new in zip(earlier, later, strict=True):
        [flag] = json.loads(new["flags_json"])
        assert (flag["code"], flag["earlier_items"]) == ("duplicate_po", [old["id"]])
        assert f"{old['id']} (pending; same PO number and same PDF)" in flag["message"]


async def test_an_ordinary_pdf_is_one_item_as_before(seeded: Env) -> None:
    pdf, expected = order_pdf("classic_grid", seed=3)
    email_id = await _receive(seeded, [("po.pdf", pdf)])
    [item] = await _items(seeded, email_id)
    assert (item["status"], item["part"], item["pages"], item["po_number"]) == ("pending", 0, None, expected.po_number)
    assert item["line_count"] == len(expected.lines)
    log = await seeded.db.fetchone("SELECT status, reason FROM inbound_email_log WHERE id = ?", (email_id,))
    assert (log["status"], log["reason"]) == ("processed", "1 review item created")


async def test_an_order_without_lines_in_a_pdf_of_several_is_named_by_its_pages(seeded: Env) -> None:
    pdf = _pages(_order("PO-1001", R1, "734.25"), _order("PO-1002", [], "0.00"))
    email_id = await _receive(seeded, [("orders.pdf", pdf)])
    good, empty = await _items(seeded, email_id)
    assert (good["status"], empty["status"], empty["po_number"]) == ("pending", "needs_manual", "PO-1002")
    assert empty["reason"].startswith("no order lines found on page 2 of the PDF")
    log = await seeded.db.fetchone("SELECT status, reason FROM inbound_email_log WHERE id = ?", (email_id,))
    assert log["status"] == "needs_manual" and log["reason"].startswith("1 of 2 orders need manual entry: orders.pdf: "
                                                                        "no order lines found on page 2")


def test_the_review_page_names_the_pages_and_each_order_is_decided_on_its_own(server) -> None:
    env = server.env
    server.run(env.db.write(seed_reference))
    email_id = server.run(_receive(env, [("orders.pdf", _pages(_order("PO-1001", R1, "734.25"),
                                                               _order("PO-1002", R2, "273.00")))]))
    first, second = server.run(_items(env, email_id))
    client = sign_in(server.url)
    page = client.get(f"/review/orders/{second['id']}").text
    assert "page 2 of the PDF" in page and f'src="/review/orders/{second["id"]}/pdf#page=2"' in page
    assert client.get(f"/review/orders/{second['id']}/pdf").content.startswith(b"%PDF")
    api = client.get("/api/review-items?status=pending").json()["items"]
    assert {(i["id"], i["pages"]) for i in api} == {(first["id"], "1"), (second["id"], "2")}

    form = approve_form(client, first["id"], po_number="PO-1001", tran_date="2026-03-20", ship_date="2026-03-25")
    assert client.post(f"/review/orders/{first['id']}/approve", data=form).status_code == 303
    statuses = server.run(env.db.fetchall("SELECT id, status FROM review_items WHERE email_id = ? ORDER BY id",
                                          (email_id,)))
    assert [tuple(r) for r in statuses] == [(first["id"], "approved"), (second["id"], "pending")]
    rejected = client.post(f"/review/orders/{second['id']}/reject", data={"csrf": client.csrf, "reason": "test"})
    assert rejected.status_code == 303
    actions = server.run(env.db.fetchall("SELECT review_item_id, json_extract(payload_json, '$.otherRefNum') "
                                         "FROM proposed_actions"))
    assert [tuple(r) for r in actions] == [(first["id"], "PO-1001")]
    assert server.run(env.db.fetchone("SELECT status FROM review_items WHERE id = ?", (second["id"],)))[0] == "rejected"


# Schema version 6: review_items rebuilt with part and pages, UNIQUE (email_id, attachment_id, part).

V5_REVIEW_ITEMS = """
CREATE TABLE review_items (
    id              INTEGER PRIMARY KEY,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'needs_manual', 'approved', 'rejected')),
    email_id        INTEGER REFERENCES inbound_email_log (id),
    attachment_id   INTEGER REFERENCES email_attachments (id),
    customer_id     TEXT,
    po_number       TEXT,
    parsed_json     TEXT,
    pdf_key         TEXT,
    reason          TEXT,
    flags_json      TEXT NOT NULL DEFAULT '[]',
    confidence      REAL,
    line_count      INTEGER NOT NULL DEFAULT 0,
    total           REAL,
    sender          TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    decided_by      TEXT,
    decided_at      TEXT,
    decision_reason TEXT,
    email_text      TEXT,
    UNIQUE (email_id, attachment_id)
);
CREATE UNIQUE INDEX review_items_email_text ON review_items (email_id) WHERE attachment_id IS NULL;
CREATE INDEX review_items_queue ON review_items (status, created_at DESC, id DESC);
CREATE INDEX review_items_customer ON review_items (customer_id, status);
CREATE INDEX review_items_open ON review_items (created_at DESC, id DESC) WHERE status IN ('pending', 'needs_manual');
CREATE INDEX review_items_open_customer ON review_items (customer_id, created_at DESC, id DESC)
    WHERE status IN ('pending', 'needs_manual');
"""
ITEM = ("INSERT INTO review_items (id, status, email_id, attachment_id, customer_id, po_number, parsed_json, pdf_key, "
        "flags_json, confidence, line_count, total, created_at, updated_at, decided_by, email_text) "
        "VALUES (?, ?, 1, ?, '1187', ?, '{}', ?, '[]', 0.9, 2, 10.5, 't', 't', ?, ?)")


def _indexes(conn: sqlite3.Connection) -> dict[str, tuple]:
    """Each review_items index: unique, partial, and its columns with their order."""
    return {name: (unique, partial, [tuple(c[2:4]) for c in conn.execute(f"PRAGMA index_xinfo('{name}')") if c[5]])
            for _, name, unique, _, partial in conn.execute("PRAGMA index_list(review_items)")}


def _version_5(path) -> sqlite3.Connection:
    conn = connect(path)
    apply_schema(conn)
    conn.executescript(f"DROP TABLE review_items; {V5_REVIEW_ITEMS} {DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} "
                       f"{DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 5;")  # as version 5 left it
    conn.execute("INSERT INTO inbound_email_log (id, received_at, sha256, size_bytes, status) "
                 "VALUES (1, 't', 'x', 1, 'processed')")
    conn.execute("INSERT INTO email_attachments (id, email_id, size_bytes, sha256, object_key) VALUES (5, 1, 1, 'p', 'k')")
    conn.executemany(ITEM, [(3, "approved", 5, "PO-1", "pdf/k.pdf", "mike", None),
                            (8, "needs_manual", None, None, None, None, "send 2 cases")])
    conn.execute("INSERT INTO proposed_actions (id, kind, status, payload_json, review_item_id, created_at, updated_at) "
                 "VALUES (11, 'create_sales_order', 'approved', '{}', 3, 't', 't')")
    return conn


def test_version_5_review_items_are_rebuilt_keeping_rows_ids_and_references(tmp_path) -> None:
    conn = _version_5(tmp_path / "db.sqlite3")
    columns = "id, status, email_id, attachment_id, po_number, pdf_key, decided_by, email_text, total"
    before = [tuple(r) for r in conn.execute(f"SELECT {columns} FROM review_items ORDER BY id")]
    assert apply_schema(conn) == LATEST == schema_version(conn)  # was "FOREIGN KEY constraint failed"
    assert [tuple(r) for r in conn.execute(f"SELECT {columns} FROM review_items ORDER BY id")] == before
    assert [tuple(r) for r in conn.execute("SELECT id, part, pages FROM review_items ORDER BY id")] == \
        [(3, 0, None), (8, 0, None)]
    assert [tuple(r) for r in conn.execute("SELECT p.id, r.po_number FROM proposed_actions p "
                                           "JOIN review_items r ON r.id = p.review_item_id")] == [(11, "PO-1")]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # enforced again after the migration
    fresh = connect(tmp_path / "fresh.sqlite3")
    apply_schema(fresh)
    shape = "PRAGMA table_info(review_items)"
    assert conn.execute(shape).fetchall() == fresh.execute(shape).fetchall()
    assert _indexes(conn) == _indexes(fresh)
    assert {"review_items_email_text", "review_items_queue", "review_items_customer", "review_items_open",
            "review_items_open_customer"} <= set(_indexes(conn))
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name LIKE 'review_items_v%'").fetchone()

    # A second order of the same PDF now has its own row; the same part, or a second text-only item, does not.
    insert = ("INSERT INTO review_items (status, email_id, attachment_id, part, created_at, updated_at) "
              "VALUES ('pending', 1, ?, ?, 't', 't')")
    conn.execute(insert, (5, 1))
    for attachment, part in ((5, 1), (None, 0)):
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute(insert, (attachment, part))
    # Deleting an item that an action points at is still refused: the reference survived the rebuild.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute("DELETE FROM review_items WHERE id = 3")


def test_a_migration_that_breaks_a_reference_rolls_back(tmp_path) -> None:
    from worker.migrations import MIGRATIONS

    conn = _version_5(tmp_path / "db.sqlite3")
    dropping = [*MIGRATIONS[:5], (6, MIGRATIONS[5][1].replace("FROM review_items;", "FROM review_items WHERE id <> 3;")),
                *MIGRATIONS[6:]]
    with pytest.raises(sqlite3.IntegrityError, match="a migration broke a foreign key: proposed_actions"):
        apply_schema(conn, dropping)
    assert schema_version(conn) == 5 and conn.execute("SELECT count(*) FROM review_items").fetchone()[0] == 2
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
