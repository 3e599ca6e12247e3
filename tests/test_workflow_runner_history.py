"""The workflows act on recent changes, not on history: the age gate of worker/workflow_runner.py.

A first `worker backfill` of years of records appends a created event for each (the ledger records every
change); the workflows mark the old ones handled without a run (`history_skipped`) and act on the recent
ones, and on webhooks, as before. A record a workflow already acted on is finished whatever the age of
the change: an order waiting for its lines, a memo's draft to withdraw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cron.workflows import drain_ledger
from tests import flows_support as flows
from worker.config import ConfigError, Workflows, load_settings
from worker.env import iso
from worker.flows import invoice_dispute, quote_review
from worker.flows.registry import WORKFLOWS
from worker.ledger import append_event
from worker.workflow_runner import ACTED_ON, Workflow, WorkflowResult, drain

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PROGRAMS = ("customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
            "7938,distributor,15,prepaid,30,no\n")
PRICES = flows.PRICING_HEADER + "501,,40.00,CS,,\n"  # 40.00 + 15% = 46.00: every order below quotes 50.00


def ago(days: float) -> str:
    """A CDC last_modified that many days before NOW."""
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(when: str, ev: dict) -> dict:
    return {**ev, "last_modified": when}


def order(ns_id: str, when: str, *, lines: bool = True) -> dict:
    ev = at(when, flows.sales_order(ns_id, "7938", [("501", 10, 50.0)], tran_date=when[:10]))
    if not lines:  # as NetSuite REST sends it when the item sublist was not expanded
        ev["record"] = {**ev["record"], "item": {"links": [{"rel": "self", "href": "…/item"}]}}
    return ev


def invoice(ns_id: str, when: str) -> dict:
    return at(when, flows.event("invoice", {"id": ns_id, "tranId": f"INV-{ns_id}", "tranDate": when[:10],
                                            "entity": flows.ref("7938"), "total": 500.0, "amountRemaining": 0.0}))


def memo(ns_id: str, against: str, when: str) -> dict:
    return at(when, flows.event("creditmemo", {
        "id": ns_id, "tranId": f"CM-{ns_id}", "tranDate": when[:10], "entity": flows.ref("7938"), "total": 80.0,
        "amountRemaining": 0.0, "memo": "Damaged", "createdFrom": flows.ref(against),
        "apply": {"items": [{"apply": True, "doc": {"id": against}, "amount": 80.0}]}}))


def update(ev: dict, when: str, **record: object) -> dict:
    return {**ev, "event_id": f"{ev['event_id']}-{when}", "operation": "update", "last_modified": when,
            "record": {**ev["record"], **record}}


@pytest.fixture
async def ryan(env, tmp_path):
    """env at NOW with history_days = 30 (the default) and a customer with prices to review orders against."""
    env.clock = lambda: NOW
    env.settings = env.settings.model_copy(update={"workflows": Workflows(history_days=30)})
    await flows.load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, pricing_master__csv=PRICES)
    return env


def backfill(env, export: list[dict], tmp_path: Path) -> None:
    """The real `worker backfill` command on the test's database."""
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in export))
    environ = {**os.environ, "WORKER_DB_PATH": str(env.settings.db.path)}
    done = subprocess.run([sys.executable, "-m", "worker.cli", "backfill", str(path)], cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"applied {len(export)}," in done.stdout


async def test_a_backfill_of_history_proposes_nothing_about_it_but_acts_on_its_recent_records_and_webhooks(
        ryan, tmp_path):
    env = ryan
    export = [at("2024-01-05T10:00:00Z", flows.customer("7938", "Ryan Test Co.", email="ap@ryan.example")),
              invoice("1227", "2024-03-01T10:00:00Z"), memo("3001", "1227", "2024-03-15T10:00:00Z"),
              order("9001", "2024-02-01T10:00:00Z"),
              order("9002", ago(31)),  # just past the 30 days
              invoice("1300", ago(20)), memo("3002", "1300", ago(2)), order("9003", ago(29))]
    backfill(env, export, tmp_path)
    counts = await drain(env, WORKFLOWS)
    # Old: order 9001 and 9002 (price review, assembly check), memo 3001 (dispute). Recent: 9003, memo 3002.
    assert counts["history_skipped"] == 5
    assert (counts["ok"], counts["proposed"]) == (2, 3)
    proposed = [(p["kind"], p["payload"].get("sales_order_id") or p["payload"].get("credit_memo_id"))
                for p in await flows.proposals(env)]
    assert sorted(proposed) == [("log_dispute", "3002"), ("review_quote_pricing", "9003"),
                                ("send_dispute_confirmation", "3002")]
    runs = await flows.rows(env, "SELECT workflow, json_extract(output_json, '$.sales_order_id') so, "
                                 "json_extract(output_json, '$.credit_memo_id') cm FROM workflow_run_log")
    assert {r["so"] or r["cm"] for r in runs} <= {"9003", "3002"}  # no run, hence no observation, for history
    notes = await flows.rows(env, "SELECT observation FROM reflexion_log")
    assert not [n for n in notes if any(old in n["observation"] for old in ("9001", "9002", "3001"))]
    assert await drain(env, WORKFLOWS) == {}  # every event handled once: the history is never looked at again

    # A webhook for a new order, while or after the backfill: reviewed as before.
    await flows.apply(env, order("9004", ago(0.01)))
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0}


async def test_events_without_a_change_date_are_never_history_and_a_failed_old_one_concludes(ryan):
    env = ryan
    seen = []

    async def handle(env_, event):
        seen.append(event.entity_id)
        if event.entity_id == "flaky":
            raise RuntimeError("not yet")
        return WorkflowResult(None, "noted")

    workflow = Workflow("watcher", ("thing.changed",), handle)

    def append(conn, entity_id, payload):
        return append_event(conn, "thing.changed", "thing", entity_id, payload)

    await env.db.write(append, "flaky", {"last_modified": iso(NOW - timedelta(days=1))})
    assert await drain(env, [workflow]) == {"failed": 1, "retry_later": 1}
    env.clock = lambda: NOW + timedelta(days=40)  # the drain stalled: its change is history now
    for entity_id, payload in (("old", {"last_modified": "2025-01-01T00:00:00.000Z"}),
                               ("tier", {"customer_id": "7938", "to": "red"}),  # no date: always news
                               ("odd", {"last_modified": "yesterday"}),  # unreadable: news
                               ("new", {"last_modified": iso(NOW + timedelta(days=39))})):
        await env.db.write(append, entity_id, payload)
    assert await drain(env, [workflow]) == {"history_skipped": 2, "ok": 3, "proposed": 0, "deduplicated": 0}
    assert seen == ["flaky", "tier", "odd", "new"]
    runs = await flows.rows(env, "SELECT trigger_event_id, status, error FROM workflow_run_log ORDER BY id")
    assert [(r["trigger_event_id"], r["status"], r["error"]) for r in runs] == [
        (1, "not_applicable", None), (3, "ok", None), (4, "ok", None), (5, "ok", None)]


async def test_an_order_the_workflow_waits_on_is_reviewed_once_when_its_lines_come_however_late(ryan):
    env = ryan
    await flows.apply(env, at(ago(60), flows.customer("7938", "Ryan Test Co.")))
    waiting, old = order("9201", ago(3), lines=False), order("9202", "2024-05-01T10:00:00Z", lines=False)
    await flows.apply(env, waiting, old)
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                        "history_skipped": 1}  # 9201 waits, 9202 is history
    lines = order("9201", ago(2))["record"]["item"]
    await flows.apply(env, update(waiting, ago(2), item=lines),
                      update(old, ago(1), item=order("9202", ago(1))["record"]["item"]))
    env.clock = lambda: NOW + timedelta(days=45)  # the drain comes 45 days late: both changes are old now
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0,
                                                        "history_skipped": 1}
    assert [p["payload"]["sales_order_id"] for p in await flows.proposals(env)] == ["9201"]
    await flows.apply(env, update(waiting, ago(-44), status=flows.ref("G", "Billed")))
    assert await drain(env, [quote_review.WORKFLOW]) == {"not_applicable": 1}  # reviewed once


async def test_a_draft_for_a_memo_is_withdrawn_however_old_its_deletion(ryan):
    env = ryan
    await flows.apply(env, at(ago(60), flows.customer("7938", "Ryan Test Co.", email="ap@ryan.example")),
                      invoice("1300", ago(20)))
    posted = memo("3002", "1300", ago(2))
    await flows.apply(env, posted)
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["proposed"] == 2
    gone = {**posted, "event_id": f"{posted['event_id']}-deleted", "operation": "delete", "record": None,
            "last_modified": ago(1)}
    await flows.apply(env, gone)
    env.clock = lambda: NOW + timedelta(days=45)
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["withdrawn"] == 2
    assert {p["status"] for p in await flows.proposals(env)} == {"rejected"}


async def test_a_run_as_of_an_earlier_day_judges_history_from_that_day_not_from_the_real_clock(ryan):
    env = ryan
    await flows.apply(env, at(ago(60), flows.customer("7938", "Ryan Test Co.")), order("9301", ago(40)))
    as_of = NOW - timedelta(days=20)  # `worker cron --as-of`: the order is 20 days old then, 40 now
    assert await drain_ledger(env, as_of) == {"ok": 1, "proposed": 1, "deduplicated": 0, "not_applicable": 1}
    assert [p["payload"]["sales_order_id"] for p in await flows.proposals(env)] == ["9301"]
    await flows.apply(env, order("9302", ago(40)))
    assert await drain_ledger(env, NOW) == {"history_skipped": 2}  # as of now, the same age is history


async def test_the_memo_lookup_of_the_history_gate_uses_an_index(ryan):
    plan = await ryan.db.fetchall("EXPLAIN QUERY PLAN " + ACTED_ON.format(key="credit_memo_id"), ("x", "3001"))
    assert any("USING INDEX workflow_run_log_memo" in row[-1] for row in plan), plan


def test_history_days_defaults_to_30_and_must_be_a_positive_number_of_days(tmp_path):
    assert load_settings(REPO / "wrangler-like.toml", environ={}).workflows.history_days == 30
    toml = (REPO / "wrangler-like.toml").read_text()
    assert "\n[workflows]\nhistory_days = 30\n" in toml
    path = tmp_path / "wrangler-like.toml"
    path.write_text(toml.replace("\n[workflows]\nhistory_days = 30\n", "\n"))  # a file without the block
    assert load_settings(path, environ={}).workflows.history_days == 30
    path.write_text(toml.replace("history_days = 30", "history_days = 7"))
    assert load_settings(path, environ={}).workflows.history_days == 7
    for bad in ("0", "-1", "1.5", "36501"):
        path.write_text(toml.replace("history_days = 30", f"history_days = {bad}"))
        with pytest.raises(ConfigError, match="workflows.history_days"):
            load_settings(path, environ={})
