"""ar_aging_action_plan through the real runner: triggers, the three proposals, dedupe, logs, Claude drafting."""

import json
from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from cron.aging import action_plans, refresh_aging
from cron.health import score_customers
from tests import ar_fixtures as fx
from tests.claude_support import mock_claude
from tests.flows_support import apply, event, ref
from worker.drafting import TOOL_NAME
from worker.flows import plan_draw
from worker.flows.collection_situation import NAME, Exposure, net_exposure
from worker.ledger import advance_cursor, append_event, last_event_id


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


async def test_an_invoice_of_unknown_remainder_is_named_in_the_plan_not_left_out_silently(env):
    await driscoll(env)
    await fx.write(env, fx.invoice, "9004", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=9_999.0,
                   remaining_unknown=True)  # NetSuite sent it without amountRemaining
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    email, call = (a["payload"] for a in await staged(env))
    assert [i["invoice_id"] for i in email["invoices"]] == ["9001", "9002"] and "$15,140.50" in email["subject"]
    unknown = ("amount remaining unknown for INV9004 (NetSuite sent no amountRemaining): not in these invoices or "
               "totals; check in NetSuite")
    assert email["problems"] == [unknown]
    assert f"{unknown[0].upper()}{unknown[1:]}." in call["talking_points"]


async def test_unchanged_situation_is_not_reproposed_but_90_plus_is_a_new_plan(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-05-30"))
    for minute in (0, 15, 30):
        await refresh_aging(env, at("2026-05-31", 12, minute))
        await action_plans(env, at("2026-05-31"))
    assert len(await staged(env)) == 2
    first_plan = (await staged(env))[0]["payload"]["plan"]
    await refresh_aging(env, at("2026-06-30"))  # both move on to 90+ (91 days): a new situation
    await action_plans(env, at("2026-06-30"))
    actions = await staged(env)
    assert [a["kind"] for a in actions] == ["send_collection_email", "schedule_collection_call", "service_hold"]
    assert actions[-1]["payload"]["reason"] == "75% of open AR is more than 90 days past due"
    assert actions[0]["payload"]["plan"] != first_plan


@pytest.mark.parametrize("ninety_plus", [(1_484.45,), (1_234.10, 250.35)])  # 1234.10 + 250.35 = 1484.4499999...
async def test_exactly_half_of_open_ar_90_plus_holds_however_it_is_split(env, ninety_plus):
    def rows(conn):
        fx.customer(conn, "300", "Half Foods", email="ap@half.test")
        for n, amount in enumerate(ninety_plus):
            fx.invoice(conn, f"H{n}", "300", tran_date="2026-03-01", due_date="2026-03-31", total=amount)
        fx.invoice(conn, "HC", "300", tran_date="2026-06-20", due_date="2026-07-20", total=1_484.45)  # current
    await env.db.write(rows)
    await refresh_aging(env, at("2026-07-01"))  # first snapshot: the old ones arrive in 90+
    await action_plans(env, at("2026-07-01"))
    hold = [a["payload"]["reason"] for a in await staged(env) if a["kind"] == "service_hold"]
    assert hold == ["50% of open AR is more than 90 days past due"]


async def test_over_credit_limit_adds_a_service_hold(env):
    await driscoll(env, credit_limit=10_000.0)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    hold = [a for a in await staged(env) if a["kind"] == "service_hold"]
    assert hold[0]["payload"]["reason"] == "open AR $20,140.50 is over the credit limit $10,000.00"


@pytest.mark.parametrize("credit_limit, hold", [
    (0.0, "open AR $20,140.50 is over the credit limit $0.00"),  # a zero limit (cash only) is a limit
    (None, None)])  # a blank NetSuite limit: no limit
async def test_a_zero_credit_limit_is_a_limit_and_none_is_no_limit(env, credit_limit, hold):
    await driscoll(env, credit_limit=credit_limit)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    actions = {a["kind"]: a["payload"] for a in await staged(env)}
    assert actions.get("service_hold", {}).get("reason") == hold
    over = [p for p in actions["schedule_collection_call"]["talking_points"] if "credit limit" in p]
    assert over == (["Open AR $20,140.50 exceeds the credit limit $0.00."] if hold else [])


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
    await refresh_aging(env, night)  # first snapshot: 9001/9002 arrive in 90+
    # Only the red event may plan here: the arrivals' own plan is test_an_invoice_first_seen_in_90_plus_...
    await env.db.write(lambda conn: advance_cursor(conn, NAME, last_event_id(conn)))
    await score_customers(env, night)
    assert (await env.db.fetchone("SELECT tier FROM customer_health_scores"))[0] == "red"
    await action_plans(env, night)
    actions = await staged(env)
    assert {a["kind"] for a in actions} == {"send_collection_email", "schedule_collection_call", "service_hold"}
    assert actions[0]["payload"]["trigger"] == "customer.health_tier_changed"
    assert any("Health score" in p for p in actions[1]["payload"]["talking_points"])


async def red_history(env, scores, turns):
    """Health as the cold tier leaves it: (night, tier) scores and a turn-to-red event for each night of turns."""
    def rows(conn):
        for night, tier in scores:
            conn.execute("INSERT INTO customer_health_scores (customer_id, as_of, score, tier, signals_json, "
                         "computed_at) VALUES ('1187', ?, ?, ?, '{}', ?)", (night, 30 if tier == "red" else 85,
                                                                           tier, night))
        for night in turns:
            append_event(conn, "customer.health_tier_changed", "customer", "1187",
                         {"customer_id": "1187", "from": "green", "to": "red", "score": 30, "as_of": night})
    await env.db.write(rows)


@pytest.mark.parametrize(("scores", "turns", "why"), [
    # an --as-of re-run of an old night turned it red, but a later night scored it green
    ([("2026-04-10", "red"), ("2026-04-14", "green")], ["2026-04-10"], "it was scored green on 2026-04-14 since"),
    # red on the 10th, better on the 12th: that turn is over, though red again on the 14th (whose own event plans)
    ([("2026-04-10", "red"), ("2026-04-12", "yellow"), ("2026-04-14", "red")], ["2026-04-10"],
     "it was scored yellow on 2026-04-12 since"),
])
async def test_a_red_night_scored_better_since_proposes_no_plan(env, scores, turns, why):
    await driscoll(env)
    await refresh_aging(env, at("2026-04-15"))  # nothing 61+: a plan could only answer the red night
    await env.db.write(lambda conn: advance_cursor(conn, NAME, last_event_id(conn)))
    await red_history(env, scores, turns)
    counts = await action_plans(env, at("2026-04-15"))
    assert counts["ok"] == 1 and counts["proposed"] == 0 and await staged(env) == []
    obs = await env.db.fetchone("SELECT observation FROM reflexion_log")
    assert obs[0] == f"Driscoll Foods turned red on {turns[0]}, but {why}; no plan proposed."


async def test_a_red_night_still_red_since_is_planned_and_a_later_turn_is_planned_once(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-04-15"))
    await env.db.write(lambda conn: advance_cursor(conn, NAME, last_event_id(conn)))
    # Handled late (a backlog): red on the 10th and on every night since, which append no event of their own.
    await red_history(env, [("2026-04-10", "red"), ("2026-04-11", "red"), ("2026-04-14", "red")], ["2026-04-10"])
    assert (await action_plans(env, at("2026-04-15")))["proposed"] == 2
    planned = {a["dedupe_key"] for a in await staged(env)}
    # A re-run of the 9th now scores it red too: the turn on the 10th is the one planned, so nothing new.
    await red_history(env, [("2026-04-09", "red")], ["2026-04-09"])
    assert (await action_plans(env, at("2026-04-15")))["proposed"] == 0
    assert {a["dedupe_key"] for a in await staged(env)} == planned
    obs = await env.db.fetchall("SELECT observation FROM reflexion_log ORDER BY id")
    assert obs[-1][0] == ("Driscoll Foods turned red on 2026-04-09, but its turn to red on 2026-04-10 is the one a "
                          "plan answers; no plan proposed.")


async def test_claude_drafts_when_a_client_is_configured(env):
    sent = []

    def handler(request):
        sent.append(json.loads(request.content))
        reply = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                 "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 700, "output_tokens": 90},
                 "content": [{"type": "tool_use", "id": "toolu_01", "name": TOOL_NAME, "input": {
                     "subject": "Driscoll Foods: past-due invoices", "message": "Dear Maria,\n\nAs discussed on "
                     "the phone last month, two invoices are now 61 days past due."}}]}
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


async def test_claude_wording_with_figures_not_in_the_facts_gives_the_template_and_the_reason(env):
    # Claude's $51,400.00 over "five invoices" reached the draft as drafted_by=claude, beside a $15,140.50 table.
    def handler(request):
        reply = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                 "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 700, "output_tokens": 90},
                 "content": [{"type": "tool_use", "id": "toolu_01", "name": TOOL_NAME, "input": {
                     "subject": "Driscoll Foods: $51,400.00 past due - service suspended",
                     "message": "Dear Maria,\n\nYou owe $51,400.00 across five invoices, 120 days late."}}]}
        return httpx.Response(200, json=reply)
    env.extras["anthropic_client"] = mock_claude(handler)
    await driscoll(env)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    email = (await staged(env))[0]["payload"]
    assert email["drafted_by"] == "template" and email["model"] is None
    assert email["subject"] == "Driscoll Foods: 2 past-due invoices, $15,140.50 outstanding"
    assert "51,400" not in email["body"] and "suspend" not in email["body"]
    assert email["fallback_reason"].startswith("Claude's draft named $51,400.00, 120 and five, not among the computed")
    obs = await env.db.fetchone("SELECT observation FROM reflexion_log ORDER BY id DESC LIMIT 1")
    assert "email drafted by template (Claude's draft named $51,400.00" in obs[0]  # the run says why too


async def decided(env):
    rows = await env.db.fetchall("SELECT id, kind, status, decided_by, decision_reason FROM proposed_actions "
                                 "WHERE status <> 'staged' ORDER BY id")
    return [tuple(r) for r in rows]


async def test_a_new_plan_supersedes_the_staged_one_so_one_email_is_approvable(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    first_plan = (await staged(env))[0]["payload"]["plan"]
    await refresh_aging(env, at("2026-06-30"))  # a new situation: both move on to 90+
    await action_plans(env, at("2026-06-30"))
    reason = f"superseded by plan {(await staged(env))[0]['payload']['plan']}"
    assert await decided(env) == [(1, "send_collection_email", "rejected", NAME, reason),
                                  (2, "schedule_collection_call", "rejected", NAME, reason)]
    assert len([a for a in await staged(env) if a["kind"] == "send_collection_email"]) == 1
    events = await env.db.fetchall("SELECT type, entity_id, payload_json FROM events WHERE type = 'action.rejected'")
    assert [(e[0], e[1], json.loads(e[2])["reason"]) for e in events] == [("action.rejected", "1", reason),
                                                                         ("action.rejected", "2", reason)]
    obs = await env.db.fetchall("SELECT observation FROM reflexion_log ORDER BY id")
    assert obs[-1][0].endswith("; supersedes staged proposal(s) #1, #2 of earlier plans. "
                               "Withdrawn: #1 send_collection_email, #2 schedule_collection_call.")
    run = await env.db.fetchone("SELECT output_json FROM workflow_run_log ORDER BY id DESC LIMIT 1")
    assert json.loads(run[0])["superseded"] == [1, 2] and first_plan not in reason  # names the new plan


async def test_superseding_leaves_decided_proposals_other_flows_and_other_customers_alone(env):
    await driscoll(env)
    def others(conn):
        fx.customer(conn, "11", "Eleven Foods", email="ap@eleven.test")
        fx.invoice(conn, "7001", "11", tran_date="2026-03-01", due_date="2026-03-31", total=1_000.0)
        conn.execute("INSERT INTO proposed_actions (kind, status, customer_id, payload_json, dedupe_key, created_at,"
                     " updated_at) VALUES ('log_dispute', 'staged', '1187', '{}', 'invoice_dispute:1187:x', 'now', 'now')")
    await env.db.write(others)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    email = await env.db.fetchone("SELECT id FROM proposed_actions WHERE kind = 'send_collection_email' "
                                  "AND customer_id = '1187'")
    await env.db.write(lambda conn: conn.execute(
        "UPDATE proposed_actions SET status = 'approved', decided_by = 'maria' WHERE id = ?", (email[0],)))
    # Terms extended: still 61-90 on 06-30, so "11" gets no new plan (paid, its plan would be withdrawn instead:
    # tests/test_stale_plans.py).
    await env.db.write(fx.update_invoice, "7001", due_date="2026-04-30")
    await refresh_aging(env, at("2026-06-30"))
    await action_plans(env, at("2026-06-30"))
    rows = await env.db.fetchall("SELECT customer_id, kind, status, decided_by FROM proposed_actions ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("1187", "log_dispute", "staged", None),  # another flow's proposal
        ("11", "send_collection_email", "staged", None),  # "11" is a prefix of "1187"
        ("11", "schedule_collection_call", "staged", None),
        ("1187", "send_collection_email", "approved", "maria"),  # approved: never touched
        ("1187", "schedule_collection_call", "rejected", NAME),
        ("1187", "send_collection_email", "staged", None),
        ("1187", "schedule_collection_call", "staged", None),
        ("1187", "service_hold", "staged", None)]


async def test_a_failing_handler_leaves_the_staged_plan_live(env, monkeypatch):
    await driscoll(env)
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))

    async def broken(*args, **kwargs):
        raise RuntimeError("template store unavailable")
    monkeypatch.setattr(plan_draw, "draft_collection_email", broken)
    await refresh_aging(env, at("2026-06-30"))
    counts = await action_plans(env, at("2026-06-30"))
    assert counts["failed"] == 1 and await decided(env) == []
    assert [a["kind"] for a in await staged(env)] == ["send_collection_email", "schedule_collection_call"]


async def test_an_invoice_first_seen_in_90_plus_with_from_null_starts_a_plan(env):
    await driscoll(env)
    await refresh_aging(env, at("2026-07-01"))  # first snapshot: 9001/9002 are 92 days past due
    def first_seen(conn):
        append_event(conn, "ar.bucket_changed", "invoice", "9001", {
            "invoice_id": "9001", "customer_id": "1187", "from": None, "to": "90+", "as_of": "2026-07-01",
            "tran_id": "INV9001", "days_past_due": 92, "amount_remaining": 12_840.5})
    await env.db.write(first_seen)
    counts = await action_plans(env, at("2026-07-01"))  # the aging job may have added its own arrivals
    assert counts["ok"] == 1 and counts["proposed"] == 3 and "failed" not in counts
    actions = await staged(env)
    assert [a["kind"] for a in actions] == ["send_collection_email", "schedule_collection_call", "service_hold"]
    trigger = await env.db.fetchone("SELECT payload_json FROM events WHERE id = ?",
                                    (actions[0]["payload"]["trigger_event_id"],))
    assert json.loads(trigger[0])["from"] is None


async def acme(env, *, unapplied=0.0, credit=0.0, deleted_at=None):
    """A $60,000 invoice due 2026-05-01 against a $50,000 limit, with money on account."""
    def rows(conn):
        fx.customer(conn, "100", "Acme", email="ap@acme.test", credit_limit=50_000)
        fx.invoice(conn, "A", "100", tran_date="2026-04-01", due_date="2026-05-01", total=60_000)
        conn.execute("INSERT INTO customer_payment (ns_id, customer_id, tran_date, total, unapplied, last_modified,"
                     " deleted_at) VALUES ('P1', '100', '2026-06-25', ?, ?, '2026-06-25T00:00:00Z', ?)",
                     (unapplied, unapplied, deleted_at))
        conn.execute("INSERT INTO credit_memo (ns_id, customer_id, tran_date, total, amount_remaining, last_modified,"
                     " deleted_at) VALUES ('CM1', '100', '2026-06-20', ?, ?, '2026-06-20T00:00:00Z', ?)",
                     (credit, credit, deleted_at))
    await env.db.write(rows)
    await refresh_aging(env, at("2026-06-30"))  # 60 days past due
    await refresh_aging(env, at("2026-07-01"))  # 61: reaches 61-90
    await action_plans(env, at("2026-07-01"))
    return await staged(env)


async def test_cash_on_account_covering_past_due_proposes_no_email_or_hold(env):
    actions = await acme(env, unapplied=45_000, credit=15_000)
    assert [a["kind"] for a in actions] == ["schedule_collection_call"]
    points = actions[0]["payload"]["talking_points"]
    assert points[0] == ("Unapplied cash and credits on account ($60,000.00) cover the past-due $60,000.00: apply "
                         "them to the open invoices in NetSuite; do not ask for payment.")
    assert not any("credit limit" in p for p in points)
    obs = (await env.db.fetchone("SELECT observation FROM reflexion_log"))[0]
    assert "no email or hold: $60,000.00 unapplied cash and credits on account cover the past-due amount" in obs


async def test_partial_cash_on_account_nets_the_credit_limit_test_and_flags_the_email(env):
    actions = await acme(env, unapplied=15_000)  # net $45,000: under the $50,000 limit
    assert [a["kind"] for a in actions] == ["send_collection_email", "schedule_collection_call"]
    email, call = (a["payload"] for a in actions)
    assert email["on_account"] == 15_000 and email["problems"] == [(
        "$15,000.00 unapplied cash and credits on account: apply them first; the email lists invoice balances "
        "before they are applied")]
    assert call["talking_points"][0] == ("Apply the unapplied cash and credits on account ($15,000.00) first: "
                                         "past due net of them is $45,000.00.")


async def test_net_exposure_over_the_limit_still_holds_and_says_what_was_netted(env):
    actions = await acme(env, credit=5_000)  # net $55,000
    hold = next(a["payload"] for a in actions if a["kind"] == "service_hold")
    assert hold["reason"] == ("open AR $55,000.00 net of $5,000.00 unapplied cash and credits is over the credit "
                              "limit $50,000.00")
    assert hold["net_exposure"] == 55_000


async def test_deleted_payments_and_credit_memos_do_not_count(env):
    actions = await acme(env, unapplied=60_000, credit=60_000, deleted_at="2026-06-28T00:00:00Z")
    assert [a["kind"] for a in actions] == ["send_collection_email", "schedule_collection_call", "service_hold"]
    assert actions[2]["payload"]["reason"] == "open AR $60,000.00 is over the credit limit $50,000.00"
    assert actions[0]["payload"]["problems"] == []


def test_net_exposure_sums_to_the_cent_and_ignores_missing_and_non_positive_amounts():
    e = net_exposure([100.004, 200.0, None], [50.0, None, -20.0, 0.0], [0.1, 0.2])
    assert (e.open_invoices, e.unapplied_payments, e.open_credits) == (300.0, 50.0, 0.3)  # 0.1 + 0.2 is 0.3 here
    assert e.on_account == 50.3 and e.net == 249.7
    assert net_exposure([100.0], [150.0], []).net == -50.0  # in credit
    assert net_exposure([], [], []) == Exposure(0.0, 0.0, 0.0)


def test_money_on_account_covers_an_amount_only_in_full():
    e = net_exposure([500.0], [300.0], [200.0])
    assert e.covers(500.0) and e.covers(499.999) and not e.covers(500.01)
    assert not e.covers(0.0)  # nothing past due: nothing to cover
    assert not net_exposure([500.0], [], []).covers(1.0)


def on_account_record(kind: str, applied: list[tuple[str, float]] | None) -> dict:
    """A $1,000.00 credit memo or payment of customer 100 sent without its amount left on account
    (`amountRemaining`, `unapplied`): with its apply list when `applied` is given, else without one."""
    if kind == "memo":
        record = {"id": "9", "tranId": "CM-9", "tranDate": "2026-06-28", "entity": ref("100"), "total": 1_000.0,
                  "memo": "damaged goods"}
    else:
        record = {"id": "7", "tranId": "PMT-7", "tranDate": "2026-06-28", "customer": ref("100"), "payment": 1_000.0,
                  "total": 1_000.0}
    if applied is not None:
        record["apply"] = {"items": [{"doc": {"id": doc}, "apply": True, "amount": amount, "type": "Invoice"}
                                     for doc, amount in applied]}
    return event("creditmemo" if kind == "memo" else "customerpayment", record, when="2026-06-28T15:00:00Z")


async def plan_with_on_account(env, record):
    """Customer 100 owes $1,000.00 90+ days past due (and a paid $400.00 invoice) against a $300.00 limit."""
    def rows(conn):
        fx.customer(conn, "100", "Acme", email="ap@acme.test", credit_limit=300.0)
        fx.invoice(conn, "A", "100", tran_date="2026-03-01", due_date="2026-03-31", total=1_000.0)
        fx.invoice(conn, "B", "100", tran_date="2026-06-01", due_date="2026-07-01", total=400.0, remaining=0.0)
    await env.db.write(rows)
    await apply(env, record)
    await refresh_aging(env, at("2026-07-01"))  # first snapshot: A arrives in 90+
    await action_plans(env, at("2026-07-01"))
    return {a["kind"]: a["payload"] for a in await staged(env)}


@pytest.mark.parametrize("kind", ["memo", "payment"])
async def test_money_on_account_sent_without_its_amount_is_the_total_less_the_apply_list(env, kind):
    actions = await plan_with_on_account(env, on_account_record(kind, []))  # applied to nothing: all on account
    assert list(actions) == ["schedule_collection_call"]  # it covers the $1,000.00: apply it, do not dun or hold
    assert actions["schedule_collection_call"]["talking_points"][0].startswith(
        "Unapplied cash and credits on account ($1,000.00) cover the past-due $1,000.00")


@pytest.mark.parametrize("kind", ["memo", "payment"])
async def test_money_on_account_sent_without_its_amount_nets_only_what_the_apply_list_leaves(env, kind):
    actions = await plan_with_on_account(env, on_account_record(kind, [("B", 400.0)]))
    email, hold = actions["send_collection_email"], actions["service_hold"]
    assert email["on_account"] == 600.0 and email["problems"][0].startswith("$600.00 unapplied cash and credits")
    assert hold["reason"] == ("open AR $400.00 net of $600.00 unapplied cash and credits is over the credit limit "
                              "$300.00") and hold["net_exposure"] == 400.0


@pytest.mark.parametrize("kind, named", [("memo", "credit memo CM-9"), ("payment", "payment PMT-7")])
async def test_money_on_account_of_unknown_amount_is_named_not_counted_as_nothing_silently(env, kind, named):
    actions = await plan_with_on_account(env, on_account_record(kind, None))  # no amount, no apply list
    email, call = actions["send_collection_email"], actions["schedule_collection_call"]
    unknown = (f"amount on account unknown for {named} (NetSuite sent neither the amount left on account nor the "
               "apply list): counted as nothing on account; check in NetSuite")
    assert email["on_account"] == 0 and email["problems"] == [unknown]
    assert f"{unknown[0].upper()}{unknown[1:]}." in call["talking_points"]


async def two_currencies(env, credit_limit, dollars_on_account=0.0):
    """Customer 100 owes $10,000.00 and EUR 20,000.00, both 90+, and has EUR 500.00 of credit on account
    (and `dollars_on_account` unapplied cash)."""
    def rows(conn):
        fx.customer(conn, "100", "Acme Grocers", email="ap@acme.test", credit_limit=credit_limit)
        fx.invoice(conn, "1", "100", tran_date="2026-03-01", due_date="2026-03-31", total=10_000.0)
        fx.update_invoice(conn, "1", currency="USA")  # NetSuite's name for US dollars in a default account
        fx.invoice(conn, "2", "100", tran_date="2026-03-01", due_date="2026-03-31", total=20_000.0)
        fx.update_invoice(conn, "2", currency="EUR")
        conn.execute("INSERT INTO credit_memo (ns_id, tran_id, customer_id, tran_date, currency, total, "
                     "amount_remaining, last_modified) VALUES ('9', 'CM-9', '100', '2026-06-20', 'EUR', 500, 500, "
                     "'2026-06-20T00:00:00Z')")
        conn.execute("INSERT INTO customer_payment (ns_id, tran_id, customer_id, tran_date, currency, total, unapplied,"
                     " last_modified) VALUES ('7', 'PMT-7', '100', '2026-06-25', 'US Dollar', ?, ?, "
                     "'2026-06-25T00:00:00Z')", (dollars_on_account, dollars_on_account))
    await env.db.write(rows)
    await refresh_aging(env, at("2026-07-01"))  # first snapshot: both arrive in 90+
    await action_plans(env, at("2026-07-01"))
    return {a["kind"]: a["payload"] for a in await staged(env)}


OTHER_CURRENCIES = [
    ("EUR 20,000.00 open in other currencies: not compared with the credit limit or counted in the 90+ share, "
     "which are in US dollars"),
    "EUR 500.00 unapplied cash and credits on account in other currencies: not netted against US-dollar invoices"]


async def test_amounts_in_other_currencies_are_never_added_into_a_dollar_figure(env):
    actions = await two_currencies(env, credit_limit=25_000.0)  # $30,000 "open" only if EUR were dollars
    email, call, hold = (actions[k] for k in ("send_collection_email", "schedule_collection_call", "service_hold"))
    assert email["subject"] == "Acme Grocers: 2 past-due invoices, $10,000.00 and EUR 20,000.00 outstanding"
    assert "INV2" in email["body"] and "EUR 20,000.00" in email["body"] and "$20,000.00" not in email["body"]
    # The euro credit is netted against the euro invoices only (per currency), never in a dollar figure.
    euro_credit = ("EUR 500.00 unapplied cash and credits on account: apply them first; the email lists invoice "
                   "balances before they are applied")
    assert email["problems"] == [euro_credit, *OTHER_CURRENCIES]
    assert email["on_account"] == 0
    assert (email["past_due_total"], email["past_due_totals"]) == (10_000.0, {"USD": 10_000.0, "EUR": 20_000.0})
    assert call["talking_points"][0] == ("Apply the unapplied cash and credits on account (EUR 500.00) first: past due "
                                         "net of them is $10,000.00 and EUR 19,500.00.")
    assert call["talking_points"][1] == "2 invoice(s) past due, $10,000.00 and EUR 20,000.00; oldest INV1 is 92 days past due."
    assert [f"{p[0].upper()}{p[1:]}." for p in OTHER_CURRENCIES] == call["talking_points"][2:4]
    assert hold["reason"] == "100% of open AR in US dollars is more than 90 days past due"  # not over the limit
    assert hold["net_exposure"] == 10_000.0
    everything = json.dumps(list(actions.values())) + (await env.db.fetchone("SELECT observation FROM reflexion_log"))[0]
    assert "30,000" not in everything and "29,500" not in everything and "$20,000.00" not in everything


async def test_only_us_dollars_are_compared_with_the_credit_limit(env):
    hold = (await two_currencies(env, credit_limit=5_000.0))["service_hold"]
    assert hold["reason"] == "open AR in US dollars $10,000.00 is over the credit limit $5,000.00"


async def test_dollars_on_account_covering_the_dollar_invoices_still_leave_the_euro_ones_to_collect(env):
    actions = await two_currencies(env, credit_limit=None, dollars_on_account=12_000.0)
    assert list(actions) == ["send_collection_email", "schedule_collection_call"]  # no hold: the dollars are paid
    assert actions["send_collection_email"]["on_account"] == 12_000.0
    assert actions["schedule_collection_call"]["talking_points"][0] == (
        "Apply the unapplied cash and credits on account ($12,000.00 and EUR 500.00) first: past due net of them is "
        "$0.00 and EUR 19,500.00.")
