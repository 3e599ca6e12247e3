"""The base currency (US dollars) and what an invoice's amounts are worth in it.

No setting names the base currency and the price list has none: US dollars, however NetSuite spells the
currency record's name ("USA" in a default account, "US Dollar"), or its ISO code; letters compared only.
Another currency is the same whether named by its ISO code or by the name of NetSuite's default record for it
("CAD", "Canadian Dollar"): a PO prints the code, the customer's record carries the name.
A currency given only by its internal id (SuiteQL's "4", REST's {"id": "2"} without refName) is US dollars
only when that id is the base currency's; a symbol alone only when it is "$".
Pure, and light to import: the CDC mirror and the migrations use it as well as every email.
"""

from __future__ import annotations

import re
from typing import Any

_BASE_CURRENCY = frozenset({"us", "usd", "usa", "usdollar", "usdollars", "unitedstatesdollar", "unitedstatesdollars"})
# NetSuite's currency internal ids: "1" is the first currency record, the base currency a US account is created
# with. No setting names another yet; an account whose base is some other record would list its id here.
BASE_CURRENCY_IDS = frozenset({"1"})
# NetSuite's default currency records by ISO code: the names (letters only, lower case) the record goes by. Only
# names of one currency each: "yen" and "sterling" are one; a bare "dollar", "peso", "pound", "franc" or "krona" is
# several.
_NAMES = {
    "cad": ("canadiandollar", "canadiandollars"),
    "eur": ("euro", "euros"),
    "gbp": ("britishpound", "britishpounds", "britishpoundsterling", "poundsterling", "sterling"),
    "mxn": ("mexicanpeso", "mexicanpesos"),
    "aud": ("australiandollar", "australiandollars"),
    "chf": ("swissfranc", "swissfrancs"),
    "jpy": ("japaneseyen", "yen"),
    "nzd": ("newzealanddollar", "newzealanddollars"),
    "hkd": ("hongkongdollar", "hongkongdollars"),
    "sgd": ("singaporedollar", "singaporedollars"),
}
# ISO 4217 List One (current currencies and funds) as published by SIX, its maintenance agency, on 2026-01-01.
ISO_4217_CODES = frozenset({
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD", "BIF", "BMD", "BND",
    "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY",
    "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP",
    "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN",
    "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN",
    "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
    "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAD", "XAF", "XAG", "XAU", "XBA",
    "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XTS", "XUA", "XXX", "YER", "ZAR",
    "ZMW", "ZWG"
})
_CODE_OF = {name: code for code, names in _NAMES.items() for name in names}
_BASE_SYMBOL = "$"  # the price list's currency
_NOT_LETTERS = re.compile(r"[^a-z]+")
_ID = re.compile(r"[0-9]+")
BASE_CURRENCY = "USD"  # how amounts in US dollars are keyed when totalled per currency
# A rate is US dollars per unit of the foreign currency: the strongest currency is worth about 3.3 dollars and
# the weakest a tiny fraction of a cent, so a rate above this is a typo or junk, never one to multiply by.
MAX_RATE = 1e4


def is_currency_id(currency: str | None) -> bool:
    """True for a currency given only by its NetSuite internal id ("4")."""
    return _ID.fullmatch((currency or "").strip()) is not None


def is_base_currency(currency: str | None) -> bool:
    """True for US dollars (the price list's and the "$" currency) and for no currency at all."""
    text = (currency or "").strip()
    if not text:
        return True
    if is_currency_id(text):
        return text in BASE_CURRENCY_IDS
    letters = _NOT_LETTERS.sub("", text.lower())
    return letters in _BASE_CURRENCY if letters else text == _BASE_SYMBOL  # "€" or "£" alone is foreign


def currency_code(currency: str | None) -> str | None:
    """The ISO code (upper case) a currency's code or record name stands for: "USD" for US dollars however
    spelled, "CAD" for "cad" and "Canadian Dollar", "JPY" for "Yen"; None for an id alone, a symbol, or a name
    not known here ("Won", "abc")."""
    if is_base_currency(currency):
        return BASE_CURRENCY
    letters = _NOT_LETTERS.sub("", (currency or "").lower())
    if code := _CODE_OF.get(letters):
        return code.upper()
    # Three letters are a code only when ISO lists them: "Won" and "Sol" are names, of currencies not known here.
    code = letters.upper()
    return code if code in ISO_4217_CODES and letters == (currency or "").strip().lower() else None


def _key(currency: str) -> str:
    # A name of a known currency compares as its code ("Canadian Dollar" as "cad"); any other as its letters.
    letters = _NOT_LETTERS.sub("", currency.lower())
    return _CODE_OF.get(letters, letters)


def may_be_same_currency(one: str | None, other: str | None) -> bool:
    """False only when two spellings surely name different currencies: US dollars and another, two other ids,
    two other names. An id and a name ("4" and "Euro") may be one record: NetSuite sends either for it. A code
    and its record's name ("CAD", "Canadian Dollar") are one currency."""
    if is_base_currency(one) or is_base_currency(other):
        return is_base_currency(one) == is_base_currency(other)
    one, other = (one or "").strip(), (other or "").strip()
    if is_currency_id(one) and is_currency_id(other):
        return one == other
    if is_currency_id(one) or is_currency_id(other):
        return True
    return _key(one) == _key(other)


def same_currency(one: str | None, other: str | None) -> bool:
    """True only when two spellings surely name one currency: US dollars both, one id, or codes and names of one
    currency ("CAD", "Canadian Dollar"); an id and a name may be two (may_be_same_currency)."""
    return may_be_same_currency(one, other) and (is_base_currency(one) or is_currency_id(one) == is_currency_id(other))


def base_rate(exchange_rate: Any, currency: str | None) -> float | None:
    """What one unit of a transaction's currency is worth in US dollars, or None when that is unknown.

    US dollars are worth 1 whatever rate came with them. Another currency is worth NetSuite's `exchangeRate`
    (to the base currency, fixed when the transaction was booked, as NetSuite's own A/R aging counts it) when
    that is a number in (0, MAX_RATE]; without one its amounts have no base value, rather than a guessed one.
    """
    if is_base_currency(currency):
        return 1.0
    if isinstance(exchange_rate, bool):  # JSON true is no rate
        return None
    try:
        rate = float(exchange_rate)
    except (TypeError, ValueError):
        return None
    return rate if 0 < rate <= MAX_RATE else None  # False for NaN and infinities too
