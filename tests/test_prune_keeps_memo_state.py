"""The cold tier's workflow_run_log prune keeps the runs holding a credit memo's state the dispute flow reads.

invoice_dispute.AWAITING (awaiting_customer, on the memo's newest run), invoice_dispute.RETRACTED (retracted) and
memo_apply.RETOTALLED (retotalled) read the run log: each scenario behaves the same with a prune between its
two updates as without (cron/housekeeping.py MEMO_STATE_RUN), while runs that hold nothing still go.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cron.housekeeping import (
    OLDEST_WORKFLOW_RUNS,
    prune_workflow_runs,
    prune_workflow_runs_before,
)
from tests.flows_support import apply, customer, proposals, rows
from tests.test_dispute_approval import retotalled
from tests.test_dispute_no_customer import customerless
from tests.test_flows_invoice_dispute import (
    drafts,
    driscoll_and_memo,
    moved,
    ticking,  # noqa: F401 (fixture)
    touch,
    updated,
)
from worker.db import connect
from worker.env import iso
from worker.flows import invoice_dispute
from worker.migrations import apply_schema
from worker.workflow_runner import drain

YEAR_ON = datetime(2027, 12, 3, 3, 0, tzinfo=UTC)  # 13 months on: every run of the scenario is past 365 days
LATER = "2027-12-03T02:00:00Z"  # NetSuite's next edit of the memo, before the prune's night


async def notes(env) -> list[str]:
    return [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")]


async def then(env, prune: bool, change: dict) -> tuple[dict, list[str]]:
    """Prune (or not), apply NetSuite's later edit, drain: the drain's counts and the observations it added."""
    before = len(await notes(env))
    if prune:
        await prune_workflow_runs(env, YEAR_ON)
    await apply(env, change)
    return await drain(env, [invoice_dispute.WORKFLOW]), (await notes(env))[before:]


@pytest.mark.parametrize("prune", [False, True])
async def test_a_memo_posted_without_a_customer_is_drafted_when_it_gets_one_after_a_prune(ticking, prune):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8031")
    await apply(env, {**memo, "record": {k: v for k, v in memo["record"].items() if k != "entity"}})
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    counts, _ = await then(env, prune, updated(memo, LATER))
    assert counts == {"ok": 1, "proposed": 2, "deduplicated": 0}
    assert [(p["kind"], p["status"]) for p in await proposals(env)] == [
        ("log_dispute", "staged"), ("send_dispute_confirmation", "staged")]


@pytest.mark.parametrize("prune", [False, True])
async def test_a_memo_left_without_a_customer_is_drafted_again_when_given_one_back_after_a_prune(ticking, prune):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await apply(env, customerless(memo))
    await drain(env, [invoice_dispute.WORKFLOW])  # withdraws both drafts: awaiting_customer
    counts, _ = await then(env, prune, moved(memo, "1187", LATER))
    assert counts == {"ok": 1, "proposed": 2, "deduplicated": 0}
    assert sorted((p["kind"], p["customer_id"]) for p in await proposals(env) if p["status"] == "staged") == [
        ("log_dispute", "1187"), ("send_dispute_confirmation", "1187")]


@pytest.mark.parametrize("prune", [False, True])
async def test_a_memo_left_without_a_customer_then_given_one_is_drafted_once(ticking, prune):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await apply(env, customerless(memo))
    await drain(env, [invoice_dispute.WORKFLOW])  # withdraws both drafts: retracted and awaiting_customer
    await apply(env, moved(memo, "1187", "2026-11-04T15:00:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["proposed"] == 2  # drafted afresh
    # The run that left it without a customer is kept for its `retracted`: AWAITING must not read it as the latest.
    counts, added = await then(env, prune, updated(moved(memo, "1187"), LATER))
    assert (counts, added) == ({"not_applicable": 1}, [])
    assert sorted(p["kind"] for p in await proposals(env) if p["status"] == "staged") == [
        "log_dispute", "send_dispute_confirmation"]


@pytest.mark.parametrize("prune", [False, True])
async def test_a_new_total_is_named_once_and_the_dispute_log_not_redrafted_again(ticking, prune):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "approved")
    await apply(env, retotalled(memo, 250.0))
    await drain(env, [invoice_dispute.WORKFLOW])  # the log redrafted at $250, the approved email named
    log = (await drafts(env))["log_dispute"]
    counts, added = await then(env, prune, retotalled(memo, 250.0, LATER))
    assert (counts, added) == ({"not_applicable": 1}, [])
    assert (await drafts(env))["log_dispute"]["created_at"] == log["created_at"]  # not redrafted


@pytest.mark.parametrize("prune", [False, True])
async def test_a_void_is_named_once(ticking, prune):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8032")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "approved")
    gone = updated(memo, "2026-11-03T15:00:00Z")
    gone["record"] = {**gone["record"], "status": {"id": "V", "refName": "Voided"}, "total": 0.0}
    await apply(env, gone)
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["ok"] == 1
    counts, added = await then(env, prune, updated(gone, LATER))
    assert (counts, added) == ({"not_applicable": 1}, [])


@pytest.mark.parametrize("prune", [False, True])
async def test_a_move_is_named_once(ticking, prune):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8033")
    await apply(env, customer("2001", "Harbor Bistro", email="ap@harbor.example"), memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "approved")
    await apply(env, moved(memo, "2001"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["ok"] == 1
    counts, added = await then(env, prune, moved(memo, "2001", LATER))
    assert (counts, added) == ({"not_applicable": 1}, [])


# The rule alone, on rows written by hand.

NIGHT = datetime(2027, 12, 3, 3, 0, tzinfo=UTC)
OLD = iso(NIGHT - timedelta(days=400))


def database(tmp_path: Path):
    conn = connect(tmp_path / "prune.sqlite3")
    apply_schema(conn)
    return conn


def write_runs(conn, runs: list[tuple[str, dict, str]]) -> None:
    conn.executemany("INSERT INTO workflow_run_log (workflow, status, started_at, output_json, dedupe_key) "
                     "VALUES (?, ?, ?, ?, ?)",
                     [(w, status, OLD, json.dumps(out), f"r{n}") for n, (w, out, status) in enumerate(runs, 1)])


def left(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT dedupe_key FROM workflow_run_log ORDER BY id")]


def test_per_memo_the_newest_run_of_each_marker_value_and_the_latest_word_stay_and_the_rest_go(tmp_path):
    conn = database(tmp_path)
    conn.executemany("INSERT INTO credit_memo (ns_id, last_modified, deleted_at, cdc_apply_version) "
                     "VALUES (?, 'x', ?, NULL)", [("M-1", None), ("M-2", None), ("M-3", None), ("M-DEL", "x")])
    write_runs(conn, [
        ("w", {"credit_memo_id": "M-1"}, "ok"),  # r1 goes: holds nothing
        ("w", {"credit_memo_id": "M-1", "retotalled": "$250.00"}, "ok"),  # r2 goes: r4 says the same
        ("w", {"credit_memo_id": "M-1", "retracted": "voided"}, "ok"),  # r3 stays
        ("w", {"credit_memo_id": "M-1", "retotalled": "$250.00"}, "ok"),  # r4 stays
        ("w", {"credit_memo_id": "M-1", "retotalled": "$200.00"}, "failed"),  # r5 goes: not a concluded run
        ("other", {"credit_memo_id": "M-1", "retotalled": "$250.00"}, "ok"),  # r6 stays: another workflow
        ("w", {"credit_memo_id": "M-1"}, "ok"),  # r7 stays: M-1's latest word, as it keeps older runs
        ("w", {"credit_memo_id": "M-2", "awaiting_customer": True}, "ok"),  # r8 goes: r9 is later
        ("w", {"credit_memo_id": "M-2"}, "ok"),  # r9 goes: the latest word, but M-2 keeps nothing else
        ("w", {"credit_memo_id": "M-3"}, "ok"),  # r10 goes
        ("w", {"credit_memo_id": "M-3", "awaiting_customer": True}, "ok"),  # r11 stays: M-3 still awaits one
        ("w", {"credit_memo_id": "M-DEL", "retracted": "voided", "awaiting_customer": True}, "ok"),  # r12 goes
        ("w", {"credit_memo_id": "M-GONE", "retracted": "voided"}, "ok"),  # r13 goes: not in the mirror
        ("w", {"sales_order_id": "SO-1"}, "ok"),  # r14 goes
    ])
    cutoff = iso(NIGHT)
    assert prune_workflow_runs_before(conn, cutoff, limit=3) == 3  # kept rows never stop the prune of later ones
    while prune_workflow_runs_before(conn, cutoff, limit=3):
        pass
    assert left(conn) == ["r3", "r4", "r6", "r7", "r11"]
    assert prune_workflow_runs_before(conn, cutoff) == 0  # idempotent
    conn.execute("UPDATE credit_memo SET deleted_at = 'x' WHERE ns_id = 'M-1'")  # deleted: its state matters no more
    assert prune_workflow_runs_before(conn, cutoff) == 4 and left(conn) == ["r11"]
    conn.close()


def test_the_prune_finds_a_memos_runs_by_index(tmp_path):
    conn = database(tmp_path)
    plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + OLDEST_WORKFLOW_RUNS, (10,))]
    assert plan[0] == "SCAN workflow_run_log"  # the oldest rows, in id order: the one scan
    assert [p for p in plan[1:] if p.startswith("SCAN")] == []
    assert sum("USING INDEX workflow_run_log_memo" in p for p in plan) >= 4
    conn.close()
