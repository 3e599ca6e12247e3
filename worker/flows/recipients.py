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
# Accounts-payable people handle credits; anyone else only when the customer has no AP contact or email.
# "AP" and "A/P" are how most of them sign ("AP Clerk", "A/P Manager"); "A/R" is the other side of the ledger.
_AP_TITLE = re.compile(r"payable|accounts|accountant|billing|finance|controller|comptroller|bookkeep|treasur"
                       r"|\bA/?P\b", re.IGNORECASE)


def pick_recipient(customer_email: str | None, contacts: list[tuple[str, str, str]]) -> tuple[str | None, str | None]:
    """(name, email) to write to: an accounts-payable contact, else the customer's email, else any contact."""
    for name, email, title in contacts:
        if title and _AP_TITLE.search(title):
            return name, email
    if customer_email:
        return None, customer_email
    return (contacts[0][0], contacts[0][1]) if contacts else (None, None)
