"""Housekeeping jobs: stale leases and abandoned runs (hot); retention of receipts, cron and workflow runs and
health scores, and database maintenance (cold)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from worker.aging import company_date
from worker.cdc.mirror import MIRRORS
from worker.env import Env, iso

EXPIRE_LEASES = "DELETE FROM cron_leases WHERE expires_at <= ?"
# A run still 'running' with no live lease was abandoned by a crashed process.
ABANDON_RUNS = """
UPDATE cron_runs SET status = 'failed', finished_at = :now, error = 'abandoned: the process died mid-run'
WHERE status = 'running' AND NOT EXISTS (
    SELECT 1 FROM cron_leases l WHERE l.tier = cron_runs.tier AND l.holder = cron_runs.holder)
"""


def _expire(conn: sqlite3.Connection, now: str) -> dict[str, int]:
    leases = conn.execute(EXPIRE_LEASES, (now,)).rowcount
    runs = conn.execute(ABANDON_RUNS, {"now": now}).rowcount
    return {"leases_expired": leases, "runs_abandoned": runs}


async def expire_stale_leases(env: Env, as_of: datetime) -> dict[str, int]:
    """Drop expired leases and mark the runs that held them as abandoned."""
    return await env.db.write(_expire, iso(env.clock()))


# Receipts and runs are appended in time order, so the oldest are the lowest ids: a prune reads from the start
# and stops at the first young row instead of scanning the table (received_at / started_at have no index).
# Nearly in order is enough: a young row among old ones only makes those behind it wait, never go early.
OLDEST_RECEIPTS = "SELECT rowid, received_at FROM webhook_receipts ORDER BY rowid LIMIT ?"
DELETE_RECEIPTS_THROUGH = "DELETE FROM webhook_receipts WHERE rowid <= ?"
OLDEST_RUNS = "SELECT id, started_at FROM cron_runs ORDER BY id LIMIT ?"
DELETE_RUNS_THROUGH = "DELETE FROM cron_runs WHERE id <= ?"
# Workflow runs are nearly in order too: a retry keeps its row's id and restamps started_at, and two workflows
# drained at once commit a batch apart. Their observations and proposals outlive them (SPEC 8: the reflexion log
# is what is curated and reused), so the foreign keys to a run about to go are cleared first.
# A run that waited for a sublist stays whatever its age while its order or memo still waits (cdc_lines_version /
# cdc_apply_version '', not deleted), or while an event on it is still ahead of its workflow's cursor (the one
# that brought the sublist, or the deletion, not yet handled): worker/flows/order_lines.py and memo_apply.py read
# its output then, and without it the order would never be reviewed nor the memo redrafted. But once a run of
# the workflow on the same order or memo did the work (ok, its output not waiting), the wait is over and the run
# that waited is pruned like any other: kept beside it, it would outlive the run that did the work (pruned as
# old), and WAITED, which reads 1 when every run left waited, would have the next update review the order again
# (a year after its review) or redraft the memo. Pruned with or before it (lower id, started no later), WAITED
# reads 0 or nothing, and the order is reviewed once. Only runs whose output says they waited are looked up
# (primary keys, events by type and id, the workflow's runs on the order by index workflow_run_log_order; on the
# memo, only while an event on it is unhandled), so the scan stays one pass over the oldest rows; it skips kept
# rows, so they never stop the prune of old rows after them.
_NOT_HANDLED = """EXISTS (SELECT 1 FROM events e WHERE e.type IN ({types}) AND e.id > coalesce(
        (SELECT c.last_event_id FROM event_cursors c WHERE c.consumer = workflow_run_log.workflow), 0)
        AND e.entity_id = json_extract(output_json, '$.{key}'))"""
_STILL_WAITING = """EXISTS (SELECT 1 FROM {table} t WHERE t.ns_id = json_extract(output_json, '$.{key}')
        AND t.{version} = '' AND t.deleted_at IS NULL)"""
_CONCLUDED = """EXISTS (SELECT 1 FROM workflow_run_log d WHERE d.workflow = workflow_run_log.workflow
        AND json_extract(d.output_json, '$.{key}') = json_extract(workflow_run_log.output_json, '$.{key}')
        AND d.status = 'ok' AND NOT coalesce(json_extract(d.output_json, '$.{flag}'), 0))"""
_WAITED = [  # (output flag, output id key, mirror table, sublist version column, the entity's event types)
    ("lines_pending", "sales_order_id", "transactions", "cdc_lines_version",
     tuple(MIRRORS["salesorder"].ledger.values())),
    ("apply_pending", "credit_memo_id", "credit_memo", "cdc_apply_version",
     tuple(MIRRORS["creditmemo"].ledger.values())),
]
WAITING_RUN = "CASE {} ELSE 0 END".format(" ".join(
    f"WHEN json_extract(output_json, '$.{flag}') THEN "
    + _STILL_WAITING.format(table=table, key=key, version=version) + " OR ("
    + _NOT_HANDLED.format(types=", ".join(f"'{t}'" for t in types), key=key)
    + " AND NOT " + _CONCLUDED.format(key=key, flag=flag) + ")"
    for flag, key, table, version, types in _WAITED))
# A memo's state that the dispute flow reads from the run log (not a wait): kept, whatever its age, while the memo
# is in the mirror and not deleted (a deleted memo's events only withdraw). Per workflow and memo, each of these
# runs (status ok) stays; every other run on the memo goes as old:
#   - for each value of a "said once" marker in _SAID_ONCE, the newest run carrying it: invoice_dispute.RETRACTED
#     (retracted: voided, moved:<customer>) and memo_apply.RETOTALLED (retotalled: the total named) ask whether
#     any run carried that value; without it a later edit names the change again and redrafts untouched drafts;
#   - the newest run on the memo (its latest word), when it says awaiting_customer (invoice_dispute.AWAITING
#     reads the newest run: without it the memo given a customer is never drafted) or when the memo keeps a run
#     for a marker: AWAITING must not read a kept older run instead (a move that left the memo without a
#     customer says both retracted and awaiting_customer), nor memo_apply.WAITED one that waited alone.
# A new marker a flow reads from the run log goes in _SAID_ONCE (read as "has any run said it") or needs a rule
# here. Looked up by primary key and index workflow_run_log_memo, only for old runs that name a memo.
_SAID_ONCE = ("retracted", "retotalled")
# The workflow's ok runs on the same record as this run (by its id key), and whether that record is in the mirror.
_ON_RECORD = """SELECT 1 FROM workflow_run_log d WHERE d.workflow = workflow_run_log.workflow
        AND json_extract(d.output_json, '$.{key}')
            = json_extract(workflow_run_log.output_json, '$.{key}') AND d.status = 'ok'"""
_HELD = """EXISTS (SELECT 1 FROM {table} r WHERE r.ns_id = json_extract(output_json, '$.{key}')
        AND r.deleted_at IS NULL)"""
_ON_MEMO = _ON_RECORD.format(key="credit_memo_id")
_MEMO_HELD = _HELD.format(table="credit_memo", key="credit_memo_id")
_NEWEST_SAYING = [f"(json_extract(output_json, '$.{key}') IS NOT NULL AND NOT EXISTS ({_ON_MEMO} "
                  f"AND d.id > workflow_run_log.id AND json_extract(d.output_json, '$.{key}') = "
                  f"json_extract(workflow_run_log.output_json, '$.{key}')))" for key in _SAID_ONCE]
_ANY_SAID = " OR ".join(f"json_extract(d.output_json, '$.{key}') IS NOT NULL" for key in _SAID_ONCE)
_LATEST_WORD = (f"(NOT EXISTS ({_ON_MEMO} AND d.id > workflow_run_log.id) AND (coalesce(json_extract(output_json, "
                f"'$.awaiting_customer'), 0) OR EXISTS ({_ON_MEMO} AND ({_ANY_SAID}))))")
MEMO_STATE_RUN = (f"CASE WHEN status = 'ok' AND {_MEMO_HELD} THEN "
                  + " OR ".join([*_NEWEST_SAYING, _LATEST_WORD]) + " ELSE 0 END")
# An order's state the order workflows read from the run log, kept likewise while the order is in the mirror and not
# deleted: quote_review.FIRST_REVIEW (the first review's key and currency: a re-review keys a draft by it, so prices
# a person decided at the first review are not proposed again when they come back) while a later review of the
# order is kept (pruned after the last one, as a year-old order is reviewed no more), and the newest run saying
# `cancelled` (order_lines.NEWLY_CANCELLED asks whether any run said so: without it the next update of a long
# cancelled order reported the cancellation again, dated that update). Looked up by index workflow_run_log_order.
_ON_ORDER = _ON_RECORD.format(key="sales_order_id")
_ORDER_HELD = _HELD.format(table="transactions", key="sales_order_id")
_A_REVIEW = "json_extract(d.output_json, '$.lines_checked') IS NOT NULL"
_FIRST_REVIEW_KEPT = (f"(json_extract(output_json, '$.lines_checked') IS NOT NULL"
                      f" AND NOT EXISTS ({_ON_ORDER} AND d.id < workflow_run_log.id AND {_A_REVIEW})"
                      f" AND EXISTS ({_ON_ORDER} AND d.id > workflow_run_log.id AND {_A_REVIEW}))")
_NEWEST_CANCELLED = (f"(coalesce(json_extract(output_json, '$.cancelled'), 0)"
                     f" AND NOT EXISTS ({_ON_ORDER} AND d.id > workflow_run_log.id"
                     f" AND json_extract(d.output_json, '$.cancelled')))")
ORDER_STATE_RUN = (f"CASE WHEN status = 'ok' AND json_extract(output_json, '$.sales_order_id') IS NOT NULL"
                   f" AND {_ORDER_HELD} THEN {_FIRST_REVIEW_KEPT} OR {_NEWEST_CANCELLED} ELSE 0 END")
KEPT_RUN = f"({WAITING_RUN}) OR ({MEMO_STATE_RUN}) OR ({ORDER_STATE_RUN})"
OLDEST_WORKFLOW_RUNS = f"SELECT id, started_at FROM workflow_run_log WHERE NOT ({KEPT_RUN}) ORDER BY id LIMIT ?"
# The chosen runs, one JSON array of ids: KEPT_RUN is judged once, by the scan above.
CHOSEN = "(SELECT value FROM json_each(?))"
DETACH_WORKFLOW_RUNS = (
    f"UPDATE reflexion_log SET workflow_run_id = NULL WHERE workflow_run_id IN {CHOSEN}",
    f"UPDATE proposed_actions SET workflow_run_id = NULL WHERE workflow_run_id IN {CHOSEN}",
)
DELETE_WORKFLOW_RUNS = f"DELETE FROM workflow_run_log WHERE id IN {CHOSEN}"
# Health scores are not in as_of order by id (a night re-scored with --as-of is appended late), so they are
# found by their as_of index. A customer's newest SCORES_KEPT rows stay whatever their age: the customer 360
# shows that many as its trend (handlers/customers.py TREND), the collection plan reads the newest, and the
# nightly tier comparison the previous night's. Only customers no longer scored (deleted) keep old rows.
SCORES_KEPT = 12
DELETE_OLD_SCORES = """
DELETE FROM customer_health_scores WHERE id IN (
    SELECT h.id FROM customer_health_scores h
    WHERE h.as_of < :cutoff AND h.as_of < (
        SELECT n.as_of FROM customer_health_scores n WHERE n.customer_id = h.customer_id
        ORDER BY n.as_of DESC LIMIT 1 OFFSET :keep - 1)
    ORDER BY h.as_of LIMIT :limit)
"""
PRUNE_CHUNK = 10_000  # rows per transaction: the writer is never held for long


def _old_ids(conn: sqlite3.Connection, oldest: str, cutoff: str, limit: int) -> list[int]:
    """The ids of the oldest rows up to the first one stamped at or after cutoff."""
    ids = []
    for rowid, stamped_at in conn.execute(oldest, (limit,)):
        if stamped_at >= cutoff:
            break
        ids.append(rowid)
    return ids


def _delete_oldest(conn: sqlite3.Connection, oldest: str, delete_through: str, cutoff: str, limit: int) -> int:
    ids = _old_ids(conn, oldest, cutoff, limit)
    return conn.execute(delete_through, (ids[-1],)).rowcount if ids else 0


def prune_receipts_before(conn: sqlite3.Connection, cutoff: str, limit: int = PRUNE_CHUNK) -> int:
    """Delete up to `limit` of the oldest receipts received before cutoff; returns how many."""
    return _delete_oldest(conn, OLDEST_RECEIPTS, DELETE_RECEIPTS_THROUGH, cutoff, limit)


def prune_runs_before(conn: sqlite3.Connection, cutoff: str, limit: int = PRUNE_CHUNK) -> int:
    """Delete up to `limit` of the oldest cron_runs rows started before cutoff; returns how many."""
    return _delete_oldest(conn, OLDEST_RUNS, DELETE_RUNS_THROUGH, cutoff, limit)


def prune_workflow_runs_before(conn: sqlite3.Connection, cutoff: str, limit: int = PRUNE_CHUNK) -> int:
    """Delete up to `limit` of the oldest workflow_run_log rows started before cutoff; returns how many.

    The observations and proposed actions they wrote are kept, with workflow_run_id cleared. Runs an order or
    memo still waits on, and those holding a memo's state the dispute flow reads, are kept (KEPT_RUN).
    """
    ids = _old_ids(conn, OLDEST_WORKFLOW_RUNS, cutoff, limit)
    if not ids:
        return 0
    chosen = (json.dumps(ids),)
    for detach in DETACH_WORKFLOW_RUNS:
        conn.execute(detach, chosen)
    return conn.execute(DELETE_WORKFLOW_RUNS, chosen).rowcount


def prune_health_scores_before(conn: sqlite3.Connection, cutoff: str, limit: int = PRUNE_CHUNK) -> int:
    """Delete up to `limit` health scores dated before cutoff, but never a customer's newest SCORES_KEPT."""
    return conn.execute(DELETE_OLD_SCORES, {"cutoff": cutoff, "keep": SCORES_KEPT, "limit": limit}).rowcount


async def _prune(env: Env, chunk: Callable[[sqlite3.Connection, str], int], cutoff: str) -> int:
    pruned = 0
    while deleted := await env.db.write(chunk, cutoff):
        pruned += deleted
    return pruned


async def prune_receipts(env: Env, as_of: datetime) -> dict[str, int]:
    """Drop webhook receipts older than [retention] webhook_receipts_days, a chunk per transaction.

    Safe for idempotency: an event redelivered after its receipt is gone carries a version the mirror
    already holds, so the version guard answers it as stale and writes nothing but a new receipt.
    """
    cutoff = iso(as_of - timedelta(days=env.settings.retention.webhook_receipts_days))
    return {"receipts_pruned": await _prune(env, prune_receipts_before, cutoff)}


async def prune_cron_runs(env: Env, as_of: datetime) -> dict[str, int]:
    """Drop cron_runs rows older than [retention] cron_runs_days (the hot tier alone records 1,440 a day)."""
    cutoff = iso(as_of - timedelta(days=env.settings.retention.cron_runs_days))
    return {"cron_runs_pruned": await _prune(env, prune_runs_before, cutoff)}


async def prune_workflow_runs(env: Env, as_of: datetime) -> dict[str, int]:
    """Drop workflow_run_log rows older than [retention] workflow_run_log_days; their observations stay."""
    cutoff = iso(as_of - timedelta(days=env.settings.retention.workflow_run_log_days))
    return {"workflow_runs_pruned": await _prune(env, prune_workflow_runs_before, cutoff)}


async def prune_health_scores(env: Env, as_of: datetime) -> dict[str, int]:
    """Drop health scores dated over [retention] customer_health_scores_days before the company date."""
    day = company_date(as_of, env.settings.timezone)
    cutoff = (day - timedelta(days=env.settings.retention.customer_health_scores_days)).isoformat()
    return {"health_scores_pruned": await _prune(env, prune_health_scores_before, cutoff)}


# How long the truncating checkpoint waits for a writer or a reader to finish. While it waits it holds the write
# thread, and the write lock from other processes, so with the connection's own busy_timeout (30 s) one read left
# open in another process stopped every write for that long, and it failed anyway. Given up, it does what it can
# without waiting (as PASSIVE) and says busy = 1; the next night tries again.
CHECKPOINT_BUSY_MS = 500
CHECKPOINT = "PRAGMA wal_checkpoint(TRUNCATE)"


def _maintain(conn: sqlite3.Connection) -> dict[str, int]:
    conn.execute("PRAGMA optimize")
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
    try:
        busy, log_frames, checkpointed = conn.execute(CHECKPOINT).fetchone()
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    return {"wal_frames": log_frames, "checkpointed": checkpointed, "busy": busy}


async def database_maintenance(env: Env, as_of: datetime) -> dict[str, int]:
    """PRAGMA optimize and a truncating WAL checkpoint that waits at most CHECKPOINT_BUSY_MS for other
    connections, outside any transaction; busy = 1 when it could not truncate (a read still open elsewhere)."""
    return await env.db.write_unlocked(_maintain)
