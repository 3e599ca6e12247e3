"""The workflow runner: at-least-once delivery with idempotent effects, per-customer order, bounded retries."""

import json

from worker.decisions import decide_action, edit_action
from worker.ledger import append_event
from worker.workflow_runner import MAX_ATTEMPTS, Proposal, Workflow, WorkflowResult, drain


async def add_events(env, *customers):
    def write(conn):
        for n, customer in enumerate(customers):
            append_event(conn, "test.happened", "customer", customer, {"customer_id": customer, "n": n})
    await env.db.write(write)


def planner(seen):
    """Proposes once per customer, reading its own earlier effects like ar_aging_action_plan does."""

    async def handle(env, event):
        customer = event.payload["customer_id"]
        seen.append(event.id)
        row = await env.db.fetchone("SELECT count(*) FROM proposed_actions WHERE customer_id = ?", (customer,))
        if row[0]:
            return None  # this customer already has a plan
        return WorkflowResult(customer, f"planned {customer}",
                              [Proposal("call_task", {"note": customer}, dedupe_key=f"plan:{customer}")])

    return Workflow("planner", ("test.happened",), handle)


async def test_effects_once_and_same_customer_sees_its_earlier_effects(env):
    seen = []
    await add_events(env, "A", "B", "A", "C", "B")
    counts = await drain(env, [planner(seen)])
    assert counts == {"ok": 3, "proposed": 3, "deduplicated": 0, "not_applicable": 2}
    runs = await env.db.fetchall("SELECT customer_id, status FROM workflow_run_log ORDER BY id")
    assert [tuple(r) for r in runs] == [("A", "ok"), ("B", "ok"), ("C", "ok")]
    reflexion = await env.db.fetchall("SELECT entity_id, tags_json, status FROM reflexion_log ORDER BY id")
    assert [(r[0], json.loads(r[1]), r[2]) for r in reflexion] == [
        ("A", ["planner"], "needs_review"), ("B", ["planner"], "needs_review"), ("C", ["planner"], "needs_review")]
    assert await drain(env, [planner(seen)]) == {}  # the cursor moved: nothing is handled twice
    assert len(seen) == 5


async def test_a_failing_event_is_retried_then_given_up_without_blocking_forever(env):
    calls = []

    async def flaky(env_, event):
        calls.append(event.id)
        if event.payload["customer_id"] == "BAD":
            raise RuntimeError("NetSuite said no")
        return WorkflowResult(event.payload["customer_id"], "fine")

    workflow = Workflow("flaky", ("test.happened",), flaky)
    await add_events(env, "A", "BAD", "C")
    for tick in range(1, MAX_ATTEMPTS + 1):
        counts = await drain(env, [workflow])
        assert counts["failed"] == 1, (tick, counts)
    assert counts.get("gave_up") == 1 and counts.get("ok") == 1  # C handled once BAD was given up
    row = await env.db.fetchone("SELECT status, attempts, error FROM workflow_run_log WHERE customer_id = 'BAD'")
    assert tuple(row) == ("failed", MAX_ATTEMPTS, "RuntimeError: NetSuite said no")
    assert calls.count(1) == 1 and calls.count(3) == 1  # A and C were decided once each


async def test_a_run_given_up_for_a_customer_leaves_one_observation_naming_the_failure(env):
    async def broken(env_, event):
        raise RuntimeError(f"boom {event.payload.get('customer_id')}")

    workflow = Workflow("broken", ("test.happened",), broken)
    await add_events(env, "1187")
    await env.db.write(lambda conn: append_event(conn, "test.happened", "invoice", "9", {"n": 9}))  # no customer
    observations = "SELECT entity_type, entity_id, tags_json, observation, status, workflow_run_id FROM reflexion_log"
    for _ in range(MAX_ATTEMPTS - 1):
        assert (await drain(env, [workflow]))["retry_later"] == 1
        assert await env.db.fetchall(observations) == []  # retried later: the run has not concluded yet
    counts = await drain(env, [workflow])
    assert counts["gave_up"] == 1
    [row] = await env.db.fetchall(observations)
    run_id = (await env.db.fetchone("SELECT id FROM workflow_run_log WHERE customer_id = '1187'"))[0]
    assert tuple(row) == ("customer", "1187", '["broken"]',
                          f"run failed {MAX_ATTEMPTS} times and was skipped: RuntimeError: boom 1187",
                          "needs_review", run_id)
    for _ in range(MAX_ATTEMPTS):  # the event without a customer is given up too, with no observation
        await drain(env, [workflow])
    assert len(await env.db.fetchall(observations)) == 1
    assert (await env.db.fetchone("SELECT count(*) FROM workflow_run_log WHERE status = 'failed'"))[0] == 2



async def test_a_failed_event_found_not_applicable_on_its_retry_concludes_its_run(env):
    """Failed once, then not the workflow's business (e.g. already planned meanwhile): the run row says so."""
    attempts = []

    async def handle(env_, event):
        attempts.append(event.id)
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        # then None: not this workflow's business any more

    workflow = Workflow("flaky_na", ("test.happened",), handle)
    await add_events(env, "A")
    assert await drain(env, [workflow]) == {"failed": 1, "retry_later": 1}
    assert await drain(env, [workflow]) == {"not_applicable": 1}
    row = await env.db.fetchone("SELECT status, error, finished_at, attempts FROM workflow_run_log")
    assert (row["status"], row["error"], row["attempts"]) == ("not_applicable", None, 2) and row["finished_at"]
    assert await drain(env, [workflow]) == {} and len(attempts) == 2
    assert await env.db.fetchall("SELECT * FROM reflexion_log") == []  # no observation: nothing was concluded about A

async def test_a_redraft_replaces_only_a_staged_draft_nobody_touched(env):
    bodies = iter(["first", "second", "third", "fourth"])

    async def drafting(env_, event):
        return WorkflowResult("A", "drafted", [Proposal("send_dispute_confirmation", {"body": next(bodies)},
                                                        dedupe_key="email:A", redraft=True)])

    workflow = Workflow("drafting", ("test.happened",), drafting)
    draft = "SELECT id, status, json_extract(payload_json, '$.body'), workflow_run_id FROM proposed_actions"
    runs = "SELECT id FROM workflow_run_log ORDER BY id"
    await add_events(env, "A")
    assert await drain(env, [workflow]) == {"ok": 1, "proposed": 1, "deduplicated": 0}  # nothing to replace yet
    [(action, *_)] = await env.db.fetchall(draft)
    await add_events(env, "A")
    assert await drain(env, [workflow]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "redrafted": 1}
    assert [tuple(r) for r in await env.db.fetchall(draft)] == [
        (action, "staged", "second", (await env.db.fetchall(runs))[-1][0])]  # the same row, never a second draft
    # a person's edit (like a decision) moves updated_at: the draft is theirs from then on
    seen = (await env.db.fetchone("SELECT updated_at FROM proposed_actions"))[0]
    await env.db.write(edit_action, action, "mike", {"body": "mine"}, "2030-01-01T00:00:00.000Z", seen=seen)
    await add_events(env, "A")
    assert await drain(env, [workflow]) == {"ok": 1, "proposed": 0, "deduplicated": 1}
    await env.db.write(decide_action, action, "mike", True, "2030-01-01T00:01:00.000Z", seen="2030-01-01T00:00:00.000Z")
    await add_events(env, "A")
    assert await drain(env, [workflow]) == {"ok": 1, "proposed": 0, "deduplicated": 1}
    assert [tuple(r)[:3] for r in await env.db.fetchall(draft)] == [(action, "approved", "mine")]


async def test_a_withdrawal_closes_only_a_draft_still_staged_when_the_run_commits(env):
    from worker.workflow_runner import Withdrawal

    async def drafting(env_, event):
        return WorkflowResult("A", "drafted", [Proposal("call_task", {"note": "call"}, dedupe_key=f"call:{event.id}")])

    async def withdrawing(env_, event):  # decided from a read: a person may approve before the commit
        keys = [f"call:{n}" for n in (1, 2)]
        return WorkflowResult("A", "Record deleted.", withdrawals=[Withdrawal(k, "withdrawn: gone") for k in keys])

    await add_events(env, "A", "A")
    await drain(env, [Workflow("drafting", ("test.happened",), drafting)])
    calls = "SELECT id, status, decided_by, decision_reason FROM proposed_actions ORDER BY id"
    [(first, *_), (second, *_)] = await env.db.fetchall(calls)
    seen = (await env.db.fetchone("SELECT updated_at FROM proposed_actions WHERE id = ?", (second,)))[0]
    await env.db.write(decide_action, second, "mike", True, "2030-01-01T00:00:00.000Z", seen=seen)
    await add_events(env, "A")
    counts = await drain(env, [Workflow("withdrawing", ("test.happened",), withdrawing)])
    assert counts == {"ok": 3, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert [tuple(r) for r in await env.db.fetchall(calls)] == [
        (first, "rejected", "withdrawing", "withdrawn: gone"), (second, "approved", "mike", None)]
    notes = [r[0] for r in await env.db.fetchall("SELECT observation FROM reflexion_log ORDER BY id")][-3:]
    nothing = "Record deleted. No draft was still staged to withdraw."
    assert notes == [f"Record deleted. Withdrawn: #{first} call_task.", nothing, nothing]
    events = await env.db.fetchall("SELECT entity_id FROM events WHERE type = 'action.rejected'")
    assert [r[0] for r in events] == [str(first)]
