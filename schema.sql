-- GFS edge worker: the whole SQLite schema. Idempotent: applied at every start and by `worker db init`.
-- Columns named in SPEC 3.4 are a contract (dashboards query them directly); more may be added.
-- Timestamps are ISO-8601 UTC text; calendar dates (tran_date, due_date, as_of dates) are YYYY-MM-DD
-- in the company's time zone. Money is REAL rounded to cents at the edges.
-- Schema changes for existing databases go in worker/migrations.py (PRAGMA user_version).

------------------------------------------------------------------------------------------------
-- Mirror of NetSuite records. Every mirrored table: ns_id (NetSuite internal id), last_modified
-- (NetSuite lastModifiedDate, the ordering key), deleted_at (tombstone), raw_json (record as applied).
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS customers (
    ns_id          TEXT PRIMARY KEY,
    entity_id      TEXT,
    company_name   TEXT,
    email          TEXT,
    phone          TEXT,
    terms          TEXT,
    credit_limit   REAL,
    is_inactive    INTEGER NOT NULL DEFAULT 0,
    date_created   TEXT,
    last_modified  TEXT NOT NULL,
    deleted_at     TEXT,
    raw_json       TEXT,
    cdc_version    TEXT,  -- version key of the newest CDC event (worker/cdc/versions.py)
    cdc_data_version TEXT,  -- version key of the event whose data the row holds
    name_key       TEXT   -- company_name as namesakes compare (worker/decisions.py name_key), NULL until computed
);
CREATE INDEX IF NOT EXISTS customers_email ON customers (lower(email));
CREATE INDEX IF NOT EXISTS customers_name ON customers (lower(company_name));
-- A new customer's namesakes are found by index, not by normalizing every name inside the write lock. The mirror
-- writes names without their key: same_name_customers computes the missing ones (NULL) when next asked, and a
-- rename sets the key back to NULL. A change to worker/names.py needs a migration setting every name_key to NULL.
CREATE INDEX IF NOT EXISTS customers_name_key ON customers (name_key);
CREATE TRIGGER IF NOT EXISTS customers_renamed AFTER UPDATE OF company_name ON customers
WHEN new.company_name IS NOT old.company_name AND new.name_key IS NOT NULL
BEGIN
    UPDATE customers SET name_key = NULL WHERE ns_id = new.ns_id;
END;
-- The intake's index of customer names (worker/intake/customers.py) is rebuilt only when this row or the number of
-- customers changed. The triggers give it a new random stamp at every change of a customer's names, active flag or
-- liveness and at every deletion, whatever that change's last_modified; a new customer changes the count instead, so
-- the backfill's inserts run no trigger. Random, not a counter: a rolled-back change never comes back as a later
-- one's stamp. (INSERT OR REPLACE would delete a customer without a trigger: the mirror upserts.)
CREATE TABLE IF NOT EXISTS customer_names_stamp (
    id             INTEGER PRIMARY KEY CHECK (id = 1),  -- one row
    database_id    INTEGER NOT NULL,  -- random, set once: two databases (in memory too) never share a cached index
    stamp          INTEGER NOT NULL   -- random, new at every change the triggers below see
);
INSERT OR IGNORE INTO customer_names_stamp (id, database_id, stamp) VALUES (1, random(), random());
CREATE TRIGGER IF NOT EXISTS customers_names_changed
AFTER UPDATE OF ns_id, company_name, entity_id, is_inactive, deleted_at ON customers
WHEN new.ns_id IS NOT old.ns_id OR new.company_name IS NOT old.company_name OR new.entity_id IS NOT old.entity_id
    OR new.is_inactive IS NOT old.is_inactive OR (new.deleted_at IS NULL) <> (old.deleted_at IS NULL)
BEGIN
    UPDATE customer_names_stamp SET stamp = random();
END;
CREATE TRIGGER IF NOT EXISTS customers_names_removed AFTER DELETE ON customers
BEGIN
    UPDATE customer_names_stamp SET stamp = random();
END;

CREATE TABLE IF NOT EXISTS customer_contacts (
    ns_id          TEXT PRIMARY KEY,
    customer_id    TEXT,
    name           TEXT,
    email          TEXT,
    phone          TEXT,
    title          TEXT,
    is_inactive    INTEGER NOT NULL DEFAULT 0,
    date_created   TEXT,
    last_modified  TEXT NOT NULL,
    deleted_at     TEXT,
    raw_json       TEXT,
    cdc_version    TEXT,  -- version key of the newest CDC event (worker/cdc/versions.py)
    cdc_data_version TEXT, -- version key of the event whose data the row holds
    inactivated_at TEXT    -- last_modified of the event that made the contact inactive, kept across edits; NULL: active
);
CREATE INDEX IF NOT EXISTS customer_contacts_customer ON customer_contacts (customer_id);
CREATE INDEX IF NOT EXISTS customer_contacts_email ON customer_contacts (lower(email));

-- Sales orders.
CREATE TABLE IF NOT EXISTS transactions (
    ns_id          TEXT PRIMARY KEY,
    type           TEXT NOT NULL DEFAULT 'salesorder',
    tran_id        TEXT,
    customer_id    TEXT,
    tran_date      TEXT,
    ship_date      TEXT,
    status         TEXT,
    other_ref_num  TEXT,
    memo           TEXT,
    currency       TEXT,
    total          REAL,
    last_modified  TEXT NOT NULL,
    deleted_at     TEXT,
    raw_json       TEXT,
    cdc_version    TEXT,  -- version key of the newest CDC event (worker/cdc/versions.py)
    cdc_data_version TEXT, -- version key of the event whose data the row holds
    cdc_lines_version TEXT  -- version key of the event whose lines rows are held ('' none yet; NULL: the data's)
);
CREATE INDEX IF NOT EXISTS transactions_customer ON transactions (customer_id, tran_date);

CREATE TABLE IF NOT EXISTS transaction_lines (
    transaction_id TEXT NOT NULL REFERENCES transactions (ns_id) ON DELETE CASCADE,
    line_no        INTEGER NOT NULL,
    item_id        TEXT,
    item_name      TEXT,
    description    TEXT,
    quantity       REAL,
    units          TEXT,
    rate           REAL,
    amount         REAL,
    raw_json       TEXT,
    is_closed      INTEGER NOT NULL DEFAULT 0,  -- NetSuite closed the line (isClosed): no longer ordered
    PRIMARY KEY (transaction_id, line_no)
);
CREATE INDEX IF NOT EXISTS transaction_lines_item ON transaction_lines (item_id);

CREATE TABLE IF NOT EXISTS item_fulfillment (
    ns_id          TEXT PRIMARY KEY,
    tran_id        TEXT,
    customer_id    TEXT,
    created_from   TEXT,
    tran_date      TEXT,
    ship_status    TEXT,
    memo           TEXT,
    last_modified  TEXT NOT NULL,
    deleted_at     TEXT,
    raw_json       TEXT,
    cdc_version    TEXT,  -- version key of the newest CDC event (worker/cdc/versions.py)
    cdc_data_version TEXT, -- version key of the event whose data the row holds
    cdc_lines_version TEXT,  -- version key of the event whose lines rows are held ('' none yet; NULL: the data's)
    cdc_packages_version TEXT,  -- version key of the event whose packages rows are held ('' none yet; NULL: the data's)
    cdc_ups_packages_version TEXT,  -- likewise for packageUps: each package sublist is its own register
    cdc_fedex_packages_version TEXT,  -- likewise for packageFedex
    cdc_usps_packages_version TEXT  -- likewise for packageUsps
);
CREATE INDEX IF NOT EXISTS item_fulfillment_customer ON item_fulfillment (customer_id, tran_date);
CREATE INDEX IF NOT EXISTS item_fulfillment_order ON item_fulfillment (created_from);

CREATE TABLE IF NOT EXISTS item_fulfillment_lines (
    fulfillment_id TEXT NOT NULL REFERENCES item_fulfillment (ns_id) ON DELETE CASCADE,
    line_no        INTEGER NOT NULL,
    item_id        TEXT,
    item_name      TEXT,
    description    TEXT,
    quantity       REAL,
    order_line     INTEGER,
    raw_json       TEXT,
    PRIMARY KEY (fulfillment_id, line_no)
);

-- Packages of a fulfillment: one row per package of its package sublists, numbered within each.
CREATE TABLE IF NOT EXISTS shipments (
    id              INTEGER PRIMARY KEY,
    fulfillment_id  TEXT NOT NULL REFERENCES item_fulfillment (ns_id) ON DELETE CASCADE,
    -- the sublist: 'package' (REST package, SOAP packageList), 'packageUps', 'packageFedex' or 'packageUsps';
    -- NULL: mirrored before version 19 from an event the migration could not read, replaced by any sublist
    source          TEXT,
    package_no      INTEGER NOT NULL,
    tracking_number TEXT,
    carrier         TEXT,
    weight          REAL,
    description     TEXT,
    UNIQUE (fulfillment_id, source, package_no)
);
CREATE INDEX IF NOT EXISTS shipments_tracking ON shipments (tracking_number);

-- Shipping-status changes seen on fulfillments (picked -> packed -> shipped), in arrival order.
CREATE TABLE IF NOT EXISTS shipping_events (
    id              INTEGER PRIMARY KEY,
    fulfillment_id  TEXT NOT NULL,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    source_event_id TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS shipping_events_fulfillment ON shipping_events (fulfillment_id, occurred_at);

-- Every shipStatus seen on a fulfillment's CDC events (one per source event); shipping_events is derived
-- from it in version order, so the changes do not depend on delivery order (worker/cdc/shipping.py).
CREATE TABLE IF NOT EXISTS item_fulfillment_status_log (
    fulfillment_id  TEXT NOT NULL,
    version_key     TEXT NOT NULL,
    status          TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    source_event_id TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS item_fulfillment_status_log_order ON item_fulfillment_status_log (fulfillment_id, version_key);

CREATE TABLE IF NOT EXISTS customer_invoice (
    ns_id            TEXT PRIMARY KEY,
    tran_id          TEXT,
    customer_id      TEXT,
    created_from     TEXT,
    tran_date        TEXT,
    due_date         TEXT,
    terms            TEXT,
    status           TEXT,
    currency         TEXT,
    total            REAL,
    amount_remaining REAL,
    other_ref_num    TEXT,
    last_modified    TEXT NOT NULL,
    deleted_at       TEXT,
    raw_json         TEXT,
    cdc_version      TEXT,  -- version key of the newest CDC event (worker/cdc/versions.py)
    cdc_data_version TEXT,  -- version key of the event whose data the row holds
    cdc_lines_version TEXT, -- version key of the event whose lines rows are held ('' none yet; NULL: the data's)
    exchange_rate    REAL   -- US dollars per unit of its currency (worker.currency.base_rate); NULL: no base amount
);
CREATE INDEX IF NOT EXISTS customer_invoice_customer ON customer_invoice (customer_id, tran_date);
-- The warm tier scans open invoices only.
CREATE INDEX IF NOT EXISTS customer_invoice_open ON customer_invoice (customer_id)
    WHERE amount_remaining > 0 AND deleted_at IS NULL;
-- ... and reports the few whose remaining amount NetSuite did not send (NULL: unknown), without a table scan.
CREATE INDEX IF NOT EXISTS customer_invoice_remaining_unknown ON customer_invoice (customer_id)
    WHERE amount_remaining IS NULL AND deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS customer_invoice_lines (
    invoice_id     TEXT NOT NULL REFERENCES customer_invoice (ns_id) ON DELETE CASCADE,
    line_no        INTEGER NOT NULL,
    item_id        TEXT,
    item_name      TEXT,
    description    TEXT,
    quantity       REAL,
    units          TEXT,
    rate           REAL,
    amount         REAL,
    raw_json       TEXT,
    PRIMARY KEY (invoice_id, line_no)
);

CREATE TABLE IF NOT EXISTS customer_payment (
    ns_id          TEXT PRIMARY KEY,
    tran_id        TEXT,
    customer_id    TEXT,
    tran_date      TEXT,
    status         TEXT,
    currency       TEXT,
    total          REAL,
    unapplied      REAL,
    memo           TEXT,
    last_modified  TEXT NOT NULL,
    deleted_at     TEXT,
    raw_json       TEXT,
    cdc_version    TEXT,  -- version key of the newest CDC event (worker/cdc/versions.py)
    cdc_data_version TEXT, -- version key of the event whose data the row holds
    cdc_apply_version TEXT  -- version key of the event whose apply rows are held ('' none yet; NULL: the data's)
);
CREATE INDEX IF NOT EXISTS customer_payment_customer ON customer_payment (customer_id, tran_date);

CREATE TABLE IF NOT EXISTS payment_application (
    payment_id     TEXT NOT NULL REFERENCES customer_payment (ns_id) ON DELETE CASCADE,
    line_no        INTEGER NOT NULL,
    invoice_id     TEXT,
    doc_type       TEXT,
    amount         REAL,
    apply_date     TEXT,  -- the applyDate of the line as sent: the date of the document paid, not of the payment
    disc           REAL,  -- early-payment discount taken (apply line disc): settles the invoice beside amount
    PRIMARY KEY (payment_id, line_no)
);
CREATE INDEX IF NOT EXISTS payment_application_invoice ON payment_application (invoice_id);

CREATE TABLE IF NOT EXISTS credit_memo (
    ns_id            TEXT PRIMARY KEY,
    tran_id          TEXT,
    customer_id      TEXT,
    created_from     TEXT,
    tran_date        TEXT,
    status           TEXT,
    currency         TEXT,
    total            REAL,
    amount_remaining REAL,
    memo             TEXT,
    last_modified    TEXT NOT NULL,
    deleted_at       TEXT,
    raw_json         TEXT,
    cdc_version      TEXT,  -- version key of the newest CDC event (worker/cdc/versions.py)
    cdc_data_version TEXT,  -- version key of the event whose data the row holds
    cdc_apply_version TEXT  -- version key of the event whose apply rows are held ('' none yet; NULL: the data's)
);
CREATE INDEX IF NOT EXISTS credit_memo_customer ON credit_memo (customer_id, tran_date);

CREATE TABLE IF NOT EXISTS credit_memo_application (
    credit_memo_id TEXT NOT NULL REFERENCES credit_memo (ns_id) ON DELETE CASCADE,
    line_no        INTEGER NOT NULL,
    invoice_id     TEXT,
    doc_type       TEXT,
    amount         REAL,
    PRIMARY KEY (credit_memo_id, line_no)
);
CREATE INDEX IF NOT EXISTS credit_memo_application_invoice ON credit_memo_application (invoice_id);

------------------------------------------------------------------------------------------------
-- Reference data curated by the operations team (SPEC 10), loaded by `worker import-reference`.
------------------------------------------------------------------------------------------------
-- kind 'customer': a name that means customer_id; kind 'brand_prefix': a private-label brand it owns.
CREATE TABLE IF NOT EXISTS name_synonyms (
    kind          TEXT NOT NULL CHECK (kind IN ('customer', 'brand_prefix')),
    normalized    TEXT NOT NULL,
    synonym       TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    PRIMARY KEY (kind, normalized)
);
CREATE INDEX IF NOT EXISTS name_synonyms_customer ON name_synonyms (customer_id);

CREATE TABLE IF NOT EXISTS customer_program (
    customer_id         TEXT PRIMARY KEY,
    program             TEXT NOT NULL,
    markup_pct          REAL NOT NULL DEFAULT 0,
    freight_terms       TEXT,
    payment_terms_days  INTEGER,
    usda_eligible       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS spec_items (
    item_id      TEXT PRIMARY KEY,
    item_code    TEXT NOT NULL,
    description  TEXT,
    uom          TEXT,
    is_assembly  INTEGER NOT NULL DEFAULT 0,
    pack_size    TEXT
);
CREATE INDEX IF NOT EXISTS spec_items_code ON spec_items (upper(item_code));

-- customer_id '' = list price; effective dates '' = open-ended (so the natural key can be UNIQUE).
CREATE TABLE IF NOT EXISTS pricing_master (
    id              INTEGER PRIMARY KEY,
    item_id         TEXT NOT NULL,
    customer_id     TEXT NOT NULL DEFAULT '',
    unit_price      REAL NOT NULL,
    uom             TEXT NOT NULL DEFAULT '',
    effective_from  TEXT NOT NULL DEFAULT '',
    effective_to    TEXT NOT NULL DEFAULT '',
    UNIQUE (item_id, customer_id, uom, effective_from)
);

CREATE TABLE IF NOT EXISTS customer_item_xref (
    customer_id         TEXT NOT NULL,
    customer_item_code  TEXT NOT NULL,
    item_id             TEXT NOT NULL,
    source              TEXT NOT NULL DEFAULT 'import',
    updated_at          TEXT,
    PRIMARY KEY (customer_id, customer_item_code)
);

------------------------------------------------------------------------------------------------
-- Inbound order mail and the review queue.
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS inbound_email_log (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT,
    sender        TEXT,
    recipients    TEXT,
    subject       TEXT,
    received_at   TEXT NOT NULL,
    raw_key       TEXT,
    sha256        TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    door          TEXT NOT NULL DEFAULT 'http',
    status        TEXT NOT NULL,
    reason        TEXT,
    spool_path    TEXT,
    duplicate_of  INTEGER REFERENCES inbound_email_log (id),
    attempts      INTEGER NOT NULL DEFAULT 0,
    customer_id   TEXT,
    processed_at  TEXT,
    claimed_at    TEXT  -- when processing last started: a 'processing' row older than the lease is retried
);
-- status: received -> processing -> processed | needs_manual | failed (reason; retried, bounded by attempts);
-- spooled (raw only on local disk until the hot tier uploads it) and duplicate (duplicate_of) are never processed.
CREATE INDEX IF NOT EXISTS inbound_email_log_message_id ON inbound_email_log (message_id);
CREATE INDEX IF NOT EXISTS inbound_email_log_sha256 ON inbound_email_log (sha256);
CREATE INDEX IF NOT EXISTS inbound_email_log_status ON inbound_email_log (status);

CREATE TABLE IF NOT EXISTS email_attachments (
    id            INTEGER PRIMARY KEY,
    email_id      INTEGER NOT NULL REFERENCES inbound_email_log (id),
    filename      TEXT,
    content_type  TEXT,
    size_bytes    INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    object_key    TEXT NOT NULL,
    UNIQUE (email_id, sha256)
);
CREATE INDEX IF NOT EXISTS email_attachments_sha256 ON email_attachments (sha256);  -- the same PDF in another email

CREATE TABLE IF NOT EXISTS review_items (
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
    email_text      TEXT,  -- an email without a PDF: its text, which is then the order to enter (schema v3)
    -- A PDF holding several purchase orders gives one item per order (schema v6): part 0, 1, ... in page order,
    -- and pages ("3-4", "5") says where in the PDF this one is; NULL when the order is the whole PDF.
    part            INTEGER NOT NULL DEFAULT 0,
    pages           TEXT,
    UNIQUE (email_id, attachment_id, part)
);
-- At most one text-only item per email (UNIQUE above treats NULL attachment ids as all different).
CREATE UNIQUE INDEX IF NOT EXISTS review_items_email_text ON review_items (email_id) WHERE attachment_id IS NULL;
CREATE INDEX IF NOT EXISTS review_items_queue ON review_items (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS review_items_customer ON review_items (customer_id, status);

------------------------------------------------------------------------------------------------
-- Event ledger, workflows, proposed actions, reflexion.
------------------------------------------------------------------------------------------------
-- dedupe_key makes appends idempotent (e.g. one ar.bucket_changed per invoice transition). CDC events
-- carry none: webhook_receipts already admits each event_id once, in the same transaction, so a
-- second unique key per change would only slow every backfill. Rows are read by id (workflow cursors),
-- so no index by entity is kept.
CREATE TABLE IF NOT EXISTS events (
    id            INTEGER PRIMARY KEY,
    type          TEXT NOT NULL,
    entity_type   TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    payload_json  TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    dedupe_key    TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS events_dedupe ON events (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_type ON events (type, id);

-- One cursor per consumer (workflow): the last event id it has fully handled.
CREATE TABLE IF NOT EXISTS event_cursors (
    consumer       TEXT PRIMARY KEY,
    last_event_id  INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT
);

CREATE TABLE IF NOT EXISTS workflow_run_log (
    id                INTEGER PRIMARY KEY,
    workflow          TEXT NOT NULL,
    customer_id       TEXT,
    trigger_event_id  INTEGER,
    status            TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    error             TEXT,
    output_json       TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    dedupe_key        TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS workflow_run_log_customer ON workflow_run_log (customer_id, started_at);
-- An order workflow's runs on one sales order (worker/flows/order_lines.py: did they all wait for its lines?).
CREATE INDEX IF NOT EXISTS workflow_run_log_order ON workflow_run_log (workflow, json_extract(output_json, '$.sales_order_id'));
-- A dispute workflow's runs on one credit memo (the history gate: has it acted on this memo?).
CREATE INDEX IF NOT EXISTS workflow_run_log_memo ON workflow_run_log (workflow, json_extract(output_json, '$.credit_memo_id'));

CREATE TABLE IF NOT EXISTS proposed_actions (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('staged', 'approved', 'rejected', 'executed')),
    customer_id      TEXT,
    payload_json     TEXT NOT NULL,
    risk             INTEGER NOT NULL DEFAULT 1,
    source           TEXT NOT NULL DEFAULT 'workflow',
    workflow_run_id  INTEGER REFERENCES workflow_run_log (id),
    review_item_id   INTEGER REFERENCES review_items (id),
    dedupe_key       TEXT UNIQUE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    decided_by       TEXT,
    decided_at       TEXT,
    decision_reason  TEXT
);
CREATE INDEX IF NOT EXISTS proposed_actions_queue ON proposed_actions (status, created_at DESC);
CREATE INDEX IF NOT EXISTS proposed_actions_customer ON proposed_actions (customer_id, status);

CREATE TABLE IF NOT EXISTS reflexion_log (
    id               INTEGER PRIMARY KEY,
    entity_type      TEXT NOT NULL,
    entity_id        TEXT NOT NULL,
    tags_json        TEXT NOT NULL DEFAULT '[]',
    observation      TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'needs_review'
                     CHECK (status IN ('needs_review', 'approved_for_reuse', 'rejected', 'expired')),
    workflow_run_id  INTEGER REFERENCES workflow_run_log (id),
    created_at       TEXT NOT NULL,
    decided_by       TEXT,
    decided_at       TEXT
);
CREATE INDEX IF NOT EXISTS reflexion_log_entity ON reflexion_log (entity_type, entity_id, status);
CREATE INDEX IF NOT EXISTS reflexion_log_status ON reflexion_log (status, created_at);
-- The cold tier's workflow_run_log prune: foreign-key checks and the clearing of workflow_run_id find a run's
-- rows by index (without them each deleted run scanned both tables: 42 s for a 10,000-run chunk at 100k rows).
CREATE INDEX IF NOT EXISTS reflexion_log_run ON reflexion_log (workflow_run_id);
CREATE INDEX IF NOT EXISTS proposed_actions_run ON proposed_actions (workflow_run_id);

-- Review queue: the open-orders list reads this partial index newest first (keyset pagination).
CREATE INDEX IF NOT EXISTS review_items_open ON review_items (created_at DESC, id DESC)
    WHERE status IN ('pending', 'needs_manual');
CREATE INDEX IF NOT EXISTS review_items_open_customer ON review_items (customer_id, created_at DESC, id DESC)
    WHERE status IN ('pending', 'needs_manual');
CREATE INDEX IF NOT EXISTS proposed_actions_kind ON proposed_actions (kind, status);
CREATE INDEX IF NOT EXISTS proposed_actions_review_item ON proposed_actions (review_item_id);

-- Reviewer sign-in: server-side sessions (sign-out really ends them) keyed by sha256 of the cookie's id.
CREATE TABLE IF NOT EXISTS review_sessions (
    id_hash     TEXT PRIMARY KEY,
    reviewer    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT,
    credential  TEXT  -- keyed digest of the reviewer's password hash at sign-in (auth.credential_of)
);
CREATE INDEX IF NOT EXISTS review_sessions_expiry ON review_sessions (expires_at);

-- Failed sign-ins, for the per-user and per-IP rate limit (kept in SQLite so a restart does not reset it).
CREATE TABLE IF NOT EXISTS login_attempts (
    id          INTEGER PRIMARY KEY,
    reviewer    TEXT NOT NULL,
    ip          TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_reviewer ON login_attempts (reviewer, at);
CREATE INDEX IF NOT EXISTS login_attempts_ip ON login_attempts (ip, at);

------------------------------------------------------------------------------------------------
-- AR aging and health.
------------------------------------------------------------------------------------------------
-- One row per completed warm run, so "the latest snapshot" exists even when it holds no invoice.
-- as_of is the company calendar date; a later tick of the same date refreshes that date's snapshot.
CREATE TABLE IF NOT EXISTS ar_aging_runs (
    as_of          TEXT PRIMARY KEY,
    computed_at    TEXT NOT NULL,
    invoice_count  INTEGER NOT NULL,
    scheduled_at   TEXT,
    transitions    INTEGER NOT NULL DEFAULT 0,
    closed         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS ar_aging_snapshot (
    as_of             TEXT NOT NULL,
    invoice_id        TEXT NOT NULL,
    customer_id       TEXT,
    tran_id           TEXT,
    due_date          TEXT,
    days_past_due     INTEGER NOT NULL,
    bucket            TEXT NOT NULL CHECK (bucket IN ('current', '1-30', '31-60', '61-90', '90+')),
    amount_remaining  REAL NOT NULL,
    -- the tick (ISO UTC) at which the invoice entered this bucket: part of ar.bucket_changed's dedupe key
    bucket_since      TEXT NOT NULL DEFAULT '',
    currency          TEXT,  -- the currency of amount_remaining (the invoice currency)
    amount_base       REAL,  -- amount_remaining in US dollars at the exchange_rate of the invoice (NULL: none)
    PRIMARY KEY (as_of, invoice_id)
) WITHOUT ROWID;  -- clustered by date then invoice: the warm tier reads and writes a date's rows in order
CREATE INDEX IF NOT EXISTS ar_aging_snapshot_customer ON ar_aging_snapshot (as_of, customer_id);

-- In US dollars: invoices in other currencies at their exchange rates, never added in at face value. One
-- without a rate is in no bucket's sum; `unconverted` counts them (ar_aging_snapshot still holds each).
DROP VIEW IF EXISTS v_customer_ar_aging;
CREATE VIEW v_customer_ar_aging AS
SELECT s.customer_id,
       s.as_of,
       round(total(CASE WHEN s.bucket = 'current' THEN s.amount_base END), 2) AS current,
       round(total(CASE WHEN s.bucket = '1-30'    THEN s.amount_base END), 2) AS b1_30,
       round(total(CASE WHEN s.bucket = '31-60'   THEN s.amount_base END), 2) AS b31_60,
       round(total(CASE WHEN s.bucket = '61-90'   THEN s.amount_base END), 2) AS b61_90,
       round(total(CASE WHEN s.bucket = '90+'     THEN s.amount_base END), 2) AS b90_plus,
       round(total(s.amount_base), 2) AS total_open,
       count(*) - count(s.amount_base) AS unconverted
FROM ar_aging_snapshot s
WHERE s.as_of = (SELECT max(as_of) FROM ar_aging_runs)
GROUP BY s.customer_id, s.as_of;

CREATE TABLE IF NOT EXISTS customer_health_scores (
    id            INTEGER PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    as_of         TEXT NOT NULL,
    score         REAL NOT NULL CHECK (score BETWEEN 0 AND 100),
    tier          TEXT NOT NULL CHECK (tier IN ('green', 'yellow', 'orange', 'red')),
    signals_json  TEXT NOT NULL,
    is_neutral    INTEGER NOT NULL DEFAULT 0,
    computed_at   TEXT NOT NULL,
    UNIQUE (customer_id, as_of)
);
-- The cold tier compares each night with the previous one: the customers scored on a date.
CREATE INDEX IF NOT EXISTS customer_health_scores_as_of ON customer_health_scores (as_of);

------------------------------------------------------------------------------------------------
-- Delivery bookkeeping: webhook receipts, dead letters, cron runs and leases.
------------------------------------------------------------------------------------------------
-- One row per CDC event_id ever applied or judged (the idempotency ledger).
-- Also `worker dev`'s demo load's own row (event_id 'demo-load', source 'demo'): outcome says how far the load got,
-- last_modified the moment its year ends (worker/demo.py).
CREATE TABLE IF NOT EXISTS webhook_receipts (
    event_id       TEXT PRIMARY KEY,
    record_type    TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    operation      TEXT NOT NULL,
    last_modified  TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT 'webhook',
    received_at    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS dead_letters (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    payload       BLOB NOT NULL,
    headers_json  TEXT,
    received_at   TEXT NOT NULL,
    replayed_at   TEXT,
    replay_result TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    digest        BLOB  -- worker.deadletters.letter_digest: finds an identical pending letter by index
);
CREATE INDEX IF NOT EXISTS dead_letters_pending ON dead_letters (source, replayed_at);
CREATE INDEX IF NOT EXISTS dead_letters_pending_digest ON dead_letters (digest) WHERE replayed_at IS NULL;

CREATE TABLE IF NOT EXISTS cron_runs (
    id            INTEGER PRIMARY KEY,
    tier          TEXT NOT NULL,
    cron          TEXT,
    scheduled_at  TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'skipped')),
    counts_json   TEXT,
    error         TEXT,
    holder        TEXT
);
CREATE INDEX IF NOT EXISTS cron_runs_tier ON cron_runs (tier, started_at DESC);

-- A tier never runs twice at once: the holder owns the tier until it releases or the lease expires.
CREATE TABLE IF NOT EXISTS cron_leases (
    tier          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    acquired_at   TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
