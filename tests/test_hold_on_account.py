"""A staged service hold whose reason money on account has since taken away, or a staged email whose invoices it
has since paid: refused at approval, flagged stale.

Real SQLite file, the real aging job, flow and decisions. A payment not yet applied moves no invoice, yet the hold's
reason is worked out again when a reviewer approves or rejects it, and by the warm tick, which flags the plan stale
so that it is redrawn without the hold (worker/stale_plans.py, worker/flows/plan_redraw.py). Likewise an email,
once the money on account covers everything past due (the flow then drafts no email, only the call).
"""

import json
import re

import pytest

from cron.aging import action_plans, refresh_aging
from tests import ar_fixtures as fx
from tests.test_stale_plans import (
    at,
    closed,
    driscoll,
    hold_plan,
    named,
    observations,
    planned,
    rejected_after_refusal,
    staged,
)
from worker.decisions import DecisionError, decide_action
from worker.flows.collection_queries import hold_not_warranted
from worker.flows.collection_situation import NAME
from worker.tiers import run_tier

GONE = ("the reason for the service hold no longer holds: open AR $9,140.50 net of $6,000.00 unapplied cash and "
        "credits, within the credit limit $10,000.00, and less than 50% of it is more than 90 days past due")


def unapplied_payment(amount: float, ns_id: str = "p1"):
    def write(conn):
        conn.execute("INSERT INTO customer_payment (ns_id, customer_id, tran_date, total, unapplied, last_modified)"
                     " VALUES (?, '1187', '2026-06-01', ?, ?, ?)", (ns_id, amount, amount, fx.MODIFIED))
    return write


def bounced(ns_id: str):
    def write(conn):
        conn.execute("UPDATE customer_payment SET deleted_at = '2026-05-31T12:20:00Z' WHERE ns_id = ?", (ns_id,))
    return write


PAID = ("INV9001, INV9002 and INV9003 were paid on account ($20,140.50 unapplied cash and credits on account cover "
        "everything past due)")


async def kinds(env):
    return [a["kind"] for a in await staged(env)]


async def test_a_hold_is_refused_once_money_on_account_takes_its_reason_away(env):
    *_, hold = await hold_plan(env)  # $15,140.50 open against a $10,000 limit
    assert await env.db.read_sync(hold_not_warranted, "1187") is None
    await env.db.write(unapplied_payment(6_000.0))  # net $9,140.50: within the limit, and not all past due paid
    why = await env.db.read_sync(hold_not_warranted, "1187")
    assert why == ("open AR $9,140.50 net of $6,000.00 unapplied cash and credits, within the credit limit "
                   "$10,000.00, and less than 50% of it is more than 90 days past due")
    with pytest.raises(DecisionError, match=r"^The reason for this hold no longer holds: open AR \$9,140.50 net"):
        await env.db.write(decide_action, hold["id"], "ann", True, "2026-06-01T12:05:00.000Z",
                           seen=hold["updated_at"])
    assert (await env.db.fetchone("SELECT status FROM proposed_actions WHERE id = ?", (hold["id"],)))[0] == "staged"
    rejected = await env.db.write(decide_action, hold["id"], "ann", False, "2026-06-01T12:06:00.000Z",
                                  seen=hold["updated_at"], reason="they paid")
    assert rejected.status == "rejected"  # rejecting is always possible


async def test_money_that_pays_everything_past_due_is_named(env):
    await hold_plan(env)
    await env.db.write(unapplied_payment(20_000.0))
    assert await env.db.read_sync(hold_not_warranted, "1187") == (
        "$20,000.00 unapplied cash and credits on account now cover the $15,140.50 past due")


async def test_a_hold_still_warranted_is_approved(env):
    *_, hold = await hold_plan(env)
    await env.db.write(unapplied_payment(1_000.0))  # net $14,140.50: still over the limit
    decision = await env.db.write(decide_action, hold["id"], "ann", True, "2026-06-01T12:05:00.000Z",
                                  seen=hold["updated_at"])
    assert decision.status == "approved"


async def test_the_warm_tick_redraws_a_plan_whose_hold_lost_its_reason_to_money_on_account(env):
    email, call, hold = await hold_plan(env)
    await env.db.write(unapplied_payment(6_000.0))  # no invoice moves
    run = await run_tier(env, "warm", scheduled_at=at("2026-05-31", 12, 15))
    assert run.status == "ok" and run.counts["refresh_aging"]["stale_plans"] == 1
    new_email, new_call = await staged(env)  # redrawn without the hold
    assert (new_email["kind"], new_call["kind"]) == ("send_collection_email", "schedule_collection_call")
    new_plan = new_email["payload"]["plan"]
    assert new_plan != email["payload"]["plan"] and new_email["payload"]["trigger"] == "ar.plan_stale"
    assert "$6,000.00 unapplied cash and credits on account: apply them first" in new_email["payload"]["problems"][0]
    reason = f"superseded by plan {new_plan}: {GONE}"
    assert await closed(env) == [(email["id"], "send_collection_email", "rejected", NAME, reason),
                                 (call["id"], "schedule_collection_call", "rejected", NAME, reason),
                                 (hold["id"], "service_hold", "rejected", NAME, reason)]
    obs = (await observations(env))[-1]
    assert obs.startswith(f"Driscoll Foods: {GONE}. Redrawn as plan {new_plan}")
    assert "proposed send_collection_email, schedule_collection_call;" in obs
    [event] = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'ar.plan_stale'")
    assert json.loads(event[0])["actions"] == [hold["id"]] and json.loads(event[0])["changed"] == GONE
    # A re-tick of the same situation adds nothing; a later redraw does not put the hold back while money on
    # account still takes its reason away.
    again = await run_tier(env, "warm", scheduled_at=at("2026-05-31", 12, 30))
    assert again.counts["refresh_aging"]["stale_plans"] == 0 and again.counts["action_plans"] == {}
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=2_000.0)  # partly paid: net $8,840.50
    assert (await refresh_aging(env, at("2026-05-31", 12, 45)))["stale_plans"] == 1
    assert (await action_plans(env, at("2026-05-31", 12, 45)))["ok"] == 1
    assert await kinds(env) == ["send_collection_email", "schedule_collection_call"]
    await env.db.write(bounced("p1"))  # the money is gone: the next redraw holds again
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=1_900.0)
    await refresh_aging(env, at("2026-05-31", 13))
    await action_plans(env, at("2026-05-31", 13))
    assert await kinds(env) == ["send_collection_email", "schedule_collection_call", "service_hold"]


async def test_a_hold_whose_reason_is_gone_again_after_a_bounce_is_flagged_again(env):
    """Paid on account, flagged, the payment bounces before the flow runs (nothing to do), paid again: flagged."""
    await hold_plan(env)
    await env.db.write(unapplied_payment(6_000.0))
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 1
    await env.db.write(bounced("p1"))
    assert await action_plans(env, at("2026-05-31", 12, 15)) == {"not_applicable": 1}  # warranted again
    assert await kinds(env) == ["send_collection_email", "schedule_collection_call", "service_hold"]
    await env.db.write(unapplied_payment(6_000.0, "p2"))  # the same amount: the same reason text
    assert (await refresh_aging(env, at("2026-05-31", 12, 30)))["stale_plans"] == 1
    assert (await action_plans(env, at("2026-05-31", 12, 30)))["ok"] == 1
    assert await kinds(env) == ["send_collection_email", "schedule_collection_call"]
    assert (await refresh_aging(env, at("2026-05-31", 12, 45)))["stale_plans"] == 0


async def test_a_warranted_hold_is_not_flagged(env):
    await hold_plan(env)
    await env.db.write(unapplied_payment(1_000.0))  # net $14,140.50: still over the limit
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 0
    assert await kinds(env) == ["send_collection_email", "schedule_collection_call", "service_hold"]


async def test_a_hold_rejected_because_its_reason_was_gone_may_be_proposed_again(env):
    *_, hold = await hold_plan(env)
    await env.db.write(unapplied_payment(6_000.0))
    rejected = await rejected_after_refusal(env, hold, "no longer holds", "they paid on account")
    assert rejected["rejected_as_stale"] == GONE
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 0  # no staged hold left
    # The payment bounces and 9002 is partly paid: $14,840.50 open is over the limit again, and the redraw holds.
    await env.db.write(bounced("p1"))
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=2_000.0)
    await refresh_aging(env, at("2026-05-31", 12, 30))
    await action_plans(env, at("2026-05-31", 12, 30))
    email, _call, new_hold = await staged(env)
    assert new_hold["kind"] == "service_hold" and "rejected_earlier" not in email["payload"]
    assert "Not proposed again" not in (await observations(env))[-1]


async def test_a_customer_deleted_in_netsuite_withdraws_its_plan_with_the_hold(env):
    await hold_plan(env)
    await env.db.write(lambda conn: conn.execute("UPDATE customers SET deleted_at = '2026-05-31T12:10:00Z'"))
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 1
    await action_plans(env, at("2026-05-31", 12, 15))
    assert await staged(env) == []
    reason = "withdrawn: the reason for the service hold no longer holds: the customer is no longer in the mirror"
    assert {r[4] for r in await closed(env)} == {reason}


async def test_an_email_paid_on_account_is_refused_and_its_plan_redrawn_as_the_call_alone(env):
    await driscoll(env)
    email, call = await planned(env)  # 9001, 9002 (61+) and 9003 (11 days), $20,140.50 past due; no hold
    await env.db.write(unapplied_payment(15_140.5))  # the 61+ invoices' worth: 9003 is still to chase
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 0  # the flow drafts an email
    await env.db.write(unapplied_payment(5_000.0, "p2"))  # everything past due is paid, applied to nothing yet
    with pytest.raises(DecisionError, match=rf"^{re.escape(PAID)} since this email was drafted: approving it would "
                                            r"ask for money the customer does not owe\. Reject it, or leave it"):
        await env.db.write(decide_action, email["id"], "ann", True, "2026-05-31T12:20:00.000Z",
                           seen=email["updated_at"])
    run = await run_tier(env, "warm", scheduled_at=at("2026-05-31", 12, 30))
    assert run.status == "ok" and run.counts["refresh_aging"]["stale_plans"] == 1
    [new_call] = await staged(env)  # what the flow drafts now: no email, the call to apply the cash
    assert new_call["kind"] == "schedule_collection_call" and new_call["payload"]["trigger"] == "ar.plan_stale"
    assert new_call["payload"]["talking_points"][0].startswith("Unapplied cash and credits on account ($20,140.50) "
                                                               "cover the past-due $20,140.50: apply them")
    reason = f"superseded by plan {new_call['payload']['plan']}: {PAID} since the plan was drafted"
    assert await closed(env) == [(email["id"], "send_collection_email", "rejected", NAME, reason),
                                 (call["id"], "schedule_collection_call", "rejected", NAME, reason)]
    assert "proposed schedule_collection_call; no email or hold" in (await observations(env))[-1]
    [event] = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'ar.plan_stale'")
    assert json.loads(event[0])["actions"] == [email["id"]]
    assert json.loads(event[0])["invoices"] == ["9001", "9002", "9003"]
    again = await run_tier(env, "warm", scheduled_at=at("2026-05-31", 12, 45))  # the call alone is what it drafts
    assert again.counts["refresh_aging"]["stale_plans"] == 0 and again.counts["action_plans"] == {}


async def test_an_email_paid_on_account_again_after_a_bounce_is_flagged_again(env):
    await driscoll(env)
    await planned(env)
    await env.db.write(unapplied_payment(20_140.5))
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 1
    await env.db.write(bounced("p1"))
    assert await action_plans(env, at("2026-05-31", 12, 15)) == {"not_applicable": 1}  # owed again
    assert await kinds(env) == ["send_collection_email", "schedule_collection_call"]
    await env.db.write(unapplied_payment(20_140.5, "p2"))
    assert (await refresh_aging(env, at("2026-05-31", 12, 30)))["stale_plans"] == 1
    assert (await action_plans(env, at("2026-05-31", 12, 30)))["ok"] == 1
    assert await kinds(env) == ["schedule_collection_call"]


async def test_an_email_rejected_as_paid_on_account_is_rejected_as_stale(env):
    await driscoll(env)
    email, _call = await planned(env)
    await env.db.write(unapplied_payment(20_140.5))
    rejected = await rejected_after_refusal(env, email, "were paid on account", "they paid, apply it")
    assert rejected["rejected_as_stale"] == PAID  # no judgment against dunning: a later redraw may email again


async def test_money_that_pays_everything_past_due_takes_the_email_and_the_hold_in_one_redraw(env):
    email, call, hold = await hold_plan(env)
    await env.db.write(unapplied_payment(20_000.0))
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 1
    [event] = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'ar.plan_stale'")
    assert json.loads(event[0])["actions"] == [email["id"], hold["id"]]
    assert (await action_plans(env, at("2026-05-31", 12, 15)))["ok"] == 1
    [new_call] = await staged(env)
    assert new_call["kind"] == "schedule_collection_call" and named(new_call) == named(call)
