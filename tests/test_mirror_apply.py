"""The apply path on a real SQLite file: semantics per record type, tombstones, lines, ledger, receipts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cdc_support import customer, event, ref, sales_order
from worker.cdc.apply import BatchResult, apply_batch
from worker.cdc.intake import validate_events
from worker.db import run_in_transaction


def deliver(conn: sqlite3.Connection, *events: dict[str, Any]) -> BatchResult:
    accepted, rejected = validate_events(json.loads(json.dumps(list(events))))
    assert not rejected, [r.reason for r in rejected]
    return run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z")


def one(conn: sqlite3.Connection, sql: str, *params: Any) -> tuple[Any, ...]:
    row = conn.execute(sql, params).fetchone()
    return tuple(row) if row is not None else ()


def ledger(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [tuple(r) for r in conn.execute("SELECT type, entity_id FROM events ORDER BY id")]


def test_update_for_unseen_record_creates_it(conn: sqlite3.Connection) -> None:
    result = deliver(conn, event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme")))
    assert result.counts() == {"applied": 1, "duplicate": 0, "stale": 0, "rejected": 0}
    assert one(conn, "SELECT company_name, last_modified, deleted_at FROM customers") == (
        "Acme", "2026-11-20T10:00:00.000Z", None)
    assert ledger(conn) == [("customer.created", "7")]


def test_raw_json_is_the_record_as_received(conn: sqlite3.Connection) -> None:
    record = customer("7", "Acme", custentity_route={"id": "4", "refName": "North"}, balance=12.5)
    deliver(conn, event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", record))
    assert json.loads(one(conn, "SELECT raw_json FROM customers")[0]) == record


def test_older_update_is_stale_and_equal_time_breaks_ties_by_event_id(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-5", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Five")))
    assert deliver(conn, event("sn-4", "customer", "7", "2026-11-20T09:00:00Z", customer("7", "Older"))).stale == 1
    assert deliver(conn, event("sn-3", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Tie, lower id"))).stale == 1
    assert deliver(conn, event("sn-6", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Tie, higher id"))).applied == 1
    assert one(conn, "SELECT company_name FROM customers") == ("Tie, higher id",)
    assert ledger(conn) == [("customer.created", "7"), ("customer.updated", "7")]


@pytest.mark.parametrize("arrival", [("sn-9", "sn-10"), ("sn-10", "sn-9")])
@pytest.mark.parametrize("when", ["2026-11-20T10:00:00Z", "2026-11-20T10:00:00+00:00"])  # the gate's and pydantic's path
def test_a_tie_goes_to_the_later_sequence_number_not_the_greater_string(conn: sqlite3.Connection,
                                                                        arrival: tuple[str, str], when: str) -> None:
    # NetSuite's lastModifiedDate has minute precision: two edits in one minute are ordered by event_id alone,
    # and sn-10 is the later change although "sn-10" < "sn-9" as strings.
    names = {"sn-9": "Ninth", "sn-10": "Tenth"}
    for event_id in arrival:
        deliver(conn, event(event_id, "customer", "7", when, customer("7", names[event_id])))
    assert one(conn, "SELECT company_name FROM customers") == ("Tenth",)


def test_delete_is_a_tombstone_an_older_update_cannot_resurrect(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme")))
    assert deliver(conn, event("sn-3", "customer", "7", "2026-11-20T12:00:00Z", operation="delete")).applied == 1
    assert one(conn, "SELECT company_name, last_modified, deleted_at FROM customers") == (
        "Acme", "2026-11-20T12:00:00.000Z", "2026-11-20T12:00:00.000Z")
    late = deliver(conn, event("sn-2", "customer", "7", "2026-11-20T11:00:00Z", customer("7", "Acme Renamed")))
    assert late.stale == 1
    # Still deleted; the tombstone keeps the newest data sent before the delete, whatever the arrival order.
    assert one(conn, "SELECT company_name, deleted_at FROM customers") == ("Acme Renamed", "2026-11-20T12:00:00.000Z")
    assert ledger(conn) == [("customer.created", "7"), ("customer.deleted", "7")]


def test_delete_beats_update_at_the_same_time(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-9", "customer", "7", "2026-11-20T10:00:00Z", operation="delete"))
    assert deliver(conn, event("sn-10", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme"))).stale == 1
    assert one(conn, "SELECT deleted_at FROM customers") == ("2026-11-20T10:00:00.000Z",)
    assert ledger(conn) == []


def test_delete_of_an_unseen_record_leaves_a_tombstone(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-2", "invoice", "55", "2026-11-20T10:00:00Z", operation="delete"))
    assert one(conn, "SELECT ns_id, customer_id, deleted_at FROM customer_invoice") == (
        "55", None, "2026-11-20T10:00:00.000Z")
    assert ledger(conn) == []


def test_newer_update_after_a_delete_revives(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", operation="delete"),
            event("sn-2", "customer", "7", "2026-11-20T11:00:00Z", customer("7", "Back")))
    assert one(conn, "SELECT company_name, deleted_at FROM customers") == ("Back", None)


def test_duplicates_within_and_across_batches(conn: sqlite3.Connection) -> None:
    first = event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme"))
    assert deliver(conn, first, first).counts() == {"applied": 1, "duplicate": 1, "stale": 0, "rejected": 0}
    assert deliver(conn, first).duplicate == 1
    assert one(conn, "SELECT count(*) FROM webhook_receipts") == (1,)


def test_an_event_id_reused_for_another_change_is_rejected_and_kept(conn: sqlite3.Connection) -> None:
    # The same event_id with another record, operation or time is not a retry: dropping it as a duplicate
    # lost the change unseen, so it is refused by name and kept in dead_letters.
    deliver(conn, event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", customer("7", "Acme")))
    same_instant = event("sn-1", "customer", "7", "2026-11-20T10:00:00.000+00:00", customer("7", "Acme"))
    edited = event("sn-1", "customer", "7", "2026-11-20T11:00:00Z", customer("7", "Acme Foods"))
    other_record = event("sn-2", "customer", "8", "2026-11-20T10:00:00Z", customer("8", "Bolt"))
    other_record_again = event("sn-2", "customer", "9", "2026-11-20T10:00:00Z", customer("9", "Cask"))
    accepted, _ = validate_events(json.loads(json.dumps([same_instant, edited, other_record, other_record_again])))
    result = run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-11-21T00:00:00.000Z",
                                dead_letter_source="webhook")
    assert result.counts() == {"applied": 1, "duplicate": 1, "stale": 0, "rejected": 2}
    assert [(r.index, r.event_id) for r in result.rejected] == [(1, "sn-1"), (3, "sn-2")]
    assert result.rejected[0].reason == (
        "event_id sn-1 was already received for customer 7 (update, last_modified 2026-11-20T10:00:00.000Z); this "
        "event is customer 7 (update, last_modified 2026-11-20T11:00:00.000Z): a different change under a used "
        "event_id is not applied")
    assert "for customer 8 (update" in result.rejected[1].reason
    assert [tuple(r) for r in conn.execute("SELECT ns_id, company_name FROM customers ORDER BY ns_id")] == [
        ("7", "Acme"), ("8", "Bolt")]
    letters = [(r[0], json.loads(r[1])) for r in conn.execute("SELECT reason, payload FROM dead_letters ORDER BY id")]
    assert [(reason, p["record_id"], p["record"]["companyName"]) for reason, p in letters] == [
        (result.rejected[0].reason, "7", "Acme Foods"), (result.rejected[1].reason, "9", "Cask")]
    assert set(result.dead_letter_ids) == {1, 3}


def test_lines_are_replaced_as_a_whole(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-1", "salesorder", "18", "2026-11-20T10:00:00Z",
                        sales_order("18", "7", [("1", 1, 2.0), ("2", 2, 3.0), ("3", 3, 4.0)])))
    deliver(conn, event("sn-2", "salesorder", "18", "2026-11-20T11:00:00Z", sales_order("18", "7", [("9", 5, 1.25)])))
    deliver(conn, event("sn-0", "salesorder", "18", "2026-11-20T09:00:00Z", sales_order("18", "7", [("4", 1, 1.0)] * 4)))
    assert [tuple(r) for r in conn.execute(
        "SELECT line_no, item_id, item_name, quantity, units, rate, amount FROM transaction_lines")] == [
        (1, "9", "Item 9", 5.0, "Case", 1.25, 6.25)]
    assert one(conn, "SELECT tran_id, customer_id, status, other_ref_num, total, currency FROM transactions") == (
        "SO18", "7", "Pending Fulfillment", "PO-18", 6.25, "USA")


def test_salesorder_created_payload_for_the_workflows(conn: sqlite3.Connection) -> None:
    deliver(conn, event("sn-1", "salesorder", "18", "2026-11-20T10:00:00Z", sales_order("18", "7", [("1", 2, 2.5)]),
                        "create"))
    type_, payload = one(conn, "SELECT type, payload_json FROM events")
    assert type_ == "salesorder.created"
    assert json.loads(payload).items() >= {"record_id": "18", "customer_id": "7", "event_id": "sn-1", "tran_id": "SO18",
                                        "other_ref_num": "PO-18", "total": 5.0, "line_count": 1}.items()


def test_credit_memo_posted_names_invoice_and_memo(conn: sqlite3.Connection) -> None:
    memo = {"id": "300", "tranId": "CM-300", "tranDate": "2026-11-22", "entity": ref("customer", "7", "Acme"),
            "createdFrom": ref("invoice", "55", "INV-55"), "memo": "2 cases damaged in transit", "total": 84.0,
            "apply": {"items": [{"doc": {"id": "55"}, "apply": True, "amount": 84.0, "type": "Invoice", "line": 0},
                                {"doc": {"id": "56"}, "apply": False, "amount": 0.0, "type": "Invoice", "line": 1}]}}
    deliver(conn, event("sn-1", "creditmemo", "300", "2026-11-22T10:00:00Z", memo, "create"))
    type_, payload = one(conn, "SELECT type, payload_json FROM events")
    assert type_ == "creditmemo.posted"
    assert json.loads(payload).items() >= {"record_id": "300", "customer_id": "7", "created_from": "55",
                                        "applied_invoice_ids": ["55"], "memo": "2 cases damaged in transit"}.items()
    assert [tuple(r) for r in conn.execute("SELECT * FROM credit_memo_application")] == [
        ("300", 1, "55", "Invoice", 84.0)]  # numbered by position: `line` is the invoice's line


def test_payment_applications_only_where_applied(conn: sqlite3.Connection) -> None:
    payment = {"id": "400", "tranId": "PYMT-400", "trandate": "11/23/2026", "customer": ref("customer", "7"),
               "payment": 150.0, "unapplied": 0.0,
               "apply": {"items": [{"doc": ref("invoice", "55"), "apply": True, "amount": 100.0, "type": "Invoice",
                                    "applyDate": "2026-11-23"},
                                   {"doc": ref("invoice", "57"), "apply": True, "amount": 50.0, "type": "Invoice"},
                                   {"doc": ref("invoice", "58"), "apply": False, "amount": 0.0}]}}
    deliver(conn, event("sn-1", "customerpayment", "400", "2026-11-23T10:00:00Z", payment))
    assert one(conn, "SELECT customer_id, tran_date, total FROM customer_payment") == ("7", "2026-11-23", 150.0)
    assert [tuple(r) for r in conn.execute("SELECT line_no, invoice_id, amount, apply_date FROM payment_application")] == [
        (1, "55", 100.0, "2026-11-23"), (2, "57", 50.0, None)]
    assert ledger(conn) == [("payment.applied", "400")]


def test_payment_applications_keep_the_discount_taken_on_either_parse_path(conn: sqlite3.Connection) -> None:
    # An early-payment discount taken (apply line `disc`, one spelling in REST and SuiteQL) settles the invoice
    # beside the amount; `discAmt` is only the discount available and is not read as taken.
    from worker.cdc.intake import _gate_one

    rest = {"id": "80", "tranId": "PYMT-80", "tranDate": "2026-06-09", "customer": ref("customer", "7"),
            "payment": 990.0, "apply": {"items": [
                {"doc": ref("invoice", "70"), "apply": True, "amount": 990.0, "disc": 10.0, "discAmt": 10.0,
                 "applyDate": "2026-06-01", "type": "Invoice"},
                {"doc": ref("invoice", "71"), "apply": True, "amount": 50.0, "discAmt": 0.5}]}}
    suiteql = {"id": "81", "tranid": "PYMT-81", "trandate": "6/9/2026", "customer": "7", "payment": "495",
               "apply": {"items": [{"doc": "72", "apply": True, "amount": "495", "disc": "5",
                                    "applydate": "6/1/2026"}]}}
    raws = [event("sn-1", "customerpayment", "80", "2026-06-09T10:00:00Z", rest),
            event("sn-2", "customerpayment", "81", "2026-06-09T10:00:00Z", suiteql)]
    assert [_gate_one(json.loads(json.dumps(r))) is not None for r in raws] == [True, False]  # msgspec, pydantic
    deliver(conn, *raws)
    assert [tuple(r) for r in conn.execute(
        "SELECT payment_id, invoice_id, amount, disc, apply_date FROM payment_application ORDER BY 1, line_no")] == [
        ("80", "70", 990.0, 10.0, "2026-06-01"), ("80", "71", 50.0, None, None),
        ("81", "72", 495.0, 5.0, "2026-06-01")]
    # The ledger's payment.applied names the discount beside the amount (a consumer would see 990 of 1,000 paid).
    applied = [json.loads(r[0])["applied"] for r in conn.execute(
        "SELECT payload_json FROM events WHERE type = 'payment.applied' ORDER BY id")]
    assert applied == [[{"invoice_id": "70", "amount": 990.0, "type": "Invoice", "disc": 10.0},
                        {"invoice_id": "71", "amount": 50.0, "type": None}],
                       [{"invoice_id": "72", "amount": 495.0, "type": None, "disc": 5.0}]]


def test_suiteql_spellings(conn: sqlite3.Connection) -> None:
    invoice = {"id": "55", "tranid": "INV-55", "trandate": "2026-11-20", "duedate": "2026-12-20", "entity": "7",
               "terms": "Net 30", "amountremaining": "120.50", "total": 120.5, "otherrefnum": "PO-1", "status": "A"}
    deliver(conn, event("sn-1", "invoice", "55", "2026-11-20T10:00:00Z", invoice))
    assert one(conn, "SELECT tran_id, tran_date, due_date, customer_id, terms, amount_remaining, other_ref_num "
                     "FROM customer_invoice") == ("INV-55", "2026-11-20", "2026-12-20", "7", "Net 30", 120.5, "PO-1")


def test_an_invoice_without_amount_remaining_is_accepted_derived_when_safe_else_unknown(
        conn: sqlite3.Connection, corpora: Path) -> None:
    # REST leaves out a field that is null or not requested. The real LedgerSync invoice (lower-case amountpaid,
    # total 2010) without its amountremaining: total less amountPaid, as NetSuite computes it.
    real = json.loads((corpora / "netsuite" / "ledger_sync_2020__invoice.json").read_text())
    real = {k: v for k, v in real.items() if k not in ("amountremaining", "amountremainingtotalbox")}
    base = {"entity": ref("customer", "7"), "tranDate": "2026-11-20", "total": 500.0}
    records = {real["id"]: real,
               "56": {**base, "id": "56", "amountPaid": 120.25, "status": "Open"},
               "57": {**base, "id": "57", "status": {"id": "B", "refName": "Paid In Full"}},
               "58": {**base, "id": "58", "status": {"id": "A", "refName": "Open"}},
               "59": {**base, "id": "59", "amountRemaining": None, "status": "Open"}}
    result = deliver(conn, *(event(f"sn-{i}", "invoice", i, "2026-11-20T10:00:00Z", r) for i, r in records.items()))
    assert result.counts()["applied"] == 5  # the webhook's contract: still accepted
    stored = dict(conn.execute("SELECT ns_id, amount_remaining FROM customer_invoice"))
    assert stored == {real["id"]: 2010.0, "56": 379.75, "57": 0.0, "58": None, "59": None}  # NULL: unknown, not paid
    payloads = {e: json.loads(p)["amount_remaining"] for e, p in conn.execute(
        "SELECT entity_id, payload_json FROM events WHERE type = 'invoice.created'")}
    assert payloads == stored


def test_contact_links_its_company(conn: sqlite3.Connection) -> None:
    contact = {"id": "900", "firstName": "Dana", "lastName": "Ruiz", "email": "dana@driscoll.example",
               "title": "AP Manager", "company": ref("customer", "7", "Driscoll Foods")}
    deliver(conn, event("sn-1", "contact", "900", "2026-11-20T10:00:00Z", contact))
    assert one(conn, "SELECT customer_id, name, email, title FROM customer_contacts") == (
        "7", "Dana Ruiz", "dana@driscoll.example", "AP Manager")
    type_, payload = one(conn, "SELECT type, payload_json FROM events")
    assert type_ == "contact.created" and json.loads(payload)["customer_id"] == "7"


def test_fulfillment_packages_and_status_changes_in_any_order(conn: sqlite3.Connection) -> None:
    def fulfillment(status: Any, *tracking: str) -> dict[str, Any]:
        return {"id": "60", "tranId": "IF-60", "entity": ref("customer", "7"), "createdFrom": ref("salesorder", "18"),
                "shipStatus": status, "shipCarrier": "ups",
                "package": {"items": [{"packageTrackingNumber": t, "packageWeight": 12.0} for t in tracking]},
                "item": {"items": [{"orderLine": 1, "item": ref("inventoryitem", "9"), "quantity": 3}]}}

    deliver(conn, event("sn-3", "itemfulfillment", "60", "2026-11-21T15:00:00Z",
                        fulfillment({"id": "C", "refName": "Shipped"}, "1Z999", "1Z998")))
    deliver(conn, event("sn-1", "itemfulfillment", "60", "2026-11-21T09:00:00Z", fulfillment("A")))
    deliver(conn, event("sn-2", "itemfulfillment", "60", "2026-11-21T11:00:00Z", fulfillment("packed")))
    assert one(conn, "SELECT ship_status, created_from, customer_id FROM item_fulfillment") == ("shipped", "18", "7")
    assert [tuple(r) for r in conn.execute("SELECT package_no, tracking_number, carrier, weight FROM shipments")] == [
        (1, "1Z999", "ups", 12.0), (2, "1Z998", "ups", 12.0)]
    assert [tuple(r) for r in conn.execute(
        "SELECT from_status, to_status, source_event_id FROM shipping_events ORDER BY occurred_at")] == [
        (None, "picked", "sn-1"), ("picked", "packed", "sn-2"), ("packed", "shipped", "sn-3")]
    assert one(conn, "SELECT order_line, quantity FROM item_fulfillment_lines") == (1, 3.0)


def test_carrier_package_sublists_keep_their_tracking_numbers(conn: sqlite3.Connection) -> None:
    # With an integrated carrier, NetSuite REST keeps packages in packageUps / packageFedex / packageUsps.
    shipped = {"id": "61", "tranId": "IF-61", "entity": ref("customer", "7"), "shipStatus": "C",
               "shipCarrier": {"id": "nonups", "refName": "FedEx/USPS/More"},
               "packageFedex": {"items": [{"packageTrackingNumberFedEx": "7946", "packageWeightFedEx": 4.5,
                                           "reference1FedEx": "PO-18"}]},
               "packageUps": {"items": [{"packageTrackingNumberUps": "1Z77", "packageDescrUps": "frozen"}]},
               "packageusps": {"items": [{"packagetrackingnumberusps": "9400"}]}}  # SuiteQL spelling
    deliver(conn, event("sn-1", "itemfulfillment", "61", "2026-11-21T15:00:00Z", shipped))
    assert [tuple(r) for r in conn.execute("SELECT package_no, tracking_number, carrier, weight, description "
                                           "FROM shipments ORDER BY package_no")] == [
        (1, "1Z77", "UPS", None, "frozen"), (2, "7946", "FedEx", 4.5, "PO-18"), (3, "9400", "USPS", None, None)]
    assert json.loads(one(conn, "SELECT payload_json FROM events")[0])["tracking_numbers"] == ["1Z77", "7946", "9400"]


def test_packages_an_older_event_brings_in_the_same_batch_are_news_for_the_rows_customer(conn: sqlite3.Connection) -> None:
    # The newer event (packages left out, reassigned to customer 8) and the older one that carried them, in one
    # batch: the ledger's news names the row's customer (the newer event's) and the packages, not the old header.
    older = {"id": "62", "tranId": "IF-62", "entity": ref("customer", "7"), "shipStatus": "C",
             "packageList": {"packages": [{"packageTrackingNumber": "1Z88"}]}}
    newer = {**{k: v for k, v in older.items() if k != "packageList"}, "entity": ref("customer", "8")}
    result = deliver(conn, event("sn-2", "itemfulfillment", "62", "2026-11-21T16:00:00Z", newer),
                     event("sn-1", "itemfulfillment", "62", "2026-11-21T15:00:00Z", older))
    assert (result.applied, result.stale) == (1, 1)
    assert ledger(conn) == [("itemfulfillment.created", "62"), ("itemfulfillment.sublists_updated", "62")]
    news = json.loads(one(conn, "SELECT payload_json FROM events WHERE type LIKE '%sublists%'")[0])
    assert news == {"record_id": "62", "event_id": "sn-1", "operation": "update",
                    "last_modified": "2026-11-21T15:00:00.000Z", "customer_id": "8", "sublists": ["shipments"],
                    "tracking_numbers": ["1Z88"]}
    assert one(conn, "SELECT customer_id, tracking_number FROM item_fulfillment JOIN shipments "
                     "ON fulfillment_id = ns_id") == ("8", "1Z88")


@pytest.mark.parametrize(("change", "reason"), [
    ({"last_modified": "2026-11-20T10:00:00"}, "last_modified: Input should have timezone info"),
    ({"record": {"id": "8"}}, "record.id '8' does not match record_id '7'"),
    ({"operation": "upsert"}, "operation: Input should be 'create', 'update' or 'delete'"),
    ({"record": None}, "record is required for operation 'update'"),
    ({"record_type": "salesorder", "record": {"item": {"items": [{"line": 1}, {"line": 1}]}}},
     "record: item.items: line 1 appears twice, at positions 1 and 2"),
    ({"record_type": "salesorder", "record": {"item": {"items": [{"line": 2}, {"quantity": 1}]}}},
     "record: item.items: line 2 appears twice, at positions 1 and 2 (position 2 has no line number, so it takes "
     "its position)"),
    ({"record_type": "salesorder", "record": {"item": {"items": [{"line": 2**63}]}}},
     "record.item.items[0].line: Input should be less than or equal to 2147483647"),
    ({"record_type": "itemfulfillment", "record": {"item": {"items": [{"line": 1, "orderLine": -1}]}}},
     "record.item.items[0].orderLine: Input should be greater than or equal to 0"),
])
def test_rejections_name_the_problem(change: dict[str, Any], reason: str) -> None:
    raw = {**event("sn-1", "customer", "7", "2026-11-20T10:00:00Z", {"id": "7"}), **change}
    accepted, rejected = validate_events([raw])
    assert not accepted
    assert reason in rejected[0].reason, rejected[0].reason
    assert rejected[0].reason.startswith("events[0]")


@pytest.mark.parametrize(("status", "stored"), [
    ("A", "Pending Approval"), ("SalesOrd:G", "Billed"), ("c", "Cancelled"),
    ({"id": "B", "refName": "Pending Fulfillment"}, "Pending Fulfillment"), ("Something Custom", "Something Custom")])
def test_a_sales_orders_status_letter_is_stored_by_name(conn: sqlite3.Connection, status: Any, stored: str) -> None:
    # SuiteQL and NetSuite's own REST sample send the letter ("A"): the customer 360 showed "A" raw.
    deliver(conn, event("so-1", "salesorder", "61", "2026-11-20T10:00:00Z", sales_order("61", "7", [], status=status)))
    assert one(conn, "SELECT status FROM transactions WHERE ns_id = '61'") == (stored,)
    assert json.loads(one(conn, "SELECT payload_json FROM events WHERE type = 'salesorder.created'")[0])["status"] == stored
