"""Line-item table: header row detection, column positions, rows, wrapped descriptions, page breaks."""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from worker.po.columns import CODE_ROLES, Column, Placer, base, header_at
from worker.po.doc import Line
from worker.po.money_words import ESTIMATED, NOT_MONEY_WORDS, is_payment, read_charge
from worker.po.refine import refine
from worker.po.totals import Printed, is_totals_label
from worker.po.values import (
    normalize_uom,
    parse_date,
    parse_number,
    price_unit,
    split_qty_uom,
)

_CHARGE_WORDS = ("freight", "shipping", "delivery", "fuel", "surcharge", "discount", "rabatt", "skonto", "handling",
                 "pallet", "deposit", "allowance", "rebate", "promo", "fracht", "versand")
# A charge row names the charge first ("Fuel Surcharge", "Less 2% discount"); "CHAFING FUEL 2HR" is an item.
_CHARGE_FIRST = re.compile(rf"^\W*((less|plus|add)\b\W*)?([\d.,]+\s*%\s*)?({'|'.join(_CHARGE_WORDS)})", re.IGNORECASE)
_CHARGE_LAST = re.compile(r"\b(surcharge|discount|allowance|rebate|deposit|charge|fee)\W*$", re.IGNORECASE)  # "Early pay discount"
# A charge printed as an estimate ("Estimated shipping", "Est. Freight", "Approx. delivery") is that charge, as in the
# totals area; before, one without "charge" or "fee" was an item line without a quantity.
_ESTIMATE_WORD = re.compile(rf"^\W*{ESTIMATED}", re.IGNORECASE)
# A measure after a charge's name is no charge ("Shipping weight 12.5", "Est. delivery pallets 3"), as in the totals
# area (NOT_MONEY_WORDS); before, it was the freight. A charge named after it still is one ("Handling fee per pallet").
_NAMES_CHARGE = re.compile(r"\b(?:(?:sur)?charges?|fees?|deposits?|costs?)\b", re.IGNORECASE)
# Words that, beside charge words, still leave a label only a charge's name: "Freight Charge", "Bottle deposit".
_CHARGE_FILLER = {"charge", "charges", "fee", "fees", "cost", "costs", "kosten", "fsc", "less", "plus", "add", "and",
                  "on", "per", "small", "minimum", "min", "order", "early", "pay", "payment", "prompt", "volume",
                  "bottle", "keg", "case", "crate", "container", "s"}
_END = re.compile(r"^(sub\s*-?\s*total|total|grand\s*total|order\s*total|zwischensumme|summe|gesamt|nettobetrag|"
                  r"merchandise\s*total|amount\s*due)\b", re.IGNORECASE)
# Page subtotals and forward balances repeat a running sum inside the table: neither items nor its end.
_SKIP = re.compile(r"^(page\s*\d+(\s*(of|/)\s*\d+)?|\(?continued|cont'?d|continued\s*on|seite\s*\d+|"
                   r"(carried|brought|balance|bal\.?)\s*(forward|fwd|over)|übertrag|\.\.\.|"
                   r"page\s*(sub\s*-?\s*)?total|(sub\s*-?\s*)?total\b[\w\s.#]{0,16}\bpage\b|seitensumme)", re.IGNORECASE)
_MONEY = re.compile(r"\d[.,]\d{2}\)?-?$")


_RULE = re.compile(r"[-=_*.\s]+")  # ASCII rules drawn with dashes
# A pack or size and nothing else ("6/5 LB", "4/5#", "6/#10 CAN", "48 CT", "12/32 FL OZ"): no product's name.
_PACK = re.compile(r"(\d+\s*[/xX]\s*)?(#\d+|(\d+(\.\d+)?\s*)?(fl\.?\s*)?(lbs?|oz|ct|gal|dz|kg|g|gr|ml|l|lt|ltr|qt|pt|"
                   r"ea|pk|in|can|#)\.?)(\s*(cans?|bag|box|jug|jar|btl|cs|case|tub|pail|ct|pc|ea))?", re.IGNORECASE)
# "Delivery date: 03/18/2025" under an item is a schedule note, not more description ("Brand: Acme" is).
_NOTE = re.compile(r"^[A-Za-z][A-Za-z .#/&-]{1,28}:\s*(.+)$")


@dataclass
class Row:
    cells: dict[str, str]
    line: Line
    qty: Decimal | None = None
    uom: str | None = None
    price: Decimal | None = None
    amount: Decimal | None = None
    desc_extra: list[str] = field(default_factory=list)


@dataclass
class _Text:
    """A table line without numbers: wrapped description, half of a vertically centred cell, an order guide's row
    that was not ordered, or (charge) a charge row, which owns no text."""

    line: Line
    cells: dict[str, str]
    gap: float  # how far below the line read before it
    charge: bool = False


# Cells a line without numbers may fill and still be table text; code, line number or unit make it a row of its own.
_TEXT_ROLES = {"description", "pack", "other", "uom", "line_no", *CODE_ROLES}
_OWN_ROLES = {"line_no", *CODE_ROLES}


def _priced_per(cells: dict[str, str], cols: list[Column], dc: bool | None) -> dict[str, str]:
    """A price under a header naming its unit ("Price/LB") reads as printed with it ("4.25" as "4.25/LB"), so a
    price per pound is never taken for a price per the line's unit."""
    for c in cols:
        text = cells.get(c.role, "").strip()
        if c.per and text and price_unit(text) is None and parse_number(text, dc) is not None:
            cells = {**cells, c.role: f"{text}/{c.per}"}
    return cells


def _numbers(cells: dict[str, str], dc: bool | None) -> Row | None:
    qty, uom = split_qty_uom(cells.get("qty", ""), dc)
    if qty is None and "uom" in cells:  # "12CS" glued across the Qty and UOM columns
        qty, uom = split_qty_uom(cells["uom"], dc)
        if qty is not None:
            cells = {**cells, "uom": ""}
    if cells.get("uom"):
        uom = normalize_uom(cells["uom"]) or cells["uom"].strip().upper()
    price = parse_number(cells.get("unit_price", ""), dc)
    amount = parse_number(cells.get("amount", ""), dc)
    if qty is None and amount is None and price is None:
        return None
    return Row(cells, None, qty, uom, price, amount)  # type: ignore[arg-type]


@dataclass
class TableResult:
    rows: list[Row]
    charges: list[Printed]
    start: int  # index of the first header line
    end: int  # index of the first line after the table
    roles: set[str]
    # Lines shaped like item rows (a description, a quantity, an amount) that no table read: rows on a page the
    # columns do not fit, a second order after the first. Lines may be missing from this order.
    unread: list[Line] = field(default_factory=list)
    payments: list[Printed] = field(default_factory=list)  # "Deposit paid" rows: neither items nor charges


def _is_note(text: str) -> bool:
    return bool((m := _NOTE.match(text)) and parse_date(m[1]))


def _is_code(role: str) -> bool:
    return base(role) in CODE_ROLES


def _is_charge(label: str, qty: Decimal | None) -> bool:
    """A charge, not an item: a label that is only a charge's name, or one that starts (or ends) with it and no quantity."""
    label = _ESTIMATE_WORD.sub("", label, count=1)
    if (m := _CHARGE_FIRST.match(label)) and NOT_MONEY_WORDS.search(rest := label[m.end():]) \
            and not _NAMES_CHARGE.search(rest):
        return False
    words = re.findall(r"[^\W\d_]+", label.lower())
    named = [w for w in words if w.startswith(_CHARGE_WORDS) or w in ("charge", "charges", "fee", "fees", "fsc")]
    if named and all(w in _CHARGE_FILLER or w in named for w in words):
        return True  # "Freight 1 EA 35.00": charges are never item lines, whatever quantity they print
    return qty is None and bool(_CHARGE_FIRST.match(label) or _CHARGE_LAST.search(label))


def _item_like(ln: Line, dc: bool | None) -> bool:
    """Shaped like an item row whatever its columns: words, a quantity and an amount, and not a total or charge."""
    texts = [f.text.strip() for f in ln.frags]
    if len(texts) < 3 or any(_SKIP.match(t) or _END.match(t) or is_totals_label(t) for t in texts):
        return False
    words = [t for t in texts if re.search(r"[^\W\d_]{3}", t)]
    money = [t for t in texts if _MONEY.search(t) and parse_number(t, dc) is not None]
    qty = [t for t in texts if t not in money and split_qty_uom(t, dc)[0] is not None]
    return bool(words and money and qty) and not _is_charge(words[0], Decimal(1))


def _header_on_page(lines: list[Line], i: int, aliases: dict[str, str]) -> bool:
    page, j = lines[i].page, i
    while j < len(lines) and lines[j].page == page:
        if header_at(lines, j, aliases):
            return True
        j += 1
    return False


def _fits(ln: Line, cols: list[Column], edges: set[int]) -> bool:
    """Every fragment under a header cell, or on an edge the table's rows already used (same printer, same columns)."""
    def placed(x0: float, x1: float) -> bool:
        return any(x0 < c.x1 + 3 and c.x0 - 3 < x1 for c in cols) or \
            any(round(x) + d in edges for x in (x0, x1) for d in (-1, 0, 1))
    return all(placed(f.x0, f.x1) for f in ln.frags)


def _resumes(row: Row | None, has_item: bool, label: str, ln: Line, cols: list[Column], edges: set[int]) -> bool:
    """A headerless page goes on with the table from a complete item row that sits in the table's columns."""
    priced = any(base(c.role) in ("unit_price", "amount") for c in cols)  # order guides print no prices
    return row is not None and row.qty is not None and has_item and not _is_charge(label, row.qty) \
        and (not priced or row.price is not None or row.amount is not None) and _fits(ln, cols, edges)


def _own(t: _Text, packed: bool, above: Row | _Text | None = None) -> bool:
    """A row of its own that was not ordered (an order guide lists every item), never more text of another row:
    a code or line number, or a description with a unit, or with a pack where the table's rows print one. A pack
    without a digit ("LB" under "6/5", "CAN" under "6/#10"), or under one cut after its "/" ("2 LB" under "12/"),
    is the rest of the pack above, wrapped in its cell."""
    keys = {base(k) for k, v in t.cells.items() if v.strip()}
    pack = packed and any(base(k) == "pack" and re.search(r"\d", v) and not (
        above and above.cells.get(k, "").rstrip().endswith(("/", "x", "X", "-"))) for k, v in t.cells.items())
    return t.charge or bool(keys & _OWN_ROLES) or ("description" in keys and ("uom" in keys or pack))


def _rest(t: _Text) -> bool:
    """The rest of the row above, whatever its distance: a line without a description, or whose description is only
    a pack or size ("6/5 LB" printed under it)."""
    desc = t.cells.get("description", "").strip()
    return not desc or bool(_PACK.fullmatch(desc))


def _unit_below(above: Row | _Text | None, t: _Text) -> str | None:
    """The unit of the row above, wrapped onto the next line ("12" over "CS" in a narrow cell): the row has a
    quantity and no unit, and the line holds a unit and no code of its own."""
    keys = {base(k) for k, v in t.cells.items() if v.strip()}
    if not isinstance(above, Row) or above.qty is None or above.uom or "uom" not in keys or keys & _OWN_ROLES:
        return None
    return normalize_uom(t.cells["uom"]) or t.cells["uom"].strip().upper()


def _units(entries: list[Row | _Text]) -> dict[int, str]:
    """Text lines (by id) that carry the unit of the row above them, wrapped below its quantity."""
    out, row = {}, None
    for e in entries:
        if isinstance(e, Row) or e.charge:
            row = e
        elif (unit := _unit_below(row, e)) is not None:
            out[id(e)] = unit
            row = None
    return out


def _text(t: _Text) -> list[str]:
    extra = t.cells.get("description", "")
    return [extra] if extra and not _is_note(extra) else []


def _centred(entries: list[Row | _Text]) -> list[tuple[Row | _Text, list[_Text], list[_Text]]] | None:
    """Rows as a browser prints HTML cells (vertically centred): each row's line in the middle of its description's
    lines, so text above a row can be its own. None unless every page's lines fit that exactly, with proof that
    the cells are centred (with top-aligned cells, a row's text starts on its own line): some row's description is
    only above and below it, or, where every row's line holds some of its description (1 or 3 lines, say), the
    bands are set apart: on every page, rows (two or more) further apart than any two lines of one row, and some
    row other than a page's first has lines above it. A pack wrapped in its cell sits in the band as the
    description does."""
    groups, seen, above, apart = [], False, False, None
    for pg in sorted({e.line.page for e in entries}):
        seq = [e for e in entries if e.line.page == pg]
        pending: list[_Text] = []
        bands: list[list[Line]] = []
        k = 0
        while k < len(seq):
            e = seq[k]
            if isinstance(e, _Text) and not _own(e, False):
                pending.append(e)
                k += 1
                continue
            n = len(pending)
            below = seq[k + 1:k + 1 + n]
            if len(below) < n or any(not isinstance(t, _Text) or _own(t, False) for t in below):
                return None
            band = [t.line for t in pending] + [e.line] + [t.line for t in below]
            size = max(ln.size for ln in band)
            if any(a.y - b.y > 1.6 * size for a, b in pairwise(band)) or \
                    (n and abs((band[0].y + band[-1].y) / 2 - e.line.y) > 0.25 * size):
                return None
            if isinstance(e, Row) and not e.cells.get("description"):
                if not n:
                    return None  # a row without any description is no centred row
                seen = True
            above |= n > 0 and bool(bands)  # above a page's first row: a heading, as much as a cell's first line
            groups.append((e, pending, below))
            bands.append(band)
            pending, k = [], k + 1 + n
        if pending:
            return None
        if len(bands) > 1:
            inner = max((a.y - b.y for band in bands for a, b in pairwise(band)), default=0.0)
            size = max(ln.size for band in bands for ln in band)
            apart = apart is not False and min(a[-1].y - b[0].y for a, b in pairwise(bands)) > inner + 0.15 * size
    return groups if seen or (above and apart) else None


def _pitch(entries: list[Row | _Text], packed: bool, units: dict[int, str]) -> float | None:
    """The distance between rows: from the line above a row (another row, or the last line of one) to the row's
    line; None if no row has a line above it on its page. Rows start no nearer than that to the line above,
    however the line above is read, so an order guide without two ordered rows in a row still has a pitch."""
    gaps = [a.line.y - b.line.y for a, b in pairwise(entries) if a.line.page == b.line.page
            and (isinstance(b, Row) or (_own(b, packed, a) and id(b) not in units))]
    return statistics.median(gaps) if gaps else None


def _attach(entries: list[Row | _Text], priced: bool) -> tuple[list[Row], list[Line]]:
    """Give each text line to the row whose cell holds it; returns the rows and the lines of rows found wanting.

    One rule for every layout: a line is a row's text when it lies in that row's vertical band. With centred
    cells (web portals) the band reaches above the row's line as far as below it; otherwise it starts at the
    row's line, and a text line is a wrap of the row above unless it fills a cell of its own (code, unit, pack) or,
    in a table without prices (an order guide), lies a whole row pitch below: an order guide's row left without a
    quantity is not the row above's text. The rest of a pack or unit wrapped in its cell ("LB" under "6/5", "CS"
    under "12") and a line holding only a pack ("6/5 LB" under the description) are the row above's, at any pitch. (Priced printouts, plain-text ones above all, wrap at the rows' own
    leading, so there the pitch proves nothing.)
    A quantity line with no description or code that no centred band explains is reported, not read as a line.
    """
    rows = [e for e in entries if isinstance(e, Row)]
    packed = any(r.cells.get("pack") for r in rows)
    if (groups := _centred(entries)) is not None:
        for e, above, below in groups:
            if isinstance(e, Row):
                before = [x for t in above for x in _text(t)]
                if before:
                    e.cells["description"] = " ".join(before + [e.cells.get("description", "")]).strip()
                e.desc_extra += [x for t in below for x in _text(t)]
        return rows, []
    units = _units(entries)
    pitch = None if priced else _pitch(entries, packed, units)
    owner: Row | _Text | None = None
    for above, e in zip([None, *entries], entries):
        if isinstance(e, _Text) and id(e) in units and isinstance(owner, Row):
            owner.uom = units[id(e)]
            owner.desc_extra += _text(e)
        elif isinstance(e, Row) or _own(e, packed, above):
            owner = e
        elif pitch is not None and e.gap >= 0.9 * pitch and not _rest(e):
            owner = e  # a row's distance below the last: a row without a quantity, not a wrap
        elif isinstance(owner, Row):
            owner.desc_extra += _text(e)
    named = [bool(r.cells.get("description")) or any(v for k, v in r.cells.items() if _is_code(k)) for r in rows]
    return [r for r, ok in zip(rows, named) if ok], [r.line for r, ok in zip(rows, named) if not ok]


def _footer_only(lines: list[Line], i: int, nxt: int) -> bool:
    """Lines i..nxt (the rest of a page) hold no money and no totals: a page footer, not the end of the order."""
    return all(not _MONEY.search(f.text) and not _END.match(f.text) and not is_totals_label(f.text)
               for ln in lines[i:nxt] for f in ln.frags)


def _step(lines: list[Line], i: int) -> float | None:
    """The row pitch from line i to its page's end or the totals: the widest distance between lines that recurs
    (a quarter of them, at least twice), so wrapped lines between rows do not hide it. An order guide printed with
    tall rows (room to write a quantity) spaces them well over twice its type size."""
    ys = []
    for ln in lines[i:]:
        if ln.page != lines[i].page or any(_END.match(f.text) or is_totals_label(f.text) for f in ln.frags):
            break
        ys.append(ln.y)
    return _recurring_max([a - b for a, b in pairwise(ys)])


def _recurring_max(gaps: list[float]) -> float | None:
    """The widest gap that at least max(2, a quarter of all) gaps lie within 1 of (itself included; a gap that is
    not finite is near none). A sliding window over the sorted gaps, not a count per gap: that was quadratic, and
    a 2 KB PDF drawing 40,000 lines on one page took minutes."""
    need, best, lo, hi = max(2, len(gaps) / 4), None, 0, 0
    gaps = sorted(g for g in gaps if math.isfinite(g))
    for g in gaps:
        while g - gaps[lo] > 1:  # both window edges only move right as g grows
            lo += 1
        while hi < len(gaps) and gaps[hi] - g <= 1:
            hi += 1
        if hi - lo >= need:
            best = g
    return best


def _read(lines: list[Line], start: int, dc: bool | None, aliases: dict[str, str], placer: Placer) -> TableResult:
    cols, used = header_at(lines, start, aliases)  # type: ignore[misc]
    roles = {base(c.role) for c in cols}
    entries: list[Row | _Text] = []  # rows and text lines in reading order; _attach decides which text is whose
    charged: dict[str, list[Printed]] = {"charge": [], "payment": []}
    unread: list[Line] = []
    edges: set[int] = set()
    i, page, in_table, last_y = start + used, lines[start].page, True, lines[start].y
    end, brk = len(lines), None  # brk: first line of a page that did not repeat the header
    cut = None  # where the table ends if the page after a footer does not go on with it
    rows = False  # any row read yet
    step = _step(lines, i)
    while i < len(lines):
        ln = lines[i]
        if ln.page != page:  # page break: wait for the repeated header, or, without one, for rows that go on
            page, in_table, step = ln.page, False, _step(lines, i)
            brk = None if _header_on_page(lines, i, aliases) else i
        if (h := header_at(lines, i, aliases)) is not None:
            cols, used = h
            roles |= {base(c.role) for c in cols}
            in_table, last_y, i, brk, cut = True, ln.y, i + used, None, None
            continue
        # How far below the last line read a line may lie and still be in the table: a few lines of type, or, in
        # a table without prices (an order guide: its rows are what keeps an unordered row from being read as
        # the row above's text), a little more than its usual line distance.
        reach, far = 2.4 * ln.size, 3 * ln.size
        if step and not roles & {"unit_price", "amount"}:
            pitch = min(step, 5 * ln.size)  # never so far that a page's notes and footers join the table
            reach, far = max(reach, 1.3 * pitch), max(far, 1.6 * pitch)
        first = ln.frags[0].text
        if _SKIP.match(first) or _SKIP.match(ln.text.strip()) or _RULE.fullmatch(ln.text) or \
                (not in_table and brk is None):
            unread += [ln] if not in_table and _item_like(ln, dc) else []
            i += 1
            continue
        learn, placer.learn = placer.learn, placer.learn and in_table  # letterhead must not teach column edges
        cells = _priced_per(placer.assign(ln.frags, cols), cols, dc)
        placer.learn = learn
        code = " ".join(v for k, v in cells.items() if _is_code(k) and v)
        label = cells.get("description") or code or first
        row = _numbers(cells, dc)
        if row is None and (unit := cells.get("qty", "").strip()) and normalize_uom(unit) and not cells.get("uom"):
            cells = {**{k: v for k, v in cells.items() if k != "qty"}, "uom": unit}  # "CS" wrapped under "12"
        totals = any(_END.match(f.text) or is_totals_label(f.text) for f in ln.frags) and not (code and cells.get("qty"))
        if totals and (in_table or _MONEY.search(ln.text.strip())):
            # Totals on a headerless page: read all of that page (from the footer before it, if one was skipped).
            end = i if in_table or brk is None else brk if cut is None else cut
            break
        if not in_table:
            if not _resumes(row, bool(cells.get("description") or code), label, ln, cols, edges):
                unread += [ln] if _item_like(ln, dc) else []
                i += 1
                continue
            in_table, brk, cut = True, None, None
        if row is not None and not code and (_is_charge(label, row.qty) or row.qty is None and is_payment(label)):
            amt = row.amount if row.amount is not None else row.price
            if amt is not None and (read := read_charge(label.strip(), amt)) is not None:
                charged[read[0]].append(Printed(label.strip(), read[1], ln.idx))
            entries.append(_Text(ln, {}, last_y - ln.y, charge=True))
            last_y = ln.y
        elif row is not None and (cells.get("description") or code or (row.qty is not None and not (
                rows and last_y - ln.y > far))):  # numbers alone: a centred row, else _attach reports it
            row.line, rows = ln, True
            entries.append(row)
            edges |= {round(x) for f in ln.frags for x in (f.x0, f.x1)} if cells.get("description") or code else set()
            last_y = ln.y
        elif row is None and {base(k) for k in cells} <= _TEXT_ROLES and (not entries or last_y - ln.y < reach):
            entries.append(_Text(ln, cells, last_y - ln.y))
            last_y = ln.y
        elif rows and last_y - ln.y > far:
            # A gap and a line that is not a row: the table is over, unless that line is only the page's footer
            # ("Printed 02/14/2026 by jsmith", the company's address) and the table goes on on the next page.
            nxt = next((j for j in range(i, len(lines)) if lines[j].page != page), None)
            if nxt is None or not _footer_only(lines, i, nxt):
                end = i
                break
            cut, i = i, nxt
            continue
        i += 1
    else:
        if brk is not None:  # the last headerless page never went on with the table: it ended at the break
            end = cut if cut is not None else brk
    items, lost = _attach(entries, bool(roles & {"unit_price", "amount"}))
    return TableResult(items, charged["charge"], start, end, roles, [ln for ln in unread + lost if ln.idx < end],
                       charged["payment"])


def table_start(lines: list[Line], aliases: dict[str, str] | None = None) -> int | None:
    """The index of the item table's header line (None: no table); `aliases` keys are lower case."""
    return next((i for i in range(len(lines)) if header_at(lines, i, aliases or {})), None)


def parse_table(lines: list[Line], dc: bool | None, aliases: dict[str, str] | None = None) -> TableResult | None:
    """Find the item table and read its rows until the totals area; item-shaped lines it could not read are unread."""
    aliases = {k.lower(): v for k, v in (aliases or {}).items()}
    start = table_start(lines, aliases)
    if start is None:
        return None
    placer = Placer()
    _read(lines, start, dc, aliases, placer)  # first pass only learns which column each cell edge belongs to
    placer.learn = False
    table = _read(lines, start, dc, aliases, placer)
    table.unread += [ln for ln in lines[table.end:] if _item_like(ln, dc)]
    refine(table.rows)
    return table
