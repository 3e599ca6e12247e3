"""The workflows fed from the event ledger by the hot tier (see worker/workflow_runner.py), in the order they drain.

Each module of worker/flows defines at most one `Workflow` (WORKFLOW); this list is the one place that imports them
all, so that importing a helper of the package (recipients, reads, ...) never imports every workflow.
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
