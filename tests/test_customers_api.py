"""Customer 360 and customer search over real HTTP against the running app."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from cron.aging import action_plans, refresh_aging
from cron.health import score_customers
from tests import ar_fixtures as fx
from tests.helpers import TEST_INTAKE_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}"}


def seed(conn):
    fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscollfoods.com", credit_limit=50_000)
    fx.customer(conn, "2001", "Driscoll Brothers Bakery")
    fx.customer(conn, "2002", "Seaside Frozen Foods Inc.")
    fx.customer(conn, "2003", "Old Driscoll Depot", deleted_at="2026-01-01T00:00:00Z")
    fx.customer(conn, "2004", "Fresh Foods Co")
    conn.executemany("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) VALUES ('customer', ?, ?, ?)",
                     [("driscoll", "Driscoll", "1187"), ("df distribution", "DF Distribution", "1187")])
    fx.program(conn, "1187", 45, name="driscoll-usda")
    fx.contact(conn, "c1", "1187", "Maria Lopez", "maria@driscollfoods.com", title="Accounts Payable")
    fx.contact(conn, "c2", "1187", "Old Buyer", "old@driscollfoods.com", inactive=True)
    fx.invoice(conn, "9001", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=12_840.5)
    fx.invoice(conn, "9002", "1187", tran_date="2026-05-01", due_date="2026-07-01", total=2_000, remaining=500)
    fx.order(conn, "so1", "1187", "2026-05-02", total=4_100)
    conn.execute("UPDATE transactions SET currency = 'CAD' WHERE ns_id = 'so1'")
    conn.execute("INSERT INTO item_fulfillment (ns_id, tran_id, customer_id, created_from, tran_date, ship_status,"
                 " last_modified) VALUES ('if1', 'IF100', '1187', 'so1', '2026-05-03', 'shipped', ?)", (fx.MODIFIED,))
    conn.execute("INSERT INTO shipments (fulfillment_id, package_no, tracking_number, carrier) "
                 "VALUES ('if1', 1, '1Z999AA10123456784', 'UPS')")
    conn.execute("INSERT INTO review_items (status, customer_id, po_number, created_at, updated_at, total, line_count,"
                 " parsed_json) VALUES ('pending', '1187', 'PO-77120', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z',"
                 " 980.0, 3, '{\"currency\": \"CAD\"}')")


@pytest.fixture
def live(server):
    env = server.env
    server.run(env.db.write(seed))
    for day in ("2026-05-30", "2026-05-31"):  # 9001 reaches 61-90 on May 31st
        server.run(refresh_aging(env, datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)))
    server.run(score_customers(env, datetime(2026, 5, 31, 13, tzinfo=UTC)))
    server.run(action_plans(env, datetime(2026, 5, 31, 13, tzinfo=UTC)))
    return server


def test_customer_data_needs_the_bearer_token(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TEST_INTAKE_TOKEN}"}):
        response = httpx.get(server.url + "/api/customers/1187", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(server.url + "/api/customers", params={"q": "x"}).status_code == 401


def test_unknown_customer_is_a_clear_404(server):
    response = httpx.get(server.url + "/api/customers/nope-42", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["detail"] == "no customer with ns_id 'nope-42' in the mirror"


def test_customer_360(live):
    response = httpx.get(live.url + "/api/customers/1187", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["profile"]["company_name"] == "Driscoll Foods" and body["profile"]["credit_limit"] == 50_000
    assert [c["name"] for c in body["contacts"]] == ["Maria Lopez", "Old Buyer"]
    assert body["program"]["program"] == "driscoll-usda" and body["program"]["payment_terms_days"] == 45
    assert body["aging"] == {"as_of": "2026-05-31", "current": 500.0, "b1_30": 0.0, "b31_60": 0.0, "b61_90": 12840.5,
                             "b90_plus": 0.0, "total_open": 13340.5, "unconverted": 0}
    assert [(i["invoice_id"], i["bucket"], i["days_past_due"]) for i in body["open_invoices"]] == [
        ("9001", "61-90", 61), ("9002", "current", -31)]
    health = body["health"]
    assert health["as_of"] == "2026-05-31" and health["tier"] in ("green", "yellow", "orange", "red")
    assert set(health["signals"]) >= {"ar_aging", "dispute_count", "contact_churn"}
    assert health["trend"] == [{"as_of": "2026-05-31", "score": health["score"], "tier": health["tier"]}]
    # 12,840.50 of 13,340.50 at 61-90 (0.72) and unpaid 61 days past due: the score is capped red (audit BY), said
    # beside the score and on the signals its rule reads.
    cap = health["score_cap"]
    assert (health["score"], health["tier"]) == (39.0, "red") and cap["at_most"] == 39.0 and cap["weighted_sum"] > 40
    assert cap == health["signals"]["ar_aging"]["score_cap"] == health["signals"]["payment_lateness_trend"]["score_cap"]
    # not in US dollars as the rest: each total names its currency
    assert [(o["ns_id"], o["total"], o["currency"]) for o in body["recent_orders"]] == [("so1", 4100.0, "CAD")]
    assert body["recent_shipments"][0]["tracking"] == ["1Z999AA10123456784"]
    assert [(r["po_number"], r["total"], r["currency"]) for r in body["open_review_items"]] == [
        ("PO-77120", 980.0, "CAD")]
    kinds = [a["kind"] for a in body["proposed_actions"]]
    assert sorted(kinds) == ["schedule_collection_call", "send_collection_email"]
    assert body["workflow_runs"][0]["workflow"] == "ar_aging_action_plan"
    assert body["open_invoice_summary"] == {"count": 2, "amount_remaining": 13340.5, "listed": 2, "truncated": False,
                                            "remaining_unknown": 0, "unconverted": 0}
    assert body["open_invoices_remaining_unknown"] == {"count": 0, "invoice_totals": 0.0, "unconverted": 0, "listed": 0,
                                                       "truncated": False, "note": None, "invoices": []}


def test_360_lists_open_invoices_of_unknown_remainder_apart_from_the_balance(live):
    # NetSuite sent two open invoices without amountRemaining (and deleted a third): they are shown, named as
    # such, and never summed into the known open balance or listed among the aged invoices.
    def rows(conn):
        fx.invoice(conn, "9003", "1187", tran_date="2026-02-01", due_date="2026-03-03", total=700.0,
                   remaining_unknown=True)
        fx.invoice(conn, "9004", "1187", tran_date="2026-05-20", due_date=None, total=80.25, remaining_unknown=True)
        fx.invoice(conn, "9005", "1187", tran_date="2026-01-10", due_date="2026-02-09", total=55.0,
                   remaining_unknown=True, deleted_at="2026-03-01T00:00:00Z")
    live.run(live.env.db.write(rows))
    body = httpx.get(live.url + "/api/customers/1187", headers=AUTH).json()
    assert [i["invoice_id"] for i in body["open_invoices"]] == ["9001", "9002"]
    assert body["open_invoice_summary"] == {"count": 2, "amount_remaining": 13340.5, "listed": 2, "truncated": False,
                                            "remaining_unknown": 2, "unconverted": 0}
    unknown = body["open_invoices_remaining_unknown"]
    assert (unknown["count"], unknown["invoice_totals"], unknown["listed"], unknown["truncated"]) == (
        2, 780.25, 2, False)
    assert [(i["invoice_id"], i["tran_id"], i["due_date"], i["total"], i["amount_remaining"], i["status"])
            for i in unknown["invoices"]] == [("9003", "INV9003", "2026-03-03", 700.0, None, "open"),
                                              ("9004", "INV9004", None, 80.25, None, "open")]
    assert unknown["note"].startswith("NetSuite sent these open invoices without amountRemaining")


def test_360_does_not_list_invoices_deleted_or_paid_since_the_last_aging(live):
    # After the warm tick, NetSuite deletes 9001 and 9002 is paid down: the list follows the mirror now.
    live.run(live.env.db.write(lambda conn: fx.update_invoice(conn, "9001", deleted_at="2026-06-01T09:00:00.000Z")))
    live.run(live.env.db.write(lambda conn: fx.update_invoice(conn, "9002", amount_remaining=120.25)))
    body = httpx.get(live.url + "/api/customers/1187", headers=AUTH).json()
    assert [(i["invoice_id"], i["amount_remaining"]) for i in body["open_invoices"]] == [("9002", 120.25)]
    assert body["open_invoice_summary"] == {"count": 1, "amount_remaining": 120.25, "listed": 1, "truncated": False,
                                            "remaining_unknown": 0, "unconverted": 0}
    live.run(live.env.db.write(lambda conn: fx.update_invoice(conn, "9002", amount_remaining=0.004)))
    assert httpx.get(live.url + "/api/customers/1187", headers=AUTH).json()["open_invoices"] == []


def test_360_does_not_list_an_invoice_moved_to_another_customer_since_the_last_aging(live):
    # NetSuite reassigns 9001 to another customer after the warm tick: it is not 1187's to chase any more.
    live.run(live.env.db.write(lambda conn: fx.update_invoice(conn, "9001", customer_id="2001")))
    body = httpx.get(live.url + "/api/customers/1187", headers=AUTH).json()
    assert [i["invoice_id"] for i in body["open_invoices"]] == ["9002"]
    assert body["open_invoice_summary"] == {"count": 1, "amount_remaining": 500.0, "listed": 1, "truncated": False,
                                            "remaining_unknown": 0, "unconverted": 0}
    other = httpx.get(live.url + "/api/customers/2001", headers=AUTH).json()
    assert other["open_invoices"] == []  # the other customer's 360 shows it from its next aging snapshot


def test_360_states_each_invoice_in_its_currency_and_totals_in_dollars(live):
    # Two more invoices in other currencies: one with its exchange rate, one sent without.
    def rows(conn):
        fx.invoice(conn, "9006", "1187", tran_date="2026-04-01", due_date="2026-05-01", total=100.0, currency="Euro",
                   exchange_rate=1.2)
        fx.invoice(conn, "9007", "1187", tran_date="2026-04-01", due_date="2026-05-01", total=300.0,
                   currency="British pound")
    live.run(live.env.db.write(rows))
    live.run(refresh_aging(live.env, datetime(2026, 5, 31, 14, tzinfo=UTC)))
    body = httpx.get(live.url + "/api/customers/1187", headers=AUTH).json()
    assert {i["invoice_id"]: (i["amount_remaining"], i["currency"], i["amount_base"]) for i in body["open_invoices"]} == {
        "9001": (12840.5, "USD", 12840.5), "9002": (500.0, "USD", 500.0), "9006": (100.0, "Euro", 120.0),
        "9007": (300.0, "British pound", None)}
    assert body["open_invoice_summary"] == {"count": 4, "amount_remaining": 13460.5, "listed": 4, "truncated": False,
                                            "remaining_unknown": 0, "unconverted": 1}
    assert body["aging"] == {"as_of": "2026-05-31", "current": 500.0, "b1_30": 120.0, "b31_60": 0.0,
                             "b61_90": 12840.5, "b90_plus": 0.0, "total_open": 13460.5, "unconverted": 1}


def test_360_says_when_its_open_invoice_list_is_cut(server):
    from handlers.customers import MAX_OPEN_INVOICES

    def rows(conn):
        fx.customer(conn, "77", "Big Account")
        for n in range(MAX_OPEN_INVOICES + 5):
            fx.invoice(conn, f"b{n:03d}", "77", tran_date="2026-04-01", due_date="2026-05-01", total=10.0)
    server.run(server.env.db.write(rows))
    server.run(refresh_aging(server.env, datetime(2026, 5, 31, 12, tzinfo=UTC)))
    body = httpx.get(server.url + "/api/customers/77", headers=AUTH).json()
    assert len(body["open_invoices"]) == MAX_OPEN_INVOICES
    assert body["open_invoice_summary"] == {"count": MAX_OPEN_INVOICES + 5, "amount_remaining": 2050.0,
                                            "listed": MAX_OPEN_INVOICES, "truncated": True, "remaining_unknown": 0,
                                            "unconverted": 0}


def test_customer_without_program_or_history_gets_the_standard_program(live):
    body = httpx.get(live.url + "/api/customers/2004", headers=AUTH).json()
    assert body["program"]["program"] == "standard" and body["program"]["source"] == "standard"
    assert body["aging"] is None and body["open_invoices"] == [] and body["health"]["is_neutral"] is True
    assert body["health"]["score_cap"] is None  # neutral: never capped


@pytest.mark.parametrize(("q", "first", "why"), [
    ("Driscoll", "1187", "synonym"),
    ("DRISCOLL FOODS INC.", "1187", "name"),
    ("df distribution", "1187", "synonym"),
    ("C2002", "2002", "id"),
    ("seaside", "2002", "name prefix"),
])
def test_search_resolves_names(live, q, first, why):
    response = httpx.get(live.url + "/api/customers", params={"q": q}, headers=AUTH)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["ns_id"] == first and results[0]["matched_by"] == why


def test_search_ranks_and_hides_deleted_customers(live):
    results = httpx.get(live.url + "/api/customers", params={"q": "driscoll"}, headers=AUTH).json()["results"]
    assert [r["ns_id"] for r in results] == ["1187", "2001"]  # 2003 is deleted in NetSuite
    foods = httpx.get(live.url + "/api/customers", params={"q": "foods"}, headers=AUTH).json()["results"]
    assert [r["ns_id"] for r in foods] == ["1187", "2004", "2002"]  # equal rank: by name
    fr = httpx.get(live.url + "/api/customers", params={"q": "Fr"}, headers=AUTH).json()["results"]
    assert [(r["ns_id"], r["matched_by"]) for r in fr] == [("2004", "name prefix"), ("2002", "word prefix")]
    odd = httpx.get(live.url + "/api/customers", params={"q": "100%_"}, headers=AUTH)
    assert odd.status_code == 200 and odd.json()["results"] == []


def test_search_finds_names_with_apostrophes_accents_and_other_scripts(server):
    names = {"31": "Driscoll's Market", "32": "Café Olé", "33": "ÉPICERIE FINE", "34": "한국마트", "35": "Trader Joe's",
             "36": "Søren Smørrebrød ApS", "37": "Łódź Foods", "38": "Straße Deli GmbH", "39": "Golden Dragon 金龍",
             "40": "Ромашка Trading LLC", "41": "Ελληνικό Taverna"}
    server.run(server.env.db.write(lambda conn: [fx.customer(conn, k, v) for k, v in names.items()]))
    for q, expected in [("Driscoll's Market", ("31", "name")), ("driscolls", ("31", "name prefix")),
                        ("Café Olé", ("32", "name")), ("cafe", ("32", "name prefix")), ("épicerie", ("33", "name prefix")),
                        ("한국마트", ("34", "name")), ("한국", ("34", "name prefix")), ("joe's", ("35", "word prefix")),
                        # letters NFKD does not decompose are folded, not dropped ("Søren" is not "sren")
                        ("soren", ("36", "name prefix")), ("Smørrebrød", ("36", "word prefix")),
                        ("lodz foods", ("37", "name")), ("Strasse Deli", ("38", "name")),
                        # the other script of a mixed name is kept (it was dropped: 金龍 found nothing)
                        ("金龍", ("39", "word prefix")), ("golden dragon 金龍", ("39", "name")),
                        ("Ромашка", ("40", "name prefix")), ("Ελληνικό", ("41", "name prefix")),
                        ("Ελληνικό Taverna", ("41", "name"))]:
        results = httpx.get(server.url + "/api/customers", params={"q": q}, headers=AUTH).json()["results"]
        assert [(r["ns_id"], r["matched_by"]) for r in results][:1] == [expected], q


def test_search_ranks_every_matching_customer_however_many_share_a_word(server):
    # 2,200 franchises share their first word; the exact one must still be found (a cap once cut it off).
    server.run(server.env.db.write(lambda conn: [fx.customer(conn, str(5000 + n), f"Subway #{n}")
                                                 for n in range(1, 2201)]))
    results = httpx.get(server.url + "/api/customers", params={"q": "Subway #2150"}, headers=AUTH).json()["results"]
    assert (results[0]["company_name"], results[0]["matched_by"]) == ("Subway #2150", "name")


def test_a_synonym_of_the_first_words_only_ranks_below_a_whole_name_match(live):
    results = httpx.get(live.url + "/api/customers", params={"q": "Driscoll Brothers"}, headers=AUTH).json()["results"]
    assert [(r["ns_id"], r["matched_by"]) for r in results] == [("2001", "name prefix"),
                                                                ("1187", "synonym (leading words)")]


def test_search_rejects_bad_parameters(server):
    empty = httpx.get(server.url + "/api/customers", params={"q": "  "}, headers=AUTH)
    assert empty.status_code == 400 and "q:" in empty.json()["detail"]
    big = httpx.get(server.url + "/api/customers", params={"q": "x", "limit": 500}, headers=AUTH)
    assert big.status_code == 400 and "limit: must be between 1 and 50" in json.dumps(big.json())
