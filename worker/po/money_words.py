"""The words of the totals area: its labels' vocabulary (which kind of amount a label names) and what beside a
label is no money (dates, units, counts, identifiers, payment terms)."""
from __future__ import annotations

import re
from decimal import Decimal

# A currency's code, or Swiss francs abbreviated with their dot ("Fr.12.50", "SFr.12.50"; without it "FR12345678901" is
# a French VAT number): printed before or after an amount, glued to it or not, it is part of the amount, not the label.
CURRENCY = r"(?:(?:usd|eur|cad|gbp|chf|mxn|aud)(?![^\W\d_])|s?fr\.)"
_NOT_MONEY = r"(?!\s*(?:qty|quantity|cases|units|items|weight|lbs|pieces|pallets|lines|id|no\b|number|reg|#|date|" \
             r"address|to\b|instructions|via|method|terms|exempt))"
# Tax lines: each one printed is read and they add up (GST + QST, state + county tax, VAT at two rates). A tax's
# name may follow a jurisdiction ("State Tax", "Cook County Tax", "City of Chicago Tax", "NJ Sales Tax"), any words
# before "sales tax" ("Ohio Sales Tax") and any before a tax printed with its rate ("Denver Tax 4.81%"), but never
# words that make it a net or gross amount ("Amount before tax", "Total excl. VAT", "Taxable amount").
_TAX_WORD = r"(?:sales\s*(?:(?:&|and)\s*use\s*)?tax(?:es)?|use\s*tax|tax(?:es)?|" \
            r"vat|mwst|ust|gst|hst|pst|qst|rst|tps|tvq|iva|tva|mehrwertsteuer|umsatzsteuer)"
_JURIS = r"state|county|city|local|municipal(?:ity)?|provincial|province|federal|district|transit|parish|borough|" \
         r"town(?:ship)?|village|regional|territorial|metro|combined|special"
_NOT_TAX_WORD = r"(?!(?:total|totals|sub\s*-?\s*total|amount|before|after|excl\w*|exkl\w*|ex|without|w/o|net|incl\w*|" \
                r"inkl\w*|with|plus|zzgl|taxable|non|nontaxable|exempt|free|value|base|goods|prices?|less)\b)"
_WORD = rf"{_NOT_TAX_WORD}[^\W\d_][\w.'&-]*\s+"
# A whole word, not a compound ("Tax-exempt", "USt-IdNr.") nor a permit's number ("Sales tax license 123456").
# Nor a tax's basis, code or rate ("State Tax Basis 617.00", "County Tax Code 23", "City Tax Jurisdiction 4401").
_TAX_END = r"(?![^\W\d_]|-[^\W\d_])(?!\s*(?:licen[cs]e|permit|certificate|cert\b|basis|base\b|code|jurisdiction|" \
           r"area\b|class\b|group\b|year\b|rate\b|zone\b|region\b|authority|status\b))"
# A tax printed as an estimate ("Estimated Tax", "Est. Tax", "Approx. VAT") is the order's tax, as "Tax (est.)" is.
# Public: table.py reads the item table's charge rows printed as estimates ("Est. Freight") with it too.
ESTIMATED = r"(?:(?:estimated|approximate|projected)\s+|(?:est|approx)(?:\.\s*|\s+))"
# A charge row of the item table that is the freight ("Shipping", "Freight charge"), printed as an estimate too
# ("Estimated shipping", "Est. Freight charge"), as the totals area reads it.
FREIGHT_ROW = re.compile(rf"^(?:{ESTIMATED})?(?:freight|shipping|delivery)", re.IGNORECASE)
_TAX = (rf"^(?:{ESTIMATED})?(?:{_TAX_WORD}"
        rf"|(?:{_WORD}){{0,2}}?(?:{_JURIS}|{_NOT_TAX_WORD}(?-i:[A-Z]{{2}}))\s+(?:{_WORD}){{0,2}}?{_TAX_WORD}"
        rf"|(?:{_WORD}){{1,3}}?(?:sales\s*(?:(?:&|and)\s*use\s*)?|use\s*)tax(?:es)?"
        rf"|(?:{_WORD}){{1,3}}?{_TAX_WORD}(?=\s*\(?\s*@?\s*\d[\d.,]*\s*%)){_TAX_END}")
# The sum of the tax lines as printed ("Total tax", "Tax total", "Total VAT", "Summe MwSt"), not one more tax; printed
# as an estimate too ("Estimated Total Tax", "Est. Tax Total").
_TAX_TOTAL = rf"^(?:{ESTIMATED})?" \
             r"(?:total\s*(?:sales\s*)?(?:tax(?:es)?|vat|mwst|ust|gst|hst|pst|qst|iva|tva)(?:\s*amount)?|" \
             r"(?:sales\s*)?(?:tax(?:es)?|vat|mwst|ust|gst|iva|tva)\s*(?:total|gesamt|summe)|" \
             rf"(?:summe|gesamt)\s*(?:mwst|ust)){_TAX_END}(?!\s*(?:incl|inkl))"
# A payment made against the order (a deposit, a payment received, a credit applied) lowers what is left to
# pay, not the order's price: it is neither a charge nor a discount. Not one: a discount or fee that names a
# payment ("Early payment discount", "Payment processing fee"), freight or tax terms ("Freight prepaid"), a
# container deposit ("Bottle deposit"), and the balance after it.
_PAYMENT_WORDS = r"paid|(?:pre)?payments?|applied|deposits?|(?:amount|cash|check|cheque)\s+received"
_PAYMENT = re.compile(rf"\b(?:{_PAYMENT_WORDS})\b", re.IGNORECASE)
_NOT_PAYMENT = re.compile(
    r"\b(?:discounts?|rabatt|skonto|coupons?|promo\w*|rebates?|allowances?|markdowns?|surcharges?|fees?|charges?)\b|"
    r"^\W*(?:freight|shipping|delivery|carriage|"
    r"(?:sales\s*)?tax|balance|amount\s+due|total\s+due)\b|\b(?:bottle|keg|can|crate|container|pallet)s?\s+deposit",
    re.IGNORECASE)
KINDS: list[tuple[str, re.Pattern[str]]] = [(k, re.compile(p + _NOT_MONEY, re.IGNORECASE)) for k, p in [
    ("payment", rf"^(?:less\b\s*:?\s*)?(?:[^\W\d_][\w.'-]*\s+){{0,3}}?(?:{_PAYMENT_WORDS})\b"),
    # "Net amount" (an ERP's subtotal), not "Net amount due" nor "Net 30" (terms); printed as an estimate too
    # ("Est. Subtotal", as the tax, freight and total are).
    ("subtotal", rf"^(?:{ESTIMATED})?"
                 r"(sub\s*-?\s*total|merchandise(\s*total)?|net\s*total|net\s*amount(?!\s*(?:due|payable))|"
                 r"items?\s*total|zwischensumme|summe\s*netto|"
                 r"nettobetrag|netto(summe|betrag)?|total\s*before\s*tax|goods\s*total|product\s*total|total\s*net)"),
    ("tax_total", _TAX_TOTAL),
    # Freight and totals printed as estimates ("Est. Freight", "Estimated Total") are read as taxes are (ESTIMATED);
    # "Estimated delivery date" stays no amount (_NOT_MONEY), as does a date printed beside it (DATE).
    ("total", rf"^(?:{ESTIMATED})?"
              r"(grand\s*total|total(?!\s*(?:tax|vat|freight|discount|shipping|charges))(\s*(amount|due|order|po|eur|usd|cad|value|gross|brutto|incl\.?\s*\w+))?|"
              r"order\s*total|po\s*total|amount\s*due|total\s*due|balance\s*due|gesamt(betrag|summe)?|endbetrag|"
              r"bruttobetrag|summe\s*brutto|gesamtsumme|total\s*\(\w+\))"),
    ("tax", _TAX),
    ("freight", rf"^(?:{ESTIMATED})?(freight|shipping|delivery(\s*(charge|fee))?|transport(kosten)?|fracht(kosten)?|"
                r"versand(kosten)?|carriage)"),
    # A discount's name may come after a few words ("Less 2% discount", "Early pay discount", "Delivery credit");
    # as a whole word only ("Discounted subtotal" is no discount). Handling printed as an estimate ("Est. handling",
    # "Estimated Handling") is handling.
    ("charge", r"^((less\b\s*:?\s*)?([^\W\d_][\w.'&/-]*\s+|\d+(?:[.,]\d+)?\s*%\s*){0,3}?"
               r"(fuel\s*surcharges?|surcharges?|fees?|discounts?|rabatt|skonto|allowances?|rebates?|promo\w*|credits?|"
               r"coupons?|markdowns?)\b"
               rf"|(less\s*:?\s*)?((?:{ESTIMATED})?handling|pallet|small\s*order|minimum\s*order|environmental|"
               r"restocking|"
               r"(bottle|keg|can|crate|container)s?\s+deposit)|less\b)"),
]]
# The word that names a charge row: the last of the discount and surcharge words in it, so "Promo credit" and
# "Shipping discount" are discounts and "Credit card fee (3%)" is a surcharge.
_HEAD = re.compile(r"\b(?:(discounts?|rabatt|skonto|allowances?|rebates?|promo\w*|credits?|coupons?|markdowns?)|"
                   r"fees?|charges?|surcharges?)\b", re.IGNORECASE)
# A net amount or a repeat of the discounts, not a charge: "Amount after discount", "Discounted subtotal",
# "Subtotal less discount", "Discount savings".
_NET = re.compile(r"\b(?:sub\s*-?\s*total|after|net\s+of|discounted|savings|saved)\b", re.IGNORECASE)
# A customer's credit standing printed beside the totals ("Credit limit", "Available credit"), not a credit on this
# order; nor is a fee waived, or a late fee (a payment term: "Late fee of $25.00 applies to past-due invoices").
_NOT_CHARGED = re.compile(r"\b(?:available|remaining|open)\s+credit\b|\bcredit\s+lines?\s*$|"
                          r"\bcredit\s+(?:limits?|available|remaining|hold|status|terms)\b|\b(?:waived?|waiver)\b|"
                          r"\blate\s+(?:payment\s+)?(?:fees?|charges?)\b", re.IGNORECASE)
PCT = re.compile(r"\d+(?:[.,]\d+)?\s*%")


# A date is no amount: numeric ("12/01/2026", "2026-12-01"), a day and month ("12/01"; "12.01" is a number) or with
# the month's name ("Dec 1, 2026", "1 Dec 2026", "December 1st"), not a day glued to an amount ("Dec 12.50"); a
# range of days ("12/1-12/3", "12/1-3", "Dec 1-3", "Dec 1 - 3, 2026", "1-3 Dec") is one date. Before, "Delivery: Dec 1,
# 2026" was a freight of 2,026.00, "Dec 1-3" one of -3 and "Dec 1 - 3, 2026" one of 2,026.00 again.
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
         r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![^\W\d_])\.?"
# A day is 1 to 31: "Delivery: Sat 75" is a freight of 75.
_DAY = r"(?<![\d.,])(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?![.,]?\d)"
_YEAR = r"\d{4}(?![.,]?\d)"
_TO = r"\s*(?:-|–|\bto\b)\s*"
# A weekday with its day ("Tuesday 12", "Tue. 12th") is a date too, as is a month with its year ("December 2026"):
# "Delivery: Tuesday 12" was a freight of 12, "Delivery: December 2026" one of 2,026.
_WEEKDAY = r"(?:mon|tue(?:s)?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?(?![^\W\d_])\.?,?"
_DATES = rf"(?<![\d.,/])\d{{1,2}}/\d{{1,2}}(?:{_TO}{_DAY})?(?![\d/])|\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}|" \
         rf"\b{_MONTH}\s*{_DAY}(?:{_TO}{_DAY})?(?:,?\s*{_YEAR})?|" \
         rf"{_DAY}(?:{_TO}{_DAY})?[\s.-]*{_MONTH}(?:[\s,.-]*{_YEAR})?"
DATE = re.compile(_DATES, re.IGNORECASE)
# Beside a freight label only (a weekday is no date beside other labels: "Handling Sat 12" is a charge of 12), and
# blanked in one pass with the other dates: a second pass reached across a date blanked out ("Delivery Friday
# 12/4/2026 40" read 40 as Friday's day). A range of weekdays ("Mon-Fri 25") is no weekday with its day.
_FREIGHT_DATE = re.compile(rf"{_DATES}|\b{_WEEKDAY}{_TO}{_WEEKDAY}|\b{_WEEKDAY}\s*{_DAY}(?!/)|"
                           rf"\b{_MONTH},?\s*(?:19|20)\d\d(?![.,]?\d)", re.IGNORECASE)
# Beside a freight label, a range of whole days without a unit ("Delivery: 2-3", "Shipping 1 to 2") is a lead time,
# not a freight of its upper end; an amount is never printed as a range.
_WHOLE = r"(?<![\d.,])\d{1,2}(?:st|nd|rd|th)?(?![.,]?\d)"
DAY_RANGE = re.compile(rf"{_WHOLE}{_TO}{_WHOLE}", re.IGNORECASE)
# Words between a label and its number that make the number something other than money: a weight or a
# count ("Total Gross Weight: 250 kg"), a registration or account number ("GST/HST No. 123456789"), a
# time ("Delivery Window 6 - 8 am", "Estimated delivery week 49") or payment terms ("2% Discount if paid within
# 10 days"). Public: table.py reads the item table's charge rows with it too ("Shipping weight 12.5" is no charge).
NOT_MONEY_WORDS = re.compile(
    r"\b(?:weight|kgs?|lbs?|pounds|cartons?|ctns?|cases|boxes|pallets?|pieces|pcs|units|items|lines|count|qty|"
    r"quantity|volume|cube|no|nr|number|reg(?:istration)?|account|acct|id|ref(?:erence)?|window|time|hours?|days?|"
    r"weeks?|if\s+paid|within|terms)\b|#", re.IGNORECASE)
# A number with a unit is a quantity, not an amount ("250 kg", "10 days", "6 - 8 am"); a lead time too ("Estimated
# delivery: 3-5 business days", "2 weeks"). So is one named by the word before it: payment terms ("Net 30"), a
# calendar week ("KW 49", "Wk 49"), a zone or route ("Zone 2", "Route 66"), a freight class ("Freight class 77.5") or
# a truckload's count beside a freight label (_FREIGHT_COUNT: "Freight LTL 2", was a freight of 2), while an amount
# after it is still read ("Freight class 70 125.00", "Freight LTL 125.00").
WITH_UNIT = re.compile(r"(?:\d[\d.,:]*\s*(?:-|–|to)\s*)?\d[\d.,:]*\s*(?:(?:business|working|calendar)\s+)?"
                        r"(?:kgs?|lbs?|am|pm|a\.m\.|p\.m\.|hrs?|hours?|days?|weeks?|wks?|"
                        r"cartons?|ctns?|cases?|pcs|pieces|pallets?|units?)(?![\w.])|"
                        r"\b(?:net|kw|wk|zone|route)\s*[:#]?\s*\d{1,3}(?![.,]?\d)|"
                        r"\bclass\s*[:#]?\s*\d{2,3}(?:\.5)?(?![.,]?\d)", re.IGNORECASE)
# A class of one digit only right after the freight label ("Freight class 2"): "Shipping: USPS First Class 8" is a
# freight of 8.
_FREIGHT_COUNT = re.compile(r"\b(?:ltl|ftl)\s*[:#]?\s*\d{1,2}(?![.,]?\d)|^[\s:-]*class\s*[:#]?\s*\d(?![.,]?\d)",
                            re.IGNORECASE)
# What may follow "Total" and still name the order's total ("Total Amount Due (USD)").
# A currency glued to the amount is no word ("Total Fr.107.70" ranks as "Total 107.70"), nor are francs without their
# dot before a space ("Total Fr 107.70", "Total SFr 107.70"; glued to digits, "FR12345678901" is a French VAT number).
PLAIN_TOTAL_WORDS = re.compile(r"\b(?:amount|due|payable|order|po|value|gross|brutto|incl\w*|inkl\w*|with|tax|vat|"
                                rf"gst|mwst|ttc)\b|\bs?fr(?=\s)|\b{CURRENCY}|[^A-Za-z]", re.IGNORECASE)


def is_payment(label: str) -> bool:
    """A payment against the order ("Deposit paid", "Less: payment received", "Credit applied")."""
    return bool(_PAYMENT.search(label)) and not _NOT_PAYMENT.search(label)


def is_discount(label: str) -> bool:
    """A row that takes money off: "Less ...", or its last discount or surcharge word is a discount's."""
    heads = _HEAD.findall(label)
    return bool(re.match(r"\W*less\b", label, re.IGNORECASE) or (heads and heads[-1]))


def read_charge(label: str, printed: Decimal) -> tuple[str, Decimal] | None:
    """What a row labelled as a charge is: ("payment", amount paid), ("charge", amount signed as charged: a discount
    negative whatever sign it is printed with), or None for a net amount, a credit standing or a fee not charged
    that only looks like one. The item table and the totals area both read their charge rows through this."""
    if is_payment(label):
        return "payment", abs(printed)
    if _NET.search(label) or _NOT_CHARGED.search(label):
        return None
    return "charge", -abs(printed) if is_discount(label) else printed

# A number glued to letters is an identifier ("DE123456789", "ATU12345678", "CHE-123.456.789"), unless the letters
# are a currency's code ("USD12.50") or Swiss francs (CURRENCY). Symbols ("$", "US$", "C$", "€") are no letters:
# "US$12.50" is read already.
TAX_ID = re.compile(rf"\b(?!{CURRENCY}\s*\d)[^\W\d_]+[-.]?\d[\w.-]*", re.IGNORECASE)
# Beside a freight label, a whole number with letters glued after it is an ordinal or a carrier's service, not money
# ("UPS 2nd Day", "FedEx 2Day", "3rd party", "1st class"; before, a freight of 2, 3 or 1), unless the letters are a
# currency's ("25USD"); a number standing alone is still the freight ("Freight 25", "Shipping $12").
SERVICE = re.compile(rf"(?<![\d.,'])\d+(?!{CURRENCY})[^\W\d_]\w*", re.IGNORECASE)


# What beside a freight label makes a number no money, in the order they are blanked out: a date's own range ("Dec 1
# - 3, 2026") is the date's, with its year.
FREIGHT_NOT_MONEY = [("a truckload's count or class", _FREIGHT_COUNT), ("a date", _FREIGHT_DATE),
                      ("a range of days", DAY_RANGE), ("a carrier's service", SERVICE)]
