"""The order detail form: parsed PO -> editable rows, submitted rows -> ReviewedOrder, price checks (pure but for
the reads named so). The order's currency is worker.intake.lines' order_currency, shared with the intake's flags."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from worker.config import Review
from worker.intake.lines import BY_XREF
from worker.netsuite_shape import ReviewedOrder, foreign_price_note
from worker.po.address import read_address
from worker.po.parser import price_units_in
from worker.pricing import (
    ExpectedPrice,
    ProgramTerms,
    cents,
    check_price,
    expected_price,
    program_for,
    sold_per_other_unit,
)

LINE_FIELDS = ("no", "code", "item", "desc", "qty", "uom", "price")
MAX_ROWS = 500
ADD_ROWS = 5  # blank rows the form's Add rows button adds (the page has no script to add them one by one)
MAX_PRICE = Decimal(1_000_000)  # ReviewedLine.unit_price's bound
CHARGE_FIELDS = ("desc", "amount", "item")
MAX_CHARGES = 50  # ReviewedOrder's bound on the PO's charges (freight, surcharges, discounts)
MAX_SHIP_TO = 1500  # characters of the ship-to box: 8 address lines of NetSuite's 150 at most, and line breaks


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _line_no(text: str) -> int:
    # Up to 6 digits, as the parser reads them; anything else (blank, "²", thousands of digits) is 0: numbered anew.
    return int(text) if text.isdecimal() and len(text) <= 6 else 0


def unique_line_numbers(numbers: list[str], reserved: list[str]) -> list[int]:
    """Line numbers as given, except blank ones and repeats of an earlier row's, which take the next number
    above all of `numbers` and `reserved` (pure)."""
    next_no = max((_line_no(n) for n in (*numbers, *reserved)), default=0) + 1
    taken: set[int] = set()
    out = []
    for line_no in map(_line_no, numbers):
        if line_no < 1 or line_no in taken:
            line_no, next_no = next_no, next_no + 1
        taken.add(line_no)
        out.append(line_no)
    return out


def remembered_items(conn: sqlite3.Connection, customer_id: str | None, codes: list[str]) -> dict[str, str]:
    """The item each of the customer's codes is remembered as now (customer_item_xref, matched as the intake
    matches it: any case, the newest mapping first); codes with none are left out."""
    found = {}
    for code in dict.fromkeys(c for c in codes if c):
        if customer_id and (row := conn.execute(BY_XREF, (customer_id, code, code)).fetchone()):
            found[code] = str(row[0])
    return found


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() and not isinstance(value, bool) else None


def quantity_text(value: Any) -> str:
    """A parsed quantity as the PO prints it (pure): 12.0 -> '12', 2.50 -> '2.5'; anything else as it came."""
    number = _decimal(value)
    return _text(value) if number is None else f"{number.normalize():f}"


def price_field(value: Any) -> str:
    """A parsed unit price as the PO prints it (pure): at least two decimals (90.5 -> '90.50'), and every decimal
    it has (0.0345), never rounded: the field is what is approved. Anything else as it came."""
    number = _decimal(value)
    if number is None:
        return _text(value)
    whole, _, fraction = f"{number.normalize():f}".partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def rows_from_parsed(parsed: Mapping[str, Any], item_codes: Mapping[str, str],
                     remembered: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The parser's lines as form rows (strings), items shown by our item code when we know it (the form resolves
    a code before an id, so the code posted back is the parser's item even when it is another item's id).

    A line whose code is `remembered` (remembered_items) as another item than the parse's (a reviewer corrected it
    after this PO was read) shows that item, and says so (`remembered`). Each row carries the item it is shown with
    (`shown_item`): approving remembers a code only for a line whose item the reviewer changed from it."""
    remembered = remembered or {}
    rows = []
    for i, line in enumerate(parsed.get("lines") or [], start=1):
        if not isinstance(line, Mapping):
            continue
        item_id, code = _text(line.get("item_id")), _text(line.get("customer_item_code"))
        shown = remembered.get(code) or item_id
        rows.append({
            "no": _text(line.get("line_no") or i), "code": code,
            "item": item_codes.get(shown) or shown, "desc": _text(line.get("description")),
            "qty": quantity_text(line.get("quantity")), "uom": _text(line.get("uom")),
            "price": price_field(line.get("unit_price")), "parsed_item": item_id, "shown_item": shown, "drop": "",
        })
    # Older parses could repeat a number (1, blank, 2 read as 1, 2, 2): show the numbers the order will get.
    for row, line_no in zip(rows, unique_line_numbers([r["no"] for r in rows], []), strict=True):
        row["no"] = str(line_no)
    return rows


def address_lines(value: Any) -> list[str]:
    """A parsed address (a list of printed lines) as text lines; anything else (an older or damaged parse) none."""
    return [str(line) for line in value if isinstance(line, str | int)] if isinstance(value, list) else []


def ship_to_text(form: Any, parsed: Mapping[str, Any]) -> str:
    """The ship-to box as posted, a line per address line; a post without it (a page from before the box, a
    hand-made one) the PO's ship-to as parsed: as the charges, decided, never dropped unsaid (pure)."""
    if "ship_to" in form:
        return _text(form.get("ship_to"))
    return "\n".join(address_lines(parsed.get("ship_to")))


SHIP_TO_FIELDS = (("addressee", "name"), ("attention", "attention"), ("addr1", "street"), ("addr2", "street 2"),
                  ("addr3", "street 3"), ("city", "city"), ("state", "state"), ("zip", "zip"),
                  ("addrPhone", "phone"))


def ship_to_preview(text: str) -> dict[str, Any]:
    """What the ship-to box sends NetSuite, field by field ("city Clifton"), or why it cannot (`problem`), or
    nothing when it is empty (pure): the reviewer sees how the lines are read before approving."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or len(text) > MAX_SHIP_TO:  # too long: approving says so
        return {"fields": [], "problem": None}
    reading = read_address(lines)
    if reading.address is None:
        return {"fields": [], "problem": reading.problem}
    record = reading.address.subrecord()
    fields = [(label, str(record[key])) for key, label in SHIP_TO_FIELDS if record.get(key)]
    return {"fields": [*fields, ("country", record["country"]["id"])], "problem": None}


class BadRowCount(ValueError):
    """The form's row count `n` is not a whole number (a hand-made or damaged post, not a reviewer's typo)."""


def _count(form: Any, name: str, what: str, most: int) -> int:
    text = _text(form.get(name)).strip() or "0"
    if not (text.isascii() and text.isdecimal() and len(text) <= 9):
        shown = text if len(text) <= 20 else f"{text[:20]}… ({len(text):,} characters)"
        raise BadRowCount(f"{name} (the number of {what} on the form): must be a whole number of {what}, at most "
                          f"{most} (got {shown!r})")
    return int(text)


def row_count(form: Any) -> int:
    """The number of rows the page says it posted (`n`), blank as 0; BadRowCount naming the field otherwise (pure).

    ASCII digits only ("²" passes isdigit but not int()) and at most 9 of them (5,000 digits pass the check but
    exceed int()'s limit): a count above MAX_ROWS is then refused by reviewed_order with the limit.
    """
    return _count(form, "n", "rows", MAX_ROWS)


def rows_from_form(form: Any) -> list[dict[str, str]]:
    """The submitted rows (strings, as typed), including dropped and blank ones, so a re-render keeps them;
    at most MAX_ROWS. BadRowCount when `n` is not a number."""
    count = min(row_count(form), MAX_ROWS)
    rows = []
    for i in range(count):
        row = {name: str(form.get(f"l{i}_{name}") or "").strip() for name in LINE_FIELDS}
        row["parsed_item"] = str(form.get(f"l{i}_parsed") or "")
        # A page from before `l{i}_shown` was rendered with the parse's item.
        row["shown_item"] = str(form.get(f"l{i}_shown") if f"l{i}_shown" in form else row["parsed_item"])
        row["drop"] = "1" if form.get(f"l{i}_drop") else ""
        rows.append(row)
    return rows


def shown_for(form: Any, item_customer: str | None) -> str:
    """The customer the posted rows' shown items were computed for (`shown_for`); a page from before that field
    was computed for the review item's customer (pure)."""
    return _text(form.get("shown_for") if "shown_for" in form else item_customer).strip()


def is_as_shown(row: Mapping[str, str], resolved: Mapping[str, str | None]) -> bool:
    """Whether the row's item is still the one the page showed it with (`shown_item`), as approving judges it:
    the item typed resolves to it (`resolved`, upper case as _resolve gives it), or, not resolving (an item not
    in the mirror is shown by its id), is its text (pure)."""
    item, shown = row.get("item") or "", row.get("shown_item") or ""
    found = resolved.get(item.upper()) if item else None
    return found == shown if found else item == shown


def rows_for_customer(rows: list[dict[str, str]], resolved: Mapping[str, str | None],
                      remembered: Mapping[str, str], item_codes: Mapping[str, str]) -> list[dict[str, str]]:
    """The rows shown for another customer than the one their shown items were computed for (pure): each line is
    shown with the item its code is `remembered` as for that customer (remembered_items), else the parse's, as
    rows_from_parsed shows it. A row the reviewer left as shown (is_as_shown) takes that item; a row whose item
    the reviewer changed keeps it, so approving still remembers the reviewer's choice over the mapping."""
    out = []
    for row in rows:
        shown = remembered.get(row.get("code") or "") or row.get("parsed_item") or ""
        new = dict(row, shown_item=shown)
        if is_as_shown(row, resolved):
            new["item"] = item_codes.get(shown) or shown
        out.append(new)
    return out


def blank_row() -> dict[str, str]:
    """A row to fill by hand (no line number: it is numbered after the others on approval)."""
    return dict.fromkeys((*LINE_FIELDS, "parsed_item", "shown_item", "drop"), "")


def more_rows(rows: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    """The rows followed by `count` blank ones, never more than MAX_ROWS in all (pure)."""
    return rows + [blank_row() for _ in range(min(count, MAX_ROWS - len(rows)))]


def with_blank_rows(rows: list[dict[str, str]], wanted: int) -> list[dict[str, str]]:
    """The rows with blank ones added until `wanted` are blank, within MAX_ROWS (pure): a form shown again
    always has a row to fill, or Add rows to press, never a row count that approving would refuse."""
    return more_rows(rows, wanted - sum(not any(row.values()) for row in rows))


def _amount_text(value: Any) -> str:
    # A parsed amount as the form shows it (2 decimals); anything else as it came, for the reviewer to correct.
    try:
        return f"{Decimal(str(value)):.2f}"
    except ArithmeticError:
        return _text(value)


def _parsed_amount(value: Any) -> Decimal | None:
    """An amount from the parse (a JSON number or text) to compare; None when it is no number (NaN included)."""
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return None if amount.is_nan() else amount


def charges_from_parsed(parsed: Mapping[str, Any], items: Review | None = None) -> list[dict[str, str]]:
    """The PO's charges as form rows (strings): its freight as "Freight", then its other charges (surcharges,
    discounts negative) as parsed. The item each is booked as is `[review]`'s freight, discount or charge item
    when configured (the reviewer may change it), else blank: the reviewer names one or leaves the charge off.
    Tax is not one: NetSuite computes the sales order's tax. Amounts of 0 are nothing to charge."""
    items = items or Review()
    found = [("Freight", parsed.get("freight"), items.freight_item)]
    for charge in parsed.get("other_charges") or []:
        if isinstance(charge, Mapping):
            amount = charge.get("amount")
            found.append((_text(charge.get("description")).strip() or "Charge", amount,
                          items.discount_item if (_parsed_amount(amount) or 0) < 0 else items.charge_item))
    return [{"desc": desc, "amount": _amount_text(amount), "item": item, "off": ""}
            for desc, amount, item in found if amount is not None and amount != "" and _parsed_amount(amount) != 0]


def is_blank_charge(row: Mapping[str, str]) -> bool:
    """A charge row added and left empty (no description, amount or item): nothing to carry or leave off."""
    return not any(row[k] for k in CHARGE_FIELDS)


def more_charges(charges: list[dict[str, str]]) -> list[dict[str, str]] | None:
    """The charge rows and a blank one to fill (a charge the parse missed, or any on a PO typed by hand), or None
    when the form holds MAX_CHARGES already (pure)."""
    if len(charges) >= MAX_CHARGES:
        return None
    return [*charges, dict.fromkeys((*CHARGE_FIELDS, "off"), "")]


def charge_count(form: Any) -> int:
    """The number of charge rows the page says it posted (`cn`); BadRowCount naming the field otherwise (pure)."""
    return _count(form, "cn", "charges", MAX_CHARGES)


def charges_from_form(form: Any, parsed: Mapping[str, Any]) -> list[dict[str, str]]:
    """The submitted charge rows as typed, at most MAX_CHARGES. A post without the section (`cn`; a page from
    before it, a hand-made post) gets the PO's charges as parsed: they are decided, never forgotten."""
    if "cn" not in form:
        return charges_from_parsed(parsed)
    rows = []
    for i in range(min(charge_count(form), MAX_CHARGES)):
        row = {name: _text(form.get(f"c{i}_{name}")).strip() for name in CHARGE_FIELDS}
        row["off"] = "1" if form.get(f"c{i}_off") else ""
        rows.append(row)
    return rows


def remembered_note(row: Mapping[str, str], item_codes: Mapping[str, str]) -> str:
    """What the line's code is remembered as, by item code ('CHS-MOZZ-LMPS'), when the page shows that item rather
    than the parse's (rows_from_parsed), else '' (pure)."""
    shown, parsed = row.get("shown_item") or "", row.get("parsed_item") or ""
    return item_codes.get(shown) or shown if row.get("code") and shown and shown != parsed else ""


def is_kept(row: Mapping[str, str]) -> bool:
    """A row that becomes an order line: not dropped, not left blank."""
    return not row["drop"] and any(row[k] for k in ("item", "qty", "price"))


def kept_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows that become order lines: not dropped, not left blank."""
    return [r for r in rows if is_kept(r)]


_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")  # 1,234.5: the only commas a number may carry
# What Decimal() reads beyond this ("6_1.00" as 61, "١٢" as 12) is refused, not guessed. Infinity and NaN go
# through so ReviewedOrder says they are not finite.
_PLAIN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)", re.IGNORECASE)


def _number(text: str) -> str:
    # "1,5" is not 15: a comma that is not a thousands separator stays, so validation names the field. A
    # typographic minus ("−49.24", as a PO prints a discount) is a minus.
    cleaned = text.replace("$", "").replace("\u2212", "-").strip()
    if _THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if not cleaned:
        return "missing"
    return cleaned if _PLAIN.fullmatch(cleaned) else "not a number"


def _unresolved(text: str, ambiguous: Mapping[str, str]) -> str:
    """Why an item typed is not resolved: a code several items share (their internal ids tell them apart)."""
    if shared := ambiguous.get(text.upper()):
        return f"item {text!r} matches more than one item ({shared}): type the internal id"
    return f"item {text!r} is not in the item list"


CHOOSE_CHARGE_ITEM = ("choose the NetSuite item it is booked as — a discount or other-charge item from the item "
                      "list — or tick leave off")


def _charges(charges: list[dict[str, str]], resolved: Mapping[str, str | None],
             ambiguous: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The charge rows as the order's carried charges and charges left off (each with its row number `no`),
    and one message per carried charge whose item is missing or unknown."""
    carried, left_off, errors = [], [], []
    for no, row in enumerate(charges, start=1):
        if is_blank_charge(row):
            continue
        charge = {"no": no, "description": row["desc"], "amount": _number(row["amount"])}
        if row["off"]:
            left_off.append(charge)
            continue
        item_id = resolved.get(row["item"].upper()) if row["item"] else None
        named = f"charge {no} ({row['desc'] or 'no description'}, {row['amount'] or 'no amount'})"
        if not row["item"]:
            errors.append(f"{named}: {CHOOSE_CHARGE_ITEM}")
        elif item_id is None:
            errors.append(f"{named}: {_unresolved(row['item'], ambiguous)}; {CHOOSE_CHARGE_ITEM}")
        carried.append(charge | {"item_id": item_id or "?"})
    return carried, left_off, errors


def reviewed_order(header: Mapping[str, Any], rows: list[dict[str, str]], resolved: Mapping[str, str | None],
                   charges: list[dict[str, str]] | None = None,
                   ambiguous: Mapping[str, str] | None = None,
                   ship_to: str = "") -> tuple[ReviewedOrder | None, list[str]]:
    """Validate the header, kept rows and charge rows into a ReviewedOrder, or return one message per problem.

    `resolved` maps each item typed (upper case) to its internal id, None when none or several match;
    `ambiguous` describes the matches of a code several items share; `ship_to` is the ship-to box's text
    (ship_to_text), a line per address line, blank for none.
    """
    ambiguous = ambiguous or {}
    errors: list[str] = []
    submitted = row_count(header)
    if submitted > MAX_ROWS:  # rows_from_form read only the first MAX_ROWS
        errors.append(f"the order has {submitted:,} rows; at most {MAX_ROWS} can be approved from this page: "
                      "enter it in NetSuite or split it")
    if "cn" in header and (posted := charge_count(header)) > MAX_CHARGES:  # charges_from_form read MAX_CHARGES
        errors.append(f"the order has {posted:,} charges; at most {MAX_CHARGES} can be approved from this page: "
                      "enter it in NetSuite")
    lines = []
    kept = kept_rows(rows)
    # A new row, or one repeating a kept row's number (a stale parse), is numbered rather than refused.
    numbers = unique_line_numbers([r["no"] for r in kept], [r["no"] for r in rows])
    for row, line_no in zip(kept, numbers, strict=True):
        item_id = resolved.get(row["item"].upper()) if row["item"] else None
        if not row["item"]:
            errors.append(f"line {line_no}: choose an item")
        elif item_id is None:
            errors.append(f"line {line_no}: {_unresolved(row['item'], ambiguous)}")
        lines.append({"line_no": line_no, "item_id": item_id or "?", "customer_item_code": row["code"] or None,
                      "description": row["desc"] or None, "quantity": _number(row["qty"]), "uom": row["uom"] or None,
                      "unit_price": _number(row["price"])})
    carried, left_off, charge_errors = _charges(charges or [], resolved, ambiguous)
    errors += charge_errors
    if len(ship_to) > MAX_SHIP_TO:  # refused, not cut: a cut address is another address
        errors.append(f"ship to: {len(ship_to):,} characters; an address holds at most {MAX_SHIP_TO:,}")
        ship_to = ""
    data = {"customer_id": _text(header.get("customer_id")).strip(), "po_number": _text(header.get("po_number")).strip() or None,
            "tran_date": _text(header.get("tran_date")).strip() or "missing",
            "ship_date": _text(header.get("ship_date")).strip() or None, "memo": _text(header.get("memo")).strip() or None,
            "lines": lines, "charges": [_without_no(c) for c in carried],
            "charges_left_off": [_without_no(c) for c in left_off],
            "ship_to": [line for line in ship_to.splitlines() if line.strip()]}
    try:
        order = ReviewedOrder.model_validate(data)
    except ValidationError as exc:
        numbered = {"lines": [ln["line_no"] for ln in lines], "charges": [c["no"] for c in carried],
                    "charges_left_off": [c["no"] for c in left_off]}
        errors += [_message(err, numbered) for err in exc.errors()]
        return None, errors
    return (None, errors) if errors else (order, [])


# The form field a message's leading label is about: a line's (l{i}_…), a charge's (c{i}_…), or the header's.
_LINE_FIELD = {"choose an item": "item", "item": "item", "item_id": "item", "quantity": "qty", "price": "price",
               "uom": "uom", "description": "desc"}
_CHARGE_FIELD = {"amount": "amount", "description": "desc", "item_id": "item"}
_HEADER_FIELD = {"customer": "customer_id", "order date": "tran_date", "ship date": "ship_date", "ship to": "ship_to",
                 "PO number": "po_number", "memo": "memo", "a reason": "reason", "the reason": "reason"}
_LEAD = re.compile(r"(line|charge) (\d+)(?: \([^)]*\))?: (?:(choose an item|item|[\w ]+?): )?")


def error_field(message: str, rows: list[dict[str, str]]) -> str | None:
    """The name of the form field a refusal message is about, or None for the order as a whole (pure).

    Parses this module's own wording: "line 2: price: …" (the line's number as reviewed_order numbered the kept
    rows), "charge 1 (Freight, 35.00): choose …", "order date: …", and decisions' "a reason is required …".
    """
    if found := _LEAD.match(message):
        what, number, label = found.group(1), found.group(2), found.group(3)
        if what == "charge":
            index = int(number) - 1
            return f"c{index}_{_CHARGE_FIELD.get(label or '', 'item')}"
        kept = [i for i, row in enumerate(rows) if is_kept(row)]
        numbers = unique_line_numbers([rows[i]["no"] for i in kept], [row["no"] for row in rows])
        index = dict(zip(numbers, kept, strict=True)).get(int(number))
        field = _LINE_FIELD.get(label or "") or ("item" if message[found.end():].startswith(("choose", "item")) else None)
        return None if index is None or field is None else f"l{index}_{field}"
    # "customer: …" from validation, "customer 'X' is not in the mirror" from approve_order: both the customer's.
    return next((name for label, name in _HEADER_FIELD.items() if message.startswith((f"{label}: ", f"{label} "))),
                None)


def form_errors(errors: list[str], rows: list[dict[str, str]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The summary's entries (id, text, the field it links to) and each invalid field's aria-describedby (pure)."""
    entries: list[dict[str, Any]] = []
    invalid: dict[str, str] = {}  # in the summary's order: the first is the field focused
    for number, text in enumerate(errors, start=1):
        field = error_field(text, rows)
        entries.append({"id": f"error-{number}", "text": text, "field": field})
        if field:
            invalid[field] = f"{invalid[field]} error-{number}" if field in invalid else f"error-{number}"
    return entries, invalid


def shown_items(order: ReviewedOrder, rows: list[dict[str, str]]) -> dict[int, str]:
    """Each order line's item as the page showed it ('' for a row added by hand), by line number (pure): the
    lines are the kept rows, in order (reviewed_order)."""
    return {line.line_no: row.get("shown_item") or "" for line, row in zip(order.lines, kept_rows(rows), strict=True)}


def _without_no(charge: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in charge.items() if k != "no"}


_LABELS = {"customer_id": "customer", "tran_date": "order date", "ship_date": "ship date", "unit_price": "price",
           "po_number": "PO number", "ship_to": "ship to"}
_NUMBERED = {"lines": "line", "charges": "charge", "charges_left_off": "charge"}


def _message(err: Mapping[str, Any], numbered: Mapping[str, list[int]]) -> str:
    """A validation error as the form names it: "line 2: price: …", "charge 1: amount: …" (by the numbers the
    page shows: a line's number, a charge's row), "memo: …" for the order as a whole."""
    loc = list(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not loc:  # the order as a whole (ReviewedOrder's model validator), its message names the field
        return msg
    numbers = numbered.get(str(loc[0]), [])
    if len(loc) >= 3 and isinstance(loc[1], int) and loc[1] < len(numbers):
        field = _LABELS.get(str(loc[2]), str(loc[2]))
        return f"{_NUMBERED[str(loc[0])]} {numbers[loc[1]]}: {field}: {msg}"
    if loc == ["lines"]:
        return "the order needs at least one line" if "at least 1" in msg else f"lines: {msg}"
    return f"{_LABELS.get(str(loc[0]), str(loc[0]))}: {msg}"


def price_checks(conn: sqlite3.Connection, customer_id: str | None, rows: list[dict[str, str]],
                 resolved: Mapping[str, str | None], on: date, standard: ProgramTerms,
                 tolerance_pct: float, currency: str | None = None,
                 not_compared: str | None = None, findings: Any = None) -> dict[int, dict[str, Any]]:
    """For each kept row with a known item, by its position in `rows`: expected price, basis and deviation.

    By position, not line number: the rows a reviewer adds all have number "" until approved, so keyed by
    number every new row showed the last new row's check. An order in another currency than US dollars
    (`currency`, the one it is booked in) has no comparable price: the list's dollars are not shown beside it;
    nor has one whose currency is not surely its customer's (`not_compared`, OrderCurrency's: why). Nor has a
    row without a unit whose PO line printed its price per a weight (the parse's `findings`, price_units_in) for
    an item sold per another unit (pricing.sold_per_other_unit): the intake flags it price_unit_differs, never a
    deviation.
    """
    foreign = foreign_price_note(currency) or not_compared
    program = program_for(conn, customer_id, standard)
    printed_per = price_units_in(findings)
    checks: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        item_id = resolved.get(row["item"].upper()) if row["item"] and is_kept(row) else None
        if not item_id:
            continue
        expected = expected_price(conn, item_id, customer_id, on.isoformat(), program, row["uom"] or None)
        per = None if row["uom"] else printed_per.get(_line_no(row["no"]))  # a unit typed: compared as usual
        if per and (sold := sold_per_other_unit(conn, item_id, expected, per)):
            checks[i] = {"expected": None, "basis": f"not compared (price per {per}; item sold per {sold})",
                         "deviation_pct": None, "ok": False}
            continue
        if foreign and expected is not None and expected.unit_price is not None:
            checks[i] = {"expected": None, "basis": f"no comparable price: {foreign}", "deviation_pct": None,
                         "ok": False}
            continue
        result = check_price(quoted_price(row["price"]), expected, tolerance_pct)
        checks[i] = {
            "expected": expected.unit_price if expected else None,
            "basis": _basis(expected, result.reason),
            "deviation_pct": result.deviation_pct, "ok": result.within_tolerance,
        }
    return checks


def _basis(expected: ExpectedPrice | None, reason: str | None) -> str:
    if expected is None:
        return "no price on file"
    if expected.unit_price is None:
        return expected.note or "no comparable price"
    return "; ".join(filter(None, (expected.basis.replace("_", " "), expected.note, reason)))


def quoted_price(text: str) -> Decimal | None:
    """A typed price worth checking: a finite number within the order's limit, else None (pure).

    Anything else ("Infinity", "1e30", "12.5.1", "1,5") is refused by ReviewedOrder naming the line and
    field; the price check just leaves it out. Read as the form reads it (_number).
    """
    try:
        price = Decimal(_number(text))
    except ArithmeticError:
        return None
    return price if price.is_finite() and abs(price) <= MAX_PRICE else None


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(_number(text))
    except ArithmeticError:
        return None
    return value if value.is_finite() and abs(value) <= MAX_PRICE else None  # beyond: refused on approval


def form_total(rows: list[dict[str, str]], charges: list[dict[str, str]]) -> Decimal | None:
    """What the sales order would total before tax as the form stands: its kept lines (quantity x price, to the
    cent) and the charges carried; None while a line or charge is not yet a number (pure)."""
    total = Decimal(0)
    for row in kept_rows(rows):
        qty, price = _amount(row["qty"]), _amount(row["price"])
        if qty is None or price is None:
            return None
        total += cents(qty * price)  # as ReviewedLine.amount books it
    for charge in charges:
        if not charge["off"] and not is_blank_charge(charge):
            if (amount := _amount(charge["amount"])) is None:
                return None
            total += amount
    return total


def po_total_less_tax(parsed: Mapping[str, Any]) -> Decimal | None:
    """The PO's printed total without its tax (NetSuite computes the sales order's own), None when unread."""
    try:
        total = Decimal(str(parsed["total"])) if parsed.get("total") not in (None, "") else None
        tax = Decimal(str(parsed.get("tax") or 0))
    except ArithmeticError:
        return None
    return total - tax if total is not None and total.is_finite() and tax.is_finite() else None
