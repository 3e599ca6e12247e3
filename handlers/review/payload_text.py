"""The Actions tab's display of a proposed action's payload (pure): an email as an email, amounts in their currency,
everything else as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from handlers.review.action_kinds import label
from worker.decisions import EDITABLE_FIELDS
from worker.pricing import amounts_text, money, price_in, price_text, totals_by_currency

EMAIL_HEADERS = ("to", "cc", "bcc", "reply_to")

# A plan's amounts and the payload field naming their currency (ar_aging_action_plan): shown as an amount in it.
MONEY_FIELDS = {"service_hold": {"credit_limit": "currency", "net_exposure": "currency"},
                "send_collection_email": {"on_account": "on_account_currency",
                                          "past_due_total": "past_due_total_currency"}}
# A price (a rate to four decimals) and the payload field naming its currency: shown as a price in it.
PRICE_FIELDS = {"price_new_assembly_item": {"quoted_rate": "currency"}}
# A plan's amounts by currency ({currency: amount}, ar_aging_action_plan): shown as money in each, not as JSON.
TOTALS_FIELDS = {"send_collection_email": ("past_due_totals",)}


def _show(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "" if value is None else str(value)


def _named(currency: Any) -> bool:
    return isinstance(currency, str) and bool(currency.strip())


def _amount(value: Any, currency: Any, price: bool = False) -> str:
    """A payload amount (or a price) in its currency; one staged before payloads named it says so rather than guess
    dollars."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _show(value)  # None: no credit limit, no rate quoted
    if _named(currency):
        return price_in(value, currency) if price else money(value, currency)
    return f"{price_text(value) if price else format(value, ',.2f')} (currency not recorded)"


def _totals(value: Any) -> str:
    """Amounts by currency as money per currency; anything else as it is (pure)."""
    if not isinstance(value, dict) or not all(isinstance(a, int | float) and not isinstance(a, bool)
                                              for a in value.values()):
        return _show(value)
    # Re-keyed: a payload staged before currencies were keyed by ISO code may name one in two spellings.
    return amounts_text(totals_by_currency((amount, currency) for currency, amount in value.items()))


def describe_payload(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Split a payload for display (pure): email headers, editable text fields, and everything else."""
    is_email = isinstance(payload.get("subject"), str) and isinstance(payload.get("body"), str)
    headers = [(k.replace("_", "-").title(), _show(payload[k])) for k in EMAIL_HEADERS if is_email and k in payload]
    editable = [name for name in EDITABLE_FIELDS if isinstance(payload.get(name), str)]
    shown = set(editable) | ({k for k in EMAIL_HEADERS if k in payload} if is_email else set())
    prices = PRICE_FIELDS.get(kind, {})
    amounts = {k: currency for k, currency in (MONEY_FIELDS.get(kind, {}) | prices).items() if k in payload}
    shown |= {currency for currency in amounts.values() if _named(payload.get(currency))}  # said in the amounts
    totals = TOTALS_FIELDS.get(kind, ())
    other = [(k.replace("_", " "), _amount(v, payload.get(amounts[k]), price=k in prices) if k in amounts
              else _totals(v) if k in totals else _show(v))
             for k, v in payload.items() if k not in shown]
    return {"label": label(kind), "is_email": is_email,
            "headers": headers, "editable": editable, "fields": other}
