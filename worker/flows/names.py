"""Every workflow's name, in a module that imports nothing, so a module may ask whether a workflow decided something
without importing the workflows (worker/flows/registry.py lists those; tests/test_import_order.py: the same names).

A name is stored: it keys the workflow's cursor and is the `decided_by` of the drafts it closes, so it never changes.
"""

from __future__ import annotations

QUOTE_REVIEW = "customer_quote_review"
ASSEMBLY_ITEM = "new_assembly_item"
INVOICE_DISPUTE = "customer_invoice_dispute"
ACTION_PLAN = "ar_aging_action_plan"

# A draft closed under one of these (the runner's WITHDRAW sets decided_by) was closed by a workflow, not a person.
WORKFLOW_NAMES = frozenset({QUOTE_REVIEW, ASSEMBLY_ITEM, INVOICE_DISPUTE, ACTION_PLAN})
