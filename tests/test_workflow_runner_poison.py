"""Poison events: a result SQLite cannot store fails that event alone, never the batch, the drain or the tier.

Python's json writes a non-finite float as the bare token `Infinity`/`NaN`, which SQLite's json functions refuse
(the json_extract indexes on workflow_run_log turn the INSERT into "malformed JSON"). Such a result, or any row of
one event's that SQLite refuses in the commit, is that event's failed attempt: retried, then given up with its run
row, while the events around it and the other workflows of the drain go on.
"""

import json
import math

import pytest

from worker import workflow_runner
from worker.db import DatabaseUnavailable
from worker.ledger import append_event
from worker.workflow_runner import (
    MAX_ATTEMPTS,
    Proposal,
    Withdrawal,
    Workflow,
    WorkflowResult,
    drain,
)

INF_ERROR = "ValueError: Out of range float values are not JSON compliant"


async def add_events(env, *customers):
    def write(conn):
        for n, customer in enumerate(customers):
            append_event(conn, "test.happened", "customer", customer, {"customer_id": customer, "n": n})
    await env.db.write(write)


async def runs(env):
    return [tuple(r) for r in await env.db.fetchall(
        f"SELECT workflow, customer_id, status, attempts, substr(error, 1, {len(INF_ERROR)}) FROM workflow_run_log "
        "ORDER BY id")]


async def cursor(env, name):
    row = await env.db.fetchone("SELECT last_event_id FROM event_cursors WHERE consumer = ?", (name,))
    return row[0] if row else None


async def all_json_valid(env):
    """Every stored output and payload is JSON SQLite reads (json_extract over them would raise otherwise)."""
    bad = await env.db.fetchone("SELECT (SELECT count(*) FROM workflow_run_log WHERE NOT json_valid(output_json))"
                                " + (SELECT count(*) FROM proposed_actions WHERE NOT json_valid(payload_json))")
    return bad[0] == 0


def pricing(name, poison):
    """A workflow whose result for customer BAD carries float `poison` in its output or its proposal."""

    async def handle(env_, event):
        customer = event.payload["customer_id"]
        rate = poison if customer == "BAD" else 40.0
        return WorkflowResult(customer, f"priced {customer}", [Proposal("call_task", {"rate": rate},
                                                                         dedupe_key=f"{name}:{customer}")],
                              output={"sales_order_id": customer, "rate": rate})

    return Workflow(name, ("test.happened",), handle)


@pytest.mark.parametrize("poison", [math.inf, -math.inf, math.nan])
async def test_a_non_finite_result_fails_its_event_only_and_is_given_up_after_the_limit(env, poison):
    workflow = pricing("pricing", poison)
    await add_events(env, "A", "BAD", "C")
    for tick in range(1, MAX_ATTEMPTS):
        assert await drain(env, [workflow]) == (
            {"ok": 1, "proposed": 1, "deduplicated": 0, "failed": 1, "retry_later": 1} if tick == 1
            else {"failed": 1, "retry_later": 1}), tick
        assert await cursor(env, "pricing") == 1  # waits before BAD: retried first on the next tick
    counts = await drain(env, [workflow])
    assert counts == {"failed": 1, "gave_up": 1, "ok": 1, "proposed": 1, "deduplicated": 0}  # then C, at last
    assert await runs(env) == [("pricing", "A", "ok", 1, None), ("pricing", "BAD", "failed", MAX_ATTEMPTS, INF_ERROR),
                               ("pricing", "C", "ok", 1, None)]
    assert await cursor(env, "pricing") == 3
    bad = await env.db.fetchone("SELECT output_json FROM workflow_run_log WHERE customer_id = 'BAD'")
    assert json.loads(bad[0]) == {}  # nothing of the refused result is stored, not even as a string
    observation = await env.db.fetchone("SELECT observation FROM reflexion_log WHERE entity_id = 'BAD'")
    assert observation[0].startswith(f"run failed {MAX_ATTEMPTS} times and was skipped: {INF_ERROR}")
    assert [r[0] for r in await env.db.fetchall("SELECT dedupe_key FROM proposed_actions ORDER BY id")] == [
        "pricing:A", "pricing:C"]  # the proposal carrying inf was never committed
    assert await all_json_valid(env)
    # the json_extract indexes still answer, and the history gate's lookup with them
    assert (await env.db.fetchone("SELECT count(*) FROM workflow_run_log "
                                  "WHERE workflow = 'pricing' AND json_extract(output_json, '$.sales_order_id') = 'C'"
                                  ))[0] == 1
    assert await drain(env, [workflow]) == {}


async def test_a_redraft_or_a_decimal_carrying_infinity_is_refused_too_and_the_draft_stays(env):
    from decimal import Decimal

    payloads = {1: {"body": "first"}, 2: {"body": "second", "amount": math.inf},
                3: {"body": "third", "amount": Decimal("Infinity")}}

    async def drafting(env_, event):
        return WorkflowResult("A", "drafted", [Proposal("call_task", payloads[event.id], dedupe_key="draft:A",
                                                        redraft=True)])

    workflow = Workflow("drafting", ("test.happened",), drafting)
    await add_events(env, "A", "A", "A")
    for _ in range(2 * MAX_ATTEMPTS - 1):  # the third attempt at event 2 gives it up and tries event 3 once
        await drain(env, [workflow])
    assert await runs(env) == [("drafting", "A", "ok", 1, None), ("drafting", "A", "failed", MAX_ATTEMPTS, INF_ERROR),
                               ("drafting", "A", "failed", MAX_ATTEMPTS, INF_ERROR.replace("float", "Decimal")[:len(INF_ERROR)])]
    [draft] = await env.db.fetchall("SELECT payload_json FROM proposed_actions")
    assert json.loads(draft[0]) == {"body": "first"}  # never replaced by a draft SQLite could not read
    assert await all_json_valid(env)


async def test_a_row_sqlite_refuses_in_the_commit_fails_that_event_alone_with_its_other_writes_undone(
        env, monkeypatch):
    """SQLite refuses BAD's run row (malformed JSON under the json_extract indexes: the serialiser of old, which
    let `Infinity` through, stands in for any row of one event's that SQLite refuses). Only BAD's writes are
    undone, its withdrawal of A's draft with them; A's effects in the same batch commit; BAD is counted, retried
    and given up like a handler's failure, with its run row and observation."""
    monkeypatch.setattr(workflow_runner, "check_result", lambda result: None)
    monkeypatch.setattr(workflow_runner, "to_json", lambda value: json.dumps(value, default=str))

    async def handle(env_, event):
        customer = event.payload["customer_id"]
        if customer == "BAD":
            return WorkflowResult(customer, "bad", output={"sales_order_id": "9001", "rate": math.inf},
                                  withdrawals=[Withdrawal("draft:A", "gone")])
        return WorkflowResult(customer, f"fine {customer}", [Proposal("call_task", {}, dedupe_key=f"draft:{customer}")])

    workflow = Workflow("commits", ("test.happened",), handle)
    await add_events(env, "A", "BAD", "C")
    assert await drain(env, [workflow]) == {"ok": 1, "proposed": 1, "deduplicated": 0, "failed": 1, "retry_later": 1}
    assert await runs(env) == [("commits", "A", "ok", 1, None),
                               ("commits", "BAD", "failed", 1, "OperationalError: malformed JSON")]
    assert [tuple(r) for r in await env.db.fetchall("SELECT dedupe_key, status FROM proposed_actions")] == [
        ("draft:A", "staged")]  # BAD's withdrawal went with its refused commit
    assert [r[0] for r in await env.db.fetchall("SELECT observation FROM reflexion_log")] == ["fine A"]
    assert await cursor(env, "commits") == 1  # C was decided too, but waits: the cursor never passes BAD
    for _ in range(MAX_ATTEMPTS - 1):
        counts = await drain(env, [workflow])
    assert counts == {"failed": 1, "gave_up": 1, "ok": 1, "proposed": 1, "deduplicated": 0}
    assert await runs(env) == [("commits", "A", "ok", 1, None),
                               ("commits", "BAD", "failed", MAX_ATTEMPTS, "OperationalError: malformed JSON"),
                               ("commits", "C", "ok", 1, None)]
    assert [r[0] for r in await env.db.fetchall("SELECT observation FROM reflexion_log ORDER BY id")] == [
        "fine A", f"run failed {MAX_ATTEMPTS} times and was skipped: OperationalError: malformed JSON", "fine C"]
    assert await cursor(env, "commits") == 3 and await all_json_valid(env)


async def test_a_refused_commit_midway_through_a_batch_keeps_the_cursor_before_the_refused_event(env, monkeypatch):
    """C's second event commits the batch so far (BAD, C) before it is decided: BAD refused there ends the turn,
    so neither C event is recorded past it."""
    monkeypatch.setattr(workflow_runner, "check_result", lambda result: None)
    monkeypatch.setattr(workflow_runner, "to_json", lambda value: json.dumps(value, default=str))
    decided = []

    async def handle(env_, event):
        decided.append(event.id)
        customer = event.payload["customer_id"]
        return WorkflowResult(customer, "seen", output={"rate": math.inf if customer == "BAD" else 1.0})

    workflow = Workflow("midway", ("test.happened",), handle)
    await add_events(env, "BAD", "C", "C")
    assert await drain(env, [workflow]) == {"failed": 1, "retry_later": 1}
    assert decided == [1, 2] and await cursor(env, "midway") is None
    assert await runs(env) == [("midway", "BAD", "failed", 1, "OperationalError: malformed JSON")]


async def test_other_workflows_of_the_drain_still_run_after_a_poisoned_or_broken_one(env, monkeypatch):
    seen = []

    async def fine(env_, event):
        seen.append(event.id)
        return WorkflowResult(event.payload["customer_id"], "fine")

    await add_events(env, "BAD", "C")
    poisoned, later = pricing("pricing", math.inf), Workflow("later", ("test.happened",), fine)
    counts = await drain(env, [poisoned, later])  # the poisoned event is that workflow's business alone
    assert counts["failed"] == 1 and counts["ok"] == 2 and seen == [1, 2]
    assert await cursor(env, "later") == 2

    real = workflow_runner.record_runs

    def broken_commit(conn, workflow, decided):
        if workflow.name == "broken":
            raise RuntimeError("a bug in the commit")
        return real(conn, workflow, decided)

    monkeypatch.setattr(workflow_runner, "record_runs", broken_commit)
    await add_events(env, "D")
    with pytest.raises(RuntimeError, match="a bug in the commit"):  # still reported, as before
        await drain(env, [Workflow("broken", ("test.happened",), fine), later])
    assert seen[-1] == 3 and await cursor(env, "later") == 3  # but the workflow after it drained first
    assert await cursor(env, "broken") is None


async def test_a_database_outage_in_the_commit_stops_the_drain_and_costs_no_event_an_attempt(env):
    """Disk full while committing (a page limit on the writer): nobody's event; the batch waits for the next tick."""
    big = "x" * 200_000  # needs pages the limit does not allow

    async def handle(env_, event):
        return WorkflowResult(event.payload["customer_id"], "fine", output={"note": big})

    workflow = Workflow("outage", ("test.happened",), handle)
    await add_events(env, "A", "B")
    pages = await env.db.write_unlocked(lambda conn: conn.execute("PRAGMA page_count").fetchone()[0])
    await env.db.write_unlocked(lambda conn: conn.execute(f"PRAGMA max_page_count = {pages}"))
    try:
        with pytest.raises(DatabaseUnavailable, match="full"):
            await drain(env, [workflow])
    finally:
        await env.db.write_unlocked(lambda conn: conn.execute("PRAGMA max_page_count = 1073741823"))
    assert await runs(env) == [] and await cursor(env, "outage") is None  # no attempt counted, nothing moved
    assert await drain(env, [workflow]) == {"ok": 2, "proposed": 0, "deduplicated": 0}
