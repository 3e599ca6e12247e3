"""Warm-tier job: materialize AR aging as of the tick, emit one ar.bucket_changed per transition.

All of it is set-based SQL in ONE write transaction (a snapshot and its events exist together or
not at all): the open invoices are aged into a temp table joined to the previous state, transitions
become events with INSERT ... SELECT, the date's snapshot is upserted, closed invoices and expired
runs are deleted; expired snapshot rows go after it, a chunk per transaction (EXPIRE_CHUNK). The
snapshot is per company calendar date: a later tick of the same date refreshes that date's rows in place,
comparing against them first, so a re-run finds nothing moved. A past date (--as-of) ages what the mirror
shows was owed that day: invoices dated after it are left out, and what payments and credit memos dated after
it applied is added back.

Decisions (documented in the README): an invoice that is paid off or deleted simply leaves the
snapshot, with no event (the mirror already logged payment.applied); an invoice seen for the first
time is a baseline, not a transition, unless it is already 61+ days past due: then it gets one event
from null, since it may never move again (90+ is the last bucket) and a bucket >= 61 must start a
collection plan (SPEC 6). A tick older than the latest snapshot date is skipped, since the mirror no
longer holds that day's state, and the job fails saying so rather than report a tick it did not age. An
open invoice whose remaining amount the mirror does not know is not aged and not counted as closed: every
tick counts and names it in its result and log, and the ledger gets one ar.remaining_unknown per version.
In the same transaction, a staged collection plan that names an invoice no longer owed as named (closed, partly
paid, deleted, of unknown remainder), or whose service hold lost its reason (money arrived on account), gets one
ar.plan_stale (worker/stale_plans.py): the plan is redrawn or withdrawn in this tier's next job, since a closed
invoice, or a payment left unapplied, has no event of its own. Amounts stay in the
invoice's currency, each beside its US-dollar amount at the invoice's exchange rate (amount_base, which
v_customer_ar_aging sums); one in another currency without a rate has none, and each tick counts and names it.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from worker.aging import (
    ACTION_BUCKETS,
    DUE_DATE_SQL,
    bucket_case_sql,
    company_date,
    terms_days,
)
from worker.env import Env, iso
from worker.stale_plans import flag_stale_plans
from worker.tiers import JobDeclined
from worker.workflow_runner import drain

log = logging.getLogger("worker.cron")
LATEST_RUN = "SELECT max(as_of) FROM ar_aging_runs"
PREVIOUS_AS_OF = "SELECT max(as_of) FROM ar_aging_runs WHERE as_of <= ?"
# bucket is a stored generated column so the days expression is evaluated once per invoice.
CREATE_NEW = """
CREATE TEMP TABLE IF NOT EXISTS aging_new (
    invoice_id TEXT PRIMARY KEY, customer_id TEXT, tran_id TEXT, due_date TEXT, days INTEGER NOT NULL,
    bucket TEXT GENERATED ALWAYS AS ({bucket_case}) STORED,
    amount REAL NOT NULL, currency TEXT, rate REAL,
    amount_base REAL GENERATED ALWAYS AS (round(amount * rate, 2)) STORED,
    prev_bucket TEXT, prev_since TEXT, prev_customer TEXT, prev_tran TEXT, prev_due TEXT, prev_days INTEGER,
    prev_amount REAL, prev_currency TEXT, prev_base REAL
) WITHOUT ROWID
"""
CLEAR_NEW = "DELETE FROM temp.aging_new"
# Reference date per basis (the due date: worker.aging.DUE_DATE_SQL, which the collection plan reads too).
REFERENCE = {
    "due_date": DUE_DATE_SQL,
    "invoice_date": "coalesce(date(i.tran_date), date(i.due_date))",
}
# What invoice `i` owed at the end of a past day (--as-of): the mirror holds today's amount_remaining, so add
# back what live payments and credit memos dated after that day applied to it (an invoice paid in full since
# was open that day). A payment settles its amount plus the early-payment discount it took (disc): NetSuite
# lowers the remainder by both. A tick of today adds back nothing (the CASE skips the lookups): a payment NetSuite
# dates in the future but has already applied is paid today. Payments the mirror never saw cannot be added back.
OWED_ON_AS_OF = """(i.amount_remaining + CASE WHEN :as_of < :today THEN
    (SELECT coalesce(sum(coalesce(a.amount, 0) + coalesce(a.disc, 0)), 0) FROM payment_application a
     JOIN customer_payment c ON c.ns_id = a.payment_id AND c.deleted_at IS NULL AND c.tran_date > :as_of
     WHERE a.invoice_id = i.ns_id)
  + (SELECT coalesce(sum(a.amount), 0) FROM credit_memo_application a
     JOIN credit_memo c ON c.ns_id = a.credit_memo_id AND c.deleted_at IS NULL AND c.tran_date > :as_of
     WHERE a.invoice_id = i.ns_id) ELSE 0 END)"""
# Open = at least a cent owed (stored rounded to cents): a sub-cent remainder is paid, and must not become a
# $0.00 collection plan. An invoice dated after the as-of day did not exist yet (as in cron/health.py).
# NOT INDEXED: one sequential table scan beats walking the partial open-invoice index (customer order,
# one random row fetch per invoice) by about 3x at a million open invoices (bench/cron.py).
FILL_NEW = f"""
INSERT INTO temp.aging_new (invoice_id, customer_id, tran_id, due_date, days, amount, currency, rate, prev_bucket,
                            prev_since, prev_customer, prev_tran, prev_due, prev_days, prev_amount, prev_currency,
                            prev_base)
SELECT i.ns_id, i.customer_id, i.tran_id, i.due_date,
       coalesce(CAST(julianday(:as_of) - julianday({{reference}}) AS INTEGER), 0),
       round({OWED_ON_AS_OF}, 2), i.currency, i.exchange_rate, p.bucket, p.bucket_since,
       p.customer_id, p.tran_id, p.due_date, p.days_past_due, p.amount_remaining, p.currency, p.amount_base
FROM customer_invoice i NOT INDEXED
LEFT JOIN ar_aging_snapshot p ON p.as_of = :prev_as_of AND p.invoice_id = i.ns_id
WHERE round({OWED_ON_AS_OF}, 2) > 0 AND i.deleted_at IS NULL AND coalesce(i.tran_date, :as_of) <= :as_of
"""
# One event per stay left: the key names the invoice, the bucket it left, when it entered that bucket,
# and where it went (worker.aging.transition_key builds the same string). An invoice entering the snapshot
# already in an action bucket is an arrival, "from" null, keyed "new@<this tick>": a re-tick of the date
# finds it in the snapshot and stays quiet; earlier buckets stay a quiet baseline.
INSERT_EVENTS = """
INSERT OR IGNORE INTO events (type, entity_type, entity_id, payload_json, created_at, dedupe_key)
SELECT 'ar.bucket_changed', 'invoice', n.invoice_id,
       json_object('invoice_id', n.invoice_id, 'customer_id', n.customer_id, 'from', n.prev_bucket,
                   'to', n.bucket, 'as_of', :as_of, 'tran_id', n.tran_id, 'days_past_due', n.days,
                   'amount_remaining', n.amount, 'currency', n.currency, 'amount_base', n.amount_base,
                   'tick', :tick),
       :now,
       'ar.bucket_changed:' || n.invoice_id || ':' || coalesce(n.prev_bucket, 'new') || '@'
           || coalesce(n.prev_since, :tick) || '>' || n.bucket
FROM temp.aging_new n
WHERE CASE WHEN n.prev_bucket IS NULL THEN n.bucket IN ({action_buckets}) ELSE n.prev_bucket <> n.bucket END
ORDER BY n.customer_id, n.invoice_id
""".format(action_buckets=", ".join(f"'{b}'" for b in sorted(ACTION_BUCKETS)))
SNAPSHOT_COLUMNS = """
SELECT :as_of, n.invoice_id, n.customer_id, n.tran_id, n.due_date, n.days, n.bucket, n.amount,
       CASE WHEN n.prev_bucket = n.bucket THEN n.prev_since ELSE :tick END, n.currency, n.amount_base
FROM temp.aging_new n WHERE true
"""
INSERT_SNAPSHOT = """
INSERT INTO ar_aging_snapshot (as_of, invoice_id, customer_id, tran_id, due_date, days_past_due, bucket,
                               amount_remaining, bucket_since, currency, amount_base)
""" + SNAPSHOT_COLUMNS
# Same date again: the temp table already holds this date's stored values (prev_*), so only new or
# changed rows are written; an unchanged million-invoice ledger costs one scan and no B-tree writes.
UPSERT_SNAPSHOT = """
INSERT INTO ar_aging_snapshot (as_of, invoice_id, customer_id, tran_id, due_date, days_past_due, bucket,
                               amount_remaining, bucket_since, currency, amount_base)
""" + SNAPSHOT_COLUMNS + """
  AND (n.prev_bucket IS NULL OR n.prev_bucket IS NOT n.bucket OR n.prev_amount IS NOT n.amount
       OR n.prev_days IS NOT n.days OR n.prev_due IS NOT n.due_date OR n.prev_customer IS NOT n.customer_id
       OR n.prev_tran IS NOT n.tran_id OR n.prev_currency IS NOT n.currency OR n.prev_base IS NOT n.amount_base)
ON CONFLICT (as_of, invoice_id) DO UPDATE SET
    customer_id = excluded.customer_id, tran_id = excluded.tran_id, due_date = excluded.due_date,
    days_past_due = excluded.days_past_due, bucket = excluded.bucket,
    amount_remaining = excluded.amount_remaining, bucket_since = excluded.bucket_since,
    currency = excluded.currency, amount_base = excluded.amount_base
"""
# Not deleted, but NetSuite sent neither amountRemaining nor what derives it (worker.aging.invoice_remaining):
# the mirror holds NULL, so the invoice cannot be aged (an amount would be a guess) but must not vanish either.
# Each tick counts and names them; with the bucket and amount the previous snapshot last knew, and what the
# mirror's applications (live payments and credit memos) show applied, which only bounds what is left. One
# dated after the as-of day did not exist yet, as in FILL_NEW.
UNKNOWN_FROM = """
FROM customer_invoice i
LEFT JOIN ar_aging_snapshot p ON p.as_of = :prev_as_of AND p.invoice_id = i.ns_id
WHERE i.amount_remaining IS NULL AND i.deleted_at IS NULL AND coalesce(i.tran_date, :as_of) <= :as_of
"""
COUNT_UNKNOWN = "SELECT count(*), count(p.invoice_id)" + UNKNOWN_FROM
NAME_UNKNOWN = ("SELECT coalesce(i.tran_id, i.ns_id) || ' (id ' || i.ns_id || ')'" + UNKNOWN_FROM
                + "ORDER BY i.customer_id, i.ns_id LIMIT :limit")
# What the mirror's live payments (with the discounts they took) and credit memos applied to invoice `i`, an
# expression: it only bounds what is left (payments from before the mirror and journal entries are not in it).
APPLIED_IN_MIRROR = """(
    (SELECT coalesce(sum(coalesce(a.amount, 0) + coalesce(a.disc, 0)), 0) FROM payment_application a
     JOIN customer_payment c ON c.ns_id = a.payment_id AND c.deleted_at IS NULL WHERE a.invoice_id = i.ns_id)
  + (SELECT coalesce(sum(a.amount), 0) FROM credit_memo_application a
     JOIN credit_memo c ON c.ns_id = a.credit_memo_id AND c.deleted_at IS NULL WHERE a.invoice_id = i.ns_id))"""
# One ar.remaining_unknown per invoice and mirrored version: a re-tick adds nothing, a new CDC event that
# still leaves it unknown is a new one. Its amounts are in the invoice's currency, named with its rate to US
# dollars (NULL: another currency without one).
INSERT_UNKNOWN_EVENTS = """
INSERT OR IGNORE INTO events (type, entity_type, entity_id, payload_json, created_at, dedupe_key)
SELECT 'ar.remaining_unknown', 'invoice', i.ns_id,
       json_object('invoice_id', i.ns_id, 'customer_id', i.customer_id, 'tran_id', i.tran_id, 'status', i.status,
                   'total', i.total, 'currency', i.currency, 'exchange_rate', i.exchange_rate,
                   'last_bucket', p.bucket, 'last_amount_remaining', p.amount_remaining,
                   'applied_in_mirror', round(""" + APPLIED_IN_MIRROR + """, 2),
                   'as_of', :as_of, 'tick', :tick),
       :now, 'ar.remaining_unknown:' || i.ns_id || ':' || coalesce(i.cdc_data_version, i.last_modified)
""" + UNKNOWN_FROM + "ORDER BY i.customer_id, i.ns_id"
NAMED_UNKNOWN = 20  # invoices named in the job's result and log; the count covers the rest
# Aged in another currency without an exchange rate: in the snapshot at their own amount, in no US-dollar sum.
UNCONVERTED = "SELECT count(*) FROM temp.aging_new WHERE amount_base IS NULL"
NAME_UNCONVERTED = """
SELECT coalesce(tran_id, invoice_id) || ' (id ' || invoice_id || ', ' || coalesce(currency, 'no currency') || ')'
FROM temp.aging_new WHERE amount_base IS NULL ORDER BY customer_id, invoice_id LIMIT :limit
"""
# Paid off, deleted or voided since the last tick of this date: they leave the snapshot quietly.
DELETE_CLOSED = """
DELETE FROM ar_aging_snapshot
WHERE as_of = :as_of AND invoice_id NOT IN (SELECT invoice_id FROM temp.aging_new)
"""
# Closed since the previous snapshot = its row count minus the invoices still open in it: arithmetic
# instead of a million-row anti-join; the DELETE above then only runs when something did close.
PREVIOUS_COUNT = "SELECT invoice_count FROM ar_aging_runs WHERE as_of = ?"
STILL_OPEN = "SELECT count(*) FROM temp.aging_new WHERE prev_bucket IS NOT NULL"
RECORD_RUN = """
INSERT INTO ar_aging_runs (as_of, computed_at, invoice_count, scheduled_at, transitions, closed)
VALUES (:as_of, :now, :invoices, :tick, :transitions, :closed)
ON CONFLICT (as_of) DO UPDATE SET computed_at = excluded.computed_at, invoice_count = excluded.invoice_count,
    scheduled_at = excluded.scheduled_at, transitions = ar_aging_runs.transitions + excluded.transitions,
    closed = ar_aging_runs.closed + excluded.closed
"""
# Expiry: the runs (one row a date) go in the tick's transaction, and the snapshot rows after it, the oldest
# EXPIRE_CHUNK at a time, each chunk its own transaction: one DELETE of every expired row (a lowered retention on
# a big book) held the only writer for seconds, and webhooks waited. Every reader finds a snapshot's date in
# ar_aging_runs, so rows left by a crash between chunks are unreachable, and the next tick deletes them.
EXPIRE_RUNS = "DELETE FROM ar_aging_runs WHERE as_of < :cutoff"
EXPIRE_SNAPSHOTS = """
DELETE FROM ar_aging_snapshot WHERE (as_of, invoice_id) IN (
    SELECT as_of, invoice_id FROM ar_aging_snapshot WHERE as_of < :cutoff ORDER BY as_of, invoice_id LIMIT :limit)
"""
EXPIRE_CHUNK = 10_000  # snapshot rows per transaction: at most 16 ms each on 1.18M expired rows (0.86 s as one)


class SkippedTick(JobDeclined):
    """The tick's date is older than the latest snapshot: nothing was aged."""


def newer_snapshot(conn: sqlite3.Connection, as_of: str) -> str | None:
    """The latest snapshot's date when it is after the company date `as_of` (a tick of that day ages nothing)."""
    latest = conn.execute(LATEST_RUN).fetchone()[0]
    return latest if latest is not None and as_of < latest else None


def expiry_cutoff(as_of: str, retention_days: int) -> str:
    """The first company date kept: snapshots dated before it have expired."""
    return (datetime.fromisoformat(as_of) - timedelta(days=retention_days)).date().isoformat()


def materialize(conn: sqlite3.Connection, as_of: str, tick: str, now: str, basis: str, standard_terms: int,
                cutoff: str, today: str) -> dict[str, object]:
    """Age every invoice open on a company date, in the caller's transaction, and drop the runs dated before
    `cutoff`; returns counts (`today`: the company date now, after which a past as-of date's later payments are
    added back)."""
    if latest := newer_snapshot(conn, as_of):
        return {"skipped": f"as_of {as_of} is older than the latest snapshot {latest}"}
    prev_as_of = conn.execute(PREVIOUS_AS_OF, (as_of,)).fetchone()[0]
    conn.create_function("terms_days", 1, terms_days, deterministic=True)
    conn.execute(CREATE_NEW.format(bucket_case=bucket_case_sql("days")))
    conn.execute(CLEAR_NEW)
    fill = FILL_NEW.format(reference=REFERENCE[basis])
    invoices = conn.execute(fill, {"as_of": as_of, "today": today, "prev_as_of": prev_as_of,
                                   "standard_terms": standard_terms}).rowcount
    moved = conn.execute(INSERT_EVENTS, {"as_of": as_of, "tick": tick, "now": now}).rowcount
    unknown = _remaining_unknown(conn, as_of, prev_as_of, tick, now)
    unconverted = conn.execute(UNCONVERTED).fetchone()[0]
    unconverted_named = [row[0] for row in conn.execute(NAME_UNCONVERTED, {"limit": NAMED_UNKNOWN})] if unconverted else []
    previous = conn.execute(PREVIOUS_COUNT, (prev_as_of,)).fetchone() if prev_as_of else None
    left = (previous[0] - conn.execute(STILL_OPEN).fetchone()[0]) if previous else 0
    closed = left - unknown["left"]  # an invoice whose remainder became unknown has not been paid
    if prev_as_of == as_of:  # a later tick of the same date: update in place, drop what left
        if left:
            conn.execute(DELETE_CLOSED, {"as_of": as_of})
        written = conn.execute(UPSERT_SNAPSHOT, {"as_of": as_of, "tick": tick}).rowcount
    else:  # a new date starts empty: plain appends in key order
        written = conn.execute(INSERT_SNAPSHOT, {"as_of": as_of, "tick": tick}).rowcount
    conn.execute(EXPIRE_RUNS, {"cutoff": cutoff})
    conn.execute(RECORD_RUN, {"as_of": as_of, "now": now, "invoices": invoices, "tick": tick,
                              "transitions": moved, "closed": closed})
    conn.execute(CLEAR_NEW)
    stale = flag_stale_plans(conn, as_of, tick, now, standard_terms=standard_terms)  # as the flow drew the plans
    # expired_rows: the snapshot rows refresh_aging expires after this transaction, a chunk at a time
    return {"as_of": as_of, "open_invoices": invoices, "transitions": moved, "closed": closed,
            "rows_written": written, "expired_rows": 0, "remaining_unknown": unknown["count"],
            "remaining_unknown_invoices": unknown["named"], "unconverted": unconverted,
            "unconverted_invoices": unconverted_named, "stale_plans": stale}


def expire_snapshot_chunk(conn: sqlite3.Connection, cutoff: str, limit: int) -> int:
    """Delete up to `limit` of the oldest snapshot rows dated before cutoff; returns how many."""
    return conn.execute(EXPIRE_SNAPSHOTS, {"cutoff": cutoff, "limit": limit}).rowcount


async def _expire_snapshots(env: Env, cutoff: str) -> int:
    expired = 0
    while True:
        limit = EXPIRE_CHUNK  # read per chunk, so a test can make it small
        deleted = await env.db.write(expire_snapshot_chunk, cutoff, limit)
        expired += deleted
        if deleted < limit:  # a short chunk was the last: no empty transaction to find out
            return expired


def _remaining_unknown(conn: sqlite3.Connection, as_of: str, prev_as_of: str | None, tick: str,
                       now: str) -> dict[str, Any]:
    """Count and name the open invoices of unknown remainder, and append their ar.remaining_unknown events."""
    params = {"prev_as_of": prev_as_of, "as_of": as_of}
    count, left = conn.execute(COUNT_UNKNOWN, params).fetchone()
    if not count:
        return {"count": 0, "left": 0, "named": []}
    named = [row[0] for row in conn.execute(NAME_UNKNOWN, {**params, "limit": NAMED_UNKNOWN})]
    conn.execute(INSERT_UNKNOWN_EVENTS, {**params, "tick": tick, "now": now})
    return {"count": count, "left": left, "named": named}


def _temp_in_memory(conn: sqlite3.Connection) -> None:
    # The per-tick temp table is probed a million times; on disk that anti-join alone took 2.4 s, in
    # memory 0.6 s (bench/cron.py). Set outside a transaction, and only once: changing it drops temp tables.
    if conn.execute("PRAGMA temp_store").fetchone()[0] != 2:
        conn.execute("PRAGMA temp_store = MEMORY")


async def refresh_aging(env: Env, as_of: datetime) -> dict[str, object]:
    """Warm job: the aging snapshot and bucket transitions as of the tick's company date."""
    settings = env.settings
    day = company_date(as_of, settings.timezone).isoformat()
    cutoff = expiry_cutoff(day, settings.aging.snapshot_retention_days)
    await env.db.write_unlocked(_temp_in_memory)
    counts = await env.db.write(
        materialize, day, iso(as_of), iso(env.clock()), settings.aging.basis,
        settings.programs["standard"].payment_terms_days, cutoff,
        company_date(env.clock(), settings.timezone).isoformat(),
    )
    # Raised, not returned: the tier records a job's counts as "ok", and a tick that aged nothing must not
    # read as a fresh snapshot (e.g. every real tick after a snapshot dated in the future).
    if "skipped" in counts:
        raise SkippedTick(f"skipped: {counts['skipped']}")
    counts["expired_rows"] = await _expire_snapshots(env, cutoff)
    if counts["remaining_unknown"]:
        log.warning("open invoices without a known amount remaining are not aged; check them in NetSuite",
                    extra={"as_of": day, "remaining_unknown": counts["remaining_unknown"],
                           "invoices": counts["remaining_unknown_invoices"]})
    if counts["unconverted"]:
        log.warning("open invoices in another currency without an exchange rate are in no US-dollar total; "
                    "check them in NetSuite", extra={"as_of": day, "unconverted": counts["unconverted"],
                                                    "invoices": counts["unconverted_invoices"]})
    return counts


async def action_plans(env: Env, as_of: datetime) -> dict[str, int]:
    """Run ar_aging_action_plan on the events this tier just appended (the hot tier would, a minute later).

    Those are bucket moves to 61+ and stale plans (ar.plan_stale), so a plan naming an invoice paid since it was
    drafted (or holding service on a reason money on account took away) is redrawn or withdrawn in the same warm
    run that saw the invoice close.
    """
    # Imported late: the workflow pulls in drafting and the anthropic client, which only this job needs.
    from worker.flows.ar_aging_action_plan import WORKFLOW

    # Under the workflow's lease, and with this tick: if the hot tier is draining it right now, or already tried
    # a failing event this tick, this job leaves the event to it instead of deciding it a second time.
    return await drain(env, [WORKFLOW], tick=as_of)
