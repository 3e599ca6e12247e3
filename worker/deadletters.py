"""Dead letters: whatever we could not process is kept whole, with the reason, and can be replayed.

Replay re-reads a stored payload through the same intake and apply code as the webhook (no signature
check: it was authenticated when received). A letter whose every event now applies (or is a
duplicate/stale) gets `replayed_at`; one that still fails keeps `replayed_at` NULL, records why in
`replay_result` and counts the attempt. Replaying twice is harmless: receipts make events idempotent.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

# A sender retries a refused delivery (Standard Webhooks retries any non-2xx), a backfill is re-run:
# the same payload refused for the same reason is kept once while it waits for a replay. Found by its digest
# (the partial index dead_letters_pending_digest): comparing payloads with every pending letter made each
# rejection cost time in proportion to the backlog, inside the write transaction everything else waits for.
SAME_PENDING = """
SELECT id FROM dead_letters
WHERE digest = ? AND replayed_at IS NULL AND source = ? AND reason = ? AND payload = ? LIMIT 1
"""
INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (source, reason, payload, headers_json, received_at, digest) VALUES (?, ?, ?, ?, ?, ?)
"""
# Rejected API proposals are kept for the record, but they are not change events: the caller re-sends a
# corrected proposal, so replay never touches them.
AUDIT_ONLY_SOURCES = ("proposed-actions",)
# Ids and sources only: a payload (up to the body limit each, thousands pending) is read in its own transaction.
SELECT_PENDING = (
    "SELECT id, source FROM dead_letters WHERE replayed_at IS NULL"
    f" AND source NOT IN ({', '.join(repr(s) for s in AUDIT_ONLY_SOURCES)}) ORDER BY id"
)
SELECT_ONE = "SELECT id, source FROM dead_letters WHERE id = ?"
MARK_REPLAYED = """
UPDATE dead_letters SET replayed_at = ?, replay_result = ?, attempts = attempts + 1 WHERE id = ?
"""
MARK_FAILED = "UPDATE dead_letters SET replay_result = ?, attempts = attempts + 1 WHERE id = ?"
# A letter replayed before keeps the time and result of the replay that applied it; a re-run only counts.
MARK_RERUN = "UPDATE dead_letters SET attempts = attempts + 1 WHERE id = ?"
REPLAYED = "SELECT replayed_at, replay_result, payload FROM dead_letters WHERE id = ?"


def letter_digest(source: str, reason: str, payload: bytes | str) -> bytes:
    """SHA-256 of a letter's source, reason and payload: what makes two pending letters the same."""
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    return hashlib.sha256(b"\0".join((source.encode(), reason.encode(), data))).digest()


def store_dead_letter(conn: sqlite3.Connection, source: str, reason: str, payload: bytes | str, received_at: str,
                      headers: dict[str, str] | None = None) -> int:
    """Keep a payload we could not process, in the caller's transaction; returns its id (an identical
    pending letter's, when there is one)."""
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    digest = letter_digest(source, reason, data)
    if (same := conn.execute(SAME_PENDING, (digest, source, reason, data)).fetchone()) is not None:
        return int(same[0])
    cursor = conn.execute(INSERT_DEAD_LETTER, (source, reason, data, json.dumps(headers) if headers else None,
                                               received_at, digest))
    return int(cursor.lastrowid or 0)


def letters_to_replay(conn: sqlite3.Connection, letter_id: int | None = None) -> list[tuple[int, str]]:
    """The pending letters' (id, source) (replayed_at NULL), or exactly the one asked for (even if replayed before;
    LookupError when there is none)."""
    if letter_id is not None:
        # An id beyond SQLite's 64-bit integers names no letter (binding it would raise OverflowError).
        rows = conn.execute(SELECT_ONE, (letter_id,)).fetchall() if -(1 << 63) <= letter_id < 1 << 63 else []
        if not rows:
            raise LookupError(f"no dead letter with id {letter_id}")
    else:
        rows = conn.execute(SELECT_PENDING).fetchall()
    return [(row[0], row[1]) for row in rows]


def replay_letter(conn: sqlite3.Connection, letter_id: int, *, now: str, again: bool = False) -> dict[str, Any]:
    """Re-apply one letter's payload in the caller's transaction and mark the letter; returns the outcome.

    A letter found replayed already (by a concurrent run, since it was listed) is left alone, unless again
    (`--id`): then it is re-applied, harmlessly, and keeps the record of the replay that applied it.
    """
    from worker.cdc.apply import apply_batch
    from worker.cdc.intake import BodyError, split_body, validate_events

    replayed_at, first, payload = conn.execute(REPLAYED, (letter_id,)).fetchone()
    before = f"replayed at {replayed_at} ({first})" if replayed_at else None
    if before and not again:
        return {"id": letter_id, "ok": True, "state": "already replayed", "result": f"{before} by another run"}
    try:
        raw_events, batch = split_body(bytes(payload))
    except BodyError as exc:
        _mark_failed(conn, letter_id, f"still unreadable: {exc}", before)
        return {"id": letter_id, "ok": False, "state": "still failing", "result": f"still unreadable: {exc}"}
    accepted, rejected = validate_events(raw_events, batch=batch)
    result = apply_batch(conn, accepted, rejected, source="replay", received_at=now)
    counts = result.counts()
    summary = ", ".join(f"{key} {value}" for key, value in counts.items())
    if result.rejected:  # invalid still, or refused by the database again: the letter stays pending
        text = f"{summary}; still rejected: " + "; ".join(r.reason for r in result.rejected)
        _mark_failed(conn, letter_id, text, before)
        return {"id": letter_id, "ok": False, "state": "still failing", "result": text, **counts}
    if before:
        conn.execute(MARK_RERUN, (letter_id,))
        return {"id": letter_id, "ok": True, "state": "replayed again", "result": f"{summary}; first {before}",
                **counts}
    conn.execute(MARK_REPLAYED, (now, summary, letter_id))
    return {"id": letter_id, "ok": True, "state": "replayed", "result": summary, **counts}


def _mark_failed(conn: sqlite3.Connection, letter_id: int, text: str, before: str | None) -> None:
    """Record a failed attempt; a letter replayed before keeps that replay's record."""
    if before:
        conn.execute(MARK_RERUN, (letter_id,))
    else:
        conn.execute(MARK_FAILED, (text, letter_id))


def replay_each(conn: sqlite3.Connection, letters: list[tuple[int, str]], *, now: Callable[[], str],
                again: bool = False) -> Iterator[dict[str, Any]]:
    """Replay letters (from letters_to_replay), one transaction per letter, yielding each outcome once its
    transaction has committed: a caller reporting as it goes has reported every committed letter when a
    later one fails (a lock held too long, a full disk)."""
    from worker.db import run_in_transaction

    for ident, source in letters:
        if source in AUDIT_ONLY_SOURCES:
            yield {"id": ident, "ok": False, "state": "not replayed",
                   "result": f"a {source} letter is kept for the record, not replayed"}
            continue
        yield run_in_transaction(conn, replay_letter, ident, now=now(), again=again)


def replay_dead_letters(conn: sqlite3.Connection, *, letter_id: int | None = None,
                        now: Callable[[], str]) -> list[dict[str, Any]]:
    """Replay pending letters (or one by id), one transaction per letter; returns each outcome."""
    return list(replay_each(conn, letters_to_replay(conn, letter_id), now=now, again=letter_id is not None))
