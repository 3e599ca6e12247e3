"""The Actions tab shows a new assembly item's quoted rate as a price in the order's currency (payload_text)."""

from handlers.review.payload_text import describe_payload
from worker.pricing import price_in


def _fields(payload):
    return dict(describe_payload("price_new_assembly_item", payload)["fields"])


def test_quoted_rate_in_the_orders_currency_to_a_prices_precision():
    fields = _fields({"item_code": "KIT-RS-BRK", "quoted_rate": 70.0, "currency": "Euro"})
    assert fields["quoted rate"] == "EUR 70.00"
    assert "currency" not in fields  # said in the rate
    assert _fields({"quoted_rate": 0.0345, "currency": "USA"})["quoted rate"] == "$0.0345"


def test_a_payload_staged_before_it_named_a_currency_says_so():
    fields = _fields({"item_code": "KIT-RS-BRK", "quoted_rate": 0.0345})
    assert fields["quoted rate"] == "0.0345 (currency not recorded)"
    assert _fields({"quoted_rate": None, "currency": "USA"})["quoted rate"] == ""  # no rate quoted


def test_price_in():
    assert price_in(1234.5, None) == "$1234.50"
    assert price_in(2.125, "CAD") == "CAD 2.125"
