"""Header fields of a purchase order found by label search: PO number, dates, address blocks, buyer."""
from __future__ import annotations

import re
from datetime import date

from worker.po.doc import Heights, Line, find_labels, overlaps, values_near
from worker.po.values import parse_date

_PO_LABEL = re.compile(
    r"(?:(?:customer\s*|cust\.?\s*|your\s*)?(?:purchase\s*order|p\.?\s*o\.?)(?!\s*(?:box|date|line|total))"
    r"\s*(?:number|num\.?|no\.?|nr\.?|#|n°|id)?|order\s*(?:number|no\.?|nr\.?|#)|order\s*ref(?:erence)?(?:\s*(?:no\.?|#))?|bestell(?:ung)?[\s-]*(?:nummer|nr\.?)"
    r"|n°\s*de\s*commande)(?=[\s:#.]|$)", re.I)
_STRONG_PO = re.compile(r"purchase|p\.?\s*o", re.I)
_PO_VALUE = re.compile(r"[A-Z0-9][A-Z0-9\-/_.]{2,24}", re.I)
# The document title alone ("Purchase Order") names no number: what is printed under it is often another
# box's value (a "Customer ID" cell), so it takes only a value on its own line ("PURCHASE ORDER: 4500123")
# or one below that carries the number mark itself ("#PO-1234"), and an explicit number label beats it.
_BARE_TITLE = re.compile(r"purchase\s*order", re.IGNORECASE)
_NUMBER_MARK = re.compile(r"\s*(?:#|n°|(?:no|nr)\b\.?|number\b)\s*:?", re.IGNORECASE)

# "Estimated delivery: Dec 1, 2026" and "Est. ship date" name the date as "Delivery:" and "Ship date" do.
_SHIP_WHEN = r"(?:requested\s*|req\.?\s*|required\s*|expected\s*|desired\s*|est(?:imated)?\.?\s*)?"
_SHIP_LABEL = re.compile(
    rf"{_SHIP_WHEN}(?:ship(?:ping)?|delivery|deliver|arrival|due|need(?:ed)?)"
    r"\s*(?:date|by|on|no\s*later\s*than)|req(?:uested|uired|\.)?\s*(?:delivery|ship|date)|deliver(?:y)?\s*by|need\s*by"
    r"|date\s*required"
    rf"|must\s*arrive(?:\s*by)?|{_SHIP_WHEN}(?:delivery|ship\s*date|deliver)(?=\s*:|\s*$)|liefer(?:datum|termin)|wunschtermin"
    r"|date\s*de\s*livraison"
    r"|req(?:\.|uested|uired)?\s*(?:date|by)|required(?=\s*:?\s*$)|delivery\s*window|(?:expected\s*)?receipt\s*date"
    r"|receive\s*by|date\s*(?:needed|wanted)", re.I)
_DOC = re.compile(r"\s*doc", re.IGNORECASE)
_DATE_LABEL = re.compile(
    r"(?:po|p\.\s*o\.|order|purchase\s*order|issue|doc(?:ument|\.)?|bestell)?\s*date(?!\s*(?:required|requested))"
    r"|bestelldatum|datum"
    r"|date\s*(?:of\s*order|issued)|order\s*placed|placed(?=\s*:)|created(?=\s*(?::|on|$))", re.I)

_BLOCK_LABELS = {
    "bill": re.compile(r"(?:bill(?:ing)?[\s-]*(?:to(?:[\s-]*address)?|address)|invoice[\s-]*(?:to|address)|sold[\s-]*to|"
                       r"rechnungs(?:adresse|anschrift|empfänger))(?=[\s:]|$)", re.I),
    "ship": re.compile(r"(?:ship(?:ping)?[\s-]*(?:to(?:[\s-]*address)?|address)|deliver(?:y)?[\s-]*(?:to|address)|consignee|"
                       r"liefer(?:adresse|anschrift))(?=[\s:]|$)", re.I),
    "vendor": re.compile(r"(?:vendor|supplier|lieferant|seller|sold\s*by|order\s*from)(?:\s*(?:address|name))?"
                         r"(?=[\s:]|$)", re.I),
}
_ANY_LABEL = re.compile(r"^[A-Za-z][A-Za-z .#/&-]{1,28}:")
_CONTACT = re.compile(r"^(tel|phone|ph|fax|e-?mail|web|www|contact|buyer|terms|attn\s*:?\s*$)", re.I)


def _po_ok(v: str) -> bool:
    tok = v.split()[0] if v.split() else ""
    return (len(v.split()) == 1 and bool(_PO_VALUE.fullmatch(tok)) and sum(c.isdigit() for c in tok) >= 2
            and parse_date(tok) is None)


def _po_values(lines: list[Line]) -> list[tuple[str, float]]:
    """Each PO-number label's value with its confidence, in reading order."""
    out = []
    near = Heights(lines)
    for hit in find_labels(lines, _PO_LABEL):
        title = bool(_BARE_TITLE.fullmatch(hit.label.strip()))
        for v in values_near(hit, near, _NUMBER_MARK if title else None):
            v = re.sub(r",\s*\d{1,2}$", "", v.strip().lstrip(":#").strip())  # Oracle prints "1165299, 0" (revision)
            if _po_ok(v):
                out.append((v.rstrip("."), 0.9 if title else 0.95 if _STRONG_PO.search(hit.label) else 0.75))
                break
    return out


def find_po_number(lines: list[Line]) -> tuple[str | None, float]:
    """The PO number next to or under a PO-number label."""
    best: tuple[str | None, float] = (None, 0.0)
    for value, conf in _po_values(lines):
        if conf > best[1]:
            best = (value, conf)
    return best


def po_numbers(lines: list[Line]) -> set[str]:
    """Every value written beside or under a PO-number label, upper-cased for comparison."""
    return {value.upper() for value, _ in _po_values(lines)}


def po_number_in_text(texts: list[str]) -> str | None:
    """The first PO number written after a PO-number label in running text (an email's subject and body)."""
    for text in texts:
        for label in _PO_LABEL.finditer(text):
            value = text[label.end():].strip().lstrip(":#.-–").strip()
            token = value.split()[0].rstrip(".,;:)") if value else ""
            if (label.start() == 0 or not text[label.start() - 1].isalnum()) and token and _po_ok(token):
                return token
    return None


def _find_date(lines: list[Line], label: re.Pattern[str], exclude: re.Pattern[str] | None,
               day_first: bool | None) -> tuple[date | None, float]:
    scored: list[tuple[float, date]] = []
    near = Heights(lines)
    for hit in find_labels(lines, label):
        if exclude and exclude.match(hit.frag.text):
            continue
        for v in values_near(hit, near):
            if parsed := parse_date(v, day_first):
                d, ambiguous = parsed
                # "Order Date" beats a bare "Date"; a "Doc. Date" (an ERP's document date) is below a "PO Date"
                specific = 0.85 if len(hit.label.strip()) <= 5 else 0.88 if _DOC.match(hit.label) else 0.95
                scored.append((specific - (0.3 if ambiguous and day_first is None else 0.0), d))
                break
    if not scored:
        return None, 0.0
    conf, d = max(scored, key=lambda s: s[0])
    if len({s[1] for s in scored if s[0] >= conf - 0.05}) > 1:
        return None, 0.0  # two equally good but different dates: better none than a wrong one
    return d, conf


_DATE_ONLY = re.compile(r"[\d/.-]{6,10}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2}[ -][A-Za-z]{3,9}\.?[ -]\d{2,4}")
_CAPTION = re.compile(r"^[^\d]*[A-Za-z]{3}[^\d]*$")  # words without digits: a caption, not a value


def _is_labelled(ln: Line, j: int, near: Heights) -> bool:
    f = ln.frags[j]
    if j and f.x0 - ln.frags[j - 1].x1 < 120 and re.search(r"[A-Za-z]{2}", ln.frags[j - 1].text):
        return True
    above = [g for a in near.above(ln, 2.6 * ln.size) for g in a.frags if overlaps(g, f)]
    return any(_CAPTION.match(g.text) for g in above)


def _loose_date(lines: list[Line], day_first: bool | None) -> tuple[date | None, float]:
    # Some ERPs print the order date bare under the title ("Purchase Order / #PO-1275 / 2/8/25"). A date
    # with no caption beside or above it, and the only one like it on page one, is the order's date.
    found: set[date] = set()
    near = Heights(lines)
    for ln in lines:
        for j, f in enumerate(ln.frags):
            if ln.page != 0 or not _DATE_ONLY.fullmatch(f.text.strip()):
                continue
            # A date already found changes nothing, and two tell nothing: neither needs its caption looked for.
            if (parsed := parse_date(f.text, day_first)) and parsed[0] not in found:
                if not _is_labelled(ln, j, near):
                    found.add(parsed[0])
                    if len(found) > 1:
                        return None, 0.0
    return (found.pop(), 0.6) if len(found) == 1 else (None, 0.0)


# A numeric date standing alone or after a label ("Delivery Date: 14/04/2026"), not a pack size inside a
# description ("CHEESE 6/16/12 OZ").
_NUMERIC_DATE = re.compile(r"(?<![\w/.,-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/-]|[.,]\d)")
_DATE_CONTEXT = re.compile(r"(?:^|:|\bdat\w*|\bby|\bon)\s*$", re.IGNORECASE)


def document_day_first(lines: list[Line]) -> bool | None:
    """Day-first (True) or month-first (False) as the document's own unambiguous dates prove; None if they don't."""
    votes: set[bool] = set()
    for ln in lines:
        for f in ln.frags:
            for m in _NUMERIC_DATE.finditer(f.text):
                first, second = int(m[1]), int(m[3])
                if (first > 12) == (second > 12) or not _DATE_CONTEXT.search(f.text[:m.start()]):
                    continue  # 03/04/2026 proves nothing; 14/14/2026 is no date
                if parse_date(m[0]) is not None:
                    votes.add(first > 12)
    return votes.pop() if len(votes) == 1 else None  # both orders printed: the document proves nothing


def find_dates(lines: list[Line], day_first: bool | None) -> dict[str, tuple[date | None, float]]:
    """PO date and requested ship/delivery date from their labels (an uncaptioned date as a last resort)."""
    po_date = _find_date(lines, _DATE_LABEL, _SHIP_LABEL, day_first)
    return {"po_date": po_date if po_date[0] else _loose_date(lines, day_first),
            "requested_ship_date": _find_date(lines, _SHIP_LABEL, None, day_first)}


_ADDRESS_PART = re.compile(r"^(attn|attention|c/o)\b", re.I)  # "Attn: Accounts Payable" is an address line


def _is_any_label(text: str) -> bool:
    if _ADDRESS_PART.match(text):
        return False
    return bool(_ANY_LABEL.match(text)) or any(p.match(text) for p in _BLOCK_LABELS.values())


def _block(hit, lines: list[Line], stop_idx: int) -> list[str]:
    label_line, lf = hit.line, hit.frag
    out = [hit.rest] if hit.rest else []
    left = lf.x0
    beside = [f for f in label_line.frags if f.x0 > lf.x1 and f.x0 - lf.x1 < 120]
    if not hit.rest and beside and not _is_any_label(beside[0].text) and not _CONTACT.match(beside[0].text):
        out, left = [beside[0].text], beside[0].x0  # "Sold To:  Acme Foods" with the block indented under its value
    # A label to the right on the same line bounds this block's column (side-by-side blocks).
    right_labels = [f.x0 for f in label_line.frags if f.x0 > lf.x1 and _is_any_label(f.text)]
    right = min(right_labels, default=10_000.0)
    last_y, step = label_line.y, label_line.size * 1.25
    for ln in lines[label_line.idx + 1: stop_idx]:
        if ln.page != label_line.page or last_y - ln.y > 2.2 * step or len(out) >= 6:
            break
        cands = [f for f in ln.frags if left - 8 <= f.x0 < min(right - 2, left + 60)]
        if not cands:
            if any(f.x0 < left - 8 and f.x1 > left for f in ln.frags):
                break  # something spans across our column: the block is over
            continue
        f = cands[0]
        if _is_any_label(f.text) or _CONTACT.match(f.text):
            break
        out.append(f.text)
        last_y = ln.y
    return [s for s in out if s]


def find_blocks(lines: list[Line], stop_idx: int) -> dict[str, list[str]]:
    """Address blocks under 'Bill To', 'Ship To' and 'Vendor' labels, side by side or stacked."""
    found: dict[str, list[str]] = {}
    for kind, pat in _BLOCK_LABELS.items():
        for hit in find_labels(lines[:stop_idx], pat):
            if kind not in found and (block := _block(hit, lines, stop_idx)):
                found[kind] = block
    return found


_TITLE = re.compile(r"^(purchase\s*order|order|p\.?o\.?|bestellung|commande|page\b|date\b)", re.I)


def find_letterhead(lines: list[Line], stop_idx: int) -> str | None:
    """The issuing company's name: the largest non-title text near the top of page one."""
    top = [ln for ln in lines[:stop_idx] if ln.page == 0][:8]
    cands = []
    for ln in top:
        for f in ln.frags:
            t = f.text.strip()
            if (_TITLE.match(t) or _is_any_label(t) or sum(c.isdigit() for c in t) > 2 or len(t) < 3
                    or "@" in t or not re.search(r"[A-Za-z]{3}", t)):
                continue
            cands.append((f.size, -ln.idx, t))
    if not cands:
        return None
    size, _, text = max(cands)
    body = sorted(f.size for ln in lines for f in ln.frags)[len([1 for ln in lines for f in ln.frags]) // 2]
    return text if size >= body * 1.2 else None  # only text set larger than the body is a letterhead


def norm_name(s: str) -> str:
    """Company name normalized for comparison ('Driscoll Foods, Inc.' -> 'driscoll foods')."""
    s = re.sub(r"[^a-z0-9 ]", " ", s.lower())
    s = re.sub(r"\b(inc|llc|ltd|co|corp|corporation|company|gmbh|ag|sa|the)\b", " ", s)
    return " ".join(s.split())
