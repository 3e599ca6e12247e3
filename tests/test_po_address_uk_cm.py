"""Audit CM F3: a UK county on its own line under the post town. A town whose name ends in a street word ("Burgess
Hill", "Forest Row") is the town when a street line is printed above it; a town under a house name ("The Old Mill",
"Rose Cottage") is the town, the house name the street line; "Flat 2" is a place in a building, not the addressee."""

from __future__ import annotations

import pytest

from worker.po.address import printed_lines, read_address


def _fields(lines: list[str], fields: dict) -> None:
    reading = read_address(lines)
    assert reading.problem is None, reading.problem
    assert {name: getattr(reading.address, name) for name in fields} == fields
    assert read_address(printed_lines(reading.address.subrecord())) == reading  # prints back as "Town, County ..."


@pytest.mark.parametrize(("lines", "fields"), [
    (["Acme Ltd", "12 Church Road", "Burgess Hill", "West Sussex RH15 9AA", "UK"],
     {"addr1": "12 Church Road", "addr2": None, "city": "Burgess Hill", "state": "West Sussex", "zip": "RH15 9AA"}),
    (["12 Church Road", "Burgess Hill", "West Sussex RH15 9AA"],
     {"addressee": None, "addr1": "12 Church Road", "addr2": None, "city": "Burgess Hill", "state": "West Sussex"}),
    (["Acme Ltd", "12 Main Road", "Biggin Hill", "Kent TN16 3AA", "UK"],
     {"addr2": None, "city": "Biggin Hill", "state": "Kent"}),
    (["Acme Ltd", "12 Lewes Road", "Forest Row", "East Sussex RH18 5AA", "UK"],
     {"addr2": None, "city": "Forest Row", "state": "East Sussex"}),
    (["Acme Ltd", "12 High Street", "Brierley Hill", "West Midlands DY5 1AA", "UK"],
     {"addr2": None, "city": "Brierley Hill", "state": "West Midlands"}),
    (["Acme Ltd", "Unit 4", "Riverside Industrial Estate", "Biggin Hill", "Kent TN16 3AA"],
     {"addr1": "Unit 4", "addr2": "Riverside Industrial Estate", "city": "Biggin Hill", "state": "Kent"}),
])
def test_a_town_ending_in_a_street_word_under_a_street_is_the_town(lines, fields) -> None:
    _fields(lines, fields)


@pytest.mark.parametrize(("lines", "fields"), [
    # No street line above: the line may be the street itself, and the county is read as the town, as before.
    (["Harbour Cafe", "Market Place", "Surrey GU1 1AA", "UK"], {"addr1": "Market Place", "city": "Surrey"}),
    (["Acme Ltd", "Burgess Hill", "West Sussex RH15 9AA"], {"addr1": "Burgess Hill", "city": "West Sussex"}),
    # A street word that does not end towns' names stays a street even under a street line.
    (["Acme Ltd", "Unit 4, Riverside Park", "Station Road", "Kent ME1 1TW"],
     {"addr2": "Station Road", "city": "Kent", "state": None}),
    (["Acme Foods Ltd", "Unit 4", "Riverside Industrial Estate", "Kent ME1 1TW", "UK"],
     {"addr2": "Riverside Industrial Estate", "city": "Kent", "state": None}),
])
def test_a_street_word_with_no_street_above_is_not_a_town(lines, fields) -> None:
    _fields(lines, fields)


@pytest.mark.parametrize(("lines", "fields"), [
    (["The Old Mill", "Guildford", "Surrey GU1 1AA", "UK"],
     {"addressee": None, "addr1": "The Old Mill", "addr2": None, "city": "Guildford", "state": "Surrey"}),
    (["Acme Ltd", "The Old Mill", "Guildford", "Surrey GU1 1AA", "United Kingdom"],
     {"addressee": "Acme Ltd", "addr1": "The Old Mill", "addr2": None, "city": "Guildford", "state": "Surrey"}),
    (["Acme Ltd", "Rose Cottage", "Guildford", "Surrey GU1 1AA", "UK"],
     {"addressee": "Acme Ltd", "addr1": "Rose Cottage", "addr2": None, "city": "Guildford", "state": "Surrey"}),
    (["Church Farm", "Little Snoring", "Norfolk NR21 0AA"],
     {"addressee": None, "addr1": "Church Farm", "city": "Little Snoring", "state": "Norfolk", "zip": "NR21 0AA"}),
    (["The Old Mill", "Guildford, Surrey GU1 1AA", "UK"],
     {"addressee": None, "addr1": "The Old Mill", "city": "Guildford", "state": "Surrey"}),
])
def test_a_town_under_a_house_name_is_the_town(lines, fields) -> None:
    _fields(lines, fields)


def test_a_company_with_no_street_under_it_is_still_the_addressee() -> None:
    reading = read_address(["Acme Ltd", "Guildford, Surrey GU1 1AA", "UK"])
    assert reading.address is None and "no street line" in reading.problem and "'Acme Ltd'" in reading.problem
    _fields(["Acme Ltd", "Guildford", "Surrey GU1 1AA"], {"addressee": "Acme Ltd", "addr1": "Guildford",
                                                          "city": "Surrey", "state": None})


@pytest.mark.parametrize(("lines", "fields"), [
    (["Flat 2", "10 Eden Street", "Kingston upon Thames", "Surrey KT1 1AA", "United Kingdom"],
     {"addressee": None, "addr1": "Flat 2", "addr2": "10 Eden Street", "city": "Kingston upon Thames",
      "state": "Surrey"}),
    (["Acme Ltd", "Flat 2", "Kingston upon Thames", "Surrey KT1 1AA", "UK"],
     {"addressee": "Acme Ltd", "addr1": "Flat 2", "addr2": None, "city": "Kingston upon Thames", "state": "Surrey"}),
    (["J Smith", "Flat B", "10 Eden Street", "Kingston upon Thames KT1 1AA"],
     {"addressee": "J Smith", "addr1": "Flat B", "addr2": "10 Eden Street", "city": "Kingston upon Thames"}),
    # A name that starts with the word, no flat number after it, stays the addressee.
    (["Flat Iron Grill", "45 Harbor Rd", "Tampa, FL 33601"], {"addressee": "Flat Iron Grill", "addr1": "45 Harbor Rd"}),
])
def test_a_flat_is_a_place_in_a_building(lines, fields) -> None:
    _fields(lines, fields)


@pytest.mark.parametrize(("lines", "fields"), [
    (["Acme Ltd", "1 High St", "Surrey GU1 1AA"], {"addr1": "1 High St", "city": "Surrey", "state": None}),
    (["Harbour Cafe", "Market Place", "Durham DH1 3NJ", "UK"], {"addr1": "Market Place", "city": "Durham"}),
    (["1 High St", "Durham DH1 3HP"], {"addr1": "1 High St", "city": "Durham", "state": None}),
    (["3M Company", "3M Center", "Bldg 220", "St Paul, MN 55144"],
     {"addressee": "3M Company", "addr1": "3M Center", "addr2": "Bldg 220"}),
    (["7-Eleven #1234", "Ste 100", "45 Harbor Rd", "Tampa, FL 33601"],
     {"addressee": "7-Eleven #1234", "addr1": "Ste 100", "addr2": "45 Harbor Rd"}),
    (["Maple Ridge", "1450 Britannia Rd E", "Mississauga, ON L4W 1J2"],
     {"addressee": "Maple Ridge", "addr1": "1450 Britannia Rd E", "city": "Mississauga", "state": "ON"}),
])
def test_kept(lines, fields) -> None:
    _fields(lines, fields)


def test_a_county_alone_is_the_town() -> None:
    reading = read_address(["Durham DH1 3HP"])
    assert reading.address is None and "no street line" in reading.problem
