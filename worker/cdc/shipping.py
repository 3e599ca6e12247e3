"""shipping_events: the shipStatus changes of each fulfillment, independent of delivery order.

Every fulfillment event with a shipStatus is kept as an observation (unique per source event). The
changes are then derived from the observations in version order, so a late "picked" still lands
before "shipped" and a repeated status is not a change. Only rows that differ are written, so the ids
of unchanged shipping_events stay stable.

Also the fulfillment ledger's `tracking_numbers`, read back from shipments: an event may carry only some of the
package sublists, each its own register.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

import msgspec

from worker.cdc.mirror import PACKAGE_SUBLISTS, dumps
from worker.cdc.payload_json import payload_json

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


def with_held_tracking(conn: sqlite3.Connection, ledger: list[tuple[Any, ...]],
                       first_seen: Collection[str] = ()) -> list[tuple[Any, ...]]:
    """Fulfillment ledger rows whose payload lists `tracking_numbers` (the event carried some package sublist),
    listing instead every package the mirror now holds for the fulfillment: each package sublist is its own
    register, so the event's own sublists may be only some of them. Read after the batch's shipments are written
    (several events of one fulfillment in a batch all list its packages as the batch leaves them).

    first_seen: fulfillments that had no row before this batch; their one event's packages are all there are.
    """
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
