"""Item-table columns: header cell roles, header-row detection, and placing a row's fragments into columns."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from worker.po.doc import Line
from worker.po.textlayer import Fragment

# Order matters: the first matching role wins ("Unit Price" is a price, "Ext Price" an amount).
# "other" names columns we read past (account codes, notes) so their text never leaks into a neighbour.
_ROLES: list[tuple[str, re.Pattern[str]]] = [(r, re.compile(p, re.I)) for r, p in [
    ("other", r"^(acc(oun)?t\.?|acct\.?|g/?l\b|cost\s*cent(er|re)|budget|fund\b|notes?$|comments?$|remarks?$|memo$|"
              r"special\s*instr|tax(able)?$|tax\s*code|delivery\s*date|req(uired|\.)?\s*date|ship\s*date)"),
    ("line_no", r"^(line|ln|#|no\.?|pos\.?|line\s*(#|no\.?)|item\s*line|lfd\.?\s*nr\.?)$"),
    ("description", r"desc|bezeichnung|beschreibung|product\s*name|item\s*name|d[ée]signation|libell"),
    # A manufacturer's number is neither our code nor our internal id (the brand's own numbering, which can
    # equal one of our ids by chance): its own kind, read past by item matching.
    ("mfr_code", r"^(mfr|mfg|manufacturer|manuf)\.?\s*(item|part|product|code|sku|#|no|art|cat)"),
    ("vendor_code", r"^(vendor|supplier|your|gfs|lieferanten|distributor)\.?\s*(item|part|product|"
                    r"code|sku|#|no|art|cat)"),
    ("customer_code", r"^(cust(omer)?|our|buyer|kunden)\.?\s*(item|part|product|code|sku|#|no|art)"),
    ("amount", r"^(amount|ext|extended|extension|ext\.?\s*(price|cost|amt|amount)|total|line\s*total|total\s*(price|cost|amount)"
               r"|betrag|gesamt|gesamtpreis|net\s*(amount|value)|value|montant|importe)\b"),
    ("unit_price", r"price|rate|cost|preis|^each$|^unit\s*\$|prix|precio"),
    ("qty", r"^(qty|quantity|ordered|order\s*qty|qty\.?\s*(ord(ered)?|order)|menge|anzahl|cases|qt[ée]|cantidad|"
            r"units\s*ordered|no\.\s*of\s*cases)\b"),
    ("uom", r"^(uom|u/m|um|unit|units|u\.m\.|einheit|me|unit\s*of\s*measure|ordering\s*unit|order\s*unit|unit[ée]s?|"
            r"unidad|u\.?o\.?m\.?)$"),
    ("code", r"^(item|item\s*#|item\s*no\.?|item\s*code|product|product\s*#|product\s*code|product\s*no\.?|sku|code|"
             r"part\s*(#|no\.?)|article(\s*(no\.?|#|number))?|artikel|art\.?\s*-?nr\.?|artikelnummer|material|item\s*number|"
             r"item\s*id|stock\s*(no\.?|#|number|code)|cat(alog)?\.?\s*(no\.?|#|number)|art(icle)?\.?\s*(no\.?|#)|"
             r"product\s*id|material\s*(no\.?|#|number))$"),
    ("pack", r"pack|size|brand|weight|^wt|gebinde"),
    # Last resort: "<word> No." / "<word> #" headers not named above are some kind of item code.
    ("code", r"^[a-z][a-z.]{1,12}\s*(no\.?|#|number|nr\.?)$"),
]]
# Columns that print a code naming the row's item: a row of its own starts with one. Only the first three are
# matched to our items (worker/po/parser.py); "mfr_code" shapes the table alone.
CODE_ROLES = ("code", "customer_code", "vendor_code", "mfr_code")


def role_of(text: str, aliases: dict[str, str] | None = None) -> str | None:
    """Column role for a header cell text, or None; aliases (lower-case text -> role) win."""
    t = " ".join(text.replace("\n", " ").split()).strip(":")
    if aliases and t.lower() in aliases:
        return aliases[t.lower()]
    for role, pat in _ROLES:
        if pat.search(t):
            return role
    return None


def base(role: str) -> str:
    """The role without the suffix that tells repeated columns apart ('code.2' -> 'code')."""
    return role.split(".")[0]


# A price header that names a weight unit ("Price/LB", "Price per lb", "$/lb", "Unit Price (KG)"): its cells are
# prices per that unit whatever unit the line's quantity is in.
_PER_WEIGHT = re.compile(r"(?:/|\bper\s+|\(\s*)(lbs?|pounds?|kgs?|kilos?)\.?\s*\)?$", re.IGNORECASE)
_WEIGHTS = {"l": "LB", "p": "LB", "k": "KG"}


@dataclass
class Column:
    role: str
    x0: float
    x1: float
    per: str | None = None  # a price column's unit, as its header names it ("Price/LB": "LB")


def _column(role: str, x0: float, x1: float, text: str) -> Column:
    per = _PER_WEIGHT.search(text.strip()) if role == "unit_price" else None
    return Column(role, x0, x1, _WEIGHTS[per[1][0].lower()] if per else None)


def _cells(frags: list[Fragment], aliases: dict[str, str]) -> list[Column]:
    cols: list[Column] = []
    for f in frags:
        if role := role_of(f.text, aliases):
            cols.append(_column(role, f.x0, f.x1, f.text))
            continue
        # Narrow gaps can glue neighbouring header words ("Qty UOM"); try the words one by one, but a lone
        # "No." or "#" is the tail of a longer header ("Art. No."), never a line-number column of its own.
        cw = (f.x1 - f.x0) / max(len(f.text), 1)
        words = [(m, role_of(m.group(), aliases)) for m in re.finditer(r"\S+", f.text)]
        words = [(m, r) for m, r in words if r and r != "line_no"]
        for m, r in words:
            cols.append(_column(r, f.x0 + m.start() * cw, f.x0 + m.end() * cw, m.group()))
        if not words:
            cols.append(Column("other", f.x0, f.x1))
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
    roles = [c.role for c in cols if c.role != "other"]
    has_item = bool({"description", *CODE_ROLES} & set(roles))
    # Only pack/size-like and generic code columns may repeat; repeated qty or price means prose, not a header.
    dups = len(roles) - len(set(roles)) - max(0, roles.count("pack") - 1) - max(0, roles.count("code") - 1)
    known = len(roles) >= len(cols) / 2  # a header is mostly column names, not a sentence that mentions a few
    return len(set(roles)) >= 3 and "qty" in roles and has_item and dups == 0 and known


def _number(cols: list[Column]) -> list[Column]:
    # Repeated roles get their own keys so each column's values stay apart until refine() decides.
    seen: Counter = Counter()
    for c in cols:
        seen[c.role] += 1
        if seen[c.role] > 1:
            c.role = f"{c.role}.{seen[c.role]}"
    return cols


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
    return (_number(best[0]), best[1]) if best else None


@dataclass
class Placer:
    """Places row fragments into columns; remembers the edges that clearly belong to a column."""

    edges: dict[tuple[str, int], Counter] = field(default_factory=lambda: defaultdict(Counter))
    learn: bool = True

    def _remembered(self, x0: float, x1: float, cols: list[Column]) -> Column | None:
        # Left-aligned text under a centred header may touch no header cell; the same left (or right)
        # edge seen on other rows, where the text did overlap a header, tells which column it is.
        votes: Counter = Counter()
        for key in [("l", round(x0) + d) for d in (-1, 0, 1)] + [("r", round(x1) + d) for d in (-1, 0, 1)]:
            votes.update(self.edges.get(key, Counter()))
        if not votes:
            return None
        (role, n), *rest = votes.most_common(2) + [(None, 0)]
        if n < 2 or n < 2 * rest[0][1]:
            return None
        return next((c for c in cols if c.role == role), None)

    def _note(self, x0: float, x1: float, col: Column) -> None:
        if self.learn:
            self.edges[("l", round(x0))][col.role] += 1
            self.edges[("r", round(x1))][col.role] += 1

    def assign(self, frags: list[Fragment], cols: list[Column]) -> dict[str, str]:
        """Map a row's fragments to column roles by horizontal overlap with the header cells."""
        out: dict[str, list[str]] = {}

        def put(x0: float, x1: float, text: str) -> None:
            ov = [(min(x1, c.x1 + 3) - max(x0, c.x0 - 3), c) for c in cols]
            best_ov, col = max(ov, key=lambda t: t[0])
            if best_ov > 0:
                if sum(o > 0 for o, _ in ov) == 1:
                    self._note(x0, x1, col)
            else:  # no overlap: a remembered edge, else the nearest header cell
                col = self._remembered(x0, x1, cols) or min(cols, key=lambda c: max(c.x0 - x1, x0 - c.x1))
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
