"""One PDF attachment -> a PurchaseOrder per order it holds, or the reason a person has to enter it by hand; and
the email's own text, the order lines typed into it and its other attachments' names (`read_text`).

Text-layer PDFs are extracted and parsed (the offline layout-aware parser) in the sandboxed reader's child process,
under its page, size, time and memory limits from settings.limits: a layout too slow or too large to parse is a
reason like a PDF too slow or too large to extract. Image-only PDFs go to Claude's PDF input when
ANTHROPIC_API_KEY is set. Every failure becomes a reason string; nothing here raises for bad input.
All of it runs before the email's write transaction, never inside it: the write lock is every writer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from worker.claude import client_for
from worker.env import Env
from worker.intake.mime import ParsedMail
from worker.po.header import po_number_in_text
from worker.po.model import PurchaseOrder
from worker.po.parser import ParseHints, pages_text
from worker.po.pdftext import NO_TEXT_LAYER, ExtractLimits, PdfExtractor, PdfRejected
from worker.po.typed import TypedLine, order_text_lines, typed_lines
from worker.po.vision import VisionError, parse_with_claude

# One PDF's whole Claude reading, the SDK's retries and backoff included (parse_with_claude's deadline). A PDF
# started just before pipeline.READING_BUDGET_SECONDS (120 s) runs out may take its extraction limit (10 s) and
# this, and must still be recorded inside pipeline.EMAIL_TIMEOUT_SECONDS (240 s): as 90 s per request, three
# requests did not fit, and a hung API failed every attempt with nothing queued.
VISION_TIMEOUT_SECONDS = 90.0
EXTRACTOR_WORKERS = 2  # the machine has 2 cores; more warm children only cost memory
EMAIL_TEXT_CHARS = 20_000  # of an email's text, kept on its review item and read for typed order lines


@dataclass(frozen=True)
class Analysis:
    """What became of one PDF, or of one order in a PDF holding several: a parsed order (pending) or a reason
    (needs_manual)."""

    po: PurchaseOrder | None
    reason: str | None
    source: str  # text | vision | none
    pages: range | None = None  # the PDF's pages (0-based) this order is on; None: the whole PDF

    @property
    def status(self) -> str:
        """The review item's status."""
        return "pending" if self.po is not None and self.reason is None else "needs_manual"


def extractor(env: Env) -> PdfExtractor:
    """The env's sandboxed extractor with the configured limits (created on first use, closed by the lifespan)."""
    found = env.extras.get("pdf_extractor")
    if isinstance(found, PdfExtractor):
        return found
    limits = env.settings.limits
    made = PdfExtractor(ExtractLimits(max_bytes=limits.email_bytes, max_pages=limits.pdf_max_pages,
                                      timeout_s=limits.pdf_timeout_seconds, memory_bytes=limits.pdf_memory_mb << 20),
                        workers=EXTRACTOR_WORKERS)
    env.extras["pdf_extractor"] = made
    return made


class ClaudeUnavailable(Exception):
    """Claude failed in a way a later attempt may not (overloaded, rate limited, unreachable, timed out)."""


async def _vision(env: Env, data: bytes, today: date, retry_later: bool) -> Analysis:
    if env.secrets.anthropic_api_key is None:
        return Analysis(None, f"{NO_TEXT_LAYER}; ANTHROPIC_API_KEY is not set, so it needs manual entry", "none")
    try:
        po = await parse_with_claude(client_for(env), data, model=env.settings.anthropic.vision_model,
                                     timeout=VISION_TIMEOUT_SECONDS, today=today)
    except VisionError as exc:
        if exc.transient and retry_later:
            raise ClaudeUnavailable(f"Claude could not read a scanned PDF now: {exc.reason}") from exc
        return Analysis(None, f"{NO_TEXT_LAYER}; Claude could not read it: {exc.reason}", "vision")
    return _judge(po, "vision")


def _judge(po: PurchaseOrder, source: str, pages: range | None = None) -> Analysis:
    if not po.lines:
        # Text that is not an order (a brochure, a statement) or a layout the parser cannot read.
        where = "in the PDF" if pages is None else f"on {pages_text(pages)} of the PDF"
        return Analysis(po, f"no order lines found {where} (not a purchase order, or an unreadable layout)", source,
                        pages)
    return Analysis(po, None, source, pages)


async def analyze_orders(env: Env, data: bytes, today: date, *, retry_later: bool = False) -> list[Analysis]:
    """Extract, parse (or read with Claude) one PDF: an Analysis per purchase order in it, in page order (one for
    an ordinary PDF, a scanned one or a bad one). Bad PDFs come back with a reason, never an exception.

    retry_later: a transient Claude failure raises ClaudeUnavailable (the email's attempt fails and the
    hot tier tries again) instead of making the PDF a needs_manual item.
    """
    try:
        # Parsed in the sandbox too: in-process, a thread that no timeout can stop parsed a hostile layout for
        # minutes, past the email's time limit, and the hot tier retried it. A parser bug is a reason there.
        read = await extractor(env).read_async(data, ParseHints(today=today))
    except PdfRejected as exc:
        return [Analysis(None, exc.reason, "none")]
    if not read.has_text:
        return [await _vision(env, data, today, retry_later)]
    parts = read.parts
    return [_judge(part.po, "text", part.pages if len(parts) > 1 else None) for part in parts]


@dataclass(frozen=True)
class EmailText:
    """An email's text and what may be an order typed into it, worked out before its write transaction: an HTML
    body's text and the typed-line patterns are pure text work that took seconds (41 s for a 21 MB HTML body)
    under the write lock, so every other write (the doors' 250s, the cron tiers) waited, or failed 'locked'."""

    text: str = ""  # the plain part, else the HTML part's text, at most EMAIL_TEXT_CHARS
    po_number: str | None = None  # after a PO label in the subject or the text's own lines
    typed: tuple[TypedLine, ...] = ()  # candidates: the write keeps those naming our items or shaped like order lines
    attachments: tuple[str, ...] = ()  # names of attachments that may be the order and are not read (no PDF, no body)


def read_text(mail: ParsedMail) -> EmailText:
    """The email's text for its review item, the typed order it may hold and the attachments it may be in (pure; call
    it from a thread). These are wanted only from mail without a PDF that is not machine mail."""
    text = mail.body_text(EMAIL_TEXT_CHARS)
    if mail.pdfs or mail.auto_generated:
        return EmailText(text)
    attachments = tuple(mail.attachments)  # other attachments: a PO sent as a scan, a spreadsheet or a .txt
    if not text:
        return EmailText(text, attachments=attachments)
    return EmailText(text, po_number_in_text([mail.subject or "", *order_text_lines(text)]), tuple(typed_lines(text)),
                     attachments)
