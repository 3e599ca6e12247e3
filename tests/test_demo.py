"""Demo data: a deterministic, realistic year, valid for the webhook's models, loaded once by `worker dev`."""

import csv
import json
import sqlite3
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from cron.health import gather, windows
from tests.helpers import live_server
from worker.aging import company_date, terms_days
from worker.cdc.intake import validate_events
from worker.db import connect
from worker.demo import REFERENCE_DIR, RECENT_DAYS, generate, load_demo_if_empty, summarize
from worker.demo_data.year import CUSTOMERS_CSV, DISCOUNT_CUSTOMERS, PARENTS
from worker.flows.registry import WORKFLOWS
from worker.migrations import apply_schema
from worker.reference import import_reference
from worker.workflow_runner import drain

NOW = datetime(2026, 11, 20, 16, 45, tzinfo=UTC)


@pytest.fixture(scope="module")
def events():
    return generate(NOW)


def test_same_inputs_give_the_same_year_ending_at_now(events):
    assert json.dumps(generate(NOW)) == json.dumps(events)
    first_order = next(e for e in events if e["record_type"] == "salesorder")["record"]["tranDate"]
    assert (NOW - timedelta(days=366)).date() <= date.fromisoformat(first_order) <= (NOW - timedelta(days=360)).date()


def test_every_event_passes_the_webhook_models(events):
    accepted, rejected = validate_events(events)
    assert [r.reason for r in rejected] == [] and len(accepted) == len(events)
    assert len({e["event_id"] for e in events}) == len(events)


def test_the_year_looks_like_a_food_distributor(events):
    summary = summarize(events, NOW.date())
    assert summary["records"]["customer"] == 41 and summary["records"]["contact"] >= 80
    assert 0.28 <= summary["driscoll_share"] <= 0.38  # Driscoll Foods is about a third of revenue
    assert set(summary["open_ar_by_bucket"]) == {"current", "1-30", "31-60", "61-90", "90+"}
    assert all(amount > 0 for amount in summary["open_ar_by_bucket"].values())
    assert summary["records"]["salesorder"] > 1500 and summary["records"]["customerpayment"] > 1000
    assert 10 <= summary["credit_memos"] <= 15
    cutoff = (NOW - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sum(1 for e in events if e["record_type"] == "creditmemo" and e["last_modified"] >= cutoff) >= 2


def test_records_are_consistent_in_time_and_money(events):
    stamp_now = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    versions = defaultdict(list)
    for e in events:
        assert e["last_modified"] <= stamp_now and e["record"]["lastModifiedDate"] == e["last_modified"]
        versions[(e["record_type"], e["record_id"])].append(e["last_modified"])
    assert all(v == sorted(set(v)) for v in versions.values())  # each record's versions strictly increase
    latest = {(e["record_type"], e["record_id"]): e["record"] for e in events}
    for (kind, _id), record in latest.items():
        if kind == "invoice":
            terms = int(record["terms"]["refName"].split()[-1])
            assert date.fromisoformat(record["dueDate"]) == date.fromisoformat(record["tranDate"]) + timedelta(terms)
            assert 0 <= record["amountRemaining"] <= record["total"]
        if kind == "itemfulfillment" and record["shipStatus"]["refName"] == "Shipped":
            assert all(p["packageTrackingNumber"] for p in record["packageList"]["packages"])
        if kind == "salesorder":  # private label is sold only to the brand's owner
            items = {line["item"]["refName"][:3] for line in record["item"]["items"]}
            assert record["entity"]["id"] == "1187" or "MM-" not in items
            assert record["entity"]["id"] == "1203" or "RS-" not in items
    paid = defaultdict(float)
    for (kind, _id), record in latest.items():
        if kind in ("customerpayment", "creditmemo"):
            for applied in record["apply"]["items"]:  # an early-payment discount settles beside the amount
                paid[applied["doc"]["id"]] += applied["amount"] + applied.get("disc", 0.0)
    for (kind, ns_id), record in latest.items():
        if kind == "invoice":
            assert round(record["total"] - paid[ns_id], 2) == record["amountRemaining"]


def test_payments_come_on_their_own_days_after_the_invoices_they_pay_by_payer_habit(events):
    # Every payment used to be dated the day of the last one planned: one day for the whole year, some before the
    # invoices they paid, and every customer's lateness the same (Driscoll, a prompt payer, 152 days late).
    latest = {(e["record_type"], e["record_id"]): e["record"] for e in events}
    invoices = {ns_id: r for (kind, ns_id), r in latest.items() if kind == "invoice"}
    with CUSTOMERS_CSV.open(newline="", encoding="utf-8") as handle:
        payer = {row["ns_id"]: row["payer"] for row in csv.DictReader(handle)}
    days, late = set(), defaultdict(list)
    for (kind, _id), record in latest.items():
        if kind != "customerpayment":
            continue
        days.add(record["tranDate"])
        paid_on = date.fromisoformat(record["tranDate"])
        for applied in record["apply"]["items"]:
            invoice = invoices[applied["doc"]["id"]]
            assert paid_on > date.fromisoformat(invoice["tranDate"]), (record["tranDate"], invoice["tranDate"])
            assert applied["applyDate"] == invoice["tranDate"]  # as NetSuite sends it: the invoice's date
            late[payer[record["customer"]["id"]]].append((paid_on - date.fromisoformat(invoice["dueDate"])).days)
    assert len(days) > 150
    mean = {habit: sum(d) / len(d) for habit, d in late.items()}
    assert mean["prompt"] < 5 < mean["slow"] < mean["late"] < mean["very_late"]


@pytest.mark.parametrize("now", [NOW, datetime(2026, 11, 21, 3, tzinfo=UTC)])
def test_credit_memo_lines_are_whole_cases_at_their_rate(now):
    # A memo's quantity was rounded to whole cases and its rate to cents apart: 5 cs x 47.48 on a 237.38 memo.
    memos = [e["record"] for e in generate(now) if e["record_type"] == "creditmemo"]
    assert memos
    for memo in memos:
        if memo["status"]["refName"] == "Voided":  # a void zeroes the memo
            assert memo["total"] == memo["item"]["items"][0]["amount"] == 0 and memo["apply"]["items"] == []
            continue
        (line,) = memo["item"]["items"]
        assert line["quantity"] == int(line["quantity"]) >= 1
        assert round(line["quantity"] * line["rate"], 2) == line["amount"] == memo["total"], memo["tranId"]
        assert f"{int(line['quantity'])} cs" in memo["memo"] or "cs" not in memo["memo"]


def test_some_customers_take_an_early_payment_discount_that_settles_the_invoice(events):
    latest = {(e["record_type"], e["record_id"]): e["record"] for e in events}
    for ns_id in DISCOUNT_CUSTOMERS:
        assert terms_days(latest[("customer", ns_id)]["terms"]["refName"]) == 30  # "1% 10 Net 30", as the program
    taken = defaultdict(int)
    for (kind, _id), payment in latest.items():
        for applied in payment["apply"]["items"] if kind == "customerpayment" else []:
            invoice = latest[("invoice", applied["doc"]["id"])]
            if "disc" not in applied:
                continue
            taken[invoice["entity"]["id"]] += 1
            assert invoice["terms"]["refName"] == "1% 10 Net 30"
            assert (date.fromisoformat(payment["tranDate"]) - date.fromisoformat(invoice["tranDate"])).days <= 10
            assert applied["amount"] == round(invoice["total"] * 0.99, 2)
            assert applied["disc"] == round(invoice["total"] - applied["amount"], 2) > 0
            assert (invoice["amountRemaining"], invoice["status"]["refName"]) == (0, "Paid In Full")
    assert set(taken) == DISCOUNT_CUSTOMERS and sum(taken.values()) >= 20


def test_two_orders_are_cancelled_unshipped_and_a_memo_is_voided(events):
    latest = {(e["record_type"], e["record_id"]): e["record"] for e in events}
    cancelled = {ns_id for (kind, ns_id), r in latest.items() if kind == "salesorder" and r["status"]["id"] == "C"}
    assert len(cancelled) == 2
    assert not {r["createdFrom"]["id"] for (kind, _id), r in latest.items()
                if kind in ("itemfulfillment", "invoice")} & cancelled  # never fulfilled or invoiced
    cutoff = (NOW - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert any(e["last_modified"] >= cutoff for e in events if e["record_id"] in cancelled and
               e["record_type"] == "salesorder" and e["operation"] == "create")  # one the workflows see
    (voided,) = [r for (kind, _id), r in latest.items() if kind == "creditmemo" and r["status"]["id"] == "V"]
    assert voided["total"] == 0 and voided["apply"]["items"] == []
    invoice = latest[("invoice", voided["createdFrom"]["id"])]
    assert invoice["amountRemaining"] == invoice["total"]  # the credit is gone: the invoice owes it all again
    assert [e["record"]["status"]["id"] for e in events if e["record_type"] == "creditmemo"
            and e["record_id"] == voided["id"]] == ["B", "V"]


def test_a_parent_pays_its_subcustomers_invoice(events):
    latest = {(e["record_type"], e["record_id"]): e["record"] for e in events}
    for child, parent in PARENTS.items():
        assert latest[("customer", child)]["parent"]["id"] == parent
    consolidated = [(payment["customer"]["id"], latest[("invoice", a["doc"]["id"])]["entity"]["id"])
                    for (kind, _id), payment in latest.items() if kind == "customerpayment"
                    for a in payment["apply"]["items"]
                    if latest[("invoice", a["doc"]["id"])]["entity"]["id"] != payment["customer"]["id"]]
    assert consolidated == [(parent, child) for child, parent in PARENTS.items()]


def test_reference_files_load_cleanly_and_agree_with_the_customers(tmp_path):
    conn = connect(tmp_path / "ref.sqlite3")
    apply_schema(conn)
    report = import_reference(conn, REFERENCE_DIR)
    assert report.ok and len(report.files) == 5, report.errors
    with CUSTOMERS_CSV.open(newline="") as handle:
        terms = {r["ns_id"]: int(r["terms_days"]) for r in csv.DictReader(handle)}
    for customer_id, days in conn.execute("SELECT customer_id, payment_terms_days FROM customer_program"):
        assert terms[customer_id] == days, customer_id
    assert {r[0] for r in conn.execute("SELECT customer_id FROM name_synonyms")} <= set(terms)
    assert dict(conn.execute("SELECT normalized, customer_id FROM name_synonyms WHERE kind = 'brand_prefix'")) == {
        "melt mates": "1187", "right start": "1203"}
    assert conn.execute("SELECT count(*) FROM spec_items WHERE is_assembly = 1 AND item_id NOT IN "
                        "(SELECT item_id FROM pricing_master)").fetchone()[0] == 2  # new kits awaiting a price
    conn.close()


async def test_a_database_with_customers_is_left_alone(env):
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO customers (ns_id, company_name, last_modified) VALUES ('9', 'Real Customer', '2026-01-01T00:00:00Z')"))
    assert await load_demo_if_empty(env) is None
    for table in ("events", "pricing_master", "name_synonyms"):
        assert (await env.db.fetchone(f"SELECT count(*) FROM {table}"))[0] == 0


def test_worker_dev_loads_the_demo_once_and_leaves_only_recent_news_to_the_workflows(make_env):
    env = make_env(clock=lambda: NOW)
    env.extras["load_demo_data"] = True  # what `worker dev` sets (worker/cli.py _prepare_dev)
    with live_server(env) as server:
        server.run(env.bucket.ensure_bucket())
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        count = server.run(env.db.fetchone("SELECT count(*) FROM customers"))[0]
        events = server.run(env.db.fetchone("SELECT count(*) FROM events"))[0]
        assert count == 41 and events > 10000
        assert server.run(env.db.fetchone("SELECT count(*) FROM pricing_master"))[0] > 0
        # The load ran before the bucket existed: its orders wait for a start at which it answers (as this call).
        assert server.run(load_demo_if_empty(env)) == {"orders": ["processed"] * 3, "resumed": True}
        assert server.run(load_demo_if_empty(env)) is None  # loaded: nothing happens
        events = server.run(env.db.fetchone("SELECT count(*) FROM events"))[0]  # with the orders' review_item.created

        server.run(drain(env, WORKFLOWS))
        kinds = dict(server.run(env.db.fetchall("SELECT kind, count(*) FROM proposed_actions GROUP BY kind")))
        assert kinds.get("send_dispute_confirmation", 0) >= 2 and kinds.get("log_dispute", 0) >= 2
        assert kinds.get("review_quote_pricing", 0) >= 1 and kinds.get("price_new_assembly_item", 0) >= 1
        oldest = server.run(env.db.fetchone(
            "SELECT min(t.tran_date) FROM workflow_run_log w JOIN transactions t ON t.ns_id = "
            "json_extract(w.output_json, '$.sales_order_id')"))[0]
        assert date.fromisoformat(oldest) >= (NOW - timedelta(days=RECENT_DAYS + 1)).date()
        mirror_checks(server, env)
    again = make_env(clock=lambda: NOW)  # a restart of `worker dev` on the same database loads nothing more
    again.extras["load_demo_data"] = True
    with live_server(again) as server:
        assert server.run(again.db.fetchone("SELECT count(*) FROM events"))[0] == events


def mirror_checks(server, env):
    """What today's additions to the demo year leave in the mirror and the review queue."""
    def rows(sql):
        return [tuple(r) for r in server.run(env.db.fetchall(sql))]

    # Early-payment discounts: the apply line's disc is kept, and with the amount settles the invoice.
    discounts = rows("SELECT i.total, pa.amount, pa.disc, i.amount_remaining, i.status FROM payment_application pa "
                     "JOIN customer_invoice i ON i.ns_id = pa.invoice_id WHERE pa.disc > 0")
    assert len(discounts) >= 20
    for total, amount, disc, remaining, status in discounts:
        assert (amount, disc) == (round(total * 0.99, 2), round(total - round(total * 0.99, 2), 2))
        assert (remaining, status) == (0, "Paid In Full")
    # Cancelled orders: stored by name and not price-reviewed, though each has a mis-keyed price.
    cancelled = [so for (so,) in rows("SELECT ns_id FROM transactions WHERE type = 'salesorder' "
                                      "AND status = 'Cancelled'")]
    assert len(cancelled) == 2
    assert not rows("SELECT 1 FROM proposed_actions WHERE dedupe_key IN "
                    f"({','.join(repr(f'review_quote_pricing:{so}') for so in cancelled)})")
    said = rows("SELECT json_extract(output_json, '$.sales_order_id') FROM workflow_run_log "
                "WHERE workflow = 'customer_quote_review' AND json_extract(output_json, '$.cancelled')")
    assert len(said) == 1 and said[0][0] in cancelled  # the recent one: "cancelled before it could be reviewed"
    # The voided memo: no credit applied, no dispute drafted, the workflow says it was voided.
    ((memo_id, total),) = rows("SELECT ns_id, total FROM credit_memo WHERE status = 'Voided'")
    assert total == 0
    assert not rows(f"SELECT 1 FROM credit_memo_application WHERE credit_memo_id = '{memo_id}'")
    assert not rows(f"SELECT 1 FROM proposed_actions WHERE dedupe_key LIKE '%:{memo_id}'")
    assert rows("SELECT json_extract(output_json, '$.retracted') FROM workflow_run_log WHERE workflow = "
                f"'customer_invoice_dispute' AND json_extract(output_json, '$.credit_memo_id') = '{memo_id}'") == [
        ("voided",)]
    # The consolidated payment: the parent paid, the lateness is the subcustomer's (health, cron/health.py).
    ((payment_id, parent, child),) = rows(
        "SELECT p.ns_id, p.customer_id, i.customer_id FROM customer_payment p JOIN payment_application pa "
        "ON pa.payment_id = p.ns_id JOIN customer_invoice i ON i.ns_id = pa.invoice_id "
        "WHERE i.customer_id <> p.customer_id")
    assert PARENTS == {child: parent}
    copy = sqlite3.connect(":memory:")
    with sqlite3.connect(env.db.path) as live:
        live.backup(copy)
    tz = env.settings.timezone
    params = {**windows(company_date(NOW, tz), tz), "today": company_date(NOW, tz).isoformat(),
              "standard_terms": env.settings.programs["standard"].payment_terms_days}

    def late():
        inputs, _source = gather(copy, params, env.settings.aging.basis)
        return {cid: (i.late_days_recent, i.late_days_prior) for cid, i in inputs.items()}

    counted = late()
    copy.execute("DELETE FROM payment_application WHERE payment_id = ?", (payment_id,))
    without = late()
    assert counted[child] != without[child] and counted[parent] == without[parent]
    copy.close()
