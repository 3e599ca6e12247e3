"""Which CDC event wins: pure decisions that make the mirror independent of delivery order.

Every event gets a version key `(last_modified, rank, event_id)` as one sortable string: the newer
`last_modified` wins; at equal `last_modified` a delete beats an update (rank 1 > 0); at equal rank the
greater `event_id` wins, in natural order (`sn-9` < `sn-10`: NetSuite's lastModifiedDate has minute
precision, so a record's edits within a minute are ordered by their sequence numbers alone). Each mirrored row is then two last-writer-wins registers:

* the *version* (`last_modified`, `deleted_at`): the greatest key of all events seen for the record;
* the *data* (mapped columns, `raw_json`): the greatest key among its non-delete events;

and each sublist (lines, packages, applications) is one more: the greatest key among the events that
carried it. NetSuite REST leaves a sublist out (`"item": {"links": [...]}`) unless it was expanded, and
such an event says nothing about the lines: they stay as the newest event that had them left them.

All are maxima over a set, so any permutation, batching or duplication of the same events gives the
same row. A stale event whose sublist wins still changes what the record holds, so it gets a ledger
event of its own (kind `sublists`: its header is old news, its rows are not) unless the record is deleted. An update older than a tombstone therefore never resurrects the record (it is counted stale),
but a tombstone still holds the newest data NetSuite sent before the delete, whatever the arrival order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker.env import iso, parse_iso

APPLIED, STALE, DUPLICATE, REJECTED = "applied", "stale", "duplicate", "rejected"


_DIGIT_RUN = re.compile(r"[0-9]+")  # ASCII digits only: \d would take other scripts' digits too


def _spelled_for_order(run: re.Match[str]) -> str:
    # Significant digits behind their count, so a longer number sorts later; the leading zeros' count last
    # keeps "09" and "9" apart (and in that order). 3 digits each: an event_id is at most 200 characters.
    digits = run[0]
    significant = digits.lstrip("0")
    return f"{len(significant):03d}{significant}{len(digits) - len(significant):03d}"


def natural_id(event_id: str) -> str:
    """event_id spelled so that plain string order is natural order: digit runs compare as numbers
    (`sn-9` < `sn-10`, `sn-0009` < `sn-0010` as before); one-to-one, so two different ids never tie."""
    return _DIGIT_RUN.sub(_spelled_for_order, event_id)


def version_key(last_modified: datetime, operation: str, event_id: str) -> str:
    """The total order of events of one record, as a string that sorts correctly."""
    moment = last_modified.astimezone(UTC)  # the year padded by hand: strftime's %Y writes year 26 as "26"
    return spelled_key(f"{moment.year:04d}{moment:-%m-%dT%H:%M:%S.%fZ}", operation, event_id)


def spelled_key(moment: str, operation: str, event_id: str) -> str:
    """version_key from the instant already spelled as UTC with microseconds (`…T…:…:….ffffffZ`)."""
    return f"{moment}|{'1' if operation == 'delete' else '0'}|{natural_id(event_id)}"


def respelled_key(key: str | None) -> str | None:
    """A key stored before schema version 7 (plain event_id) in today's spelling; '' and None stay as they are."""
    if not key or key.count("|") < 2:
        return key
    moment, rank, event_id = key.split("|", 2)
    return f"{moment}|{rank}|{natural_id(event_id)}"


def key_time(key: str) -> str:
    """The UTC instant of a version key at its full precision (microseconds; the column text keeps milliseconds)."""
    return key.split("|", 1)[0]


# The `last_modified` / `deleted_at` column text: the worker's one timestamp format (ISO-8601 UTC, ms, Z).
iso_utc = iso


def legacy_key(last_modified: str | None) -> str | None:
    """A version key for a row written without one (e.g. by a test or an older loader)."""
    if not last_modified:
        return None
    moment = parse_iso(last_modified)
    return None if moment is None else version_key(moment, "update", "")


NO_SUBLIST = ""  # a sublist's version while no event has carried it: below every key


@dataclass(frozen=True)
class Held:
    """A record's state as far as ordering goes."""

    version: str | None = None  # key of the newest event seen (None: never seen)
    data_version: str | None = None  # key of the event whose data the row holds (None: no data yet)
    last_modified: str | None = None
    deleted_at: str | None = None
    sublists: tuple[str | None, ...] = ()  # per sublist, key of the event whose rows are held (None: never seen)

    @property
    def live(self) -> bool:
        """True when the record has data and is not deleted."""
        return self.data_version is not None and self.deleted_at is None


@dataclass(frozen=True)
class Step:
    """One event of a record, in arrival order."""

    index: int  # position in the batch
    key: str
    is_delete: bool
    last_modified: str  # iso_utc text
    sublists: tuple[bool, ...] = ()  # per sublist of the record type: did this event carry it?


@dataclass
class RecordPlan:
    """What to do for one record after a batch: outcomes, ledger kinds and the final state."""

    held: Held
    final: Held
    outcomes: dict[int, str] = field(default_factory=dict)
    ledger: list[tuple[int, str]] = field(default_factory=list)  # (index, created|updated|deleted|sublists)
    sublists_won: dict[int, tuple[int, ...]] = field(default_factory=dict)  # index of a `sublists` entry -> its sublists
    data_from: int | None = None  # index of the event whose data must be written
    sublists_from: dict[int, int] = field(default_factory=dict)  # sublist number -> index of the event whose rows win

    @property
    def version_changed(self) -> bool:
        """True when last_modified / deleted_at must be written."""
        return self.final.version != self.held.version


def plan_record(held: Held, steps: list[Step]) -> RecordPlan:
    """Decide each step's outcome as if delivered one by one; only the final state is written."""
    plan = RecordPlan(held=held, final=held)
    state = held
    for step in steps:
        newest = state.version is None or step.key > state.version
        if step.is_delete:
            if newest:
                if state.live:
                    plan.ledger.append((step.index, "deleted"))
                state = Held(version=step.key, data_version=state.data_version, last_modified=step.last_modified,
                             deleted_at=step.last_modified, sublists=state.sublists)
            plan.outcomes[step.index] = APPLIED if newest else STALE
            continue
        if newest:
            plan.ledger.append((step.index, "created" if state.data_version is None else "updated"))
            state = Held(version=step.key, data_version=step.key, last_modified=step.last_modified, deleted_at=None,
                         sublists=state.sublists)
            plan.data_from = step.index
            plan.outcomes[step.index] = APPLIED
        else:
            if state.data_version is None or step.key > state.data_version:
                # Older than a tombstone but newer than its data: the tombstone keeps this data.
                state = Held(version=state.version, data_version=step.key, last_modified=state.last_modified,
                             deleted_at=state.deleted_at, sublists=state.sublists)
                plan.data_from = step.index
            plan.outcomes[step.index] = STALE
        state, won = _sublists(state, step, plan)
        if won and not newest and state.deleted_at is None:
            plan.ledger.append((step.index, "sublists"))  # e.g. an order's lines a newer header left out
            plan.sublists_won[step.index] = won
    plan.final = state
    return plan


def _sublists(state: Held, step: Step, plan: RecordPlan) -> tuple[Held, tuple[int, ...]]:
    """The sublists this (non-delete) event carries that are newer than the held ones: its rows win.

    Even a stale event may hold the newest lines, when the newer events left them out. Returns the state
    and the numbers of the sublists won."""
    held = list(state.sublists) + [None] * (len(step.sublists) - len(state.sublists))
    won = []  # most events bring no newer sublist (a customer has none): the state then stays as it is
    for at, carried in enumerate(step.sublists):
        if carried and (held[at] is None or step.key > held[at]):  # type: ignore[operator]
            held[at] = step.key
            plan.sublists_from[at] = step.index
            won.append(at)
    if not won and len(held) == len(state.sublists):
        return state, ()
    return Held(version=state.version, data_version=state.data_version, last_modified=state.last_modified,
                deleted_at=state.deleted_at, sublists=tuple(held)), tuple(won)


def inactive_since(since: str | None, data_version: str | None, changes: list[tuple[str, bool, str]]) -> str | None:
    """When a record became inactive (inactivated_at): the last_modified of the event whose data turned it
    inactive, kept while it stays so, None while active. Unlike the registers above this is history, not a
    maximum: `changes` (key, is_inactive, last_modified of each non-delete event of a batch) are taken in
    key order, as one-by-one delivery would, from the data held (its version, its `since`); an event not
    newer than the data is stale and changes nothing, so a later edit or re-delivery keeps the date. One
    limit: a stale event of an earlier batch (a January inactivation arriving after a June edit) is lost."""
    for key, inactive, last_modified in sorted(changes):
        if data_version is not None and key <= data_version:
            continue
        data_version = key
        since = (since or last_modified) if inactive else None
    return since
