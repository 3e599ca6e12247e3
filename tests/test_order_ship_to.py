"""The reviewed ship-to in the sales order (audit CC5, pure): ReviewedOrder carries it, salesorder_payload sends it
as NetSuite's shippingAddress subrecord, none is sent when it is empty, and one that cannot be read is refused
naming the ship-to field; the order form reads the box (or, not posted, the PO's) and previews it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from handlers.review.approved import approved_header, approved_ship_to
from handlers.review.order_form import (
    MAX_SHIP_TO,
    error_field,
    reviewed_order,
    ship_to_preview,
    ship_to_text,
)
from tests.review_seed import parsed_po
from worker.netsuite_shape import ReviewedLine, ReviewedOrder, salesorder_payload

STORE_12 = ["Driscoll Foods - Store 12", "45 Harbor Rd", "Clifton, NJ 07011"]
HEADER = {"customer_id": "1187", "po_number": "DF-40412", "tran_date": "2026-11-19", "n": "1"}
ROWS = [{"no": "1", "code": "", "item": "CHS-CHED-40", "desc": "", "qty": "2", "uom": "CS", "price": "98.50",
         "drop": ""}]
RESOLVED = {"CHS-CHED-40": "5001"}


def order(**changes) -> ReviewedOrder:
    line = ReviewedLine(line_no=1, item_id="5001", quantity=Decimal(2), unit_price=Decimal("98.50"))
    return ReviewedOrder(customer_id="1187", tran_date=date(2026, 11, 19), lines=[line], **changes)


def test_the_payload_ships_to_the_reviewed_address():
    payload = salesorder_payload(order(ship_to=STORE_12), external_id="gfs-review-1")
    assert payload["shippingAddress"] == {"addressee": "Driscoll Foods - Store 12", "addr1": "45 Harbor Rd",
                                          "city": "Clifton", "state": "NJ", "zip": "07011", "country": {"id": "US"}}


def test_without_a_ship_to_no_address_is_sent():
    # NetSuite then ships to the customer's default shipping address.
    for empty in ([], ["", "   "]):
        reviewed = order(ship_to=empty)
        assert reviewed.ship_to == [] and reviewed.shipping_address is None
        assert "shippingAddress" not in salesorder_payload(reviewed, external_id="x")
    assert "shippingAddress" not in salesorder_payload(order(), external_id="x")


def test_an_unreadable_ship_to_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        order(ship_to=["Driscoll Foods - Store 12", "45 Harbor Rd"])
    (error,) = refused.value.errors()
    assert error["loc"] == ("ship_to",) and "no city line" in error["msg"]


def test_the_form_reads_the_box_a_line_per_address_line():
    text = "Driscoll Foods - Store 12\r\n45 Harbor Rd\r\n\r\nClifton, NJ 07011\r\n"  # as a browser posts a textarea
    reviewed, errors = reviewed_order(HEADER, ROWS, RESOLVED, ship_to=text)
    assert errors == [] and reviewed.ship_to == STORE_12
    assert salesorder_payload(reviewed, external_id="x")["shippingAddress"]["city"] == "Clifton"
    none, errors = reviewed_order(HEADER, ROWS, RESOLVED, ship_to="\n  \n")
    assert errors == [] and "shippingAddress" not in salesorder_payload(none, external_id="x")


def test_an_unreadable_box_is_a_message_beside_the_ship_to_field():
    refused, errors = reviewed_order(HEADER, ROWS, RESOLVED, ship_to="Driscoll Foods\nClifton, NJ 07011")
    assert refused is None
    assert errors == [("ship to: no street line: add the street (e.g. '45 Harbor Rd') under 'Driscoll Foods' above "
                       "the city line")]
    assert error_field(errors[0], ROWS) == "ship_to"
    assert error_field("ship date: 2026-11-01 is before the order date 2026-11-19", ROWS) == "ship_date"  # unchanged


def test_a_box_too_long_is_refused_not_cut():
    refused, errors = reviewed_order(HEADER, ROWS, RESOLVED, ship_to="x" * (MAX_SHIP_TO + 1))
    too_long = f"ship to: {MAX_SHIP_TO + 1:,} characters; an address holds at most {MAX_SHIP_TO:,}"
    assert refused is None and errors == [too_long]
    assert error_field(errors[0], ROWS) == "ship_to"


def test_a_post_without_the_box_takes_the_pos_ship_to():
    parsed = parsed_po()
    assert ship_to_text({}, parsed) == "Driscoll Foods DC 2\n12 Dock Rd\nCarlstadt NJ 07072"
    assert ship_to_text({"ship_to": ""}, parsed) == ""  # emptied by the reviewer: none
    assert ship_to_text({}, parsed | {"ship_to": "damaged"}) == ""


def test_the_preview_says_what_netsuite_gets_or_why_not():
    assert ship_to_preview("\n".join(STORE_12)) == {"problem": None, "fields": [
        ("name", "Driscoll Foods - Store 12"), ("street", "45 Harbor Rd"), ("city", "Clifton"), ("state", "NJ"),
        ("zip", "07011"), ("country", "US")]}
    assert "no city line" in ship_to_preview("Driscoll\n45 Harbor Rd")["problem"]
    assert ship_to_preview("") == {"fields": [], "problem": None}


def test_the_approved_page_reads_the_ship_to_back_from_the_payload():
    payload = salesorder_payload(order(ship_to=["Maple Ridge - Commissary", "Attn: Receiving", "1450 Britannia Rd E",
                                                "Mississauga, ON L4W 1J2"]), external_id="x")
    lines = ["Maple Ridge - Commissary", "Attn: Receiving", "1450 Britannia Rd E", "Mississauga, ON L4W 1J2", "Canada"]
    assert approved_ship_to(payload) == lines
    assert approved_header(payload, [])["ship_to"] == "\n".join(lines)
    assert approved_ship_to(salesorder_payload(order(), external_id="x")) == []
    assert approved_ship_to({"shippingAddress": "damaged"}) == []
