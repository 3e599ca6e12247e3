"""Apply a batch of validated CDC events in the caller's transaction (webhook, backfill, replay).

Steps: dead-letter the rejected events; drop event_ids already receipted (or repeated in the batch);
load the held version of every touched record with one query per table; plan each record (pure, see
versions.py); write only each record's final state with executemany per table; then receipts, ledger
events and fulfillment status changes. One call = one transaction, so a batch is all or nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from worker.cdc.intake import Accepted, Rejected
from worker.cdc.mirror import MIRRORS, Mirror, dumps
from worker.cdc.payload_json import payload_json
from worker.cdc.shipping import record_statuses
from worker.cdc.versions import APPLIED, DUPLICATE, STALE, Held, RecordPlan, Step, legacy_key, plan_record
from worker.deadletters import store_dead_letter
from worker.ledger import INSERT_EVENT

SEEN_RECEIPTS = "SELECT event_id FROM webhook_receipts WHERE event_id IN (SELECT value FROM json_each(?))"
INSERT_RECEIPT = """
INSERT INTO webhook_receipts (event_id, record_type, record_id, operation, last_modified, outcome, source, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""


@dataclass
class BatchResult:
    """Counts and per-event outcomes of one applied batch."""

    applied: int = 0
    duplicate: int = 0
    stale: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    dead_letter_ids: dict[int, int] = field(default_factory=dict)  # event index -> dead_letters.id
    outcomes: dict[int, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """applied / duplicate / stale / rejected as numbers."""
        return {"applied": self.applied, "duplicate": self.duplicate, "stale": self.stale,
                "rejected": len(self.rejected)}

    def add(self, other: BatchResult) -> None:
        """Accumulate another batch's counts (backfill)."""
        self.applied += other.applied
        self.duplicate += other.duplicate
        self.stale += other.stale
        self.rejected.extend(other.rejected)


def apply_batch(conn: sqlite3.Connection, accepted: list[Accepted], rejected: list[Rejected], *, source: str,
                received_at: str, dead_letter_source: str | None = None) -> BatchResult:
    """Apply accepted events and keep rejected ones (when dead_letter_source is given); returns the result."""
    result = BatchResult(rejected=list(rejected))
    if dead_letter_source is not None:
        for rej in rejected:
            result.dead_letter_ids[rej.index] = store_dead_letter(conn, dead_letter_source, rej.reason, rej.payload,
                                                                  received_at)
    fresh = _drop_duplicates(conn, accepted, result)
    by_type: dict[str, dict[str, list[Accepted]]] = defaultdict(lambda: defaultdict(list))
    for acc in fresh:
        by_type[acc.event.record_type][acc.event.record_id].append(acc)
    ledger: list[tuple[Any, ...]] = []  # ledger.append_event's rows, written with one executemany
    for record_type, records in by_type.items():
        _apply_type(conn, MIRRORS[record_type], records, result, received_at, ledger)
    conn.executemany(INSERT_EVENT, ledger)
    outcomes = result.outcomes
    conn.executemany(INSERT_RECEIPT, [
        (acc.event.event_id, acc.event.record_type, acc.event.record_id, acc.event.operation, acc.last_modified,
         outcomes[acc.index], source, received_at) for acc in fresh])
    return result


def _drop_duplicates(conn: sqlite3.Connection, accepted: list[Accepted], result: BatchResult) -> list[Accepted]:
    ids = [acc.event.event_id for acc in accepted]
    seen = {row[0] for row in conn.execute(SEEN_RECEIPTS, (json.dumps(ids),))} if ids else set()
    fresh = []
    for acc in accepted:
        if acc.event.event_id in seen:
            result.outcomes[acc.index] = DUPLICATE
            result.duplicate += 1
        else:
            seen.add(acc.event.event_id)
            fresh.append(acc)
    return fresh


def _load_held(conn: sqlite3.Connection, mirror: Mirror, record_ids: list[str]) -> dict[str, tuple[Held, str | None]]:
    held = {}
    for ns_id, version, data_version, last_modified, deleted_at, customer in conn.execute(
            mirror.held_sql, (json.dumps(record_ids),)):
        if version is None:  # a row written without versions: its last_modified is all we know
            version = data_version = legacy_key(last_modified)
        held[ns_id] = (Held(version, data_version, last_modified, deleted_at), customer)
    return held


def _apply_type(conn: sqlite3.Connection, mirror: Mirror, records: dict[str, list[Accepted]], result: BatchResult,
                received_at: str, ledger: list[tuple[Any, ...]]) -> None:
    held_rows = _load_held(conn, mirror, list(records))
    upserts: list[tuple[Any, ...]] = []
    tombstones: list[tuple[Any, ...]] = []
    replaced: list[tuple[str, Any, dict[str, Any]]] = []
    observations: list[tuple[str, str, str, str, str]] = []
    for record_id, events in records.items():
        if len(events) == 1 and record_id not in held_rows and events[0].record is not None:
            _apply_new(mirror, record_id, events[0], result, received_at, upserts, replaced, ledger)
        else:
            _apply_planned(mirror, record_id, events, held_rows, result, received_at, upserts, tombstones, replaced,
                           ledger)
        if mirror.record_type == "itemfulfillment":
            observations += [(record_id, a.key, a.record.status_word, a.last_modified, a.event.event_id)  # type: ignore[union-attr]
                             for a in events if a.record is not None and a.record.status_word]  # type: ignore[attr-defined]
    if upserts:
        conn.executemany(mirror.upsert_sql, upserts)
    if tombstones:
        conn.executemany(mirror.tombstone_sql, tombstones)
    for child in mirror.children:
        conn.executemany(child.delete_sql, [(record_id,) for record_id, _, _ in replaced])
        conn.executemany(child.insert_sql, [(record_id, *row) for record_id, model, raw in replaced
                                            for row in child.rows(model, raw)])
    record_statuses(conn, observations)


def _apply_new(mirror: Mirror, record_id: str, acc: Accepted, result: BatchResult, received_at: str,
               upserts: list[tuple[Any, ...]], replaced: list[tuple[str, Any, dict[str, Any]]],
               ledger: list[tuple[Any, ...]]) -> None:
    # The common backfill case, what plan_record decides for one update of an unseen record: it is
    # applied, its data and version are written, and the ledger says created (test_cdc_property checks).
    result.outcomes[acc.index] = APPLIED
    result.applied += 1
    raw = acc.event.record or {}
    upserts.append((record_id, *mirror.row(acc.record), dumps(raw), acc.key, acc.key, acc.last_modified, None))
    replaced.append((record_id, acc.record, raw))
    ledger.append(_ledger_row(mirror, record_id, acc, "created", None, received_at))


def _apply_planned(mirror: Mirror, record_id: str, events: list[Accepted],
                   held_rows: dict[str, tuple[Held, str | None]], result: BatchResult, received_at: str,
                   upserts: list[tuple[Any, ...]], tombstones: list[tuple[Any, ...]],
                   replaced: list[tuple[str, Any, dict[str, Any]]], ledger: list[tuple[Any, ...]]) -> None:
    held, customer = held_rows.get(record_id, (Held(), None))
    by_index = {acc.index: acc for acc in events}
    plan = plan_record(held, [Step(a.index, a.key, a.record is None, a.last_modified) for a in events])
    _count(plan, result)
    _write_plan(mirror, record_id, plan, by_index, upserts, tombstones, replaced)
    for index, kind in plan.ledger:
        ledger.append(_ledger_row(mirror, record_id, by_index[index], kind, customer, received_at))


def _count(plan: RecordPlan, result: BatchResult) -> None:
    for index, outcome in plan.outcomes.items():
        result.outcomes[index] = outcome
        if outcome == APPLIED:
            result.applied += 1
        elif outcome == STALE:
            result.stale += 1


def _write_plan(mirror: Mirror, record_id: str, plan: RecordPlan, by_index: dict[int, Accepted],
                upserts: list[tuple[Any, ...]], tombstones: list[tuple[Any, ...]],
                replaced: list[tuple[str, Any, dict[str, Any]]]) -> None:
    final = plan.final
    if plan.data_from is not None:
        acc = by_index[plan.data_from]
        raw = acc.event.record or {}
        upserts.append((record_id, *mirror.row(acc.record), dumps(raw),
                        final.data_version, final.version, final.last_modified, final.deleted_at))
        replaced.append((record_id, acc.record, raw))
    elif plan.version_changed:
        tombstones.append((record_id, final.version, final.last_modified, final.deleted_at))


def _ledger_row(mirror: Mirror, record_id: str, acc: Accepted, kind: str, held_customer: str | None,
                received_at: str) -> tuple[Any, ...]:
    ev = acc.event
    payload: dict[str, Any] = {"record_id": record_id, "event_id": ev.event_id, "operation": ev.operation,
                               "last_modified": acc.last_modified}
    if acc.record is not None:
        payload["customer_id"] = mirror.customer(record_id, acc.record)
        payload.update(mirror.payload(acc.record))
    else:
        payload["customer_id"] = held_customer
    return (mirror.ledger[kind], ev.record_type, record_id, payload_json(payload), received_at, f"cdc:{ev.event_id}")
