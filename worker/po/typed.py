"""Order lines typed into an email's text ("12 cs DF-10023", "DF-10023 x 4 @ 31.50"): pure candidates.

A candidate is only a guess: the intake keeps one when its code is a known item (or its description is
close to one) or when the line has an order line's shape ("2 cs XYZ-9": a code the customer has not used
before, for the reviewer to map), so a phone number in a sentence never becomes an order line. Quoted replies
('> ...') and what follows a reply header are skipped: they repeat an older message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from worker.po.values import _UOMS, normalize_uom, parse_number

MAX_CANDIDATES = 200  # an order typed by hand is short; a pasted catalogue is not an order
# A typed order line is an item or a short list of items ("10 cs DF-10023, 4 cs DF-20011"), tens of characters;
# a longer line is a paragraph or a pasted blob, not read. The patterns are linear in a line's length (bounded
# description and look-back), and this bound keeps whatever they miss cheap on hostile mail.
MAX_LINE_CHARS = 1000

_UOM = "|".join(sorted((re.escape(u) for u in _UOMS), key=len, reverse=True))
# 1,200 | 1.234,50 | 45,50 | 12: read by parse_number; never part of a longer number ("1,2000" is not 2000).
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d{1,4})?|\d{1,3}(?:\.\d{3})+(?:,\d{1,4})?|\d{1,7}(?:\.\d{1,4}|,\d{1,2})?)(?![.,]?\d)"
_QTY = rf"(?<![#/])(?P<qty>{_NUM})"  # '#10' is a can size and the 5 of '4/5' a pack's size: no quantity
_UNIT = rf"(?:\s*(?P<uom>{_UOM})\.?)"
# A code has a digit (a word is a description), is not a date and is not a pack/size ('4/5#', '4/5lb', '12/1 qt').
_PACK = r"\d{1,3}/\d{1,4}(?:\.\d{1,2})?[A-Z]{0,4}(?![A-Z0-9./-])"
_CODE = (r"(?P<code>(?=[A-Z0-9./-]*\d)(?!\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?![A-Z0-9]))"
         rf"(?!{_PACK})[A-Z0-9][A-Z0-9./-]{{1,30}}[A-Z0-9])")
_PRICE = rf"(?:\s*(?:@|at)\s*\$?\s*(?P<price>{_NUM})(?:\s*/\s*[A-Z]{{1,6}})?)?"
_END = r"(?![A-Z0-9./-])"
_STOP = r"\s*(?:[,;+]|\band\b)\s*\d|\s*(?:@|\bat\b)\s*\$?\s*\d"  # the next line's quantity, or a price
_REST = rf"(?P<rest>(?:(?!{_STOP})[^\n])*)"
# 12 cs DF-10023 ... | 12 x DF-10023 | 12 cases of DF-10023 (anywhere in a sentence)
_QTY_FIRST = re.compile(rf"(?<![\w.$/-]){_QTY}{_UNIT}?\s*(?:x|×|of)?\s+#?{_CODE}{_END}{_REST}{_PRICE}", re.I)
# DF-10023 - Fries 4/5#: 12 cs | DF-10023 x 12 | item DF-10023 qty 12 cases | DF-10023 12 cs
# A dash separates only between spaces: in 'Fries DF-10023' it is part of a code, and 10023 no quantity.
# Characters between a code and its quantity: an item's description and sizes are far shorter. Unbounded, each
# code scanned the rest of the line, so a line of many codes took quadratic time (20,000 characters: ~50 s).
_MAX_DESCRIPTION = 120
_MARK = r"\bx|×|\bqty:?|\bquantity:?|[:=]"  # '\b': the X of 'BOX 12' separates nothing
_SEPARATOR = rf"\s*(?:{_MARK}|,)\s*|\s+[-–]\s+"
# What may follow an item's quantity (and price): the end of the line or the next item of a list.
_ITEM_END = r"(?=\s*(?:[,;+]|\band\b|$))"
# No separator and number later in the item ("DF-13384 50 LB FLOUR x 6": 6 is the quantity, 50 LB a size).
_NO_LATER = rf"(?!(?:(?!\band\b)[^,;+@\n]){{0,{_MAX_DESCRIPTION}}}?(?:\s*(?:{_MARK})\s*|\s+[-–]\s+)\d)"
# The quantity is the number after the item's last separator; a pack size in the description is none. So a number
# glued to a unit ('15DZ', '10LB', '10#': glued) set off by spaces alone (spaced) after description words
# (described) is a size even at the end; any other number that does not end the item is a quantity only when
# it is not glued, is not spaced after description words ('EGGS 15 DZ - 3 cs') and no separator and number
# follow. A ratio ('80/20') never is: see _QTY and _END.
_CODE_FIRST = re.compile(rf"(?<![\w.$/-])#?{_CODE}{_END}"
                         rf"(?P<rest>(?:[^@\n]{{0,{_MAX_DESCRIPTION}}}?(?P<described>[^\s@\n]))??)"
                         rf"(?:{_SEPARATOR}|(?P<spaced>\s+))"
                         rf"{_QTY}(?:(?=[A-Z#])(?P<glued>)|(?![A-Z#])){_UNIT}?{_END}{_PRICE}"
                         r"(?(glued)(?(spaced)(?(described)(?!))))"
                         rf"(?:{_ITEM_END}|(?(glued)(?!))(?(spaced)(?(described)(?!))){_NO_LATER})", re.IGNORECASE)
# 3 cases romaine hearts (a line that starts with a quantity and a unit: described, not coded)
_DESCRIBED = re.compile(rf"^{_QTY}{_UNIT}\s+(?:of\s+)?(?P<desc>[A-Z][^@\n]{{2,80}}?){_PRICE}\s*$", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,3}[.)](?!\d))\s*")
_REPLY = re.compile(r"^(?:on .{4,200} wrote:|-{2,}\s*original message\s*-{2,}|_{10,})\s*$", re.I)
_SIGNATURE = "-- "
# "1," of "1,2000": a number, not a list separator. Searched only in the _NUMBER_TAIL characters before a quantity,
# never the whole line before it (that made a line of many candidates quadratic); a number is never that long.
_AFTER_NUMBER = re.compile(r"(?<![\w.,/-])\d[\d.,]*,$")
_NUMBER_TAIL = 40
# A mail address: a line naming one is a header, a bounce or a signature ("554 Too many hops 19 (17 max): from
# <admin@example.org>"), never an order line ("@ 31.50" is a price, not an address). Tried only where a word
# starts: tried at each character of a long word, it was quadratic.
_ADDRESS = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class TypedLine:
    """One order line as typed: a code or a description, a quantity, maybe a unit and a price."""

    quantity: Decimal
    uom: str | None
    code: str | None
    description: str | None
    unit_price: Decimal | None
    text: str  # the line it was read from
    listed: bool  # the line is an order line by its shape (it starts with a quantity and unit, or a code and quantity)


def order_text_lines(text: str) -> list[str]:
    """The lines of a message that are its own: no quoted reply, nothing after a signature or reply header."""
    own = []
    for line in text.splitlines():
        if line == _SIGNATURE or _REPLY.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            own.append(line.strip())
    return own


def _description(rest: str) -> str | None:
    text = rest.strip(" \t-–:,;.()")
    return text or None


def _typed(match: re.Match[str], line: str, code: str | None, description: str | None,
           listed: bool) -> TypedLine | None:
    start = match.start("qty")
    if _AFTER_NUMBER.search(match.string, max(0, start - _NUMBER_TAIL), start):
        return None  # the tail of a malformed number ("1,2000" is not 2000); "DF-10023,4 cs" is a list
    quantity = parse_number(match["qty"], False)
    if quantity is None or quantity <= 0:
        return None
    uom = normalize_uom(match["uom"]) if match["uom"] else None
    price = parse_number(match["price"], False) if match["price"] else None
    return TypedLine(quantity, uom, code.upper() if code else None, description, price, line, listed)


def _read_line(line: str) -> list[TypedLine]:
    if _ADDRESS.search(line):
        return []
    body = _BULLET.sub("", line)
    # A typed list line ("12 cs DF-10023 Fries 4/5#") describes its item after the code; in a sentence
    # ("send 10 cases of DF-10023 by Friday") what follows is prose.
    found = [_typed(m, line, m["code"], _description(m["rest"]) if m.start() == 0 else None,
                    m.start() == 0 and m["uom"] is not None) for m in _QTY_FIRST.finditer(body)]
    if not any(found):
        found = [_typed(m, line, m["code"], _description(m["rest"]), m.start() == 0)
                 for m in _CODE_FIRST.finditer(body)]
    if not any(found) and (m := _DESCRIBED.match(body)):
        found = [_typed(m, line, None, _description(m["desc"]), False)]  # kept only when it resembles an item
    # In prose, "<number> <number>" is a date, a time, an amount or a phone number far more often than an
    # order line: a code without letters counts there only after a unit ("10 cases of 5001").
    return [t for t in found if t is not None and (t.listed or t.uom is not None or _has_letter(t.code))]


def _has_letter(code: str | None) -> bool:
    return code is None or any(c.isalpha() for c in code)


def typed_lines(text: str) -> list[TypedLine]:
    """Candidate order lines of an email's own text, in order (at most MAX_CANDIDATES)."""
    out: list[TypedLine] = []
    for line in order_text_lines(text):
        if len(line) > MAX_LINE_CHARS:
            continue
        out += _read_line(line)
        if len(out) >= MAX_CANDIDATES:
            return out[:MAX_CANDIDATES]
    return out
