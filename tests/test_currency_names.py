"""A currency named by its ISO code on a PO ("CAD") and by its NetSuite record's name on the customer ("Canadian
Dollar") is one currency everywhere the two are compared; and the intake's price flags judge a PO's prices by the
review order page's rule (a bare "$" from a customer of another dollar currency is that currency)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.test_email_fixtures import DRISCOLL, order_email, seed_reference
from tests.test_intake_matching import STANDARD, _line
from tests.test_order_currency import _warning
from tests.test_review_currency import orders  # noqa: F401  (fixture)
from tests.test_review_orders import approve_form, db
from worker.currency import currency_code, may_be_same_currency, same_currency
from worker.env import Env
from worker.intake.lines import LineMatcher, order_currency
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.memo_checks import memo_change
from worker.po.model import PurchaseOrder
from worker.po.values import DOLLAR_SIGN_ONLY, written_with_dollar_sign

# NetSuite's default currency records, by the ISO code a PO prints.
RECORDS = [("CAD", "Canadian Dollar"), ("EUR", "Euro"), ("GBP", "British pound"), ("MXN", "Mexican Peso"),
           ("AUD", "Australian Dollar"), ("CHF", "Swiss Franc"), ("JPY", "Japanese Yen"),
           ("NZD", "New Zealand Dollar"), ("HKD", "Hong Kong Dollar"), ("SGD", "Singapore Dollar"),
           ("USD", "US Dollar"), ("USD", "USA")]


@pytest.mark.parametrize(("code", "name"), RECORDS)
def test_a_code_and_its_records_name_are_one_currency(code, name):
    # Was: "cad" against "canadiandollar", two currencies.
    for one, other in ((code, name), (name, code), (code.lower(), name.upper()), (f" {code} ", f" {name.lower()}.")):
        assert may_be_same_currency(one, other) and same_currency(one, other), (one, other)
    assert currency_code(name) == currency_code(code) == code


@pytest.mark.parametrize(("one", "other"), [
    ("CAD", "Australian Dollar"), ("Canadian Dollar", "Australian Dollar"), ("CAD", "AUD"), ("MXN", "Canadian Dollar"),
    ("USD", "Canadian Dollar"), ("Canadian Dollar", "USA"), ("EUR", "British pound"), ("Dollar", "CAD"),
    ("Hong Kong Dollar", "Singapore Dollar"), ("NZD", "New Zealand"), ("JPY", "Yuan"),
])
def test_two_currencies_stay_two(one, other):
    assert not may_be_same_currency(one, other) and not may_be_same_currency(other, one)
    assert not same_currency(one, other)


def test_an_id_may_be_any_named_currency_but_is_surely_none():
    assert may_be_same_currency("3", "Canadian Dollar") and not same_currency("3", "Canadian Dollar")
    assert same_currency("3", "3") and same_currency("1", "US Dollar") and not same_currency("3", "4")
    assert currency_code("3") is None and currency_code("Dollar") is None and currency_code("€") is None


def test_a_mexican_peso_customer_writes_its_prices_with_a_bare_dollar_sign_too():
    assert written_with_dollar_sign("Mexican Peso")  # was False: only "MXN" or a name saying "dollar"
    assert not written_with_dollar_sign("Swiss Franc") and not written_with_dollar_sign("Euro")


def test_a_credit_memo_re_spelled_from_its_code_to_its_name_is_no_new_total():
    draft = {"customer_id": "1187", "amount": 300.0, "currency": "CAD"}
    assert memo_change(draft, ("1187", 300.0, "Canadian Dollar", "Open", None)) is None
    assert memo_change(draft, ("1187", 300.0, "Australian Dollar", "Open", None)).text == (
        "now totals AUD 300.00, not CAD 300.00 as drafted")


@pytest.mark.parametrize(("code", "name"), RECORDS[:10])
def test_the_order_currency_of_a_po_in_its_customers_currency_by_code(code, name):
    found = order_currency(code, name)
    assert found.warning is None and found.booked == code  # was: "The PO is in CAD, but this customer's … is …"
    assert [v for v, _ in found.choices] == [code, "USD"]  # the customer's currency offered once, as the PO's
    assert found.sent is None  # NetSuite books the customer's own record, which the code does not name
    assert found.not_compared == f"the order is in {code}; prices on file are in US dollars"
    assert order_currency(code, "Australian Dollar" if code != "AUD" else "Euro").warning is not None


def test_a_bare_dollar_po_of_a_mexican_peso_customer_is_booked_in_pesos():
    found = order_currency("USD", "Mexican Peso", sign_only=True)
    assert found.booked == "Mexican Peso" and found.sent is None and found.not_compared


# --- Through the review order page ---------------------------------------------------------------------------------

def test_a_cad_po_of_a_canadian_dollar_customer_is_not_flagged_on_the_order_page(orders):  # noqa: F811
    server, add, client = orders
    item = add("CAD", {"id": "3", "refName": "Canadian Dollar"})
    page = client.get(f"/review/orders/{item}").text
    # Was: "The PO is in CAD, but this customer's currency in NetSuite is Canadian Dollar: NetSuite books …"
    assert _warning(page) is None
    start = page.index('<select name="currency">')
    options = page[start:page.index("</select>", start)]
    assert "Canadian Dollar" not in options and options.count("<option") == 2  # CAD (read from the PO), USD
    assert client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, currency="CAD",
                                                                        shown_for="1187")).status_code == 303
    assert "currency" not in json.loads(db(server, "SELECT payload_json FROM proposed_actions")[0][0])


def test_a_cad_po_of_an_australian_dollar_customer_is_still_flagged(orders):  # noqa: F811
    _server, add, client = orders
    item = add("CAD", {"id": "5", "refName": "Australian Dollar"})
    assert _warning(client.get(f"/review/orders/{item}").text).startswith(
        "The PO is in CAD, but this customer&#39;s currency in NetSuite is AUD")


# --- The intake's price flags, by the page's rule ------------------------------------------------------------------

def _customer_currency(conn, currency: object) -> None:
    conn.execute("UPDATE customers SET raw_json = ? WHERE ns_id = ?",
                 (json.dumps({"id": DRISCOLL, "currency": currency}), DRISCOLL))


@pytest.mark.parametrize(("currency", "sign_only", "customer", "flag"), [
    # A bare "$" from a customer of Canadian dollars: was a -52% price_deviation, the CAD price read as US dollars.
    ("USD", True, {"id": "3", "refName": "CAD"}, "the order is in CAD; prices on file are in US dollars"),
    ("USD", True, "Canadian Dollar", "the order is in CAD; prices on file are in US dollars"),
    ("USD", True, "Mexican Peso", "the order is in MXN; prices on file are in US dollars"),
    # "USD" printed for a CAD customer: booked as read, but its prices are not surely US dollars (was judged).
    ("USD", False, "CAD", "the order is booked in USD; this customer's currency in NetSuite is CAD"),
    ("CAD", False, "Canadian Dollar", "the order is in CAD; prices on file are in US dollars"),
    (None, False, "Euro", "the order is in EUR; prices on file are in US dollars"),  # booked in the customer's
    ("USD", True, {"id": "1", "refName": "USA"}, None),  # a US customer's "$" is US dollars: judged
    ("USD", True, None, None),  # no customer currency mirrored: US dollars, as the page takes it
    ("USD", True, "Swiss Franc", "the order is booked in USD; this customer's currency in NetSuite is CHF"),
])
async def test_the_intakes_price_flags_follow_the_order_pages_currency(env: Env, currency, sign_only, customer,
                                                                        flag) -> None:
    def run(conn):
        seed_reference(conn)
        if customer is not None:
            _customer_currency(conn, customer)
        po = PurchaseOrder(currency=currency, confidence={"currency": DOLLAR_SIGN_ONLY if sign_only else 0.9},
                           lines=[_line(1, vendor="GFS-117650", price="30.00")])  # the list's 62.75 a case
        return LineMatcher(conn, DRISCOLL, STANDARD, 2.0).apply(po, "2026-03-01")[0]

    [found] = await env.db.write(run)
    if flag is None:
        assert found["code"] == "price_deviation"
    else:
        assert (found["code"], found["severity"]) == ("price_not_comparable", "info") and "expected" not in found
        assert found["message"] == f"line 1: item I117650: {flag}; check the price by hand"


async def test_a_typed_order_of_a_canadian_customer_is_not_judged_in_us_dollars(seeded: Env) -> None:
    """Through the pipeline: an email's typed lines name no currency, so they are the customer's (CAD) as on the
    order page, not US dollars (was a price_deviation in the item's flags)."""
    await seeded.db.write(_customer_currency, {"id": "3", "refName": "Canadian Dollar"})
    received = await accept_raw(seeded, order_email([], body="Please ship:\n4 cs GFS-117650 @ $30.00\n"), door="smtp")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    row = await seeded.db.fetchone("SELECT flags_json, parsed_json FROM review_items WHERE email_id = ?",
                                   (received.email_id,))
    assert json.loads(row["parsed_json"])["lines"][0]["unit_price"] in ("30.00", 30.0, Decimal("30.00"))
    [price] = [f for f in json.loads(row["flags_json"]) if f["code"].startswith("price")]
    assert price["code"] == "price_not_comparable"
    assert "the order is in CAD; prices on file are in US dollars" in price["message"]
