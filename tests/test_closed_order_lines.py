"""A sales order line NetSuite closed (isClosed; SuiteQL's isclosed 'T'/'F') is mirrored as closed, and ignored.

NetSuite closes a line rather than deleting it. The flag was kept only in the line's raw_json, so a closed line was
price-reviewed (customer_quote_review), asked a price for (new_assembly_item) and counted in the customer's order
history (the intake's quantity_outlier). transaction_lines.is_closed now holds it, written alike by the msgspec gate
and the pydantic models; migration 18 sets it on lines mirrored before.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests import flows_support as fs
from tests.cdc_support import event, ref
from tests.test_email_fixtures import DRISCOLL, seed_reference
from tests.test_schema import DROP_V18, DROP_V19
from worker.cdc import fast
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import connect, run_in_transaction
from worker.flows import assembly_item, quote_review
from worker.intake.lines import HISTORY, LineMatcher
from worker.migrations import LATEST, apply_schema
from worker.po.model import POLine, PurchaseOrder
from worker.pricing import ProgramTerms
from worker.workflow_runner import drain

CORPUS = "oracle_devrel_tutorials__extracted_json__sales-order-use-cases__case-4-update-sales-order__block1.json"
JAN, FEB = "2026-01-15T09:00:00Z", "2026-02-01T09:00:00Z"


def order(*lines: dict[str, Any], ns_id: str = "so1", customer: str = "1", tran_date: str = "2026-01-10",
          ) -> dict[str, Any]:
    """A REST sales order; each line {"item", "quantity", "rate", ...extra}, numbered from 1."""
    items = [{"line": n, "item": ref("inventoryitem", ln["item"], f"Item {ln['item']}"), "quantity": ln["quantity"],
              "units": "CS", "rate": ln["rate"], "amount": round(ln["quantity"] * ln["rate"], 2),
              **{k: v for k, v in ln.items() if k not in ("item", "quantity", "rate")}}
             for n, ln in enumerate(lines, start=1)]
    return {"id": ns_id, "tranId": f"SO-{ns_id}", "tranDate": tran_date, "entity": ref("customer", customer),
            "status": {"id": "B", "refName": "Pending Fulfillment"}, "item": {"items": items}}


def line(item: str, quantity: float = 2, rate: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {"item": item, "quantity": quantity, "rate": rate, **extra}


def fresh() -> sqlite3.Connection:
    conn = connect(":memory:")
    apply_schema(conn)
    return conn


def deliver(conn: sqlite3.Connection, *events: dict[str, Any]) -> None:
    accepted, rejected = validate_events(json.loads(json.dumps(list(events))))
    assert not rejected, [r.reason for r in rejected]
    run_in_transaction(conn, apply_batch, accepted, [], source="t", received_at="2026-08-01T00:00:00.000Z")


def closed(conn: sqlite3.Connection, ns_id: str = "so1") -> dict[int, int]:
    return dict(conn.execute("SELECT line_no, is_closed FROM transaction_lines WHERE transaction_id = ? "
                             "ORDER BY line_no", (ns_id,)).fetchall())


def test_the_corpus_records_closed_line_is_mirrored_closed(corpora: Path) -> None:
    # NetSuite's own example of closing a line: a PATCH naming the line and isclosed: true.
    patch = json.loads((corpora / "netsuite" / CORPUS).read_text(encoding="utf-8"))
    record = order(line("98"), line("99"))
    record["item"]["items"][0] |= patch["item"]["items"][0]
    conn = fresh()
    deliver(conn, event("sn-1", "salesorder", "so1", JAN, record))
    assert closed(conn) == {1: 1, 2: 0}


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("isClosed", True, 1), ("isClosed", False, 0), ("isClosed", None, 0),
    ("isclosed", "T", 1), ("isclosed", "F", 0), ("isclosed", True, 1), ("isclosed", "t", 1)])
def test_each_spelling_is_read_and_an_absent_flag_is_open(key: str, value: Any, expected: int) -> None:
    conn = fresh()
    deliver(conn, event("sn-1", "salesorder", "so1", JAN, order(line("98"), line("99", **{key: value}))))
    assert closed(conn) == {1: 0, 2: expected}


@pytest.mark.parametrize("value", ["", "maybe", 2, [], {"id": "T"}])
@pytest.mark.parametrize("record_type", ["salesorder", "invoice"])
def test_an_unreadable_flag_is_an_open_line_never_a_refused_record(record_type: str, value: Any) -> None:
    # Audit CI: "isClosed": "" refused the whole sales order, and an invoice (whose lines have no such state) too.
    record = order(line("98"), line("99", isClosed=value)) | ({"dueDate": "2026-02-10"} if record_type == "invoice"
                                                               else {})
    accepted, rejected = validate_events([event("sn-1", record_type, "so1", JAN, record)])
    assert rejected == [] and len(accepted) == 1
    if record_type == "salesorder":
        conn = fresh()
        deliver(conn, event("sn-1", record_type, "so1", JAN, record))
        assert closed(conn) == {1: 0, 2: 0}


def test_the_gate_and_the_models_store_the_same_flag() -> None:
    rest = order(line("98", isClosed=True), line("99", isClosed=False))
    suiteql = order(line("98", isclosed="T"), line("99", isclosed="F"))
    [quick], _ = validate_events([event("sn-1", "salesorder", "so1", JAN, rest)])
    [slow], _ = validate_events([event("sn-1", "salesorder", "so1", JAN, suiteql)])
    assert isinstance(quick.record, fast.SalesOrderRecord) and not isinstance(slow.record, fast.SalesOrderRecord)
    assert [ln.is_closed for ln in quick.record.lines] == [ln.is_closed for ln in slow.record.lines] == [True, False]
    gate, models = fresh(), fresh()
    deliver(gate, event("sn-1", "salesorder", "so1", JAN, rest))
    deliver(models, event("sn-1", "salesorder", "so1", JAN, suiteql))
    assert closed(gate) == closed(models) == {1: 1, 2: 0}


def test_a_later_update_reopens_the_line() -> None:
    conn = fresh()
    deliver(conn, event("sn-1", "salesorder", "so1", JAN, order(line("98", isClosed=True), line("99"))))
    assert closed(conn) == {1: 1, 2: 0}
    deliver(conn, event("sn-2", "salesorder", "so1", FEB, order(line("98", isClosed=False), line("99"))))
    assert closed(conn) == {1: 0, 2: 0}
    deliver(conn, event("sn-3", "salesorder", "so1", "2026-03-01T09:00:00Z", order(line("98"), line("99"))))
    assert closed(conn) == {1: 0, 2: 0}  # a line sent without the flag is open


# customer_quote_review: item 502's price for the customer is 20.00; a closed line quoting 18.00 is no quote.
PROGRAMS = ("customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
            "1187,driscoll,15,prepaid,30,yes\n")
PRICES = fs.PRICING_HEADER + "501,,40.00,CS,,\n502,1187,20.00,CS,2026-01-01,2026-12-31\n"


async def test_a_closed_mis_priced_line_proposes_no_price_review(env, tmp_path) -> None:
    await fs.load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, pricing_master__csv=PRICES)
    await fs.apply(env, fs.customer("1187", "Driscoll Foods"))
    so = fs.sales_order("9001", "1187", [("501", 10, 46.00), ("502", 4, 18.00)])
    so["record"]["item"]["items"][1]["isClosed"] = True
    await fs.apply(env, so)
    assert await drain(env, [quote_review.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert await fs.proposals(env) == []
    # NetSuite reopens it: the order's lines changed, so it is reviewed again and the price is questioned
    reopened = fs.event("salesorder", json.loads(json.dumps(so["record"])), when="2026-11-03T10:00:00Z",
                        operation="update")
    reopened["record"]["item"]["items"][1]["isClosed"] = False
    await fs.apply(env, reopened)
    assert (await drain(env, [quote_review.WORKFLOW]))["proposed"] == 1
    [proposal] = await fs.proposals(env)
    assert [(ln["item_id"], ln["quoted"], ln["expected"]) for ln in proposal["payload"]["lines"]] == [
        ("502", 18.0, 20.0)]


ITEMS = ("item_id,item_code,description,uom,is_assembly,pack_size\n"
         "501,CHZ-AM-160,Melt Mates American Slices,CS,0,4/160ct\n"
         "601,KIT-RS-BRK,Right Start Breakfast Kit,CS,1,48 kits\n")


async def test_a_closed_assembly_line_asks_no_price(env, tmp_path) -> None:
    await fs.load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS,
                            pricing_master__csv=fs.PRICING_HEADER + "501,,40.00,CS,,\n")
    await fs.apply(env, fs.customer("1187", "Driscoll Foods"))
    so = fs.sales_order("7001", "1187", [("501", 1, 40.0), ("601", 10, 55.0)])
    so["record"]["item"]["items"][1]["isclosed"] = "T"
    await fs.apply(env, so)
    assert await drain(env, [assembly_item.WORKFLOW]) == {"not_applicable": 1}  # no assembly line is ordered
    assert await fs.proposals(env) == []


async def test_a_deleted_orders_request_is_withdrawn_when_the_other_order_closed_its_line(env, tmp_path) -> None:
    await fs.load_reference(env, tmp_path / "ref", spec_items__csv=ITEMS,
                            pricing_master__csv=fs.PRICING_HEADER + "501,,40.00,CS,,\n")
    await fs.apply(env, fs.customer("3001", "Riverside Unified School District"))
    first = fs.sales_order("7030", "3001", [("601", 10, 55.0)])
    second = fs.sales_order("7031", "3001", [("501", 1, 40.0), ("601", 2, 55.0)])
    second["record"]["item"]["items"][1]["isClosed"] = True  # SO-7031 no longer orders the kit
    await fs.apply(env, first, second)
    assert (await drain(env, [assembly_item.WORKFLOW]))["proposed"] == 1
    await fs.apply(env, {**first, "event_id": "deleted-7030", "operation": "delete", "record": None,
                         "last_modified": "2026-11-03T10:00:00Z"})
    assert (await drain(env, [assembly_item.WORKFLOW])).get("withdrawn") == 1  # no live order still needs it
    assert [p["status"] for p in await fs.proposals(env)] == ["rejected"]


def test_a_closed_lines_quantity_is_not_in_the_customers_history() -> None:
    conn = fresh()
    seed_reference(conn)  # Driscoll, and our item I448812 sold by the case
    usual = [order(line("I448812", 5), ns_id=f"so{n}", customer=DRISCOLL, tran_date=f"2025-0{n}-01")
             for n in (1, 2, 3)]
    closed_line = order(line("I448812", 400, isClosed=True), ns_id="so4", customer=DRISCOLL, tran_date="2025-04-01")
    deliver(conn, *(event(f"sn-{r['id']}", "salesorder", r["id"], JAN, r) for r in [*usual, closed_line]))
    assert [tuple(r) for r in conn.execute(HISTORY, (DRISCOLL, "I448812"))] == [(5.0, "CS")] * 3
    # so 40 cases is still 8x the usual 5, not within a history that the closed 400 would have stretched
    po = PurchaseOrder(lines=[POLine(line_no=1, vendor_item_code="I448812", quantity=Decimal(40), uom="CS")])
    flags, _ = LineMatcher(conn, DRISCOLL, ProgramTerms("standard", 0.0, "prepaid", 30, False), 2.0).apply(
        po, "2026-03-01")
    assert "quantity_outlier" in {f["code"] for f in flags}


def test_version_18_marks_the_lines_already_mirrored_closed(tmp_path) -> None:
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V18} {DROP_V19} PRAGMA user_version = 17;")  # as version 17 left it
    conn.execute("INSERT INTO transactions (ns_id, last_modified) VALUES ('so1', 't')")
    raws = {1: {"line": 1, "isClosed": True}, 2: {"line": 2, "isClosed": False}, 3: {"line": 3, "isclosed": "T"},
            4: {"line": 4, "isclosed": "F"}, 5: {"line": 5}, 6: {"line": 6, "isclosed": True},
            7: {"line": 7, "isClosed": None}, 8: {"line": 8, "isclosed": "maybe"}}
    rows = [(no, json.dumps(raw)) for no, raw in raws.items()] + [(9, None), (10, "not json")]
    conn.executemany("INSERT INTO transaction_lines (transaction_id, line_no, raw_json) VALUES ('so1', ?, ?)", rows)
    assert apply_schema(conn) == LATEST
    assert closed(conn) == {1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 1, 7: 0, 8: 0, 9: 0, 10: 0}
    fresh_shape = connect(tmp_path / "fresh.sqlite3")
    apply_schema(fresh_shape)
    shape = "PRAGMA table_info(transaction_lines)"
    assert conn.execute(shape).fetchall() == fresh_shape.execute(shape).fetchall()
