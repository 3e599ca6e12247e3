"""Pure MIME walking with the stdlib `email` package (policy default): a message's bodies and PDF attachments,
with its header fields read by `headers`.

A multipart whose declared boundary is not in its body is read with the one used (`boundary`).
Senders mislabel PDFs, so a part is a PDF by content type, by file name (RFC 2231 and encoded-word names
are decoded by the policy) or by `%PDF-` magic, including inside forwarded message/rfc822 and message/global
parts (decoded by `forwards` when the forward itself was sent encoded), in x-uuencode attachments and inside
Outlook's winmail.dat (`tnef`).
Every body that is not an attachment is read for its text, in document order, forwarded messages' included (an
order may be typed in any of them): text/plain, and text/html only where a multipart/alternative offers no plain
text (or stands alone). At most MAX_HTML_CHARS of HTML are converted; a cut is reported as a problem.
Other attachments that may be the order (a scan as an image, a spreadsheet, a .txt or .csv) are named, not read
(`ParsedMail.attachments`), forwarded ones and those inside winmail.dat included.
Malformed input never raises out of this module: problems are reported in `ParsedMail.problems`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

from worker.intake.boundary import recovered, unparsed
from worker.intake.forwards import UUENCODE, decode, decoded_levels, forwarded_message, is_forward, transfer_encoding
from worker.intake.headers import address, addresses, auto_generated, header, header_block
from worker.intake.tnef import is_tnef, unwrap

PDF_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/acrobat", "applications/vnd.pdf"})
MAX_PARTS = 500  # a message with more parts than this is hostile or broken; we stop looking
_MAGIC_WINDOW = 1024  # readers accept a little junk before %PDF-, so do we
_UU_BEGIN = re.compile(r"^begin [0-7]{1,4} +(.+?)\s*$", re.MULTILINE)
# Of HTML converted to text per message, cut before parsing: HTML is slow to parse (a 21 MB body took 41 s).
MAX_HTML_CHARS = 300_000
HTML_CUT = f"its HTML past the first {MAX_HTML_CHARS:,} characters (too long to convert to text)"
# A '<' that opens no tag: CPython's HTMLParser slows quadratically or worse on these ('<a <a <a ...', 40 KB: 60 s).
_STRAY_LT = re.compile(r"<(?=[^<>]*(?:<|\Z))")
# Attachments that are never an order: signatures, keys, business cards, calendar invitations, the control part of
# an encrypted message (its encrypted.asc is named: it may be one).
NOT_ORDER_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature",
                             "application/pgp-keys", "application/pgp-encrypted", "text/vcard", "text/x-vcard",
                             "text/directory", "text/calendar", "application/ics"})
NOT_ORDER_SUFFIXES = (".vcf", ".ics", ".p7s")


@dataclass(frozen=True)
class PdfPart:
    """One PDF found in a message."""

    filename: str | None
    content_type: str
    data: bytes
    forwarded: bool  # found inside a forwarded message (message/rfc822 or message/global part)

    @property
    def sha256(self) -> str:
        """Hex digest of the PDF bytes."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Body:
    """One body read for its text: a text/plain part, or a text/html one (converted when the text is asked for)."""

    content: str
    html: bool = False


@dataclass
class ParsedMail:
    """What the pipeline needs from a raw message."""

    message_id: str | None = None
    sender: str | None = None  # lower-cased address of From
    recipients: list[str] = field(default_factory=list)
    subject: str | None = None
    forwarded_senders: list[str] = field(default_factory=list)  # From of forwarded messages, in order
    bodies: list[Body] = field(default_factory=list)  # in document order
    pdfs: list[PdfPart] = field(default_factory=list)
    # Names of the other attachments that may hold the order (neither PDF nor body), in document order; not read.
    attachments: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    auto_generated: str | None = None  # why the message is an automatic one (auto-reply, bounce, list), if it is

    def body_text(self, limit: int) -> str:
        """The text of every body, in order, blank-line separated (CRLF read as LF, repeats left out); at most limit
        chars."""
        texts: list[str] = []
        seen: set[str] = set()
        size = 0
        for body in self.bodies:
            if size >= limit:
                break  # no more HTML is converted than is kept
            text = (html_text(body.content) if body.html else body.content.replace("\r\n", "\n")).strip()
            if text and (words := " ".join(text.split())) not in seen:  # a body sent twice (plain and HTML) is once
                seen.add(words)
                texts.append(text)
                size += len(text) + 2
        return "\n\n".join(texts)[:limit].strip()

    def recipients_json(self) -> str:
        """Recipients as a JSON array for the log."""
        return json.dumps(self.recipients)


def parse_message(source: bytes | Path) -> EmailMessage:
    """Parse raw RFC 822 bytes or a file with policy default (a file is read in chunks, never whole)."""
    parser = BytesParser(policy=policy.default)
    if isinstance(source, Path):
        with open(source, "rb") as fp:
            return parser.parse(fp)  # type: ignore[return-value]
    return parser.parsebytes(source)  # type: ignore[return-value]


def _clean_name(name: str) -> str | None:
    # Keep only the last path component and printable characters: names end up in logs and the UI.
    name = re.split(r"[\\/]", name)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255] or None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # undecodable RFC 2231 parameters
        return None
    if not name and transfer_encoding(part) in UUENCODE:  # uuencode names its file on the "begin 644 name" line
        raw = part.get_payload()
        found = _UU_BEGIN.search(raw[:_MAGIC_WINDOW]) if isinstance(raw, str) else None
        name = found.group(1) if found else None
    return _clean_name(str(name)) if name else None


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken base64 / quoted-printable is decoded leniently by the stdlib; this is the rest
        return b""
    return data if isinstance(data, bytes) else b""


def _prefix(part: Message) -> bytes:
    # The first bytes of a part without decoding all of it (enough for the %PDF- magic).
    raw = part.get_payload()
    if not isinstance(raw, str):
        return b""
    head = raw[:_MAGIC_WINDOW * 2]
    cte = transfer_encoding(part)
    if cte == "base64":
        compact = "".join(head.split())
        try:
            return base64.b64decode(compact[:len(compact) // 4 * 4])
        except (binascii.Error, ValueError):
            return b""
    if cte in UUENCODE:
        return decode(cte, "\n".join(head.splitlines()[:-1]))  # whole lines only: the last may be cut
    return head.encode("utf-8", errors="surrogateescape")


def is_pdf(content_type: str, filename: str | None, data: bytes) -> bool:
    """A part is a PDF if labelled so, named *.pdf, or starting with the %PDF- magic."""
    if content_type in PDF_TYPES:
        return True
    if filename and filename.lower().rstrip(". ").endswith(".pdf"):
        return True
    return b"%PDF-" in data[:_MAGIC_WINDOW]


def _text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        return content if isinstance(content, str) else ""
    except Exception:  # unknown charset or broken transfer encoding: decode what we can
        return _payload(part).decode("utf-8", errors="replace")


def _add_pdf(pdf: PdfPart, out: ParsedMail, seen_pdfs: set[str]) -> None:
    if (digest := pdf.sha256) not in seen_pdfs:  # the same PDF attached twice is one order
        seen_pdfs.add(digest)
        out.pdfs.append(pdf)


# Where a body lies: for each multipart/alternative above it (outermost first), (its number, the alternative's index).
_Alts = tuple[tuple[int, int], ...]


def _add_body(body: Body, alts: _Alts, found: list[tuple[Body, _Alts]]) -> None:
    if body.content.strip():  # a blank body says nothing, nor does it stand for its alternative
        found.append((body, alts))


def _chosen(found: list[tuple[Body, _Alts]]) -> list[Body]:
    """The bodies read for text: of each multipart/alternative, only the first alternative holding plain text, else
    the last holding HTML (RFC 2046 puts the richest last)."""
    plain: dict[int, int] = {}
    html: dict[int, int] = {}
    for body, alts in found:
        for group, index in alts:
            if body.html:
                html[group] = max(html.get(group, index), index)
            else:
                plain[group] = min(plain.get(group, index), index)
    pick = html | plain
    return [body for body, alts in found if all(pick[group] == index for group, index in alts)]


def _unwrap_tnef(name: str, data: bytes, forwarded: bool, alts: _Alts, found: list[tuple[Body, _Alts]],
                 out: ParsedMail, seen_pdfs: set[str]) -> None:
    """The PDFs and bodies inside Outlook's winmail.dat; one that does not decode is reported unread."""
    try:
        inner = unwrap(data)
    except ValueError as exc:
        out.problems.append(f"Outlook attachment wrapper {name} could not be decoded ({exc})")
        return
    for filename, content in inner.files:
        filename = _clean_name(filename) if filename else None
        if is_pdf("", filename, content):
            _add_pdf(PdfPart(filename, "application/pdf", content, forwarded), out, seen_pdfs)
        elif not (filename or "").lower().endswith(NOT_ORDER_SUFFIXES):  # every file in the wrapper is attached
            out.attachments.append(filename or f"an unnamed attachment in {name}")
    if not found:  # the wrapper's body is Outlook's copy of the one sent beside it: read only without that
        _add_body(Body(inner.text) if inner.text.strip() else Body(inner.html, True), alts, found)


def _attachment(part: Message, ctype: str, filename: str | None, disposition: str, related: bool) -> str | None:
    """The name of a part neither PDF nor winmail.dat that may be the order: sent as an attachment, or named and not
    shown inside an HTML body (a signature, a logo: multipart/related with a Content-ID), as a phone sends a photo
    inline. None for the rest: signatures, cards, invitations; an unnamed part not attached is a body."""
    if ctype in NOT_ORDER_TYPES or part.get_content_maintype() in ("message", "multipart") \
            or (filename or "").lower().endswith(NOT_ORDER_SUFFIXES):
        return None
    filename = filename or _clean_name(header(part, "Content-Description") or "")
    if disposition != "attachment" and (not filename or (related and header(part, "Content-ID"))):
        return None
    return filename or f"an unnamed {ctype} attachment"


def _leaf(part: Message, forwarded: bool, related: bool, alts: _Alts, found: list[tuple[Body, _Alts]],
          out: ParsedMail, seen_pdfs: set[str]) -> None:
    ctype = part.get_content_type()
    filename = _filename(part)
    disposition = (part.get_content_disposition() or "").lower()
    if is_tnef(ctype, filename):  # before the magic test: a PDF inside starts within its first kilobyte
        _unwrap_tnef(filename or "winmail.dat", _payload(part), forwarded, alts, found, out, seen_pdfs)
    elif is_pdf(ctype, filename, _prefix(part)):
        data = _payload(part)  # decoded in full only now: big non-PDF attachments never are
        if transfer_encoding(part) in UUENCODE and b"%PDF-" not in data[:_MAGIC_WINDOW]:
            out.problems.append(f"uuencoded attachment {filename or '(unnamed)'} did not decode to a PDF")
        _add_pdf(PdfPart(filename, ctype, data, forwarded), out, seen_pdfs)
    else:
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            _add_body(Body(_text(part), ctype == "text/html"), alts, found)
        if (name := _attachment(part, ctype, filename, disposition, related)) is not None:
            out.attachments.append(name)  # a named inline text part is read as a body and named too, as before


def _children(part: Message) -> list[Message]:
    inner = part.get_payload()
    return [c for c in (inner if isinstance(inner, list) else [inner]) if isinstance(c, Message)]


def _walk(msg: Message, out: ParsedMail) -> None:
    found: list[tuple[Body, _Alts]] = []
    try:
        _walk_parts(msg, out, found)
    finally:  # what was found before a hostile part stopped the walk is read all the same
        out.bodies = _bounded(_chosen(found), out.problems)


def _bounded(bodies: list[Body], problems: list[str]) -> list[Body]:
    """The bodies with their HTML cut to MAX_HTML_CHARS in all (at a tag's start), before any is parsed."""
    room, kept = MAX_HTML_CHARS, []
    for body in bodies:
        if body.html and len(body.content) > room:
            cut = body.content[:room]
            if cut.rfind("<") > cut.rfind(">"):  # no half a tag read as text
                cut = cut[:cut.rfind("<")]
            if HTML_CUT not in problems:
                problems.append(HTML_CUT)
            body = Body(cut, True)
        if body.html:
            room -= len(body.content)
        if body.content.strip():
            kept.append(body)
    return kept


def _walk_parts(msg: Message, out: ParsedMail, found: list[tuple[Body, _Alts]]) -> None:
    seen_pdfs: set[str] = set()
    # Depth first in document order, as Message.walk(), but a forward is replaced by its decoded message.
    # Entries: (part, inside a forwarded message, encoded forwards decoded above it, whether its parent is
    # multipart/related, alternatives it lies in).
    stack: list[tuple[Message, bool, int, bool, _Alts]] = [(msg, False, 0, False, ())]
    count = groups = 0
    while stack:
        if count >= MAX_PARTS:
            out.problems.append(f"more than {MAX_PARTS} MIME parts; the rest were not examined")
            return
        count += 1
        part, forwarded, decoded, related, alts = stack.pop()
        if is_forward(part):
            if (child := forwarded_message(part, decoded, out.problems)) is not None:
                if fwd := address(child, "From"):
                    out.forwarded_senders.append(fwd)
                stack.append((child, True, decoded_levels(part, decoded), False, alts))
        elif (body := unparsed(part)) is not None:  # its boundary was not found: read with the one used, if any
            if (again := recovered(part, body, out.problems)) is not None:
                stack.append((again, forwarded, decoded, related, alts))
        elif part.is_multipart():
            children = _children(part)
            groups += (alternative := part.get_content_type() == "multipart/alternative")
            inside = part.get_content_type() == "multipart/related"
            stack += [(c, forwarded, decoded, inside, (*alts, (groups, i)) if alternative else alts)
                      for i, c in reversed(list(enumerate(children)))]
        else:
            _leaf(part, forwarded, related, alts, found, out, seen_pdfs)


def _fill_headers(msg: Message, out: ParsedMail) -> None:
    out.message_id = header(msg, "Message-ID")
    out.sender = address(msg, "From") or address(msg, "Sender")
    out.recipients = addresses(msg, "To", "Cc")
    out.subject = header(msg, "Subject")
    out.auto_generated = auto_generated(msg, out.sender)


class _TextOfHtml(HTMLParser):
    _SKIPPED = frozenset(("script", "style", "head", "title"))
    _BREAKS = frozenset(("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self.skipping += 1
        self.parts.append("\n" if tag in self._BREAKS else " " if tag in ("td", "th") else "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _without_comments(html: str) -> str:
    """html without its comments (an unclosed one runs to the end), found in one pass: HTMLParser takes quadratic
    time over many unclosed ones."""
    kept, at = [], 0
    while (start := html.find("<!--", at)) >= 0:
        kept.append(html[at:start])
        end = html.find("-->", start + 4)
        at = len(html) if end < 0 else end + 3
    return "".join(kept) + html[at:]


def html_text(html: str) -> str:
    """The readable text of an HTML body (tags dropped, scripts and styles skipped, blank lines folded)."""
    if not html:
        return ""
    reader = _TextOfHtml()
    reader.feed(_STRAY_LT.sub("&lt;", _without_comments(html)))  # both linear: what the parser is slow on
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def read_headers(source: bytes | Path) -> ParsedMail:
    """Only the header fields the log needs, read line by line without the body; never raises."""
    out = ParsedMail()
    try:
        if isinstance(source, Path):
            with open(source, "rb") as fp:
                head = header_block(fp)
        else:
            head = header_block(io.BytesIO(source))
        _fill_headers(BytesParser(policy=policy.default).parsebytes(head, headersonly=True), out)
    except Exception as exc:  # reported, never raised: the raw bytes are what we must keep
        out.problems.append(f"malformed headers: {type(exc).__name__}")
    return out


def read_mail(source: bytes | Path) -> ParsedMail:
    """Headers, bodies read for text, every PDF and the names of other attachments of a raw message; never
    raises."""
    out = ParsedMail()
    try:
        msg = parse_message(source)
    except Exception as exc:  # e.g. RecursionError on thousands of nested multiparts: keep the headers at least
        out = read_headers(source)
        out.problems.append(f"malformed MIME: {type(exc).__name__}: {exc}"[:300])
        return out
    _fill_headers(msg, out)
    try:
        _walk(msg, out)
    except RecursionError:
        out.problems.append("malformed MIME: nesting too deep")
    except Exception as exc:  # a hostile structure must not take the pipeline down
        out.problems.append(f"malformed MIME: {type(exc).__name__}: {exc}"[:300])
    out.problems += [f"MIME defect: {type(d).__name__}" for d in getattr(msg, "defects", [])][:10]
    return out
