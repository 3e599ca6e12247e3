"""Which customer sent this order: sender email, then email domain, then the names printed on the PO.

Order of evidence (SPEC 5.4): customer or contact email, then a domain only one customer uses (free-mail
and our own domains never count), then the PO's buyer / bill-to (sold-to) names through `name_synonyms`
and normalized company names, then private-label brand prefixes in the item descriptions. The ship-to names
where the goods go (a venue, a school, a warehouse), not who pays: it is tried last, only on a PO that prints no
buyer or bill-to name, and always flagged. A match on a name's leading words only, or one another printed
name contradicts, is flagged `uncertain_customer` / `customer_mismatch` and its confidence lowered.
Functions take a sqlite3 connection (they run on the writer thread, inside the intake transaction).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from worker.names import email_domain, name_variants, normalize_name
from worker.po.model import PurchaseOrder

# A contact speaks for its company only while the company itself is live (not deleted, already mirrored).
BY_EMAIL = """
SELECT ns_id, 'email' FROM customers WHERE lower(email) = :addr AND deleted_at IS NULL
UNION
SELECT k.customer_id, 'contact' FROM customer_contacts k JOIN customers c ON c.ns_id = k.customer_id
WHERE lower(k.email) = :addr AND k.deleted_at IS NULL AND c.deleted_at IS NULL
"""
BY_DOMAIN = """
SELECT ns_id FROM customers WHERE lower(email) LIKE '%@' || :domain AND deleted_at IS NULL
UNION
SELECT k.customer_id FROM customer_contacts k JOIN customers c ON c.ns_id = k.customer_id
WHERE lower(k.email) LIKE '%@' || :domain AND k.deleted_at IS NULL AND c.deleted_at IS NULL
"""
BY_SYNONYM = "SELECT DISTINCT customer_id FROM name_synonyms WHERE kind = 'customer' AND normalized = ?"
CUSTOMER_NAMES = "SELECT ns_id, company_name, entity_id FROM customers WHERE deleted_at IS NULL"
# Which database, and the state of its customers' names: schema.sql's triggers restamp the row at every rename,
# (in)activation, deletion or revival, whatever its last_modified; the count tells new customers.
NAMES_STAMP = "SELECT database_id, stamp, (SELECT count(*) FROM customers) FROM customer_names_stamp"
BRANDS = "SELECT normalized, customer_id FROM name_synonyms WHERE kind = 'brand_prefix'"

# Addresses at these domains say nothing about which company wrote.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.com.mx", "ymail.com", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
    "gmx.com", "gmx.de", "web.de", "mail.com", "zoho.com", "comcast.net", "att.net", "verizon.net",
})


@dataclass(frozen=True)
class CustomerMatch:
    """The matched customer (or None), how it was found and how sure we are; `candidates` when ambiguous."""

    customer_id: str | None
    method: str  # email | contact | domain | synonym | name | name_prefix | brand | ship_to | none | ambiguous
    confidence: float
    evidence: str = ""
    candidates: tuple[str, ...] = field(default_factory=tuple)
    matched: str = ""  # the normalized name, or its leading words, that named the customer (printed names only)


NO_MATCH = CustomerMatch(None, "none", 0.0)
# Confidence of a match the reviewer is asked to check: a ship-to guess, or one another printed name contradicts.
SHIP_TO_CONFIDENCE = 0.4
CONTRADICTED_CONFIDENCE = 0.5
# database_id -> ((stamp, customer count), index); a process has one database, tests many: a few are kept.
_name_cache: dict[int, tuple[tuple[int, int], dict[str, set[str]]]] = {}
_CACHED_DATABASES = 4


def _one(ids: Iterable[str]) -> str | None:
    unique = set(ids)
    return unique.pop() if len(unique) == 1 else None


def by_sender(conn: sqlite3.Connection, senders: list[str], own_domains: frozenset[str]) -> CustomerMatch:
    """Exact address of a customer or contact, then a domain that belongs to exactly one customer."""
    for addr in senders:
        rows = conn.execute(BY_EMAIL, {"addr": addr.lower()}).fetchall()
        if customer := _one(r[0] for r in rows):
            return CustomerMatch(customer, rows[0][1], 0.98, addr)
    ambiguous: tuple[str, ...] = ()
    for addr in senders:
        domain = email_domain(addr)
        if not domain or domain in FREE_MAIL or domain in own_domains:
            continue
        ids = {r[0] for r in conn.execute(BY_DOMAIN, {"domain": domain}).fetchall()}
        if len(ids) == 1:
            return CustomerMatch(ids.pop(), "domain", 0.9, domain)
        ambiguous = ambiguous or tuple(sorted(ids))
    return CustomerMatch(None, "ambiguous", 0.0, "email domain", ambiguous) if len(ambiguous) > 1 else NO_MATCH


def _names_index(conn: sqlite3.Connection) -> dict[str, set[str]]:
    # Normalizing every company name is the slow part (0.5 s at 50,000 customers): redone only when a name changed.
    row = conn.execute(NAMES_STAMP).fetchone()
    if row is None:  # no stamp row (schema.sql puts it back at the next start): nothing to judge a cache by
        return _build_names_index(conn)
    database, stamp, count = row
    cached = _name_cache.get(database)
    if cached and cached[0] == (stamp, count):
        return cached[1]
    index = _build_names_index(conn)
    if cached is None and len(_name_cache) >= _CACHED_DATABASES:
        del _name_cache[next(iter(_name_cache))]
    _name_cache[database] = ((stamp, count), index)
    return index


def _build_names_index(conn: sqlite3.Connection) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for ns_id, company, entity in conn.execute(CUSTOMER_NAMES):
        for name in {normalize_name(company), normalize_name(entity)} - {""}:
            index.setdefault(name, set()).add(ns_id)
    return index


def _lookup(conn: sqlite3.Connection, normalized: str, index: dict[str, set[str]]) -> tuple[str | None, str]:
    if customer := _one(r[0] for r in conn.execute(BY_SYNONYM, (normalized,))):
        return customer, "synonym"
    if customer := _one(index.get(normalized, ())):
        return customer, "name"
    return None, ""


def by_names(conn: sqlite3.Connection, names: list[str]) -> CustomerMatch:
    """The first printed name that means exactly one customer; failing that, the first whose leading words do."""
    index = _names_index(conn)
    forms = [(name, name_variants(name)) for name in names]
    # Every whole name before any shortened one: a buyer's leading words must not beat the bill-to's exact name.
    for name, variants in forms:
        customer, method = _lookup(conn, variants[0], index) if variants else (None, "")
        if customer:
            return CustomerMatch(customer, method, 0.9, name, matched=variants[0])
    for name, variants in forms:
        for dropped, variant in enumerate(variants[1:], 1):
            if customer := _lookup(conn, variant, index)[0]:
                # "Driscoll Foods Warehouse 3" -> "driscoll foods", but "Driscoll Street Deli" -> "driscoll" too:
                # leading words may be another company's name, so this is weak evidence and always flagged.
                return CustomerMatch(customer, "name_prefix", max(0.3, 0.6 - 0.1 * dropped), name, matched=variant)
    return NO_MATCH


def _full_name_customer(conn: sqlite3.Connection, name: str) -> str | None:
    """The one customer a printed name means as a whole (synonym or normalized name), else None."""
    variants = name_variants(name)
    return _lookup(conn, variants[0], _names_index(conn))[0] if variants else None


def by_brand(conn: sqlite3.Connection, descriptions: list[str]) -> CustomerMatch:
    """A private-label brand at the start of an item description names the customer that owns it."""
    brands = conn.execute(BRANDS).fetchall()
    for desc in descriptions:
        text = normalize_name(desc)
        for brand, customer in brands:
            if brand and (text == brand or text.startswith(brand + " ")):
                return CustomerMatch(customer, "brand", 0.6, brand)
    return NO_MATCH


def po_names(po: PurchaseOrder | None) -> list[str]:
    """The buyer's and bill-to (sold-to) names printed on a PO, buyer first: who orders and who pays (SPEC 5.4)."""
    if po is None:
        return []
    return [n for n in (po.buyer, po.bill_to[0] if po.bill_to else None) if n]


def by_ship_to(conn: sqlite3.Connection, po: PurchaseOrder | None) -> CustomerMatch:
    """Last resort, on a PO that prints no buyer or bill-to name: the customer its ship-to names (always flagged)."""
    if po is None or po_names(po) or not po.ship_to or not po.ship_to[0]:
        return NO_MATCH
    named = by_names(conn, [po.ship_to[0]])
    if not named.customer_id:
        return NO_MATCH
    return replace(named, method="ship_to", confidence=min(SHIP_TO_CONFIDENCE, named.confidence))


def _printed(conn: sqlite3.Connection, po: PurchaseOrder | None) -> CustomerMatch:
    """What the PO itself says: buyer / bill-to names, then its items' brands, then (last resort) its ship-to."""
    if po is None:
        return NO_MATCH
    named = by_names(conn, po_names(po))
    if named.customer_id:
        return named
    branded = by_brand(conn, [ln.description or "" for ln in po.lines])
    return branded if branded.customer_id else by_ship_to(conn, po)


def match_customer(conn: sqlite3.Connection, senders: list[str], po: PurchaseOrder | None,
                   own_domains: frozenset[str]) -> CustomerMatch:
    """Best customer for one order; sender evidence wins over printed names, names over brands, brands over ship-to."""
    sender = by_sender(conn, senders, own_domains)
    match = sender if sender.customer_id else _printed(conn, po)
    if not match.customer_id:
        return sender  # keeps 'ambiguous' candidates for the reviewer
    if _contradiction(conn, match, po) or _unbacked_brand(conn, match, po):
        return replace(match, confidence=min(match.confidence, CONTRADICTED_CONFIDENCE))
    return match


def _contradiction(conn: sqlite3.Connection, match: CustomerMatch, po: PurchaseOrder | None) -> tuple[str, str] | None:
    """(printed name, its customer) for the first buyer / bill-to name that as a whole means another customer."""
    for name in po_names(po):
        other = _full_name_customer(conn, name)
        if other and other != match.customer_id:
            return name, other
    return None


def _unbacked_brand(conn: sqlite3.Connection, match: CustomerMatch, po: PurchaseOrder | None) -> str | None:
    """For a match by item brand: the first buyer / bill-to name that does not name the brand's customer at all."""
    if match.method != "brand":
        return None
    return next((n for n in po_names(po) if by_names(conn, [n]).customer_id != match.customer_id), None)


def _basis(match: CustomerMatch) -> str:
    if match.method in ("email", "contact", "domain"):
        return f"sender matches customer {match.customer_id}"
    if match.method == "brand":
        return f"the item brand {match.evidence!r} is customer {match.customer_id}'s"
    return f"the PO's name {match.evidence!r} matches customer {match.customer_id}"


def customer_flags(conn: sqlite3.Connection, match: CustomerMatch, po: PurchaseOrder | None) -> list[dict[str, object]]:
    """Flags for the reviewer: no customer, ambiguous domain, a customer matched on weak evidence (leading words of
    a name, the ship-to), or printed names that point elsewhere."""
    if match.customer_id is None:
        flag: dict[str, object] = {"code": "unmatched_customer", "severity": "warning",
                                   "message": "no customer matches the sender or the names on the PO"}
        if match.candidates:
            flag.update(code="ambiguous_customer", candidates=list(match.candidates),
                        message=f"the sender's domain belongs to {len(match.candidates)} customers")
        return [flag]
    flags: list[dict[str, object]] = []
    if match.method == "name_prefix":
        flags.append({"code": "uncertain_customer", "severity": "warning", "basis": "name_prefix",
                      "message": f"the PO names {match.evidence!r}: customer {match.customer_id} matches only its "
                                 f"first words ({match.matched!r}); check it is the same company"})
    elif match.method == "ship_to":
        flags.append({"code": "uncertain_customer", "severity": "warning", "basis": "ship_to",
                      "message": f"customer {match.customer_id} is the ship-to {match.evidence!r}; the PO prints no "
                                 "buyer or bill-to name: check who orders and pays, not where it is delivered"})
    if contradiction := _contradiction(conn, match, po):
        name, other = contradiction
        flags.append({"code": "customer_mismatch", "severity": "warning", "printed_customer_id": other,
                      "message": f"{_basis(match)} but the PO names {name!r} (customer {other})"})
    elif unbacked := _unbacked_brand(conn, match, po):
        flags.append({"code": "uncertain_customer", "severity": "warning", "basis": "brand",
                      "message": f"{_basis(match)}, but the PO names {unbacked!r}, not a name of customer "
                                 f"{match.customer_id}: check who orders"})
    return flags
