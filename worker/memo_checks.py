"""Whether a credit memo is still what its dispute drafts say: checked when a reviewer approves one.

The dispute workflow withdraws a memo's staged drafts when the memo is deleted, voided or moved to another
customer (worker/flows/invoice_dispute.py), and redrafts the drafts nobody touched of a memo whose total (or
currency) changed, but only when its ledger consumer runs: between the change reaching the mirror and that run,
the draft is still staged, and approving it would confirm a credit that is not there, or to a customer it is
not for, or for another amount. A draft a reviewer edited is never redrafted, so it keeps the old total for
good. So the approval compares the draft (`customer_id`, `amount`, `currency`, recorded by every draft) with
the mirror, in the transaction that approves it (worker/decisions.py); the workflow's redraft compares with
the same function (worker/flows/memo_apply.py).

Plain functions of a connection and pure text; the flows are not imported, so the review queue stays light.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.currency import may_be_same_currency
from worker.pricing import HALF_CENT, money

# A voided memo's status with case, spaces and punctuation dropped: REST's "Voided", SuiteQL's "V", "CustCred:V".
VOIDED = frozenset({"voided", "v", "custcredv"})
MEMO_NOW = "SELECT customer_id, total, currency, status, deleted_at FROM credit_memo WHERE ns_id = ?"
COMPANY = "SELECT company_name FROM customers WHERE ns_id = ?"


def void_change(status: str | None, total: float | None, currency: str | None) -> str | None:
    """What voided the memo, as an observation says it ('was voided'), or None while its credit stands."""
    if status is not None and re.sub(r"[^a-z]", "", status.lower()) in VOIDED:
        return "was voided"
    if total is not None and abs(total) < HALF_CENT:
        return f"was changed to a total of {money(0.0, currency)}"
    return None


@dataclass(frozen=True)
class MemoChange:
    """How the memo changed ('was voided'); `withdrawn`: the workflow withdraws the drafts for it when it runs
    (else it redrafts those nobody touched). For a new total (or currency), `drafted` and `now` are the totals
    as people read them ('$300.00', 'EUR 250.00')."""

    text: str
    withdrawn: bool = True
    drafted: str | None = None
    now: str | None = None


def memo_change(drafted: Mapping[str, Any], now: tuple[Any, ...] | None,
                company: str | None = None) -> MemoChange | None:
    """How the mirror's memo (MEMO_NOW's row, None when absent) differs from the drafted one (pure), or None.

    `company` names the memo's customer now, for a moved memo. The first difference that matters is named:
    gone, voided, moved, then a new total (or currency).
    """
    if now is None:
        return MemoChange("is no longer in the mirror")
    customer_id, total, currency, status, deleted_at = now
    if deleted_at:
        return MemoChange(f"was deleted in NetSuite at {str(deleted_at)[:16].replace('T', ' ')} UTC")
    if voided := void_change(status, total, currency):
        return MemoChange(voided)
    if customer_id != drafted.get("customer_id"):
        whom = f"{company} ({customer_id})" if company else f"customer {customer_id}"
        return MemoChange(f"was moved to {whom}" if customer_id else "was left without a customer")
    amount, drafted_currency = drafted.get("amount"), drafted.get("currency")
    known = isinstance(amount, int | float), total is not None
    same = (known == (True, True) and abs(total - amount) < HALF_CENT
            and may_be_same_currency(currency, drafted_currency)) or known == (False, False)
    if not same:  # to the cent; a currency re-spelled (its id for its name) is no change
        was = money(amount, drafted_currency) if known[0] else "an unknown amount"
        now_text = money(total, currency) if known[1] else "an unknown amount"
        return MemoChange(f"now totals {now_text}, not {was} as drafted", withdrawn=False, drafted=was, now=now_text)
    return None


def memo_not_as_drafted(conn: sqlite3.Connection, payload: Mapping[str, Any]) -> MemoChange | None:
    """How the memo a dispute draft names has changed since it was drafted (None: it has not, as far as it says)."""
    memo_id = payload.get("credit_memo_id")
    if not memo_id:
        return None
    now = conn.execute(MEMO_NOW, (str(memo_id),)).fetchone()
    company = conn.execute(COMPANY, (now[0],)).fetchone() if now is not None and now[0] else None
    return memo_change(payload, tuple(now) if now is not None else None, company[0] if company else None)
