"""schema.sql: every contract table and column, applied idempotently, versioned, migrated forward."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from worker.db import connect
from worker.decisions import same_name_customers
from worker.migrations import LATEST, MIGRATIONS, SchemaTooNew, apply_schema, schema_version

MIRRORED = ["customers", "customer_contacts", "transactions", "item_fulfillment", "customer_invoice",
            "customer_payment", "credit_memo"]
TABLES = ["customers", "customer_contacts", "name_synonyms", "customer_program", "pricing_master", "spec_items",
          "customer_item_xref", "transactions", "transaction_lines", "item_fulfillment", "item_fulfillment_lines",
          "shipments", "shipping_events", "customer_invoice", "customer_invoice_lines", "customer_payment",
          "payment_application", "credit_memo", "credit_memo_application", "inbound_email_log", "review_items",
          "v_customer_ar_aging", "ar_aging_snapshot", "events", "customer_health_scores", "workflow_run_log",
          "proposed_actions", "reflexion_log", "webhook_receipts", "dead_letters", "cron_runs"]
CONTRACT = {  # SPEC 3.4: columns dashboards and scripts depend on
    "ar_aging_snapshot": "as_of invoice_id customer_id days_past_due bucket amount_remaining",
    "v_customer_ar_aging": "customer_id as_of current b1_30 b31_60 b61_90 b90_plus total_open",
    "events": "id type entity_type entity_id payload_json created_at",
    "customer_health_scores": "customer_id as_of score tier signals_json",
    "workflow_run_log": "id workflow customer_id trigger_event_id status started_at finished_at",
    "proposed_actions": "id kind status customer_id payload_json risk decided_by decided_at",
    "review_items": "id status email_id customer_id po_number parsed_json",
    "reflexion_log": "id entity_type entity_id tags_json observation status created_at",
    "inbound_email_log": "id message_id sender subject received_at raw_key status",
    "dead_letters": "id source reason payload received_at replayed_at",
    "cron_runs": "id tier scheduled_at started_at finished_at status",
    **{table: "ns_id last_modified deleted_at raw_json" for table in MIRRORED},
}


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def objects(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall())


def test_every_contract_table_view_and_column(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    names = objects(conn)
    for table in TABLES:
        assert table in names, f"missing {table}"
    for table, cols in CONTRACT.items():
        assert set(cols.split()) <= columns(conn, table), f"{table} lacks {set(cols.split()) - columns(conn, table)}"
    assert conn.execute("SELECT type FROM sqlite_master WHERE name = 'v_customer_ar_aging'").fetchone()[0] == "view"


def test_apply_twice_changes_nothing_and_keeps_data(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.execute("INSERT INTO customers (ns_id, last_modified) VALUES ('1', '2026-01-01T00:00:00Z')")
    before = objects(conn)
    assert apply_schema(conn) == LATEST
    assert objects(conn) == before
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
    assert schema_version(conn) == LATEST


def test_pragmas_wal_foreign_keys_full_sync(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_forward_migration_runs_once_and_in_order(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)  # the newest version
    migrations = [*MIGRATIONS, (LATEST + 1, "ALTER TABLE customers ADD COLUMN sales_rep TEXT;"),
                  (LATEST + 2, "CREATE INDEX IF NOT EXISTS customers_rep ON customers (sales_rep);")]
    assert apply_schema(conn, migrations) == LATEST + 2
    assert "sales_rep" in columns(conn, "customers")
    assert apply_schema(conn, migrations) == LATEST + 2  # again: no duplicate-column error


def test_failed_migration_rolls_back_everything(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    bad = [*MIGRATIONS, (LATEST + 1, "ALTER TABLE customers ADD COLUMN a TEXT; ALTER TABLE nope ADD COLUMN b TEXT;")]
    with pytest.raises(sqlite3.OperationalError, match="no such table: nope"):
        apply_schema(conn, bad)
    assert "a" not in columns(conn, "customers")
    assert schema_version(conn) == LATEST


V1_EVENTS = """
CREATE TABLE events (id INTEGER PRIMARY KEY, type TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
                     payload_json TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, dedupe_key TEXT UNIQUE);
CREATE INDEX events_entity ON events (entity_type, entity_id);
CREATE INDEX events_type ON events (type, id);
"""


def test_version_1_ledger_migrates_keeping_ids_and_non_cdc_keys(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"DROP TABLE events; {V1_EVENTS} {DROP_V3} {DROP_V4} {DROP_V5} {DROP_V9} {DROP_V10} {DROP_V13} "
                       f"{DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 1;")  # as version 1 made it
    conn.executemany("INSERT INTO events (id, type, entity_type, entity_id, created_at, dedupe_key) VALUES (?, ?, ?, ?, ?, ?)",
                     [(7, "invoice.created", "invoice", "i1", "t", "cdc:ev-1"),
                      (9, "ar.bucket_changed", "invoice", "i1", "t", "ar.bucket_changed:i1:current@t>1-30")])
    assert apply_schema(conn) == LATEST
    rows = conn.execute("SELECT id, type, dedupe_key FROM events ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(7, "invoice.created", None),
                                        (9, "ar.bucket_changed", "ar.bucket_changed:i1:current@t>1-30")]
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(events)")}
    assert indexes == {"events_dedupe", "events_type"}
    # the partial index still makes keyed appends idempotent, and lets any number of unkeyed ones in
    insert = "INSERT OR IGNORE INTO events (type, entity_type, entity_id, created_at, dedupe_key) VALUES ('x', 'x', 'x', 't', ?)"
    for key in ("ar.bucket_changed:i1:current@t>1-30", None, None):
        conn.execute(insert, (key,))
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 4
    shape = "PRAGMA table_info(events)"
    assert conn.execute(shape).fetchall() == _fresh(tmp_path).execute(shape).fetchall()


DROP_V3 = "ALTER TABLE review_items DROP COLUMN email_text;"  # what version 3 added
DROP_V4 = "".join(f"ALTER TABLE {table} DROP COLUMN {column};" for table, column in (  # what version 4 added
    ("transactions", "cdc_lines_version"), ("item_fulfillment", "cdc_lines_version"),
    ("item_fulfillment", "cdc_packages_version"), ("customer_invoice", "cdc_lines_version"),
    ("customer_payment", "cdc_apply_version"), ("credit_memo", "cdc_apply_version")))
DROP_V5 = "ALTER TABLE review_sessions DROP COLUMN credential;"  # what version 5 added
DROP_V9 = ("DROP VIEW v_customer_ar_aging;"  # what version 9 added (schema.sql recreates the view)
           "ALTER TABLE customer_invoice DROP COLUMN exchange_rate;"
           "ALTER TABLE ar_aging_snapshot DROP COLUMN currency; ALTER TABLE ar_aging_snapshot DROP COLUMN amount_base;")
DROP_V10 = "DROP INDEX dead_letters_pending_digest; ALTER TABLE dead_letters DROP COLUMN digest;"  # version 10's
DROP_V13 = "ALTER TABLE customer_contacts DROP COLUMN inactivated_at;"  # version 13's
DROP_V15 = "ALTER TABLE payment_application DROP COLUMN disc;"  # version 15's
DROP_V17 = ("DROP TRIGGER customers_renamed; DROP INDEX customers_name_key;"  # version 17's
            "ALTER TABLE customers DROP COLUMN name_key;")
DROP_V18 = "ALTER TABLE transaction_lines DROP COLUMN is_closed;"  # version 18's
DROP_V19 = ("DROP TABLE shipments; CREATE TABLE shipments (id INTEGER PRIMARY KEY, "  # version 19's: shipments as before
            "fulfillment_id TEXT NOT NULL REFERENCES item_fulfillment (ns_id) ON DELETE CASCADE, package_no INTEGER "
            "NOT NULL, tracking_number TEXT, carrier TEXT, weight REAL, description TEXT, "
            "UNIQUE (fulfillment_id, package_no)); CREATE INDEX shipments_tracking ON shipments (tracking_number);"
            + "".join(f"ALTER TABLE item_fulfillment DROP COLUMN cdc_{carrier}_packages_version;"
                      for carrier in ("ups", "fedex", "usps")))


def test_version_2_review_items_gain_email_text_and_keep_their_rows(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V3} {DROP_V4} {DROP_V5} {DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} "
                       f"{DROP_V18} {DROP_V19} PRAGMA user_version = 2;")
    conn.execute("INSERT INTO review_items (status, email_id, attachment_id, created_at, updated_at) "
                 "VALUES ('pending', NULL, NULL, 't', 't')")
    assert apply_schema(conn) == LATEST
    assert [tuple(r) for r in conn.execute("SELECT id, status, email_text FROM review_items")] == [(1, "pending", None)]
    shape = "PRAGMA table_info(review_items)"
    assert conn.execute(shape).fetchall() == _fresh(tmp_path).execute(shape).fetchall()
    assert "review_items_email_text" in {r[1] for r in conn.execute("PRAGMA index_list(review_items)")}


def test_version_3_lines_written_with_the_data_stay_until_an_event_carries_newer_ones(tmp_path):
    from tests.cdc_support import event, sales_order
    from worker.cdc.apply import apply_batch
    from worker.cdc.intake import validate_events
    from worker.db import run_in_transaction

    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V4} {DROP_V5} {DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} "
                       "PRAGMA user_version = 3;")
    key = "2026-11-20T10:00:00.000000Z|0|sn-5"  # an order as version 3 wrote it: lines beside their data
    conn.execute("INSERT INTO transactions (ns_id, type, customer_id, last_modified, cdc_version, cdc_data_version) "
                 "VALUES ('18', 'salesorder', '7', '2026-11-20T10:00:00.000Z', ?, ?)", (key, key))
    conn.execute("INSERT INTO transaction_lines (transaction_id, line_no, item_id, quantity) VALUES ('18', 1, '5', 2)")
    assert apply_schema(conn) == LATEST
    assert conn.execute("SELECT cdc_lines_version FROM transactions").fetchone()[0] is None  # written with the data

    def apply(event_id, when, record):
        run_in_transaction(conn, apply_batch, *validate_events([event(event_id, "salesorder", "18", when, record)]),
                           source="t", received_at="t")
        return [tuple(r) for r in conn.execute("SELECT item_id, quantity FROM transaction_lines")]

    unexpanded = {**sales_order("18", "7", []), "item": {"links": []}}
    assert apply("sn-6", "2026-11-20T11:00:00Z", unexpanded) == [("5", 2.0)]  # NULL counted as the data's version
    assert apply("sn-4", "2026-11-20T09:00:00Z", sales_order("18", "7", [("6", 9, 1.0)])) == [("5", 2.0)]  # older
    assert apply("sn-7", "2026-11-20T12:00:00Z", sales_order("18", "7", [("6", 9, 1.0)])) == [("6", 9.0)]
    for table in ("transactions", "item_fulfillment", "customer_invoice", "customer_payment", "credit_memo"):
        shape = f"PRAGMA table_info({table})"
        assert conn.execute(shape).fetchall() == _fresh(tmp_path).execute(shape).fetchall(), table


def test_version_4_sessions_gain_a_credential_and_old_ones_no_longer_sign_anyone_in(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V5} {DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} "
                       "PRAGMA user_version = 4;")
    conn.execute("INSERT INTO review_sessions (id_hash, reviewer, created_at, expires_at) VALUES ('h', 'mike', 't', 'u')")
    assert apply_schema(conn) == LATEST
    assert [tuple(r) for r in conn.execute("SELECT reviewer, credential FROM review_sessions")] == [("mike", None)]
    shape = "PRAGMA table_info(review_sessions)"
    assert conn.execute(shape).fetchall() == _fresh(tmp_path).execute(shape).fetchall()


def test_version_6_keys_are_respelled_so_a_later_sequence_number_in_the_same_minute_wins(tmp_path):
    from tests.cdc_support import customer, event
    from worker.cdc.apply import apply_batch
    from worker.cdc.intake import validate_events
    from worker.db import run_in_transaction

    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 6;")
    old = "2026-11-20T10:00:00.000000Z|0|sn-9"  # as version 6 spelled the key of event sn-9
    conn.execute("INSERT INTO customers (ns_id, company_name, last_modified, cdc_version, cdc_data_version) "
                 "VALUES ('7', 'Ninth', '2026-11-20T10:00:00.000Z', ?, ?)", (old, old))
    conn.execute("INSERT INTO item_fulfillment (ns_id, last_modified, cdc_version, cdc_data_version, cdc_lines_version,"
                 " cdc_packages_version) VALUES ('f1', '2026-11-20T10:00:00.000Z', ?, ?, '', NULL)", (old, old))
    conn.execute("INSERT INTO item_fulfillment_status_log (fulfillment_id, version_key, status, occurred_at, source_event_id)"
                 " VALUES ('f1', ?, 'shipped', '2026-11-20T10:00:00.000Z', 'sn-9')", (old,))
    assert apply_schema(conn) == LATEST
    new = "2026-11-20T10:00:00.000000Z|0|sn-0019000"
    assert tuple(conn.execute("SELECT cdc_version, cdc_data_version FROM customers").fetchone()) == (new, new)
    assert tuple(conn.execute("SELECT cdc_version, cdc_lines_version, cdc_packages_version FROM item_fulfillment")
                 .fetchone()) == (new, "", None)  # '' (no sublist yet) and NULL (written with the data) keep their meaning
    assert conn.execute("SELECT version_key FROM item_fulfillment_status_log").fetchone()[0] == new
    later = event("sn-10", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Tenth"))
    result = run_in_transaction(conn, apply_batch, *validate_events([later]), source="t", received_at="t")
    assert result.applied == 1  # against the old spelling, "sn-10" < "sn-9" would have made it stale
    assert conn.execute("SELECT company_name FROM customers").fetchone()[0] == "Tenth"



def test_version_7_synonyms_are_renormalized_so_letters_like_o_slash_are_folded_not_dropped(tmp_path):
    from worker.intake.customers import BY_SYNONYM

    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 7;")
    conn.executemany("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) VALUES (?, ?, ?, ?)", [
        ("customer", "sren smrrebrd aps", "Søren Smørrebrød ApS", "36"),  # as version 7 normalized them
        ("customer", "smith and", "Smith & Co", "38"),
        ("brand_prefix", "strae", "Straße", "39"),
        ("customer", "lodz", "Lodz", "40"),
        ("customer", "odz", "Łódź", "41"),  # its new form is Lodz's: both rows stay, Lodz's answers for it
        ("customer", "driscoll", "Driscoll", "1187"),
    ])
    assert apply_schema(conn) == LATEST
    assert sorted(tuple(r) for r in conn.execute("SELECT normalized, customer_id FROM name_synonyms")) == [
        ("driscoll", "1187"), ("lodz", "40"), ("odz", "41"), ("smith", "38"), ("soren smorrebrod", "36"),
        ("strasse", "39")]  # "ApS" a legal suffix since version 11
    assert [r[0] for r in conn.execute(BY_SYNONYM, ("soren smorrebrod",))] == ["36"]


@pytest.mark.parametrize("order", [1, -1])
def test_version_8_takes_new_forms_whatever_the_row_order(tmp_path, order):
    # "BG Foods & Co." becomes "bg foods", which "Bøg Foods" held before it became "bog foods": the outcome
    # must not depend on which row SQLite updates first.
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 7;")
    rows = [("customer", "bg foods and", "BG Foods & Co.", "10"), ("customer", "bg foods", "Bøg Foods", "20")]
    conn.executemany("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) VALUES (?, ?, ?, ?)",
                     rows[::order])
    apply_schema(conn)
    assert sorted(tuple(r) for r in conn.execute("SELECT normalized, customer_id FROM name_synonyms")) == [
        ("bg foods", "10"), ("bog foods", "20")]

def test_version_9_invoices_take_their_rate_from_the_record_and_snapshots_a_dollar_amount(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V9} {DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 8;")
    invoices = [("eur", "Euro", {"exchangeRate": 1.1}), ("lower", "Euro", {"exchangerate": 0.5}),
                ("blind", "Euro", {}), ("usd", "USA", {"exchangeRate": 1.0}), ("bare", None, {}),
                ("gone", "Euro", None)]  # a tombstone without raw_json
    conn.executemany("INSERT INTO customer_invoice (ns_id, currency, amount_remaining, last_modified, raw_json) "
                     "VALUES (?, ?, 100, 't', ?)",
                     [(i, c, None if raw is None else json.dumps({"id": i, **raw})) for i, c, raw in invoices])
    conn.execute("INSERT INTO ar_aging_runs (as_of, computed_at, invoice_count) VALUES ('2026-06-30', 't', 6)")
    conn.executemany("INSERT INTO ar_aging_snapshot (as_of, invoice_id, customer_id, days_past_due, bucket, "
                     "amount_remaining) VALUES ('2026-06-30', ?, '1', 5, '1-30', 100)", [(i,) for i, _, _ in invoices])
    assert apply_schema(conn) == LATEST
    assert dict(conn.execute("SELECT ns_id, exchange_rate FROM customer_invoice")) == {
        "eur": 1.1, "lower": 0.5, "blind": None, "usd": 1.0, "bare": 1.0, "gone": None}
    assert {r[0]: tuple(r[1:]) for r in conn.execute("SELECT invoice_id, currency, amount_base FROM ar_aging_snapshot")} == {
        "eur": ("Euro", 110.0), "lower": ("Euro", 50.0), "blind": ("Euro", None), "usd": ("USA", 100.0),
        "bare": (None, 100.0), "gone": ("Euro", None)}
    assert tuple(conn.execute("SELECT b1_30, total_open, unconverted FROM v_customer_ar_aging").fetchone()) == (
        360.0, 360.0, 2)


def test_version_10_pending_dead_letters_take_a_digest_so_a_resent_one_is_found_by_index(tmp_path):
    from worker.deadletters import SAME_PENDING, store_dead_letter

    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V10} {DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 9;")
    conn.executemany("INSERT INTO dead_letters (source, reason, payload, received_at, replayed_at) VALUES (?, ?, ?, 't', ?)",
                     [("webhook", "bad", b"{1}", None), ("webhook", "bad", b"{2}", "t2")])
    assert apply_schema(conn) == LATEST
    assert [r[0] is not None for r in conn.execute("SELECT digest FROM dead_letters ORDER BY id")] == [True, False]
    assert store_dead_letter(conn, "webhook", "bad", b"{1}", "t3") == 1  # the pending one, found again
    assert store_dead_letter(conn, "webhook", "bad", b"{2}", "t3") == 3  # the replayed one is history: a new letter
    plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + SAME_PENDING, (b"", "", "", b"")))
    assert "dead_letters_pending_digest" in plan, plan


def test_version_11_synonyms_drop_the_legal_suffixes_added_since(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 10;")
    conn.executemany("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) VALUES (?, ?, ?, ?)", [
        ("customer", "nordisk fisk a s", "Nordisk Fisk A/S", "1"),  # as version 10 normalized them
        ("customer", "pasta fresca s p a", "Pasta Fresca S.p.A.", "2"),
        ("customer", "kala oy", "Kala Oy", "3"),
        ("customer", "driscoll", "Driscoll", "1187"),
    ])
    assert apply_schema(conn) == LATEST
    assert sorted(tuple(r) for r in conn.execute("SELECT normalized, customer_id FROM name_synonyms")) == [
        ("driscoll", "1187"), ("kala", "3"), ("nordisk fisk", "1"), ("pasta fresca", "2")]


def test_version_14_synonyms_keep_the_letters_of_other_scripts(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 13;")  # version 14 changes data only
    conn.executemany("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) VALUES (?, ?, ?, ?)", [
        ("customer", "golden dragon", "Golden Dragon 金龍", "1"),  # as version 13 normalized them
        ("customer", "trading", "Ромашка Trading LLC", "2"),
        ("customer", "driscoll", "Driscoll", "1187"),
    ])
    assert apply_schema(conn) == LATEST
    assert sorted(tuple(r) for r in conn.execute("SELECT normalized, customer_id FROM name_synonyms")) == [
        ("driscoll", "1187"), ("golden dragon 金龍", "1"), ("ромашка trading", "2")]


def test_version_15_payment_applications_take_the_discount_their_record_names(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 14;")  # as version 14 left it
    lines = [{"doc": {"id": "i2"}, "apply": False, "amount": 5, "disc": 1},  # not applied: no row of its own
             {"doc": {"id": "i2"}, "apply": True, "amount": 990, "disc": 10}, {"doc": "i3", "apply": True, "amount": 5}]
    record = json.dumps({"id": "p2", "apply": {"items": lines}})
    later = json.dumps({"id": "p3", "memo": "header only"})  # its rows came from an older event: not this record
    conn.executemany("INSERT INTO customer_payment (ns_id, tran_date, last_modified, raw_json, cdc_apply_version) "
                     "VALUES (?, '2026-06-09', 't', ?, ?)",
                     [("p1", None, None), ("p2", record, None), ("p3", later, "2026-06-01T00:00:00.000000Z|0|sn-1"),
                      ("p4", record.replace('"p2"', '"p4"'), "2026-06-01T00:00:00.000000Z|0|sn-2")])
    conn.executemany("INSERT INTO payment_application (payment_id, line_no, invoice_id, doc_type, amount, apply_date) "
                     "VALUES (?, ?, ?, 'Invoice', ?, '2026-06-01')",
                     [("p1", 1, "i1", 990), ("p2", 1, "i2", 990), ("p2", 2, "i3", 5), ("p3", 1, "i4", 90),
                      ("p4", 1, "i2", 990)])
    assert apply_schema(conn) == LATEST
    # The discount its payment's record names, where that record wrote the rows (p4's rows are an older event's).
    assert [tuple(r) for r in conn.execute("SELECT * FROM payment_application ORDER BY 1, 2")] == [
        ("p1", 1, "i1", "Invoice", 990.0, "2026-06-01", None), ("p2", 1, "i2", "Invoice", 990.0, "2026-06-01", 10.0),
        ("p2", 2, "i3", "Invoice", 5.0, "2026-06-01", None), ("p3", 1, "i4", "Invoice", 90.0, "2026-06-01", None),
        ("p4", 1, "i2", "Invoice", 990.0, "2026-06-01", None)]
    shape = "PRAGMA table_info(payment_application)"
    assert conn.execute(shape).fetchall() == _fresh(tmp_path).execute(shape).fetchall()


def test_version_17_customers_take_their_name_key_and_a_rename_clears_it(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 16;")  # as version 16 left it
    conn.executemany("INSERT INTO customers (ns_id, company_name, last_modified, deleted_at) VALUES (?, ?, 't', ?)",
                     [("1", "Hárbor Bistro, L.L.C.", None), ("2", "Inc.", None), ("3", None, None),
                      ("4", "The Gone Deli", "t")])
    assert apply_schema(conn) == LATEST
    # normalize_name's form; a name that leaves nothing that way waits for same_name_customers (its case-folded text)
    assert dict(conn.execute("SELECT ns_id, name_key FROM customers")) == {"1": "harbor bistro", "2": None, "3": None,
                                                                          "4": "gone deli"}
    assert same_name_customers(conn, "harbor bistro") == ["1"] and same_name_customers(conn, "INC.") == ["2"]
    conn.execute("UPDATE customers SET company_name = 'Harbour Bistro', last_modified = 'u' WHERE ns_id = '1'")
    conn.execute("UPDATE customers SET last_modified = 'u' WHERE ns_id = '4'")  # not renamed: keeps its key
    assert dict(conn.execute("SELECT ns_id, name_key FROM customers WHERE ns_id IN ('1', '4')")) == {
        "1": None, "4": "gone deli"}
    shape = "PRAGMA table_info(customers)"
    assert conn.execute(shape).fetchall() == _fresh(tmp_path).execute(shape).fetchall()


def test_version_12_invoices_in_a_currency_without_letters_take_their_rate_and_absurd_rates_go(tmp_path):
    # Version 12 changes data only (no DROP_V12): a database at 11 has every column but 13's, only the old rates.
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V13} {DROP_V15} {DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 11;")
    invoices = [  # (ns_id, currency, rate as version 11 stored it, raw record)
        ("id4", "4", 1.0, {"exchangerate": 1.1}), ("id2", "2", 1.0, {}), ("id1", "1", 1.0, {"exchangeRate": 1.3}),
        ("euro_sign", "€", 1.0, {"exchangeRate": "1.2"}), ("dollar", "$", 1.0, {"exchangeRate": 9}),
        ("nulled", "4", 1.0, {"exchangeRate": None, "exchangerate": 1.1}),  # the model reads the null: no rate
        ("absurd", "Euro", 1e306, {"exchangeRate": 1e306}), ("eur", "Euro", 1.08, {"exchangeRate": 1.5}),
        ("usd", "USA", 1.0, {}), ("bare", None, 1.0, {}), ("gone", "4", 1.0, None)]
    conn.executemany("INSERT INTO customer_invoice (ns_id, currency, amount_remaining, last_modified, raw_json, "
                     "exchange_rate) VALUES (?, ?, 100, 't', ?, ?)",
                     [(i, c, None if raw is None else json.dumps({"id": i, **raw}), r) for i, c, r, raw in invoices])
    conn.execute("INSERT INTO ar_aging_runs (as_of, computed_at, invoice_count) VALUES ('2026-06-30', 't', 11)")
    conn.executemany("INSERT INTO ar_aging_snapshot (as_of, invoice_id, customer_id, days_past_due, bucket, "
                     "amount_remaining, currency, amount_base) VALUES ('2026-06-30', ?, '1', 5, '1-30', 100, ?, ?)",
                     [(i, c, 100 * r) for i, c, r, _ in invoices])
    assert apply_schema(conn) == LATEST
    rates = {"id4": 1.1, "id2": None, "id1": 1.0, "euro_sign": 1.2, "dollar": 1.0, "nulled": None, "absurd": None,
             "eur": 1.08, "usd": 1.0, "bare": 1.0, "gone": None}  # eur keeps the rate it was stored with
    assert dict(conn.execute("SELECT ns_id, exchange_rate FROM customer_invoice")) == rates
    # Rows of invoices whose rate changed are recomputed; the others (eur: 108.0 at its rate then) are history.
    assert dict(conn.execute("SELECT invoice_id, amount_base FROM ar_aging_snapshot")) == {
        "id4": 110.0, "id2": None, "id1": 100.0, "euro_sign": 120.0, "dollar": 100.0, "nulled": None, "absurd": None,
        "eur": 108.0, "usd": 100.0, "bare": 100.0, "gone": None}
    assert tuple(conn.execute("SELECT total_open, unconverted FROM v_customer_ar_aging").fetchone()) == (738.0, 4)

def _fresh(tmp_path):
    conn = connect(tmp_path / "fresh.sqlite3")
    apply_schema(conn)
    return conn


def test_newer_database_is_refused(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    conn.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaTooNew, match="version 99 is newer"):
        apply_schema(conn)


def test_a_newer_database_is_refused_before_anything_touches_it(tmp_path):
    path = tmp_path / "newer.sqlite3"
    with sqlite3.connect(path) as made:  # as a newer worker might leave it: a rollback journal, say
        made.execute("PRAGMA journal_mode = DELETE")
        made.execute("CREATE TABLE customers (ns_id TEXT)")
        made.execute(f"PRAGMA user_version = {LATEST + 1}")
    made.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match=f"version {LATEST + 1} is newer"):
        connect(path)
    assert path.read_bytes() == before  # PRAGMA journal_mode = WAL used to rewrite its header first


def test_worker_db_init_twice_from_the_cli(tmp_path):
    env = {"WORKER_DB_PATH": str(tmp_path / "cli.sqlite3"), "PATH": os.environ["PATH"]}
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "worker.cli", "db", "init"], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert f"schema version {LATEST}" in done.stdout
    conn = sqlite3.connect(tmp_path / "cli.sqlite3")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert set(TABLES) <= names
