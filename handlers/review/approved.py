"""A decided order's page as approved: the order form rebuilt from its `create_sales_order` action (pure).

The action's payload is NetSuite's salesOrder record (worker/netsuite_shape.salesorder_payload): product lines,
then the carried charges, a memo ending with the note of the charges left off, the ship-to if one was sent. It keeps
neither the PO's line numbers nor the customer's codes, so those are taken from the PO line a payload line still has
the description of.
Nor does it tell a product line of quantity 1 without a unit from a charge: the approval's ledger event records how
many lines end the order as charges (`charges_carried`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from handlers.review.order_form import blank_row
from worker.currency import is_base_currency
from worker.db import MAX_ROWID
from worker.intake.lines import NO_CURRENCY, OrderCurrency
from worker.netsuite_shape import LEFT_OFF, MEMO_JOIN, ChargeLeftOff
from worker.po.address import printed_lines
from worker.pricing import cents, currency_name


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def ref_id(ref: Any) -> str:
    # A record reference ({"id": "5001"}); anything else in a damaged payload names no record.
    return _text(ref.get("id")) if isinstance(ref, Mapping) else ""


def payload_items(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The salesOrder's item lines, products and charges (only the mappings: a damaged payload shows less)."""
    items = (payload.get("item") or {}).get("items") if isinstance(payload.get("item"), Mapping) else None
    return [i for i in items or [] if isinstance(i, Mapping)]


def approved_total(payload: Mapping[str, Any]) -> Decimal | None:
    """What the approved sales order totals before tax: its lines' amounts, carried charges (discounts negative)
    included; None when an amount is no JSON number (as REVIEW_ITEMS_API's approved_total: the page and the API
    agree)."""
    amounts = [_decimal(a) if isinstance(a := i.get("amount"), int | float) and not isinstance(a, bool) else None
               for i in payload_items(payload)]
    return None if any(a is None for a in amounts) else cents(sum((a for a in amounts if a is not None), Decimal(0)))


def is_charge(item: Mapping[str, Any]) -> bool:
    """A line shaped as salesorder_payload books a charge: described, no unit, its amount its rate, and of quantity
    1 or none (a discount). A product line of quantity 1 with no unit is shaped so too: only for old approvals."""
    amount = _decimal(item.get("amount"))
    return (bool(item.get("description")) and "units" not in item and item.get("quantity", 1) == 1
            and amount is not None and _decimal(item.get("rate")) == amount)


def charges_carried(approval: Mapping[str, Any]) -> int | None:
    """How many of the payload's lines, at its end, are carried charges, as the `review.approved` event records it;
    None for an approval from before it was recorded (or a count that is no count)."""
    carried = approval.get("charges_carried")
    return carried if isinstance(carried, int) and not isinstance(carried, bool) and carried >= 0 else None


def split_items(payload: Mapping[str, Any],
                carried: int | None = None) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(product lines, carried charges): the last `carried` lines are the charges (charges_carried)."""
    items = payload_items(payload)
    if carried is not None and carried < len(items):  # an order has a product line first
        return items[:len(items) - carried], items[len(items) - carried:]
    # Approved before the count was recorded (or a count leaving no product line): the payload cannot tell, so the
    # charges are the run of charge-shaped lines that ends the order, a product line of 1 without a unit there too.
    first = len(items)
    while first > 1 and is_charge(items[first - 1]):
        first -= 1
    return items[:first], items[first:]


def _po_lines(parsed: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [ln for ln in parsed.get("lines") or [] if isinstance(ln, Mapping)]


def approved_rows(payload: Mapping[str, Any], parsed: Mapping[str, Any], item_codes: Mapping[str, str],
                  carried: int | None = None) -> list[dict[str, str]]:
    """The approved product lines (split_items) as form rows, items by our item code; each takes the line number and
    customer code of the next PO line (in order) with its description, else none (a row the reviewer added: "new")."""
    po, at, rows = _po_lines(parsed), 0, []
    for line in split_items(payload, carried)[0]:
        item_id, desc = ref_id(line.get("item")), _text(line.get("description")).strip()
        found = next((k for k in range(at, len(po)) if desc and _text(po[k].get("description")).strip() == desc), None)
        source = po[found] if found is not None else {}
        at = at if found is None else found + 1
        rows.append(blank_row() | {
            "no": _text(source.get("line_no")), "code": _text(source.get("customer_item_code")),
            "item": item_codes.get(item_id) or item_id, "desc": desc, "qty": _text(line.get("quantity")),
            "uom": _text(line.get("units")), "price": _text(line.get("rate")),
            # Shown as approved: no "remembered as" note (that compares the parse's item with the one shown).
            "parsed_item": item_id, "shown_item": item_id})
    return rows


def left_off_charges(approval: Mapping[str, Any]) -> list[ChargeLeftOff]:
    """The charges left off, as the `review.approved` event records them (the payload has them only as memo text)."""
    out = []
    for charge in approval.get("charges_left_off") or []:
        amount = _decimal(charge.get("amount")) if isinstance(charge, Mapping) else None
        if amount is not None and amount and charge.get("description"):
            out.append(ChargeLeftOff(description=str(charge["description"]), amount=cents(amount)))
    return out


def approved_charges(payload: Mapping[str, Any], left_off: list[ChargeLeftOff], item_codes: Mapping[str, str],
                     carried: int | None = None) -> list[dict[str, str]]:
    """The charge rows as approved: the carried ones (split_items) with their item, then those left off, ticked."""
    rows = [{"desc": _text(c.get("description")), "amount": f"{_decimal(c.get('amount')) or 0:.2f}",
             "item": item_codes.get(ref_id(c.get("item"))) or ref_id(c.get("item")),
             "off": ""} for c in split_items(payload, carried)[1]]
    return rows + [{"desc": c.description, "amount": f"{c.amount:.2f}", "item": "", "off": "1"} for c in left_off]


def reviewers_memo(memo: str, left_off: list[ChargeLeftOff]) -> str:
    """The reviewer's memo: the sales order's without the note of the charges left off that approving added."""
    if not left_off:
        return memo
    note = LEFT_OFF + "; ".join(c.text for c in left_off)
    return "" if memo == note else memo.removesuffix(MEMO_JOIN + note)


def booked_currency(payload: Mapping[str, Any]) -> str:
    """The currency the order form chose, as the payload's reference names it ("" for the customer's own)."""
    ref = payload.get("currency") if isinstance(payload.get("currency"), Mapping) else {}
    if ref.get("refName"):
        return str(ref["refName"])
    found = _text(ref.get("id"))
    return "USD" if found and is_base_currency(found) else found


def booked_spelling(payload: Mapping[str, Any], customer_currency: str | None) -> str:
    """The currency the sales order is booked in, as spelled: the payload's, else the customer's record currency
    (approving sends none for the customer's own, and NetSuite books its record's); "" when neither is known."""
    return booked_currency(payload) if "currency" in payload else customer_currency or ""


def approved_currency(payload: Mapping[str, Any], customer_currency: str | None) -> str | None:
    """The approved order's currency as the page and /api/review-items name it ("USD", "CAD", "currency #4"), None
    when unknown. `customer_currency` is the customer's record currency as mirrored now (customer_currency)."""
    return currency_name(spelled) if (spelled := booked_spelling(payload, customer_currency)) else None


UNKNOWN_CURRENCY = "the customer's currency in NetSuite, which the mirror does not name"  # as the page's notice


def as_booked(currency: OrderCurrency, booked: str | None) -> OrderCurrency:
    """The order form's currency on an approved order's page, given what it is booked in (approved_currency) (pure).

    Unknown (none was sent and the mirror does not name the customer's): the form says so and selects nothing else,
    never the PO's or US dollars as if booked, and no price is judged against the list's dollars."""
    if booked is not None:
        return currency
    return replace(currency, booked=None, choices=((NO_CURRENCY, f"unknown: {UNKNOWN_CURRENCY}"),), sent=None,
                   warning=None, unconverted=None, not_compared=f"the order is booked in {UNKNOWN_CURRENCY}")


def approved_ship_to(payload: Mapping[str, Any]) -> list[str]:
    """The ship-to the sales order carries (its shippingAddress) as address lines; none: NetSuite ships to the
    customer's default shipping address (an order approved without one, or before ship-tos were sent)."""
    address = payload.get("shippingAddress")
    return printed_lines(address) if isinstance(address, Mapping) else []


def approved_header(payload: Mapping[str, Any], left_off: list[ChargeLeftOff],
                    customer_currency: str | None = None) -> dict[str, str]:
    """The form's header as approved (the posted-form keys _detail reads), for the customer it was approved for,
    in the currency booked (booked_spelling: the form then selects it, the customer's when none was sent)."""
    customer = ref_id(payload.get("entity"))
    return {"customer_id": customer, "shown_for": customer, "po_number": _text(payload.get("otherRefNum")),
            "tran_date": _text(payload.get("tranDate")), "ship_date": _text(payload.get("shipDate")),
            "memo": reviewers_memo(_text(payload.get("memo")), left_off),
            "currency": booked_spelling(payload, customer_currency), "ship_to": "\n".join(approved_ship_to(payload))}


def action_url(action_id: int, status: str) -> str:
    """The Actions tab at the action's card: its status's list from the action down (pure). Right only while the
    action keeps `status`: for a link kept on a page, use action_link."""
    cursor = action_id + 1 if action_id < MAX_ROWID else 0  # the largest rowid has none past it: the newest
    return f"/review/actions?{urlencode({'status': status, 'cursor': cursor})}#action-{action_id}"


def action_link(action_id: int) -> str:
    """A lasting link to an action's card (pure): GET /review/actions/{id} redirects to its list as it is then,
    where action_url's list goes stale once the action is approved, rejected or executed. The fragment names the
    card too, which a browser keeps should the redirect ever come without one."""
    return f"/review/actions/{action_id}#action-{action_id}"
