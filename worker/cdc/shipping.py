"""shipping_events: the shipStatus changes of each fulfillment, independent of delivery order.

Every fulfillment event with a shipStatus is kept as an observation (unique per source event). The
changes are then derived from the observations in version order, so a late "picked" still lands
before "shipped" and a repeated status is not a change. Only rows that differ are written, so the ids
of unchanged shipping_events stay stable.

Also the fulfillment ledger's `tracking_numbers`, read back from shipments: an event may carry only some of the
package sublists, each its own register. Several events of one fulfillment in a batch each list the packages it
left, as one-by-one delivery does (tracking_after_each).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from worker.cdc.mirror import MIRRORS, PACKAGE_SUBLISTS, dumps
from worker.cdc.payload_json import payload_json

if TYPE_CHECKING:
    from worker.cdc.prepare import Prepared

INSERT_OBSERVATION = """
INSERT OR IGNORE INTO item_fulfillment_status_log (fulfillment_id, version_key, status, occurred_at, source_event_id)
VALUES (?, ?, ?, ?, ?)
"""
# One JSON array of fulfillment ids per query: a batch's fulfillments are read in two statements.
SELECT_OBSERVATIONS = """
SELECT fulfillment_id, status, occurred_at, source_event_id FROM item_fulfillment_status_log
WHERE fulfillment_id IN (SELECT value FROM json_each(?)) ORDER BY fulfillment_id, version_key
"""
SELECT_EVENTS = """
SELECT fulfillment_id, source_event_id, from_status, to_status, occurred_at FROM shipping_events
WHERE fulfillment_id IN (SELECT value FROM json_each(?))
"""
DELETE_EVENT = "DELETE FROM shipping_events WHERE fulfillment_id = ? AND source_event_id = ?"
UPSERT_EVENT = """
INSERT INTO shipping_events (fulfillment_id, from_status, to_status, occurred_at, source_event_id)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source_event_id) DO UPDATE SET from_status = excluded.from_status, to_status = excluded.to_status,
    occurred_at = excluded.occurred_at
"""

# Non-empty numbers only, as an event's own list has them.
SELECT_PACKAGES = """
SELECT fulfillment_id, source, package_no, tracking_number FROM shipments
WHERE fulfillment_id IN (SELECT value FROM json_each(?)) AND tracking_number <> ''
"""
# The order tracking numbers are listed in: the package list, then UPS, FedEx, USPS (NULL: rows of no known sublist).
_SUBLIST_RANK = {source: rank for rank, (source, *_) in enumerate(PACKAGE_SUBLISTS, start=1)}
# (place among the fulfillment mirror's children, sublist) of each package sublist: a Prepared's children and a
# Held's sublist versions are in that order.
_PACKAGE_CHILDREN = [(at, child.scope[1]) for at, child in enumerate(MIRRORS["itemfulfillment"].children)
                     if child.scope is not None]

Transition = tuple[str | None, str, str]  # (from_status, to_status, occurred_at)


def transitions(observations: Iterable[tuple[str, str, str]]) -> dict[str, Transition]:
    """Status changes keyed by the source event that made them, from (status, occurred_at, event_id) in order."""
    changes: dict[str, Transition] = {}
    previous: str | None = None
    for status, occurred_at, event_id in observations:
        if status != previous:
            changes[event_id] = (previous, status, occurred_at)
            previous = status
    return changes


def record_statuses(conn: sqlite3.Connection, observations: list[tuple[str, str, str, str, str]],
                    first_seen: Collection[str] = ()) -> None:
    """Keep (fulfillment_id, version_key, status, occurred_at, event_id) observations; refresh the changes.

    first_seen: fulfillments that had no row before this batch, so no observations or changes either
    (a backfill's usual case): theirs are not read back.
    """
    if not observations:
        return
    conn.executemany(INSERT_OBSERVATION, observations)
    order = list(dict.fromkeys(obs[0] for obs in observations))
    seen: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    held: dict[str, dict[str, Transition]] = defaultdict(dict)
    known = [fulfillment_id for fulfillment_id in order if fulfillment_id not in first_seen]
    if known:
        ids = dumps(known)
        for fulfillment_id, status, occurred_at, event_id in conn.execute(SELECT_OBSERVATIONS, (ids,)):
            seen[fulfillment_id].append((status, occurred_at, event_id))
        for fulfillment_id, event_id, from_status, to_status, occurred_at in conn.execute(SELECT_EVENTS, (ids,)):
            held[fulfillment_id][event_id] = (from_status, to_status, occurred_at)
    for fulfillment_id, _, status, occurred_at, event_id in observations:
        if fulfillment_id in first_seen:  # its one event: INSERT OR IGNORE above kept it
            seen[fulfillment_id].append((status, occurred_at, event_id))
    stale: list[tuple[str, str]] = []
    changed: list[tuple[str, str | None, str, str, str]] = []
    for fulfillment_id in order:
        wanted, had = transitions(seen[fulfillment_id]), held[fulfillment_id]
        stale += [(fulfillment_id, event_id) for event_id in had.keys() - wanted.keys()]
        changed += [(fulfillment_id, *change, event_id) for event_id, change in wanted.items() if had.get(event_id) != change]
    conn.executemany(DELETE_EVENT, stale)
    conn.executemany(UPSERT_EVENT, changed)


def with_held_tracking(conn: sqlite3.Connection, ledger: list[tuple[Any, ...]], first_seen: Collection[str] = (),
                       after_each: Mapping[str, Mapping[str, list[str]]] | None = None) -> list[tuple[Any, ...]]:
    """Fulfillment ledger rows whose payload lists `tracking_numbers` (the event carried some package sublist),
    listing instead every package the mirror now holds for the fulfillment: each package sublist is its own
    register, so the event's own sublists may be only some of them. Read after the batch's shipments are written.

    first_seen: fulfillments that had no row before this batch; their one event's packages are all there are.
    after_each: fulfillments with several events in the batch -> event_id -> its list (tracking_after_each).
    """
    if after_each:
        return _with_tracking_after_each(conn, ledger, first_seen, after_each)
    known = {row[2] for row in ledger if row[2] not in first_seen}
    if not known:
        return ledger
    held: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for fulfillment_id, source, package_no, tracking in conn.execute(SELECT_PACKAGES, (dumps(sorted(known)),)):
        held[fulfillment_id].append((_SUBLIST_RANK.get(source, 0), package_no, tracking))
    out = []
    for row in ledger:
        payload = msgspec.json.decode(row[3]) if row[2] in known and row[3] else None
        if payload is not None and payload.get("tracking_numbers") is not None:
            payload["tracking_numbers"] = [tracking for *_, tracking in sorted(held[row[2]])]
            row = (*row[:3], payload_json(payload), *row[4:])
        out.append(row)
    return out


def _with_tracking_after_each(conn: sqlite3.Connection, ledger: list[tuple[Any, ...]], first_seen: Collection[str],
                              after_each: Mapping[str, Mapping[str, list[str]]]) -> list[tuple[Any, ...]]:
    """with_held_tracking when some fulfillments have several events: theirs are listed from after_each, the other
    rows as usual (in their places)."""
    others = iter(with_held_tracking(conn, [row for row in ledger if row[2] not in after_each], first_seen))
    out = []
    for row in ledger:
        lists = after_each.get(row[2])
        if lists is None:
            out.append(next(others))
            continue
        payload = msgspec.json.decode(row[3]) if row[3] else None
        if payload is not None and payload.get("tracking_numbers") is not None:
            payload["tracking_numbers"] = lists[payload["event_id"]]
            row = (*row[:3], payload_json(payload), *row[4:])
        out.append(row)
    return out


def tracking_after_each(conn: sqlite3.Connection, several: Mapping[str, list[Prepared]],
                        versions: Mapping[str, tuple[str | None, ...]]) -> dict[str, dict[str, list[str]]]:
    """For fulfillments with several events in a batch: each event's `tracking_numbers` as the fulfillment holds
    them right after it, as one-by-one delivery lists them (the batch writes only the final packages).

    Read before the batch's shipments are written. versions: the held fulfillments' sublist versions (Held.sublists);
    one not held has no rows to read.
    """
    held: dict[str, list[tuple[int, int, str, str | None]]] = defaultdict(list)
    if known := [fulfillment_id for fulfillment_id in several if fulfillment_id in versions]:
        for fulfillment_id, source, package_no, tracking in conn.execute(SELECT_PACKAGES, (dumps(known),)):
            held[fulfillment_id].append((_SUBLIST_RANK.get(source, 0), package_no, tracking, source))
    return {fulfillment_id: packages_after_each(events, versions.get(fulfillment_id, ()), held[fulfillment_id])
            for fulfillment_id, events in several.items()}


def packages_after_each(events: list[Prepared], versions: tuple[str | None, ...],
                        rows: list[tuple[int, int, str, str | None]]) -> dict[str, list[str]]:
    """Tracking numbers after each event (by event_id) in delivery order, from the held (rank, package_no, tracking
    number, source) rows and sublist versions (pure). A package sublist is won as plan_record decides (by a non-delete
    event carrying it, newer than its holder, stale or not); the first one won also replaces the rows of no known
    sublist (source NULL), as Child.delete_sql does."""
    holders = ({source: versions[at] for at, source in _PACKAGE_CHILDREN} if versions
               else dict.fromkeys(_SUBLIST_RANK))  # not held: no sublist yet
    numbers: dict[str | None, Sequence[str]] = dict.fromkeys((None, *_SUBLIST_RANK), ())  # in listing order
    for *_, tracking, source in sorted(rows):
        numbers[source] = (*numbers[source], tracking)
    listing: list[str] | None = None  # rebuilt only after an event that won a sublist
    out = {}
    for ev in events:
        if ev.row is not None:
            for at, source in _PACKAGE_CHILDREN:
                carried = ev.children[at]
                if carried is not None and (holders[source] is None or ev.key > holders[source]):  # type: ignore[operator]
                    holders[source] = ev.key
                    numbers[source] = [row[3] for row in carried if row[3]]  # in package_no order, as numbered
                    numbers[None] = ()
                    listing = None
        if listing is None:
            listing = [tracking for listed in numbers.values() for tracking in listed]
        out[ev.event_id] = listing
    return out
