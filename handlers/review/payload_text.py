"""The Actions tab's display of a proposed action's payload (pure): an email as an email, amounts in their currency,
records (invoices, price lines, order lines) and addresses as lines of text, bookkeeping left out, the rest as text."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.review.action_kinds import label
from worker.decisions import EDITABLE_FIELDS
from worker.po.address import printed_lines
from worker.pricing import (
    amounts_text,
    currency_name,
    money,
    price_in,
    price_text,
    totals_by_currency,
)

EMAIL_HEADERS = ("to", "cc", "bcc", "reply_to")
NO_CURRENCY = None  # an amount whose payload names no currency (the API's): said as "currency not recorded"

# A payload's amounts and the payload field naming their currency: shown as an amount in it.
MONEY_FIELDS = {"service_hold": {"credit_limit": "currency", "net_exposure": "currency"},  # ar_aging_action_plan
                "send_collection_email": {"on_account": "on_account_currency",
                                          "past_due_total": "past_due_total_currency"},
                # customer_invoice_dispute: the memo's amounts in its currency
                **{kind: {"amount": "currency", "applied_total": "currency", "unapplied": "currency"}
                   for kind in ("log_dispute", "send_dispute_confirmation")},
                "create_customer": {"creditLimit": NO_CURRENCY}}  # the API's (a decimal string)
# A price (a rate to four decimals) and the payload field naming its currency: shown as a price in it.
PRICE_FIELDS = {"price_new_assembly_item": {"quoted_rate": "currency"},
                "pricing_review": {"quoted_price": NO_CURRENCY}}
# A plan's amounts by currency ({currency: amount}, ar_aging_action_plan): shown as money in each, not as JSON.
TOTALS_FIELDS = {"send_collection_email": ("past_due_totals",)}
# Bookkeeping the flows keep in a payload for themselves, not for the reviewer: the collection plan's digests
# (collection_situation.trigger_state: `plan`, and `answers` on a redraw) and its trigger's ledger event id; the
# credit memo's data version (memo_apply); the NetSuite externalId that makes a post idempotent. Left out of the
# card only: approval reads the stored payload (worker/decisions.py), never the page's form.
PLAN = ("plan", "answers", "trigger_event_id")
INTERNAL_FIELDS = {**dict.fromkeys(("send_collection_email", "schedule_collection_call", "service_hold"), PLAN),
                   **dict.fromkeys(("log_dispute", "send_dispute_confirmation"), ("memo_version",)),
                   **dict.fromkeys(("create_sales_order", "create_customer"), ("externalId",))}
# The NetSuite sales order record's fields (netsuite_shape.salesorder_payload) as the review pages name them.
SALES_ORDER_NAMES = {"entity": "customer id", "tranDate": "order date", "otherRefNum": "PO number",
                     "shipDate": "ship date", "item": "lines", "shippingAddress": "ship to"}


def _number(value: Any) -> float | None:
    """A payload number, or one the API stored as a decimal string ('25000.5'); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else None
    except InvalidOperation:
        return None
    return float(number) if number is not None and number.is_finite() else None


def _decimal_text(number: Decimal) -> str:
    """A decimal as written, grouped, with at least two decimals ('12345.678' -> '12,345.678', '25000.5' ->
    '25,000.50'): what the API accepted is what approval sends, so the card must not round it."""
    return format(number, ",.2f" if number.as_tuple().exponent >= -2 else ",f")


def _grouped(text: str) -> str:
    """Thousands separators in a price's whole part ('$1234567.891' -> '$1,234,567.891'), as money() has."""
    return re.sub(r"(?<![\d.])\d{4,}(?=\.|$)", lambda m: f"{int(m[0]):,}", text, count=1)


def _count(value: float) -> str:
    """A quantity or other plain number: 3.0 as '3', 2.5 as '2.5', grouped."""
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _count(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        # Names and ids on one line; sentences (problems, talking points) a line each: they have commas of their own.
        return ("\n" if any(" " in v.strip() for v in value) else ", ").join(value)
    if isinstance(value, dict) and "addr1" in value:
        return _address(value)
    if isinstance(value, list):
        return "\n".join(_record(v) if isinstance(v, dict) else _show(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(f"{_name(k)}: {_show(v)}" for k, v in value.items() if v is not None)
    return "" if value is None else str(value)


def _name(key: str) -> str:
    """A payload key as words: the flows' snake_case and the API's (NetSuite's) camelCase ('creditLimit')."""
    return re.sub(r"(?<=[a-z])[A-Z]", lambda m: f" {m[0].lower()}", key).replace("_", " ")


def _record(record: Mapping[str, Any]) -> str:
    """A record no formatter knows, on one line: its fields named, none as JSON."""
    return ", ".join(f"{_name(k)} {_show(v)}" for k, v in record.items() if v is not None and not isinstance(v, dict))


def _address(address: Mapping[str, Any]) -> str:
    """A postal address as the order page prints it (worker.po.address.printed_lines): addressee, attention, street
    lines, the city line, the country when not the United States, the phone. The API's Address names the country by
    its code ("DE"), a sales order's shipping address by NetSuite reference ({"id": "US"})."""
    return "\n".join(printed_lines(address))


def _named(currency: Any) -> bool:
    return isinstance(currency, str) and bool(currency.strip())


def _amount(value: Any, currency: Any, price: bool = False) -> str:
    """A payload amount (or a price) in its currency; one staged before payloads named it (or by the API, which names
    none) says so rather than guess dollars."""
    number = _number(value)
    if number is None:
        return _show(value)  # None: no credit limit, no rate quoted
    if _named(currency):
        return _grouped(price_in(number, currency)) if price else money(number, currency)
    if isinstance(value, str):  # the API's decimal string: as written, never rounded (approval sends it so)
        return f"{_decimal_text(Decimal(value.strip()))} (currency not recorded)"
    return f"{_grouped(price_text(number)) if price else format(number, ',.2f')} (currency not recorded)"


def _totals(value: Any) -> str:
    """Amounts by currency as money per currency; anything else as it is (pure)."""
    if not isinstance(value, dict) or not all(isinstance(a, int | float) and not isinstance(a, bool)
                                              for a in value.values()):
        return _show(value)
    # Re-keyed: a payload staged before currencies were keyed by ISO code may name one in two spellings.
    return amounts_text(totals_by_currency((amount, currency) for currency, amount in value.items()))


def _days(days: Any) -> str | None:
    if not isinstance(days, int) or isinstance(days, bool):
        return None
    return "not past due" if days <= 0 else f"{days} day{'' if days == 1 else 's'} past due"


def _invoice(r: Mapping[str, Any], currency: Any) -> str:
    """An invoice a payload names, on one line: a plan's (in its own currency), a dispute's or the API's."""
    cur = r.get("currency", currency)
    text = str(r.get("number") or r.get("tran_id") or r.get("invoice_id") or "invoice without a number")
    text += f" (PO {r['po']})" if r.get("po") else ""
    parts = [f"dated {r['tran_date']}"] if r.get("tran_date") else []
    if r.get("applied") is not None:
        parts.append(f"{_amount(r['applied'], cur)} applied")
    left = next((k for k in ("amount_remaining", "remaining") if k in r), None)
    total = f" of {_amount(r['total'], cur)}" if r.get("total") is not None else ""
    if left:  # a dispute's None: the mirror's open amount may predate the credit (invoice_dispute.linked_invoices)
        parts.append("open amount not known" if r[left] is None else f"{_amount(r[left], cur)}{total} open")
    elif total:
        parts.append(f"{_amount(r['total'], cur)} in total")
    parts += [f"due {r['due_date']}"] if r.get("due_date") else []
    parts += [d] if (d := _days(r.get("days_past_due"))) else []
    parts += ["the credit memo was issued against it"] if r.get("issued_against") is True else []
    return text + (": " + ", ".join(parts) if parts else "")


def _percent(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{'+' if number > 0 else '-' if number < 0 else ''}{_count(abs(number))}%"


def _price_line(r: Mapping[str, Any], currency: Any) -> str:
    """A quote review's line finding (quote_review.LineFinding), its prices in the order's currency."""
    item = r.get("item_name") or r.get("item_id")
    text = f"line {r.get('line')}: {item}" + (f" (item {r['item_id']})" if r.get("item_id") not in (None, item) else "")
    if (quantity := _number(r.get("quantity"))) is not None:
        text += f", {_count(quantity)}" + (f" {r['units']}" if r.get("units") else "")
    text += f": quoted {_amount(r.get('quoted'), currency, price=True)}"
    basis = _name(str(r.get("basis") or ""))
    if r.get("expected") is None:
        text += f", no expected price ({basis or 'none on file'})"
    else:
        how = ", ".join(p for p in (_percent(r.get("deviation_pct")), basis) if p)
        text += f", expected {_amount(r['expected'], currency, price=True)}" + (f" ({how})" if how else "")
    return text + (f"; {r['reason']}" if r.get("reason") else "")


def _terms(r: Mapping[str, Any], _currency: Any) -> str:
    """A quote review's terms finding (quote_review._terms_findings)."""
    text = f"{_name(str(r.get('field') or 'terms'))}: {r.get('quoted')}"
    text += f" (the {r['source']}'s)" if r.get("source") else ""
    if r.get("expected_days") is not None:
        return text + f", {r.get('quoted_days')} days where the program gives {r['expected_days']}"
    return text + (f", where the program has {r['expected']}" if r.get("expected") else "")


def _unmirrored(r: Mapping[str, Any], currency: Any) -> str:
    """A document a credit memo is applied to that the mirror does not have (invoice_dispute.examine)."""
    what = f"{r.get('doc_type') or 'document'} {r.get('document_id') or 'without an id'} (not in the mirror)"
    return what + (f": {_amount(r['applied'], currency)} applied" if r.get("applied") is not None else "")


def _order_line(r: Mapping[str, Any], currency: Any) -> str:
    """A sales order line or charge in NetSuite's shape (netsuite_shape._line, _charge)."""
    item = r.get("item")
    item_id = item.get("id") if isinstance(item, dict) else item
    text = str(r.get("description") or f"item {item_id}")
    if (quantity := _number(r.get("quantity"))) is not None:
        text = f"{_count(quantity)} {r['units'] + ' ' if r.get('units') else ''}{text}"
    text += f" (item {item_id})" if item_id is not None and r.get("description") else ""
    text += f" at {_amount(r['rate'], currency, price=True)}" if quantity is not None and "rate" in r else ""
    return text + (f": {_amount(r['amount'], currency)}" if r.get("amount") is not None else "")


# Lists of records by field name, each record one line.
RECORDS: dict[str, Callable[[Mapping[str, Any], Any], str]] = {
    "invoices": _invoice, "lines": _price_line, "terms": _terms, "unmirrored": _unmirrored}


def _field(key: str, value: Any, currency: Any) -> str:
    """A field as text: a known list of records a line each, a record its fields a line each, else _show."""
    if key in RECORDS and isinstance(value, list) and all(isinstance(r, dict) for r in value):
        return "\n".join(RECORDS[key](r, currency) for r in value)
    if isinstance(value, dict) and "addr1" not in value:
        return "\n".join(f"{_name(k)}: {_field(k, v, currency)}" for k, v in value.items() if v is not None)
    if key == "currency" and _named(value):
        return currency_name(value)  # as amounts name it: 'USD' for NetSuite's 'USA'
    return _show(value)


def _currency(ref: Any) -> str | None:
    """The payload's currency: a name, or a NetSuite reference's ({"id": "1"}, {"refName": "EUR"})."""
    if isinstance(ref, dict):
        ref = ref.get("refName") or ref.get("id")
    return ref if _named(ref) else None


def _sales_order_field(key: str, value: Any, currency: Any) -> str:
    """A create_sales_order field (NetSuite's record): lines a line each, references by what they name."""
    if key == "item" and isinstance(value, dict) and isinstance(value.get("items"), list):
        return "\n".join(_order_line(r, currency) if isinstance(r, dict) else _show(r) for r in value["items"])
    if key == "currency" and _currency(value):
        return currency_name(_currency(value))
    if isinstance(value, dict) and set(value) <= {"id", "refName"}:
        return str(value.get("refName") or value.get("id"))
    return _field(key, value, currency)


def describe_payload(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Split a payload for display (pure): email headers, editable text fields, and everything else."""
    is_email = isinstance(payload.get("subject"), str) and isinstance(payload.get("body"), str)
    headers = [(k.replace("_", "-").title(), _show(payload[k])) for k in EMAIL_HEADERS if is_email and k in payload]
    editable = [name for name in EDITABLE_FIELDS if isinstance(payload.get(name), str)]
    shown = set(editable) | ({k for k in EMAIL_HEADERS if k in payload} if is_email else set())
    shown |= set(INTERNAL_FIELDS.get(kind, ()))
    prices = PRICE_FIELDS.get(kind, {})
    amounts = {k: currency for k, currency in (MONEY_FIELDS.get(kind, {}) | prices).items() if k in payload}
    shown |= {currency for currency in amounts.values() if currency and _named(payload.get(currency))}  # said there
    totals = TOTALS_FIELDS.get(kind, ())
    currency = _currency(payload.get("currency"))
    order = kind == "create_sales_order"
    other = [(SALES_ORDER_NAMES.get(k, _name(k)) if order else _name(k),
              _amount(v, payload.get(amounts[k]) if amounts[k] else None, price=k in prices) if k in amounts
              else _totals(v) if k in totals else _sales_order_field(k, v, currency) if order else _field(k, v, currency))
             for k, v in payload.items() if k not in shown]
    return {"label": label(kind), "is_email": is_email,
            "headers": headers, "editable": editable, "fields": other}
