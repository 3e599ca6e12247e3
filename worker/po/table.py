"""Line-item table: header row detection, column positions, rows, wrapped descriptions, page breaks."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from worker.po.columns import CODE_ROLES, Placer, base, header_at
from worker.po.doc import Line
from worker.po.refine import refine
from worker.po.totals import is_totals_label
from worker.po.values import normalize_uom, parse_date, parse_number, split_qty_uom

_CHARGE = re.compile(r"freight|shipping|delivery\s*(charge|fee)|fuel|surcharge|discount|rabatt|skonto|handling|"
                     r"pallet|deposit|allowance|rebate|promo|fracht|versand", re.I)
_END = re.compile(r"^(sub\s*-?\s*total|total|grand\s*total|order\s*total|zwischensumme|summe|gesamt|nettobetrag|"
                  r"merchandise\s*total|amount\s*due)\b", re.I)
_SKIP = re.compile(r"^(page\s*\d+(\s*(of|/)\s*\d+)?|\(?continued|cont'?d|continued\s*on|seite\s*\d+|"
                   r"carried\s*forward|\.\.\.)", re.I)


_RULE = re.compile(r"[-=_*.\s]+")  # ASCII rules drawn with dashes
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
    charges: list[tuple[str, Decimal]]
    start: int  # index of the first header line
    end: int  # index of the first line after the table
    roles: set[str]


def _is_note(text: str) -> bool:
    return bool((m := _NOTE.match(text)) and parse_date(m[1]))


def _is_code(role: str) -> bool:
    return base(role) in CODE_ROLES


def _read(lines: list[Line], start: int, dc: bool | None, aliases: dict[str, str], placer: Placer) -> TableResult:
    cols, used = header_at(lines, start, aliases)  # type: ignore[misc]
    roles = {base(c.role) for c in cols}
    rows: list[Row] = []
    charges: list[tuple[str, Decimal]] = []
    i, page, in_table, last_y = start + used, lines[start].page, True, lines[start].y
    end = len(lines)
    while i < len(lines):
        ln = lines[i]
        if ln.page != page:  # page break: wait for the repeated header, skipping letterhead and footers
            page, in_table = ln.page, False
        if (h := header_at(lines, i, aliases)) is not None:
            cols, used = h
            roles |= {base(c.role) for c in cols}
            in_table, last_y, i = True, ln.y, i + used
            continue
        first = ln.frags[0].text
        if _SKIP.match(first) or _SKIP.match(ln.text.strip()) or _RULE.fullmatch(ln.text) or not in_table:
            i += 1
            continue
        cells = placer.assign(ln.frags, cols)
        code = " ".join(v for k, v in cells.items() if _is_code(k) and v)
        label = cells.get("description") or code or first
        row = _numbers(cells, dc)
        if any(_END.match(f.text) or is_totals_label(f.text) for f in ln.frags) and not (code and cells.get("qty")):
            end = i
            break
        if row is not None and _CHARGE.search(label) and not code:
            if (amt := row.amount if row.amount is not None else row.price) is not None:
                charges.append((label.strip(), amt))
            last_y = ln.y
        elif row is not None and (cells.get("description") or code):
            row.line = ln
            rows.append(row)
            last_y = ln.y
        elif row is None and rows and {base(k) for k in cells} <= {"description", "pack", "other"} \
                and last_y - ln.y < 2.4 * ln.size:
            if (extra := cells.get("description", "")) and not _is_note(extra):
                rows[-1].desc_extra.append(extra)  # wrapped description
            last_y = ln.y
        elif rows and last_y - ln.y > 3 * ln.size:
            end = i  # a gap and a line that is not a row: the table is over
            break
        i += 1
    return TableResult(rows, charges, start, end, roles)


def parse_table(lines: list[Line], dc: bool | None, aliases: dict[str, str] | None = None) -> TableResult | None:
    """Find the item table and read its rows until the totals area."""
    aliases = {k.lower(): v for k, v in (aliases or {}).items()}
    start = next((i for i in range(len(lines)) if header_at(lines, i, aliases)), None)
    if start is None:
        return None
    placer = Placer()
    _read(lines, start, dc, aliases, placer)  # first pass only learns which column each cell edge belongs to
    placer.learn = False
    table = _read(lines, start, dc, aliases, placer)
    refine(table.rows)
    return table
