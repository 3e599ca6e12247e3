"""A cancelled sales order is no order: its lines are not in the customer's order history.

NetSuite keeps a cancelled order (status C, "Cancelled"; SalesOrd:C in SuiteQL) with its lines as keyed, often
the very mis-keyed quantity that got it cancelled. Counted, the intake's quantity_outlier would take that quantity
as usual, and a purchase order asking for as much again would not be flagged.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.cdc_support import event
from tests.test_closed_order_lines import JAN, deliver, fresh, line, order
from tests.test_email_fixtures import DRISCOLL, seed_reference
from worker.intake.lines import HISTORY, LineMatcher
from worker.po.model import POLine, PurchaseOrder
from worker.pricing import ProgramTerms


@pytest.mark.parametrize("status", [{"id": "C", "refName": "Cancelled"}, "SalesOrd:C", "Cancelled", "canceled"])
def test_a_cancelled_orders_lines_are_not_the_customers_history(status) -> None:
    conn = fresh()
    seed_reference(conn)  # Driscoll, and our item I448812 sold by the case
    usual = [order(line("I448812", 5), ns_id=f"so{n}", customer=DRISCOLL, tran_date=f"2025-0{n}-01")
             for n in (1, 2, 3)]
    cancelled = {**order(line("I448812", 400), ns_id="so4", customer=DRISCOLL, tran_date="2025-04-01"),
                 "status": status}
    live = order(line("I448812", 6), ns_id="so5", customer=DRISCOLL, tran_date="2025-05-01")
    deliver(conn, *(event(f"sn-{r['id']}", "salesorder", r["id"], JAN, r) for r in [*usual, cancelled, live]))
    assert sorted(tuple(r) for r in conn.execute(HISTORY, (DRISCOLL, "I448812"))) == [(5.0, "CS")] * 3 + [(6.0, "CS")]
    # 300 cases is 60x the usual 5 and more than any live order: the cancelled 400 must not make it look usual
    po = PurchaseOrder(lines=[POLine(line_no=1, vendor_item_code="I448812", quantity=Decimal(300), uom="CS")])
    flags, _ = LineMatcher(conn, DRISCOLL, ProgramTerms("standard", 0.0, "prepaid", 30, False), 2.0).apply(
        po, "2026-03-01")
    [outlier] = [f for f in flags if f["code"] == "quantity_outlier"]
    assert "in 4 orders" in outlier["message"], outlier["message"]
