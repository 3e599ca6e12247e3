"""Realistic rows for the review-queue tests (customers, items, prices, a parsed PO, actions, observations),
plus a signed-in HTTP client for the live server."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from typing import Any

import httpx

from tests.helpers import TEST_REVIEWER

NOW = "2026-11-20T14:05:00.000Z"
CUSTOMERS = [("1187", "DRISCOLL", "Driscoll Foods", "ap@driscollfoods.com"),
             ("2201", "MELTMATES", "Melt Mates Kitchen Co", "orders@meltmates.com"),
             ("3302", "HARBOR", "Harbor Street Deli", "buyer@harbordeli.com")]
ITEMS = [("5001", "CHS-CHED-40", "Cheddar block, mild, 40 lb", "CS"),
         ("5002", "CHS-MOZZ-LMPS", "Mozzarella, low moisture part skim, 6x5 lb", "CS"),
         ("5003", "OIL-CAN-35", "Canola oil, 35 lb jug", "EA"),
         ("5004", "FLR-AP-50", "All-purpose flour, 50 lb bag", "BG")]
PRICES = [("5001", "1187", 98.50, "CS"), ("5002", "", 61.00, "CS"), ("5003", "", 42.25, "EA"), ("5004", "", 18.40, "BG")]


def parsed_po(description: str = "Mozzarella LMPS 6/5#", po_number: str = "DF-40412") -> dict[str, Any]:
    """A PurchaseOrder as the intake stores it: two lines, the second with the customer's own code."""
    return {
        "po_number": po_number, "po_date": "2026-11-19", "requested_ship_date": "2026-11-24",
        "buyer": "Driscoll Foods Inc.", "bill_to": ["Driscoll Foods Inc.", "400 Industrial Pkwy", "Carlstadt NJ 07072"],
        "ship_to": ["Driscoll Foods DC 2", "12 Dock Rd", "Carlstadt NJ 07072"], "currency": "USD",
        "lines": [
            {"line_no": 1, "customer_item_code": "DF-118", "vendor_item_code": "CHS-CHED-40", "item_id": "5001",
             "description": "Cheddar mild 40# block", "quantity": 12, "uom": "CS", "unit_price": 98.5, "amount": 1182.0},
            {"line_no": 2, "customer_item_code": "DF-207", "vendor_item_code": None, "item_id": None,
             "description": description, "quantity": 20, "uom": "CS", "unit_price": 64.0, "amount": 1280.0},
        ],
        "subtotal": 2462.0, "freight": 35.0, "tax": 0, "total": 2497.0, "other_charges": [],
        "confidence": {"po_number": 0.98, "lines": 0.86},
        "findings": [{"code": "unknown_item", "severity": "warning", "message": "line 2: no item matched DF-207",
                      "line_no": 2}],
    }


def seed_reference(conn: sqlite3.Connection) -> None:
    """Customers, items, prices and one customer program."""
    for ns_id, entity, name, email in CUSTOMERS:
        conn.execute("INSERT INTO customers (ns_id, entity_id, company_name, email, terms, last_modified) "
                     "VALUES (?, ?, ?, ?, 'Net 30', ?)", (ns_id, entity, name, email, NOW))
    conn.executemany("INSERT INTO spec_items (item_id, item_code, description, uom) VALUES (?, ?, ?, ?)", ITEMS)
    conn.executemany("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom) VALUES (?, ?, ?, ?)", PRICES)
    conn.execute("INSERT INTO customer_program (customer_id, program, markup_pct, payment_terms_days) "
                 "VALUES ('1187', 'driscoll', 3.0, 30)")


def add_review_item(conn: sqlite3.Connection, *, parsed: dict[str, Any] | None = None, customer_id: str | None = "1187",
                    status: str = "pending", pdf_key: str | None = None, created_at: str = NOW,
                    sender: str = "purchasing@driscollfoods.com", flags: list[Any] | None = None,
                    email_text: str | None = None) -> int:
    """One review item (with its email log row), as the intake would create it."""
    parsed = parsed_po() if parsed is None else parsed
    email_id = conn.execute(
        "INSERT INTO inbound_email_log (message_id, sender, subject, received_at, raw_key, sha256, size_bytes, status) "
        "VALUES (?, ?, ?, ?, ?, ?, 1234, 'processed')",
        (f"<{created_at}.{id(parsed)}@driscollfoods.com>", sender, f"PO {parsed.get('po_number')}", created_at,
         "raw/ab/abc.eml", f"sha-{created_at}-{id(parsed)}")).lastrowid
    return int(conn.execute(
        "INSERT INTO review_items (status, email_id, customer_id, po_number, parsed_json, pdf_key, flags_json, confidence,"
        " line_count, total, sender, email_text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0.86, ?, ?, ?, ?, ?, ?)",
        (status, email_id, customer_id, parsed.get("po_number"), json.dumps(parsed), pdf_key,
         json.dumps(flags if flags is not None else ["unknown_item"]), len(parsed.get("lines") or []),
         parsed.get("total"), sender, email_text, created_at, created_at)).lastrowid)


def add_action(conn: sqlite3.Connection, kind: str, payload: dict[str, Any], customer_id: str = "1187",
               status: str = "staged") -> int:
    """A staged proposed action as a workflow would write it."""
    return int(conn.execute(
        "INSERT INTO proposed_actions (kind, status, customer_id, payload_json, risk, source, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 3, 'workflow', ?, ?)", (kind, status, customer_id, json.dumps(payload), NOW, NOW)).lastrowid)


COLLECTION_EMAIL = {"to": ["ap@driscollfoods.com"], "subject": "Past-due invoices INV-88121, INV-88140",
                    "body": "Hello,\n\nOur records show two invoices past 60 days ($14,220.18).\n\nThank you,\nGFS AR",
                    "invoices": ["INV-88121", "INV-88140"]}


def add_observation(conn: sqlite3.Connection, text: str, customer_id: str = "1187",
                    workflow: str = "ar_aging_action_plan") -> int:
    """A needs_review reflexion row."""
    return int(conn.execute(
        "INSERT INTO reflexion_log (entity_type, entity_id, tags_json, observation, status, created_at) "
        "VALUES ('customer', ?, ?, ?, 'needs_review', ?)", (customer_id, json.dumps([workflow]), text, NOW)).lastrowid)


def po_pdf(po_number: str = "DF-40412") -> bytes:
    """A small real PDF purchase order (reportlab)."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=letter)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 720, f"Driscoll Foods  -  Purchase Order {po_number}")
    page.setFont("Helvetica", 11)
    for i, text in enumerate(["DF-118  Cheddar mild 40# block   12 CS  98.50   1,182.00",
                              "DF-207  Mozzarella LMPS 6/5#     20 CS  64.00   1,280.00", "Freight 35.00   Total 2,497.00"]):
        page.drawString(72, 680 - 18 * i, text)
    page.showPage()
    page.save()
    return out.getvalue()


def hidden(html: str, name: str) -> str:
    """The value of the first hidden input with that name."""
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no input {name!r} in page"
    return match.group(1)


def sign_in(url: str, user: str = TEST_REVIEWER[0], password: str = TEST_REVIEWER[1]) -> httpx.Client:
    """An httpx client with a live review session (and the page's CSRF token in client.csrf)."""
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/review/login")
    response = client.post("/review/login", data={"csrf": hidden(page.text, "csrf"), "username": user,
                                                   "password": password, "next": "/review/orders"})
    assert response.status_code == 303, response.text
    client.csrf = hidden(client.get("/review/orders").text, "csrf")  # type: ignore[attr-defined]
    return client
