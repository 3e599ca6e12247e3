"""Totals area: subtotal, freight, tax, total and other charges, read from labelled amounts."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

from worker.po.amounts import CUR, amount, blank, rightmost, value_below
from worker.po.doc import Line, label_starts
from worker.po.money_words import (
    CURRENCY,
    DATE,
    DAY_RANGE,
    ESTIMATED,
    FREIGHT_NOT_MONEY,
    KINDS,
    NOT_MONEY_WORDS,
    PCT,
    PLAIN_TOTAL_WORDS,
    SERVICE,
    TAX_ID,
    WITH_UNIT,
    is_discount,
    is_payment,
    read_charge,
)

_ESTIMATED = re.compile(ESTIMATED, re.IGNORECASE)


class Printed(NamedTuple):
    """A charge or a payment as printed: its label, its amount (a charge's signed) and the index of its line."""

    label: str
    amount: Decimal
    line: int


def _match(text: str) -> tuple[str, re.Match[str], int] | None:
    for kind, pat in KINDS:
        for pos in label_starts(text):  # "Sous-total / Subtotal": the English half may carry the label
            if (m := pat.match(text[pos:])) and (kind != "payment" or is_payment(text[pos:])):
                return kind, m, pos
    return None


_LABEL_END = re.compile(rf"(?:[\s:=$€£-]|\b{CURRENCY})+$", re.IGNORECASE)


class _Hit(NamedTuple):
    kind: str
    label: str  # the label's matched words ("Total", "Sales Tax")
    printed: str  # the whole label as printed, up to its amount ("Promo credit", "Credit card fee (3%)")
    amount: Decimal
    token: str  # the amount as printed
    qualified: bool  # more words than a plain "Total" stand before the amount
    aside: str | None = None  # why a freight's amount may be no money ("a year", "a date": _freight_amount)


class SetAside(NamedTuple):
    """A freight's amount that may be no money (a year, a weekday's day, a truckload's count, a range of days), set
    aside for the parser to take where the order's numbers prove it (or the totals area prints no cents)."""

    label: str
    amount: Decimal
    line: int
    why: str
    whole: bool  # the totals area prints its other amounts without cents



# A freight printed as a year could be ("Shipping 2026": 19xx or 20xx, no cents, no currency sign or code beside it) is
# set aside (SetAside) as a weekday's day is.
_YEARLIKE = re.compile(r"(?:19|20)\d\d")
_CENTS = re.compile(r"\d[.,]\d{2}\)?-?$")


def _bare_year(whole: str, tok: str) -> bool:
    at = whole.rfind(tok)
    return bool(_YEARLIKE.fullmatch(tok)) and not re.search(rf"{CUR}\s*$", whole[:at], re.IGNORECASE) \
        and not re.match(rf"\s*{CUR}", whole[at + len(tok):], re.IGNORECASE)




def _freight_amount(money: str, after: str, dc: bool | None) -> tuple[tuple[Decimal, str] | None, str | None]:
    """The freight's amount beside its label, and why it may be no money when only the reading of dates and units
    before weekdays, truckloads and day ranges were known finds it (then the parser decides: SetAside)."""
    strict = money
    for _, pat in FREIGHT_NOT_MONEY:
        strict = pat.sub(blank, strict)
    if (found := amount(strict, dc, after)) is not None:
        return found, None
    if (lax := rightmost(SERVICE.sub(blank, DATE.sub(blank, money)), dc, after)) is None:
        return None, None
    v, m = lax
    for why, pat in FREIGHT_NOT_MONEY[:-1]:
        money = pat.sub(blank, money)
        if not money[m.start():m.end()].strip():
            return (v, m[0].strip()), why
    return None, None


def _label_value(ln: Line, dc: bool | None, below: Line | None = None) -> _Hit | None:
    for j, f in enumerate(ln.frags):
        text = f.text.strip()
        if (hit := _match(text)) is None:
            continue
        kind, m, pos = hit
        after = text[pos + m.end():] + " " + " ".join(g.text for g in ln.frags[j + 1:])
        # The rest of the label, up to its value; one ending the line ends with a space, as a word before a value
        # does: "Total" + "Fr" printed apart, the amount below, is "Total Fr" (PLAIN_TOTAL_WORDS), no qualified total.
        words = re.split(r"[\d$€£(]", after + " ", maxsplit=1)[0]
        if NOT_MONEY_WORDS.search(words):
            return None
        # Value: the rightmost number after the label on this line (not a percentage, not a quantity), or, with
        # no digit after the label but a rate ("MwSt 7.7%" / "Fr.47.51"), an amount alone on the line below.
        money, aside = WITH_UNIT.sub(blank, after), None
        if kind in ("tax", "tax_total"):
            money = TAX_ID.sub(blank, money)  # "VAT: DE123456789" is the buyer's registration, not its tax
        # Beside a freight label a range ("Dec 1-3", "2-3rd day") is no credit: it is found in the label as printed.
        if kind == "freight":
            found, aside = _freight_amount(money, after, dc)
        elif kind == "charge" and re.search(r"\bhandling\b", m[0], re.IGNORECASE):
            # A lead time beside handling too ("Est. Handling: 2-3" was a charge of 3).
            found = amount(DAY_RANGE.sub(blank, DATE.sub(blank, money)), dc, after)
        else:
            found = amount(DATE.sub(blank, money), dc)
        if found is not None:
            v, tok = found
            whole = text[pos:m.end() + pos] + after
            printed = " ".join(_LABEL_END.sub("", whole[:whole.rfind(tok)]).split())
            aside = aside or ("a year" if kind == "freight" and _bare_year(whole, tok) else None)
        elif not re.search(r"\d", PCT.sub(" ", after)) and (found := value_below(ln, f, below, dc)) is not None:
            v, tok = found
            printed = " ".join(_LABEL_END.sub("", text[pos:] + after).split())
        else:
            return None
        return _Hit(kind, m.group(0).strip().rstrip(":"), printed, v, tok, bool(PLAIN_TOTAL_WORDS.sub("", words)),
                    aside)
    return None


def _total_rank(label: str, qualified: bool) -> int:
    return 2 if "grand" in label else 0 if qualified else 1


def parse_totals(lines: list[Line], dc: bool | None) -> dict:
    """Totals found in lines (already past the item table): subtotal, freight, tax, total (each if printed),
    subtotal_line and freight_line (their line indexes), charges and payments (lists of Printed), balance (what the PO
    says is left to pay after its payments, if it prints one) and freight_aside (SetAside), a freight that may be no
    money, for the parser to take or leave where no other freight is printed."""
    out: dict = {"charges": [], "payments": []}
    hits = [(ln, hit) for ln, below in zip(lines, [*lines[1:], None]) if (hit := _label_value(ln, dc, below))]
    cents = [bool(_CENTS.search(hit.token)) for _, hit in hits if not hit.aside]
    aside: SetAside | None = None
    estimated_sub = False
    for ln, hit in hits:
        kind, label, v = hit.kind, hit.label, hit.amount
        if kind == "freight" and is_discount(hit.printed):
            kind = "charge"  # "Shipping discount", "Freight allowance", "Delivery credit"
        elif kind == "freight" and hit.aside:
            aside = aside or SetAside(hit.printed, v, ln.idx, hit.aside, not any(cents))
            continue
        if kind in ("charge", "payment"):
            read = read_charge(hit.printed, v)
            # A payment is money printed with its cents: "Payment: Net 30" is a term.
            if read is not None and (read[0] == "charge" or re.search(r"\d[.,]\d{2}\b", hit.token)):
                out[read[0] + "s"].append(Printed(hit.printed, read[1], ln.idx))
        elif kind == "total" and out["payments"]:
            # After a payment, a total is what is left to pay ("Balance due"): the order's total is before it.
            out["balance"] = v
        elif kind == "total":
            # The last is the amount the buyer will pay, but a "grand" total beats a plain one and a plain
            # "Total" beats a later "Total <something>" ("Total Savings"); a balance never replaces a total.
            rank = _total_rank(label.lower(), hit.qualified)
            if rank >= out.get("total_rank", 0) and not ("total" in out and "balance" in label.lower()):
                out["total"], out["total_rank"] = v, rank
        elif kind == "tax":
            # Every tax line adds up (GST + QST, state + county, VAT 7% + VAT 19%); the same line printed again
            # (a summary repeating it) is one tax.
            _add_tax(out.setdefault("tax_lines", []), hit.printed, v)
        elif kind == "tax_total":
            out["tax_total"] = v
        elif kind not in out or (kind == "subtotal" and estimated_sub and not _ESTIMATED.match(label)):
            # A plain subtotal replaces an estimated one printed before it ("Est. Subtotal", then "Subtotal").
            out[kind] = v
            estimated_sub = estimated_sub if kind != "subtotal" else bool(_ESTIMATED.match(label))
            if kind in ("subtotal", "freight"):
                out[kind + "_line"] = ln.idx  # the parser reads a freight above the subtotal as maybe inside it
    if aside is not None and "freight" not in out:
        if aside.whole and "total" not in out:  # whole amounts and no total to tell: money, as the others are
            out["freight"], out["freight_line"] = aside.amount, aside.line
        else:
            out["freight_aside"] = aside
    return _sum_taxes(out)


# A tax line's rate ("8.25%", "(7 %)", "@ 6.625%"): a tax printed again with or without it is the same tax.
_RATE = re.compile(r"[(@]*\s*\d[\d.,]*\s*%\s*\)?")


def printed_name(label: str) -> str:
    """A tax's or charge's name without its rate, case or punctuation: the same line printed again in another place
    ("Fuel Surcharge: 2%" in the item table, "Fuel surcharge" in the totals area) has the same name."""
    return " ".join(re.sub(r"[^\w\s]", " ", _RATE.sub(" ", label).lower()).split())


def _add_tax(lines: list[tuple[str, str | None, Decimal]], printed: str, amount: Decimal) -> None:
    """Add a tax line unless it repeats one read already: the same name and amount, and the same rate or a rate on
    only one of them ("Sales Tax 8.25% 50.90" in the totals and "Sales Tax 50.90" in a summary). VAT 7% and VAT 19%
    of the same amount stay two taxes."""
    rate = m[0] if (m := _RATE.search(printed)) else None
    name = printed_name(printed)
    rate = re.sub(r"[^\d.,]", "", rate) if rate else None
    if not any(n == name and a == amount and (r is None or rate is None or r == rate) for n, r, a in lines):
        lines.append((name, rate, amount))


def _sum_taxes(out: dict) -> dict:
    """The order's tax: the tax total the PO prints ("Total tax"), which is its tax lines' sum and never added to
    them, else the sum of its tax lines. tax_lines_sum is kept beside a printed total that differs from it."""
    lines = out.pop("tax_lines", [])
    summed = sum((amount for _, _, amount in lines), Decimal(0)) if lines else None
    if (stated := out.pop("tax_total", None)) is not None:
        out["tax"] = stated
        if summed is not None and summed != stated:
            out["tax_lines_sum"] = summed
    elif summed is not None:
        out["tax"] = summed
    return out


def is_totals_label(text: str) -> bool:
    """True for subtotal/total/tax labels, which end an item table."""
    return (hit := _match(text.strip())) is not None and hit[0] in ("subtotal", "total", "tax", "tax_total")
