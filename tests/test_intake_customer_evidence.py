"""Which printed names say who the customer is (SPEC 5.4: the buyer / bill-to (sold-to) name, not the ship-to), and
that a weak or contradicted customer match is flagged for the reviewer with its confidence lowered.

Audit repros: an order from free mail whose ship-to is a venue that is also a customer was billed to the venue;
"Driscoll Street Deli" was preselected as Driscoll Foods on its first word, with no flag."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.po.layouts import LAYOUTS
from tests.po.orders import make_order
from tests.test_email_fixtures import DRISCOLL, HARBOR, NOW, order_email
from worker.env import Env
from worker.intake.customers import customer_flags, match_customer
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.po.model import POLine, PurchaseOrder

VENUE = "1229"
OWN = frozenset({"gfs.local"})
BH = ["BH Catering & Events", "PO Box 12", "Reno, NV 89502"]
SILVER_LAKE = ["Silver Lake Events Center", "Loading dock - Hall B", "800 Lake Dr, Reno, NV 89501"]
CUSTOMER_CODES = {"unmatched_customer", "ambiguous_customer", "customer_mismatch", "uncertain_customer"}


def _add_venue(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO customers (ns_id, entity_id, company_name, email, last_modified) VALUES (?,?,?,?,?)",
                 (VENUE, "Silver Lake Events Center", "Silver Lake Events Center", "events@silverlake.example", NOW))


@pytest.fixture
async def venue(seeded: Env) -> Env:
    """The intake's reference data plus a customer that is also a delivery venue."""
    await seeded.db.write(_add_venue)
    return seeded


async def _intake(env: Env, layout: str, sender: str, buyer: str, bill_to: list[str],
                  ship_to: list[str]) -> tuple[dict, list[dict]]:
    """Send one PDF order drawn by `layout` through the door and the pipeline; its review item and customer flags."""
    render, opts = LAYOUTS[layout]
    order = make_order(2, **opts)  # no Melt Mates (Driscoll's private label) among its lines: names alone decide
    order.buyer, order.bill_to, order.ship_to = buyer, bill_to, ship_to
    pdf, _omit = render(order)
    received = await accept_raw(env, order_email([("po.pdf", pdf)], sender=sender), door="http")
    assert await process_email(env, received.email_id) == "processed"
    item = dict(await env.db.fetchone("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,)))
    return item, [f for f in json.loads(item["flags_json"]) if f["code"] in CUSTOMER_CODES]


async def test_a_ship_to_venue_is_not_the_customer_of_a_po_whose_buyer_is_unknown(venue: Env) -> None:
    # Audit po25: buyer and bill-to BH Catering (no customer), ship-to the venue: it used to be billed to the venue.
    item, flags = await _intake(venue, "side_by_side", "bhcatering.orders@gmail.com", BH[0], BH, SILVER_LAKE)
    parsed = json.loads(item["parsed_json"])
    assert (parsed["bill_to"][0], parsed["ship_to"][0]) == (BH[0], SILVER_LAKE[0])  # the PDF was read as printed
    assert item["customer_id"] is None
    assert [f["code"] for f in flags] == ["unmatched_customer"]


async def test_a_first_word_match_is_preselected_but_flagged_and_less_sure(venue: Env) -> None:
    # Audit po14: "Driscoll Street Deli" matched Driscoll Foods on the one-word synonym "Driscoll", silently.
    deli = ["Driscoll Street Deli", "12 Driscoll St", "Reno, NV 89502"]
    item, flags = await _intake(venue, "classic_grid", "driscollstreetdeli@gmail.com", deli[0], deli, deli)
    assert item["customer_id"] == DRISCOLL
    [flag] = flags
    assert (flag["code"], flag["severity"], flag["basis"]) == ("uncertain_customer", "warning", "name_prefix")
    assert "'Driscoll Street Deli'" in flag["message"] and "'driscoll'" in flag["message"]
    whole, _ = await _intake(venue, "classic_grid", "someone@gmail.com", "Driscoll Foods", deli, deli)
    assert item["confidence"] < whole["confidence"] / 1.5  # the customer factor: 0.4 vs 0.9


async def test_a_whole_bill_to_name_is_unflagged_whatever_the_ship_to(venue: Env) -> None:
    harbor = ["Harbor Grill Group", "88 Water Street", "Boston, MA 02109"]
    item, flags = await _intake(venue, "side_by_side", "chef.harbor@gmail.com", harbor[0], harbor, SILVER_LAKE)
    assert (item["customer_id"], flags) == (HARBOR, [])
    synonym = ["DF Commissary", "17 Industrial Road", "Clifton, NJ 07011"]
    item, flags = await _intake(venue, "side_by_side", "kitchen@gmail.com", synonym[0], synonym, SILVER_LAKE)
    assert (item["customer_id"], flags) == (DRISCOLL, [])


async def test_a_ship_to_is_a_flagged_last_resort_only_when_no_buyer_or_bill_to_is_printed(venue: Env) -> None:
    # This layout's buyer line is not read as a buyer and it prints no bill-to: only the ship-to names anyone.
    seaport = ["Harbor Grill Group Seaport", "1 Seaport Blvd", "Boston, MA 02210"]
    item, flags = await _intake(venue, "whitespace_courier", "chef.harbor@gmail.com", "Harbor Grill",
                                ["(unread)", "1 Seaport Blvd", "Boston, MA 02210"], seaport)
    assert json.loads(item["parsed_json"])["buyer"] is None and item["customer_id"] == HARBOR
    [flag] = flags
    assert (flag["code"], flag["basis"]) == ("uncertain_customer", "ship_to") and "ship-to" in flag["message"]


def _po(**kw: object) -> PurchaseOrder:
    return PurchaseOrder(**kw)


@pytest.mark.parametrize(("senders", "po", "customer", "method", "codes"), [
    # a whole bill-to name beats the buyer's leading words
    (["x@gmail.com"], _po(buyer="Driscoll Street Deli", bill_to=["Harbor Grill Group"]), HARBOR, "name", []),
    (["x@gmail.com"], _po(bill_to=["Harbor Grill Group Seaport"]), HARBOR, "name_prefix", ["uncertain_customer"]),
    # buyer and bill-to name two customers
    (["x@gmail.com"], _po(buyer="Driscoll Foods", bill_to=["Harbor Grill Group"]), DRISCOLL, "name",
     ["customer_mismatch"]),
    # the sender's customer delivering to another (a subcustomer, a venue) is no contradiction
    (["buyer@driscollfoods.com"], _po(buyer="Driscoll Foods", ship_to=["Silver Lake Events Center"]), DRISCOLL,
     "contact", []),
    (["buyer@driscollfoods.com"], _po(bill_to=["Harbor Grill Group"]), DRISCOLL, "contact", ["customer_mismatch"]),
    # a brand owner's item ordered by a company that is not that customer
    (["x@gmail.com"], _po(buyer="BH Catering", lines=[POLine(line_no=1, description="MELT MATES AMERICAN")]),
     DRISCOLL, "brand", ["uncertain_customer"]),
    (["x@gmail.com"], _po(buyer="BH Catering", ship_to=SILVER_LAKE), None, "none", ["unmatched_customer"]),
])
async def test_weak_or_contradicted_matches_are_flagged_and_less_sure(venue: Env, senders, po, customer, method,
                                                                       codes) -> None:
    match = await venue.db.write(match_customer, senders, po, OWN)
    flags = await venue.db.write(customer_flags, match, po)
    assert (match.customer_id, match.method, [f["code"] for f in flags]) == (customer, method, codes)
    assert all(f["severity"] == "warning" for f in flags)
    if customer:
        assert (match.confidence <= 0.5) is bool(codes)
