"""Orders tab: the open purchase orders, one order's detail (PDF beside editable lines), approve, reject, PDF,
the original email."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery

from handlers.review import queries as q
from handlers.review.approved import (
    action_link,
    approved_charges,
    approved_currency,
    approved_header,
    approved_rows,
    approved_ship_to,
    approved_total,
    as_booked,
    charges_carried,
    left_off_charges,
    payload_items,
    ref_id,
)
from handlers.review.order_form import (
    ADD_ROWS,
    MAX_CHARGES,
    MAX_ROWS,
    MAX_SHIP_TO,
    BadRowCount,
    address_lines,
    charges_from_form,
    charges_from_parsed,
    form_errors,
    form_total,
    kept_rows,
    more_charges,
    more_rows,
    po_total_less_tax,
    price_checks,
    remembered_items,
    remembered_note,
    reviewed_order,
    row_count,
    rows_for_customer,
    rows_from_form,
    rows_from_parsed,
    ship_to_preview,
    ship_to_text,
    shown_for,
    shown_items,
    with_blank_rows,
)
from handlers.review.web import (
    STALE_TOKEN,
    Cursor,
    RowId,
    posted_form,
    redirect_with_notice,
    render,
)
from worker.auth import Session
from worker.decisions import (
    MAX_REASON,
    DecisionError,
    DuplicateOrder,
    NotFound,
    approve_order,
    reject_order,
)
from worker.env import Env, iso
from worker.intake.lines import (
    OrderCurrency,
    currency_name,
    currency_text,
    customer_currency,
    parsed_order_currency,
    po_currency,
)
from worker.pricing import standard_program
from worker.storage import ObjectNotFound

OPEN_STATUSES = ("pending", "needs_manual")  # an order still to decide: its form is editable
STATUSES = ("", *OPEN_STATUSES, *q.DECIDED_STATUSES)  # "": every open order
# The currencies of a page of orders: the PO's (parsed, with the parser's confidence in it: a bare "$" has its own)
# and its customer's (the mirrored record's, as JSON).
ORDER_CURRENCIES = """
SELECT r.id, CASE WHEN json_valid(r.parsed_json) THEN r.parsed_json ->> '$.currency' END AS po_currency,
       CASE WHEN json_valid(r.parsed_json) THEN r.parsed_json ->> '$.confidence.currency' END AS po_currency_confidence,
       CASE WHEN json_valid(c.raw_json) THEN c.raw_json -> '$.currency' END AS customer_currency
FROM review_items r LEFT JOIN customers c ON c.ns_id = r.customer_id AND c.deleted_at IS NULL
WHERE r.id IN (SELECT value FROM json_each(?))
"""


def content_disposition(filename: str) -> str:
    """`inline` with the sender's file name: an ASCII fallback (headers are Latin-1) and RFC 6266's UTF-8
    `filename*`, so "Заказ_4471.pdf" is shown as such rather than breaking the response."""
    ascii_name = "".join(ch for ch in filename if ch.isascii() and (ch.isalnum() or ch in "._-"))[:80]
    if not ascii_name.removesuffix(".pdf"):
        ascii_name = "po.pdf"
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename[:120], safe='')}"


@get(["/", "/orders"], include_in_schema=False)
async def orders_list(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                      status: FromQuery[str] = "", customer: FromQuery[str] = "", cursor: Cursor = 0) -> Response[Any]:
    """Pending and needs-manual orders (or the approved or rejected ones), newest first, 50 a page (keyset),
    filterable by status and customer; the open counts are the filtered customer's."""
    if status not in STATUSES:
        raise ValidationException(f"status: must be one of {', '.join(STATUSES[1:])} (got {status!r})")
    params = {"status": status, "customer": customer.strip()[:32], "cursor": cursor, "limit": q.PAGE_SIZE}
    # The counts follow the customer filter (the page says whose they are), not the status one: both are shown.
    counted = (q.rows(env, q.OPEN_COUNTS_CUSTOMER, {"customer": params["customer"]}) if params["customer"]
               else q.rows(env, q.OPEN_COUNTS, ()))
    # Three independent reads on three pooled connections at once.
    page, count_rows, customers = await asyncio.gather(q.rows(env, q.open_orders_sql(params), params),
                                                       counted, q.rows(env, q.OPEN_CUSTOMERS, ()))
    counts = {r["status"]: r["n"] for r in count_rows}
    found = await q.rows(env, ORDER_CURRENCIES, (json.dumps([r["id"] for r in page]),))
    currencies = {r["id"]: parsed_order_currency({"currency": r["po_currency"],
                                                  "confidence": {"currency": r["po_currency_confidence"]}},
                                                 currency_text(r["customer_currency"])).shown for r in found}
    for row in page:
        row["currency"] = currencies.get(row["id"])
    # The menu lists only customers with open orders: one filtered on without any is named from the mirror.
    named = None
    if params["customer"] and all(c["customer_id"] != params["customer"] for c in customers):
        named = next(iter(await q.rows(env, q.POSTED_CUSTOMER, (params["customer"],))), None)
    return render(request, env, "orders.html", session, **orders_context(
        page, counts, customers, params, customer_name=named and named["company_name"]))


def orders_context(page: list[dict[str, Any]], counts: dict[str, int], customers: list[dict[str, Any]],
                   params: dict[str, Any], customer_name: str | None = None) -> dict[str, Any]:
    """Template context of the orders list (shared with bench/review.py's bare render); `customer_name` names a
    filtered customer the menu does not list (it has no open orders)."""
    for row in page:
        row["flags"] = json.loads(row.get("flags_json") or "[]")
    return {"tab": "orders", "orders": page, "counts": counts, "customers": customers, "status": params["status"],
            "customer": params["customer"], "customer_name": customer_name,
            "next_cursor": q.next_cursor(page, params["limit"]), "first_page": not params["cursor"]}


async def _item(env: Env, item_id: int) -> dict[str, Any]:
    found = await q.rows(env, q.REVIEW_ITEM, (item_id,))
    if not found:
        raise NotFoundException(f"review item {item_id} does not exist")
    return found[0]


async def _resolve(env: Env, texts: set[str]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each item typed (upper case) as its internal id, None unless exactly one item matches; and, for a code
    several items share, those items ("CHS-X (id 5001), chs-x (id 5009)") for the refusal to name."""
    resolved: dict[str, str | None] = {}
    ambiguous: dict[str, str] = {}
    for text in list(texts)[:600]:  # a full form's rows and charges
        matches = await q.rows(env, q.RESOLVE_ITEM, {"text": text})
        resolved[text.upper()] = matches[0]["item_id"] if len(matches) == 1 else None
        if len(matches) > 1:
            ambiguous[text.upper()] = ", ".join(f"{m['item_code']} (id {m['item_id']})" for m in matches[:3]) + (
                ", …" if len(matches) > 3 else "")
    return resolved, ambiguous


def _parsed(item: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = json.loads(item.get("parsed_json") or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _currency_label(currency: OrderCurrency) -> str:
    """The booked currency as the form's select names it."""
    return next((name for value, name in currency.choices if value == (currency.booked or "")), "")


def _posted_currency(form: Any, item_customer: str | None) -> str | None:
    """The currency the form posted, when it was chosen for the customer posted (the page showed its choices for
    `shown_for`); None when not posted or chosen for another customer (pure)."""
    if "currency" not in form or shown_for(form, item_customer) != str(form.get("customer_id") or "").strip():
        return None
    return str(form.get("currency") or "")


def unconverted_label(parsed: dict[str, Any], currency: OrderCurrency) -> str | None:
    """The box consenting to book a PO's figures unconverted, as the page names it; None when they are in the
    currency booked (pure)."""
    if not currency.unconverted:
        return None
    return (f"Book the figures as typed in {currency.booked_name}: the PO's {currency_name(po_currency(parsed))} "
            "prices are not converted")


def unconverted_consent(form: Any, currency: OrderCurrency) -> bool:
    """Whether the form ticked "book as typed" for the currency it books now (`unconverted_in`, posted beside the
    box): a consent given while another was chosen is none (pure)."""
    return (bool(currency.unconverted) and form.get("approve_unconverted") == "1"
            and str(form.get("unconverted_in") or "") == (currency.booked or ""))


async def _for_posted_customer(env: Env, item: dict[str, Any], form: Any,
                               rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], int]:
    """The posted rows as shown for the customer posted: recomputed (rows_for_customer) when the page showed them
    for another (the reviewer reassigned the order), with the number of lines (not dropped) whose item that changed."""
    customer = str(form.get("customer_id") or "").strip()
    if customer == shown_for(form, item["customer_id"]):
        return rows, 0
    remembered = await env.db.read_sync(remembered_items, customer or None, [r["code"] for r in rows])
    resolved, _ambiguous = await _resolve(env, {r["item"] for r in rows if r["item"]})
    ids = [r["parsed_item"] for r in rows if r["parsed_item"]] + list(remembered.values())
    known = await q.rows(env, q.ITEMS_BY_ID, (json.dumps(ids),))
    new = rows_for_customer(rows, resolved, remembered, {r["item_id"]: r["item_code"] for r in known})
    return new, sum(a["item"] != b["item"] and not b["drop"] for a, b in zip(rows, new, strict=True))


async def _posted_lines(env: Env, item: dict[str, Any],
                        form: Any) -> tuple[list[dict[str, str]], list[dict[str, str]], int]:
    """The order form's rows (as shown for the customer posted: _for_posted_customer, with its count of lines whose
    item that changed) and charge rows, as posted; BadRowCount when a count is not a number."""
    rows = rows_from_form(form)
    charges = charges_from_form(form, _parsed(item))
    rows, refreshed = await _for_posted_customer(env, item, form, rows)
    return rows, charges, refreshed


async def _picker(env: Env, find: str) -> list[dict[str, Any]]:
    """The customers the order form offers: for a search, its matches best first as /api/customers finds them
    (synonyms, names with accents and case folded in any script, ns_id or entity id), else the first by name.
    Each says whether it is inactive in NetSuite (offered, marked: approving for it is refused)."""
    # Imported here: handlers.customers imports handlers.review_api, which imports this package.
    from handlers.customers import QUERY_CHARS, search

    wanted = find.strip()[:QUERY_CHARS]
    if not wanted:
        return await q.rows(env, q.BROWSE_CUSTOMERS, (q.PAGE_SIZE,))
    found = await search(env, wanted, q.PAGE_SIZE)
    inactive = {r["ns_id"] for r in await q.rows(env, q.INACTIVE_AMONG, (json.dumps([c["ns_id"] for c in found]),))}
    return [{"ns_id": c["ns_id"], "company_name": c["company_name"], "is_inactive": c["ns_id"] in inactive}
            for c in found]


async def _detail(request: Request[Any, Any, Any], env: Env, session: Session, item_id: int, *,
                  rows: list[dict[str, str]] | None = None, charges: list[dict[str, str]] | None = None,
                  header: Any = None, errors: list[str] | None = None,
                  find: str = "", status: int = 200, offer_duplicate: tuple[str, ...] = (),
                  offer_unconverted: bool = False, reason: str = "") -> Response[Any]:
    item = await _item(env, item_id)
    parsed = _parsed(item)
    # An approved order is shown as approved (its action's payload), not as the PO was read; a rejected one as read.
    action = await _approved_action(env, item_id) if rows is None and item["status"] == "approved" else None
    if action is not None:
        rows, charges, header = await _as_approved(env, parsed, action)
    elif rows is None:
        # Each code as remembered now: another reviewer may have corrected it since this PO was parsed.
        lines = [ln for ln in parsed.get("lines") or [] if isinstance(ln, dict)]
        remembered = await env.db.read_sync(remembered_items, item["customer_id"],
                                            [str(ln.get("customer_item_code") or "") for ln in lines])
        ids = [str(ln.get("item_id")) for ln in lines if ln.get("item_id")] + list(remembered.values())
        known = await q.rows(env, q.ITEMS_BY_ID, (json.dumps(ids),))
        rows = rows_from_parsed(parsed, {r["item_id"]: r["item_code"] for r in known}, remembered)
        rows = with_blank_rows(rows, 1 if rows else 3)
    else:  # the posted rows: one blank row to fill whatever the reviewer typed (more with Add rows)
        rows = with_blank_rows(rows, 1)
    # A line shown with the item its code is remembered as, not the parse's, says so (on every render of the form).
    shown = [r["shown_item"] for r in rows if r.get("shown_item") and r["shown_item"] != r.get("parsed_item")]
    codes = {r["item_id"]: r["item_code"] for r in await q.rows(env, q.ITEMS_BY_ID, (json.dumps(shown),))}
    for r in rows:
        r["remembered"] = remembered_note(r, codes)
    if charges is None:
        charges = charges_from_parsed(parsed, env.settings.review)
    today = env.clock().astimezone(env.settings.timezone).date()
    form = {"customer_id": item["customer_id"] or "", "po_number": item["po_number"] or parsed.get("po_number") or "",
            "tran_date": parsed.get("po_date") or today.isoformat(), "ship_date": parsed.get("requested_ship_date") or "",
            "memo": "", "ship_to": ship_to_text({}, parsed)}
    if header is not None:
        form.update({k: str(header.get(k) or "") for k in form})
        form["ship_to"] = ship_to_text(header, parsed)  # a post without the box: the PO's, as approving takes it
        # The reject box is in the order form: whatever re-renders it (Search, Add rows, a refusal) keeps the reason.
        reason = reason or str(header.get("reason") or "")
    chosen = _posted_currency(header, item["customer_id"]) if header is not None else None
    resolved, _ambiguous = await _resolve(env, {r["item"] for r in rows if r["item"]})
    try:
        on = date.fromisoformat(form["tran_date"])
    except ValueError:
        on = today
    # The form's customer: a reassigned order is booked in its new customer's currency when the PO names none (or
    # a bare "$" of that customer's currency); the reviewer's choice stands while the customer does. An approved
    # order's form customer is its payload's, whose currency _approved_action has read.
    mirrored = (action["customer_currency"] if action is not None
                else await env.db.read_sync(customer_currency, form["customer_id"]))
    currency = parsed_order_currency(parsed, mirrored, chosen)
    if action is not None:  # as booked, as the notice and /api/review-items say: an unknown one is not the PO's
        currency = as_booked(currency, action["currency"])
    checks = await env.db.read_sync(price_checks, form["customer_id"] or None, rows, resolved, on,
                                    standard_program(env.settings), env.settings.pricing.tolerance_pct,
                                    currency.booked, currency.not_compared, parsed.get("findings"))
    # The item's and the posted customer stay offered, after the matches (the best match stays first).
    customers = await _picker(env, find)
    if item["customer_id"] and all(c["ns_id"] != item["customer_id"] for c in customers):
        customers.append({"ns_id": item["customer_id"], "company_name": item["customer_name"] or "(not in mirror)",
                          "is_inactive": item["customer_inactive"]})
    if form["customer_id"] and all(c["ns_id"] != form["customer_id"] for c in customers):
        # Else no option is selected, the picker falls back to "— choose —" and a resubmit loses the customer.
        customers += await q.rows(env, q.POSTED_CUSTOMER, (form["customer_id"],))
    choices = await q.rows(env, q.ITEM_CHOICES, {"customer": form["customer_id"]})
    # The "book as typed" box: offered after approving was refused for it, and kept (ticked) on every page of the
    # form that posted it ticked for the currency still chosen, so a later refusal (a duplicate) does not undo it.
    ticked = header is not None and unconverted_consent(header, currency)
    unconverted = unconverted_label(parsed, currency) if offer_unconverted or ticked else None
    # Each refusal links to the field it is about, which is marked invalid, described by it, and the first focused.
    entries, invalid = form_errors(errors or [], rows)
    return render(request, env, "order_detail.html", session, code=status, tab="orders", item=item, parsed=parsed,
                  rows=rows, charges=charges,
                  order_total=approved_total(action["payload"]) if action else form_total(rows, charges),
                  po_total=po_total_less_tax(parsed), form=form, errors=entries, invalid=invalid,
                  first_invalid=next(iter(invalid), None), checks=checks,
                  customers=customers, find=find,
                  item_choices=choices, flags=json.loads(item.get("flags_json") or "[]"), currency=currency,
                  is_open=item["status"] in OPEN_STATUSES, offer_duplicate=offer_duplicate,
                  unconverted_box=unconverted, unconverted_ticked=ticked, reason=reason, max_reason=MAX_REASON,
                  add_rows=ADD_ROWS, approved_action=action, ship_to=ship_to_preview(form["ship_to"]),
                  bill_to=address_lines(parsed.get("bill_to")), parsed_ship_to=address_lines(parsed.get("ship_to")),
                  max_ship_to=MAX_SHIP_TO)


async def _approved_action(env: Env, item_id: int) -> dict[str, Any] | None:
    """The item's create_sales_order action, its payload and the approval event's, parsed; None without one."""
    found = await q.rows(env, q.APPROVED_ACTION, {"id": item_id})
    if not found:
        return None
    action = found[0]
    for name in ("payload", "approval"):
        try:
            value = json.loads(action.pop(f"{name}_json") or "{}")
        except ValueError:
            value = {}
        action[name] = value if isinstance(value, dict) else {}
    action["url"] = action_link(action["id"])  # lasting: the page may stay open while the action moves on
    # The currency it is booked in, as /api/review-items names it: the customer's record currency when none was sent.
    mirrored = await env.db.read_sync(customer_currency, ref_id(action["payload"].get("entity")) or None)
    action["customer_currency"], action["currency"] = mirrored, approved_currency(action["payload"], mirrored)
    action["ship_to"] = approved_ship_to(action["payload"])
    return action


async def _as_approved(env: Env, parsed: dict[str, Any],
                       action: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, str]]:
    """The form's rows, charges and header as the order was approved (the action's payload as it stands now)."""
    payload = action["payload"]
    left_off, carried = left_off_charges(action["approval"]), charges_carried(action["approval"])
    ids = [ref for i in payload_items(payload) if (ref := ref_id(i.get("item")))]
    codes = {r["item_id"]: r["item_code"] for r in await q.rows(env, q.ITEMS_BY_ID, (json.dumps(ids),))}
    return (approved_rows(payload, parsed, codes, carried), approved_charges(payload, left_off, codes, carried),
            approved_header(payload, left_off, action["customer_currency"]))


@get("/orders/{item_id:int}", include_in_schema=False)
async def order_detail(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                       item_id: RowId, find: FromQuery[str] = "") -> Response[Any]:
    """One order: the PDF beside its editable lines, price checks, customer reassignment, approve / reject."""
    return await _detail(request, env, session, item_id, find=find)


@post("/orders/{item_id:int}/approve", include_in_schema=False, status_code=303)
async def order_approve(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                        item_id: RowId) -> Response[Any]:
    """Approve the order as edited: queue a create_sales_order action and remember corrected item codes.

    The form's Search button (`search`) posts here too: it only re-renders the form as typed with the customers
    found, so edits survive a search (a GET from the parse would drop them). So does Add rows (`add_rows`): the
    form as typed with ADD_ROWS blank rows more, up to MAX_ROWS (a full form is refused, 422); nothing is written.
    Add a charge (`add_charge`) does the same with one blank charge row more, up to MAX_CHARGES.
    The PO's charges (its freight, surcharges, discounts) are rows too: each carried as a line of the NetSuite
    item the reviewer names, or left off and named in the sales order's memo; none is dropped unsaid.
    A form loaded under an earlier sign-in (its token not this session's) is only shown again as posted (422).
    None of these shows the form as posted on an order decided since the page was loaded (_form_again): it is shown
    as decided, nothing done (422); a valid approval of it is approve_order's double submit ("already approved").
    A damaged row or charge count (BadRowCount) is a 400 naming it, unless the order is decided: shown as decided.
    A customer posted other than the one the lines were shown for (`shown_for`) shows them anew for it (the lines
    left as shown take the item its codes are remembered as); an approval so changing a line's item is refused
    (422) with the lines to check.
    """
    form, current = await posted_form(request, session)
    item = await _item(env, item_id)
    parsed = _parsed(item)
    try:
        # Another customer chosen: its lines show what that customer's codes are remembered as, not the first one's.
        rows, charges, refreshed = await _posted_lines(env, item, form)
    except BadRowCount as exc:
        if item["status"] not in OPEN_STATUSES:  # decided since the page was loaded: that, not the count, is the answer
            return await _shown_decided(request, env, session, item)
        raise ValidationException(str(exc)) from None
    if not current:
        return await _form_again(request, env, session, item_id, form, rows, charges, [STALE_TOKEN])
    if form.get("add_rows"):
        if row_count(form) >= MAX_ROWS:
            full = (f"no rows were added: this page can approve at most {MAX_ROWS} rows; enter a longer order in "
                    "NetSuite or split it")
            return await _form_again(request, env, session, item_id, form, rows, charges, [full])
        return await _form_again(request, env, session, item_id, form, more_rows(rows, ADD_ROWS), charges)
    if form.get("add_charge"):
        if (added := more_charges(charges)) is None:
            full = f"no charge was added: this page can carry at most {MAX_CHARGES} charges"
            return await _form_again(request, env, session, item_id, form, rows, charges, [full])
        return await _form_again(request, env, session, item_id, form, rows, added)
    if form.get("search"):
        return await _form_again(request, env, session, item_id, form, rows, charges)
    if refreshed:  # not approved with items the reviewer never saw
        check = (f"not approved: {refreshed} line(s) now show the item their code is remembered as for the customer "
                 "chosen, not the one the page showed; check the lines and approve again")
        return await _form_again(request, env, session, item_id, form, rows, charges, [check])
    customer = str(form.get("customer_id") or "").strip()
    posted = _posted_currency(form, item["customer_id"])
    currency = parsed_order_currency(parsed, await env.db.read_sync(customer_currency, customer or None), posted)
    if "currency" in form and str(form.get("currency") or "") != (currency.booked or ""):
        # Chosen for another customer (or not offered): not booked in a currency the reviewer did not see chosen.
        check = (f"not approved: the order's currency for the customer chosen is {_currency_label(currency)}, not the "
                 "one posted; check it and approve again")
        return await _form_again(request, env, session, item_id, form, rows, charges, [check])
    typed = {r["item"] for r in kept_rows(rows) if r["item"]} | {c["item"] for c in charges if c["item"] and not c["off"]}
    resolved, ambiguous = await _resolve(env, typed)
    order, errors = reviewed_order(form, rows, resolved, charges, ambiguous, ship_to_text(form, parsed))
    duplicate: tuple[str, ...] = ()
    consented = unconverted_consent(form, currency)
    if order is not None and currency.unconverted and not consented:
        # The figures are the PO's, in its currency: booked as typed in another only once the reviewer has read
        # this and ticked the box it offers (the currency select may have been changed without seeing the warning).
        box = unconverted_label(parsed, currency)
        errors = [f"not approved: {currency.unconverted} Tick \"{box}\" if that is meant."]
        return await _form_again(request, env, session, item_id, form, rows, charges, errors, offer_unconverted=True)
    if order is not None:
        order = order.model_copy(update={"currency": currency.sent})  # approve_order books it, not the parse's
        # "Approve anyway" consents to the copies the refusal showed (their keys, posted beside the box), no others.
        shown = str(form.get("duplicate_of") or "").split() if form.get("approve_duplicate") == "1" else []
        try:
            decision = await env.db.write(approve_order, item_id, session.reviewer, order,
                                          iso(env.clock()), approve_anyway=frozenset(shown),
                                          shown=shown_items(order, rows),
                                          unconverted=unconverted_label(parsed, currency) if consented else None)
        except NotFound as exc:
            raise NotFoundException(str(exc)) from None
        except DecisionError as exc:
            errors, duplicate = [str(exc)], exc.copies if isinstance(exc, DuplicateOrder) else ()
        else:
            target = "/review/orders" if decision.changed else f"/review/orders/{item_id}"
            return redirect_with_notice(request, env, target, f"Order {item_id}: {decision.message}")
    return await _form_again(request, env, session, item_id, form, rows, charges, errors, offer_duplicate=duplicate)


def decided_since(item: dict[str, Any]) -> str:
    """Why a form of an order decided after it was loaded did nothing (pure): who decided it and when, if known."""
    who = f" by {item['decided_by']}" if item.get("decided_by") else ""
    when = f" at {item['decided_at'][:16].replace('T', ' ')} UTC" if item.get("decided_at") else ""
    return (f"Nothing was done: this order was {item['status'].replace('_', ' ')}{who}{when} after this form was "
            "loaded. It is shown as decided, not as the form had it.")


async def _shown_decided(request: Request[Any, Any, Any], env: Env, session: Session,
                         item: dict[str, Any]) -> Response[Any]:
    """The page of an order decided since its form was loaded (422, decided_since): as decided, nothing done."""
    return await _detail(request, env, session, item["id"], errors=[decided_since(item)], status=422)


async def _form_again(request: Request[Any, Any, Any], env: Env, session: Session, item_id: int, form: Any,
                      rows: list[dict[str, str]], charges: list[dict[str, str]], errors: list[str] | None = None,
                      **shown: Any) -> Response[Any]:
    """The order form shown again as posted (Search, Add rows: 200; a refusal, `errors`: 422). An order decided
    since the page was loaded (by someone else) is shown as decided instead, nothing done (422): never a closed
    order's form as a page from before had it, whatever the form's token or refusal."""
    item = await _item(env, item_id)  # read now: a refusal may come after a decision made meanwhile
    if item["status"] not in OPEN_STATUSES:
        return await _shown_decided(request, env, session, item)
    return await _detail(request, env, session, item_id, rows=rows, charges=charges, header=form,
                         find=str(form.get("find") or ""), errors=errors, status=422 if errors else 200, **shown)


@post("/orders/{item_id:int}/reject", include_in_schema=False, status_code=303)
async def order_reject(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                       item_id: RowId) -> Response[Any]:
    """Reject the order; a reason is required. A form from an earlier sign-in is shown again with its reason (422).

    The Reject button is the order form's, so it posts the lines as typed too: they are not decided (a rejection
    ignores them) but a refusal shows them again as posted, with the reason (_reject_refused).
    """
    form, current = await posted_form(request, session)
    reason = str(form.get("reason") or "")
    if not current:
        return await _reject_refused(request, env, session, item_id, form, STALE_TOKEN)
    try:
        decision = await env.db.write(reject_order, item_id, session.reviewer, reason, iso(env.clock()))
    except NotFound as exc:
        raise NotFoundException(str(exc)) from None
    except DecisionError as exc:  # the reason comes back to be shortened, not retyped
        return await _reject_refused(request, env, session, item_id, form, str(exc))
    target = "/review/orders" if decision.changed else f"/review/orders/{item_id}"
    return redirect_with_notice(request, env, target, f"Order {item_id}: {decision.message}")


async def _reject_refused(request: Request[Any, Any, Any], env: Env, session: Session, item_id: int, form: Any,
                          error: str) -> Response[Any]:
    """The page after a refused rejection (422): the reason as typed and the order form as posted. A post without
    the form's rows (`n`: a hand-made one, a page from before) or with a damaged count shows the order as read."""
    reason = str(form.get("reason") or "")
    item = await _item(env, item_id)
    # Not on an order decided since (a stale token's refusal): it is shown as decided, not as this form had it, and
    # the refusal says so (not "shown again as you sent it").
    if item["status"] not in OPEN_STATUSES:
        return await _shown_decided(request, env, session, item)
    if "n" in form:
        try:
            rows, charges, _refreshed = await _posted_lines(env, item, form)
        except BadRowCount:
            pass  # a rejection decides no line: the refusal is the reason's, not the count's
        else:
            return await _detail(request, env, session, item_id, rows=rows, charges=charges, header=form,
                                 find=str(form.get("find") or ""), errors=[error], status=422, reason=reason)
    return await _detail(request, env, session, item_id, errors=[error], status=422, reason=reason)


async def _stored(env: Env, item_id: int, key: str | None, what: str) -> bytes:
    """An object of the item from the bucket; 404 naming `what` when the item has none or the bucket lost it."""
    if not key:
        raise NotFoundException(f"review item {item_id} has no {what}")
    try:
        return await env.bucket.get(key)
    except ObjectNotFound:
        raise NotFoundException(f"the {what} of review item {item_id} is missing from the bucket") from None


@get("/orders/{item_id:int}/pdf", include_in_schema=False)
async def order_pdf(env: NamedDependency[Env], session: NamedDependency[Session],
                    item_id: RowId) -> Response[bytes]:
    """The order's PDF, from the bucket through the app (signed-in reviewers only), shown inline."""
    item = await _item(env, item_id)
    data = await _stored(env, item_id, item["pdf_object"], "PDF")
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition(item["pdf_filename"] or f"po-{item_id}.pdf"),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store", "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
    })


@get("/orders/{item_id:int}/email", include_in_schema=False)
async def order_email(env: NamedDependency[Env], session: NamedDependency[Session],
                      item_id: RowId) -> Response[bytes]:
    """The order's original email as received (the raw message from the bucket), a .eml download for reviewers."""
    item = await _item(env, item_id)
    data = await _stored(env, item_id, item["raw_key"], "stored email")
    # An attachment, never rendered: the message is the sender's, hostile HTML included.
    return Response(data, media_type="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="email-{item["email_id"]}.eml"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })
