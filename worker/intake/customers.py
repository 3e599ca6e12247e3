"""Which customer sent this order: sender email, then email domain, then the names printed on the PO.

Order of evidence (SPEC 5.4): customer or contact email, then a domain only one customer uses (free-mail
and our own domains never count), then the PO's buyer / bill-to / ship-to names through `name_synonyms`
and normalized company names, then private-label brand prefixes in the item descriptions.
Functions take a sqlite3 connection (they run on the writer thread, inside the intake transaction).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

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
    method: str  # email | contact | domain | synonym | name | name_prefix | brand | none | ambiguous
    confidence: float
    evidence: str = ""
    candidates: tuple[str, ...] = field(default_factory=tuple)


NO_MATCH = CustomerMatch(None, "none", 0.0)
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
    """The first printed name that (or whose leading words) means exactly one customer."""
    index = _names_index(conn)
    for name in names:
        for n, variant in enumerate(name_variants(name)):
            customer, method = _lookup(conn, variant, index)
            if customer:
                # "Driscoll Foods Warehouse 3" -> "driscoll foods": a shortened name is weaker evidence.
                confidence = 0.9 if n == 0 else max(0.6, 0.85 - 0.1 * n)
                return CustomerMatch(customer, method if n == 0 else "name_prefix", confidence, name)
    return NO_MATCH


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
    """Names printed on a PO, strongest first: buyer, bill-to, sold-to/ship-to first lines."""
    if po is None:
        return []
    names = [po.buyer, po.bill_to[0] if po.bill_to else None, po.ship_to[0] if po.ship_to else None]
    return [n for n in names if n]


def match_customer(conn: sqlite3.Connection, senders: list[str], po: PurchaseOrder | None,
                   own_domains: frozenset[str]) -> CustomerMatch:
    """Best customer for one order; sender evidence wins over printed names, names over brands."""
    sender = by_sender(conn, senders, own_domains)
    if sender.customer_id:
        return sender
    named = by_names(conn, po_names(po))
    if named.customer_id:
        return named
    branded = by_brand(conn, [ln.description or "" for ln in po.lines] if po else [])
    return branded if branded.customer_id else sender  # keeps 'ambiguous' candidates for the reviewer


def customer_flags(conn: sqlite3.Connection, match: CustomerMatch, po: PurchaseOrder | None) -> list[dict[str, object]]:
    """Flags for the reviewer: no customer, ambiguous domain, or printed names that point elsewhere."""
    if match.customer_id is None:
        flag: dict[str, object] = {"code": "unmatched_customer", "severity": "warning",
                                   "message": "no customer matches the sender or the names on the PO"}
        if match.candidates:
            flag.update(code="ambiguous_customer", candidates=list(match.candidates),
                        message=f"the sender's domain belongs to {len(match.candidates)} customers")
        return [flag]
    if match.method in ("email", "contact", "domain"):
        named = by_names(conn, po_names(po))
        if named.customer_id and named.customer_id != match.customer_id and named.method != "name_prefix":
            return [{"code": "customer_mismatch", "severity": "warning", "printed_customer_id": named.customer_id,
                     "message": f"sender matches customer {match.customer_id} but the PO names "
                                f"{named.evidence!r} (customer {named.customer_id})"}]
    return []
