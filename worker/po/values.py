"""Pure parsers for the values printed on purchase orders: numbers, dates, currencies, units."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from worker.currency import currency_code, is_base_currency, is_currency_id

_US_NUM = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$|^\d+\.\d+$")
_EU_NUM = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$|^\d+,\d+$")
NUMBER = re.compile(r"(?<![\w.,])[-(]?[$€£]?\s?\d[\d.,' ]*\d(?:\)|-)?(?![\w])|(?<![\w.,])[$€£]?\d(?![\w.,])")


def decimal_comma_style(texts: list[str]) -> bool | None:
    """Guess whether a document writes 1.234,56 (True) or 1,234.56 (False) from its money-like tokens."""
    us = eu = 0
    for t in texts:
        for tok in re.findall(r"\d[\d.,]*\d", t):
            # Only tokens with exactly two decimals are unambiguous enough to vote.
            if re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", tok):
                us += 1
            elif re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2}", tok):
                eu += 1
    if us == eu:
        return None
    return eu > us


# "45.50/CS", "$45.50 per case": a price per unit. A bare "12/CS" stays unread: it reads as a pack size.
_PER_UNIT = re.compile(r"(?P<num>[^/]*\d)\s*(?:/|\bper\s)\s*(?P<unit>[A-Za-z]{1,8}\.?)", re.IGNORECASE)
_PRICE_LIKE = re.compile(r"[$€£]|\d[.,]\d{1,4}$")


def _per_unit(s: str) -> tuple[str, str] | None:
    """(number text, unit code) of a price printed per a known unit; None for anything else."""
    if (m := _PER_UNIT.fullmatch(s)) and (unit := normalize_uom(m["unit"])) and _PRICE_LIKE.search(m["num"]):
        return m["num"], unit
    return None


def _cleaned(text: str) -> str:
    return text.strip().replace("\u2212", "-").replace("\u00a0", " ")


def price_unit(text: str) -> str | None:
    """The unit code a price cell is printed per ('3.89/LB' -> 'LB'); None when it names no unit."""
    found = _per_unit(_cleaned(text))
    return found[1] if found else None


def parse_number(text: str, decimal_comma: bool | None = None) -> Decimal | None:
    """Parse '1,234.56', '1.234,56', '$ 12', '(5.00)', '-5,00 €', '45.50/CS' into a Decimal; None if not a number."""
    s = _cleaned(text)
    if found := _per_unit(s):
        s = found[0]
    s = re.sub(r"^(USD|EUR|CAD|GBP|US\$|CA\$|C\$)\s*|\s*(USD|EUR|CAD|GBP)$", "", s)
    s = s.strip().strip("$€£").strip()
    neg = False
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1]
    if s.startswith("-"):
        neg, s = True, s[1:]
    elif s.endswith("-"):  # some ERPs print trailing minus signs
        neg, s = True, s[:-1]
    s = s.strip().strip("$€£").strip().replace("'", "").replace(" ", "")
    if not re.fullmatch(r"\d[\d.,]*", s) or s.endswith((".", ",")):
        return None
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        if _EU_NUM.match(s) and (decimal_comma or not re.fullmatch(r"\d{1,3}(,\d{3})+", s)):
            s = s.replace(".", "").replace(",", ".")
        elif re.fullmatch(r"\d{1,3}(,\d{3})+", s):
            s = s.replace(",", "")
        else:
            return None
    elif "." in s:
        if decimal_comma and re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
            s = s.replace(".", "")
        elif s.count(".") > 1:
            return None
    try:
        v = Decimal(s)
    except InvalidOperation:
        return None
    return -v if neg else v


_MONTHS = {m: i + 1 for i, names in enumerate([
    "jan january januar janv enero gennaio", "feb february februar fevr febrero", "mar march märz maerz mars marzo",
    "apr april avr abril", "may mai mayo maggio", "jun june juni juin junio", "jul july juli juil julio",
    "aug august aout agosto", "sep sept september septembre", "oct october oktober okt octobre",
    "nov november novembre", "dec december dezember dez decembre diciembre"]) for m in names.split()}
_M = r"([A-Za-zäéû]{3,9})\.?"


def _mk(y: int, m: int, d: int) -> date | None:
    if y < 100:
        y += 2000
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_date(text: str, day_first: bool | None = None) -> tuple[date, bool] | None:
    """Find a date in text; returns (date, ambiguous) where ambiguous means day/month order was guessed."""
    s = text.strip()
    if m := re.search(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)", s):
        d = _mk(int(m[1]), int(m[2]), int(m[3]))
        return (d, False) if d else None
    if m := re.search(r"(?<!\d)(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?!\d)", s):
        a, b, y = int(m[1]), int(m[3]), int(m[4])
        if day_first is None:
            day_first = m[2] == "."  # dotted dates are European by convention
        if a > 12 or b > 12:
            d = _mk(y, b, a) if a > 12 else _mk(y, a, b)
            return (d, False) if d else None
        d = _mk(y, b, a) if day_first else _mk(y, a, b)
        return (d, a != b) if d else None
    if m := re.search(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?[ .-]+" + _M + r"[ ,.-]+(\d{4}|\d{2})(?!\d)", s):
        if (mo := _MONTHS.get(m[2].lower())) and (d := _mk(int(m[3]), mo, int(m[1]))):
            return d, False
    if m := re.search(_M + r"[ .-]+(\d{1,2})(?:st|nd|rd|th)?,?[ .-]+(\d{4})(?!\d)", s):
        if (mo := _MONTHS.get(m[1].lower())) and (d := _mk(int(m[3]), mo, int(m[2]))):
            return d, False
    return None


_CODES = ("USD", "EUR", "CAD", "GBP", "CHF", "MXN", "AUD")
# A lone "$" is written for US, Canadian, Australian … dollars (and Mexican pesos) alike: read as US dollars, the
# price list's, with this confidence of its own, so a review can book a customer of another "$" currency in its.
DOLLAR_SIGN_ONLY = 0.7
# Currencies other than US dollars written with a bare "$" too, by ISO code; a name saying "dollar" is one as well.
_DOLLAR_SIGN_CODES = frozenset({"CAD", "AUD", "NZD", "HKD", "SGD", "MXN"})


def detect_currency(texts: list[str]) -> tuple[str | None, float]:
    """Currency ISO code from codes or symbols in the document, with a confidence (DOLLAR_SIGN_ONLY for US
    dollars read from a bare "$" alone)."""
    joined = "\n".join(texts)
    if m := re.search(r"currency\s*[:\-]?\s*([A-Z]{3})\b", joined, re.I):
        if m[1].upper() in _CODES:
            return m[1].upper(), 0.95
    codes = {c for c in _CODES if re.search(rf"\b{c}\b", joined)}
    if re.search(r"\b(C\$|CA\$|CDN\$)", joined):
        codes.add("CAD")
    if re.search(r"\bUS\$", joined):  # US dollars named, not a bare "$"
        codes.add("USD")
    if len(codes) == 1:
        return codes.pop(), 0.9
    if len(codes) > 1:
        return None, 0.0
    syms = {c for s, c in (("€", "EUR"), ("£", "GBP"), ("$", "USD")) if s in joined}
    if len(syms) == 1:
        found = syms.pop()
        return found, DOLLAR_SIGN_ONLY if found == "USD" else 0.8
    return None, 0.0


def dollar_sign_only(parsed: Mapping[str, Any]) -> bool:
    """Whether a parsed PO's currency is US dollars only for a bare "$" on it (detect_currency's reading)."""
    confidence = parsed.get("confidence")
    return (parsed.get("currency") == "USD" and isinstance(confidence, dict)
            and confidence.get("currency") == DOLLAR_SIGN_ONLY)


def written_with_dollar_sign(currency: str | None) -> bool:
    """A currency other than US dollars that a bare "$" may stand for: a code of _DOLLAR_SIGN_CODES or its record's
    name ("Mexican Peso"), or a name saying "dollar" ("Canadian Dollar"); an internal id alone ("3") is not known
    to be one."""
    text = " ".join((currency or "").split())
    if is_base_currency(text) or is_currency_id(text):
        return False
    return currency_code(text) in _DOLLAR_SIGN_CODES or "dollar" in text.lower()


_US_ZIP = re.compile(r"\b(A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|S[CD]|"
                     r"T[NX]|UT|V[AT]|W[AIVY])\.?,?\s+\d{5}(-\d{4})?\b")


def currency_by_address(address_lines: list[str]) -> tuple[str | None, float]:
    """USD when the buyer's own bill-to/ship-to address is in the US and nothing names a currency."""
    # A US distributor's US customers are billed in dollars; we only look at the buyer's blocks because
    # our own (US) address is printed on foreign orders too.
    if any(_US_ZIP.search(s) for s in address_lines):
        return "USD", 0.6
    return None, 0.0


_UOMS = {"CS": "CS", "CASE": "CS", "CASES": "CS", "CA": "CS", "EA": "EA", "EACH": "EA", "LB": "LB", "LBS": "LB",
         "BX": "BX", "BOX": "BX", "BOXES": "BX", "PK": "PK", "PACK": "PK", "PACKS": "PK", "KG": "KG", "BG": "BG",
         "BAG": "BG", "BAGS": "BG", "GAL": "GAL", "DZ": "DZ", "DOZ": "DZ", "CT": "CT", "PC": "PC", "PCS": "PC",
         "BTL": "BTL", "CN": "CN", "CAN": "CN", "TR": "TR", "TRAY": "TR", "PL": "PL", "PAIL": "PL", "JAR": "JAR",
         "ST": "ST", "STK": "ST", "KT": "KT", "KRT": "KRT", "KARTON": "KRT", "STUECK": "ST", "STÜCK": "ST",
         "CTN": "CTN", "POUND": "LB", "POUNDS": "LB", "DOZEN": "DZ", "GALLON": "GAL", "BOTTLE": "BTL", "BU": "BU", "BUNCH": "BU", "BDL": "BDL", "RL": "RL", "ROLL": "RL", "CASE(S)": "CS"}


def normalize_uom(text: str) -> str | None:
    """Canonical unit code for a printed unit ('cases' -> 'CS'); None when it is not a known unit."""
    t = text.strip().strip(".").upper()
    return _UOMS.get(t)


# Printed for "nothing here" ("-", "N/C"): an empty cell, not one we failed to read.
_PLACEHOLDER = re.compile(r"[-–—*.]*|n/?a|n/?c|none|free|tbd", re.IGNORECASE)


def _accounting(text: str) -> tuple[bool, str]:
    """(negative, rest) for a quantity printed as '(2)', '(2) CS' or '(2 CS)'."""
    if m := re.fullmatch(r"\(([^()]+)\)\s*([^()]*)", text.strip()):
        return True, f"{m[1].strip()} {m[2]}".strip()
    return False, text


def split_qty_uom(text: str, decimal_comma: bool | None) -> tuple[Decimal | None, str | None]:
    """Split a quantity cell like '12 CS', '4 cases', '10.5LB', '-2', '(2) CS' into (quantity, unit)."""
    neg, s = _accounting(text.replace("\u2212", "-"))
    # A trailing minus ("2-") is an ERP's credit; "2-PK" is not a number.
    m = re.fullmatch(r"\s*(-)?\s*(\d[\d.,]*)(-(?![A-Za-z]))?\s*([A-Za-zÄÖÜäöü()]{1,8}\.?)?\s*", s)
    if not m or (neg and (m[1] or m[3])) or (m[1] and m[3]):
        return None, None
    qty = parse_number(m[2], decimal_comma)
    uom = normalize_uom(m[4]) if m[4] else None
    if m[4] and uom is None:
        return None, None
    if qty is not None and (neg or m[1] or m[3]):
        qty = -qty
    return qty, uom


def unread_cells(cells: dict[str, str], qty: Decimal | None, price: Decimal | None,
                 amount: Decimal | None) -> dict[str, str]:
    """A row's number cells (role -> text) that hold printed text which was not read as a number."""
    read = {"qty": qty, "unit_price": price, "amount": amount}
    return {role: text for role, value in read.items()
            if value is None and (text := cells.get(role, "").strip()) and not _PLACEHOLDER.fullmatch(text)}
