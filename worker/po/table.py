"""Line-item table: header row detection, column positions, rows, wrapped descriptions, page breaks."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from worker.po.doc import Line
from worker.po.textlayer import Fragment
from worker.po.totals import is_totals_label
from worker.po.values import normalize_uom, parse_number, split_qty_uom

# Order matters: the first matching role wins ("Unit Price" is a price, "Ext Price" an amount).
_ROLES: list[tuple[str, re.Pattern[str]]] = [(r, re.compile(p, re.I)) for r, p in [
    ("line_no", r"^(line|ln|#|no\.?|pos\.?|line\s*(#|no\.?)|item\s*line|lfd\.?\s*nr\.?)$"),
    ("description", r"desc|bezeichnung|beschreibung|product\s*name|item\s*name|d[ée]signation|libell"),
    ("vendor_code", r"^(vendor|supplier|your|gfs|mfr|manufacturer|lieferanten|distributor)\.?\s*(item|part|product|"
                    r"code|sku|#|no|art|cat)"),
    ("customer_code", r"^(cust(omer)?|our|buyer|kunden)\.?\s*(item|part|product|code|sku|#|no|art)"),
    ("amount", r"^(amount|ext|extended|extension|ext\.?\s*(price|cost|amt|amount)|total|line\s*total|total\s*(price|cost|amount)"
               r"|betrag|gesamt|gesamtpreis|net\s*(amount|value)|value|montant|importe)\b"),
    ("unit_price", r"price|rate|cost|preis|^each$|^unit\s*\$|prix|precio"),
    ("qty", r"^(qty|quantity|ordered|order\s*qty|qty\.?\s*(ord(ered)?|order)|menge|anzahl|cases|qt[ée]|cantidad|"
            r"units\s*ordered|no\.\s*of\s*cases)\b"),
    ("uom", r"^(uom|u/m|um|unit|units|u\.m\.|einheit|me|unit\s*of\s*measure|ordering\s*unit|order\s*unit)$"),
    ("code", r"^(item|item\s*#|item\s*no\.?|item\s*code|product|product\s*#|product\s*code|product\s*no\.?|sku|code|"
             r"part\s*(#|no\.?)|article(\s*(no\.?|#|number))?|artikel|art\.?\s*-?nr\.?|artikelnummer|material|item\s*number)$"),
    ("pack", r"pack|size|brand|weight|^wt|gebinde"),
]]
_CHARGE = re.compile(r"freight|shipping|delivery\s*(charge|fee)|fuel|surcharge|discount|rabatt|skonto|handling|"
                     r"pallet|deposit|allowance|rebate|promo|fracht|versand", re.I)
_END = re.compile(r"^(sub\s*-?\s*total|total|grand\s*total|order\s*total|zwischensumme|summe|gesamt|nettobetrag|"
                  r"merchandise\s*total|amount\s*due)\b", re.I)
_SKIP = re.compile(r"^(page\s*\d+(\s*(of|/)\s*\d+)?|\(?continued|cont'?d|continued\s*on|seite\s*\d+|"
                   r"carried\s*forward|\.\.\.)", re.I)


_RULE = re.compile(r"[-=_*.\s]+")  # ASCII rules drawn with dashes


def role_of(text: str, aliases: dict[str, str] | None = None) -> str | None:
    """Column role for a header cell text, or None; aliases (lower-case text -> role) win."""
    t = " ".join(text.replace("\n", " ").split()).strip(":")
    if aliases and t.lower() in aliases:
        return aliases[t.lower()]
    for role, pat in _ROLES:
        if pat.search(t):
            return role
    return None


@dataclass
class Column:
    role: str
    x0: float
    x1: float


def _cells(frags: list[Fragment], aliases: dict[str, str]) -> list[Column]:
    cols: list[Column] = []
    for f in frags:
        if role := role_of(f.text, aliases):
            cols.append(Column(role, f.x0, f.x1))
            continue
        # Narrow gaps can glue neighbouring header words ("Qty UOM"); try the words one by one.
        cw = (f.x1 - f.x0) / max(len(f.text), 1)
        for m in re.finditer(r"\S+", f.text):
            if role := role_of(m.group(), aliases):
                cols.append(Column(role, f.x0 + m.start() * cw, f.x0 + m.end() * cw))
    return cols


def _stack(a: Line, b: Line) -> list[Fragment]:
    # Two-line headers ("Unit" over "Price"): join fragments that share horizontal extent.
    out = []
    used = set()
    for f in a.frags:
        under = [g for g in b.frags if g.x0 < f.x1 + 2 and f.x0 < g.x1 + 2]
        used |= {id(g) for g in under}
        text = " ".join([f.text] + [g.text for g in under])
        out.append(Fragment(min([f.x0] + [g.x0 for g in under]), max([f.x1] + [g.x1 for g in under]), f.y, text, f.size))
    out += [g for g in b.frags if id(g) not in used]
    return sorted(out, key=lambda f: f.x0)


def _good(cols: list[Column]) -> bool:
    roles = [c.role for c in cols]
    has_item = bool({"description", "code", "customer_code", "vendor_code"} & set(roles))
    # Only pack/size-like and generic code columns may repeat; repeated qty or price means prose, not a header.
    dups = len(roles) - len(set(roles)) - max(0, roles.count("pack") - 1) - max(0, roles.count("code") - 1)
    return len(set(roles)) >= 3 and "qty" in roles and has_item and dups == 0


def header_at(lines: list[Line], i: int, aliases: dict[str, str]) -> tuple[list[Column], int] | None:
    """Columns if line i starts a table header (one or two lines); returns (columns, lines used)."""
    ln = lines[i]
    if any(re.search(r"\d[.,]\d", f.text) for f in ln.frags):
        return None
    best = None
    cols = _cells(ln.frags, aliases)
    if _good(cols):
        best = (cols, 1)
    if i + 1 < len(lines) and lines[i + 1].page == ln.page and ln.y - lines[i + 1].y < 1.6 * ln.size \
            and not any(c.isdigit() for c in lines[i + 1].text):
        stacked = _cells(_stack(ln, lines[i + 1]), aliases)
        if _good(stacked) and (best is None or len(stacked) > len(best[0])):
            best = (stacked, 2)
    return best


def assign(frags: list[Fragment], cols: list[Column]) -> dict[str, str]:
    """Map a row's fragments to column roles by horizontal overlap with the header cells."""
    out: dict[str, list[str]] = {}

    def put(x0: float, x1: float, text: str) -> None:
        ov = [(min(x1, c.x1 + 3) - max(x0, c.x0 - 3), c) for c in cols]
        best_ov, col = max(ov, key=lambda t: t[0])
        if best_ov <= 0:  # no overlap: nearest header cell
            col = min(cols, key=lambda c: max(c.x0 - x1, x0 - c.x1))
        out.setdefault(col.role, []).append(text)

    for f in frags:
        hit = [c for c in cols if min(f.x1, c.x1) - max(f.x0, c.x0) > 0.3 * (c.x1 - c.x0)]
        if len(hit) > 1 and " " in f.text and not any(c.role == "description" for c in hit):
            cw = (f.x1 - f.x0) / max(len(f.text), 1)  # a cell glued to its neighbour: place word by word
            for m in re.finditer(r"\S+", f.text):
                put(f.x0 + m.start() * cw, f.x0 + m.end() * cw, m.group())
        else:
            put(f.x0, f.x1, f.text)
    return {k: " ".join(v) for k, v in out.items()}


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


def parse_table(lines: list[Line], dc: bool | None, aliases: dict[str, str] | None = None) -> TableResult | None:
    """Find the item table and read its rows until the totals area."""
    aliases = {k.lower(): v for k, v in (aliases or {}).items()}
    start = next((i for i in range(len(lines)) if header_at(lines, i, aliases)), None)
    if start is None:
        return None
    cols, used = header_at(lines, start, aliases)  # type: ignore[misc]
    roles = {c.role for c in cols}
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
            roles |= {c.role for c in cols}
            in_table, last_y, i = True, ln.y, i + used
            continue
        first = ln.frags[0].text
        if _SKIP.match(first) or _SKIP.match(ln.text.strip()) or _RULE.fullmatch(ln.text):
            i += 1
            continue
        if not in_table:
            i += 1
            continue
        cells = assign(ln.frags, cols)
        label = cells.get("description") or cells.get("code") or first
        row = _numbers(cells, dc)
        has_code = any(cells.get(r) for r in ("code", "customer_code", "vendor_code"))
        if any(_END.match(f.text) or is_totals_label(f.text) for f in ln.frags) and not (has_code and cells.get("qty")):
            end = i
            break
        if row is not None and _CHARGE.search(label) and not has_code:
            if (amt := row.amount if row.amount is not None else row.price) is not None:
                charges.append((label.strip(), amt))
            last_y = ln.y
        elif row is not None and (cells.get("description") or has_code):
            row.line = ln
            rows.append(row)
            last_y = ln.y
        elif row is None and rows and set(cells) <= {"description", "pack"} and last_y - ln.y < 2.4 * ln.size:
            rows[-1].desc_extra.append(cells.get("description", ""))  # wrapped description
            last_y = ln.y
        elif rows and last_y - ln.y > 3 * ln.size:
            end = i  # a gap and a line that is not a row: the table is over
            break
        i += 1
    return TableResult(rows, charges, start, end, roles)
