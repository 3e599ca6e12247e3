"""Currencies given by NetSuite internal id or by symbol, and amounts or rates too large to count with.

A currency without letters once counted as US dollars at face value ("4" or "€" reduced to ""); an exchange rate
or amount of 1e306 made an aging amount infinite, which no event payload can hold as JSON.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cron.aging import action_plans, refresh_aging
from tests.cdc_support import post_events
from tests.helpers import LiveServer
from tests.test_aging_warm import deliver, invoice_event, snapshot, tick
from worker.backfill import backfill_file
from worker.cdc.intake import validate_events
from worker.currency import MAX_RATE, base_rate, is_base_currency
from worker.pricing import amounts_text, money, totals_by_currency

TODAY = "2026-06-30"
AT = "2026-06-01T10:00:00Z"
EURO = {"id": "4", "refName": "Euro"}


@pytest.mark.parametrize(("currency", "base"), [
    (None, True), ("", True), ("  ", True), ("1", True), (" 1 ", True), ("$", True), ("USA", True), ("US Dollar", True),
    ("4", False), ("2", False), ("10", False), ("€", False), ("£", False), ("円", False), ("Euro", False),
])
def test_a_currency_without_letters_is_us_dollars_only_as_id_1_or_the_dollar_sign(currency, base):
    assert is_base_currency(currency) is base


@pytest.mark.parametrize(("rate", "currency", "expected"), [
    (1.1, "4", 1.1), ("0.79", "2", 0.79), (None, "2", None), (None, "€", None), (1.17, "€", 1.17),
    (1.35, "1", 1.0), (None, "$", 1.0),
    (MAX_RATE, "Euro", MAX_RATE), (1e306, "Euro", None), (MAX_RATE * 1.01, "4", None), ("1e400", "Euro", None),
])
def test_base_rate_of_ids_symbols_and_absurd_rates(rate, currency, expected):
    assert base_rate(rate, currency) == expected


def test_money_names_a_currency_given_only_by_its_id():
    assert money(1000, "4") == "currency #4 1,000.00"
    assert (money(1000, "1"), money(1000, "€"), money(1000, "Euro")) == ("$1,000.00", "€ 1,000.00", "EUR 1,000.00")
    totals = totals_by_currency([(10, "4"), (5, " 4 "), (1, "1"), (2, None), (7, "€")])
    assert totals == {"USD": 3.0, "currency #4": 15.0, "€": 7.0}
    assert amounts_text(totals) == "$3.00, currency #4 15.00 and € 7.00"


async def test_invoices_in_a_currency_given_by_id_count_at_their_rate_or_not_at_all(acme):
    env = acme
    suiteql = invoice_event("e1", "eur", AT, amountRemaining=1000.0, currency="4")
    suiteql["record"]["exchangerate"] = 1.1  # SuiteQL: the id, and the lower-case spelling (the pydantic path)
    await deliver(env, suiteql,
                  invoice_event("e2", "gbp", AT, amountRemaining=1000.0, currency={"id": "2"}),  # no rate came
                  invoice_event("e3", "usd", AT, amountRemaining=1000.0, currency={"id": "1"}, exchangeRate=1.3),
                  invoice_event("e4", "sym", AT, amountRemaining=1000.0, currency="€", exchangeRate=1.2))
    rows = await env.db.fetchall("SELECT ns_id, exchange_rate FROM customer_invoice ORDER BY ns_id")
    assert dict(tuple(r) for r in rows) == {"eur": 1.1, "gbp": None, "sym": 1.2, "usd": 1.0}
    counts = await refresh_aging(env, tick(TODAY))
    assert counts["unconverted"] == 1  # gbp: at face value it added 1,000.00 US dollars
    assert {i: r["amount_base"] for i, r in (await snapshot(env, TODAY)).items()} == {
        "eur": 1100.0, "gbp": None, "sym": 1200.0, "usd": 1000.0}
    view = dict(await env.db.fetchone("SELECT total_open, unconverted FROM v_customer_ar_aging"))
    assert view == {"total_open": 3300.0, "unconverted": 1}


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


async def test_an_absurd_rate_is_no_rate_and_the_largest_allowed_amounts_stay_finite(acme):
    env = acme
    await deliver(env,
                  invoice_event("e1", "absurd", AT, amountRemaining=1000.0, currency=EURO, exchangeRate=1e306),
                  *(invoice_event(f"e{n}", f"huge{n}", AT, total=1e15, amountRemaining=1e15, currency=EURO,
                                  exchangeRate=MAX_RATE) for n in range(2, 5)))
    counts = await refresh_aging(env, tick(TODAY))
    assert counts["unconverted_invoices"] == ["INV-absurd (id absurd, Euro)"]
    rows = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'ar.bucket_changed' ORDER BY id")
    payloads = [_strict(r["payload_json"]) for r in rows]  # "Inf" in a payload stalled every later reader
    assert [p["amount_base"] for p in payloads] == [None, 1e19, 1e19, 1e19]
    view = dict(await env.db.fetchone("SELECT total_open FROM v_customer_ar_aging"))
    assert math.isfinite(view["total_open"]) and view["total_open"] == 3e19
    await action_plans(env, datetime(2026, 6, 30, 13, tzinfo=UTC))  # reads those events: it raised on every run


BIG = [("total", 1e306), ("amountRemaining", -1e306), ("amountRemaining", "1e400"), ("amountPaid", "nan")]


@pytest.mark.parametrize(("field", "value"), BIG)
def test_an_amount_beyond_any_real_one_is_refused_by_name(field, value):
    accepted, [rejected] = validate_events([invoice_event("e1", "9", AT, **{field: value})])
    assert not accepted
    assert rejected.reason.startswith(f"events[0].record.{field}: is ")
    assert rejected.reason.endswith("out of range for an amount (at most 1e+15 either way)")


@pytest.mark.parametrize(("record_type", "field"), [("customerpayment", "payment"), ("customerpayment", "unapplied"),
                                                    ("creditmemo", "amountRemaining"), ("salesorder", "total")])
def test_payment_memo_and_order_amounts_are_bounded_too(record_type, field):
    raw = {**invoice_event("e1", "9", AT), "record_type": record_type}
    for value, ok in ((1e15, True), (-1e15, True), (1.0000001e15, False), (1e306, False)):
        raw["record"] = {"id": "9", field: value}
        accepted, rejected = validate_events(json.loads(json.dumps([raw])))
        assert (len(accepted), len(rejected)) == ((1, 0) if ok else (0, 1)), (field, value)


def test_the_webhook_dead_letters_an_absurd_amount(server: LiveServer):
    response = post_events(httpx, server.url, [invoice_event("e1", "9", AT, total=1e306)])
    assert response.status_code == 422, response.text
    reason = "events[0].record.total: is 1e+306, out of range for an amount (at most 1e+15 either way)"
    assert [r["reason"] for r in response.json()["rejected_events"]] == [reason]
    letters = server.run(server.env.db.fetchall("SELECT reason FROM dead_letters"))
    assert [r[0] for r in letters] == [reason]
    assert server.run(server.env.db.fetchall("SELECT count(*) FROM customer_invoice"))[0][0] == 0


def test_the_backfill_dead_letters_an_absurd_amount(tmp_path: Path):
    export = tmp_path / "export.jsonl"
    export.write_text(json.dumps(invoice_event("e1", "9", AT, amountRemaining=1e306)) + "\n")
    db = tmp_path / "db.sqlite3"
    counts = backfill_file(db, export, progress=False)
    assert (counts["applied"], counts["rejected"]) == (0, 1)
    with sqlite3.connect(db) as conn:
        [(reason,)] = conn.execute("SELECT reason FROM dead_letters").fetchall()
        assert conn.execute("SELECT count(*) FROM customer_invoice").fetchone()[0] == 0
    assert reason == "line 1: record.amountRemaining: is 1e+306, out of range for an amount (at most 1e+15 either way)"
