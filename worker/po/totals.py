"""Totals area: subtotal, freight, tax, total and other charges, read from labelled amounts."""
from __future__ import annotations

import re
from decimal import Decimal

from worker.po.doc import Line, label_starts
from worker.po.values import parse_number

_NOT_MONEY = r"(?!\s*(?:qty|quantity|cases|units|items|weight|lbs|pieces|pallets|lines|id|no\b|number|reg|#|date|" \
             r"address|to\b|instructions|via|method|terms|exempt))"
_KINDS: list[tuple[str, re.Pattern[str]]] = [(k, re.compile(p + _NOT_MONEY, re.I)) for k, p in [
    ("subtotal", r"^(sub\s*-?\s*total|merchandise(\s*total)?|net\s*total|items?\s*total|zwischensumme|summe\s*netto|"
                 r"nettobetrag|netto(summe|betrag)?|total\s*before\s*tax|goods\s*total|product\s*total|total\s*net)"),
    ("total", r"^(grand\s*total|total(?!\s*(?:tax|vat|freight|discount|shipping|charges))(\s*(amount|due|order|po|eur|usd|cad|value|gross|brutto|incl\.?\s*\w+))?|"
              r"order\s*total|po\s*total|amount\s*due|total\s*due|balance\s*due|gesamt(betrag|summe)?|endbetrag|"
              r"bruttobetrag|summe\s*brutto|gesamtsumme|total\s*\(\w+\))"),
    ("tax", r"^(sales\s*tax|tax|vat|mwst|ust|gst|hst|pst|qst|rst|tps|tvq|iva|tva|mehrwertsteuer|umsatzsteuer)"),
    ("freight", r"^(freight|shipping|delivery(\s*(charge|fee))?|transport(kosten)?|fracht(kosten)?|"
                r"versand(kosten)?|carriage)"),
    ("charge", r"^((less\s*:?\s*)?(fuel\s*surcharge|surcharge|[\w\s.%()-]*discount|rabatt|skonto|handling|pallet|"
               r"deposit|allowance|rebate|promo|small\s*order|minimum\s*order|environmental|restocking|credit)"
               r"|less\b)"),
]]
_NEGATIVE = re.compile(r"discount|rabatt|skonto|allowance|rebate|promo|credit|less\b", re.I)
_PCT = re.compile(r"\d+(?:[.,]\d+)?\s*%")


_DATE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}")
# Words between a label and its number that make the number something other than money: a weight or a
# count ("Total Gross Weight: 250 kg"), a registration or account number ("GST/HST No. 123456789"), a
# time ("Delivery Window 6 - 8 am") or payment terms ("2% Discount if paid within 10 days").
_NOT_MONEY_WORDS = re.compile(
    r"\b(?:weight|kgs?|lbs?|pounds|cartons?|ctns?|cases|boxes|pallets?|pieces|pcs|units|items|lines|count|qty|"
    r"quantity|volume|cube|no|nr|number|reg(?:istration)?|account|acct|id|window|time|hours?|days?|if\s+paid|within|"
    r"terms)\b|#", re.IGNORECASE)
# A number with a unit is a quantity, not an amount ("250 kg", "10 days", "6 - 8 am").
_WITH_UNIT = re.compile(r"(?:\d[\d.,:]*\s*(?:-|–|to)\s*)?\d[\d.,:]*\s*(?:kgs?|lbs?|am|pm|a\.m\.|p\.m\.|hrs?|hours?|days?|"
                        r"cartons?|ctns?|cases?|pcs|pieces|pallets?|units?)(?![\w.])", re.IGNORECASE)
# What may follow "Total" and still name the order's total ("Total Amount Due (USD)").
_PLAIN_TOTAL_WORDS = re.compile(r"\b(?:amount|due|payable|order|po|value|gross|brutto|incl\w*|inkl\w*|with|tax|vat|"
                                r"gst|mwst|ttc|usd|eur|cad|gbp|chf|mxn|aud)\b|[^A-Za-z]", re.IGNORECASE)


def _amount(text: str, dc: bool | None) -> Decimal | None:
    # "1 881,10 $": French-Canadian and Swiss documents group thousands with spaces.
    toks = re.findall(r"[-(]?[$€£]?\s?\d{1,3}(?: \d{3})+[.,]\d{2}\b|[-(]?[$€£]?\s?\d[\d.,']*\)?-?",
                      _PCT.sub(" ", _DATE.sub(" ", text)))
    for tok in reversed(toks):
        if (v := parse_number(tok, dc)) is not None:
            return v
    return None


def _match(text: str) -> tuple[str, re.Match[str], int] | None:
    for kind, pat in _KINDS:
        for pos in label_starts(text):  # "Sous-total / Subtotal": the English half may carry the label
            if m := pat.match(text[pos:]):
                return kind, m, pos
    return None


def _label_value(ln: Line, dc: bool | None) -> tuple[str, str, Decimal, bool] | None:
    """(kind, label, amount, qualified): qualified when more words than a plain "Total" stand before the amount."""
    for j, f in enumerate(ln.frags):
        text = f.text.strip()
        if (hit := _match(text)) is None:
            continue
        kind, m, pos = hit
        after = text[pos + m.end():] + " " + " ".join(g.text for g in ln.frags[j + 1:])
        words = re.split(r"[\d$€£(]", after, maxsplit=1)[0]  # the rest of the label, up to its value
        if _NOT_MONEY_WORDS.search(words):
            return None
        # Value: the rightmost number after the label on this line (not a percentage, not a quantity).
        if (v := _amount(_WITH_UNIT.sub(" ", after), dc)) is not None:
            return kind, m.group(0).strip().rstrip(":"), v, bool(_PLAIN_TOTAL_WORDS.sub("", words))
        return None
    return None


def _total_rank(label: str, qualified: bool) -> int:
    return 2 if "grand" in label else 0 if qualified else 1


def parse_totals(lines: list[Line], dc: bool | None) -> dict:
    """Totals found in lines (already past the item table)."""
    out: dict = {"charges": []}
    for ln in lines:
        if (hit := _label_value(ln, dc)) is None:
            continue
        kind, label, v, qualified = hit
        if kind == "charge":
            out["charges"].append((label, -abs(v) if _NEGATIVE.search(label) else v))
        elif kind == "total":
            # The last is the amount the buyer will pay, but a "grand" total beats a plain one and a plain
            # "Total" beats a later "Total <something>" ("Total Savings").
            rank = _total_rank(label.lower(), qualified)
            if rank >= out.get("total_rank", 0):
                out["total"], out["total_rank"] = v, rank
        elif kind == "tax" and "tax" in out and label.lower() not in out["tax_labels"]:
            out["tax"] += v  # GST + QST, state + county: separately printed taxes add up
            out["tax_labels"].add(label.lower())
        elif kind not in out:
            out[kind] = v
            if kind == "tax":
                out["tax_labels"] = {label.lower()}
    return out


def is_totals_label(text: str) -> bool:
    """True for subtotal/total/tax labels, which end an item table."""
    return (hit := _match(text.strip())) is not None and hit[0] in ("subtotal", "total", "tax")
