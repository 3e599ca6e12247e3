"""A staged service hold whose reason money on account has since taken away: refused at approval.

Real SQLite file, the real aging job, flow and decisions. A payment not yet applied moves no invoice, so the
plan is not stale (worker/stale_plans.py); the hold's reason is worked out again when a reviewer approves it.
"""

import pytest

from tests import ar_fixtures as fx
from tests.test_stale_plans import hold_plan
from worker.decisions import DecisionError, decide_action
from worker.flows.collection_queries import hold_not_warranted


def unapplied_payment(amount: float):
    def write(conn):
        conn.execute("INSERT INTO customer_payment (ns_id, customer_id, tran_date, total, unapplied, last_modified)"
                     " VALUES ('p1', '1187', '2026-06-01', ?, ?, ?)", (amount, amount, fx.MODIFIED))
    return write


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
