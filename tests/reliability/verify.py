"""Invariants checked on disk after crashes and faults: promises kept, nothing half-applied, nothing lost.

Each verifier reads the server's SQLite file (and the bucket / spool) directly and returns a list of
violations (empty = every promise kept) plus counts, so a failing test prints every broken promise at once.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.reliability.support import object_exists
from tests.reliability.traffic import Ledger
from worker.cdc.mirror import MIRRORS

LINES = {"salesorder": ("transactions", "transaction_lines", "transaction_id"),
         "invoice": ("customer_invoice", "customer_invoice_lines", "invoice_id")}


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def integrity(conn: sqlite3.Connection) -> list[str]:
    """SQLite's own integrity and foreign-key checks."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    problems += [f"foreign key violation: {tuple(row)}" for row in conn.execute("PRAGMA foreign_key_check")]
    return problems


def webhook_violations(conn: sqlite3.Connection, ledger: Ledger) -> tuple[list[str], dict[str, int]]:
    """Every acked event has a receipt and a mirror row at least as new; every batch is all-or-nothing."""
    receipts = {row[0] for row in conn.execute("SELECT event_id FROM webhook_receipts")}
    problems: list[str] = []
    counts = {"acked_events": 0, "unknown_batches_applied": 0, "unknown_batches_absent": 0}
    for seq, (events, outcome) in sorted(ledger.batches.items()):
        present = [e["event_id"] in receipts for e in events]
        if any(present) and not all(present):
            problems.append(f"batch {seq} ({outcome}) half applied: {sum(present)} of {len(events)} receipts")
        if outcome == "unknown":
            counts["unknown_batches_applied" if all(present) else "unknown_batches_absent"] += 1
        if outcome != "acked":
            continue
        for event in events:
            counts["acked_events"] += 1
            if event["event_id"] not in receipts:
                problems.append(f"batch {seq}: acknowledged event {event['event_id']} has no receipt")
            table = MIRRORS[event["record_type"]].table
            row = conn.execute(f"SELECT last_modified FROM {table} WHERE ns_id = ?", (event["record_id"],)).fetchone()
            if row is None or _moment(row[0]) < _moment(event["last_modified"]):
                problems.append(f"batch {seq}: {table} {event['record_id']} is older than acknowledged "
                                f"{event['last_modified']} (has {row[0] if row else 'nothing'})")
    problems += lines_violations(conn)
    return problems, counts


def lines_violations(conn: sqlite3.Connection) -> list[str]:
    """Every mirrored order and invoice holds exactly the lines of the record it was last written from."""
    problems = []
    for record_type, (table, lines, parent) in LINES.items():
        counted = dict(conn.execute(f"SELECT {parent}, count(*) FROM {lines} GROUP BY {parent}").fetchall())
        for ns_id, raw in conn.execute(f"SELECT ns_id, raw_json FROM {table} WHERE deleted_at IS NULL"):
            expected = len(json.loads(raw).get("item", {}).get("items", [])) if raw else 0
            if counted.get(ns_id, 0) != expected:
                problems.append(f"{record_type} {ns_id}: {counted.get(ns_id, 0)} lines mirrored, record has {expected}")
    return problems


def mail_violations(conn: sqlite3.Connection, ledger: Ledger, s3: Any, bucket: str) -> tuple[list[str], dict[str, int]]:
    """Every acked mail is logged; every logged mail's raw bytes are in the bucket or the spool."""
    problems: list[str] = []
    rows: dict[str, list[sqlite3.Row]] = {}
    for row in conn.execute("SELECT id, message_id, raw_key, spool_path, status, reason FROM inbound_email_log"):
        rows.setdefault(row["message_id"], []).append(row)
        if row["status"] == "duplicate":
            continue
        in_bucket = row["raw_key"] is not None and object_exists(s3, bucket, row["raw_key"])
        in_spool = row["spool_path"] is not None and Path(row["spool_path"]).is_file()
        if not (in_bucket or in_spool):
            problems.append(f"email {row['id']} ({row['status']}) is logged but its raw message is in neither "
                            f"the bucket ({row['raw_key']}) nor the spool ({row['spool_path']})")
    counts = {"acked_mails": 0, "unknown_mails_logged": 0, "unknown_mails_absent": 0}
    for message_id, (door, outcome) in ledger.mails.items():
        if outcome == "acked":
            counts["acked_mails"] += 1
            if message_id not in rows:
                problems.append(f"{door} mail {message_id} was acknowledged but is not in inbound_email_log")
        elif outcome == "unknown":
            counts["unknown_mails_logged" if message_id in rows else "unknown_mails_absent"] += 1
    return problems, counts
