"""The collection plan for customers in other currencies than US dollars (audit BG1, BG3).

BG1: money on account pays what is past due in its own currency only (NetSuite applies a payment or credit memo to
invoices in its currency), so the "cash on account covers everything past due: no email" rule is worked per
currency, without an exchange rate.
"""

import json
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


# BG3: NetSuite's creditLimit is in the customer's primary currency (customers.raw_json `currency`), the total limit
# for all its transaction currencies. Only open AR in that currency is compared with it: an invoice's exchange rate
# is to US dollars at its own date, no rate into the customer's currency.
CAD = json.dumps({"id": "3", "refName": "CAD"})


async def limited(env, customer_currency, invoices, *, on_account=(), due="2026-03-31"):
    """Customer 920 with a 5,000.00 limit in `customer_currency` (raw JSON), owing `invoices` [(amount, currency)],
    61 days past due on 2026-05-31, and money on account [(amount, currency)]."""
    def rows(conn):
        fx.customer(conn, "920", "Maple Leaf", email="ap@maple.test", credit_limit=5_000.0)
        if customer_currency is not None:
            conn.execute("UPDATE customers SET raw_json = json_set(raw_json, '$.currency', json(?))",
                         (customer_currency,))
        for n, (amount, currency) in enumerate(invoices):
            fx.invoice(conn, f"A{n}", "920", tran_date="2026-01-01", due_date=due, total=amount,
                       currency=currency, exchange_rate=None if currency == "USD" else 0.7345)
    await env.db.write(rows)
    for n, (amount, currency) in enumerate(on_account):
        await env.db.write(unapplied("920", amount, currency, f"P{n}"))
    return (await plans(env))["920"]


async def test_a_cad_limit_is_not_compared_with_dollars_and_says_so(env):
    actions = await limited(env, CAD, [(6_000.0, "USD")])
    assert "service_hold" not in actions  # was "open AR $6,000.00 is over the credit limit $5,000.00"
    assert ("$6,000.00 open in other currencies: not compared with the credit limit or counted in the 90+ share, "
            "which are in CAD") in actions["send_collection_email"]["payload"]["problems"]


async def test_a_cad_limit_is_compared_with_the_cad_invoices(env):
    actions = await limited(env, CAD, [(6_000.0, "CAD")])
    assert actions["service_hold"]["payload"]["reason"] == "open AR CAD 6,000.00 is over the credit limit CAD 5,000.00"
    assert "Open AR CAD 6,000.00 exceeds the credit limit CAD 5,000.00." in (
        actions["schedule_collection_call"]["payload"]["talking_points"])


async def test_a_cad_limit_exceeded_by_the_cad_invoices_alone_names_what_was_not_compared(env):
    actions = await limited(env, CAD, [(5_500.0, "CAD"), (4_000.0, "USD")], on_account=[(300.0, "CAD")])
    assert actions["service_hold"]["payload"]["reason"] == (
        "open AR CAD 5,200.00 net of CAD 300.00 unapplied cash and credits (not counting $4,000.00 open in other "
        "currencies, with no exchange rate to CAD) is over the credit limit CAD 5,000.00")


async def test_money_on_account_covering_the_cad_past_due_takes_the_hold_reason_away(env):
    from worker.flows.collection_queries import hold_not_warranted

    await limited(env, CAD, [(6_000.0, "CAD")])
    await env.db.write(unapplied("920", 6_000.0, "CAD", "KP"))
    assert await env.db.read_sync(hold_not_warranted, "920") == (
        "CAD 6,000.00 unapplied cash and credits on account now cover the CAD 6,000.00 past due")


@pytest.mark.parametrize("spelling", ['"1"', "1", '{"id": "1"}', '{"id": "1", "refName": "USA"}', None])
async def test_a_us_dollar_customer_compares_dollars_as_before(env, spelling):
    actions = await limited(env, spelling, [(6_000.0, "USD")])
    assert actions["service_hold"]["payload"]["reason"] == "open AR $6,000.00 is over the credit limit $5,000.00"


async def test_a_currency_sent_as_an_id_only_compares_invoices_sent_with_that_id(env):
    actions = await limited(env, '"3"', [(6_000.0, "CAD")])  # SuiteQL's id: "CAD" may or may not be it
    assert "service_hold" not in actions
    assert ("CAD 6,000.00 open in other currencies: not compared with the credit limit or counted in the 90+ share, "
            "which are in currency #3") in actions["send_collection_email"]["payload"]["problems"]


async def test_the_90_plus_share_is_worked_out_in_the_customers_currency(env):
    actions = await limited(env, CAD, [(1_000.0, "CAD"), (9_000.0, "USD")], due="2026-02-01")  # 119 days
    assert actions["service_hold"]["payload"]["reason"] == "100% of open AR in CAD is more than 90 days past due"


async def test_a_hold_is_refused_once_money_on_account_covers_past_due_in_another_currency(env):
    # Nothing past due in the customer's own currency (US dollars, over its limit but not yet due) and EUR past due
    # that EUR money on account now covers: the plan drafts no hold, so its staged hold can no longer be approved
    # (the approval checked the customer's own currency only, and let it through).
    def rows(conn):
        fx.customer(conn, "920", "Customer 920", email="ap@920.test", credit_limit=1_000.0)
        fx.invoice(conn, "9201", "920", tran_date="2026-05-20", due_date="2026-06-19", total=5_000.0, currency="USD")
        fx.invoice(conn, "9202", "920", tran_date="2026-03-01", due_date="2026-03-31", total=4_000.0,
                   currency="EUR", exchange_rate=1.1)
    await env.db.write(rows)
    hold = (await plans(env))["920"]["service_hold"]
    await env.db.write(unapplied("920", 4_000.0, "EUR", "EP"))
    with pytest.raises(DecisionError, match="EUR 4,000.00 unapplied cash and credits on account now cover everything"):
        await env.db.write(decide_action, hold["id"], "ann", True, "2026-05-31T12:20:00.000Z", seen=hold["updated_at"])
