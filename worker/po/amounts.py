"""Reading an amount out of a label's text: the rightmost number that is money, or one printed alone under it."""
from __future__ import annotations

import re
from decimal import Decimal

from worker.po.doc import Line
from worker.po.money_words import CURRENCY, PCT
from worker.po.textlayer import Fragment
from worker.po.values import parse_number

# "1 881,10 $": French-Canadian and Swiss documents group thousands with spaces.
_TOKEN = re.compile(r"[-(]?[$€£]?\s?\d{1,3}(?: \d{3})+[.,]\d{2}\b|[-(]?[$€£]?\s?\d[\d.,']*\)?-?")
# A minus sign glued after a digit and before another is a range's ("2-3", "1-3 Dec" once its date is read), not a
# credit's sign.
_RANGE_DASH = re.compile(r"(?<=\d)-(?=\s*\d)")


def blank(m: re.Match[str]) -> str:
    return " " * len(m[0])


def amount(text: str, dc: bool | None, printed: str | None = None) -> tuple[Decimal, str] | None:
    """The rightmost amount in text and the token it was read from; given text as printed (the same length, before
    units or services were blanked out of it), never a negative amount whose minus sign is a range's there."""
    found = rightmost(text, dc, printed)
    return None if found is None else (found[0], found[1][0].strip())


def rightmost(text: str, dc: bool | None, printed: str | None = None) -> tuple[Decimal, re.Match[str]] | None:
    dashes = {m.start() for m in _RANGE_DASH.finditer(printed)} if printed else set()
    # Rates blanked out where they stand (dates were, by the caller), so each token's place is its place in text.
    for m in reversed(list(_TOKEN.finditer(PCT.sub(blank, text)))):
        if (v := parse_number(m[0], dc)) is not None and not (v < 0 and dashes & set(range(m.start(), m.end()))):
            return v, m
    return None



# An amount printed alone on the line under its label ("Total" / "$1,234.56", "Sales Tax" / "CHF 8.00" or "Fr.8.00"):
# money with its cents and its currency, nothing else.
CUR = rf"(?:[$€£]|{CURRENCY})"
_ALONE = re.compile(rf"[-(]?{CUR}?\s?\d[\d.,' ]*[.,]\d{{2}}\)?-?(?:\s?{CUR})?", re.IGNORECASE)


def value_below(ln: Line, f: Fragment, below: Line | None, dc: bool | None) -> tuple[Decimal, str] | None:
    """The amount under a label that has none beside it, only where nothing else could own it: the next line
    holds that amount and nothing else, close under the label and within its column or just right of it."""
    if below is None or len(below.frags) != 1 or below.page != ln.page or not 0 < ln.y - below.y <= 2.6 * ln.size:
        return None
    g = below.frags[0]
    if not _ALONE.fullmatch(g.text.strip()) or g.x1 < f.x0 - 4 or g.x0 - f.x1 > 160:
        return None
    return amount(g.text, dc)
