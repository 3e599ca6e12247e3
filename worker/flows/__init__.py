"""The workflows fed from the event ledger by the hot tier (see worker/workflow_runner.py).

Each module defines one `Workflow`; WORKFLOWS lists them in the order they are drained.
"""

from __future__ import annotations

from worker.flows import ar_aging_action_plan, assembly_item, invoice_dispute, quote_review
from worker.workflow_runner import Workflow

WORKFLOWS: list[Workflow] = [
    quote_review.WORKFLOW,
    assembly_item.WORKFLOW,
    invoice_dispute.WORKFLOW,
    ar_aging_action_plan.WORKFLOW,
]
