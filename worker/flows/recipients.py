"""Who at a customer to write to about money: an accounts-payable contact, else the customer's own email.

Shared by the dispute confirmation (worker/flows/invoice_dispute.py) and the collection plan
(worker/flows/collection_queries.py).
"""

from __future__ import annotations

import re

CONTACTS = """
SELECT name, email, title FROM customer_contacts
WHERE customer_id = ? AND deleted_at IS NULL AND is_inactive = 0 AND coalesce(email, '') <> ''
ORDER BY ns_id
"""
# Accounts-payable people handle credits; anyone else only when the customer has no AP contact or email. A title
# that names payables ("AP" and "A/P" are how most of them sign: "AP Clerk", "A/P Manager") or an accountant,
# comptroller or treasurer beats one that only says accounts, billing, finance, controller or bookkeeper, even
# listed later. Receivables ("A/R" is the other side of the ledger) and key, national or strategic accounts (sales)
# are never accounts payable, unless the title names payables too ("AP/AR Clerk").
_PAYABLE = re.compile(r"payable|\bA/?P\b", re.IGNORECASE)
_AP_ROLE = re.compile(r"accountant|comptroller|treasur", re.IGNORECASE)
_FINANCE = re.compile(r"accounts|billing|finance|controller|bookkeep", re.IGNORECASE)
_NOT_PAYABLE = re.compile(r"receivable|\bA/?R\b|\b(?:key|national|strategic)\s+accounts?\b", re.IGNORECASE)


def payable_rank(title: str | None) -> int | None:
    """0 for a title that says accounts payable, 1 for one that only suggests it, None for any other title."""
    if not title:
        return None
    names_payables = _PAYABLE.search(title) is not None
    if _NOT_PAYABLE.search(title) and not names_payables:
        return None
    if names_payables or _AP_ROLE.search(title):
        return 0
    return 1 if _FINANCE.search(title) else None


def pick_recipient(customer_email: str | None, contacts: list[tuple[str, str, str]]) -> tuple[str | None, str | None]:
    """(name, email) to write to: an accounts-payable contact (the clearest title, then the first in `contacts`),
    else the customer's email, else any contact."""
    ranked = [(rank, i) for i, (_, _, title) in enumerate(contacts) if (rank := payable_rank(title)) is not None]
    if ranked:
        name, email, _ = contacts[min(ranked)[1]]
        return name, email
    if customer_email:
        return None, customer_email
    return (contacts[0][0], contacts[0][1]) if contacts else (None, None)
