"""The workflow runner: feeds ledger events to workflows, at least once, with idempotent effects.

A workflow's handler is async and side-effect free: it reads what it needs and returns a
WorkflowResult. The runner then writes, in ONE transaction, the workflow_run_log row (unique per
workflow and event), the proposed actions (INSERT OR IGNORE on their dedupe keys, so an unchanged
situation is never proposed twice; a `redraft` proposal instead replaces its key's draft while no person
has touched it; a `Withdrawal` closes a staged draft whose record is gone), the reflexion observation and the
consumer's cursor. A crash
before that commit means the event is handled again; after it, never. A failing event is retried; the
attempt that gives up writes its run log row, a `needs_review` observation naming the failure (when the
event names a customer) and the cursor in one transaction as well. A result that is not JSON SQLite can read
(a non-finite float: `Infinity`, `NaN`) is that event's failure, like a handler's exception; so is SQLite refusing
one event's own rows in the commit (a savepoint per event undoes only them). A database outage (locked, busy, disk
full) is nobody's event: the drain stops and every event waits for the next tick.

A workflow acts on changes made recently, not on history: an event whose payload carries the record's
`last_modified` (every CDC event does) more than `[workflows] history_days` before the drain's tick (a cron
run's time, so `--as-of`) is marked handled without a run (`history_skipped`). So a first backfill of years of
records (a created event each) proposes nothing about them, while the recent changes a backfill catches up on after missed webhooks, and a
webhook that arrives while it runs, are acted on as usual. Not a cursor moved to the ledger's head, which would
skip those too. A record the workflow already has a run on is never history: what it started (an order waiting
for its lines, a memo's draft to redo or withdraw) is finished. A handler that would start something new on such
a record's old change (customer_quote_review's review of a changed order) asks is_old_change, under the drain's
cutoff.

Every tier drains some workflows (hot all of them, warm and cold ar_aging_action_plan), so a workflow is
drained under a lease (`workflow:NAME` in cron_leases, see worker/tiers.py): one drain at a time across tiers
and processes, or the same event would be decided twice at once (a collection email drafted twice, one
failure counted once per tier).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from worker.db import DatabaseUnavailable
from worker.env import Env, iso, parse_iso
from worker.leases import hold_lease
from worker.ledger import Event, advance_cursor, append_event, events_after, read_cursor

log = logging.getLogger("worker.workflows")
MAX_ATTEMPTS = 3  # a failing event is retried on the next ticks, then skipped (its failure stays logged)
WORKFLOW_LEASE_SECONDS = 300  # renewed every 100 s while a drain runs: a crashed drain holds its workflow 5 min

UPSERT_RUN = """
INSERT INTO workflow_run_log (workflow, customer_id, trigger_event_id, status, started_at, finished_at, error,
                              output_json, dedupe_key, attempts)
VALUES (:workflow, :customer_id, :event_id, :status, :started, :finished, :error, :output, :dedupe_key, 1)
ON CONFLICT (dedupe_key) DO UPDATE SET status = excluded.status, customer_id = excluded.customer_id,
    started_at = excluded.started_at, finished_at = excluded.finished_at, error = excluded.error,
    output_json = excluded.output_json, attempts = workflow_run_log.attempts + 1
RETURNING id, attempts
"""
RUN_DONE = "SELECT 1 FROM workflow_run_log WHERE dedupe_key = ? AND status = 'ok'"
# An event that failed before and is not the workflow's business on a retry (the situation changed meanwhile):
# its run concluded, so the row left `failed` by the earlier attempt says so (the customer 360 lists it).
CONCLUDE_NOT_APPLICABLE = """
UPDATE workflow_run_log SET status = 'not_applicable', started_at = ?, finished_at = ?, error = NULL,
    attempts = attempts + 1
WHERE dedupe_key = ?
"""
FAILED_SINCE = "SELECT 1 FROM workflow_run_log WHERE dedupe_key = ? AND status = 'failed' AND started_at >= ?"
INSERT_PROPOSAL = """
INSERT OR IGNORE INTO proposed_actions (kind, status, customer_id, payload_json, risk, source, workflow_run_id,
                                        dedupe_key, created_at, updated_at)
VALUES (?, 'staged', ?, ?, ?, 'workflow', ?, ?, ?, ?)
"""
# A draft nobody touched: still staged, and updated_at still its created_at (an edit or a decision moves
# updated_at, worker/decisions.py). The redraft is a new draft, so it keeps that mark: both are set anew.
# Checked here, in the commit, not by the handler: a person may act between the handler's read and this write.
REDRAFT = """
UPDATE proposed_actions SET payload_json = ?, risk = ?, customer_id = ?, workflow_run_id = ?, created_at = ?,
    updated_at = ?
WHERE dedupe_key = ? AND status = 'staged' AND updated_at = created_at
"""
# A draft withdrawn because what it is about is gone (deleted in NetSuite): closed as a reviewer's rejection
# would be (worker.decisions), decided by the workflow, so the queue shows who closed it and why. Only while
# still staged, edited or not; checked here, in the commit, like REDRAFT. A released key is renamed, so the
# same need arising again from another record is proposed afresh instead of deduplicated against this row.
WITHDRAW = """
UPDATE proposed_actions SET status = 'rejected', decided_by = :by, decided_at = :now, decision_reason = :reason,
    updated_at = :now, dedupe_key = CASE WHEN :release THEN dedupe_key || ':withdrawn:' || id ELSE dedupe_key END
WHERE dedupe_key = :key AND status = 'staged'
RETURNING id, kind
"""
# A record's runs are found by the id their output names: the order and memo workflows name theirs so
# (worker/flows/order_lines.py WAITED, memo_apply.py; index workflow_run_log_order for orders).
RECORD_KEYS = {"salesorder": "sales_order_id", "creditmemo": "credit_memo_id"}
ACTED_ON = """
SELECT 1 FROM workflow_run_log WHERE workflow = ? AND json_extract(output_json, '$.{key}') = ? AND status = 'ok'
LIMIT 1
"""
INSERT_REFLEXION = """
INSERT INTO reflexion_log (entity_type, entity_id, tags_json, observation, status, workflow_run_id, created_at)
VALUES ('customer', ?, ?, ?, 'needs_review', ?, ?)
"""
# Each event's writes in a batch: undone alone when SQLite refuses one of its rows (record_runs).
EVENT_SAVEPOINT, UNDO_EVENT, KEEP_EVENT = "SAVEPOINT event_run", "ROLLBACK TO event_run", "RELEASE event_run"
# What an event's own rows can make SQLite refuse: malformed JSON under a json_extract index (SQLITE_ERROR), a
# constraint, a value too big or of the wrong type. Busy, locked, full, read-only, I/O are the database's.
EVENT_ERROR_CODES = frozenset({sqlite3.SQLITE_ERROR, sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG,
                               sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE})


@dataclass(frozen=True)
class Proposal:
    """A proposed action for a person to approve; equal dedupe keys are proposed once.

    With `redraft`, a staged draft of the same key that no person has edited or decided is replaced by
    this one (the same row: never two live drafts); a touched draft is left as the person left it.
    With `wanted`, the proposal is asked again in the commit, on its connection: None while it is still wanted;
    else why not (what it asks was answered after the handler read, by another process's commit), a sentence the
    run's observation ends with, and nothing of it is written (counted `unwanted`). `listed`, (key, value): the
    entry of the run output's list `key` that names this proposal, dropped with it, so the output (which later runs
    read as what was asked) says what the commit staged, not what the handler read.
    """

    kind: str
    payload: dict[str, Any]
    risk: int = 3
    customer_id: str | None = None
    dedupe_key: str | None = None
    redraft: bool = False
    wanted: Callable[[sqlite3.Connection], str | None] | None = field(default=None, compare=False, repr=False)
    listed: tuple[str, Any] | None = None


@dataclass(frozen=True)
class Withdrawal:
    """A draft to take back because its record is gone: rejected with `reason` if it is still staged.

    Approved, rejected and executed proposals are never touched. With `release_key` the row gives up its
    dedupe key, for keys that name a need rather than the gone record (an item to price for a customer).
    """

    dedupe_key: str
    reason: str
    release_key: bool = False


@dataclass(frozen=True)
class WorkflowResult:
    """What a workflow concluded about one event."""

    customer_id: str | None
    observation: str
    proposals: Sequence[Proposal] = ()
    output: dict[str, Any] = field(default_factory=dict)
    withdrawals: Sequence[Withdrawal] = ()


Handler = Callable[[Env, Event], Awaitable[WorkflowResult | None]]
# What _decide returns for an event that is history: no handler ran, so record_run writes nothing of it.
HISTORY = WorkflowResult(None, "history: the record changed before [workflows] history_days")
# The history cutoff of the drain whose handler is running (_decide sets it): the tick's (`--as-of`), not the clock's.
_CUTOFF: ContextVar[datetime | None] = ContextVar("history_cutoff", default=None)


@dataclass(frozen=True)
class Workflow:
    """A named consumer of some event types; handler returns None when the event is not its business."""

    name: str
    triggers: tuple[str, ...]
    handler: Handler
    reflexion: bool = True


def _pending(conn: sqlite3.Connection, workflow: Workflow, limit: int, tick: str | None = None) -> list[Event] | None:
    """The events after the workflow's cursor; None when the first one already failed at or after `tick`.

    A failed event stays first in line (the cursor waits before it), so only the first needs the check.
    """
    events = events_after(conn, read_cursor(conn, workflow.name), workflow.triggers, limit)
    if tick and events and conn.execute(FAILED_SINCE, (f"{workflow.name}:{events[0].id}", tick)).fetchone():
        return None
    return events


def history_cutoff(env: Env, tick: datetime | None = None) -> datetime:
    """Changes made before this instant are history to a drain at tick (a cron run's time, `--as-of`), else now."""
    return (tick or env.clock()) - timedelta(days=env.settings.workflows.history_days)


def changed_before(event: Event, cutoff: datetime) -> bool:
    """Whether the event's payload dates its record's last change before cutoff (False when it has no date)."""
    text = event.payload.get("last_modified")
    if not isinstance(text, str):
        return False  # not a CDC change (a tier change, an aging move): always news
    moment = parse_iso(text)
    return moment is not None and moment < cutoff


async def is_history(env: Env, workflow: Workflow, event: Event, cutoff: datetime) -> bool:
    """Whether the workflow leaves the event alone as history: an old change of a record it never acted on.

    A record it has a run on is its business still, however old the change: the lines an order's review waits
    for, a memo's apply list or deletion after its draft (order_lines.py, memo_apply.py). Skipped, the order would
    wait until a later update and be reviewed then, or the draft would stay staged for a deleted memo.
    """
    if not changed_before(event, cutoff):
        return False
    key = RECORD_KEYS.get(event.entity_type)
    return key is None or await env.db.fetchone(ACTED_ON.format(key=key), (workflow.name, event.entity_id)) is None


def is_old_change(env: Env, event: Event) -> bool:
    """For a handler: whether the event's change is history to the drain running it, though is_history let it through
    (the workflow has a run on the record). What the run started is finished; nothing new starts on an old change."""
    return changed_before(event, _CUTOFF.get() or history_cutoff(env))


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"Out of range Decimal values are not JSON compliant: {value}")
    return str(value)  # a date, a Decimal: their text


def to_json(value: Any) -> str:
    """JSON that SQLite's json functions read. A non-finite number raises ValueError: Python would write the bare
    token `Infinity`/`NaN` (malformed for SQLite), and a string in its place would pass a wrong amount off as text."""
    return json.dumps(value, default=_json_default, allow_nan=False)


def check_result(result: WorkflowResult) -> None:
    """Raise (ValueError, TypeError) when the run output or a proposal payload cannot be stored as JSON."""
    to_json(result.output)
    for p in result.proposals:
        to_json(p.payload)


def gave_up_observation(attempts: int, error: str) -> str:
    """The reflexion observation of a run skipped after its last failed attempt."""
    return f"run failed {attempts} times and was skipped: {error}"


def note_rejected(conn: sqlite3.Connection, workflow: str, action_id: int, kind: str, reason: str, now: str) -> None:
    """The action.rejected event of a draft a workflow closed, keyed like a reviewer's decision (worker.decisions)."""
    append_event(conn, "action.rejected", "proposed_action", str(action_id),
                 {"reviewer": workflow, "kind": kind, "reason": reason},
                 dedupe_key=f"action.decided:{action_id}", created_at=now)


def withdraw(conn: sqlite3.Connection, workflow: str, withdrawals: Sequence[Withdrawal], now: str) -> list[tuple[int, str]]:
    """Reject the still-staged drafts named, each with an action.rejected event; returns (id, kind) of each."""
    closed = []
    for w in withdrawals:
        for action_id, kind in conn.execute(WITHDRAW, {"by": workflow, "now": now, "reason": w.reason,
                                                       "release": w.release_key, "key": w.dedupe_key}).fetchall():
            note_rejected(conn, workflow, action_id, kind, w.reason, now)
            closed.append((action_id, kind))
    return closed


def withdrawn_note(closed: list[tuple[int, str]]) -> str:
    """The sentence the runner adds to an observation about the drafts it withdrew (what the commit found)."""
    if not closed:
        return "No draft was still staged to withdraw."
    return "Withdrawn: " + ", ".join(f"#{action_id} {kind}" for action_id, kind in closed) + "."


def unwanted_now(conn: sqlite3.Connection, proposals: Sequence[Proposal]) -> dict[int, str]:
    """The proposals (by index) whose `wanted`, asked now, says why they are no longer wanted, with that reason."""
    return {i: why for i, p in enumerate(proposals) if p.wanted is not None and (why := p.wanted(conn)) is not None}


def without(output: dict[str, Any], dropped: Sequence[Proposal]) -> dict[str, Any]:
    """The run output without the entries (Proposal.listed) naming the dropped proposals (pure)."""
    for key, value in (p.listed for p in dropped if p.listed):
        output = output | {key: [v for v in output.get(key, []) if v != value]}
    return output


def record_run(conn: sqlite3.Connection, workflow: Workflow, event: Event, result: WorkflowResult | None,
               error: str | None, started: str, finished: str) -> dict[str, int]:
    """Write one handled event's effects and move the cursor; returns counts. Runs in one transaction."""
    dedupe_key = f"{workflow.name}:{event.id}"
    if conn.execute(RUN_DONE, (dedupe_key,)).fetchone():
        advance_cursor(conn, workflow.name, event.id)
        return {"already_done": 1}
    if result is HISTORY:  # an earlier attempt's failed row, if any, concludes; nothing else is written
        conn.execute(CONCLUDE_NOT_APPLICABLE, (started, finished, dedupe_key))
        advance_cursor(conn, workflow.name, event.id)
        return {"history_skipped": 1}
    if result is None and error is None:
        conn.execute(CONCLUDE_NOT_APPLICABLE, (started, finished, dedupe_key))
        advance_cursor(conn, workflow.name, event.id)
        return {"not_applicable": 1}
    closed = withdraw(conn, workflow.name, result.withdrawals, finished) if result and not error else []
    # asked before the run row is written, so its output and observation say what this commit stages
    unwanted = unwanted_now(conn, result.proposals) if result and not error else {}
    output = (result.output | ({"withdrawn": [i for i, _ in closed]} if result.withdrawals else {})) if result else {}
    output = without(output, [result.proposals[i] for i in unwanted]) if result else output
    run_id, attempts = conn.execute(UPSERT_RUN, {
        "workflow": workflow.name, "customer_id": result.customer_id if result else event.payload.get("customer_id"),
        "event_id": event.id, "status": "failed" if error else "ok", "started": started, "finished": finished,
        "error": error, "output": to_json(output), "dedupe_key": dedupe_key,
    }).fetchone()
    if error:
        if attempts >= MAX_ATTEMPTS:
            # The run has concluded (skipped): like an ok run it leaves one observation (SPEC 8), so a reviewer
            # sees the customer's workflow failed. A failure still to be retried has not concluded yet.
            customer = event.payload.get("customer_id")
            if workflow.reflexion and customer:
                conn.execute(INSERT_REFLEXION, (str(customer), json.dumps([workflow.name]),
                                                gave_up_observation(attempts, error), run_id, finished))
            advance_cursor(conn, workflow.name, event.id)
            return {"failed": 1, "gave_up": 1}
        return {"failed": 1, "retry_later": 1}
    assert result is not None
    proposed = redrafted = 0
    for i, p in enumerate(result.proposals):
        if i in unwanted:
            continue
        payload = to_json(p.payload)
        customer = p.customer_id or result.customer_id
        if p.redraft and p.dedupe_key and conn.execute(REDRAFT, (payload, p.risk, customer, run_id, finished, finished,
                                                                 p.dedupe_key)).rowcount:
            redrafted += 1
            continue
        proposed += conn.execute(INSERT_PROPOSAL, (p.kind, customer, payload, p.risk, run_id, p.dedupe_key,
                                                   finished, finished)).rowcount
    if workflow.reflexion and result.customer_id:
        observation = " ".join([result.observation, *unwanted.values(),
                                *([withdrawn_note(closed)] if result.withdrawals else [])])
        conn.execute(INSERT_REFLEXION, (result.customer_id, json.dumps([workflow.name]), observation, run_id, finished))
    advance_cursor(conn, workflow.name, event.id)
    counts = {"ok": 1, "proposed": proposed,
              "deduplicated": len(result.proposals) - proposed - redrafted - len(unwanted)}
    return (counts | ({"redrafted": redrafted} if redrafted else {}) | ({"unwanted": len(unwanted)} if unwanted else {})
            | ({"withdrawn": len(closed)} if closed else {}))


async def _decide(env: Env, workflow: Workflow, event: Event,
                  cutoff: datetime) -> tuple[Event, WorkflowResult | None, str | None, str, str]:
    started = iso(env.clock())
    if await is_history(env, workflow, event, cutoff):
        return event, HISTORY, None, started, started
    result: WorkflowResult | None = None
    error: str | None = None
    token = _CUTOFF.set(cutoff)
    try:
        result = await workflow.handler(env, event)
        if result is not None:
            check_result(result)  # checked before the commit, so it fails this event only
    except Exception as exc:  # recorded in workflow_run_log and retried on later ticks
        log.exception("workflow failed", extra={"workflow": workflow.name, "event_id": event.id})
        result, error = None, f"{type(exc).__name__}: {exc}"
    finally:
        _CUTOFF.reset(token)
    return event, result, error, started, iso(env.clock())


def is_event_error(conn: sqlite3.Connection, exc: Exception) -> bool:
    """Whether a write error is the event's (its own rows refused), not the database's (an outage, a lock).

    When SQLite has already rolled the whole transaction back (disk full, I/O error), it is never the event's.
    """
    if not conn.in_transaction:
        return False
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:  # raised by the sqlite3 module: a value it cannot bind
            return isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError)
        return code & 0xFF in EVENT_ERROR_CODES
    return isinstance(exc, ValueError | TypeError | OverflowError)  # a value neither JSON nor SQLite can hold


def record_runs(conn: sqlite3.Connection, workflow: Workflow,
                decided: list[tuple[Event, WorkflowResult | None, str | None, str, str]]) -> dict[str, int]:
    """Write several handled events' effects in one transaction (one fsync for the whole batch).

    Each event's writes are under a savepoint: SQLite refusing one of its rows undoes only that event's writes,
    and the refusal is recorded as its failed attempt, like a handler's exception. An event to retry later ends
    the batch: the events after it are decided again next tick, as the cursor must not pass it.
    """
    totals: dict[str, int] = {}
    for event, result, error, started, finished in decided:
        conn.execute(EVENT_SAVEPOINT)
        try:
            counts = record_run(conn, workflow, event, result, error, started, finished)
        except Exception as exc:
            if not is_event_error(conn, exc):
                raise  # the database's: the whole batch rolls back and waits for the next tick
            conn.execute(UNDO_EVENT)
            log.exception("workflow failed", extra={"workflow": workflow.name, "event_id": event.id})
            counts = record_run(conn, workflow, event, None, f"{type(exc).__name__}: {exc}", started, finished)
        conn.execute(KEEP_EVENT)
        _add(totals, counts)
        if counts.get("retry_later"):
            break
    return totals


async def run_workflow(env: Env, workflow: Workflow, event: Event) -> dict[str, int]:
    """Handle one event with one workflow and commit its effects."""
    return await env.db.write(record_runs, workflow, [await _decide(env, workflow, event, history_cutoff(env))])


def _keys_of(event: Event) -> set[str]:
    """What an event's decision may read earlier effects of: its customer's, and its record's runs."""
    record = f"{event.entity_type}:{event.entity_id}"
    return {str(event.payload.get("customer_id") or record), record}


async def drain(env: Env, workflows: Sequence[Workflow], *, tick: datetime | None = None, batch: int = 200,
                max_events: int = 5000) -> dict[str, int]:
    """Feed each workflow the events after its cursor, committing decisions in batches.

    Handlers may read their own earlier effects (e.g. "is this situation already planned?"), and an event is
    judged history by its record's runs (is_history), so a batch is committed before a second event of the
    same customer or record is decided (an order reassigned between two events is still one order). Events
    older than [workflows] history_days are counted `history_skipped`. A failing event ends the
    workflow's turn (after committing what came before it), so it is retried first on the next tick.
    A workflow another drain holds is left to it (counted `busy`). With `tick` (a cron run's scheduled
    time), an event that already failed at or after it waits for a later tick (`retry_next_tick`): the
    tiers that fire together spend one of its MAX_ATTEMPTS, not one each.

    A workflow whose turn fails unexpectedly (a bug, a lost lease) does not keep the others from theirs: each
    failure is logged and the first is raised once all have drained. A database outage stops the drain at once.
    """
    totals: dict[str, int] = {}
    since = iso(tick) if tick else None
    failure: Exception | None = None
    for workflow in workflows:
        try:
            if not await env.db.write(_pending, workflow, 1):
                continue  # nothing to do: no lease taken, no write spent
            turn = _drain_one(env, workflow, since, history_cutoff(env, tick), batch, max_events)
            counts = await hold_lease(env, f"workflow:{workflow.name}", WORKFLOW_LEASE_SECONDS, turn)
        except DatabaseUnavailable:
            raise  # every workflow would meet it: all wait for the next tick
        except Exception as exc:
            log.exception("workflow drain failed", extra={"workflow": workflow.name})
            failure = failure or exc
            continue
        _add(totals, {"busy": 1} if counts is None else counts)
    if failure is not None:
        raise failure
    return totals


def _add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value


async def _drain_one(env: Env, workflow: Workflow, since: str | None, cutoff: datetime, batch: int,
                     max_events: int) -> dict[str, int]:
    """One workflow's turn of drain(), under its lease."""
    totals: dict[str, int] = {}

    async def commit(decided: list[Any]) -> dict[str, int]:
        counts = await env.db.write(record_runs, workflow, decided) if decided else {}
        _add(totals, counts)
        return counts

    handled = 0
    while handled < max_events:
        events = await env.db.write(_pending, workflow, batch, since)
        if events is None:
            _add(totals, {"retry_next_tick": 1})
            break
        if not events:
            break
        decided: list[Any] = []
        seen: set[str] = set()
        waiting = False  # an event failed and is retried later: the turn ends, the cursor waits before it
        for event in events:
            if _keys_of(event) & seen:
                waiting = bool((await commit(decided)).get("retry_later"))  # its commit may fail an event
                decided, seen = [], set()
                if waiting:
                    break
            decided.append(await _decide(env, workflow, event, cutoff))
            if decided[-1][1] is not HISTORY:  # history writes nothing a later decision reads: no commit for it
                seen |= _keys_of(event)
            handled += 1
            if decided[-1][2] is not None:
                break  # a failing event ends the batch, committed with what came before it
        counts = await commit(decided)
        if waiting or counts.get("retry_later"):
            break
    return totals
