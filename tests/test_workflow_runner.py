"""The workflow runner: at-least-once delivery with idempotent effects, per-customer order, bounded retries."""

import json

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
