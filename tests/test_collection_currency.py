"""The collection plan for customers in other currencies than US dollars (audit BG1, BG3).

BG1: money on account pays what is past due in its own currency only (NetSuite applies a payment or credit memo to
invoices in its currency), so the "cash on account covers everything past due: no email" rule is worked per
currency, without an exchange rate.
"""

import re

import pytest

from cron.aging import action_plans, refresh_aging
from tests import ar_fixtures as fx
from tests.test_stale_plans import at, closed, staged
from worker.decisions import DecisionError, decide_action
from worker.flows.collection_situation import Exposure, Situation, on_account_point
from worker.tiers import run_tier


async def one_invoice(env, customer_id: str, currency: str, *, credit_limit: float | None = 50_000.0,
                      customer_currency: object = None) -> None:
    """`customer_id` owes 4,000.00 in `currency`, 61 days past due on 2026-05-31."""
    def rows(conn):
        fx.customer(conn, customer_id, f"Customer {customer_id}", email=f"ap@{customer_id}.test",
                    credit_limit=credit_limit)
        if customer_currency is not None:
            conn.execute("UPDATE customers SET raw_json = json_set(raw_json, '$.currency', json(?)) WHERE ns_id = ?",
                         (customer_currency, customer_id))
        fx.invoice(conn, f"{customer_id}1", customer_id, tran_date="2026-03-01", due_date="2026-03-31",
                   total=4_000.0, currency=currency, exchange_rate=None if currency == "USD" else 0.7345)
    await env.db.write(rows)


def unapplied(customer_id: str, amount: float, currency: str, ns_id: str):
    def write(conn):
        conn.execute("INSERT INTO customer_payment (ns_id, customer_id, tran_date, currency, total, unapplied, "
                     "last_modified) VALUES (?, ?, '2026-05-31', ?, ?, ?, ?)",
                     (ns_id, customer_id, currency, amount, amount, fx.MODIFIED))
    return write


async def plans(env):
    """The plans of 2026-05-31, by customer and kind."""
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    return await by_customer(env)


async def by_customer(env):
    found: dict[str, dict[str, dict]] = {}
    for a in await staged(env):
        found.setdefault(a["payload"]["customer_id"], {})[a["kind"]] = a
    return found


async def test_a_cad_customer_paid_in_full_on_account_is_no_longer_dunned_like_a_usd_one(env):
    await one_invoice(env, "910", "CAD")
    await one_invoice(env, "911", "USD")
    before = await plans(env)
    assert set(before["910"]) == set(before["911"]) == {"send_collection_email", "schedule_collection_call"}
    await env.db.write(unapplied("910", 5_000.0, "CAD", "KP"))
    await env.db.write(unapplied("911", 5_000.0, "USD", "UP"))
    # Approval of the CAD email is refused as the USD one is, before the tick has run.
    for customer_id, paid in (("910", "CAD 5,000.00"), ("911", "$5,000.00")):
        email = before[customer_id]["send_collection_email"]
        with pytest.raises(DecisionError, match=rf"^INV{customer_id}1 was paid on account \({re.escape(paid)} "
                                                r"unapplied cash and credits on account cover everything past due\)"):
            await env.db.write(decide_action, email["id"], "ann", True, "2026-05-31T12:20:00.000Z",
                               seen=email["updated_at"])
    run = await run_tier(env, "warm", scheduled_at=at("2026-05-31", 12, 30))
    assert run.status == "ok" and run.counts["refresh_aging"]["stale_plans"] == 2
    after = await by_customer(env)
    assert {c: list(kinds) for c, kinds in after.items()} == {"910": ["schedule_collection_call"],
                                                              "911": ["schedule_collection_call"]}
    assert after["910"]["schedule_collection_call"]["payload"]["talking_points"][0] == (
        "Unapplied cash and credits on account (CAD 5,000.00) cover the past-due CAD 4,000.00: apply them to the "
        "open invoices in NetSuite; do not ask for payment.")
    assert after["911"]["schedule_collection_call"]["payload"]["talking_points"][0] == (
        "Unapplied cash and credits on account ($5,000.00) cover the past-due $4,000.00: apply them to the "
        "open invoices in NetSuite; do not ask for payment.")
    assert {r[0] for r in await closed(env)} == {before[c][k]["id"] for c in before for k in before[c]}


async def test_money_on_account_in_another_currency_covers_nothing_past_due(env):
    await one_invoice(env, "910", "CAD")
    await env.db.write(unapplied("910", 5_000.0, "USD", "UP"))  # dollars cannot pay a CAD invoice
    actions = (await plans(env))["910"]
    assert set(actions) == {"send_collection_email", "schedule_collection_call"}
    email = actions["send_collection_email"]["payload"]
    assert email["problems"][0].startswith("$5,000.00 unapplied cash and credits on account: apply them first")
    assert actions["schedule_collection_call"]["payload"]["talking_points"][0] == (
        "Apply the unapplied cash and credits on account ($5,000.00) first: past due net of them is CAD 4,000.00.")


async def test_partial_cad_cash_is_netted_against_the_cad_past_due_and_not_called_unnetted(env):
    await one_invoice(env, "910", "CAD")
    await env.db.write(unapplied("910", 3_000.0, "CAD", "KP"))
    actions = (await plans(env))["910"]
    email = actions["send_collection_email"]["payload"]
    assert email["problems"][0] == ("CAD 3,000.00 unapplied cash and credits on account: apply them first; the email "
                                    "lists invoice balances before they are applied")
    assert not any("not netted" in p for p in email["problems"])  # there are no US-dollar invoices to net against
    assert actions["schedule_collection_call"]["payload"]["talking_points"][0] == (
        "Apply the unapplied cash and credits on account (CAD 3,000.00) first: past due net of them is "
        "CAD 1,000.00.")


def situation(invoices, dollars_on_account=0.0, other_on_account=None):
    rows = [{"invoice_id": str(n), "number": f"INV{n}", "days_past_due": 95, "bucket": "90+",
             "amount_remaining": amount, "currency": currency} for n, (amount, currency) in enumerate(invoices)]
    return Situation("1", "Acme", "ap@acme.test", None, None, None, rows, None, "s", False,
                     Exposure(sum(a for a, c in invoices if c == "USD"), dollars_on_account, 0.0),
                     other_on_account=other_on_account or {})


def test_every_currency_past_due_must_be_covered_in_its_own_currency():
    assert situation([(4_000.0, "CAD")], other_on_account={"CAD": 4_000.0}).paid_on_account
    assert not situation([(4_000.0, "CAD")], other_on_account={"CAD": 3_999.99}).paid_on_account
    assert not situation([(4_000.0, "CAD")], dollars_on_account=10_000.0).paid_on_account
    both = [(1_000.0, "USD"), (4_000.0, "CAD")]
    assert situation(both, 1_000.0, {"CAD": 4_000.0}).paid_on_account
    assert not situation(both, 1_000.0, {"EUR": 4_000.0}).paid_on_account
    assert not situation(both, 0.0, {"CAD": 9_000.0}).paid_on_account
    assert situation([(1_000.0, "USD")], 1_000.0).paid_on_account  # US dollars as before
    assert not situation([], 1_000.0).paid_on_account  # nothing past due: nothing to cover
    assert on_account_point(situation(both, 1_000.0, {"CAD": 4_000.0})) == (
        "Unapplied cash and credits on account ($1,000.00 and CAD 4,000.00) cover the past-due $1,000.00 and "
        "CAD 4,000.00: apply them to the open invoices in NetSuite; do not ask for payment.")
