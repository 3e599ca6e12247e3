"""One currency, one key: NetSuite sends a currency as its ISO code ("CAD") or as its record's name ("Canadian
Dollar"), and the collection plan totals and compares amounts by currency_name. Both spellings must land under one
key, or one customer gets two CAD totals and its CAD invoices are left out of its "Canadian Dollar" credit limit,
90+ share and on-account matching."""

import json

import pytest

from handlers.review.payload_text import describe_payload
from tests.review_seed import add_action, seed_reference, sign_in
from tests.test_collection_currency import limited
from worker.flows.collection_situation import Exposure, Situation, customer_currency
from worker.pricing import amounts_text, currency_name, money, totals_by_currency

CANADIAN_DOLLAR = json.dumps({"id": "3", "refName": "Canadian Dollar"})


@pytest.mark.parametrize(("spelling", "key"), [
    ("CAD", "CAD"), ("cad", "CAD"), ("Canadian Dollar", "CAD"), (" canadian  dollars ", "CAD"), ("Euro", "EUR"),
    ("USA", "USD"), ("US Dollar", "USD"), (None, "USD"), ("1", "USD"),
    ("4", "currency #4"), (" 4 ", "currency #4"),  # an id alone stays one: it may be any record
    ("Brazilian  Real", "Brazilian Real"), ("€", "€"),  # names not known here keep their own text
])
def test_a_currency_is_keyed_by_its_code_however_netsuite_spells_it(spelling, key):
    assert currency_name(spelling) == key


def test_totals_of_one_currency_in_two_spellings_are_one_total():
    totals = totals_by_currency([(1_000.0, "CAD"), (234.5, "Canadian Dollar"), (10.0, "Euro"), (5.0, "EUR"),
                                 (1.0, "USA")])
    assert totals == {"USD": 1.0, "CAD": 1_234.5, "EUR": 15.0}
    assert amounts_text(totals) == "$1.00, CAD 1,234.50 and EUR 15.00"
    assert money(1_234.5, "Canadian Dollar") == "CAD 1,234.50"


def test_a_canadian_dollar_customer_counts_its_cad_invoices_as_its_own():
    rows = [{"invoice_id": "1", "number": "INV1", "days_past_due": 95, "bucket": "90+", "amount_remaining": 4_000.0,
             "currency": "CAD"}]
    s = Situation("1", "Maple", None, None, None, 5_000.0, rows, None, "s", False, Exposure(4_000.0, 0.0, 0.0),
                  currency=customer_currency("Canadian Dollar"))
    assert s.currency == "CAD" and s.other_open == {} and s.home_past_due == 4_000.0


async def test_invoices_in_both_spellings_are_one_past_due_total_in_the_email(env):
    actions = await limited(env, None, [(1_000.0, "CAD"), (234.5, "Canadian Dollar")])
    email = actions["send_collection_email"]["payload"]
    assert email["past_due_totals"] == {"CAD": 1_234.5}
    assert ("CAD 1,234.50 open in other currencies: not compared with the credit limit or counted in the 90+ share, "
            "which are in US dollars") in email["problems"]


async def test_a_canadian_dollar_limit_is_compared_with_the_cad_invoices(env):
    actions = await limited(env, CANADIAN_DOLLAR, [(6_000.0, "CAD")])
    assert actions["service_hold"]["payload"]["reason"] == "open AR CAD 6,000.00 is over the credit limit CAD 5,000.00"
    assert actions["service_hold"]["payload"]["currency"] == "CAD"
    assert not any("other currencies" in p for p in actions["send_collection_email"]["payload"]["problems"])


async def test_the_90_plus_share_of_a_canadian_dollar_customer_counts_its_cad_invoices(env):
    actions = await limited(env, CANADIAN_DOLLAR, [(1_000.0, "CAD"), (100.0, "Canadian Dollar")], due="2026-02-01")
    assert actions["service_hold"]["payload"]["reason"] == "100% of open AR is more than 90 days past due"


async def test_cad_cash_on_account_pays_canadian_dollar_invoices(env):
    actions = await limited(env, CANADIAN_DOLLAR, [(4_000.0, "Canadian Dollar")], on_account=[(4_000.0, "CAD")])
    assert set(actions) == {"schedule_collection_call"}  # no email or hold: the money on account pays it
    assert actions["schedule_collection_call"]["payload"]["talking_points"][0] == (
        "Unapplied cash and credits on account (CAD 4,000.00) cover the past-due CAD 4,000.00: apply them to the "
        "open invoices in NetSuite; do not ask for payment.")


async def test_cash_on_account_in_the_other_spelling_is_not_named_as_another_currency(env):
    actions = await limited(env, None, [(4_000.0, "CAD")], on_account=[(200.0, "CAD"), (300.0, "Canadian Dollar")])
    email = actions["send_collection_email"]["payload"]
    assert email["problems"][0] == ("CAD 500.00 unapplied cash and credits on account: apply them first; the email "
                                    "lists invoice balances before they are applied")


# --- The Actions tab shows an email's past_due_totals as money per currency, not as raw JSON -------------------------

PAST_DUE_EMAIL = {"customer_id": "1187", "plan": "abc", "to": "ap@driscollfoods.com", "subject": "Past due",
                  "body": "Hello", "past_due_total": 1_234.5, "past_due_total_currency": "USD",
                  "past_due_totals": {"CAD": 200.0, "USD": 1_234.5}, "on_account": 0.0, "on_account_currency": "USD",
                  "invoices": []}


def test_past_due_totals_are_described_as_money_per_currency():
    fields = dict(describe_payload("send_collection_email", PAST_DUE_EMAIL)["fields"])
    assert fields["past due totals"] == "$1,234.50 and CAD 200.00"
    # Staged before currencies were keyed by code: one currency in two spellings is one amount, in its code.
    old = {**PAST_DUE_EMAIL, "past_due_totals": {"CAD": 200.0, "Canadian Dollar": 34.5}}
    assert dict(describe_payload("send_collection_email", old)["fields"])["past due totals"] == "CAD 234.50"
    # Anything but amounts by currency is shown as it is (as text, not JSON), not guessed at.
    odd = {**PAST_DUE_EMAIL, "past_due_totals": {"USD": "1,234.50"}}
    assert dict(describe_payload("send_collection_email", odd)["fields"])["past due totals"] == "USD: 1,234.50"


def test_the_actions_tab_shows_past_due_totals_as_money_and_escaped(server):
    email = {**PAST_DUE_EMAIL, "past_due_totals": {"USD": 1_234.5, "CAD": 200.0, "<b>Real</b>": 5.0}}
    server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_action(conn, "send_collection_email",
                                                                                   email))))
    page = sign_in(server.url).get("/review/actions")
    assert page.status_code == 200
    assert ("<dt>past due totals</dt><dd>$1,234.50, &lt;b&gt;Real&lt;/b&gt; 5.00 and CAD 200.00</dd>"
            in page.text)
    assert "&#34;USD&#34;" not in page.text and '"USD": 1234.5' not in page.text and "<b>Real</b>" not in page.text
