"""Match each PO line to one of our items and check it: price against the program, quantity against history.

Matching order (SPEC 5.6): the customer's own code through `customer_item_xref`, then our item code
(printed as vendor code or, often, in the customer-code column; our internal item id only in the vendor
column, and only after every exact code), then description similarity against `spec_items`. Printed codes that
name different items are flagged, naming each: a manufacturer's number or another numbering can equal one of
our ids (a manufacturer's column is never read here: worker/po/columns.py). A code match whose printed
description is clearly unlike the item's is flagged: a code can be mistyped or mapped to the wrong item. So is a
description match that differs from the item in a size, ratio, grade or storage state (8OZ for 4OZ, 73/27 for
80/20, MEDIUM for LARGE, FRESH for IQF): similarity alone ranks those near 0.9. Functions take a sqlite3 connection (writer thread, inside the intake
transaction); similarity, the distinguishing tokens and the quantity-outlier rule are pure.

Also the order's currency (order_currency): what an order is booked in from the PO's and its customer's, and
whether its prices may be judged against the list's US dollars. The intake's price flags and the review order
page share it, so neither judges prices the other would not.
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher
from functools import cached_property
from typing import Any

from worker.cdc.models import ORDER_CANCELLED
from worker.currency import is_base_currency, may_be_same_currency, same_currency
from worker.flows.reads import label
from worker.netsuite_shape import foreign_price_note
from worker.po.model import POLine, PurchaseOrder
from worker.po.parser import price_units
from worker.po.values import dollar_sign_only, written_with_dollar_sign
from worker.pricing import (
    Pack,
    ProgramTerms,
    check_price,
    currency_name,
    expected_price,
    item_pack,
    price_text,
    sold_per_other_unit,
    unit_code,
)

# Codes compare ignoring case, so a code may have rows in several spellings (an import's 'df-1', a reviewer's
# 'DF-1'): the newest mapping wins, then the spelling printed, never the table's order.
BY_XREF = """
SELECT item_id FROM customer_item_xref
WHERE customer_id = ?1 AND (customer_item_code = ?2 OR upper(customer_item_code) = upper(?3))
ORDER BY updated_at IS NULL, updated_at DESC, customer_item_code = ?2 DESC, customer_item_code
"""
BY_CODE = "SELECT item_id FROM spec_items WHERE upper(item_code) = upper(?)"
BY_ITEM_ID = "SELECT item_id FROM spec_items WHERE item_id = ?"
ITEM_DESCRIPTION = "SELECT description FROM spec_items WHERE item_id = ?"
ALL_ITEMS = "SELECT item_id, item_code, description FROM spec_items"
# What the customer ordered of the item, not counting lines NetSuite closed (no longer ordered) nor cancelled
# orders (no order: their lines stay as keyed, often the very mistake that got them cancelled).
HISTORY = f"""
SELECT tl.quantity, tl.units FROM transaction_lines tl JOIN transactions t ON t.ns_id = tl.transaction_id
WHERE t.customer_id = ? AND tl.item_id = ? AND t.deleted_at IS NULL AND tl.quantity > 0 AND tl.is_closed = 0
  AND NOT {ORDER_CANCELLED.format(status="t.status")}
ORDER BY t.tran_date DESC LIMIT 50
"""
# The customer's currency in the mirror (its NetSuite record's `currency`, as JSON text), when it is live.
CUSTOMER_CURRENCY = """
SELECT CASE WHEN json_valid(raw_json) THEN raw_json -> '$.currency' END FROM customers
WHERE ns_id = ? AND deleted_at IS NULL
"""
ACCEPT = 0.8  # description similarity at or above this is a match
SUGGEST = 0.6  # between SUGGEST and ACCEPT the item is proposed but flagged for the reviewer
# Below this a code match's printed description is "clearly unlike" ours. Unrelated catalogue items score
# 0.08-0.33 (95 % under 0.2); terse but right descriptions ("eggs", "BACON") 0.22-0.26.
UNLIKE = 0.2
OUTLIER_RATIO = 3.0
MIN_HISTORY = 3
_WORD = re.compile(r"[A-Z0-9]+(?:[./][A-Z0-9]+)*")
# What tells two otherwise alike items apart. A measure is a number and its unit ('8OZ', '10 #', '15DZ',
# '2PLY'), an '80/20' ratio (also a pack/size's '4/5'), a '15X17' dimension, a '#10' can; words come from
# small explicit groups. A group conflicts only when both descriptions name it and each has a value the
# other lacks: a terse line ('CHICKEN BREAST 4OZ') is no conflict with a fuller item description.
_MEASURE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(OZ|LBS?|#|DZ|DOZ|CT|CNT|KG|GR?|GAL|QT|PT|ML|LTR?|L|IN|PLY)(?![A-Z0-9])")
_RATIO = re.compile(r"(?<![\w.])\d+(?:\.\d+)?/\d+(?:\.\d+)?(?![\w.])")
_DIMENSION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?X\d+(?:\.\d+)?(?![\w.])")
_CAN = re.compile(r"#\s*(\d+)(?![\w.])")
_GRADE = re.compile(r"\bGRADE\s+(AA|A|B)\b")
_XL = re.compile(r"\b(?:EXTRA|X)[\s-]?LARGE\b|\bXLG?\b")
# A code printed in the description cell of a line without a code of its own: the description's first word
# ("CHK-BRST-6OZ Chicken breast 6oz"), if it holds a digit and is no size or ratio, or a word marked as an item
# number ("Chicken breast 6oz (Item# 10234)", "SKU: 10234"), not a maker's ("Mfr Item# 10234", "Vendor Part No.").
# Only a code the xref or spec_items knows is used.
_LEADING_CODE = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9./-]{2,}[A-Za-z0-9])(?=[\s,;:)]|$)")
_MARKED_CODE = re.compile(r"(?:\b(?P<maker>mfr|mfg|manufacturer|vendor|supplier|upc)\.?\s*)?"
                          r"\b(?:(?:item|part|prod(?:uct)?|art(?:icle)?)\s*"
                          r"(?:#|no\b\.?|nr\b\.?|num(?:ber)?\b\.?|code\b)|sku\b)"
                          r"\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9./-]*[A-Za-z0-9])", re.IGNORECASE)
UNIT_ALIASES = {"LBS": "LB", "#": "LB", "DOZ": "DZ", "CNT": "CT", "GR": "G", "LT": "L", "LTR": "L"}
WORD_GROUPS = {
    "size": {"SMALL": "SMALL", "SM": "SMALL", "MEDIUM": "MEDIUM", "MED": "MEDIUM", "LARGE": "LARGE",
             "LG": "LARGE", "LRG": "LARGE", "XL": "XL", "JUMBO": "JUMBO", "PEEWEE": "PEEWEE"},
    "colour": {c: c for c in ("WHITE", "BROWN", "YELLOW", "RED", "GREEN", "BLACK", "CLEAR")},
    "quality": {g: g for g in ("PRIME", "CHOICE", "SELECT")},
    # Fresh and frozen are different products at different prices; IQF is frozen, chilled is fresh. A line
    # naming both ('FRESH FROZEN') conflicts with neither.
    "storage": {**dict.fromkeys(("FRESH", "FRSH", "CHILLED", "REFRIGERATED", "REFRIG"), "FRESH"),
                **dict.fromkeys(("FROZEN", "FROZ", "FRZ", "FRZN", "FZN", "IQF"), "FROZEN")},
}


@dataclass(frozen=True)
class LineMatch:
    """How one line was matched."""

    item_id: str | None
    method: str  # xref | item_code | description | none
    score: float
    # What the line's printed codes name, the chosen first: (kind, code, item), kind as in LineMatcher._evidence.
    evidence: tuple[tuple[str, str, str], ...] = ()

    @property
    def disputed(self) -> tuple[tuple[str, str, str], ...]:
        """The printed codes that name another item than the one matched."""
        return tuple(e for e in self.evidence if e[2] != self.item_id)


def words(text: str | None) -> list[str]:
    """Upper-case tokens of a description ('4/5#' and '80/20' stay whole)."""
    return _WORD.findall((text or "").upper())


def similarity(a: str | None, b: str | None) -> float:
    """Description similarity in [0, 1]: token overlap blended with character-sequence similarity."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    overlap = 2 * len(set(wa) & set(wb)) / (len(set(wa)) + len(set(wb)))
    sequence = SequenceMatcher(None, " ".join(wa), " ".join(wb), autojunk=False).ratio()
    return round(0.5 * overlap + 0.5 * sequence, 3)


class ItemIndex:
    """spec_items by description token, loaded once per email and only if a line needs it."""

    def __init__(self, rows: Sequence[tuple[str, str, str]]):
        self.descriptions = {item_id: desc or "" for item_id, _code, desc in rows}
        self.by_word: dict[str, set[str]] = {}
        for item_id, desc in self.descriptions.items():
            for word in set(words(desc)):
                self.by_word.setdefault(word, set()).add(item_id)

    def best(self, description: str | None, limit: int = 25) -> tuple[str | None, float]:
        """The most similar item among those sharing the most words with the description."""
        shared: dict[str, int] = {}
        for word in set(words(description)):
            for item_id in self.by_word.get(word, ()):
                shared[item_id] = shared.get(item_id, 0) + 1
        candidates = sorted(shared, key=lambda i: -shared[i])[:limit]
        scored = [(similarity(description, self.descriptions[i]), i) for i in candidates]
        score, item_id = max(scored, default=(0.0, None))
        return item_id, score


def distinguishing(text: str | None) -> dict[str, set[str]]:
    """A description's sizes, ratios and grade words by group: '8OZ IQF 10#' -> {'OZ': {'8OZ'}, 'LB': {'10LB'}} (pure)."""
    upper = _XL.sub(" XL ", (text or "").upper())
    found: dict[str, set[str]] = {}
    for number, unit in _MEASURE.findall(upper):
        unit = UNIT_ALIASES.get(unit, unit)
        found.setdefault(unit, set()).add(f"{float(number):g}{unit}")
    for group, pattern in (("ratio", _RATIO), ("dimension", _DIMENSION)):
        if values := {m.replace(" ", "") for m in pattern.findall(upper)}:
            found[group] = values
    if cans := set(_CAN.findall(upper)):
        found["can"] = {f"#{n}" for n in cans}
    if grades := set(_GRADE.findall(upper)):
        found["grade"] = {f"GRADE {g}" for g in grades}
    tokens = set(words(upper))
    for group, names in WORD_GROUPS.items():
        if values := {names[t] for t in tokens if t in names}:
            found[group] = values
    return found


def conflict(printed: str | None, ours: str | None) -> str | None:
    """How a printed description names another size, ratio, grade or storage state than the item's ('8OZ where
    the item has 4OZ', 'FRESH where the item has FROZEN'), or None."""
    a, b = distinguishing(printed), distinguishing(ours)
    theirs: list[str] = []
    mine: list[str] = []
    for group in sorted(a.keys() & b.keys()):
        if a[group] - b[group] and b[group] - a[group]:
            theirs += sorted(a[group] - b[group])
            mine += sorted(b[group] - a[group])
    return f"{' '.join(theirs)} where the item has {' '.join(mine)}" if theirs else None


def unlike(printed: str | None, ours: str | None) -> bool:
    """Whether a line's printed description clearly names another product than the matched item's (both needed)."""
    return bool(words(printed) and words(ours)) and similarity(printed, ours) < UNLIKE


def codes_in_description(text: str | None) -> list[str]:
    """Words of a description that may be an item code printed in it: its first word if code-like, and any word
    marked as an item number (pure). A match still needs the code to be known."""
    found = [m[2] for m in _MARKED_CODE.finditer(text or "") if not m["maker"]]
    if (m := _LEADING_CODE.match(text or "")) and re.search(r"\d", word := m[1]) and not (
            _MEASURE.fullmatch(word.upper()) or _RATIO.fullmatch(word) or _DIMENSION.fullmatch(word.upper())):
        found.insert(0, word)
    return list(dict.fromkeys(found))


def in_unit(history: Sequence[tuple[float, str | None]], line_unit: str | None, pack: Pack) -> list[float]:
    """Past quantities in the line's unit, through the item's pack count; those that do not convert left out (pure).

    As with prices, a line or past order without a unit is in the item's own unit (a past order's in the
    line's when that is unknown too); with no unit for the line at all there is nothing to tell them apart by.
    """
    unit = unit_code(line_unit) or pack.unit
    if not unit:
        return [float(qty) for qty, _ in history]
    converted = []
    for qty, units in history:
        factor = pack.factor(unit, unit_code(units) or pack.unit or unit)  # line units per past unit
        if factor is not None:
            converted.append(float(Decimal(str(qty)) * factor))
    return converted


def quantity_outlier(quantity: Decimal | float, history: Sequence[float], unit: str = "") -> str | None:
    """Why a quantity is far outside what the customer usually orders of this item, or None (history in its unit)."""
    if len(history) < MIN_HISTORY or quantity <= 0:
        return None
    qty, median, per = float(quantity), statistics.median(history), f" {unit}" if unit else ""
    if qty > OUTLIER_RATIO * median and qty > max(history):
        return (f"quantity {qty:g}{per} is {qty / median:.1f}x the usual {median:g}{per} "
                f"(max {max(history):g} in {len(history)} orders)")
    if qty < median / OUTLIER_RATIO and qty < min(history):
        return (f"quantity {qty:g}{per} is far below the usual {median:g}{per} "
                f"(min {min(history):g} in {len(history)} orders)")
    return None


def po_currency(parsed: Mapping[str, Any]) -> str | None:
    """The currency the PO names (the parser's `currency`), None when it names none."""
    currency = parsed.get("currency")
    return " ".join(("" if currency is None else str(currency)).split()) or None


def currency_text(value: str | None) -> str | None:
    """A mirrored record's currency (the JSON of {"id", "refName"} or of a plain name) as text."""
    try:
        return label(json.loads(value)) if value else None
    except ValueError:
        return None


def customer_currency(conn: sqlite3.Connection, customer_id: str | None) -> str | None:
    """The live customer's currency in the mirror, None when unknown."""
    row = conn.execute(CUSTOMER_CURRENCY, (customer_id,)).fetchone() if customer_id else None
    return currency_text(row[0]) if row else None


@dataclass(frozen=True)
class OrderCurrency:
    """The currency of an order under review: what NetSuite books it in, how amounts are labelled, why a person
    should look (the PO and the customer disagree), the currencies the form offers, and why its prices are not
    compared with the list's."""

    booked: str | None  # what approving sends (the reviewer's choice, else the PO's or the customer's); None: none
    # The name of the currency the PO's amounts are in, beside them and the price columns; None for US dollars,
    # shown bare as everywhere else. The PO's own when it names one, whatever is booked: choosing another converts
    # nothing. A bare "$", or no currency, means whatever is booked.
    shown: str | None
    warning: str | None
    choices: tuple[tuple[str, str], ...] = ()  # the form's currency options: (value, label), booked among them
    not_compared: str | None = None  # why no line's price is judged against the list's (US dollar) prices
    sent: str | None = None  # what approving sends: None for the customer's own (NetSuite books it), unless the PO's
    # Booked in another currency than the one the PO names: that prices are not converted (None when it is not so).
    # Its figures and the sales order's are then never compared.
    unconverted: str | None = None

    @property
    def booked_name(self) -> str:
        """The booked currency's name as pages print it ("USD" for US dollars and for none)."""
        return currency_name(self.booked)


NO_CURRENCY = ""  # the form's option for an order booked in whatever the customer's currency is in NetSuite


def currency_choices(po: str | None, customer: str | None, *, sign_only: bool = False) -> tuple[tuple[str, str], ...]:
    """The currencies an order may be booked in, as the page knows them: the PO's, the customer's in the mirror,
    US dollars; or, when neither is known, the customer's unnamed (NO_CURRENCY) (pure)."""
    read = 'only "$" on the PO' if sign_only else "read from the PO"
    found: list[tuple[str, str]] = [] if po or customer else [(NO_CURRENCY, "the customer's in NetSuite")]
    for value, why in ((po, read), (customer, "this customer's in NetSuite"), ("USD", "")):
        if not value or any(v and same_currency(value, v) for v, _ in found):
            continue  # one currency once however spelled ("CAD", "Canadian Dollar"); a name and an id both stay
        found.append((value, f"{currency_name(value)} ({why})" if why else currency_name(value)))
    return tuple(found)


def order_currency(po: str | None, customer: str | None, *, sign_only: bool = False,
                   chosen: str | None = None) -> OrderCurrency:
    """The order's currency from the PO's and the customer's in the mirror (either may be unknown) and the one
    the reviewer chose on the form (`chosen`, taken when among the choices) (pure).

    `sign_only`: the PO's US dollars are a bare "$" (dollar_sign_only), which Canadian, Australian … dollars are
    written with too: a customer whose currency is one of those is booked in it, and the page says so.
    A currency other than the customer's is flagged: NetSuite takes it only for a customer set up to buy in it
    and refuses the sales order otherwise, and a misread currency shows here. Its prices are then not compared
    with the list's: neither the PO's figures nor the customer's program are surely in that currency.
    Booked in another currency than the one the PO names, nothing is converted: the PO's figures keep their
    currency, the page says so (`unconverted`) and no price is compared.
    """
    default = customer if sign_only and written_with_dollar_sign(customer) else po or customer
    choices = currency_choices(po, customer, sign_only=sign_only)
    booked = chosen if chosen is not None and chosen in (v for v, _ in choices) else default
    booked = booked or None
    read = booked if sign_only or not po else po  # the currency of the PO's figures
    shown = None if is_base_currency(read) else currency_name(read)
    warning = not_compared = None
    # SuiteQL gives the customer's currency as its internal id ("3"): it may be the PO's "CAD", so no warning.
    if booked and customer and not may_be_same_currency(booked, customer):
        name = currency_name(booked)
        said = ('The PO shows only "$", read as US dollars' if sign_only and booked == po
                else f"The PO is in {name}" if booked == po else f"The order is booked in {name}")
        warning = (f"{said}, but this customer's currency in NetSuite is {currency_name(customer)}: NetSuite books "
                   f"the order in {name} only if the customer may buy in it, and refuses it otherwise."
                   + (" Check the currency read from the PO." if booked == po else ""))
        not_compared = (f"the order is booked in {name}; this customer's currency in NetSuite is "
                        f"{currency_name(customer)}")
    elif sign_only and booked == customer != po:
        warning = (f'The PO shows only "$", which {currency_name(customer)} is written with too: the order is booked '
                   f"in this customer's currency, {currency_name(customer)}. Choose US dollars below if the PO's "
                   "prices are in them.")
    elif not po and shown:
        warning = f"The PO names no currency: NetSuite books the order in this customer's currency, {shown}."
    unconverted = unconverted_note(po, booked, sign_only=sign_only)
    # Booked in the customer's currency, not the PO's: none is sent, NetSuite books the customer's by its own record.
    # So too the customer's currency spelled otherwise ("CAD" for its "Canadian Dollar"): the record is not named so.
    respelled = booked != customer and not is_base_currency(booked) and same_currency(booked, customer)
    sent = None if booked == customer != po or respelled else booked
    not_compared = foreign_price_note(booked) or not_compared
    if unconverted:  # EUR figures booked as USD: the PO's figures are not in what is booked, nor in the list's
        not_compared = f"the PO's prices are in {currency_name(po)}, not converted to {currency_name(booked)}"
    return OrderCurrency(booked, shown, warning, choices, not_compared, sent, unconverted)


def unconverted_note(po: str | None, booked: str | None, *, sign_only: bool = False) -> str | None:
    """What booking a PO that names its currency in another one means, None when it names none or that one, or
    may (an id), or only a "$" (whose dollars the booked currency says) (pure). Nothing converts its prices."""
    if not po or not booked or sign_only or may_be_same_currency(po, booked):
        return None
    po_name, name = currency_name(po), currency_name(booked)
    return (f"The PO's prices are in {po_name}, and the order is booked in {name}: prices are not converted. The "
            f"figures on this form are booked as they are, in {name} ({po_name} 100.00 becomes {name} 100.00), and "
            f"are not compared with the PO's total or the price list. Type the prices in {name}, or book the order "
            f"in {po_name}.")


def parsed_order_currency(parsed: Mapping[str, Any], customer: str | None,
                          chosen: str | None = None) -> OrderCurrency:
    """order_currency of a parsed PO (its `currency`, and its confidence in it: a bare "$" has its own) (pure)."""
    return order_currency(po_currency(parsed), customer, sign_only=dollar_sign_only(parsed), chosen=chosen)


# Why a disputed line keeps the item it does (LineMatcher._evidence's order).
_RANK = {"xref": "the customer's cross-reference first", "vendor": "the vendor column's code first",
         "code": "an exact item code before an internal id"}


class LineMatcher:
    """Matches and checks the lines of one customer's orders inside one transaction."""

    def __init__(self, conn: sqlite3.Connection, customer_id: str | None, program: ProgramTerms, tolerance_pct: float):
        self.conn, self.customer_id, self.program, self.tolerance = conn, customer_id, program, tolerance_pct
        self._index: ItemIndex | None = None

    @cached_property
    def customer_currency(self) -> str | None:
        """The customer's currency in the mirror, read once (None when unknown)."""
        return customer_currency(self.conn, self.customer_id)

    def _first(self, sql: str, *params: object) -> str | None:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def _evidence(self, line: POLine) -> list[tuple[str, str, str]]:
        """The items the line's printed codes name, strongest first: (kind, code, item), kind one of xref (the
        customer's code through customer_item_xref), vendor (our code in the vendor column), code (our code in the
        customer's column), id (our internal id in the vendor column)."""
        code, vendor = line.customer_item_code, line.vendor_item_code
        found = []
        # The xref comes first but is no reason to skip our code printed beside it: a stale or wrong mapping shows
        # as the two naming different items. The same code read as one of ours is no second opinion: a mapping
        # may deliberately send a customer's code that happens to be ours elsewhere.
        xref = self._first(BY_XREF, self.customer_id, code, code) if self.customer_id and code else None
        if code and xref:
            found.append(("xref", code, xref))
        # Exact item codes in every column come before any internal id, a plain number that other numbering
        # (a customer's SKU, a manufacturer's) can equal by chance; the customer's own code is never read as one.
        if vendor and (item := self._first(BY_CODE, vendor)):
            found.append(("vendor", vendor, item))
        if code and not xref and (item := self._first(BY_CODE, code)):
            found.append(("code", code, item))
        if vendor and not any(kind == "vendor" for kind, _, _ in found) and (item := self._first(BY_ITEM_ID, vendor)):
            found.append(("id", vendor, item))
        if not code and not vendor:  # no code column: a known code printed in the description comes before it
            for word in codes_in_description(line.description):
                if self.customer_id and (item := self._first(BY_XREF, self.customer_id, word, word)):
                    found.append(("xref", word, item))
                elif item := self._first(BY_CODE, word):
                    found.append(("code", word, item))
        return found

    def match(self, line: POLine) -> LineMatch:
        """customer_item_xref, then our item code (or, in the vendor column, our item id), then description.

        A line whose codes name different items keeps the first; check() flags the others (disputed)."""
        if found := self._evidence(line):
            kind, _, item = found[0]
            xref = kind == "xref"
            return LineMatch(item, "xref" if xref else "item_code", 1.0 if xref else 0.95, tuple(found))
        if not line.description:
            return LineMatch(None, "none", 0.0)
        if self._index is None:
            self._index = ItemIndex(self.conn.execute(ALL_ITEMS).fetchall())
        item, score = self._index.best(line.description)
        return LineMatch(item, "description", score) if item and score >= SUGGEST else LineMatch(None, "none", score)

    def check(self, line: POLine, match: LineMatch, on: str, currency: str | None = None, *,
              sign_only: bool = False, price_per: str | None = None) -> list[dict[str, object]]:
        """Flags for one matched line: unknown or uncertain item, price deviation, quantity outlier.

        `currency` is the PO's (None: it names none) and `sign_only` whether that is US dollars for a bare "$"
        only. Its price is judged only as the review order page judges it (order_currency): not while the order
        is booked in another currency than US dollars, nor in one not surely its customer's. `price_per` is the
        unit the price is printed per on a line that prints no unit for its quantity (parser.price_units).
        """
        n = line.line_no
        if match.item_id is None:
            return [{"code": "unknown_item", "severity": "warning", "line_no": n,
                     "message": f"line {n}: no item matches code {line.customer_item_code or '-'} "
                                f"or description {line.description or '-'!r}"}]
        flags: list[dict[str, object]] = []
        if match.disputed:
            flags.append(self._disputed_flag(line, match))
        if match.method == "description":
            ours = self._first(ITEM_DESCRIPTION, match.item_id)
            if (differs := conflict(line.description, ours)) or match.score < ACCEPT:
                item = f"item {match.item_id} {ours!r}" if differs else f"item {match.item_id}"
                why = f", but the line reads {differs}" if differs else ""
                flags.append({"code": "uncertain_item", "severity": "warning", "line_no": n, "item_id": match.item_id,
                              "message": f"line {n}: {item} proposed from the description "
                                         f"(similarity {match.score:.2f}){why}; please confirm"})
        elif line.description:
            ours = self._first(ITEM_DESCRIPTION, match.item_id)
            if unlike(line.description, ours):
                flags.append({"code": "uncertain_item", "severity": "warning", "line_no": n, "item_id": match.item_id,
                              "message": f"line {n}: the code matched item {match.item_id} {ours!r}, but the line "
                                         f"reads {line.description!r}; please confirm"})
        not_compared = order_currency(po_currency({"currency": currency}), self.customer_currency,
                                      sign_only=sign_only).not_compared
        flags += self._price_flags(line, match.item_id, on, not_compared, price_per)
        if self.customer_id and line.quantity is not None:
            pack = item_pack(self.conn, match.item_id)
            history = in_unit(self.conn.execute(HISTORY, (self.customer_id, match.item_id)).fetchall(), line.uom, pack)
            if why := quantity_outlier(line.quantity, history, unit_code(line.uom) or pack.unit):
                flags.append({"code": "quantity_outlier", "severity": "warning", "line_no": n,
                              "message": f"line {n}: {why}"})
        return flags

    def _disputed_flag(self, line: POLine, match: LineMatch) -> dict[str, object]:
        """uncertain_item for a line whose printed codes name different items, naming each."""
        n, kept = line.line_no, match.item_id
        said = {"xref": "customer code {} maps to", "vendor": "vendor code {} is", "code": "item code {} is",
                "id": "vendor code {} is the internal id of"}

        def names(kind: str, code: str, item: str) -> str:
            return f"{said[kind].format(code)} item {item} {self._first(ITEM_DESCRIPTION, item)!r}"

        first = match.evidence[0]
        others = " and ".join(names(*e) for e in match.disputed)
        return {"code": "uncertain_item", "severity": "warning", "line_no": n, "item_id": kept,
                "other_item_ids": list(dict.fromkeys(e[2] for e in match.disputed)),
                "message": f"line {n}: {names(*first)}, but {others}; item {kept} is proposed, as matching takes "
                           f"{_RANK[first[0]]}; please confirm"}

    def _price_flags(self, line: POLine, item_id: str, on: str, not_compared: str | None,
                     price_per: str | None = None) -> list[dict[str, object]]:
        n = line.line_no
        expected = expected_price(self.conn, item_id, self.customer_id, on, self.program, line.uom)
        # A line without a unit is in the item's own unit; a price printed per another one ("$4.25/lb" for an item
        # sold by the case) is no price per that unit: flagged, never compared (a false -90 % deviation before).
        if price_per and line.uom is None and line.unit_price is not None and (
                sold := sold_per_other_unit(self.conn, item_id, expected, price_per)):
            return [{"code": "price_unit_differs", "severity": "warning", "line_no": n, "item_id": item_id,
                     "message": f"line {n}: unit price {price_text(line.unit_price)} is per {price_per}, item "
                                f"{item_id} is sold per {sold} and the PO prints no unit for the quantity; the price "
                                "is not compared with the list's: please check the quantity's unit and the price"}]
        price = check_price(line.unit_price, expected, self.tolerance)
        if expected is None:
            return [{"code": "unpriced_item", "severity": "info", "line_no": n,
                     "message": f"line {n}: item {item_id} has no price in pricing_master on {on}"}]
        if expected.unit_price is None:  # priced, but in a unit the line's cannot be converted to
            return [{"code": "price_not_comparable", "severity": "info", "line_no": n,
                     "message": f"line {n}: item {item_id}: {expected.note}; check the price by hand"}]
        # The review order page's rule (order_currency): a price in another currency is never judged in dollars.
        if line.unit_price is not None and not_compared:
            return [{"code": "price_not_comparable", "severity": "info", "line_no": n,
                     "message": f"line {n}: item {item_id}: {not_compared}; check the price by hand"}]
        if price.within_tolerance or line.unit_price is None:
            return []
        how = (f"{price.deviation_pct:+.2f}%, tolerance {self.tolerance:g}%" if price.deviation_pct is not None
               else price.reason)
        per = f" per {expected.uom}" if expected.uom else ""
        converted = f"; {expected.note}" if expected.note else ""
        return [{"code": "price_deviation", "severity": "warning", "line_no": n,
                 "expected": float(expected.unit_price), "quoted": float(line.unit_price),
                 "deviation_pct": price.deviation_pct, "basis": expected.basis,
                 "message": f"line {n}: quoted {price_text(line.unit_price)} vs expected "
                            f"{price_text(expected.unit_price)}{per} ({how}{converted})"}]

    def apply(self, po: PurchaseOrder, on: str) -> tuple[list[dict[str, object]], float]:
        """Fill item_id on every line; returns the flags and the fraction of lines matched."""
        flags: list[dict[str, object]] = []
        matched = 0
        sign_only = dollar_sign_only({"currency": po.currency, "confidence": po.confidence})
        per = price_units(po)
        for line in po.lines:
            found = self.match(line)
            line.item_id = found.item_id
            matched += found.item_id is not None
            flags += self.check(line, found, on, po.currency, sign_only=sign_only, price_per=per.get(line.line_no))
        return flags, (matched / len(po.lines)) if po.lines else 0.0
