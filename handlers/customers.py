"""Customer 360 and customer search: GET /api/customers/{ns_id}, GET /api/customers?q= (bearer or review session).

Search resolves names the way order intake does: name_synonyms on normalized names and their leading-word
variants ("Driscoll" finds Driscoll Foods), then prefix and substring matches on the company name, ranked.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, QueryParameter

from handlers.responses import BAD_REQUEST, BEARER_OR_SESSION, UNAUTHORIZED, UNAVAILABLE, problems
from handlers.review_api import READ_ERRORS, api_caller
from worker.env import Env
from worker.names import name_variants, normalize_name

QUERY_CHARS = 100
MAX_RESULTS = 50
RECENT = 10
TREND = 12
MAX_OPEN_INVOICES = 200
PROFILE = """
SELECT ns_id, entity_id, company_name, email, phone, terms, credit_limit, is_inactive, date_created, last_modified,
       deleted_at FROM customers WHERE ns_id = ?
"""
CONTACTS = """
SELECT ns_id, name, email, phone, title, is_inactive, deleted_at FROM customer_contacts
WHERE customer_id = ? ORDER BY deleted_at IS NOT NULL, is_inactive, name
"""
PROGRAM = "SELECT program, markup_pct, freight_terms, payment_terms_days, usda_eligible FROM customer_program WHERE customer_id = ?"
AGING = ("SELECT as_of, current, b1_30, b31_60, b61_90, b90_plus, total_open, unconverted FROM v_customer_ar_aging"
         " WHERE customer_id = ?")
# The latest snapshot's invoices (days and bucket as of aging.as_of) that are still open in the mirror now:
# one deleted or paid off since the last warm tick is not chased; the amount is the mirror's, today's. One
# moved to another customer since is not this customer's any more (it reaches the other's 360 at the next tick).
# Each keeps its currency; amount_base is it in US dollars at the invoice's exchange rate (NULL: none came), and
# the summary adds up only those, as the aging does, counting the rest as unconverted.
OPEN_INVOICES_FROM = """
FROM ar_aging_snapshot s JOIN customer_invoice i ON i.ns_id = s.invoice_id AND i.customer_id = s.customer_id
WHERE s.as_of = (SELECT max(as_of) FROM ar_aging_runs) AND s.customer_id = :customer
  AND i.deleted_at IS NULL AND round(i.amount_remaining, 2) > 0
"""
OPEN_INVOICES = """
SELECT s.invoice_id, s.tran_id, i.tran_date, s.due_date, s.days_past_due, s.bucket, i.total,
       round(i.amount_remaining, 2) AS amount_remaining, i.currency,
       round(round(i.amount_remaining, 2) * i.exchange_rate, 2) AS amount_base, i.other_ref_num AS po_number
""" + OPEN_INVOICES_FROM + "ORDER BY s.days_past_due DESC, s.invoice_id LIMIT :limit"
OPEN_INVOICE_COUNT = ("SELECT count(*) AS n, round(total(round(round(i.amount_remaining, 2) * i.exchange_rate, 2)), 2)"
                      " AS total,"
                      " count(*) - count(i.exchange_rate) AS unconverted " + OPEN_INVOICES_FROM)
# Open invoices whose remaining amount NetSuite did not send (NULL, not deleted; cron/aging.py reports them):
# never aged, never summed into the balance above, but listed apart so the 360 does not look settled. The
# partial index customer_invoice_remaining_unknown finds them. Each keeps its currency, with total_base its total
# in US dollars (NULL: another currency without a rate); the summary adds those up as OPEN_INVOICE_COUNT does,
# counting the rest as unconverted, so that no total in yen is added to one in dollars.
REMAINING_UNKNOWN_FROM = """
FROM customer_invoice i WHERE i.customer_id = :customer AND i.amount_remaining IS NULL AND i.deleted_at IS NULL
"""
REMAINING_UNKNOWN = """
SELECT i.ns_id AS invoice_id, i.tran_id, i.tran_date, i.due_date, i.total, i.currency,
       round(round(i.total, 2) * i.exchange_rate, 2) AS total_base, i.status, i.other_ref_num AS po_number,
       NULL AS amount_remaining
""" + REMAINING_UNKNOWN_FROM + "ORDER BY i.due_date IS NULL, i.due_date, i.ns_id LIMIT :limit"
REMAINING_UNKNOWN_COUNT = ("SELECT count(*) AS n, round(total(round(round(i.total, 2) * i.exchange_rate, 2)), 2)"
                           " AS totals, count(*) - count(i.exchange_rate) AS unconverted " + REMAINING_UNKNOWN_FROM)
UNKNOWN_NOTE = ("NetSuite sent these open invoices without amountRemaining, so what they still owe is unknown: "
                "they are not in open_invoices, the aging or open_invoice_summary.amount_remaining; invoice_totals "
                "is what they were invoiced for in US dollars (each total_base), not what is owed, and leaves out "
                "the unconverted ones (another currency without an exchange rate). Check them in NetSuite.")
HEALTH = """
SELECT as_of, score, tier, is_neutral, signals_json, computed_at FROM customer_health_scores
WHERE customer_id = ? ORDER BY as_of DESC LIMIT ?
"""
# Orders and purchase orders in their own currency, named beside each total: every other amount of the 360 is in US
# dollars, and a CAD order's total read as dollars.
ORDERS = """
SELECT ns_id, tran_id, tran_date, ship_date, status, other_ref_num AS po_number, total, currency FROM transactions
WHERE customer_id = ? AND deleted_at IS NULL ORDER BY tran_date DESC, ns_id DESC LIMIT ?
"""
SHIPMENTS = """
SELECT f.ns_id AS fulfillment_id, f.tran_id, f.tran_date, f.ship_status, f.created_from AS order_id,
       (SELECT json_group_array(s.tracking_number) FROM shipments s WHERE s.fulfillment_id = f.ns_id) AS tracking
FROM item_fulfillment f WHERE f.customer_id = ? AND f.deleted_at IS NULL
ORDER BY f.tran_date DESC, f.ns_id DESC LIMIT ?
"""
REVIEW_ITEMS = """
SELECT id, status, po_number, total, json_extract(parsed_json, '$.currency') AS currency, line_count, confidence,
       created_at FROM review_items
WHERE customer_id = ? AND status IN ('pending', 'needs_manual') ORDER BY created_at DESC, id DESC
"""
ACTIONS = """
SELECT id, kind, status, risk, source, created_at, payload_json FROM proposed_actions
WHERE customer_id = ? AND status = 'staged' ORDER BY created_at DESC, id DESC
"""
RUNS = """
SELECT id, workflow, trigger_event_id, status, started_at, finished_at, error FROM workflow_run_log
WHERE customer_id = ? ORDER BY started_at DESC, id DESC LIMIT ?
"""
SYNONYMS = """
SELECT customer_id, synonym, normalized FROM name_synonyms
WHERE kind = 'customer' AND (normalized IN ({marks}) OR normalized LIKE :prefix ESCAPE '\\')
"""
# Every live customer whose search key holds the whole query's: exactly the names rank_name can match, so
# no cap can cut off a better match. search_key is registered on the connection (a scan: thousands of rows).
NAME_CANDIDATES = """
SELECT ns_id, entity_id, company_name, email FROM customers
WHERE deleted_at IS NULL AND (instr(search_key(company_name), :wanted) > 0 OR ns_id = :q OR lower(entity_id) = :lq)
"""
BY_IDS = "SELECT ns_id, entity_id, company_name, email FROM customers WHERE deleted_at IS NULL AND ns_id IN ({marks})"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_key(text: str | None) -> str:
    """A name as search compares it: normalized (accents, apostrophes and legal suffixes away), or, for a
    name that leaves nothing that way (Hangul, Cyrillic...), its case-folded words."""
    return normalize_name(text) or " ".join((text or "").casefold().split())


def rank_name(query: str, company_name: str | None) -> tuple[int, str] | None:
    """(score, why) of a company name against a query, or None when it does not match."""
    wanted, name = search_key(query), search_key(company_name)
    if not wanted or not name:
        return None
    if name == wanted:
        return 95, "name"
    if name.startswith(wanted):
        return 80, "name prefix"
    if f" {wanted}" in f" {name}":
        return 70, "word prefix"
    return (60, "substring") if wanted in name else None


def rank_synonym(query: str, normalized_synonym: str) -> tuple[int, str] | None:
    """(score, why) of a name_synonyms entry against a query."""
    wanted = normalize_name(query)
    if normalized_synonym == wanted:
        return 100, "synonym"
    if normalized_synonym in name_variants(query):  # only the query's first words: below any whole-query name match
        return 65, "synonym (leading words)"
    return (75, "synonym prefix") if normalized_synonym.startswith(wanted) else None


async def _rows(conn: Any, sql: str, params: Any) -> list[dict[str, Any]]:
    async with conn.execute(sql, params) as cursor:
        return [dict(r) for r in await cursor.fetchall()]


async def search(env: Env, query: str, limit: int) -> list[dict[str, Any]]:
    """Live customers matching a query, best first."""
    variants = name_variants(query) or [query.strip().lower()]
    best: dict[str, tuple[int, str, str | None]] = {}

    def offer(cid: str, score: int, why: str, matched: str | None) -> None:
        if cid not in best or score > best[cid][0]:
            best[cid] = (score, why, matched)

    async with env.db.read() as conn:
        synonyms = await _rows(conn, SYNONYMS.format(marks=",".join(f":v{n}" for n in range(len(variants)))),
                               {**{f"v{n}": v for n, v in enumerate(variants)},
                                "prefix": _like(normalize_name(query) or query.lower()) + "%"})
        await conn.create_function("search_key", 1, search_key, deterministic=True)
        candidates = await _rows(conn, NAME_CANDIDATES, {"wanted": search_key(query), "q": query.strip(),
                                                         "lq": query.strip().lower()})
        for s in synonyms:
            if hit := rank_synonym(query, s["normalized"]):
                offer(s["customer_id"], *hit, s["synonym"])
        profiles = {c["ns_id"]: c for c in candidates}
        for c in candidates:
            if query.strip() in (c["ns_id"], c["entity_id"]) or query.strip().lower() == (c["entity_id"] or "").lower():
                offer(c["ns_id"], 100, "id", c["ns_id"])
            elif hit := rank_name(query, c["company_name"]):
                offer(c["ns_id"], *hit, c["company_name"])
        missing = [cid for cid in best if cid not in profiles]
        if missing:
            for c in await _rows(conn, BY_IDS.format(marks=",".join("?" * len(missing))), missing):
                profiles[c["ns_id"]] = c
    ranked = sorted((cid for cid in best if cid in profiles),
                    key=lambda cid: (-best[cid][0], (profiles[cid]["company_name"] or "").lower(), cid))
    return [{**profiles[cid], "score": best[cid][0], "matched_by": best[cid][1], "matched": best[cid][2]}
            for cid in ranked[:limit]]


# q is required (Litestar answers its absence); its length and limit's range are checked below, after
# authentication, with messages that name them, and documented from the same constants (schema_extra).
@get("/api/customers", summary="Find customers by name, synonym or id", responses=READ_ERRORS,
     security=BEARER_OR_SESSION)
async def find_customers(
    request: Request[Any, Any, Any], env: NamedDependency[Env],
    q: Annotated[str, QueryParameter(
        description=f"a name, synonym or id: 1 to {QUERY_CHARS} characters, not counting surrounding whitespace",
        schema_extra={"min_length": 1, "max_length": QUERY_CHARS, "pattern": r"\S"})],
    limit: Annotated[int, QueryParameter(schema_extra={"minimum": 1, "maximum": MAX_RESULTS})] = 20,
) -> dict[str, Any]:
    """Ranked matches: synonym > exact name > name prefix > synonym prefix > word prefix > a synonym of the
    query's first words only > substring."""
    await api_caller(request, env)
    q = q.strip()
    if not q or len(q) > QUERY_CHARS:
        raise ValidationException(f"q: give a name, synonym or id of 1 to {QUERY_CHARS} characters")
    if not 1 <= limit <= MAX_RESULTS:
        raise ValidationException(f"limit: must be between 1 and {MAX_RESULTS} (got {limit})")
    return {"query": q, "normalized": normalize_name(q), "results": await search(env, q, limit)}


def _program(env: Env, row: dict[str, Any] | None) -> dict[str, Any]:
    if row:
        return {**row, "usda_eligible": bool(row["usda_eligible"]), "source": "customer_program"}
    standard = env.settings.programs["standard"]
    return {"program": "standard", **standard.model_dump(), "source": "standard"}


async def _remaining_unknown(conn: Any, ns_id: str) -> dict[str, Any]:
    """The customer's open invoices of unknown remainder: count, invoice totals in US dollars and how many
    could not be converted, the first MAX_OPEN_INVOICES."""
    invoices = await _rows(conn, REMAINING_UNKNOWN, {"customer": ns_id, "limit": MAX_OPEN_INVOICES})
    summary = (await _rows(conn, REMAINING_UNKNOWN_COUNT, {"customer": ns_id}))[0]
    return {"count": summary["n"], "invoice_totals": summary["totals"], "unconverted": summary["unconverted"],
            "listed": len(invoices), "truncated": summary["n"] > len(invoices),
            "note": UNKNOWN_NOTE if invoices else None, "invoices": invoices}


@get("/api/customers/{ns_id:str}", summary="Customer 360", security=BEARER_OR_SESSION, responses=problems(
    {400: BAD_REQUEST, 401: UNAUTHORIZED, 404: "no customer with that ns_id in the mirror", 503: UNAVAILABLE}))
async def customer_360(request: Request[Any, Any, Any], env: NamedDependency[Env],
                       ns_id: FromPath[str]) -> dict[str, Any]:
    """Profile, contacts, program, aging, open invoices (apart: those of unknown remainder), health and trend,
    orders, shipments, queue, runs."""
    await api_caller(request, env)
    async with env.db.read() as conn:
        profile = await _rows(conn, PROFILE, (ns_id,))
        if not profile:
            raise NotFoundException(f"no customer with ns_id {ns_id!r} in the mirror")
        program = await _rows(conn, PROGRAM, (ns_id,))
        aging = await _rows(conn, AGING, (ns_id,))
        health = await _rows(conn, HEALTH, (ns_id, TREND))
        actions = await _rows(conn, ACTIONS, (ns_id,))
        body = {
            "profile": profile[0],
            "contacts": await _rows(conn, CONTACTS, (ns_id,)),
            "program": _program(env, program[0] if program else None),
            "aging": aging[0] if aging else None,
            "open_invoices": await _rows(conn, OPEN_INVOICES, {"customer": ns_id, "limit": MAX_OPEN_INVOICES}),
            "open_invoice_summary": (await _rows(conn, OPEN_INVOICE_COUNT, {"customer": ns_id}))[0],
            "open_invoices_remaining_unknown": await _remaining_unknown(conn, ns_id),
            "health": None,
            "recent_orders": await _rows(conn, ORDERS, (ns_id, RECENT)),
            "recent_shipments": await _rows(conn, SHIPMENTS, (ns_id, RECENT)),
            "open_review_items": await _rows(conn, REVIEW_ITEMS, (ns_id,)),
            "proposed_actions": [{**{k: v for k, v in a.items() if k != "payload_json"},
                                  "payload": json.loads(a["payload_json"])} for a in actions],
            "workflow_runs": await _rows(conn, RUNS, (ns_id, RECENT)),
        }
    # The list stops at MAX_OPEN_INVOICES, most overdue first; the summary says what it holds in full.
    summary = body["open_invoice_summary"]
    body["open_invoice_summary"] = {"count": summary["n"], "amount_remaining": summary["total"],
                                    "listed": len(body["open_invoices"]),
                                    "truncated": summary["n"] > len(body["open_invoices"]),
                                    "remaining_unknown": body["open_invoices_remaining_unknown"]["count"],
                                    "unconverted": summary["unconverted"]}
    for shipment in body["recent_shipments"]:
        shipment["tracking"] = [t for t in json.loads(shipment["tracking"] or "[]") if t]
    if health:
        latest = health[0]
        signals = json.loads(latest["signals_json"])
        # The cap on the score (worker.health.score_cap), stored on each signal its rule reads; None: the weighted sum.
        cap = next((v["score_cap"] for v in signals.values() if v.get("score_cap")), None)
        body["health"] = {"as_of": latest["as_of"], "score": latest["score"], "tier": latest["tier"],
                          "is_neutral": bool(latest["is_neutral"]), "signals": signals, "score_cap": cap,
                          "trend": [{k: h[k] for k in ("as_of", "score", "tier")} for h in reversed(health)]}
    return body
