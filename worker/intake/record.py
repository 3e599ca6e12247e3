"""The single write transaction that turns an analysed email into attachments, review items and a status.

Runs on the writer thread: customer and line matching read the same snapshot they write into, and a
crash leaves either all of an email's review items or none (the email stays claimed and is retried).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date

from worker.intake.analyze import Analysis
from worker.intake.customers import CustomerMatch, customer_flags, match_customer
from worker.intake.lines import LineMatcher
from worker.intake.mime import ParsedMail, PdfPart
from worker.ledger import append_event
from worker.po.model import Finding, PurchaseOrder
from worker.pricing import ProgramTerms, program_for

INSERT_ATTACHMENT = """
INSERT INTO email_attachments (email_id, filename, content_type, size_bytes, sha256, object_key)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (email_id, sha256) DO UPDATE SET object_key = excluded.object_key
RETURNING id
"""
INSERT_ITEM = """
INSERT INTO review_items (status, email_id, attachment_id, customer_id, po_number, parsed_json, pdf_key, reason,
                          flags_json, confidence, line_count, total, sender, created_at, updated_at)
VALUES (:status, :email_id, :attachment_id, :customer_id, :po_number, :parsed_json, :pdf_key, :reason,
        :flags_json, :confidence, :line_count, :total, :sender, :now, :now)
ON CONFLICT (email_id, attachment_id) DO NOTHING
RETURNING id
"""
FINISH = """
UPDATE inbound_email_log SET status = ?, reason = ?, customer_id = ?, processed_at = ?
WHERE id = ? AND status = 'processing'
"""
HEADLINE_FIELDS = ("po_number", "lines", "total")


@dataclass(frozen=True)
class AnalysedPdf:
    """One PDF of the email: its bytes' metadata, where it is stored and what the analysis made of it."""

    part: PdfPart
    key: str
    analysis: Analysis


@dataclass(frozen=True)
class Context:
    """Settings the transaction needs (kept small so the function stays a plain function of a connection)."""

    standard: ProgramTerms
    tolerance_pct: float
    own_domains: frozenset[str]
    today: date
    now: str


def overall_confidence(po: PurchaseOrder, matched_fraction: float, customer: CustomerMatch) -> float:
    """Headline fields' parser confidence, scaled by how many lines matched and how sure the customer is."""
    fields = sum(po.confidence.get(k, 0.0) for k in HEADLINE_FIELDS) / len(HEADLINE_FIELDS)
    customer_factor = customer.confidence if customer.customer_id else 0.5
    return round(fields * (0.5 + 0.5 * matched_fraction) * customer_factor, 3)


def _finding_flags(po: PurchaseOrder) -> list[dict[str, object]]:
    return [{"code": f.code, "severity": f.severity, "line_no": f.line_no, "message": f.message, "source": "parser"}
            for f in po.findings if f.severity != "info"]


def _item_row(conn: sqlite3.Connection, email_id: int, sender: str | None, senders: list[str], pdf: AnalysedPdf,
              fallback: CustomerMatch, ctx: Context) -> dict[str, object]:
    analysis, po = pdf.analysis, pdf.analysis.po
    row: dict[str, object] = {"status": analysis.status, "email_id": email_id, "pdf_key": pdf.key,
                              "reason": analysis.reason, "sender": sender, "now": ctx.now}
    if po is None:
        manual = PurchaseOrder(findings=[Finding(code="needs_manual", severity="error", message=analysis.reason or "")])
        flags = [{"code": "needs_manual", "severity": "error", "message": analysis.reason}] + customer_flags(conn, fallback, None)
        return {**row, "customer_id": fallback.customer_id, "po_number": None, "parsed_json": manual.model_dump_json(),
                "flags_json": json.dumps(flags), "confidence": 0.0, "line_count": 0, "total": None}
    customer = match_customer(conn, senders, po, ctx.own_domains)
    program = program_for(conn, customer.customer_id, ctx.standard)
    on = (po.po_date or ctx.today).isoformat()
    line_flags, matched = LineMatcher(conn, customer.customer_id, program, ctx.tolerance_pct).apply(po, on)
    flags = customer_flags(conn, customer, po) + line_flags + _finding_flags(po)
    if analysis.reason:
        flags.insert(0, {"code": "needs_manual", "severity": "error", "message": analysis.reason})
    if analysis.source == "vision":
        flags.append({"code": "read_by_vision", "severity": "info", "message": "scanned PDF read by Claude; check every field"})
    return {**row, "customer_id": customer.customer_id, "po_number": po.po_number, "parsed_json": po.model_dump_json(),
            "flags_json": json.dumps(flags, default=str), "confidence": overall_confidence(po, matched, customer),
            "line_count": len(po.lines), "total": float(po.total) if po.total is not None else None}


def _email_outcome(mail: ParsedMail, pdfs: list[AnalysedPdf], skipped: int) -> tuple[str, str]:
    fatal = [p for p in mail.problems if p.startswith("malformed MIME")]
    if not pdfs:
        if fatal:
            return "needs_manual", f"no PDF attachment found; {fatal[0]}"
        defects = f" (MIME defects: {', '.join(p.removeprefix('MIME defect: ') for p in mail.problems[:3])})" if mail.problems else ""
        return "processed", f"no PDF attachment{defects}"
    manual = [p for p in pdfs if p.analysis.status == "needs_manual"]
    more = f"; {skipped} more PDFs not examined" if skipped else ""
    if manual:
        reasons = "; ".join(f"{p.part.filename or 'unnamed PDF'}: {p.analysis.reason}" for p in manual[:3])
        return "needs_manual", f"{len(manual)} of {len(pdfs)} PDFs need manual entry: {reasons}{more}"[:1000]
    return "processed", f"{len(pdfs)} review item{'s' if len(pdfs) != 1 else ''} created{more}"


def record_email(conn: sqlite3.Connection, email_id: int, mail: ParsedMail, pdfs: list[AnalysedPdf], skipped: int,
                 ctx: Context) -> tuple[str, list[int]]:
    """Store attachments and review items, finish the log row; returns (email status, review item ids)."""
    senders = [s for s in [mail.sender, *mail.forwarded_senders] if s]
    email_match = match_customer(conn, senders, None, ctx.own_domains)
    items: list[int] = []
    customer_id = email_match.customer_id
    for pdf in pdfs:
        part = pdf.part
        attachment_id = conn.execute(INSERT_ATTACHMENT, (email_id, part.filename, part.content_type, len(part.data),
                                                         part.sha256, pdf.key)).fetchone()[0]
        row = _item_row(conn, email_id, mail.sender, senders, pdf, email_match, ctx)
        customer_id = customer_id or row["customer_id"]  # type: ignore[assignment]
        inserted = conn.execute(INSERT_ITEM, {**row, "attachment_id": attachment_id}).fetchone()
        if inserted is None:
            continue  # this email's items exist already (a retry after a crash between commit and reply)
        items.append(inserted[0])
        append_event(conn, "review_item.created", "review_item", str(inserted[0]),
                     {"email_id": email_id, "status": row["status"], "customer_id": row["customer_id"],
                      "po_number": row["po_number"]}, dedupe_key=f"review_item.created:{inserted[0]}")
    status, reason = _email_outcome(mail, pdfs, skipped)
    conn.execute(FINISH, (status, reason, customer_id, ctx.now, email_id))
    return status, items
