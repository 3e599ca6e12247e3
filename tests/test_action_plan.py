"""ar_aging_action_plan through the real runner: triggers, the three proposals, dedupe, logs, Claude drafting."""

import json
from datetime import UTC, datetime

import httpx2 as httpx

from cron.aging import action_plans, refresh_aging
from cron.health import score_customers
from tests import ar_fixtures as fx
from tests.claude_support import mock_claude
from worker.drafting import TOOL_NAME
from worker.flows.ar_aging_action_plan import NAME


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


async def driscoll(env, *, credit_limit=100_000.0):
    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscollfoods.com", credit_limit=credit_limit)
        fx.contact(conn, "c1", "1187", "Maria Lopez", "maria@driscollfoods.com", title="Accounts Payable")
        fx.contact(conn, "c2", "1187", "Sam Buyer", "sam@driscollfoods.com", title="Purchasing")
        conn.execute("UPDATE customer_contacts SET phone = '+1 973 555 0101' WHERE ns_id = 'c1'")
        fx.invoice(conn, "9001", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=12_840.5)
        fx.invoice(conn, "9002", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=2_300.0)
        fx.invoice(conn, "9003", "1187", tran_date="2026-05-20", due_date="2026-06-19", total=5_000.0)
    await env.db.write(rows)


async def staged(env):
    rows = await env.db.fetchall("SELECT kind, customer_id, risk, payload_json, dedupe_key FROM proposed_actions "
                                 "WHERE status = 'staged' ORDER BY id")
    return [dict(r, payload=json.loads(r["payload_json"])) for r in rows]


async def test_reaching_61_proposes_email_and_call_once_for_two_invoices(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-05-30"))  # baseline: 9001/9002 are 60 days past due (31-60)
    await refresh_aging(env, at("2026-05-31"))  # both reach 61-90 the same tick: two events
    counts = await action_plans(env, at("2026-05-31"))
    assert counts["ok"] == 1 and counts["proposed"] == 2
    actions = await staged(env)
    assert [a["kind"] for a in actions] == ["send_collection_email", "schedule_collection_call"]
    email, call = (a["payload"] for a in actions)
    assert all(a["risk"] == 3 and a["customer_id"] == "1187" for a in actions)
    assert email["to"] == "maria@driscollfoods.com" and email["drafted_by"] == "template"
    assert [i["invoice_id"] for i in email["invoices"]] == ["9001", "9002"]  # past due only, oldest first
    assert "INV9001" in email["body"] and "$15,140.50" in email["subject"]
    assert call["phone"] == "+1 973 555 0101" and call["contact_name"] == "Maria Lopez"
    assert call["talking_points"][0].startswith("2 invoice(s) past due, $15,140.50; oldest INV9001 is 61 days")
    runs = await env.db.fetchall("SELECT workflow, customer_id, status FROM workflow_run_log")
    assert [tuple(r) for r in runs] == [(NAME, "1187", "ok")]  # the second event found the plan in place
    obs = await env.db.fetchone("SELECT entity_id, tags_json, status, observation FROM reflexion_log")
    assert obs["entity_id"] == "1187" and json.loads(obs["tags_json"]) == [NAME] and obs["status"] == "needs_review"
    assert "worst 61-90" in obs["observation"]


async def test_unchanged_situation_is_not_reproposed_but_90_plus_is_a_new_plan(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-05-30"))
    for minute in (0, 15, 30):
        await refresh_aging(env, at("2026-05-31", 12, minute))
        await action_plans(env, at("2026-05-31"))
    assert len(await staged(env)) == 2
    await refresh_aging(env, at("2026-06-30"))  # both move on to 90+ (91 days): a new situation
    await action_plans(env, at("2026-06-30"))
    actions = await staged(env)
    kinds = [a["kind"] for a in actions]
    assert kinds == ["send_collection_email", "schedule_collection_call",
                     "send_collection_email", "schedule_collection_call", "service_hold"]
    assert actions[-1]["payload"]["reason"] == "75% of open AR is more than 90 days past due"
    assert len({a["payload"]["plan"] for a in actions}) == 2


async def test_over_credit_limit_adds_a_service_hold(env):
    await driscoll(env, credit_limit=10_000.0)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    hold = [a for a in await staged(env) if a["kind"] == "service_hold"]
    assert hold[0]["payload"]["reason"] == "open AR $20,140.50 is over the credit limit $10,000.00"


async def test_moves_below_61_and_other_events_are_not_its_business(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-03-31"))
    await refresh_aging(env, at("2026-04-01"))  # 9001/9002 current -> 1-30
    counts = await action_plans(env, at("2026-04-01"))
    assert counts == {"not_applicable": 2} and await staged(env) == []


async def test_turning_red_triggers_a_plan_through_the_cold_tier(env):
    await driscoll(env)
    def trouble(conn):
        fx.credit_memo(conn, "cm1", "1187", "2026-06-01", 500, invoice_id="9001")
        fx.credit_memo(conn, "cm2", "1187", "2026-06-20", 300, invoice_id="9002")
        fx.credit_memo(conn, "cm3", "1187", "2026-06-21", 300, invoice_id="9003")
        fx.order(conn, "so1", "1187", "2026-01-05")
        fx.order(conn, "so2", "1187", "2026-02-05")
        fx.invoice(conn, "8001", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=900, remaining=0)
        fx.payment(conn, "pm1", "1187", "2026-05-20", [("8001", 900)])  # 50 days late
    await env.db.write(trouble)
    night = at("2026-07-15", 3)
    await refresh_aging(env, night)  # first snapshot: a baseline, no bucket events
    await score_customers(env, night)
    assert (await env.db.fetchone("SELECT tier FROM customer_health_scores"))[0] == "red"
    await action_plans(env, night)
    actions = await staged(env)
    assert {a["kind"] for a in actions} == {"send_collection_email", "schedule_collection_call", "service_hold"}
    assert actions[0]["payload"]["trigger"] == "customer.health_tier_changed"
    assert any("Health score" in p for p in actions[1]["payload"]["talking_points"])


async def test_claude_drafts_when_a_client_is_configured(env):
    sent = []

    def handler(request):
        sent.append(json.loads(request.content))
        reply = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                 "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 700, "output_tokens": 90},
                 "content": [{"type": "tool_use", "id": "toolu_01", "name": TOOL_NAME, "input": {
                     "subject": "Driscoll Foods: past-due invoices", "message": "Dear Maria,\n\nAs discussed on "
                     "the phone last month, two invoices are now more than 60 days past due."}}]}
        return httpx.Response(200, json=reply)
    env.extras["anthropic_client"] = mock_claude(handler)
    await driscoll(env)
    await env.db.write(lambda c: c.execute(
        "INSERT INTO reflexion_log (entity_type, entity_id, tags_json, observation, status, created_at) VALUES "
        "('customer', '1187', ?, 'Call Maria before emailing.', 'approved_for_reuse', '2026-05-01T00:00:00Z')",
        (json.dumps([NAME]),)))
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    email = (await staged(env))[0]["payload"]
    assert email["drafted_by"] == "claude" and email["model"] == "claude-sonnet-4-6"
    assert email["body"].startswith("Dear Maria,") and "INV9002" in email["body"]
    assert [r["model"] for r in sent] == [env.settings.anthropic.draft_model]  # [anthropic] draft_model
