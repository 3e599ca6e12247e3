"""A new collection plan supersedes the customer's older staged one in the runner's commit, not before it."""

import json

import pytest

from cron.aging import action_plans, refresh_aging
from tests.test_action_plan import at, driscoll
from worker import workflow_runner
from worker.decisions import decide_action, edit_action
from worker.flows.collection_situation import NAME


async def two_plans_due(env) -> None:
    """Plan 1 (email #1, call #2) staged at 61-90; the next tick moves both invoices on to 90+: a new plan."""
    await driscoll(env)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    await refresh_aging(env, at("2026-06-30"))


async def actions(env) -> list[tuple]:
    rows = await env.db.fetchall("SELECT id, kind, status, decided_by, decision_reason FROM proposed_actions "
                                 "ORDER BY id")
    return [tuple(r) for r in rows]


async def last_run(env) -> tuple[dict, str]:
    run = await env.db.fetchone("SELECT output_json FROM workflow_run_log ORDER BY id DESC LIMIT 1")
    obs = await env.db.fetchone("SELECT observation FROM reflexion_log ORDER BY id DESC LIMIT 1")
    return json.loads(run[0]), obs[0]


async def test_a_lost_commit_leaves_the_old_plan_staged_and_the_retry_supersedes_it(env, monkeypatch):
    await two_plans_due(env)
    real = workflow_runner.record_runs

    def killed(*_a, **_k):
        raise RuntimeError("process killed before the runner's commit")

    monkeypatch.setattr(workflow_runner, "record_runs", killed)
    with pytest.raises(RuntimeError):
        await action_plans(env, at("2026-06-30"))
    monkeypatch.setattr(workflow_runner, "record_runs", real)
    assert [a[2] for a in await actions(env)] == ["staged", "staged"]  # nothing closed without the new plan
    await action_plans(env, at("2026-06-30"))
    new_plan = (await env.db.fetchone("SELECT json_extract(payload_json, '$.plan') FROM proposed_actions "
                                      "WHERE status = 'staged' LIMIT 1"))[0]
    reason = f"superseded by plan {new_plan}"
    assert (await actions(env))[:2] == [(1, "send_collection_email", "rejected", NAME, reason),
                                        (2, "schedule_collection_call", "rejected", NAME, reason)]
    events = await env.db.fetchall("SELECT entity_id, payload_json, dedupe_key FROM events "
                                   "WHERE type = 'action.rejected' ORDER BY id")
    assert [(e[0], json.loads(e[1]), e[2]) for e in events] == [
        (str(i), {"reviewer": NAME, "kind": kind, "reason": reason}, f"action.decided:{i}")
        for i, kind in ((1, "send_collection_email"), (2, "schedule_collection_call"))]
    output, observation = await last_run(env)
    assert output["superseded"] == [1, 2] and output["withdrawn"] == [1, 2]
    assert observation.endswith("; supersedes staged proposal(s) #1, #2 of earlier plans. "
                                "Withdrawn: #1 send_collection_email, #2 schedule_collection_call.")


async def test_the_commit_closes_only_what_is_still_staged_then_edited_or_not(env, monkeypatch):
    await two_plans_due(env)
    email = await env.db.fetchone("SELECT updated_at FROM proposed_actions WHERE id = 1")
    await env.db.write(edit_action, 1, "maria", {"subject": "Driscoll: please call us"}, "2026-06-30T11:00:00.000Z",
                       seen=email[0])
    real = workflow_runner.record_runs

    def reviewer_first(conn, *a, **k):
        # Maria rejects the call while the new plan is being drafted: after the handler read the old plan.
        seen = conn.execute("SELECT updated_at FROM proposed_actions WHERE id = 2").fetchone()[0]
        decide_action(conn, 2, "maria", False, "2026-06-30T12:00:30.000Z", seen=seen, reason="called already")
        return real(conn, *a, **k)

    monkeypatch.setattr(workflow_runner, "record_runs", reviewer_first)
    await action_plans(env, at("2026-06-30"))
    old = await actions(env)
    assert old[0][:4] == (1, "send_collection_email", "rejected", NAME)  # edited, yet superseded as before
    assert old[1] == (2, "schedule_collection_call", "rejected", "maria", "called already")  # her decision stands
    subject = await env.db.fetchone("SELECT json_extract(payload_json, '$.subject') FROM proposed_actions WHERE id = 1")
    assert subject[0] == "Driscoll: please call us"  # the edit stays readable on the closed row
    output, observation = await last_run(env)
    assert output["superseded"] == [1, 2] and output["withdrawn"] == [1]
    assert observation.endswith("Withdrawn: #1 send_collection_email.")
