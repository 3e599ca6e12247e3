"""When an order workflow may look at a sales order's lines: once NetSuite has sent them (SPEC 4).

NetSuite REST leaves the item sublist out unless it was expanded (`"item": {"links": [...]}`), and the
mirror keeps that apart from "no lines": `transactions.cdc_lines_version` is '' while no event has
carried the lines (NULL: written with the data, worker/cdc/versions.py). An order workflow handles
`salesorder.created`; when the lines are not known yet it records a run that waits (its output says
`lines_pending`), and the first `salesorder.updated` handled once they are known does the work. Every
other update finds the work done (`Gate.done`): new_assembly_item then reconciles its requests with the live orders
(worker/flows/assembly_item.py); customer_quote_review
reviews it again when what its review judges changed (worker/flows/quote_review.py).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from worker.cdc.models import ORDER_CANCELLED
from worker.ledger import Event
from worker.workflow_runner import WorkflowResult

ORDER = """
SELECT o.tran_id, o.customer_id, o.deleted_at, o.cdc_lines_version, c.company_name
FROM transactions o LEFT JOIN customers c ON c.ns_id = o.customer_id
WHERE o.ns_id = ?
"""
# 1 when every concluded run of the workflow on this order waited for lines, 0 when one did the work,
# NULL when there was none. Found by the order its runs name (index workflow_run_log_order), not by the
# order's customer: an order reassigned while it waited is still the same order.
WAITED = """
SELECT min(coalesce(json_extract(output_json, '$.lines_pending'), 0)) FROM workflow_run_log
WHERE workflow = ? AND json_extract(output_json, '$.sales_order_id') = ? AND status = 'ok'
"""

# The order is cancelled (still in NetSuite, but no order) and no run of the workflow on it said so yet: the update
# that cancels it withdraws the workflow's staged drafts, once (a later update of the cancelled order is not news).
NEWLY_CANCELLED = f"""
SELECT 1 FROM transactions o
WHERE o.ns_id = :so AND o.deleted_at IS NULL AND {ORDER_CANCELLED.format(status="o.status")}
  AND NOT EXISTS (SELECT 1 FROM workflow_run_log WHERE workflow = :workflow
                  AND json_extract(output_json, '$.sales_order_id') = :so AND status = 'ok'
                  AND json_extract(output_json, '$.cancelled'))
"""


@dataclass(frozen=True)
class Gate:
    """Whether to look at the order now; when not, what to record instead (None: not this workflow's business).

    `done`: an update of an order NetSuite still has, its lines known, that a run of the workflow looked at."""

    proceed: bool
    instead: WorkflowResult | None = None
    done: bool = False


def order_name(tran_id: str | None, so_id: str, company: str | None, customer_id: str | None) -> str:
    """How observations name an order: 'SO-9201 for Driscoll Foods'."""
    return f"{tran_id or 'sales order ' + so_id} for {company or 'customer ' + str(customer_id)}"


def newly_cancelled(conn: sqlite3.Connection, workflow: str, event: Event, so_id: str) -> bool:
    """Whether this update is the first `workflow` handles since NetSuite cancelled the order."""
    return (event.type in ("salesorder.updated", "salesorder.sublists_updated")
            and conn.execute(NEWLY_CANCELLED, {"so": so_id, "workflow": workflow}).fetchone() is not None)


def gate(conn: sqlite3.Connection, workflow: str, event: Event, so_id: str, work: str) -> Gate:
    """Decide whether `workflow` (doing `work`, e.g. 'price review') looks at the order for this event."""
    order = conn.execute(ORDER, (so_id,)).fetchone()
    if order is None or order[2]:  # the workflow says what a missing or deleted order means: on its created
        # event, or on the first update after a run that waited for lines, so that the wait ends in a note
        waited = order is not None and conn.execute(WAITED, (workflow, so_id)).fetchone()[0] == 1
        return Gate(event.type == "salesorder.created" or waited)
    tran_id, customer_id, _deleted, lines_version, company = order
    lines_known = lines_version != ""  # NULL (written with the data) counts as given
    if event.type == "salesorder.created":
        if lines_known:
            return Gate(True)
        name = order_name(tran_id, so_id, company, customer_id)
        observation = (f"{name}: NetSuite sent the order without its lines (item sublist not expanded); "
                       f"the {work} waits for the update that brings them.")
        return Gate(False, WorkflowResult(customer_id, observation, output={
            "sales_order_id": so_id, "tran_id": tran_id, "customer_id": customer_id, "lines_pending": True}))
    if not lines_known:
        return Gate(False)  # still waiting: the pending run already said why
    waited = conn.execute(WAITED, (workflow, so_id)).fetchone()[0]
    return Gate(waited == 1, done=waited == 0)
