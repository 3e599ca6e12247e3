"""Printed address lines (a PO's ship-to, as the reviewer left it) -> NetSuite's address subrecord (pure).

Read, never guessed: the last line (before an optional country line) must be a city line of a known shape (US
"City, ST 12345", Canadian "City, ON A1A 1A1", UK "City EH6 6LX", or a postcode and city under a country line),
and a street line must precede it; anything else is a problem, in words, for the reviewer to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_LINE, MAX_CITY, MAX_STATE, MAX_ZIP, MAX_PHONE = 150, 50, 30, 36, 32  # NetSuite's address field lengths
MAX_STREET_LINES = 3  # addr1-addr3
MAX_LINES = 8  # a name, an attention, 3 street lines, the city line, a country and a phone

US_STATES = frozenset({  # the states, DC, the territories and the military post codes
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "VI", "GU", "AS", "MP", "AA",
    "AE", "AP"})
PROVINCES = {"AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
             "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories", "NU": "Nunavut",
             "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec", "SK": "Saskatchewan", "YT": "Yukon"}
STATE_NAMES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "district of columbia": "DC", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY",
    "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI",
    "south carolina": "SC", "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "puerto rico": "PR"}
# A trailing country line, as printed (case, dots and spaces folded) -> ISO 3166 alpha-2.
COUNTRIES = {
    "us": "US", "usa": "US", "united states": "US", "united states of america": "US", "canada": "CA",
    "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "ireland": "IE", "belgium": "BE", "belgique": "BE", "belgie": "BE", "belgië": "BE",
    "germany": "DE", "deutschland": "DE", "france": "FR", "netherlands": "NL", "the netherlands": "NL",
    "nederland": "NL", "mexico": "MX", "méxico": "MX"}
COUNTRY_NAMES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "IE": "Ireland", "BE": "Belgium",
                 "DE": "Germany", "FR": "France", "NL": "Netherlands", "MX": "Mexico"}

_ZIP = r"(?P<zip>\d{5}(?:-\d{4})?)"
_US_TAIL = re.compile(rf"^(?P<rest>.+?)\.?(?:,?\s+{_ZIP})?$")
_CA = re.compile(r"^(?P<rest>.+?)\.?,?\s+(?P<zip>[A-Z]\d[A-Z])\s*(?P<zip2>\d[A-Z]\d)$", re.IGNORECASE)
_UK = re.compile(r"^(?P<city>.*?[^\d\s,]),?\s+(?P<zip>[A-Z]{1,2}\d[A-Z\d]?)\s*(?P<zip2>\d[A-Z]{2})$", re.IGNORECASE)
# Elsewhere (a country line given): "2000 Antwerpen", "80335 München", "1012 AB Amsterdam", "Paris 75008".
_POSTCODE_FIRST = re.compile(r"^(?P<zip>\d{4,5}(?:\s?[A-Z]{2}(?=\s))?)\s+(?P<city>[^\d,].*)$")
_POSTCODE_LAST = re.compile(r"^(?P<city>[^\d,][^\d]*?),?\s+(?P<zip>\d{4,5})$")
_ATTN = re.compile(r"^(?:attn|attention)\b\.?:?\s*(?P<text>.*)$", re.IGNORECASE)
_PHONE_LEAD = re.compile(r"^(?:tel|telephone|phone|ph|t)\b\.?:?\s*(?P<text>.*)$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[\d\s().-]+(?:\s*(?:x|ext\.?)\s*\d{1,6})?$", re.IGNORECASE)
_FAX = re.compile(r"^fax\b", re.IGNORECASE)
# A street line's start: a house number ("45 ", "12-14 ", "45-B ", "100A ", "12.5 ", "123½ ", "12, "), a PO box, a
# floor, suite or flat; not a name that starts with a digit glued to a word ("7-Eleven Store 1234", "1st Choice Foods").
# A flat only with its number or letter ("Flat 2", "Flat B"): "Flat Iron Grill" is a name.
_FLAT = r"flat(?=\s+(?:\d|[A-Z]\b))"
_STREETLIKE = re.compile(r"^(?:\d+(?:[./-]\d+)*(?:-?[A-Z](?![A-Z]))?½?[,\s]|p\.?\s*o\.?\s*box\b"
                         rf"|\d+(?:st|nd|rd|th)\s+fl(?:oor|\.|\b)|(?:suite|ste|unit|floor|bldg|building|{_FLAT})\b)",
                         re.IGNORECASE)
# Words that make a line a street or a place in a building ("3M Center", "2nd Floor", "100 Broadway"), and the
# endings of a company's name ("3M Company", "99 Ranch Foods"): a first line starting with a digit that has no street
# word above a real street line, or that ends as a company's name, is the addressee, not the street.
_THOROUGHFARE = (r"street|st|road|rd|avenue|ave?|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|plaza|plz|"
                 r"square|sq|parkway|pkwy|highway|hwy|freeway|fwy|expressway|expy|route|rte|terrace|ter|crescent|"
                 r"cres|close|quay|wharf|row|mews|circle|cir|trail|trl|pike|turnpike|broadway|loop|alley|walk|"
                 r"gardens?|hill|park|estate|cent(?:er|re)|green|grove|rise|gate|yard|pier|box|industrial|business")
_THOROUGHFARE_WORD = re.compile(rf"\b(?:{_THOROUGHFARE})\b", re.IGNORECASE)
_ENDS_STREET = re.compile(rf"\b(?:{_THOROUGHFARE})\.?$", re.IGNORECASE)
# Street words that end towns' names too ("Burgess Hill", "Forest Row", "Bethnal Green", "Park Gate", "Broadway").
_ENDS_TOWN = re.compile(r"\b(?:hill|row|green|park|gate|grove|rise|gardens?|broadway)\.?$", re.IGNORECASE)
_WORDS = re.compile(r"[^\W\d_]+(?:[ .'-]+[^\W\d_]+)*\.?")  # words only: a town's or a house's name
_BUILDING = rf"suite|ste|unit|floor|fl|level|bldg|building|dock|door|apt|apartment|room|rm|dept|department|{_FLAT}"
_STREET_WORD = re.compile(rf"\b(?:{_THOROUGHFARE}|{_BUILDING})\b", re.IGNORECASE)
_COMPANY = re.compile(r"\b(?:company|co|inc|incorporated|corp|corporation|llc|l\.l\.c|llp|ltd|limited|plc|gmbh|"
                      r"foods?|group|holdings|enterprises|industries|brands)\.?$", re.IGNORECASE)
# UK counties printed between the post town and the postcode ("Guildford, Surrey GU1 1AA", or the town on the line
# above): the county goes in NetSuite's state field (its "County" for UK addresses), the town in the city.
UK_COUNTIES = frozenset({
    "avon", "bedfordshire", "berkshire", "buckinghamshire", "cambridgeshire", "cheshire", "cleveland", "cornwall",
    "cumbria", "derbyshire", "devon", "dorset", "county durham", "east sussex", "essex",
    "gloucestershire", "greater london", "greater manchester", "hampshire", "herefordshire", "hertfordshire",
    "isle of wight", "kent", "lancashire", "leicestershire", "lincolnshire", "merseyside", "middlesex", "norfolk",
    "north yorkshire", "northamptonshire", "northumberland", "nottinghamshire", "oxfordshire", "rutland",
    "shropshire", "somerset", "south yorkshire", "staffordshire", "suffolk", "surrey", "tyne and wear",
    "warwickshire", "west midlands", "west sussex", "west yorkshire", "wiltshire", "worcestershire",
    "east riding of yorkshire", "anglesey", "clwyd", "dyfed", "gwent", "gwynedd", "mid glamorgan", "powys",
    "south glamorgan", "west glamorgan", "pembrokeshire", "carmarthenshire", "ceredigion", "monmouthshire",
    "aberdeenshire", "angus", "argyll", "ayrshire", "fife", "lanarkshire", "midlothian", "east lothian",
    "west lothian", "perthshire", "renfrewshire", "dunbartonshire", "stirlingshire", "county antrim", "co antrim",
    "county armagh", "co armagh", "county down", "co down", "county fermanagh", "co fermanagh",
    "county londonderry", "co londonderry", "county tyrone", "co tyrone"})
SHAPES = ("'City, ST 12345' (US), 'City, ON A1A 1A1' (Canada), 'City EH6 6LX' (UK), or a postcode and city with "
          "the country on the last line")


@dataclass(frozen=True)
class Address:
    """An address as NetSuite's address subrecord holds it; `country` an ISO 3166 alpha-2 code."""

    addr1: str
    city: str
    country: str
    addressee: str | None = None
    addr2: str | None = None
    addr3: str | None = None
    state: str | None = None
    zip: str | None = None
    attention: str | None = None
    phone: str | None = None

    def subrecord(self) -> dict[str, Any]:
        """The NetSuite REST address subrecord (a sales order's shippingAddress), empty fields left out."""
        fields = {"addressee": self.addressee, "attention": self.attention, "addr1": self.addr1,
                  "addr2": self.addr2, "addr3": self.addr3, "city": self.city, "state": self.state, "zip": self.zip,
                  "addrPhone": self.phone}
        return {k: v for k, v in fields.items() if v} | {"country": {"id": self.country}}


@dataclass(frozen=True)
class AddressReading:
    """What read_address made of some lines: an address, or why none (a problem naming what is missing)."""

    address: Address | None
    problem: str | None = None


def _clean(lines: Iterable[str]) -> list[str]:
    # One space between words; a line's trailing comma is punctuation, not part of the street.
    return [text for line in lines if (text := " ".join(str(line).split()).rstrip(",").strip())]


def _country(line: str) -> str | None:
    return COUNTRIES.get(" ".join(line.replace(".", " ").split()).casefold())


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else f"{text[:60]}…")


def _us(line: str) -> tuple[str, str, str | None] | None:
    """(city-and-more, state code, zip) of a US city line, or None."""
    found = _US_TAIL.match(line)
    rest, zip_code = found["rest"].rstrip(",. "), found["zip"]
    head, comma, state = rest.rpartition(",")
    if comma and (code := _state(state)):
        return head.strip(), code, zip_code
    words = rest.split()
    for n in (3, 2, 1):  # "District of Columbia", "New Jersey", "NJ": the longest name first ("West Virginia")
        if len(words) > n and (code := _state(" ".join(words[-n:]))):
            return " ".join(words[:-n]).rstrip(","), code, zip_code
    return None


def _state(text: str) -> str | None:
    text = text.strip().rstrip(".")
    return text.upper() if text.upper() in US_STATES and len(text) == 2 else STATE_NAMES.get(text.casefold())


def _county(text: str) -> bool:
    return " ".join(text.replace(".", " ").split()).casefold() in UK_COUNTIES


def _province(text: str) -> str | None:
    text = text.strip().rstrip(".")
    if text.upper() in PROVINCES and len(text) == 2:
        return text.upper()
    return next((code for code, name in PROVINCES.items() if name.casefold() == text.casefold()), None)


def _ca(line: str) -> tuple[str, str, str] | None:
    """(city-and-more, province code, postal code) of a Canadian city line, or None."""
    if not (found := _CA.match(line)):
        return None
    rest = found["rest"].rstrip(",. ")
    head, comma, prov = rest.rpartition(",")
    if not (comma and (code := _province(prov))):
        words = rest.split()
        for n in (3, 2, 1):  # "Prince Edward Island", "British Columbia", "ON": the longest name first
            if len(words) > n and (code := _province(" ".join(words[-n:]))):
                head = " ".join(words[:-n]).rstrip(",")
                break
        else:
            return None
    return head.strip(), code, f"{found['zip']} {found['zip2']}".upper()


def _city_line(line: str, country: str | None) -> tuple[str, str | None, str | None, str] | str:
    """(city-and-more, state, zip, country) read from the city line, or the problem with it."""
    if country in (None, "US") and (us := _us(line)):
        return (*us, "US")
    if country in (None, "CA") and (ca := _ca(line)):
        return (*ca, "CA")
    if country in (None, "GB") and (uk := _UK.match(line)):
        return uk["city"], None, f"{uk['zip']} {uk['zip2']}".upper(), "GB"
    if country not in (None, "US", "CA", "GB"):
        if found := _POSTCODE_FIRST.match(line) or _POSTCODE_LAST.match(line):
            return found["city"], None, found["zip"], country
        if not any(ch.isdigit() for ch in line):
            return line, None, None, country
    if country is None and (_POSTCODE_FIRST.match(line) or _POSTCODE_LAST.match(line)):
        return (f"no city line: the last line {_shown(line)} is not read as {SHAPES}; if it is a postcode and city, "
                "add the country as the last line (e.g. Belgium, Germany)")
    where = f" in {COUNTRY_NAMES[country]}" if country else ""
    return f"no city line{where}: the last line {_shown(line)} is not read as {SHAPES}"


def _split_contact(lines: list[str]) -> tuple[list[str], str | None, str | None, str | None]:
    """The lines without attention and phone lines, the attention, the phone, and a problem with either."""
    rest, attention, phone = [], None, None
    for line in lines:
        lead = _PHONE_LEAD.match(line)
        if _FAX.match(line):
            return rest, None, None, f"{_shown(line)}: NetSuite's address has no fax number: remove the line"
        if found := _ATTN.match(line):
            if not found["text"]:  # "Attn:" left blank names no one
                continue
            if attention:
                return rest, None, None, f"two attention lines ({_shown(attention)}, {_shown(found['text'])}): keep one"
            attention = found["text"]
        elif (number := lead["text"] if lead else line) and _PHONE.match(number) and \
                7 <= sum(ch.isdigit() for ch in number) <= 20 and (lead or sum(ch.isdigit() for ch in number) >= 10):
            if phone:
                return rest, None, None, f"two phone lines ({_shown(phone)}, {_shown(number)}): keep one"
            phone = number
        else:
            rest.append(line)
    return rest, attention, phone, None


def _street(line: str) -> bool:
    """A line that is a street: a house number or PO box and a street word ("45 Harbor Rd", "PO Box 12")."""
    return bool(_STREETLIKE.match(line) and _THOROUGHFARE_WORD.search(line))


def _names(first: str, below: list[str]) -> bool:
    """Whether the first address line names the place rather than being its street: it does not start like a street,
    or it ends as a company's name ("3M Company"), or it has no street word and a street line follows ("3M Deli" above
    "45 Harbor Rd"). "12 Main Street", "45-B Elm Rd", "2nd Floor" stay streets."""
    if not _STREETLIKE.match(first) or _COMPANY.search(first):
        return True
    return not _STREET_WORD.search(first) and any(_street(line) for line in below)


def _house(line: str) -> bool:
    """A house's name: words only, not a company's name ("The Old Mill", "Rose Cottage", "Church Farm")."""
    return bool(_WORDS.fullmatch(line)) and not _COMPANY.search(line)


def _town(line: str, above: list[str]) -> bool:
    """Whether a line printed over "<county> <postcode>" is the post town: at most 4 words ("Guildford", "St Albans",
    "Welwyn Garden City"), not a company's name, no place in a building, and a street or a house's name printed above
    it. Not ending as a street ("Market Place", "Station Road"), unless a street line is right above it and the word
    ends towns' names too ("12 Church Road" / "Burgess Hill": a street under a street would leave no town)."""
    if not (_house(line) and len(line.split()) <= 4) or re.search(rf"\b(?:{_BUILDING})\b", line, re.IGNORECASE):
        return False
    street_above = _street(above[-1]) or bool(_ENDS_STREET.search(above[-1]))
    if _ENDS_STREET.search(line) and not (_ENDS_TOWN.search(line) and street_above):
        return False
    return any(_STREETLIKE.match(a) or _THOROUGHFARE_WORD.search(a) or _house(a) for a in above)


def _too_long(address: Address) -> str | None:
    limits = [("addressee", MAX_LINE), ("attention", MAX_LINE), ("addr1", MAX_LINE), ("addr2", MAX_LINE),
              ("addr3", MAX_LINE), ("city", MAX_CITY), ("state", MAX_STATE), ("zip", MAX_ZIP), ("phone", MAX_PHONE)]
    for name, most in limits:
        value = getattr(address, name) or ""
        if len(value) > most:
            what = "street line" if name.startswith("addr") and name != "addressee" else name
            return f"{what} {_shown(value)} has {len(value):,} characters: NetSuite's {what} holds at most {most}"
    return None


def read_address(lines: Iterable[str]) -> AddressReading:
    """Printed address lines as a NetSuite address, or the problem (what is missing or unreadable); no lines: none."""
    cleaned = _clean(lines)
    if len(cleaned) > MAX_LINES:
        return AddressReading(None, f"{len(cleaned)} lines: an address has at most {MAX_LINES} (a name, an attention, "
                                    f"{MAX_STREET_LINES} street lines, the city line, a country and a phone)")
    if long := next((line for line in cleaned if len(line) > MAX_LINE), None):
        return AddressReading(None, f"the line {_shown(long)} has {len(long):,} characters: NetSuite's address lines "
                                    f"hold at most {MAX_LINE}")
    rest, attention, phone, problem = _split_contact(cleaned)
    if problem:
        return AddressReading(None, problem)
    country = _country(rest[-1]) if rest else None
    if country:
        rest = rest[:-1]
    if not rest:
        return AddressReading(None, "no street and city lines" if (attention or phone or country) else "no lines")
    read = _city_line(rest[-1], country)
    if isinstance(read, str):
        return AddressReading(None, read)
    head, state, zip_code, country = read
    above = rest[:-1]
    street, _, city = head.rpartition(",")  # "800 Lake Dr, Reno, NV 89501": the street printed before the city
    if street.strip():
        above.append(street.strip())
    city = city.strip()
    # "Guildford, Surrey GU1 1AA", or "Guildford" on the line above "Surrey GU1 1AA": Surrey is the county, Guildford
    # the town. Not when the line above is a street ("1 High St" / "Surrey GU1 1AA": Surrey is then read as the town).
    if country == "GB" and state is None and _county(city) and len(above) > 1 and (
            not _STREETLIKE.match(above[-1]) if street.strip() else _town(above[-1], above[:-1])):
        state, city = city, above.pop()
    if not city:
        return AddressReading(None, f"no city: the city line {_shown(rest[-1])} names a state or postcode only")
    # The first line names the place unless it is a street ("45 Harbor Rd", "PO Box 12": a ship-to without a name), or
    # the house's name alone above the town and county ("The Old Mill" / "Guildford" / "Surrey GU1 1AA").
    house = state is not None and country == "GB" and len(above) == 1 and _house(above[0])
    addressee = above.pop(0) if above and not house and _names(above[0], above[1:]) else None
    if not above:
        where = f" under {_shown(addressee)}" if addressee else ""
        return AddressReading(None, f"no street line: add the street (e.g. '45 Harbor Rd'){where} above the city line")
    if len(above) > MAX_STREET_LINES:
        return AddressReading(None, f"{len(above)} street lines ({', '.join(map(_shown, above))}): NetSuite's address "
                                    f"holds a name and {MAX_STREET_LINES} street lines: join or remove some")
    streets = above + [None] * (MAX_STREET_LINES - len(above))
    address = Address(addressee=addressee, attention=attention, addr1=streets[0] or "", addr2=streets[1],
                      addr3=streets[2], city=city, state=state, zip=zip_code, country=country, phone=phone)
    problem = _too_long(address)
    return AddressReading(None if problem else address, problem)


def printed_lines(subrecord: Mapping[str, Any]) -> list[str]:
    """A NetSuite address subrecord (as salesorder_payload sends it) as the lines read_address reads it from (pure):
    name, attention, streets, city line, the country when not the United States, phone."""
    def text(key: str) -> str:
        value = subrecord.get(key)
        return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""

    country_ref = subrecord.get("country")
    country = text("country") or (str(country_ref.get("id") or "") if isinstance(country_ref, Mapping) else "")
    city, state, zip_code = text("city"), text("state"), text("zip")
    if country in ("US", "CA", "GB", ""):  # a UK county, if any, between the town and the postcode
        city_line = " ".join(filter(None, (f"{city}," if city and state else city, state, zip_code)))
    else:
        city_line = " ".join(filter(None, (zip_code, city)))
    lines = [text("addressee"), f"Attn: {text('attention')}" if text("attention") else "",
             text("addr1"), text("addr2"), text("addr3"), city_line,
             COUNTRY_NAMES.get(country, country) if country not in ("US", "") else "",
             f"Tel {text('addrPhone')}" if text("addrPhone") else ""]
    return [line for line in lines if line]
