"""Schema versioning: forward migrations by PRAGMA user_version, then schema.sql (idempotent)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"

# (version, SQL) in ascending order. Each brings a database at version-1 up to version; schema.sql
# always describes the newest shape, so a fresh database only runs schema.sql.
# Example for the next change: (6, "ALTER TABLE customers ADD COLUMN sales_rep TEXT;")
MIGRATIONS: list[tuple[int, str]] = [
    (1, ""),  # the first versioned schema: everything is in schema.sql
    # events.dedupe_key: a partial unique index instead of a UNIQUE column (SQLite cannot drop that in
    # place), CDC rows' keys dropped (webhook_receipts dedupes them), and no events_entity index.
    (2, """
CREATE TABLE events_v2 (
    id            INTEGER PRIMARY KEY,
    type          TEXT NOT NULL,
    entity_type   TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    payload_json  TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    dedupe_key    TEXT
);
INSERT INTO events_v2 (id, type, entity_type, entity_id, payload_json, created_at, dedupe_key)
SELECT id, type, entity_type, entity_id, payload_json, created_at,
       CASE WHEN dedupe_key LIKE 'cdc:%' THEN NULL ELSE dedupe_key END
FROM events;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
"""),
    # review_items.email_text: an order email without a PDF becomes a review item showing its text.
    (3, "ALTER TABLE review_items ADD COLUMN email_text TEXT;"),
    # Each sublist (lines, packages, applications) has its own version: an event without it (REST leaves a
    # sublist out unless expanded) keeps the rows. NULL on existing rows means "written with the data".
    (4, """
ALTER TABLE transactions ADD COLUMN cdc_lines_version TEXT;
ALTER TABLE item_fulfillment ADD COLUMN cdc_lines_version TEXT;
ALTER TABLE item_fulfillment ADD COLUMN cdc_packages_version TEXT;
ALTER TABLE customer_invoice ADD COLUMN cdc_lines_version TEXT;
ALTER TABLE customer_payment ADD COLUMN cdc_apply_version TEXT;
ALTER TABLE credit_memo ADD COLUMN cdc_apply_version TEXT;
"""),
    # review_sessions.credential: a session ends when its reviewer's password changes. Sessions opened
    # before (NULL) end at once: their reviewers sign in again.
    (5, "ALTER TABLE review_sessions ADD COLUMN credential TEXT;"),
]
LATEST = MIGRATIONS[-1][0]


class SchemaTooNew(Exception):
    """The database was written by a newer worker; running older code on it could corrupt it."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's PRAGMA user_version (0 for a new file)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def apply_schema(
    conn: sqlite3.Connection, migrations: list[tuple[int, str]] | None = None, schema_sql: str | None = None
) -> int:
    """Bring the database to the newest version in one transaction; returns that version."""
    migrations = MIGRATIONS if migrations is None else migrations
    latest = migrations[-1][0]
    schema_sql = SCHEMA_PATH.read_text(encoding="utf-8") if schema_sql is None else schema_sql
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        if current > latest:
            raise SchemaTooNew(f"database schema version {current} is newer than this worker's ({latest})")
        is_new = not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'customers'").fetchone()
        if not is_new:
            for version, sql in migrations:
                if version > current and sql.strip():
                    _execute_statements(conn, sql)
        _execute_statements(conn, schema_sql)
        conn.execute(f"PRAGMA user_version = {int(latest)}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return latest


def _execute_statements(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT our transaction first; run statement by statement instead.
    # Splitting at ';' and asking SQLite whether the buffer is complete keeps ';' inside strings intact.
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if not _only_comments(buffer[:-1]):
                conn.execute(buffer)
            buffer = ""
    if not _only_comments(buffer[:-1]):
        raise sqlite3.OperationalError(f"incomplete SQL statement: {buffer.strip()[:80]}")


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
