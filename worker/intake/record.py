"""The single write transaction that turns an analysed email into attachments, review items and a status.

Runs on the writer thread: customer and line matching read the same snapshot they write into, and a
crash leaves either all of an email's review items or none (the email stays claimed and is retried).
Pure text work (the email's text, typed order lines) is done before, by `analyze.read_text`: here it would hold
the write lock every other writer waits for.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date

from worker.intake import analyze
from worker.intake.analyze import Analysis, EmailText
from worker.intake.customers import CustomerMatch, customer_flags, match_customer
from worker.intake.lines import LineMatcher
from worker.intake.mime import ParsedMail, PdfPart
from worker.intake.problems import (
    NOTHING_READ_REASON,
    noted,
    problems_note,
    unread_flag,
    unread_note,
    with_unread,
)
from worker.ledger import append_event
from worker.po.model import Finding, POLine, PurchaseOrder
from worker.po.parser import page_span
from worker.pricing import ProgramTerms, program_for

INSERT_ATTACHMENT = """
INSERT INTO email_attachments (email_id, filename, content_type, size_bytes, sha256, object_key)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (email_id, sha256) DO UPDATE SET object_key = excluded.object_key
RETURNING id
"""
# Any conflict means this email's item exists already: one per (email, PDF, order in the PDF), one text-only
# item per email.
INSERT_ITEM = """
INSERT INTO review_items (status, email_id, attachment_id, part, pages, customer_id, po_number, parsed_json, pdf_key,
                          reason, flags_json, confidence, line_count, total, sender, email_text, created_at, updated_at)
VALUES (:status, :email_id, :attachment_id, :part, :pages, :customer_id, :po_number, :parsed_json, :pdf_key,
        :reason, :flags_json, :confidence, :line_count, :total, :sender, :email_text, :now, :now)
ON CONFLICT DO NOTHING
RETURNING id
"""
# Earlier items for the same order: the customer's PO number again (a re-send, or a second copy attached to
# the same email or printed twice in one PDF), or the same order of the same PDF bytes whoever sent them (the
# earlier item's customer may since have been corrected by a reviewer; the PDF's other orders are other
# orders). An email's items are inserted one by one, so its earlier ones are found too.
EARLIER_SAME_ORDER = """
SELECT id, status, 'same PO number' || CASE WHEN email_id IS NOT :email_id THEN ''
                                            WHEN attachment_id = :attachment_id THEN ' in the same PDF'
                                            ELSE ' in the same email' END AS why
FROM review_items
WHERE customer_id = :customer_id AND trim(:po_number) <> ''
  AND upper(trim(po_number)) = upper(trim(:po_number))
UNION ALL
SELECT ri.id, ri.status, 'same PDF' FROM email_attachments ea JOIN review_items ri ON ri.attachment_id = ea.id
WHERE ea.sha256 = :sha256 AND ri.part = :part
ORDER BY 1
"""
# The claim this attempt took is still its own: the hot tier may have given the email up (its lease ran out
# while the attempt still ran) or another attempt may have claimed it since; then this one records nothing.
STILL_CLAIMED = "SELECT 1 FROM inbound_email_log WHERE id = ? AND status = 'processing' AND attempts = ?"
CLAIM_LOST = "skipped"
FINISH = """
UPDATE inbound_email_log SET status = ?, reason = ?, customer_id = ?, processed_at = ?
WHERE id = ? AND status = 'processing'
"""
# Earlier emails under this one's Message-ID that it is not a duplicate of (store.py: another sender, or another
# message from the same one): read all the same, and its items say so.
REUSED_MESSAGE_ID = """
SELECT earlier.id, this.message_id FROM inbound_email_log AS this
JOIN inbound_email_log AS earlier ON earlier.message_id = this.message_id AND earlier.id < this.id
WHERE this.id = ? AND earlier.status != 'duplicate'
ORDER BY earlier.id LIMIT 5
"""
HEADLINE_FIELDS = ("po_number", "lines", "total")
EMAIL_TEXT_CHARS = analyze.EMAIL_TEXT_CHARS  # of an email's text: read before the write; given_up keeps as much
TEXT_ONLY_REASON = "no PDF attachment: the order, if there is one, is in the email text; enter it by hand or reject"
TYPED_REASON = ("no PDF attachment: {n} line{s} read from the email text; check each against the text and add "
                "any that were missed")
# An email whose only content is attachments other than PDFs (a scan as an image, a spreadsheet, a .txt): the order
# may be in them, and only a person can read them. Before, such an email was logged with no item: dropped.
ATTACHED_NOTE = "attached, not read: {names}"
ATTACHMENTS_REASON = ("no PDF attachment or text: the order may be in the attachment{s} ({names}); open the original "
                      "email and enter any order by hand, or reject")
MAX_NAMED = 5  # in a reason
MAX_FLAGGED = 50  # in the flag's list (the parts limit allows 500)


@dataclass(frozen=True)
class AnalysedPdf:
    """One PDF of the email: its bytes' metadata, where it is stored and what the analysis made of each order in it
    (one Analysis for an ordinary PDF)."""

    part: PdfPart
    key: str
    analyses: tuple[Analysis, ...]


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


def duplicate_flag(po_number: str | None, earlier: list[tuple[int, str, str]]) -> dict[str, object] | None:
    """The warning that this order came before, naming the earlier items from (id, status, why) rows; None if not."""
    found: dict[int, tuple[str, list[str]]] = {}
    for item_id, status, why in earlier:
        found.setdefault(item_id, (status, []))[1].append(why)
    if not found:
        return None
    named = ", ".join(f"{i} ({status}; {' and '.join(whys)})" for i, (status, whys) in found.items())
    return {"code": "duplicate_po", "severity": "warning", "earlier_items": list(found),
            "message": f"PO {po_number or '(no number)'} may have been received before: review "
                       f"item{'s' if len(found) > 1 else ''} {named}; approving both would create two sales orders"}


def _with_flag(row: dict[str, object], flag: dict[str, object] | None) -> dict[str, object]:
    if flag is None:
        return row
    return {**row, "flags_json": json.dumps([*json.loads(str(row["flags_json"])), flag], default=str)}


def _with_duplicate_flag(conn: sqlite3.Connection, row: dict[str, object], sha256: str | None) -> dict[str, object]:
    params = {"customer_id": row["customer_id"], "po_number": row["po_number"], "email_id": row["email_id"],
              "attachment_id": row["attachment_id"], "part": row["part"], "sha256": sha256}
    earlier = [(int(i), str(status), str(why)) for i, status, why in conn.execute(EARLIER_SAME_ORDER, params)]
    return _with_flag(row, duplicate_flag(str(row["po_number"] or ""), earlier))


def reused_message_id_flag(message_id: str, earlier: list[int]) -> dict[str, object]:
    """The warning that an earlier, different email had this email's Message-ID (a sender that reuses one)."""
    ids = ", ".join(map(str, earlier))
    return {"code": "reused_message_id", "severity": "warning", "earlier_emails": earlier,
            "message": f"Message-ID {message_id} was also on email{'s' if len(earlier) > 1 else ''} {ids}, a "
                       "different message (another sender, or another body and date), so this one was read too: "
                       "check it is not the same order again"}


def _finding_flags(po: PurchaseOrder) -> list[dict[str, object]]:
    return [{"code": f.code, "severity": f.severity, "line_no": f.line_no, "message": f.message, "source": "parser"}
            for f in po.findings if f.severity != "info"]


def _item_row(conn: sqlite3.Connection, email_id: int, sender: str | None, senders: list[str], key: str,
              analysis: Analysis, fallback: CustomerMatch, ctx: Context) -> dict[str, object]:
    po = analysis.po
    row: dict[str, object] = {"status": analysis.status, "email_id": email_id, "pdf_key": key,
                              "pages": page_span(analysis.pages) if analysis.pages is not None else None,
                              "reason": analysis.reason, "sender": sender, "email_text": None, "now": ctx.now}
    if po is None:
        return manual_row(conn, row, analysis.reason or "", fallback)
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


def manual_row(conn: sqlite3.Connection, row: dict[str, object], reason: str, customer: CustomerMatch,
               typed: PurchaseOrder | None = None, line_flags: list[dict[str, object]] | None = None) -> dict[str, object]:
    """A needs_manual item: the reason as its finding and flag, and the lines read from a typed order, if any."""
    manual = typed or PurchaseOrder()
    manual.findings = [Finding(code="needs_manual", severity="error", message=reason)]
    flags = [{"code": "needs_manual", "severity": "error", "message": reason}] + customer_flags(conn, customer, None)
    return {**row, "status": "needs_manual", "reason": reason, "customer_id": customer.customer_id,
            "po_number": manual.po_number, "parsed_json": manual.model_dump_json(),
            "flags_json": json.dumps(flags + (line_flags or []), default=str), "confidence": 0.0,
            "line_count": len(manual.lines), "total": None}


def _typed_order(conn: sqlite3.Connection, text: EmailText, customer: CustomerMatch,
                 ctx: Context) -> tuple[PurchaseOrder, list[dict[str, object]]]:
    """The lines typed into an email that name one of our items (by code, or a close description) or look like
    order lines, checked like a PDF's (an unknown code is flagged for the reviewer to map)."""
    matcher = LineMatcher(conn, customer.customer_id, program_for(conn, customer.customer_id, ctx.standard),
                          ctx.tolerance_pct)
    order = PurchaseOrder(po_number=text.po_number)
    flags: list[dict[str, object]] = []
    for typed in text.typed:
        line = POLine(line_no=len(order.lines) + 1, customer_item_code=typed.code, description=typed.description,
                      quantity=typed.quantity, uom=typed.uom, unit_price=typed.unit_price)
        found = matcher.match(line)
        if found.item_id is None and not typed.listed:
            continue  # a number in prose ("call 555 1234") is not an order line
        line.item_id = found.item_id
        order.lines.append(line)
        flags += matcher.check(line, found, ctx.today.isoformat())
    return order, flags


def senders_of(sender: str | None, mail: ParsedMail | None) -> list[str]:
    """Who may name the customer: the email's sender, then the senders of the messages it forwards."""
    return [s for s in [sender, *(mail.forwarded_senders if mail else [])] if s]


def named(names: tuple[str, ...]) -> str:
    """Attachment names for a reason: the first MAX_NAMED, and how many more."""
    more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    return ", ".join(names[:MAX_NAMED]) + more


def attached_flag(names: tuple[str, ...]) -> dict[str, object]:
    """The warning that the email has attachments that may hold the order and were not read."""
    return {"code": "unread_attachment", "severity": "warning", "message": ATTACHED_NOTE.format(names=named(names)),
            "attachments": list(names[:MAX_FLAGGED])}


def text_row(email_id: int, sender: str | None, text: str, now: str) -> dict[str, object]:
    """The review item row of an email's text (no attachment: one per email, by a partial unique index)."""
    return {"email_id": email_id, "attachment_id": None, "part": 0, "pages": None, "pdf_key": None,
            "sender": sender, "email_text": text or None, "now": now}


def _text_only_item(conn: sqlite3.Connection, email_id: int, mail: ParsedMail, text: EmailText,
                    customer: CustomerMatch, ctx: Context) -> dict[str, object] | None:
    """The review item of an email without a PDF whose text, attachments or unread part may be an order; None for
    machine mail, and for an email read whole with neither text nor attachments."""
    unread, attached = unread_note(mail), text.attachments
    if mail.pdfs or mail.auto_generated or not (text.text or attached or unread):
        return None
    row = text_row(email_id, mail.sender, text.text, ctx.now)
    # A PDF may be in the part not read, the order in an attachment: the reviewer must know.
    flags = ([attached_flag(attached)] if attached else []) + ([unread_flag(unread)] if unread else [])
    if not text.text and attached:
        reason = ATTACHMENTS_REASON.format(s="s" if len(attached) > 1 else "", names=named(attached))
        return manual_row(conn, row, f"{reason}; {unread}" if unread else reason, customer, None, flags)
    if not text.text:  # e.g. malformed MIME, or a forward that could not be decoded: only the original email tells
        return manual_row(conn, row, NOTHING_READ_REASON.format(unread=unread), customer, None, flags)
    order, line_flags = _typed_order(conn, text, customer, ctx)
    reason = TYPED_REASON.format(n=len(order.lines), s="" if len(order.lines) == 1 else "s") if order.lines \
        else TEXT_ONLY_REASON
    notes = ([ATTACHED_NOTE.format(names=named(attached))] if attached else []) + ([unread] if unread else [])
    return manual_row(conn, row, "; ".join([reason, *notes]), customer, order, flags + line_flags)


def _email_outcome(mail: ParsedMail, pdfs: list[AnalysedPdf], text: EmailText,
                   text_item: dict[str, object] | None) -> tuple[str, str]:
    note = problems_note(mail)
    if not pdfs:
        attached = f"; {ATTACHED_NOTE.format(names=named(text.attachments))}" if text.attachments else ""
        if text_item is not None and text_item["email_text"]:
            return "needs_manual", noted(f"no PDF attachment: the email text is on a review item{attached}", note)
        if text_item is not None and text.attachments:
            attachments = f"its attachment{'s' if len(text.attachments) > 1 else ''} ({named(text.attachments)})"
            return "needs_manual", noted(f"no PDF attachment or text: the email and {attachments} are on a review "
                                         "item", note)
        if text_item is not None:
            return "needs_manual", noted("no PDF attachment: no text either: the email is on a review item", note)
        why = f"; {mail.auto_generated}, not queued" if mail.auto_generated else "; no text either"
        return "processed", noted(f"no PDF attachment{why}", note)
    orders = [(p, a) for p in pdfs for a in p.analyses]
    manual = [(p, a) for p, a in orders if a.status == "needs_manual"]
    if manual:
        # Counted in PDFs while each holds one order (the usual case), else in orders.
        counted = "PDFs" if len(orders) == len(pdfs) else "orders"
        reasons = "; ".join(f"{p.part.filename or 'unnamed PDF'}: {a.reason}" for p, a in manual[:3])
        return "needs_manual", noted(f"{len(manual)} of {len(orders)} {counted} need manual entry: {reasons}", note)
    return "processed", noted(f"{len(orders)} review item{'s' if len(orders) != 1 else ''} created", note)


def insert_item(conn: sqlite3.Connection, email_id: int, row: dict[str, object]) -> int | None:
    """Insert one review item and its ledger event; None if this email's item exists already."""
    inserted = conn.execute(INSERT_ITEM, row).fetchone()
    if inserted is None:
        return None  # this email's items exist already (a retry after a crash between commit and reply)
    append_event(conn, "review_item.created", "review_item", str(inserted[0]),
                 {"email_id": email_id, "status": row["status"], "customer_id": row["customer_id"],
                  "po_number": row["po_number"]}, dedupe_key=f"review_item.created:{inserted[0]}")
    return int(inserted[0])


def record_email(conn: sqlite3.Connection, email_id: int, attempt: int, mail: ParsedMail, pdfs: list[AnalysedPdf],
                 text: EmailText, ctx: Context) -> tuple[str, list[int]]:
    """Store attachments and review items, finish the log row; returns (email status, review item ids), or
    (CLAIM_LOST, []) with nothing written when claim `attempt` is no longer this email's. `text` is the email's
    text work, done before (`analyze.read_text`): nothing here reads the body."""
    if conn.execute(STILL_CLAIMED, (email_id, attempt)).fetchone() is None:
        return CLAIM_LOST, []
    senders = senders_of(mail.sender, mail)
    email_match = match_customer(conn, senders, None, ctx.own_domains)
    rows: list[tuple[dict[str, object], str | None]] = []  # (item row, its PDF's sha256)
    items: list[int] = []
    customer_id = email_match.customer_id
    unread = unread_note(mail)  # its own PDFs were read, but another may be in what was not: every item says so
    for pdf in pdfs:
        part = pdf.part
        attachment_id = conn.execute(INSERT_ATTACHMENT, (email_id, part.filename, part.content_type, len(part.data),
                                                         part.sha256, pdf.key)).fetchone()[0]
        for n, analysis in enumerate(pdf.analyses):  # part n: the PDF's orders in page order
            row = _item_row(conn, email_id, mail.sender, senders, pdf.key, analysis, email_match, ctx)
            rows.append(({**with_unread(row, unread), "attachment_id": attachment_id, "part": n}, part.sha256))
    text_item = _text_only_item(conn, email_id, mail, text, email_match, ctx)
    rows += [(text_item, None)] if text_item else []
    reused = conn.execute(REUSED_MESSAGE_ID, (email_id,)).fetchall()
    reused_flag = reused_message_id_flag(reused[0][1], [int(r[0]) for r in reused]) if reused else None
    for row, sha256 in rows:
        # Flagged just before its insert: the same order attached twice to this email finds its first copy.
        row = _with_flag(_with_duplicate_flag(conn, row, sha256), reused_flag)
        customer_id = customer_id or row["customer_id"]  # type: ignore[assignment]
        if (item_id := insert_item(conn, email_id, row)) is not None:
            items.append(item_id)
    status, reason = _email_outcome(mail, pdfs, text, text_item)
    conn.execute(FINISH, (status, reason, customer_id, ctx.now, email_id))
    return status, items
