"""The checks that judge a collection plan later read the customer's situation as the flow drew it.

On the invoice-date basis an invoice with no due date nor any terms (its own or its customer's) is due its date plus
the standard program's payment days (worker/aging.py DUE_DATE_SQL). The flow reads the situation with those days;
the approval (worker/decisions.py, from the review page) and the warm tick's stale check (worker/stale_plans.py)
read it without them, so counted such an invoice past due from its date: a hold whose reason money on account had
taken away was approved, and its plan never flagged stale.

Real SQLite file, the real aging job, flow, warm tier and review page over HTTP.
"""

import json
import re
from functools import partial

import pytest

from cron.aging import action_plans, refresh_aging
from tests import ar_fixtures as fx
from tests.review_seed import sign_in
from tests.test_stale_plans import at, staged
from worker.config import Program
from worker.flows.collection_queries import (
    examine,
    hold_not_warranted,
    why_hold_not_warranted,
)
from worker.tiers import run_tier

STANDARD_DAYS = 45
HOLD_GONE = "$1,000.00 unapplied cash and credits on account now cover the $1,000.00 past due"


@pytest.fixture
def settings(settings):
    """Aging on the invoice-date basis, with a standard program of 45 days (for `env` and `server` alike)."""
    return settings.model_copy(update={
        "aging": settings.aging.model_copy(update={"basis": "invoice_date"}),
        "programs": {**settings.programs, "standard": Program(payment_terms_days=STANDARD_DAYS)}})


async def hold_plan(env):
    """The plan of 2026-06-15 for a customer without terms: an email, a call and a hold on the 90+ share."""
    def rows(conn):
        fx.customer(conn, "500", "Sunset Catering", email="ap@sunset.test", terms="")
        # 104 days past its due date: two thirds of open AR, so the flow holds.
        fx.invoice(conn, "A", "500", tran_date="2026-02-01", due_date="2026-03-03", total=1_000.0)
        # No due date nor any terms: due 2026-06-30 on the standard 45 days, not past due. Counted from its date
        # (the snapshot's days on this basis), it was 30 days past due.
        fx.invoice(conn, "D", "500", tran_date="2026-05-16", due_date=None, total=500.0)
    await env.db.write(rows)
    await refresh_aging(env, at("2026-06-15"))
    await action_plans(env, at("2026-06-15"))
    email, call, hold = await staged(env)
    assert (email["kind"], call["kind"], hold["kind"]) == (
        "send_collection_email", "schedule_collection_call", "service_hold")
    assert hold["payload"]["reason"] == "67% of open AR is more than 90 days past due"
    assert [i["invoice_id"] for i in email["payload"]["invoices"]] == ["A"]  # D is not past due in the plan
    return email, call, hold


async def paid_on_account(env):
    """$1,000 unapplied: it pays all that the plan counts past due (A), though not A and D."""
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO customer_payment (ns_id, customer_id, tran_date, total, unapplied, last_modified)"
        " VALUES ('p1', '500', '2026-06-15', 1000.0, 1000.0, ?)", (fx.MODIFIED,)))


def flow_says(conn):
    """Why the hold no longer stands as the flow reads the situation (ar_aging_action_plan: the standard days)."""
    return why_hold_not_warranted(examine(conn, "500", None, standard_terms=STANDARD_DAYS))


async def test_the_hold_check_reads_the_invoice_without_terms_as_the_flow_does(env):
    await hold_plan(env)
    await paid_on_account(env)
    assert await env.db.read_sync(flow_says) == HOLD_GONE
    assert await env.db.read_sync(partial(hold_not_warranted, standard_terms=STANDARD_DAYS), "500") == HOLD_GONE


async def test_the_warm_tick_flags_the_plan_the_flow_would_no_longer_draw_and_the_redraw_calls_only(env):
    email, _call, hold = await hold_plan(env)
    await paid_on_account(env)
    run = await run_tier(env, "warm", scheduled_at=at("2026-06-15", 12, 15))
    # Was 0: the tick counted D 30 days past due, so the money covered neither the past due nor the hold's reason.
    assert run.status == "ok" and run.counts["refresh_aging"]["stale_plans"] == 1
    [event] = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'ar.plan_stale'")
    stale = json.loads(event[0])
    assert stale["actions"] == [email["id"], hold["id"]] and stale["invoices"] == ["A"]  # the email, the hold
    assert stale["changed"] == ("INVA was paid on account ($1,000.00 unapplied cash and credits on account cover "
                                f"everything past due); the reason for the service hold no longer holds: {HOLD_GONE}")
    [new_call] = await staged(env)  # redrawn by the flow: no email, no hold, the call to apply the money
    assert new_call["kind"] == "schedule_collection_call" and new_call["payload"]["trigger"] == "ar.plan_stale"
    # The redraw reads what the plan names no longer owed with the standard days too (plan_redraw.read_stale_plan).
    [obs] = await env.db.fetchall("SELECT observation FROM reflexion_log ORDER BY id DESC LIMIT 1")
    assert obs[0].startswith("Sunset Catering: INVA was paid on account ($1,000.00 unapplied cash and credits on "
                             "account cover everything past due) since the plan was drafted; the reason for the "
                             f"service hold no longer holds: {HOLD_GONE}. Redrawn as plan ")


def version(page: str, action_id: int) -> str:
    return re.search(rf'id="action-{action_id}".*?name="version" value="([^"]*)"', page, re.DOTALL).group(1)


def test_approving_the_hold_or_the_email_from_the_review_page_is_refused_as_the_flow_sees_it(server):
    env = server.env
    email, _call, hold = server.run(hold_plan(env))
    server.run(paid_on_account(env))
    mike = sign_in(server.url)
    page = mike.get("/review/actions").text
    form = {"csrf": mike.csrf, "op": "approve"}
    refused = mike.post(f"/review/actions/{hold['id']}", data={**form, "version": version(page, hold["id"])})
    # Was 303 and the hold approved: the approval counted D 30 days past due, so the hold still stood.
    assert refused.status_code == 422
    assert f"The reason for this hold no longer holds: {HOLD_GONE}" in refused.text
    refused = mike.post(f"/review/actions/{email['id']}", data={**form, "version": version(page, email["id"])})
    assert refused.status_code == 422 and "INVA was paid on account" in refused.text
    status = server.run(env.db.fetchall("SELECT status FROM proposed_actions WHERE id IN (?, ?)",
                                        (email["id"], hold["id"])))
    assert [r[0] for r in status] == ["staged", "staged"]
    rejected = mike.post(f"/review/actions/{hold['id']}", data={
        **form, "op": "reject", "reason": "they paid", "version": version(page, hold["id"])})
    assert rejected.status_code == 303
    payload = server.run(env.db.fetchone("SELECT payload_json FROM proposed_actions WHERE id = ?", (hold["id"],)))
    # Rejected as stale (no judgment against holding), as the flow's own reading says.
    assert json.loads(payload[0])["rejected_as_stale"] == f"the reason for the service hold no longer holds: {HOLD_GONE}"
