"""Who at a customer to write to about money: an accounts-payable contact, else the customer's own email.

Shared by the dispute confirmation (worker/flows/invoice_dispute.py) and the collection plan
(worker/flows/collection_queries.py), with the header-safe text their drafts are addressed with: names and
addresses come from mirrored NetSuite data, and a line break in one would be a header of its own once sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from typing import Any

from worker.decisions import LINE_BREAKS

# The live contacts one may write to (name, email, title, phone: the call's number when its email is chosen).
CONTACTS = """
SELECT name, email, title, phone FROM customer_contacts
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
_LINE_BREAKS = re.compile(f"[{LINE_BREAKS}]+")  # what ends a line in a subject (a header) ends it here
_ODD_SPACE = re.compile(r"[^\S \t]")  # whitespace but a space or a tab


def one_line(text: str | None) -> str:
    """Text safe for a header or a single line (line breaks folded to spaces)."""
    return _LINE_BREAKS.sub(" ", text or "").strip()


def mail_address(email: str | None) -> str | None:
    """The address a draft may be sent to, or None: one addr-spec (RFC 5322, as the stdlib parses it), so a
    value with a line break (a header of its own once sent), a list or a display name is not used."""
    # Whitespace inside but a space or a tab is refused: the stdlib drops U+00A0, U+2028 and the like from a
    # non-ASCII domain ("ap@x\u00a0y.example" read as ap@xy.example), an address nobody wrote.
    if not (text := (email or "").strip()) or _ODD_SPACE.search(text):
        return None
    try:
        address = Address(addr_spec=text)
    # Python 3.11's parser also fails with IndexError on "ap@" and AttributeError on "ap@[x.example": a typo in
    # mirrored data is no address, never a failed plan for the customer.
    except (ValueError, HeaderParseError, MessageDefect, IndexError, AttributeError):
        return None
    # A non-ASCII local part ("josé@", RFC 6531) has no ASCII form: only SMTPUTF8 on every hop delivers it, so such
    # a contact is passed over for the next choice. Python 3.11's Address refuses it (NonASCIILocalPartDefect), later
    # ones accept it (CPython gh-81074): refused here whatever the version. A non-ASCII domain ("bücher.de") is kept
    # as written: a sender needs SMTPUTF8 (email.policy.SMTPUTF8 and the server's extension) or the domain as IDNA
    # ("xn--bcher-kva.de"), as the default policy cannot write it (3.11 makes it an encoded word: no address).
    return address.addr_spec if address.addr_spec and address.username.isascii() else None


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


def pick_recipient(customer_email: str | None, contacts: Sequence[tuple[Any, ...]]) -> tuple[str | None, str | None]:
    """(name, email) to write to: an accounts-payable contact (the clearest title, then the first in `contacts`,
    rows of CONTACTS: name, email and title first), else the customer's email, else any contact."""
    usable = [(one_line(name) or None, address, title) for name, email, title, *_ in contacts
              if (address := mail_address(email)) is not None]  # an address we could not send to is no choice
    ranked = [(rank, i) for i, (_, _, title) in enumerate(usable) if (rank := payable_rank(title)) is not None]
    if ranked:
        name, email, _ = usable[min(ranked)[1]]
        return name, email
    if own := mail_address(customer_email):
        return None, own
    return (usable[0][0], usable[0][1]) if usable else (None, None)
