"""Schema versioning: forward migrations by PRAGMA user_version, then schema.sql (idempotent)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from worker.currency import base_rate
from worker.deadletters import letter_digest
from worker.names import normalize_name
from worker.write_lock import begin_immediate

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"

# (version, SQL) in ascending order. Each brings a database at version-1 up to version; schema.sql
# always describes the newest shape, so a fresh database only runs schema.sql.
# Example for the next change: (21, "ALTER TABLE customers ADD COLUMN sales_rep TEXT;")
# Imported synonyms take the forms worker/names.py gives now: normalize_name is registered by apply_schema. The rows
# that change first step aside (a \x01 prefix no name has), so which form is taken never depends on row order; a
# synonym whose new form another row holds gets its old one back, or, when that is taken too, keeps the prefixed
# key: kept, never deleted.
RENORMALIZE_SYNONYMS = """
UPDATE name_synonyms SET normalized = char(1) || normalized
WHERE normalized <> normalize_name(synonym) AND normalize_name(synonym) <> '';
UPDATE OR IGNORE name_synonyms SET normalized = normalize_name(synonym)
WHERE substr(normalized, 1, 1) = char(1);
UPDATE OR IGNORE name_synonyms SET normalized = substr(normalized, 2)
WHERE substr(normalized, 1, 1) = char(1);
"""
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
    # review_items.part and .pages: one item per purchase order of a PDF, so UNIQUE (email_id, attachment_id)
    # becomes (email_id, attachment_id, part). A table-level UNIQUE cannot be dropped in place: the table is
    # rebuilt keeping every row and id (proposed_actions point at them); schema.sql then recreates its indexes.
    (6, """
CREATE TABLE review_items_v6 (
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
    part            INTEGER NOT NULL DEFAULT 0,
    pages           TEXT,
    UNIQUE (email_id, attachment_id, part)
);
INSERT INTO review_items_v6 (id, status, email_id, attachment_id, customer_id, po_number, parsed_json, pdf_key, reason,
                             flags_json, confidence, line_count, total, sender, created_at, updated_at, decided_by,
                             decided_at, decision_reason, email_text)
SELECT id, status, email_id, attachment_id, customer_id, po_number, parsed_json, pdf_key, reason, flags_json,
       confidence, line_count, total, sender, created_at, updated_at, decided_by, decided_at, decision_reason, email_text
FROM review_items;
DROP TABLE review_items;
ALTER TABLE review_items_v6 RENAME TO review_items;
"""),
    # Version keys order event ids naturally (sn-9 < sn-10): keys stored before are respelled, or an event
    # in the same minute as a held one would be compared across two spellings. respell_key is
    # versions.respelled_key, registered on the connection by apply_schema.
    (7, """
UPDATE customers SET cdc_version = respell_key(cdc_version),
    cdc_data_version = respell_key(cdc_data_version);
UPDATE customer_contacts SET cdc_version = respell_key(cdc_version),
    cdc_data_version = respell_key(cdc_data_version);
UPDATE transactions SET cdc_version = respell_key(cdc_version),
    cdc_data_version = respell_key(cdc_data_version),
    cdc_lines_version = respell_key(cdc_lines_version);
UPDATE item_fulfillment SET cdc_version = respell_key(cdc_version),
    cdc_data_version = respell_key(cdc_data_version),
    cdc_lines_version = respell_key(cdc_lines_version),
    cdc_packages_version = respell_key(cdc_packages_version);
UPDATE customer_invoice SET cdc_version = respell_key(cdc_version),
    cdc_data_version = respell_key(cdc_data_version),
    cdc_lines_version = respell_key(cdc_lines_version);
UPDATE customer_payment SET cdc_version = respell_key(cdc_version),
    cdc_data_version = respell_key(cdc_data_version),
    cdc_apply_version = respell_key(cdc_apply_version);
UPDATE credit_memo SET cdc_version = respell_key(cdc_version),
    cdc_data_version = respell_key(cdc_data_version),
    cdc_apply_version = respell_key(cdc_apply_version);
UPDATE item_fulfillment_status_log SET version_key = respell_key(version_key);
"""),
    # Names fold letters without a decomposition (ß, ø, ł, æ, ...) instead of dropping them ("Søren" was
    # "sren"): imported synonyms are renormalized (RENORMALIZE_SYNONYMS).
    (8, RENORMALIZE_SYNONYMS),
    # AR aging in US dollars: invoices keep their rate to the base currency (base_rate is worker.currency's,
    # registered by apply_schema) read from the record as applied, and snapshot rows their currency and base
    # amount, so that aging no longer adds euros to dollars. Past snapshots take the invoice's rate of today.
    (9, """
ALTER TABLE customer_invoice ADD COLUMN exchange_rate REAL;
UPDATE customer_invoice SET exchange_rate = base_rate(CASE WHEN json_valid(raw_json) THEN
    coalesce(json_extract(raw_json, '$.exchangeRate'), json_extract(raw_json, '$.exchangerate')) END, currency);
ALTER TABLE ar_aging_snapshot ADD COLUMN currency TEXT;
ALTER TABLE ar_aging_snapshot ADD COLUMN amount_base REAL;
UPDATE ar_aging_snapshot SET (currency, amount_base) = (
    SELECT i.currency, round(ar_aging_snapshot.amount_remaining * i.exchange_rate, 2)
    FROM customer_invoice i WHERE i.ns_id = ar_aging_snapshot.invoice_id);
"""),
    # dead_letters.digest: an identical pending letter is found by index, not by comparing every pending payload
    # (letter_digest is worker.deadletters', registered by apply_schema; schema.sql then builds the index).
    (10, """
ALTER TABLE dead_letters ADD COLUMN digest BLOB;
UPDATE dead_letters SET digest = letter_digest(source, reason, payload) WHERE replayed_at IS NULL;
"""),
    # More legal suffixes (ApS, A/S, AB, Oy, S.p.A., S.L., ...) and dotted initials as one word ("S.A." is "sa").
    (11, RENORMALIZE_SYNONYMS),
    # A currency given only by its internal id ("4") or a symbol ("€") counted as US dollars at face value, and a
    # rate of any size was kept: such invoices take their rate from the record again (exchangeRate as the model
    # reads it: the first spelling present, even null), the others keep theirs if base_rate still takes it
    # (0 < rate <= MAX_RATE). Snapshot rows of the invoices whose rate changed are recomputed, as version 9 did.
    (12, """
CREATE TEMP TABLE rates_v11 AS SELECT ns_id, exchange_rate FROM customer_invoice;
UPDATE customer_invoice SET exchange_rate = CASE WHEN lower(coalesce(currency, '')) GLOB '*[a-z]*'
    THEN base_rate(exchange_rate, currency)
    ELSE base_rate(CASE WHEN json_valid(raw_json) THEN CASE WHEN json_type(raw_json, '$.exchangeRate') IS NOT NULL
        THEN json_extract(raw_json, '$.exchangeRate') ELSE json_extract(raw_json, '$.exchangerate') END END,
        currency) END;
UPDATE ar_aging_snapshot SET amount_base = (
    SELECT round(ar_aging_snapshot.amount_remaining * i.exchange_rate, 2)
    FROM customer_invoice i WHERE i.ns_id = ar_aging_snapshot.invoice_id)
WHERE invoice_id IN (SELECT i.ns_id FROM customer_invoice i JOIN temp.rates_v11 o ON o.ns_id = i.ns_id
                     WHERE i.exchange_rate IS NOT o.exchange_rate);
DROP TABLE temp.rates_v11;
"""),
    # customer_contacts.inactivated_at: the contact churn signal dated a contact's leaving by its last_modified,
    # which any later edit moves. Contacts already inactive take their last_modified, the best known.
    (13, """
ALTER TABLE customer_contacts ADD COLUMN inactivated_at TEXT;
UPDATE customer_contacts SET inactivated_at = last_modified WHERE is_inactive = 1;
"""),
    # Names keep letters of other scripts ("Golden Dragon 金龍" was "golden dragon", so 金龍 found nothing).
    (14, RENORMALIZE_SYNONYMS),
    # payment_application.disc: the early-payment discount an apply line took, which lowers the invoice's remainder
    # as the amount does. Rows mirrored before take it from their payment's record as applied (raw_json) when that
    # record wrote them (cdc_apply_version NULL: the data's) and names a discount; the others keep NULL (none known).
    (15, """
ALTER TABLE payment_application ADD COLUMN disc REAL;
UPDATE payment_application SET disc = (
    SELECT applied_disc(p.raw_json, payment_application.line_no, payment_application.invoice_id)
    FROM customer_payment p
    WHERE p.ns_id = payment_application.payment_id AND p.cdc_apply_version IS NULL
      AND instr(p.raw_json, '"disc"') > 0);
"""),
    # dateCreated in SuiteQL's M/D/YYYY (with a time of day or not), or with an offset without a colon (-0800), was
    # stored as sent, which the contact churn signal read as no date: such a contact counted on nights before it was created. It becomes its ISO date
    # (created_as_stored is worker.cdc.models', registered by apply_schema), as the CDC now stores it; raw_json stays.
    (16, """
UPDATE customers SET date_created = created_as_stored(date_created)
WHERE instr(date_created, '/') > 0 OR date_created GLOB '*[+-][0-9][0-9][0-9][0-9]';
UPDATE customer_contacts SET date_created = created_as_stored(date_created)
WHERE instr(date_created, '/') > 0 OR date_created GLOB '*[+-][0-9][0-9][0-9][0-9]';
"""),
    # customers.name_key: a new customer's namesakes (worker/decisions.py same_name_customers) by index instead of
    # normalizing every live customer's name inside the write lock. A name that normalizes to nothing ('Inc.') keeps
    # NULL: same_name_customers computes its key (the case-folded text) when next asked, as for names written since.
    (17, """
ALTER TABLE customers ADD COLUMN name_key TEXT;
UPDATE customers SET name_key = normalize_name(company_name) WHERE normalize_name(company_name) <> '';
"""),
    # transaction_lines.is_closed: NetSuite closes a sales order line (isClosed; SuiteQL's isclosed, 'T'/'F') rather
    # than deleting it, and the flag was kept only in the line's raw_json, so a closed line was priced, asked a price
    # for and counted as ordered. Lines mirrored before take it from their raw_json as the model reads it (line_closed
    # is worker.cdc.models', registered by apply_schema); only lines whose record names the flag are read.
    (18, """
ALTER TABLE transaction_lines ADD COLUMN is_closed INTEGER NOT NULL DEFAULT 0;
UPDATE transaction_lines SET is_closed = line_closed(raw_json)
WHERE instr(raw_json, '"isClosed"') > 0 OR instr(raw_json, '"isclosed"') > 0;
"""),
    # A fulfillment's package sublists (package / packageList, packageUps, packageFedex, packageUsps) fed one set of
    # shipments rows with one version, so an event carrying one sublist replaced the packages of all of them. Each is
    # now its own register: shipments.source names the sublist (package_no is unique per sublist now: the new UNIQUE,
    # hence the rebuild) and item_fulfillment a version per carrier sublist. Rows written with their fulfillment's data (its
    # raw_json holds exactly them, in the mirror's numbering) take their sublist from it, and a sublist that record
    # did not carry has no version (''); other fulfillments' rows keep NULL (no known sublist: the next event carrying
    # any package sublist replaces them, as before) and every sublist the packages' version. The package_* and
    # packages_carried functions are worker.cdc.mirror's, registered by apply_schema.
    (19, """
ALTER TABLE item_fulfillment ADD COLUMN cdc_ups_packages_version TEXT;
ALTER TABLE item_fulfillment ADD COLUMN cdc_fedex_packages_version TEXT;
ALTER TABLE item_fulfillment ADD COLUMN cdc_usps_packages_version TEXT;
CREATE TEMP TABLE packages_read_v19 AS
SELECT f.ns_id FROM item_fulfillment f
WHERE (f.cdc_packages_version IS NULL OR f.cdc_packages_version = f.cdc_data_version)
  AND package_count(f.raw_json) = (SELECT count(*) FROM shipments s WHERE s.fulfillment_id = f.ns_id)
  AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.fulfillment_id = f.ns_id
                  AND package_source(f.raw_json, s.package_no, s.tracking_number) IS NULL);
CREATE TABLE shipments_v19 (
    id              INTEGER PRIMARY KEY,
    fulfillment_id  TEXT NOT NULL REFERENCES item_fulfillment (ns_id) ON DELETE CASCADE,
    source          TEXT,
    package_no      INTEGER NOT NULL,
    tracking_number TEXT,
    carrier         TEXT,
    weight          REAL,
    description     TEXT,
    UNIQUE (fulfillment_id, source, package_no)
);
INSERT INTO shipments_v19 (id, fulfillment_id, source, package_no, tracking_number, carrier, weight, description)
SELECT s.id, s.fulfillment_id,
       CASE WHEN r.ns_id IS NULL THEN NULL ELSE package_source(f.raw_json, s.package_no, s.tracking_number) END,
       s.package_no,
       s.tracking_number, s.carrier, s.weight, s.description
FROM shipments s LEFT JOIN item_fulfillment f ON f.ns_id = s.fulfillment_id
LEFT JOIN temp.packages_read_v19 r ON r.ns_id = s.fulfillment_id;
DROP TABLE shipments;
ALTER TABLE shipments_v19 RENAME TO shipments;
UPDATE item_fulfillment SET cdc_ups_packages_version = cdc_packages_version,
    cdc_fedex_packages_version = cdc_packages_version, cdc_usps_packages_version = cdc_packages_version;
UPDATE item_fulfillment SET
    cdc_packages_version = CASE WHEN packages_carried(raw_json, 'package') THEN cdc_packages_version ELSE '' END,
    cdc_ups_packages_version = CASE WHEN packages_carried(raw_json, 'packageUps') THEN cdc_packages_version ELSE '' END,
    cdc_fedex_packages_version = CASE WHEN packages_carried(raw_json, 'packageFedex') THEN cdc_packages_version
                                      ELSE '' END,
    cdc_usps_packages_version = CASE WHEN packages_carried(raw_json, 'packageUsps') THEN cdc_packages_version
                                     ELSE '' END
WHERE ns_id IN (SELECT ns_id FROM temp.packages_read_v19);
DROP TABLE temp.packages_read_v19;
"""),
    # A price_per_unit finding (a line printing its price per a weight and no unit of its own) names its unit in a
    # field, Finding.unit, where the review order page's price check reads it; it was read back from the message.
    # Parses stored before (review_items.parsed_json) take it from their message (findings_given_units, registered
    # by apply_schema); a message naming none leaves the finding without, and text that is no parse stays as it is.
    (20, """
UPDATE review_items SET parsed_json = findings_given_units(parsed_json)
WHERE instr(parsed_json, '"price_per_unit"') > 0;
"""),
]
LATEST = MIGRATIONS[-1][0]


# The wording parser._price_units gave a price_per_unit finding's message before version 20 (migration 20 reads it).
_PER_V19 = re.compile(r"is per ([A-Z]+),")


def findings_given_units(parsed_json: str | None) -> str | None:
    """A stored parse (review_items.parsed_json) whose price_per_unit findings without a unit take the one their
    message names (pure; migration 20). Anything else comes back as it was: text that is not JSON, or nested too
    deep to read, a parse without findings or whose findings name no unit. Never raises: a migration's function
    that raises stops the migration, and the worker, at every start."""
    try:
        parsed = json.loads(parsed_json) if parsed_json else None
    except (ValueError, RecursionError):
        return parsed_json
    findings = parsed.get("findings") if isinstance(parsed, dict) else None
    changed = False
    for f in findings if isinstance(findings, list) else []:
        if (isinstance(f, dict) and f.get("code") == "price_per_unit" and f.get("unit") is None
                and isinstance(message := f.get("message"), str) and (m := _PER_V19.search(message))):
            f["unit"], changed = m[1], True
    if not changed:
        return parsed_json
    text = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))  # as pydantic writes it
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON) SQLite cannot take as UTF-8: escaped
        text = json.dumps(parsed, separators=(",", ":"))
    return text


class SchemaTooNew(Exception):
    """The database was written by a newer worker; running older code on it could corrupt it."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's PRAGMA user_version (0 for a new file)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def refuse_newer(conn: sqlite3.Connection, latest: int = LATEST) -> int:
    """The database's version, or SchemaTooNew when a newer worker wrote it (checked before anything is set)."""
    current = schema_version(conn)
    if current > latest:
        raise SchemaTooNew(f"database schema version {current} is newer than this worker's ({latest})")
    return current


def apply_schema(
    conn: sqlite3.Connection, migrations: list[tuple[int, str]] | None = None, schema_sql: str | None = None
) -> int:
    """Bring the database to the newest version in one transaction; returns that version."""
    migrations = MIGRATIONS if migrations is None else migrations
    latest = migrations[-1][0]
    schema_sql = SCHEMA_PATH.read_text(encoding="utf-8") if schema_sql is None else schema_sql
    from worker.cdc import mirror  # here, as versions: both import modules that import this one
    from worker.cdc.models import created_as_stored, line_closed
    from worker.cdc.versions import respelled_key  # here: versions -> env -> db imports this module

    conn.create_function("respell_key", 1, respelled_key, deterministic=True)  # migration 7
    conn.create_function("normalize_name", 1, normalize_name, deterministic=True)  # migrations 8, 11, 14, 17
    conn.create_function("base_rate", 2, base_rate, deterministic=True)  # migrations 9 and 12
    conn.create_function("letter_digest", 3, letter_digest, deterministic=True)  # migration 10
    conn.create_function("applied_disc", 3, mirror.applied_disc, deterministic=True)  # migration 15
    conn.create_function("created_as_stored", 1, created_as_stored, deterministic=True)  # migration 16
    conn.create_function("line_closed", 1, line_closed, deterministic=True)  # migration 18
    for name, arity in (("package_count", 1), ("package_source", 3), ("packages_carried", 2)):
        conn.create_function(name, arity, getattr(mirror, name), deterministic=True)  # migration 19
    conn.create_function("findings_given_units", 1, findings_given_units, deterministic=True)  # migration 20
    # A migration that rebuilds a table others reference (create, copy, drop, rename) needs foreign keys off,
    # else DROP TABLE deletes through them; the pragma is ignored inside a transaction, so it is set around it.
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        _apply(conn, migrations, latest, schema_sql, check_keys=bool(enforced))
    finally:
        conn.execute(f"PRAGMA foreign_keys = {int(enforced)}")
    return latest


def _apply(conn: sqlite3.Connection, migrations: list[tuple[int, str]], latest: int, schema_sql: str,
           *, check_keys: bool) -> None:
    begin_immediate(conn)
    try:
        current = refuse_newer(conn, latest)
        is_new = not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'customers'").fetchone()
        pending = [sql for version, sql in migrations if version > current and sql.strip()] if not is_new else []
        for sql in pending:
            _execute_statements(conn, sql)
        _execute_statements(conn, schema_sql)
        if pending and check_keys and (broken := conn.execute("PRAGMA foreign_key_check").fetchone()):
            # Every connection enforces foreign keys, so a dangling reference can only be the migration's doing.
            raise sqlite3.IntegrityError(f"a migration broke a foreign key: {broken[0]} row {broken[1]} -> {broken[2]}")
        conn.execute(f"PRAGMA user_version = {int(latest)}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


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
