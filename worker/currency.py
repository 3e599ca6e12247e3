"""The base currency (US dollars) and what an invoice's amounts are worth in it.

No setting names the base currency and the price list has none: US dollars, however NetSuite spells the
currency record's name ("USA" in a default account, "US Dollar"), or its ISO code; letters compared only.
Pure, and light to import: the CDC mirror and the migrations use it as well as every email.
"""

from __future__ import annotations

import math
import re
from typing import Any

_BASE_CURRENCY = frozenset({"", "us", "usd", "usa", "usdollar", "usdollars", "unitedstatesdollar",
                            "unitedstatesdollars"})
_NOT_LETTERS = re.compile(r"[^a-z]+")
BASE_CURRENCY = "USD"  # how amounts in US dollars are keyed when totalled per currency


def is_base_currency(currency: str | None) -> bool:
    """True for US dollars (the price list's and the "$" currency) and for no currency at all."""
    return _NOT_LETTERS.sub("", (currency or "").lower()) in _BASE_CURRENCY


def base_rate(exchange_rate: Any, currency: str | None) -> float | None:
    """What one unit of a transaction's currency is worth in US dollars, or None when that is unknown.

    US dollars are worth 1 whatever rate came with them. Another currency is worth NetSuite's `exchangeRate`
    (to the base currency, fixed when the transaction was booked, as NetSuite's own A/R aging counts it) when
    that is a positive number; without one its amounts have no base value, rather than a guessed one.
    """
    if is_base_currency(currency):
        return 1.0
    if isinstance(exchange_rate, bool):  # JSON true is no rate
        return None
    try:
        rate = float(exchange_rate)
    except (TypeError, ValueError):
        return None
    return rate if math.isfinite(rate) and rate > 0 else None
