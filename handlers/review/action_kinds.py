"""What the Actions tab calls each proposed-action kind, and its Kind menu and filter built from those labels (pure)."""

from __future__ import annotations

from collections.abc import Iterable

# The API stages collection_email / call_task, the workflows send_collection_email / schedule_collection_call /
# send_dispute_confirmation: one label for each pair, so a reviewer sees one kind of thing under one name.
LABELS = {"create_sales_order": "Sales order for NetSuite", "collection_email": "Collection email",
          "send_collection_email": "Collection email", "call_task": "Call task",
          "schedule_collection_call": "Call task", "service_hold": "Service hold",
          "dispute_confirmation": "Dispute confirmation", "send_dispute_confirmation": "Dispute confirmation",
          "create_customer": "New customer", "pricing_review": "Pricing review"}


def label(kind: str) -> str:
    """What the tab calls a kind (pure): its label, or the raw name made readable."""
    return LABELS.get(kind, kind.replace("_", " ").capitalize())


def kind_filter(kind: str, known: Iterable[str]) -> tuple[str, list[str]]:
    """(label, kinds) the Kind filter `kind` lists (pure): a label stands for every kind shown under it, and a raw
    kind (a bookmark, a link from before the menu listed labels) for its label's kinds too. "" is every kind."""
    if not kind:
        return "", []
    kinds = set(known) | set(LABELS)
    group = label(kind) if kind in kinds else kind
    return group, sorted(k for k in kinds if label(k) == group) or [kind]


def kind_options(known: Iterable[str], group: str) -> list[str]:
    """The Kind menu (pure): one label per kind listed, and the active filter's even when none has it now."""
    return sorted({label(k) for k in known} | ({group} if group else set()))
