"""Open invoices of unknown remainder in another currency: health bounds them in US dollars at their exchange rate
(no bound without one), the 360 totals them in US dollars, and the ledger names their currency."""

import json
from datetime import UTC, datetime

from cron.aging import refresh_aging
from cron.health import score_customers
from handlers.customers import _remaining_unknown
from tests import ar_fixtures as fx

NIGHT = datetime(2026, 6, 30, 3, 0, tzinfo=UTC)


async def seed(env):
    """Each customer has a current $1,000 invoice and one 90+ of unknown remainder: G in pounds at 1.27, of which
    the mirror saw 200 paid; N in pounds without a rate; Y 1,000,000 yen at 0.0067; U 1,000 US dollars."""
    def rows(conn):
        for cid in ("G", "N", "Y", "U"):
            fx.customer(conn, cid, f"Customer {cid}")
            fx.invoice(conn, f"{cid}-1", cid, tran_date="2026-06-15", due_date="2026-07-15", total=1000)
        unknown = {"tran_date": "2026-03-01", "due_date": "2026-03-31", "remaining_unknown": True}
        fx.invoice(conn, "G-2", "G", total=1000, currency="British pound", exchange_rate=1.27, **unknown)
        fx.payment(conn, "G-p", "G", "2026-04-10", [("G-2", 200)])
        fx.invoice(conn, "N-2", "N", total=1000, currency="British pound", **unknown)
        fx.invoice(conn, "Y-2", "Y", total=1_000_000, currency="Yen", exchange_rate=0.0067, **unknown)
        fx.invoice(conn, "U-2", "U", total=1000, **unknown)
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)


async def test_health_bounds_an_unknown_remainder_in_dollars_at_its_rate_and_not_at_all_without_one(env):
    await seed(env)
    await score_customers(env, NIGHT)
    rows = await env.db.fetchall("SELECT customer_id, signals_json FROM customer_health_scores")
    ar = {r["customer_id"]: json.loads(r["signals_json"])["ar_aging"] for r in rows}
    shown = {cid: [(i["at_most"], i.get("currency")) for i in a["remaining_unknown"]["invoices"]]
             for cid, a in ar.items()}
    # G: at most 800 pounds = $1,016 at 90+ beside $1,000 current; N: no bound, so its bucket's severity (as
    # the same invoice of known remainder without a rate scores); Y: at most $6,700, not 1,000,000 "dollars".
    # G's share is of its billing: 1,016 of 1,000 + 1,016 + the 200 pounds it paid in 90 days ($254).
    assert shown == {"G": [(1016.0, "British pound")], "N": [(None, "British pound")], "Y": [(6700.0, "Yen")],
                     "U": [(1000.0, None)]}
    assert {cid: a["raw"] for cid, a in ar.items()} == {"G": 0.4476, "N": 1.0, "Y": 0.8701, "U": 0.5}


async def test_360_totals_invoices_of_unknown_remainder_in_dollars_and_counts_the_unconverted(env):
    await seed(env)
    await env.db.write(lambda conn: [fx.update_invoice(conn, f"{cid}-2", customer_id="G") for cid in "NYU"])
    async with env.db.read() as conn:
        unknown = await _remaining_unknown(conn, "G")
    assert (unknown["count"], unknown["invoice_totals"], unknown["unconverted"]) == (4, 1270.0 + 6700.0 + 1000.0, 1)
    assert {i["invoice_id"]: (i["total"], i["currency"], i["total_base"]) for i in unknown["invoices"]} == {
        "G-2": (1000.0, "British pound", 1270.0), "N-2": (1000.0, "British pound", None),
        "Y-2": (1_000_000.0, "Yen", 6700.0), "U-2": (1000.0, "USD", 1000.0)}
    assert "unconverted" in unknown["note"]


async def test_the_remaining_unknown_event_names_the_invoice_currency(env):
    await seed(env)
    rows = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'ar.remaining_unknown'")
    payloads = {p["invoice_id"]: (p["total"], p["currency"], p["exchange_rate"])
                for p in (json.loads(r["payload_json"]) for r in rows)}
    assert payloads == {"G-2": (1000.0, "British pound", 1.27), "N-2": (1000.0, "British pound", None),
                        "Y-2": (1_000_000.0, "Yen", 0.0067), "U-2": (1000.0, "USD", 1.0)}
