"""Reads behind the review pages and their JSON twins (SQL as named constants, always parameterized)."""

from __future__ import annotations

from typing import Any, TypeVar

from worker.env import Env

T = TypeVar("T")
PAGE_SIZE = 50

# The literal status list matches the partial indexes review_items_open / review_items_open_customer, which
# also give the order; each filter is its own fragment so SQLite can seek (an `:x = '' OR ...` form cannot).
OPEN_ORDERS_SELECT = """
SELECT r.id, r.status, r.sender, r.customer_id, c.company_name AS customer_name, r.po_number, r.line_count,
       r.total, r.confidence, r.flags_json, r.created_at
FROM review_items r LEFT JOIN customers c ON c.ns_id = r.customer_id
WHERE r.status IN ('pending', 'needs_manual')
"""
OPEN_ORDERS_STATUS = "  AND r.status = :status\n"
OPEN_ORDERS_CUSTOMER = "  AND r.customer_id = :customer\n"
OPEN_ORDERS_CURSOR = "  AND (r.created_at, r.id) < (SELECT created_at, id FROM review_items WHERE id = :cursor)\n"
OPEN_ORDERS_ORDER = "ORDER BY r.created_at DESC, r.id DESC LIMIT :limit"


# Orders already decided (status approved or rejected: review_items_queue gives the order), with who decided
# them, when and why, so a reviewer can find what was approved without typing its address.
DECIDED_ORDERS_SELECT = """
SELECT r.id, r.status, r.sender, r.customer_id, c.company_name AS customer_name, r.po_number, r.line_count,
       r.total, r.confidence, r.flags_json, r.created_at, r.decided_by, r.decided_at, r.decision_reason
FROM review_items r LEFT JOIN customers c ON c.ns_id = r.customer_id
WHERE r.status = :status
"""
DECIDED_STATUSES = ("approved", "rejected")


def open_orders_sql(params: dict[str, Any]) -> str:
    """The orders-list query for these filters, assembled from the constant fragments above: the open orders, or
    those of one decided status."""
    if params.get("status") in DECIDED_STATUSES:
        return (DECIDED_ORDERS_SELECT + (OPEN_ORDERS_CUSTOMER if params.get("customer") else "")
                + (OPEN_ORDERS_CURSOR if params.get("cursor") else "") + OPEN_ORDERS_ORDER)
    return (OPEN_ORDERS_SELECT + (OPEN_ORDERS_STATUS if params.get("status") else "")
            + (OPEN_ORDERS_CUSTOMER if params.get("customer") else "")
            + (OPEN_ORDERS_CURSOR if params.get("cursor") else "") + OPEN_ORDERS_ORDER)


OPEN_COUNTS = """
SELECT status, count(*) AS n FROM review_items WHERE status IN ('pending', 'needs_manual') GROUP BY status
"""
# The same for the customer the list is filtered on (review_items_open_customer): the counts beside a filtered list
# are that customer's.
OPEN_COUNTS_CUSTOMER = """
SELECT status, count(*) AS n FROM review_items
WHERE status IN ('pending', 'needs_manual') AND customer_id = :customer GROUP BY status
"""
OPEN_CUSTOMERS = """
SELECT r.customer_id, coalesce(c.company_name, r.customer_id) AS name
FROM (SELECT DISTINCT customer_id FROM review_items
      WHERE status IN ('pending', 'needs_manual') AND customer_id IS NOT NULL) r
LEFT JOIN customers c ON c.ns_id = r.customer_id
ORDER BY name LIMIT 200
"""
REVIEW_ITEM = """
SELECT r.*, c.company_name AS customer_name, c.is_inactive AS customer_inactive, e.subject, e.received_at, e.message_id, e.raw_key,
       coalesce(r.pdf_key, a.object_key) AS pdf_object, a.filename AS pdf_filename
FROM review_items r
LEFT JOIN customers c ON c.ns_id = r.customer_id
LEFT JOIN inbound_email_log e ON e.id = r.email_id
LEFT JOIN email_attachments a ON a.id = r.attachment_id
WHERE r.id = ?
"""
# The customer picker before a search (a search is handlers.customers.search, as /api/customers): the first
# names of the live customers, those inactive in NetSuite (no new orders) after the others.
BROWSE_CUSTOMERS = """
SELECT ns_id, company_name, is_inactive FROM customers WHERE deleted_at IS NULL
ORDER BY is_inactive, company_name LIMIT ?
"""
# Which of the customers a search found are inactive in NetSuite (the picker marks them).
INACTIVE_AMONG = "SELECT ns_id FROM customers WHERE is_inactive AND ns_id IN (SELECT value FROM json_each(?))"
# The customer a re-rendered form posted: it may lie outside the page's 50 names (found with ?find= earlier).
POSTED_CUSTOMER = "SELECT ns_id, company_name, is_inactive FROM customers WHERE ns_id = ? AND deleted_at IS NULL"
ITEM_CHOICES = """
SELECT s.item_id, s.item_code, s.description, s.uom FROM spec_items s
ORDER BY (s.item_id IN (SELECT item_id FROM customer_item_xref WHERE customer_id = :customer)
          OR s.item_id IN (SELECT item_id FROM pricing_master WHERE customer_id = :customer)) DESC, s.item_code
LIMIT 250
"""
# An item as typed on the order form: by its item code (any case) first, by the internal id only when no code
# matches, so an item whose numeric code is another item's id is found by its code. More than one row: a code
# several items share, refused naming them (the reviewer types the internal id).
RESOLVE_LIMIT = 4  # a shared code: the first three named, and whether there are more
RESOLVE_ITEM = f"""
SELECT item_id, item_code, description, uom FROM spec_items WHERE upper(item_code) = upper(:text)
UNION ALL
SELECT item_id, item_code, description, uom FROM spec_items
WHERE item_id = :text AND NOT EXISTS (SELECT 1 FROM spec_items WHERE upper(item_code) = upper(:text))
LIMIT {RESOLVE_LIMIT}
"""
ITEMS_BY_ID = "SELECT item_id, item_code, description, uom FROM spec_items WHERE item_id IN (SELECT value FROM json_each(?))"
# `kinds` a JSON array of kinds ('[]': every kind): the API filters by one, the Actions tab by a label's kinds.
ACTIONS = """
SELECT p.id, p.kind, p.status, p.customer_id, c.company_name AS customer_name, p.payload_json, p.risk, p.source,
       p.review_item_id, p.workflow_run_id, p.created_at, p.updated_at, p.decided_by, p.decided_at, p.decision_reason
FROM proposed_actions p LEFT JOIN customers c ON c.ns_id = p.customer_id
WHERE (:status = '' OR p.status = :status) AND (:kinds = '[]' OR p.kind IN (SELECT value FROM json_each(:kinds)))
  AND (:customer = '' OR p.customer_id = :customer) AND (:cursor = 0 OR p.id < :cursor)
ORDER BY p.id DESC LIMIT :limit
"""
ACTION_KINDS = "SELECT DISTINCT kind FROM proposed_actions ORDER BY kind"
# The version (updated_at) a closed action was decided at: an edit moves updated_at and its event carries the new
# value (worker/decisions.py), a workflow redraft sets created_at anew, a decision moves updated_at to decided_at.
DECIDED_VERSION = """
SELECT max(v) FROM (SELECT created_at AS v FROM proposed_actions WHERE id = :id
  UNION ALL SELECT created_at FROM events WHERE type = 'action.edited' AND entity_type = 'proposed_action'
    AND entity_id = :entity AND created_at < :decided_at)
"""
# The sales order an item was approved as (approve_order's action, by its unique dedupe key) and the approval's
# ledger event, which alone records the charges left off as amounts (the payload names them in its memo).
APPROVED_ACTION = """
SELECT a.id, a.status, a.payload_json, a.updated_at,
       (SELECT e.payload_json FROM events e WHERE e.dedupe_key = 'review.approved:' || :id) AS approval_json
FROM proposed_actions a
WHERE a.dedupe_key = 'review_item:' || :id || ':create_sales_order' AND a.kind = 'create_sales_order'
"""
OBSERVATIONS = """
SELECT o.id, o.entity_type, o.entity_id, c.company_name AS customer_name, o.tags_json, o.observation, o.status,
       o.created_at, o.decided_by, o.decided_at
FROM reflexion_log o LEFT JOIN customers c ON o.entity_type = 'customer' AND c.ns_id = o.entity_id
WHERE o.status = :status AND (:cursor = 0 OR o.id < :cursor)
ORDER BY o.id DESC LIMIT :limit
"""
# Observations still awaiting review among those a refused bulk form had ticked (a JSON array of ids).
TICKED_OBSERVATIONS = """
SELECT o.id, o.entity_type, o.entity_id, c.company_name AS customer_name, o.tags_json, o.observation, o.status,
       o.created_at, o.decided_by, o.decided_at
FROM reflexion_log o LEFT JOIN customers c ON o.entity_type = 'customer' AND c.ns_id = o.entity_id
WHERE o.status = 'needs_review' AND o.id IN (SELECT value FROM json_each(?))
ORDER BY o.id DESC
"""
# `total` is the PO's as read; an approved item also names its create_sales_order action and what it totals
# before tax (lines and carried charges, as the order was approved: edits, added lines and charges left off);
# null when an amount is no JSON number, as approved.approved_total has it for the page. The currency it is booked
# in is named in Python (approved.approved_currency, as the page names it) from the payload's `currency` (JSON, or
# null when the payload has none: NetSuite then books the customer's) and the record currency of the customer the
# payload names (customer_currency's read: a live customer's `raw_json` currency).
# Found by the action's dedupe key (unique: one per item), as worker/decisions.py approve_order writes it.
REVIEW_ITEMS_API = """
SELECT r.id, r.status, r.email_id, r.customer_id, c.company_name AS customer_name, r.po_number, r.sender,
       r.line_count, r.total, r.confidence, r.flags_json, r.parsed_json, r.reason, r.created_at, r.updated_at,
       r.decided_by, r.decided_at, r.decision_reason, r.email_text, r.pages, a.id AS action_id,
       CASE WHEN json_valid(a.payload_json) THEN (
         SELECT CASE WHEN count(*) = count(CASE WHEN json_type(i.value, '$.amount') IN ('integer', 'real') THEN 1 END)
                THEN round(coalesce(sum(i.value ->> '$.amount'), 0), 2) END
         FROM json_each(a.payload_json, '$.item.items') i WHERE i.type = 'object') END AS approved_total,
       CASE WHEN json_valid(a.payload_json) AND json_type(a.payload_json, '$.currency') IS NOT NULL
            THEN a.payload_json -> '$.currency' END AS payload_currency_json,
       CASE WHEN json_valid(ac.raw_json) THEN ac.raw_json -> '$.currency' END AS customer_currency_json
FROM review_items r LEFT JOIN customers c ON c.ns_id = r.customer_id
LEFT JOIN proposed_actions a ON r.status = 'approved' AND a.kind = 'create_sales_order'
  AND a.dedupe_key = 'review_item:' || r.id || ':create_sales_order'
LEFT JOIN customers ac ON ac.deleted_at IS NULL
  AND ac.ns_id = CASE WHEN json_valid(a.payload_json) THEN a.payload_json ->> '$.entity.id' END
WHERE (:status = '' OR r.status = :status) AND (:customer = '' OR r.customer_id = :customer)
  AND (:cursor = 0 OR r.id < :cursor)
ORDER BY r.id DESC LIMIT :limit
"""

# An action's status, to find its card (handlers/review/actions.py action_card).
ACTION_STATUS = "SELECT status FROM proposed_actions WHERE id = ?"


async def rows(env: Env, sql: str, params: Any) -> list[dict[str, Any]]:
    """Run a read query; rows as dicts (templates and JSON both want mappings)."""
    return [dict(r) for r in await env.db.fetchall(sql, params)]


def next_cursor(page: list[dict[str, Any]], limit: int) -> int | None:
    """The cursor for the next page (the last row's id), or None on the last page."""
    return int(page[-1]["id"]) if len(page) == limit and page else None
