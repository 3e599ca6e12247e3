"""The Actions tab shows each kind's payload, as its flow (or the API) stages it, as text a reviewer reads: amounts
in their currency, yes/no, records and addresses as lines, no JSON, and the flows' bookkeeping left out
(handlers/review/payload_text.py)."""

import json
from dataclasses import asdict
from datetime import date
from decimal import Decimal

import pytest

from handlers.proposed_actions import PROPOSAL
from handlers.review.payload_text import describe_payload
from tests.flows_support import apply, contact, customer, proposals, ref, sales_order
from tests.review_seed import add_action, seed_reference, sign_in
from tests.test_collection_currency import limited
from tests.test_flows_invoice_dispute import credit_memo, invoice
from tests.test_flows_quote_review import priced  # noqa: F401 (fixture)
from worker.flows import invoice_dispute, quote_review
from worker.netsuite_shape import (
    OrderCharge,
    ReviewedLine,
    ReviewedOrder,
    salesorder_payload,
)
from worker.workflow_runner import drain


def _fields(kind, payload):
    return dict(describe_payload(kind, payload)["fields"])


def _no_json(fields):
    for name, text in fields.items():
        assert not text.lstrip().startswith(("{", "[")), (name, text)
        assert "True" not in text and "False" not in text, (name, text)


def _staged_by_api(body):
    """The payload the API stages (handlers/proposed_actions.stage) for a request body."""
    return PROPOSAL.validate_python(body).model_dump(mode="json", exclude={"kind", "customer_id"}, exclude_none=True)


async def test_a_collection_plans_invoices_are_lines_in_their_currency_and_its_digests_are_not_shown(env):
    actions = await limited(env, None, [(6_000.0, "USD")])
    for kind in ("send_collection_email", "schedule_collection_call", "service_hold"):
        payload = actions[kind]["payload"]
        fields = _fields(kind, payload)
        _no_json(fields)
        assert {"plan", "trigger_event_id"} <= set(payload)  # kept in the payload: only the card leaves them out
        assert not {"plan", "answers", "trigger event id"} & set(fields)
        assert fields["invoices"] == "INVA0: $6,000.00 open, due 2026-03-31, 61 days past due", kind
        assert fields["trigger"] == payload["trigger"]
    assert _fields("service_hold", actions["service_hold"]["payload"])["credit limit"] == "$5,000.00"
    call = actions["schedule_collection_call"]["payload"]
    assert _fields("schedule_collection_call", call)["talking points"] == "\n".join(call["talking_points"])


def test_a_redrawn_plans_answers_digest_is_not_shown():
    fields = _fields("send_collection_email", {"subject": "s", "body": "b", "plan": "a607fcda7cd9b07b",
                                               "answers": "faae61122bc98fac", "decided_earlier": ["service_hold"]})
    assert fields == {"decided earlier": "service_hold"}


async def test_a_credit_memos_amounts_are_money_its_flags_yes_or_no_and_its_version_hidden(env):
    await apply(env, customer("1187", "Driscoll Foods", email="orders@driscollfoods.example"),
                contact("41", "1187", "Dana Ortiz", "ap@driscollfoods.example", "Accounts Payable Manager"),
                invoice("5001", "1187", 1840.00, 1427.50, "DF-4410"), invoice("5002", "1187", 300.0, 280.0, "DF-4411"))
    memo = credit_memo("8001", "1187", 432.50, "Short shipped", [("5001", 412.50), ("5002", 20.0)],
                       created_from="5001")
    memo["record"]["currency"] = ref("1", "USA")  # as NetSuite names it
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    by_kind = {p["kind"]: p["payload"] for p in await proposals(env)}
    for kind in ("log_dispute", "send_dispute_confirmation"):
        payload, fields = by_kind[kind], _fields(kind, by_kind[kind])
        _no_json(fields)
        assert "memo_version" in payload and "memo version" not in fields
        assert (fields["amount"], fields["applied total"], fields["unapplied"]) == ("$432.50", "$432.50", "$0.00")
        assert fields["apply pending"] == "no"
        assert "currency" not in fields  # said with the amounts
    assert _fields("log_dispute", by_kind["log_dispute"])["invoices"] == (
        "INV-5001 (PO DF-4410): dated 2026-10-01, $412.50 applied, $1,427.50 of $1,840.00 open, the credit memo was "
        "issued against it\nINV-5002 (PO DF-4411): dated 2026-10-01, $20.00 applied, $280.00 of $300.00 open")


def test_a_credit_memos_unmirrored_documents_and_an_unknown_open_amount_are_lines():
    fields = _fields("log_dispute", {"amount": 10.0, "currency": "Euro", "apply_pending": True,
                                     "unmirrored": [{"document_id": "77", "doc_type": "Invoice", "applied": 1234.5}],
                                     "invoices": [{"invoice_id": "9", "tran_id": None, "total": 50.0,
                                                   "remaining": None, "po": None, "applied": 5.0}]})
    assert fields["unmirrored"] == "Invoice 77 (not in the mirror): EUR 1,234.50 applied"
    assert fields["invoices"] == "9: EUR 5.00 applied, open amount not known"
    assert (fields["amount"], fields["apply pending"]) == ("EUR 10.00", "yes")


async def test_a_quote_reviews_lines_and_terms_are_lines_with_prices_in_the_orders_currency(priced):  # noqa: F811
    await apply(priced, sales_order("9001", "1187", [("501", 10, 46.50), ("502", 4, 18.00), ("777", 1, 9.99)],
                                    terms="Net 45", custbody_freight_terms=" Collect", currency=ref("1", "USA")))
    await drain(priced, [quote_review.WORKFLOW])
    [proposal] = await proposals(priced)
    fields = _fields(proposal["kind"], proposal["payload"])
    _no_json(fields)
    assert fields["lines"].split("\n") == [
        "line 2: 502, 4 CS: quoted $18.00, expected $20.00 (-10%, customer price)",
        ("line 3: 777, 1 CS: quoted $9.99, no expected price (no price on file); item not in spec_items; no "
        "pricing_master row applies on 2026-11-02")]
    assert fields["terms"].startswith("payment terms: Net 45 (the sales order's), 45 days where the program gives 30")


def test_a_quote_review_line_without_an_expected_price_says_why():
    line = quote_review.LineFinding(3, "777", None, 1.0, "CS", 1234.5, None, None, quote_review.NO_PRICE_ON_FILE,
                                    "item not in spec_items; no pricing_master row applies on 2026-11-02")
    fields = _fields("review_quote_pricing", {"currency": "Canadian Dollar", "lines": [asdict(line)]})
    assert fields["lines"] == ("line 3: 777, 1 CS: quoted CAD 1,234.50, no expected price (no price on file); "
                               "item not in spec_items; no pricing_master row applies on 2026-11-02")
    assert fields["currency"] == "CAD"


def _order(**fields):
    return ReviewedOrder(customer_id="1187", po_number="DF-1", tran_date=date(2026, 8, 15), ship_date=date(2026, 8, 22),
                         lines=[ReviewedLine(line_no=1, item_id="510", description="BEEF GROUND 80/20", uom="LB",
                                             quantity=Decimal(12), unit_price=Decimal("1090.5"))],
                         charges=[OrderCharge(description="Freight", amount=Decimal(25), item_id="900")], **fields)


def test_an_approved_sales_order_is_its_lines_not_netsuites_json():
    payload = salesorder_payload(_order(), external_id="gfs-review-4", currency="USD")
    fields = _fields("create_sales_order", payload)
    _no_json(fields)
    assert fields == {"customer id": "1187", "order date": "2026-08-15",
                      "lines": "12 LB BEEF GROUND 80/20 (item 510) at $1,090.50: $13,086.00\n"
                               "1 Freight (item 900) at $25.00: $25.00",
                      "currency": "USD", "PO number": "DF-1", "ship date": "2026-08-22"}
    assert payload["externalId"] == "gfs-review-4"  # still sent: the card only leaves it out
    euros = _fields("create_sales_order", salesorder_payload(_order(), external_id="x", currency="EUR"))
    assert euros["lines"].startswith("12 LB BEEF GROUND 80/20 (item 510) at EUR 1,090.50: EUR 13,086.00")
    unnamed = _fields("create_sales_order", salesorder_payload(_order(), external_id="x"))
    assert unnamed["lines"].endswith("at 25.00 (currency not recorded): 25.00 (currency not recorded)")


def test_the_apis_proposals_show_amounts_addresses_and_names_as_text():
    new = _staged_by_api({"kind": "propose_create_customer", "companyName": "Brasserie Lindner GmbH",
                          "creditLimit": "25000.5", "note": "trade show",
                          "address": {"addr1": "Hauptstrasse 12", "city": "Muenchen", "zip": "80331", "country": "DE"}})
    fields = _fields("create_customer", {**new, "externalId": "gfs-action-24"})
    assert fields == {"company name": "Brasserie Lindner GmbH", "credit limit": "25,000.50 (currency not recorded)",
                      "address": "Hauptstrasse 12\n80331 Muenchen\nGermany"}  # the note is editable, shown as such
    review = _staged_by_api({"kind": "propose_pricing_review", "customer_id": "1187", "item_id": "501",
                             "note": "below program", "quoted_price": "1234567.891"})
    assert _fields("pricing_review", review)["quoted price"] == "1,234,567.891 (currency not recorded)"
    email = {**_staged_by_api({"kind": "propose_collection_email", "customer_id": "1187", "to": ["ap@x.example"],
                               "subject": "Past due", "body": "Hello"}),
             # as handlers.proposed_actions.owed_invoices names them
             "invoices": [{"invoice_id": "30233", "number": "INV30233", "amount_remaining": 2355.43}]}
    assert _fields("collection_email", email) == {"invoices": "INV30233: 2,355.43 (currency not recorded) open"}


def test_the_actions_page_shows_formatted_amounts(server):
    memo = {"credit_memo_id": "50012", "amount": 34.8, "currency": "USA", "unapplied": 0.0, "apply_pending": False,
            "memo_version": "2026-11-23T11:10:00.000000Z|0|demo-00514075001",
            "invoices": [{"invoice_id": "31626", "tran_id": "INV31626", "tran_date": "2026-11-20", "total": 517.2,
                          "remaining": 482.4, "po": "TWIN-48308", "applied": 34.8, "issued_against": True}]}
    server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_action(conn, "log_dispute", memo))))
    page = sign_in(server.url).get("/review/actions").text
    for shown in ("<dt>amount</dt><dd>$34.80</dd>", "<dt>unapplied</dt><dd>$0.00</dd>",
                  "<dt>apply pending</dt><dd>no</dd>",
                  ("<dt>invoices</dt><dd>INV31626 (PO TWIN-48308): dated 2026-11-20, $34.80 applied, $482.40 of "
                  "$517.20 open, the credit memo was issued against it</dd>")):
        assert shown in page
    assert "memo version" not in page and "demo-00514075001" not in page and json.dumps(memo["invoices"]) not in page


def test_a_sales_orders_ship_to_shows_as_the_address_lines():
    payload = {**salesorder_payload(_order(), external_id="x", currency="USD"),
               "shippingAddress": {"addressee": "Driscoll Foods - Store 12", "addr1": "45 Harbor Rd", "city": "Clifton",
                                   "state": "NJ", "zip": "07011", "country": {"id": "US"}}}
    fields = _fields("create_sales_order", payload)
    _no_json(fields)
    # As the order page prints it (printed_lines): the United States is not named.
    assert fields["ship to"] == "Driscoll Foods - Store 12\n45 Harbor Rd\nClifton, NJ 07011"


def test_a_ship_tos_attention_and_phone_are_shown():
    # Audit CF: the card left them out, though the sales order sends them to NetSuite.
    payload = {**salesorder_payload(_order(), external_id="x", currency="USD"),
               "shippingAddress": {"addressee": "Mountaineer Grill", "attention": "Receiving", "addr1": "200 Capitol St",
                                   "city": "Charleston", "state": "WV", "zip": "25301", "addrPhone": "304-555-0100",
                                   "country": {"id": "US"}}}
    assert _fields("create_sales_order", payload)["ship to"] == (
        "Mountaineer Grill\nAttn: Receiving\n200 Capitol St\nCharleston, WV 25301\nTel 304-555-0100")
    canada = {**payload["shippingAddress"], "state": "ON", "zip": "L4W 1J2", "city": "Mississauga",
              "country": {"id": "CA"}}
    assert _fields("create_sales_order", {**payload, "shippingAddress": canada})["ship to"].endswith(
        "Mississauga, ON L4W 1J2\nCanada\nTel 304-555-0100")


@pytest.mark.parametrize(("written", "shown"), [
    ("12345.678", "12,345.678"), ("99999999.999", "99,999,999.999"), ("25000.5", "25,000.50"), ("0", "0.00")])
def test_an_api_amount_is_shown_as_written_never_rounded(written, shown):
    # Audit CF: '12345.678' showed as 12,345.68 and '99999999.999' as 100,000,000.00, while approval sends it as is.
    new = _staged_by_api({"kind": "propose_create_customer", "companyName": "Brasserie Lindner GmbH",
                          "creditLimit": written})
    assert _fields("create_customer", new)["credit limit"] == f"{shown} (currency not recorded)"


@pytest.mark.parametrize(("written", "shown"), [("0.00345", "0.00345"), ("1E+3", "1,000.00"), ("12.5", "12.50")])
def test_an_api_price_is_shown_as_written_never_rounded(written, shown):
    review = _staged_by_api({"kind": "propose_pricing_review", "customer_id": "1187", "item_id": "501",
                             "note": "below program", "quoted_price": written})
    assert _fields("pricing_review", review)["quoted price"] == f"{shown} (currency not recorded)"
