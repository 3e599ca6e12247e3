"""AR aging in US dollars: invoices in other currencies count at their exchange rate, never at face value."""

import json
import math
from datetime import UTC, datetime

import pytest

from cron.aging import refresh_aging
from cron.health import score_customers
from tests import ar_fixtures as fx
from tests.test_aging_warm import bucket_events, deliver, invoice_event, snapshot, tick
from worker.currency import base_rate

TODAY = "2026-06-30"
EURO = {"id": "4", "refName": "Euro"}


@pytest.mark.parametrize(("rate", "currency", "expected"), [
    (None, "USA", 1.0), (1.35, "US Dollar", 1.0), (None, None, 1.0),  # US dollars are worth 1, whatever came
    (1.08, "Euro", 1.08), ("1.08", "EUR", 1.08), (2, "CAD", 2.0),
    (None, "Euro", None), (0, "Euro", None), (-1.1, "Euro", None), ("abc", "Euro", None),
    (True, "Euro", None), (math.inf, "Euro", None), (math.nan, "Euro", None),
    (1.1, "4", 1.1), (None, "4", None), (None, "1", 1.0), (1.2, "€", 1.2), (1e306, "Euro", None),  # ids, symbols
])
def test_base_rate(rate, currency, expected):
    assert base_rate(rate, currency) == expected


async def test_the_mirror_keeps_each_invoices_rate_from_either_spelling(acme):
    env, at = acme, "2026-06-01T10:00:00Z"
    lower = invoice_event("e2", "lower", at, amountRemaining=10.0, currency="Euro")
    lower["record"]["exchangerate"] = 1.1  # SuiteQL's spelling (the pydantic path)
    await deliver(env, invoice_event("e1", "eur", at, amountRemaining=10.0, currency=EURO, exchangeRate=1.08),
                  lower,
                  invoice_event("e3", "blind", at, amountRemaining=10.0, currency=EURO),
                  invoice_event("e4", "usd", at, amountRemaining=10.0, currency={"id": "1", "refName": "USA"}),
                  invoice_event("e5", "zero", at, amountRemaining=10.0, currency=EURO, exchangeRate=0))
    rows = await env.db.fetchall("SELECT ns_id, currency, exchange_rate FROM customer_invoice ORDER BY ns_id")
    assert [tuple(r) for r in rows] == [("blind", "Euro", None), ("eur", "Euro", 1.08), ("lower", "Euro", 1.1),
                                        ("usd", "USA", 1.0), ("zero", "Euro", None)]


async def test_the_view_adds_other_currencies_at_their_rate_and_counts_those_without_one(acme):
    env, at = acme, "2026-06-01T10:00:00Z"
    await deliver(env,
                  invoice_event("e1", "usd", at, amountRemaining=100.0, dueDate="2026-07-15"),  # current
                  invoice_event("e2", "eur", at, amountRemaining=1000.0, dueDate="2026-04-20",  # 71 days: 61-90
                                currency=EURO, exchangeRate=1.1),
                  invoice_event("e3", "cad", at, amountRemaining=500.0, dueDate="2026-03-01",  # 121 days: 90+
                                currency={"id": "3", "refName": "Canadian Dollar"}))
    counts = await refresh_aging(env, tick(TODAY))
    assert (counts["open_invoices"], counts["unconverted"], counts["unconverted_invoices"]) == (
        3, 1, ["INV-cad (id cad, Canadian Dollar)"])
    view = dict(await env.db.fetchone("SELECT * FROM v_customer_ar_aging WHERE customer_id = '100'"))
    # At face value this customer would owe 1,600.00, 500.00 of it 90+; in dollars it is 1,200.00, none known 90+.
    assert view == {"customer_id": "100", "as_of": TODAY, "current": 100.0, "b1_30": 0.0, "b31_60": 0.0,
                    "b61_90": 1100.0, "b90_plus": 0.0, "total_open": 1200.0, "unconverted": 1}
    snap = await snapshot(env, TODAY)
    assert {i: (r["bucket"], r["amount_remaining"], r["currency"], r["amount_base"]) for i, r in snap.items()} == {
        "usd": ("current", 100.0, None, 100.0), "eur": ("61-90", 1000.0, "Euro", 1100.0),
        "cad": ("90+", 500.0, "Canadian Dollar", None)}
    moves = {e["invoice_id"]: (e["amount_remaining"], e["currency"], e["amount_base"]) for e in await bucket_events(env)}
    assert moves == {"eur": (1000.0, "Euro", 1100.0), "cad": (500.0, "Canadian Dollar", None)}

    # NetSuite re-sends the Canadian invoice with its rate: a later tick of the same date converts it in place.
    await deliver(env, invoice_event("e4", "cad", "2026-06-30T13:00:00Z", amountRemaining=500.0, dueDate="2026-03-01",
                                     currency={"id": "3", "refName": "Canadian Dollar"}, exchangeRate=0.73))
    again = await refresh_aging(env, tick(TODAY, 14))
    assert (again["unconverted"], again["transitions"], again["rows_written"]) == (0, 0, 1)
    view = dict(await env.db.fetchone("SELECT * FROM v_customer_ar_aging WHERE customer_id = '100'"))
    assert (view["b90_plus"], view["total_open"], view["unconverted"]) == (365.0, 1565.0, 0)


async def test_the_health_share_past_due_is_weighed_in_dollars(acme):
    env = acme

    def rows(conn):
        fx.customer(conn, "200", "Maple Foods")
        # Acme: $100 current and EUR 100 at 2.0 ($200) 90+ past due: two thirds of its AR is 90+, not half.
        fx.invoice(conn, "a1", "100", tran_date="2026-06-20", due_date="2026-07-20", total=100.0)
        fx.invoice(conn, "a2", "100", tran_date="2026-01-01", due_date="2026-02-01", total=100.0, currency="EUR",
                   exchange_rate=2.0)
        # Maple: $1,000 current and CAD 10 without a rate 90+: how much that is in dollars is unknown, so the
        # signal takes its worst, as for an invoice of unknown remainder.
        fx.invoice(conn, "m1", "200", tran_date="2026-06-20", due_date="2026-07-20", total=1000.0)
        fx.invoice(conn, "m2", "200", tran_date="2026-01-01", due_date="2026-02-01", total=10.0, currency="CAD")
    await env.db.write(rows)
    await refresh_aging(env, tick(TODAY))
    await score_customers(env, datetime(2026, 6, 30, 13, tzinfo=UTC))
    signals = {r["customer_id"]: json.loads(r["signals_json"])["ar_aging"]
               for r in await env.db.fetchall("SELECT customer_id, signals_json FROM customer_health_scores")}
    assert signals["100"]["open_by_bucket"] == {"current": 100.0, "90+": 200.0}
    assert signals["100"]["raw"] == pytest.approx(0.6667, abs=1e-4)
    assert signals["200"]["open_by_bucket"] == {"current": 1000.0}
    assert signals["200"]["raw"] == 1.0
    [listed] = signals["200"]["remaining_unknown"]["invoices"]
    assert (listed["invoice"], listed["bucket"], listed["total"], listed["currency"], listed["counted"]) == (
        "INVm2", "90+", 10.0, "CAD", True)
