"""Mirror rows as the ERP webhook would leave them, written straight into SQLite for AR/health tests."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from worker.currency import base_rate

MODIFIED = "2026-01-01T00:00:00.000Z"


def customer(conn: sqlite3.Connection, ns_id: str, name: str, *, email: str | None = None,
             credit_limit: float | None = None, deleted_at: str | None = None, terms: str = "Net 30") -> None:
    """A customer row."""
    conn.execute(
        "INSERT INTO customers (ns_id, entity_id, company_name, email, terms, credit_limit, last_modified, deleted_at,"
        " raw_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ns_id, f"C{ns_id}", name, email, terms, credit_limit, MODIFIED, deleted_at,
         json.dumps({"id": ns_id, "companyName": name})))


def contact(conn: sqlite3.Connection, ns_id: str, customer_id: str, name: str, email: str, *, title: str = "",
            inactive: bool = False, deleted_at: str | None = None, modified: str = MODIFIED) -> None:
    """A contact row."""
    conn.execute(
        "INSERT INTO customer_contacts (ns_id, customer_id, name, email, title, is_inactive, last_modified, deleted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (ns_id, customer_id, name, email, title, int(inactive), modified, deleted_at))


def invoice(conn: sqlite3.Connection, ns_id: str, customer_id: str, *, tran_date: str | None, due_date: str | None,
            total: float, remaining: float | None = None, deleted_at: str | None = None,
            terms: str | None = None, remaining_unknown: bool = False, currency: str = "USD",
            exchange_rate: float | None = None) -> None:
    """An invoice row (amount_remaining defaults to the total; NULL when remaining_unknown), stored as the mirror
    stores it: US dollars at a rate of 1, another currency at `exchange_rate` (None: sent without one)."""
    remaining = None if remaining_unknown else total if remaining is None else remaining
    conn.execute(
        "INSERT INTO customer_invoice (ns_id, tran_id, customer_id, tran_date, due_date, terms, status, currency, total,"
        " amount_remaining, last_modified, deleted_at, raw_json, exchange_rate)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ns_id, f"INV{ns_id}", customer_id, tran_date, due_date, terms,
         "open" if remaining or remaining_unknown else "paidInFull", currency, total, remaining, MODIFIED, deleted_at,
         json.dumps({"id": ns_id, "dueDate": due_date}), base_rate(exchange_rate, currency)))


def update_invoice(conn: sqlite3.Connection, ns_id: str, **columns: Any) -> None:
    """Change invoice columns as a later CDC update would."""
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    conn.execute(f"UPDATE customer_invoice SET {assignments} WHERE ns_id = :ns_id", {**columns, "ns_id": ns_id})


def program(conn: sqlite3.Connection, customer_id: str, terms_days: int, name: str = "custom") -> None:
    """A customer_program row."""
    conn.execute("INSERT INTO customer_program (customer_id, program, markup_pct, freight_terms, payment_terms_days)"
                 " VALUES (?, ?, 0, 'prepaid', ?)", (customer_id, name, terms_days))


def payment(conn: sqlite3.Connection, ns_id: str, customer_id: str, tran_date: str,
            applied: list[tuple[str, float]]) -> None:
    """A customer payment applied to invoices [(invoice_id, amount)]."""
    conn.execute("INSERT INTO customer_payment (ns_id, customer_id, tran_date, total, last_modified)"
                 " VALUES (?, ?, ?, ?, ?)", (ns_id, customer_id, tran_date, sum(a for _, a in applied), MODIFIED))
    conn.executemany("INSERT INTO payment_application (payment_id, line_no, invoice_id, doc_type, amount, apply_date)"
                     " VALUES (?, ?, ?, 'invoice', ?, ?)",
                     [(ns_id, n, inv, amount, tran_date) for n, (inv, amount) in enumerate(applied, 1)])


def credit_memo(conn: sqlite3.Connection, ns_id: str, customer_id: str, tran_date: str, total: float,
                invoice_id: str | None = None, memo: str = "short shipped") -> None:
    """A credit memo, applied to an invoice when one is given (a dispute)."""
    conn.execute("INSERT INTO credit_memo (ns_id, customer_id, created_from, tran_date, total, amount_remaining, memo,"
                 " last_modified) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                 (ns_id, customer_id, invoice_id, tran_date, total, memo, MODIFIED))
    if invoice_id:
        conn.execute("INSERT INTO credit_memo_application (credit_memo_id, line_no, invoice_id, doc_type, amount)"
                     " VALUES (?, 1, ?, 'invoice', ?)", (ns_id, invoice_id, total))


def order(conn: sqlite3.Connection, ns_id: str, customer_id: str, tran_date: str, total: float = 1000.0) -> None:
    """A sales order header."""
    conn.execute("INSERT INTO transactions (ns_id, tran_id, customer_id, tran_date, status, total, last_modified)"
                 " VALUES (?, ?, ?, ?, 'pendingFulfillment', ?, ?)",
                 (ns_id, f"SO{ns_id}", customer_id, tran_date, total, MODIFIED))


async def write(env: Any, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Run one fixture writer through the env's single writer."""
    await env.db.write(lambda conn: fn(conn, *args, **kwargs))
