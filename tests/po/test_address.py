"""Printed address lines -> NetSuite's address subrecord (worker/po/address.py, pure): every ship-to and bill-to
block our PO fixtures print, and the shapes a reviewer types; what cannot be read is a problem in words."""

from __future__ import annotations

import pytest

from tests.po.holdout import data as holdout
from tests.po.orders import BUYERS, EU_BUYER, VENDOR
from tests.review_seed import parsed_po
from tests.test_intake_customer_evidence import BH, SILVER_LAKE
from worker.po.address import MAX_LINES, Address, printed_lines, read_address

# Every address block the PO fixtures print (tests/po/orders.py, tests/po/holdout/data.py, the intake's and the review
# pages' seeds), as (block, whether it carries a country its city line alone does not tell).
FIXTURE_BLOCKS = [
    *[block for _name, bill, ship in [*BUYERS, EU_BUYER] for block in (bill, ship)], VENDOR, holdout.VENDOR,
    *[block for pool in holdout.BUYERS.values() for _name, bill, ship in pool for block in (bill, ship)],
    BH, SILVER_LAKE, parsed_po()["bill_to"], parsed_po()["ship_to"]]
# Printed with a postcode and city but no country line: no country is guessed for them.
NO_COUNTRY = {"80331 Muenchen", "80335 Muenchen", "2000 Antwerpen"}


def test_every_fixture_block_is_read_or_refused_for_want_of_a_country():
    assert len(FIXTURE_BLOCKS) >= 35
    for block in FIXTURE_BLOCKS:
        for lines in (block, [line.upper() for line in block]):  # one holdout layout prints them in capitals
            reading = read_address(lines)
            if lines[-1].title() in {n.title() for n in NO_COUNTRY}:
                assert reading.address is None and "add the country as the last line" in reading.problem, lines
                continue
            assert reading.problem is None, (lines, reading.problem)
            assert reading.address.addr1 and reading.address.city, lines
            assert read_address(printed_lines(reading.address.subrecord())) == reading, lines  # round trip


@pytest.mark.parametrize(("lines", "subrecord"), [
    (["Driscoll Foods - Store 12", "45 Harbor Rd", "Clifton, NJ 07011"],
     {"addressee": "Driscoll Foods - Store 12", "addr1": "45 Harbor Rd", "city": "Clifton", "state": "NJ",
      "zip": "07011", "country": {"id": "US"}}),
    (["Driscoll Foods DC 2", "12 Dock Rd", "Carlstadt NJ 07072"],  # no comma before the state
     {"addressee": "Driscoll Foods DC 2", "addr1": "12 Dock Rd", "city": "Carlstadt", "state": "NJ", "zip": "07072",
      "country": {"id": "US"}}),
    (["Harbor Grill Seaport", "1 Seaport Blvd", "Boston, Massachusetts 02210-1234", "USA"],
     {"addressee": "Harbor Grill Seaport", "addr1": "1 Seaport Blvd", "city": "Boston", "state": "MA",
      "zip": "02210-1234", "country": {"id": "US"}}),
    (["Copper Kettle Restaurant Group", "Attn: Accounts Payable", "4400 Magnolia Ave Suite 210",
      "Houston, TX 77002", "Tel: (713) 555-0142"],
     {"addressee": "Copper Kettle Restaurant Group", "attention": "Accounts Payable",
      "addr1": "4400 Magnolia Ave Suite 210", "city": "Houston", "state": "TX", "zip": "77002",
      "addrPhone": "(713) 555-0142", "country": {"id": "US"}}),
    (["St. Brendan Medical Center", "Dietary Dept. Dock 4", "3100 Oak Lawn Ave", "Dallas, TX 75219",
      "United States"],
     {"addressee": "St. Brendan Medical Center", "addr1": "Dietary Dept. Dock 4", "addr2": "3100 Oak Lawn Ave",
      "city": "Dallas", "state": "TX", "zip": "75219", "country": {"id": "US"}}),
    (SILVER_LAKE,  # the street printed on the city line
     {"addressee": "Silver Lake Events Center", "addr1": "Loading dock - Hall B", "addr2": "800 Lake Dr",
      "city": "Reno", "state": "NV", "zip": "89501", "country": {"id": "US"}}),
    (["Maple Ridge Catering - Commissary", "1450 Britannia Rd E", "Mississauga, ON L4W1J2", "Canada"],
     {"addressee": "Maple Ridge Catering - Commissary", "addr1": "1450 Britannia Rd E", "city": "Mississauga",
      "state": "ON", "zip": "L4W 1J2", "country": {"id": "CA"}}),
    (["Maple Ridge Catering Ltd.", "88 King Street West", "Toronto Ontario M5H 1A1"],
     {"addressee": "Maple Ridge Catering Ltd.", "addr1": "88 King Street West", "city": "Toronto", "state": "ON",
      "zip": "M5H 1A1", "country": {"id": "CA"}}),
    (["Thistle & Rose - Leith Kitchen", "3 Commercial Quay", "Edinburgh EH6 6LX"],
     {"addressee": "Thistle & Rose - Leith Kitchen", "addr1": "3 Commercial Quay", "city": "Edinburgh",
      "zip": "EH6 6LX", "country": {"id": "GB"}}),
    (["Brasserie De Kade BV", "Leveringen achteraan", "Kaai 12", "2000 Antwerpen", "Belgium"],
     {"addressee": "Brasserie De Kade BV", "addr1": "Leveringen achteraan", "addr2": "Kaai 12", "city": "Antwerpen",
      "zip": "2000", "country": {"id": "BE"}}),
    (["45 Harbor Rd", "Clifton, NJ 07011"],  # no name: the street is not taken for one
     {"addr1": "45 Harbor Rd", "city": "Clifton", "state": "NJ", "zip": "07011", "country": {"id": "US"}}),
    (["  Driscoll   Foods ", "", "45 Harbor Rd,", "Clifton,  NJ  07011 "],  # spacing and blank lines as typed
     {"addressee": "Driscoll Foods", "addr1": "45 Harbor Rd", "city": "Clifton", "state": "NJ", "zip": "07011",
      "country": {"id": "US"}}),
    (["Driscoll Foods", "Attn:", "45 Harbor Rd", "Clifton, NJ"],  # a blank attention names no one; no ZIP printed
     {"addressee": "Driscoll Foods", "addr1": "45 Harbor Rd", "city": "Clifton", "state": "NJ",
      "country": {"id": "US"}}),
    (["Tel Aviv Grill", "9 Main St", "Paterson, NJ 07501", "973 555 0100"],  # "Tel" of a name is no phone
     {"addressee": "Tel Aviv Grill", "addr1": "9 Main St", "city": "Paterson", "state": "NJ", "zip": "07501",
      "addrPhone": "973 555 0100", "country": {"id": "US"}}),
])
def test_an_address_block_is_read_into_netsuites_fields(lines, subrecord):
    reading = read_address(lines)
    assert reading.problem is None and reading.address.subrecord() == subrecord


@pytest.mark.parametrize(("lines", "problem"), [
    (["Driscoll Foods", "45 Harbor Rd", "Clifton"], "no city line: the last line 'Clifton' is not read as"),
    (["Driscoll Foods", "Clifton, NJ 07011"],
     "no street line: add the street (e.g. '45 Harbor Rd') under 'Driscoll Foods'"),
    (["Driscoll Foods", "45 Harbor Rd", "NJ 07011"], "no city line"),
    (["Brasserie Lindner Kueche", "Lieferhof 4", "80335 Muenchen"], "add the country as the last line"),
    (["Maple Ridge", "1450 Britannia Rd E", "Mississauga, ON L4W 1J2", "USA"], "no city line in United States"),
    (["Driscoll Foods", "45 Harbor Rd", "Clifton, NJ 07011", "Fax 973-555-0101"],
     "'Fax 973-555-0101': NetSuite's address has no fax number: remove the line"),
    (["Driscoll", "Attn: Dock", "Attn: Receiving", "45 Harbor Rd", "Clifton, NJ 07011"], "two attention lines"),
    (["Driscoll", "Tel 973 555 0100", "Phone 973 555 0199", "45 Harbor Rd", "Clifton, NJ 07011"],
     "two phone lines"),
    (["Driscoll", "Dock 2", "Door 4", "Bldg 7", "45 Harbor Rd", "Clifton, NJ 07011"],
     ("4 street lines ('Dock 2', 'Door 4', 'Bldg 7', '45 Harbor Rd'): NetSuite's address holds a name and 3 street "
      "lines: join or remove some")),
    (["Driscoll", "45 Harbor Rd", f"{'Clifton' * 8}, NJ 07011"], "city 'CliftonClifton"),
    (["Driscoll", "x" * 151, "Clifton, NJ 07011"], "has 151 characters: NetSuite's address lines hold at most 150"),
    ([f"line {n}" for n in range(MAX_LINES + 1)], f"{MAX_LINES + 1} lines: an address has at most {MAX_LINES}"),
    (["Canada"], "no street and city lines"),
    (["", "  "], "no lines"),
])
def test_what_cannot_be_read_is_a_problem_naming_what_is_missing(lines, problem):
    reading = read_address(lines)
    assert reading.address is None and problem in reading.problem


def test_an_address_prints_back_as_the_lines_it_is_read_from():
    address = Address(addressee="Brasserie De Kade BV", attention="Chef", addr1="Kaai 12", city="Antwerpen",
                      zip="2000", country="BE", phone="+32 3 555 01 00")
    assert printed_lines(address.subrecord()) == ["Brasserie De Kade BV", "Attn: Chef", "Kaai 12", "2000 Antwerpen",
                                                  "Belgium", "Tel +32 3 555 01 00"]
    assert read_address(printed_lines(address.subrecord())).address == address
    # A damaged subrecord gives what it can, never raises.
    assert printed_lines({"addr1": ["x"], "city": "Reno", "state": "NV", "country": "US"}) == ["Reno, NV"]


@pytest.mark.parametrize(("lines", "fields"), [
    # Audit CF: the shortest state name was tried first, so "West Virginia" went to NetSuite as Virginia.
    (["Mountaineer Grill", "200 Capitol St", "Charleston West Virginia 25301"],
     {"city": "Charleston", "state": "WV", "zip": "25301"}),
    (["Deli", "12 Main St", "Charlottetown Prince Edward Island C1A 1A1"],
     {"city": "Charlottetown", "state": "PE", "zip": "C1A 1A1"}),
    (["Deli", "12 Main St", "Kansas City Missouri 64101"], {"city": "Kansas City", "state": "MO"}),
    (["Deli", "12 Main St", "New York New York 10001"], {"city": "New York", "state": "NY"}),
    # A UK county between the post town and the postcode is the county (NetSuite's state field), not the city.
    (["Acme Ltd", "1 High St", "Guildford, Surrey GU1 1AA"],
     {"addr1": "1 High St", "city": "Guildford", "state": "Surrey", "zip": "GU1 1AA"}),
    # Or on the city line under the town (audit CK); under a street it is read as the town (see below).
    (["Acme Ltd", "1 High St", "Guildford", "Surrey GU1 1AA"],
     {"addr1": "1 High St", "addr2": None, "city": "Guildford", "state": "Surrey"}),
    (["Harbour Cafe", "Market Place", "Durham DH1 3NJ", "UK"], {"addr1": "Market Place", "city": "Durham"}),
    (["Acme Foods Ltd", "Unit 4", "Riverside Industrial Estate", "Durham DH1 1TW", "UK"],
     {"addr1": "Unit 4", "addr2": "Riverside Industrial Estate", "city": "Durham", "state": None}),
    (["Cafe", "Market Place, Durham DH1 3NJ"], {"addr1": "Market Place", "city": "Durham", "state": None}),
    (["Acme Ltd", "1 High St", "Surrey GU1 1AA"], {"addr1": "1 High St", "city": "Surrey", "state": None}),
    (["Acme", "10 Downing St, London SW1A 2AA"], {"addr1": "10 Downing St", "city": "London", "state": None}),
    # A name that starts with a digit is the addressee, not a street line.
    (["7-Eleven Store 1234", "45 Harbor Rd", "Clifton, NJ 07011"],
     {"addressee": "7-Eleven Store 1234", "addr1": "45 Harbor Rd", "addr2": None}),
    (["1st Choice Foods", "45 Harbor Rd", "Clifton, NJ 07011"],
     {"addressee": "1st Choice Foods", "addr1": "45 Harbor Rd"}),
    (["12-14 Harbor Rd", "Clifton, NJ 07011"], {"addressee": None, "addr1": "12-14 Harbor Rd"}),
    (["2nd Floor", "45 Harbor Rd", "Clifton, NJ 07011"], {"addressee": None, "addr1": "2nd Floor", "addr2": "45 Harbor Rd"}),
    (["Suite 200", "45 Harbor Rd", "Clifton, NJ 07011"], {"addressee": None, "addr1": "Suite 200"}),
    # House numbers of every common shape start a street line (audit CH: these were refused as "no street line").
    (["45-B Harbor Rd", "Clifton, NJ 07011"], {"addressee": None, "addr1": "45-B Harbor Rd"}),
    (["12, High Street", "Guildford GU1 1AA", "UK"], {"addressee": None, "addr1": "12, High Street"}),
    (["123½ Main St", "Clifton, NJ 07011"], {"addressee": None, "addr1": "123½ Main St"}),
    (["12.5 Mile Rd", "Detroit, MI 48201"], {"addressee": None, "addr1": "12.5 Mile Rd"}),
    (["1234-A Industrial Pkwy", "Suite 100", "Clifton, NJ 07011"],
     {"addressee": None, "addr1": "1234-A Industrial Pkwy", "addr2": "Suite 100"}),
])
def test_longer_names_counties_and_names_with_digits_go_in_their_fields(lines, fields):
    reading = read_address(lines)
    assert reading.problem is None, reading.problem
    assert {name: getattr(reading.address, name) for name in fields} == fields
    assert read_address(printed_lines(reading.address.subrecord())) == reading  # round trip, the county included
