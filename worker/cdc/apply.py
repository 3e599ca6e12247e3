"""Apply a batch of validated CDC events in the caller's transaction (webhook, backfill, replay).

Steps: drop event_ids already receipted (or repeated in the batch), rejecting an id reused for another
change; dead-letter the rejected events; load the held version of every touched record with one query per
table; plan each record (pure, see versions.py); write only each record's final state with executemany per
table; then receipts, ledger events and fulfillment status changes. One call = one transaction, so a batch is all or nothing.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from worker.cdc.intake import Accepted, Rejected
from worker.cdc.mirror import MIRRORS, Mirror, dumps
from worker.cdc.prepare import (
    Prepared,
    delete_payload,
    envelope_json,
    prepare,
    sublists_payload,
)
from worker.cdc.shipping import record_statuses, tracking_after_each, with_held_tracking
from worker.cdc.versions import (
    APPLIED,
    DUPLICATE,
    NO_SUBLIST,
    STALE,
    Held,
    RecordPlan,
    Step,
    inactive_since,
    legacy_key,
    plan_record,
)
from worker.deadletters import store_dead_letter
from worker.env import parse_iso
from worker.ledger import INSERT_EVENT

# A backfill's: a refused event's (label, bytes as read) for its dead letter, or None when it cannot say.
RefusedLine = Callable[[Prepared], tuple[str, bytes] | None]

SEEN_RECEIPTS = """
SELECT event_id, record_type, record_id, operation, last_modified FROM webhook_receipts
WHERE event_id IN (SELECT value FROM json_each(?))
"""
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
    return apply_prepared(conn, [prepare(acc) for acc in accepted], rejected, source=source, received_at=received_at,
                          dead_letter_source=dead_letter_source)


def apply_prepared(conn: sqlite3.Connection, prepared: list[Prepared], rejected: list[Rejected], *, source: str,
                   received_at: str, dead_letter_source: str | None = None,
                   refused_line: RefusedLine | None = None) -> BatchResult:
    """apply_batch for events already prepared (possibly by another process, see backfill.py).

    An event the database refuses (a constraint its data breaks) must not sink the batch, nor be retried
    forever by its sender: the batch is then applied event by event, and each refused event is rejected
    with the database's reason (kept in dead_letters when dead_letter_source is given, for a replay after
    a fix). Disk full, I/O errors and locks (OperationalError) still fail the whole transaction.

    refused_line (a backfill's) gives a refused event's label and its bytes as received, for its reason and
    payload; without it, or when it returns None, the reason is unlabelled and the payload is envelope_json.
    """
    conn.execute("SAVEPOINT cdc_apply")
    try:
        result = _apply_all(conn, prepared, rejected, source, received_at, dead_letter_source, refused_line)
    except sqlite3.OperationalError:
        raise
    except Exception:  # noqa: BLE001 (isolated below: the refused event is named, the others apply)
        conn.execute("ROLLBACK TO cdc_apply")
        result = _apply_one_by_one(conn, prepared, rejected, source, received_at, dead_letter_source, refused_line)
    conn.execute("RELEASE cdc_apply")
    return result


def _apply_one_by_one(conn: sqlite3.Connection, prepared: list[Prepared], rejected: list[Rejected], source: str,
                      received_at: str, dead_letter_source: str | None,
                      refused_line: RefusedLine | None) -> BatchResult:
    result = _apply_all(conn, [], rejected, source, received_at, dead_letter_source, refused_line)
    for ev in prepared:
        conn.execute("SAVEPOINT cdc_event")
        try:
            one = _apply_all(conn, [ev], [], source, received_at, dead_letter_source, refused_line)
        except sqlite3.OperationalError:
            raise
        except Exception as exc:  # noqa: BLE001 (this event's own failure, reported as its rejection)
            conn.execute("ROLLBACK TO cdc_event")
            refused = _refusal(ev, f"could not be written: {exc.__class__.__name__}: {exc}", refused_line)
            one = BatchResult(rejected=[refused])
            if dead_letter_source is not None:
                one.dead_letter_ids[ev.index] = store_dead_letter(conn, dead_letter_source, refused.reason,
                                                                  refused.payload, received_at)
        conn.execute("RELEASE cdc_event")
        result.add(one)
        result.outcomes.update(one.outcomes)
        result.dead_letter_ids.update(one.dead_letter_ids)
    return result


def _refusal(ev: Prepared, reason: str,
             refused_line: RefusedLine | None) -> Rejected:
    """A refused event's rejection: with its line's label and bytes when the caller can say (a backfill)."""
    found = refused_line(ev) if refused_line is not None else None
    if found is None:
        return Rejected(ev.index, ev.event_id, reason, envelope_json(ev).encode())
    label, line = found
    return Rejected(ev.index, ev.event_id, f"{label}: {reason}", line)


def _apply_all(conn: sqlite3.Connection, prepared: list[Prepared], rejected: list[Rejected], source: str,
               received_at: str, dead_letter_source: str | None, refused_line: RefusedLine | None) -> BatchResult:
    result = BatchResult()
    fresh, reused = _drop_duplicates(conn, prepared, result, refused_line)
    result.rejected = [*rejected, *reused]
    if dead_letter_source is not None:
        for rej in result.rejected:
            result.dead_letter_ids[rej.index] = store_dead_letter(conn, dead_letter_source, rej.reason, rej.payload,
                                                                  received_at)
    by_type: dict[str, dict[str, list[Prepared]]] = defaultdict(lambda: defaultdict(list))
    for ev in fresh:
        by_type[ev.record_type][ev.record_id].append(ev)
    ledger: list[tuple[Any, ...]] = []  # ledger.append_event's rows, written with one executemany
    for record_type, records in by_type.items():
        _apply_type(conn, MIRRORS[record_type], records, result, received_at, ledger)
    conn.executemany(INSERT_EVENT, ledger)
    outcomes = result.outcomes
    conn.executemany(INSERT_RECEIPT, [
        (ev.event_id, ev.record_type, ev.record_id, ev.operation, ev.last_modified, outcomes[ev.index], source,
         received_at) for ev in fresh])
    return result


# What a receipt says of its event: a repeat of the same event_id must say the same to be a duplicate.
Change = tuple[str, str, str, str]  # record_type, record_id, operation, last_modified


def _drop_duplicates(conn: sqlite3.Connection, prepared: list[Prepared], result: BatchResult,
                     refused_line: RefusedLine | None) -> tuple[list[Prepared], list[Rejected]]:
    """The events to apply, and the rejections of event_ids reused for another change; counts duplicates."""
    ids = [ev.event_id for ev in prepared]
    seen: dict[str, Change] = {row[0]: row[1:] for row in conn.execute(SEEN_RECEIPTS, (dumps(ids),))} if ids else {}
    if not seen and len(set(ids)) == len(ids):
        return prepared, []  # the usual case (a backfill, a first delivery): nothing to sort out
    fresh, reused = [], []
    for ev in prepared:
        change = (ev.record_type, ev.record_id, ev.operation, ev.last_modified)
        earlier = seen.get(ev.event_id)
        if earlier is None:
            seen[ev.event_id] = change
            fresh.append(ev)
        elif same_change(earlier, change):
            result.outcomes[ev.index] = DUPLICATE
            result.duplicate += 1
        else:  # the sender broke the id's promise: applying or dropping it would each lose a change unseen
            reason = (f"event_id {ev.event_id} was already received for {_spelled(earlier)}; this event is "
                      f"{_spelled(change)}: a different change under a used event_id is not applied")
            reused.append(_refusal(ev, reason, refused_line))
    return fresh, reused


def same_change(earlier: Change, change: Change) -> bool:
    """Whether two events under one event_id describe the same change (instants compared, not their spelling)."""
    return earlier[:3] == change[:3] and (earlier[3] == change[3] or parse_iso(earlier[3]) == parse_iso(change[3]))


def _spelled(change: Change) -> str:
    record_type, record_id, operation, last_modified = change
    return f"{record_type} {record_id} ({operation}, last_modified {last_modified})"


# A record's held state, the customer its row names, and its inactivated_at (None: active, or not kept).
HeldRow = tuple[Held, str | None, str | None]


def _load_held(conn: sqlite3.Connection, mirror: Mirror, record_ids: list[str]) -> dict[str, HeldRow]:
    held = {}
    for ns_id, version, data_version, last_modified, deleted_at, customer, *sublists in conn.execute(
            mirror.held_sql, (dumps(record_ids),)):
        since = sublists.pop() if mirror.inactivation else None  # held_sql's last column
        if version is None:  # a row written without versions: its last_modified is all we know
            version = data_version = legacy_key(last_modified)
        # NULL: a row from before sublists had versions, whose rows were written with its data.
        held[ns_id] = (Held(version, data_version, last_modified, deleted_at,
                            tuple(data_version if v is None else v for v in sublists)), customer, since)
    return held


def _apply_type(conn: sqlite3.Connection, mirror: Mirror, records: dict[str, list[Prepared]], result: BatchResult,
                received_at: str, ledger: list[tuple[Any, ...]]) -> None:
    held_rows = _load_held(conn, mirror, list(records))
    writes = _Writes(mirror)
    start = len(ledger)
    unseen = [events[0] for record_id, events in records.items()
              if len(events) == 1 and record_id not in held_rows and events[0].row is not None]
    _apply_new(mirror, unseen, result, received_at, writes, ledger)
    new = {ev.record_id for ev in unseen}  # records with no row yet, so with no child rows to delete
    for record_id, events in records.items():
        if record_id not in new:
            _apply_planned(mirror, record_id, events, held_rows, result, received_at, writes, ledger)
    observations: list[tuple[str, str, str, str, str]] = []
    after_each: dict[str, dict[str, list[str]]] = {}
    if mirror.record_type == "itemfulfillment":
        observations = [(ev.record_id, ev.key, ev.status_word, ev.last_modified, ev.event_id)  # type: ignore[misc]
                        for events in records.values() for ev in events if ev.status_word]
        # Several events of one fulfillment: each lists the packages it left, from those held before the writes.
        if several := {record_id: events for record_id, events in records.items() if len(events) > 1}:
            after_each = tracking_after_each(conn, several, {record_id: held_rows[record_id][0].sublists
                                                             for record_id in several if record_id in held_rows})
    if writes.upserts:
        conn.executemany(mirror.upsert_sql, writes.upserts)
    if writes.tombstones:
        conn.executemany(mirror.tombstone_sql, writes.tombstones)
    if writes.sublist_versions:
        conn.executemany(mirror.sublists_sql, writes.sublist_versions)
    for at, child in enumerate(mirror.children):
        # Children exist only beside their header row (both are written in one transaction), so a
        # record that had no row has none to delete.
        sources = writes.children[at]
        conn.executemany(child.delete_sql, [(ev.record_id,) for ev in sources if ev.record_id not in new])
        conn.executemany(child.insert_sql, [row for ev in sources for row in ev.children[at]])  # type: ignore[union-attr]
    if mirror.record_type == "itemfulfillment":  # an event may carry some of its package sublists: list them all
        ledger[start:] = with_held_tracking(conn, ledger[start:], first_seen=new, after_each=after_each)
    record_statuses(conn, observations, first_seen=new)


class _Writes:
    """One record type's rows to write after a batch is planned."""

    def __init__(self, mirror: Mirror) -> None:
        self.upserts: list[tuple[Any, ...]] = []
        self.tombstones: list[tuple[Any, ...]] = []
        self.sublist_versions: list[tuple[Any, ...]] = []  # (versions..., ns_id): a stale event's newer sublist
        self.children: list[list[Prepared]] = [[] for _ in mirror.children]  # per child: events whose rows win


def _apply_new(mirror: Mirror, unseen: list[Prepared], result: BatchResult, received_at: str, writes: _Writes,
               ledger: list[tuple[Any, ...]]) -> None:
    # The common backfill case, what plan_record decides for one update of an unseen record: it is
    # applied, its data, version and sublists are written, and the ledger says created
    # (test_cdc_apply_shortcut checks). List by list rather than event by event: the writer's hottest loop.
    result.outcomes.update(dict.fromkeys([ev.index for ev in unseen], APPLIED))
    result.applied += len(unseen)
    upserts = [(*ev.row, ev.key, ev.key, ev.last_modified, None,  # type: ignore[misc]
                *[NO_SUBLIST if rows is None else ev.key for rows in ev.children]) for ev in unseen]
    if mirror.inactivation:  # inactive_since of one event on no row: inactive since this event, or active
        at = mirror.inactive_at
        upserts = [(*row, ev.last_modified if ev.row[at] else None)  # type: ignore[index]
                   for row, ev in zip(upserts, unseen, strict=True)]
    writes.upserts += upserts
    for at, sources in enumerate(writes.children):
        sources += [ev for ev in unseen if ev.children[at] is not None]
    created, record_type = mirror.ledger["created"], mirror.record_type
    ledger += [(created, record_type, ev.record_id, ev.payload, received_at, None) for ev in unseen]


def _apply_planned(mirror: Mirror, record_id: str, events: list[Prepared], held_rows: dict[str, HeldRow],
                   result: BatchResult, received_at: str, writes: _Writes, ledger: list[tuple[Any, ...]]) -> None:
    held, customer, since = held_rows.get(record_id, (Held(), None, None))
    by_index = {ev.index: ev for ev in events}
    plan = plan_record(held, [Step(ev.index, ev.key, ev.row is None, ev.last_modified,
                                   tuple(rows is not None for rows in ev.children)) for ev in events])
    _count(plan, result)
    tracked: tuple[Any, ...] = ()
    if mirror.inactivation:
        at = mirror.inactive_at
        tracked = (inactive_since(since, held.data_version, [(ev.key, bool(ev.row[at]), ev.last_modified)
                                                             for ev in events if ev.row is not None]),)
    _write_plan(record_id, plan, by_index, writes, tracked)
    for index, kind in plan.ledger:
        if kind == "sublists":
            ledger.append(_sublists_row(mirror, plan, by_index, index, customer, received_at))
        else:
            ledger.append(_ledger_row(mirror, by_index[index], kind, customer, received_at))
            if kind != "deleted":
                # Its data is the row's from here on (plan.ledger is in delivery order), so a later delete or
                # sublists news in this batch names its customer, as one-by-one delivery would. Stale data (no
                # entry) only lands under a tombstone, which only a newer update, with its own entry, revives.
                customer = _customer_of(by_index[index])


def _sublists_row(mirror: Mirror, plan: RecordPlan, by_index: dict[int, Prepared], index: int,
                  customer: str | None, received_at: str) -> tuple[Any, ...]:
    """The ledger row of a stale event whose sublists won; `customer`: whom the record's row names when it arrives
    (held, or the last data before it in the batch), as one-by-one delivery would say."""
    children = [mirror.children[at] for at in plan.sublists_won[index]]
    # Several sublists may share a table (a fulfillment's package lists in shipments): each table named once.
    payload = sublists_payload(by_index[index], customer, list(dict.fromkeys(child.table for child in children)),
                               tuple(dict.fromkeys(key for child in children for key in child.payload_keys)))
    return (mirror.ledger["sublists"], mirror.record_type, by_index[index].record_id, payload, received_at, None)


def _count(plan: RecordPlan, result: BatchResult) -> None:
    for index, outcome in plan.outcomes.items():
        result.outcomes[index] = outcome
        if outcome == APPLIED:
            result.applied += 1
        elif outcome == STALE:
            result.stale += 1


def _write_plan(record_id: str, plan: RecordPlan, by_index: dict[int, Prepared], writes: _Writes,
                tracked: tuple[Any, ...]) -> None:
    """`tracked`: the upsert's values after the sublist versions (inactivated_at, for a record type that keeps it)."""
    final = plan.final
    # Read only when an event carried data, and each such event gives final.sublists every sublist's place.
    versions = [NO_SUBLIST if v is None else v for v in final.sublists]
    if plan.data_from is not None:
        ev = by_index[plan.data_from]
        writes.upserts.append((*ev.row, final.data_version, final.version, final.last_modified,  # type: ignore[misc]
                               final.deleted_at, *versions, *tracked))
    else:
        if plan.version_changed:
            writes.tombstones.append((record_id, final.data_version, final.version, final.last_modified,
                                      final.deleted_at))
        if plan.sublists_from:
            writes.sublist_versions.append((*versions, record_id))
    for at, index in plan.sublists_from.items():
        writes.children[at].append(by_index[index])


def _ledger_row(mirror: Mirror, ev: Prepared, kind: str, customer: str | None,
                received_at: str) -> tuple[Any, ...]:
    """`customer`: whom the record's row names just before this event, for a delete's payload (it carries no data)."""
    payload = ev.payload if ev.payload is not None else delete_payload(ev, customer)
    return (mirror.ledger[kind], ev.record_type, ev.record_id, payload, received_at, None)


def _customer_of(ev: Prepared) -> str | None:
    """The customer a data event's ledger payload names (its record's, as prepare read it)."""
    return msgspec.json.decode(ev.payload or "{}").get("customer_id")
