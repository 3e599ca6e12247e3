"""Cold-tier job: nightly health scores for every live customer, and tier-change events.

Signals are gathered with one GROUP BY query each (set-based, one consistent read transaction),
scored in Python by worker.health (pure), and written in one write transaction: a history row per
customer and night (UNIQUE(customer_id, as_of): a re-run the same night replaces it) plus one
`customer.health_tier_changed` event per customer whose tier differs from the previous night's
(or who is red on the first night scored), deduplicated per customer, night and tier reached.
The night's AR is the warm tier's aging snapshot; a night without one (pruned, or before the first warm tick)
is aged here with the warm tier's own query, so a re-run (--as-of) never scores it without what was owed.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from cron.aging import APPLIED_IN_MIRROR, CLEAR_NEW, CREATE_NEW, FILL_NEW, REFERENCE
from worker.aging import bucket_case_sql, bucket_for, company_date, terms_days
from worker.as_of import local_midnight
from worker.cdc.models import ORDER_CANCELLED
from worker.currency import is_base_currency
from worker.env import Env, iso
from worker.health import SignalInputs, UnknownRemainder, score
from worker.ledger import append_event
from worker.memo_checks import VOIDED
from worker.pricing import HALF_CENT

LIVE_CUSTOMERS = "SELECT ns_id FROM customers WHERE deleted_at IS NULL ORDER BY ns_id"
# The latest aging snapshot up to the night (the warm tier's: a cold tick may come before that night's warm one),
# used when it is of the night or the day before; an older one (the warm tier down for days) is not what was owed.
SNAPSHOT = "(SELECT max(as_of) FROM ar_aging_runs WHERE as_of <= :d)"
SNAPSHOT_AS_OF = f"SELECT {SNAPSHOT}"
# The night's aged open invoices ({aged} in the queries below): that snapshot's rows or, when there is none (pruned
# after [aging] snapshot_retention_days, none yet before the first warm tick, or only ones older than the day
# before the night because the warm tier did not run), the open invoices aged as of the
# night by the warm tier's own query (cron.aging.FILL_NEW: what the mirror shows was owed that day) into its temp
# table, so that a re-run of an old night (--as-of) weighs what was owed then instead of scoring it clean.
AGED_SNAPSHOT = f"""(SELECT customer_id, invoice_id, tran_id, due_date, days_past_due, bucket, amount_remaining,
    currency, amount_base FROM ar_aging_snapshot WHERE as_of = {SNAPSHOT})"""
AGED_ON_THE_NIGHT = """(SELECT customer_id, invoice_id, tran_id, due_date, days AS days_past_due, bucket,
    amount AS amount_remaining, currency, amount_base FROM temp.aging_new)"""
AGING = """
SELECT customer_id, bucket, sum(amount_base) FROM {aged}
WHERE amount_base IS NOT NULL
GROUP BY customer_id, bucket
"""
# In US dollars, like the aging view: an invoice in another currency without an exchange rate has no amount in
# them, so it is weighed at its worst with those of unknown remainder (no bound: at_most NULL).
UNCONVERTED = """
SELECT customer_id, coalesce(tran_id, invoice_id), amount_remaining, due_date, days_past_due, currency
FROM {aged} WHERE amount_base IS NULL
"""
# Open invoices whose remaining amount NetSuite did not send (not in the snapshot: cron/aging.py reports
# them), aged like the warm tier ages (cron.aging.REFERENCE), with the most each can still owe in US dollars,
# as AGING weighs: its total less what the mirror's live payments and credit memos applied
# (cron.aging.APPLIED_IN_MIRROR; both in the invoice's currency) at its exchange rate, or NULL when the invoice
# has no total or is in another currency without a rate (no bound: not 0, which would score it clean, nor
# its face value, which would weigh yen as dollars). Scored at their worst (worker.health.worst_ar_aging).
# One whose remainder went unknown after that snapshot was taken is in AGING at the amount the snapshot knew:
# it is left out here, so that each invoice counts once. (LATENESS counts the same invoices late so far.)
UNKNOWN_OPEN = """i.amount_remaining IS NULL AND i.deleted_at IS NULL AND coalesce(i.tran_date, :d) <= :d
  AND NOT EXISTS (SELECT 1 FROM {aged} s WHERE s.invoice_id = i.ns_id)"""
REMAINING_UNKNOWN = f"""
SELECT i.customer_id, coalesce(i.tran_id, i.ns_id), i.total, i.due_date,
       coalesce(CAST(julianday(:d) - julianday({{reference}}) AS INTEGER), 0),
       CASE WHEN i.total IS NOT NULL THEN round(max(0, round(i.total - {{applied}}, 2)) * i.exchange_rate, 2) END,
       i.currency
FROM customer_invoice i
WHERE {UNKNOWN_OPEN}
ORDER BY i.customer_id, 5 DESC, i.ns_id
"""
# What the customer paid on its invoices (not deleted) by payments dated in the 90 days up to the night (not
# deleted): the AR share is of open AR plus this, so paying an invoice moves it from open to paid and never raises
# the share. An application settles its amount plus the early-payment discount taken (disc), as NetSuite lowers
# the invoice's remainder by both (cron.aging.OWED_ON_AS_OF): else a discount taken would leave the share above
# what it was before paying. In US dollars at the invoice's exchange rate, as AGING (an application is in the
# invoice's currency, as in cron.aging.APPLIED_IN_MIRROR); one in another currency without a rate has none, is left
# out (counting less paid only makes the share worse) and is counted apart. Dated by the night, so an --as-of
# re-run agrees.
SETTLED = "(coalesce(pa.amount, 0) + coalesce(pa.disc, 0))"
PAID = f"""
SELECT i.customer_id, total(round(round({SETTLED}, 2) * i.exchange_rate, 2)),
       count(DISTINCT CASE WHEN i.exchange_rate IS NULL AND {SETTLED} > 0 THEN i.ns_id END)
FROM customer_payment p
JOIN payment_application pa ON pa.payment_id = p.ns_id
JOIN customer_invoice i ON i.ns_id = pa.invoice_id AND i.deleted_at IS NULL
WHERE p.deleted_at IS NULL AND p.tran_date > :d90 AND p.tran_date <= :d
GROUP BY i.customer_id
"""
# A voided memo (NetSuite's Voided, V or CustCred:V, as worker.memo_checks.VOIDED; or a total of 0, which is how a
# void zeroes it) credited nothing: no dispute and no credit memo.
CREDIT_STANDS = f"""m.deleted_at IS NULL AND abs(coalesce(m.total, 1)) >= {HALF_CENT}
  AND lower(replace(replace(coalesce(m.status, ''), ':', ''), ' ', '')) NOT IN ({", ".join(f"'{v}'" for v in sorted(VOIDED))})"""
# A dispute is a credit memo issued against an invoice; count the distinct invoices disputed.
DISPUTES = f"""
SELECT m.customer_id, count(DISTINCT coalesce(a.invoice_id, m.created_from))
FROM credit_memo m LEFT JOIN credit_memo_application a ON a.credit_memo_id = m.ns_id
WHERE {CREDIT_STANDS} AND m.tran_date > :d90 AND m.tran_date <= :d
  AND coalesce(a.invoice_id, m.created_from) IS NOT NULL
GROUP BY m.customer_id
"""
CREDIT_MEMOS = f"""
SELECT m.customer_id, count(*) FROM credit_memo m
WHERE {CREDIT_STANDS} AND m.tran_date > :d365 AND m.tran_date <= :d GROUP BY m.customer_id
"""
# Days late per applied live invoice, counted for the invoice's customer (a parent's consolidated payment pays its
# subcustomers' invoices: their lateness, not the parent's), from the payment's date (early counts as 0, so early payments cannot hide
# late ones): not from the apply line's applyDate, which NetSuite sets to the date of the invoice paid. And per
# invoice still unpaid past its due date as of the night (late so far, in the recent window): not paying
# at all must not look better than paying late. The due date is the warm tier's (cron.aging.REFERENCE on the
# due-date basis, whatever basis ages): one without a dueDate is due its date plus the payment terms. An
# unpaid one keeps the due date its snapshot row holds, as the night's aging does (the invoice is looked up
# only when that is NULL). An open invoice of unknown remainder (not aged: UNKNOWN_OPEN) is unpaid too, so it
# counts late so far from its own due date, else not paying it would score as punctual.
DUE = REFERENCE["due_date"]
LATENESS = f"""
SELECT customer_id, recent, avg(days_late) FROM (
    SELECT i.customer_id, p.tran_date > :d90 AS recent,
           max(0, julianday(p.tran_date) - julianday({DUE})) AS days_late
    FROM customer_payment p
    JOIN payment_application pa ON pa.payment_id = p.ns_id
    JOIN customer_invoice i ON i.ns_id = pa.invoice_id AND i.deleted_at IS NULL
    WHERE p.deleted_at IS NULL AND p.tran_date > :d180 AND p.tran_date <= :d
    UNION ALL
    SELECT customer_id, 1, julianday(:d) - julianday(due) FROM (
        SELECT s.customer_id,
               coalesce(date(s.due_date), (SELECT {DUE} FROM customer_invoice i WHERE i.ns_id = s.invoice_id)) AS due
        FROM {{aged}} s)
    WHERE due < :d
    UNION ALL
    SELECT i.customer_id, 1, julianday(:d) - julianday({DUE}) FROM customer_invoice i
    WHERE {UNKNOWN_OPEN} AND {DUE} < :d
)
GROUP BY customer_id, recent
"""
# A cancelled order (stored as Cancelled; rows mirrored before the letters were named may hold C or SalesOrd:C) is
# no order: counted, it hid a drop in ordering.
ORDERS = """
SELECT customer_id, sum(tran_date > :d90), sum(tran_date <= :d90) FROM transactions
WHERE type = 'salesorder' AND deleted_at IS NULL AND tran_date > :d360 AND tran_date <= :d
  AND NOT {cancelled}
GROUP BY customer_id
""".format(cancelled=ORDER_CANCELLED.format(status="status"))
# Churned = deleted or inactivated within the 90 days up to the night; contacts that left before the
# window do not count, and the night is reproducible (--as-of): a contact that left after it was still
# there, and one created after it (by its dateCreated, always ISO: the CDC stores SuiteQL's M/D/YYYY as its
# date) was not yet. An inactive contact left when it was inactivated (inactivated_at, kept by the CDC apply),
# not at its last_modified, which any later edit moves (last_modified only for a row written without it,
# outside the CDC). deleted_at and inactivated_at are UTC instants, so the window's bounds are too (:t90,
# :t_end: the company dates' local midnights); so is a dateCreated with a time (SQLite reads its Z or offset),
# while a bare date is a company date.
CONTACTS = """
SELECT customer_id,
       sum(NOT ((deleted_at IS NOT NULL AND deleted_at < :t90) OR (left_at IS NOT NULL AND left_at < :t90))),
       sum((deleted_at IS NOT NULL AND deleted_at >= :t90 AND deleted_at < :t_end) OR
           (left_at IS NOT NULL AND left_at >= :t90 AND left_at < :t_end))
FROM (SELECT *, CASE WHEN deleted_at IS NULL AND is_inactive = 1 THEN coalesce(inactivated_at, last_modified) END
                AS left_at FROM customer_contacts)
WHERE NOT coalesce(CASE WHEN length(date_created) > 10 THEN julianday(date_created) >= julianday(:t_end)
                        ELSE date_created GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date_created > :d END, 0)
GROUP BY customer_id
"""
# A record deleted in NetSuite is no history: a customer whose only invoice was deleted is still new (neutral).
# An invoice sent without a date is history on any night, as the aging counts it (FILL_NEW): else a customer
# owing only such an invoice, aged 90+, would score a neutral 70.
HISTORY = """
SELECT customer_id FROM customer_invoice WHERE coalesce(tran_date, :d) <= :d AND deleted_at IS NULL
UNION SELECT customer_id FROM transactions WHERE tran_date <= :d AND deleted_at IS NULL
UNION SELECT customer_id FROM customer_payment WHERE tran_date <= :d AND deleted_at IS NULL
"""
PREVIOUS_NIGHT = "SELECT max(as_of) FROM customer_health_scores WHERE as_of < ?"
TIERS_ON = "SELECT customer_id, tier FROM customer_health_scores WHERE as_of = ?"
UPSERT_SCORE = """
INSERT INTO customer_health_scores (customer_id, as_of, score, tier, signals_json, is_neutral, computed_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (customer_id, as_of) DO UPDATE SET score = excluded.score, tier = excluded.tier,
    signals_json = excluded.signals_json, is_neutral = excluded.is_neutral, computed_at = excluded.computed_at
"""


def windows(day: date, tz: tzinfo) -> dict[str, str]:
    """The as-of date and the window starts every query uses, as ISO dates; for timestamp columns, the
    contact window's start and end as UTC instants (`tz` is the company's zone, in which dates are read)."""
    back = {f"d{n}": (day - timedelta(days=n)).isoformat() for n in (1, 90, 180, 360, 365)}
    # The 90 company days after d90 through the night, as the date windows (> :d90 AND <= :d): from the start
    # of day-89 to the end of the night.
    instants = {"t90": iso(local_midnight(day - timedelta(days=89), tz)),
                "t_end": iso(local_midnight(day + timedelta(days=1), tz))}
    return {"d": day.isoformat(), **back, **instants}


def aged_source(conn: sqlite3.Connection, params: dict[str, Any], basis: str) -> tuple[str, str]:
    """The night's aged open invoices as a FROM source, and where they came from ("snapshot <date>" or "mirror"):
    without a snapshot of the night or the day before, they are aged here, as the warm tier would have that night
    (with gather's terms_days)."""
    snapshot = conn.execute(SNAPSHOT_AS_OF, params).fetchone()[0]
    if snapshot is not None and snapshot >= params["d1"]:
        return AGED_SNAPSHOT, f"snapshot {snapshot}"
    conn.execute(CREATE_NEW.format(bucket_case=bucket_case_sql("days")))  # a temp table: this read connection's
    conn.execute(CLEAR_NEW)
    conn.execute(FILL_NEW.format(reference=REFERENCE[basis]),
                 {"as_of": params["d"], "today": params["today"], "prev_as_of": None,
                  "standard_terms": params["standard_terms"]})
    return AGED_ON_THE_NIGHT, "mirror" if snapshot is None else f"mirror (latest snapshot {snapshot})"


def remaining_unknown(conn: sqlite3.Connection, params: dict[str, Any], basis: str,
                      aged: str) -> dict[str, tuple[UnknownRemainder, ...]]:
    """Each customer's open invoices of unknown remainder, or in another currency without an exchange rate, as
    of the night, most overdue first (`aged`: the night's aged invoices, from aged_source)."""
    conn.create_function("terms_days", 1, terms_days, deterministic=True)
    found: dict[str, list[tuple[int, UnknownRemainder]]] = defaultdict(list)
    sql = REMAINING_UNKNOWN.format(reference=REFERENCE[basis], applied=APPLIED_IN_MIRROR, aged=aged)
    for cid, number, total, due, days, at_most, currency in conn.execute(sql, params):
        found[cid].append((days, UnknownRemainder(number, bucket_for(days), at_most, total, due,
                                                  None if is_base_currency(currency) else currency)))
    for cid, number, owed, due, days, currency in conn.execute(UNCONVERTED.format(aged=aged), params):
        found[cid].append((days, UnknownRemainder(number, bucket_for(days), None, owed, due, currency)))
    return {cid: tuple(u for _, u in sorted(invoices, key=lambda pair: -pair[0])) for cid, invoices in found.items()}


def gather(conn: sqlite3.Connection, params: dict[str, Any], basis: str) -> tuple[dict[str, SignalInputs], str]:
    """Every live customer's signal inputs, read in one transaction, and where the night's aging came from."""
    conn.create_function("terms_days", 1, terms_days, deterministic=True)  # in cron.aging.REFERENCE
    aged, aged_from = aged_source(conn, params, basis)
    ar: dict[str, dict[str, float]] = defaultdict(dict)
    for cid, bucket, amount in conn.execute(AGING.format(aged=aged), params):
        ar[cid][bucket] = round(amount, 2)
    unknown = remaining_unknown(conn, params, basis, aged)
    paid = {cid: (round(amount, 2), unconverted) for cid, amount, unconverted in conn.execute(PAID, params)}
    disputes = dict(conn.execute(DISPUTES, params).fetchall())
    memos = dict(conn.execute(CREDIT_MEMOS, params).fetchall())
    late: dict[str, dict[int, float]] = defaultdict(dict)
    for cid, recent, avg_days in conn.execute(LATENESS.format(aged=aged), params):
        late[cid][recent] = round(avg_days, 2)
    orders = {cid: (recent, prior) for cid, recent, prior in conn.execute(ORDERS, params)}
    contacts = {cid: (total, churned) for cid, total, churned in conn.execute(CONTACTS, params)}
    history = {row[0] for row in conn.execute(HISTORY, params)}
    inputs = {}
    for (cid,) in conn.execute(LIVE_CUSTOMERS):
        recent, prior = orders.get(cid, (0, 0))
        total, churned = contacts.get(cid, (0, 0))
        paid_90d, paid_unconverted = paid.get(cid, (0.0, 0))
        inputs[cid] = SignalInputs(
            ar_by_bucket=ar.get(cid, {}), paid_90d=paid_90d, paid_unconverted=paid_unconverted,
            disputes_90d=disputes.get(cid, 0),
            late_days_recent=late.get(cid, {}).get(1), late_days_prior=late.get(cid, {}).get(0),
            orders_recent=recent, orders_prior=prior, credit_memos_12m=memos.get(cid, 0),
            contacts_total=total, contacts_churned=churned, has_history=cid in history,
            ar_remaining_unknown=unknown.get(cid, ()))
    return inputs, aged_from


def store(conn: sqlite3.Connection, day: str, rows: list[tuple[Any, ...]], now: str) -> dict[str, int]:
    """Write the night's scores and tier-change events in the caller's transaction."""
    previous_night = conn.execute(PREVIOUS_NIGHT, (day,)).fetchone()[0]
    before = dict(conn.execute(TIERS_ON, (previous_night,)).fetchall()) if previous_night else {}
    conn.executemany(UPSERT_SCORE, rows)
    changed = red = 0
    for cid, _, value, tier, _, neutral, _ in rows:
        was = before.get(cid)
        if (was is None and tier != "red") or was == tier or neutral:
            continue
        payload = {"customer_id": cid, "from": was, "to": tier, "score": value, "as_of": day}
        # Keyed by the tier reached too: a re-run of the night that lands on another tier (late CDC data)
        # is news, e.g. turning red, which starts a collection plan.
        if append_event(conn, "customer.health_tier_changed", "customer", cid, payload,
                        dedupe_key=f"customer.health_tier_changed:{cid}:{day}:{tier}", created_at=now):
            changed += 1
            red += tier == "red"
    return {"tier_changes": changed, "turned_red": red, "previous_night": previous_night or ""}


async def score_customers(env: Env, as_of: datetime) -> dict[str, object]:
    """Cold job: score every live customer as of the tick's company date."""
    tz = env.settings.timezone
    day = company_date(as_of, tz)
    # today: a night without an aging snapshot is aged from the mirror, adding back what was paid after it.
    params = {**windows(day, tz), "standard_terms": env.settings.programs["standard"].payment_terms_days,
              "today": company_date(env.clock(), tz).isoformat()}
    inputs, aged_from = await env.db.read_sync(gather, params, env.settings.aging.basis)
    weights = env.settings.health.weights
    now = iso(env.clock())
    rows, tiers = [], defaultdict(int)
    for cid, signal_inputs in inputs.items():
        result = score(signal_inputs, weights)
        tiers["neutral" if result.is_neutral else result.tier] += 1
        rows.append((cid, params["d"], result.score, result.tier,
                     json.dumps(result.signals, separators=(",", ":")), int(result.is_neutral), now))
    counts = await env.db.write(store, params["d"], rows, now)
    return {"as_of": params["d"], "scored": len(rows), "aging": aged_from, **dict(tiers), **counts}
