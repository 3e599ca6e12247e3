"""The record models against real NetSuite REST JSON (the shared corpora) and SuiteQL spellings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.cdc_support import customer, event, fresh_db
from worker.cdc.apply import apply_batch
from worker.cdc.intake import BodyError, split_body, validate_events
from worker.cdc.models import CustomerRecord, FulfillmentRecord, InvoiceRecord, PaymentRecord, SalesOrderRecord
from worker.db import run_in_transaction

SO_CASE = "oracle_devrel_tutorials__extracted_json__sales-order-use-cases__case-3-retrieve-sales-order__block1.json"


def load(corpora: Path, name: str) -> dict[str, Any]:
    return json.loads((corpora / "netsuite" / name).read_text())


def test_real_invoice(corpora: Path) -> None:
    invoice = InvoiceRecord.model_validate(load(corpora, "ledger_sync_2020__invoice.json"))
    assert (invoice.tran_id, str(invoice.tran_date), invoice.entity.id, invoice.amount_remaining, invoice.status) == (
        "INV01", "2020-04-06", "7938", 2010.0, "Open")
    assert invoice.lines[0].item.id == "5" and invoice.lines[0].item.refName == "Test Item"
    assert invoice.currency == "USA"


def test_real_sales_order_without_expanded_lines(corpora: Path) -> None:
    order = SalesOrderRecord.model_validate(load(corpora, SO_CASE))
    assert (order.tran_id, str(order.tran_date), order.entity.id, order.total, order.lines) == (
        "1", "2020-07-29", "110", 39.95, [])


def test_a_sales_order_without_expanded_lines_keeps_the_lines_it_had(corpora: Path, tmp_path: Path) -> None:
    # NetSuite REST leaves `item` as {"links": [...]} unless expandSubResources was asked for: such an
    # event updates the header and says nothing about the lines, whatever order the events come in.
    conn = fresh_db(tmp_path / "db.sqlite3")
    retrieved = load(corpora, SO_CASE)
    with_lines = {**retrieved, "total": 30.0, "item": {"items": [
        {"line": 1, "item": {"id": "5"}, "quantity": 2, "rate": 15.0, "amount": 30.0}]}}
    newer = event("sn-2", "salesorder", "18", "2020-07-29T09:00:00Z", retrieved)
    older = event("sn-1", "salesorder", "18", "2020-07-29T08:34:00Z", with_lines)

    def lines() -> list[tuple[Any, ...]]:
        return [tuple(r) for r in conn.execute("SELECT line_no, item_id, quantity FROM transaction_lines")]

    for batch in ([older], [newer]):
        run_in_transaction(conn, apply_batch, *validate_events(batch), source="t", received_at="2026-01-01T00:00:00.000Z")
    assert lines() == [(1, "5", 2.0)]
    assert conn.execute("SELECT total FROM transactions").fetchone()[0] == 39.95  # the header is the newer event's
    payloads = [json.loads(r[0]) for r in conn.execute("SELECT payload_json FROM events ORDER BY id")]
    assert [p["line_count"] for p in payloads] == [1, None]  # not "no lines": unknown

    again = fresh_db(tmp_path / "again.sqlite3")  # the other order: the older event is stale, its lines are not
    for batch in ([newer], [older]):
        result = run_in_transaction(again, apply_batch, *validate_events(batch), source="t",
                                    received_at="2026-01-01T00:00:00.000Z")
    assert result.counts()["stale"] == 1
    assert [tuple(r) for r in again.execute("SELECT line_no, item_id, quantity FROM transaction_lines")] == lines()
    assert again.execute("SELECT total FROM transactions").fetchone()[0] == 39.95


@pytest.mark.parametrize("name", ["ledger_sync_2020__customer.json", "ledger_sync-netsuite__customer.json"])
def test_real_customers(corpora: Path, name: str) -> None:
    record = load(corpora, name)
    model = CustomerRecord.model_validate(record)
    assert model.company_name == record["companyName"] and model.is_inactive is False


def test_real_records_apply_with_raw_json_kept(corpora: Path, tmp_path: Path) -> None:
    conn = fresh_db(tmp_path / "db.sqlite3")
    invoice = load(corpora, "ledger_sync_2020__invoice.json")
    raw = [event("sn-1", "invoice", invoice["id"], invoice["lastModifiedDate"] if "lastModifiedDate" in invoice
                 else "2020-04-17T00:00:00Z", invoice)]
    accepted, rejected = validate_events(raw)
    assert not rejected
    run_in_transaction(conn, apply_batch, accepted, [], source="t", received_at="2026-01-01T00:00:00.000Z")
    stored = conn.execute("SELECT raw_json, customer_id, amount_remaining FROM customer_invoice").fetchone()
    assert json.loads(stored[0]) == invoice and stored[1] == "7938" and stored[2] == 2010.0
    assert conn.execute("SELECT count(*) FROM customer_invoice_lines").fetchone()[0] == len(invoice["item"]["items"])


def test_lower_case_spellings_and_bare_ids() -> None:
    model = InvoiceRecord.model_validate({"tranid": "INV-1", "trandate": "3/4/2026", "duedate": "2026-04-03",
                                          "entity": 42, "amountremaining": "10.50", "createdfrom": "18"})
    assert (model.tran_id, str(model.tran_date), str(model.due_date), model.entity.id, model.amount_remaining,
            model.created_from.id) == ("INV-1", "2026-03-04", "2026-04-03", "42", 10.5, "18")
    assert CustomerRecord.model_validate({"isinactive": "T"}).is_inactive is True


def test_package_list_spellings() -> None:
    for record in ({"packageList": {"packages": [{"trackingNumber": "1Z1"}]}},
                   {"packagelist": {"package": [{"packagetrackingnumber": "1Z1"}]}},
                   {"package": {"items": [{"packageTrackingNumber": "1Z1"}]}},
                   {"package": [{"packageTrackingNumber": "1Z1"}]}):
        assert [p.tracking_number for p in FulfillmentRecord.model_validate(record).packages] == ["1Z1"], record


def test_ship_status_spellings() -> None:
    for value in ("C", "c", {"id": "C", "refName": "Shipped"}, "Shipped"):
        assert FulfillmentRecord.model_validate({"shipStatus": value}).status_word == "shipped"


def test_bad_dates_are_rejected() -> None:
    with pytest.raises(ValidationError, match="tran_date|tranDate"):
        SalesOrderRecord.model_validate({"tranDate": "20/20/2026"})


@pytest.mark.parametrize(("body", "message"), [
    (b"\xff\xfe", "body is not UTF-8 text"),
    (b"", "body is not valid JSON"),
    (b'"text"', "body must be a JSON object"),
    (b'{"events": {}}', "events must be a list, got dict"),
])
def test_unreadable_bodies(body: bytes, message: str) -> None:
    with pytest.raises(BodyError, match=message):
        split_body(body)


def test_single_event_errors_have_no_batch_prefix() -> None:
    raws, batch = split_body(b'{"event_id": "x", "record_type": "customer", "operation": "delete"}')
    _, rejected = validate_events(raws, batch=batch)
    assert rejected[0].reason == "record_id: Field required; last_modified: Field required"


def test_a_last_modified_before_year_1000_is_older_than_every_real_one(tmp_path: Path) -> None:
    # Was: strftime wrote year 0026 as "26-11-20…", which sorts after "2026-…" as text: a typo year outranked
    # every real change, and the newer update and the delete after it were counted stale.
    conn = fresh_db(tmp_path / "m.sqlite3")
    stream = [event("e1", "customer", "42", "2026-11-20T14:00:00Z", customer("42", "Real name")),
              event("e2", "customer", "42", "0026-11-20T14:05:00Z", customer("42", "typo year 0026")),
              event("e3", "customer", "42", "2026-11-21T09:00:00Z", customer("42", "Renamed")),
              event("e4", "customer", "42", "2027-01-05T00:00:00Z", operation="delete")]
    outcomes = []
    for one in stream:
        accepted, rejected = validate_events([one], batch=False)
        result = run_in_transaction(conn, apply_batch, accepted, rejected, source="test", received_at="now")
        outcomes.append(result.outcomes[0])
    assert outcomes == ["applied", "stale", "applied", "applied"]
    row = conn.execute("SELECT entity_id, last_modified, deleted_at FROM customers WHERE ns_id = '42'").fetchone()
    assert tuple(row) == ("Renamed", "2027-01-05T00:00:00.000Z", "2027-01-05T00:00:00.000Z")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_last_modified_outside_utc_is_rejected_by_name(moment: str) -> None:
    # Was: OverflowError out of validate_events: a 500 for the whole batch, a backfill that crashed on each re-run.
    accepted, rejected = validate_events([event("ok", "customer", "1", "2026-11-20T14:00:00Z", customer("1", "A")),
                                          event("odd", "customer", "2", moment, customer("2", "B"))])
    assert [a.event.event_id for a in accepted] == ["ok"]
    assert rejected[0].reason == "events[1].last_modified: is out of range once converted to UTC"


def test_null_is_inactive_is_not_inactive() -> None:
    assert CustomerRecord.model_validate({"isInactive": None}).is_inactive is False
    accepted, rejected = validate_events([event("e", "customer", "1", "2026-11-20T14:00:00Z",
                                                customer("1", "A", isinactive=None))])
    assert rejected == [] and accepted[0].record.is_inactive is False


@pytest.mark.parametrize(("model", "record", "given"), [
    (SalesOrderRecord, {"item": {"items": None}}, "lines_given"),
    (InvoiceRecord, {"item": {"items": None, "links": []}}, "lines_given"),
    (FulfillmentRecord, {"item": {"items": None}, "packageUps": {"items": None}}, "packages_given"),
    (FulfillmentRecord, {"packageList": {"packages": None}}, "packages_given"),
    (PaymentRecord, {"apply": {"items": None}}, "applications_given"),
])
def test_a_null_sublist_is_not_given_rather_than_refused(model: Any, record: dict[str, Any], given: str) -> None:
    assert getattr(model.model_validate(record), given) is False


def test_a_null_sublist_keeps_the_lines_the_record_had(tmp_path: Path) -> None:
    conn = fresh_db(tmp_path / "db.sqlite3")
    line = {"line": 1, "item": {"id": "5"}, "quantity": 2, "rate": 15.0, "amount": 30.0}
    batch = [event("sn-1", "salesorder", "18", "2026-11-20T08:00:00Z", {"item": {"items": [line]}}),
             event("sn-2", "salesorder", "18", "2026-11-20T09:00:00Z", {"total": 31.0, "item": {"items": None}})]
    accepted, rejected = validate_events(batch)
    assert not rejected
    run_in_transaction(conn, apply_batch, accepted, rejected, source="t", received_at="2026-11-20T09:00:01.000Z")
    assert [tuple(r) for r in conn.execute("SELECT line_no, item_id FROM transaction_lines")] == [(1, "5")]
    assert conn.execute("SELECT total FROM transactions").fetchone()[0] == 31.0
