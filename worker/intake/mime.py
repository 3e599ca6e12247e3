"""Pure MIME walking with the stdlib `email` package (policy default): headers, bodies and PDF attachments.

Senders mislabel PDFs, so a part is a PDF by content type, by file name (RFC 2231 and encoded-word names
are decoded by the policy) or by `%PDF-` magic, including inside forwarded message/rfc822 parts (also
when the forward itself was sent base64, quoted-printable or uuencoded) and in x-uuencode attachments.
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
from email import errors, policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO

PDF_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/acrobat", "applications/vnd.pdf"})
MAX_PARTS = 500  # a message with more parts than this is hostile or broken; we stop looking
MAX_HEADER_CHARS = 998  # RFC 5322 line limit: longer header values are truncated for the log
MAX_RAW_HEADER_CHARS = 8192  # decoded only up to this much (hostile headers are megabytes long)
MAX_HEADER_LINES = 2000  # header lines kept for the log; the raw message keeps them all
_MAGIC_WINDOW = 1024  # readers accept a little junk before %PDF-, so do we
MAX_DECODED_FORWARDS = 4  # encoded forwards inside encoded forwards: each level is decoded and parsed again
_UUENCODE = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})  # the names the stdlib decodes
_ENCODED = frozenset({"base64", "quoted-printable"}) | _UUENCODE
_UU_BEGIN = re.compile(r"^begin [0-7]{1,4} +(.+?)\s*$", re.MULTILINE)
# Regenerates a parsed part as it arrived: headers are not refolded, so encoded text survives intact.
_VERBATIM = policy.default.clone(refold_source="none")


@dataclass(frozen=True)
class PdfPart:
    """One PDF found in a message."""

    filename: str | None
    content_type: str
    data: bytes
    forwarded: bool  # found inside a message/rfc822 part

    @property
    def sha256(self) -> str:
        """Hex digest of the PDF bytes."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ParsedMail:
    """What the pipeline needs from a raw message."""

    message_id: str | None = None
    sender: str | None = None  # lower-cased address of From
    recipients: list[str] = field(default_factory=list)
    subject: str | None = None
    forwarded_senders: list[str] = field(default_factory=list)  # From of forwarded messages, in order
    text: str = ""
    html: str = ""
    pdfs: list[PdfPart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    auto_generated: str | None = None  # why the message is an automatic one (auto-reply, bounce, list), if it is

    def body_text(self, limit: int) -> str:
        """The message's text for a reader: the plain part, else the HTML part's text; at most limit chars."""
        return (self.text.strip() or html_text(self.html))[:limit].strip()

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


def header(msg: Message, name: str) -> str | None:
    """A header's decoded value (first occurrence), or its raw text when the policy cannot parse it."""
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return None
    # Decoding cost grows faster than linearly with length (a 200 kB Subject takes half a second).
    raw = raw[:MAX_RAW_HEADER_CHARS]
    try:
        text = str(policy.default.header_factory(name, raw))
    except Exception:  # the policy's structured parsers choke on some hostile headers
        text = raw
    text = re.sub(r"[\r\n\x00]+", " ", text).strip()
    return text[:MAX_HEADER_CHARS] or None


def address(msg: Message, name: str) -> str | None:
    """The lower-cased first address of an address header (From), or None."""
    raw = header(msg, name)
    if not raw:
        return None
    addr = parseaddr(raw)[1].strip().lower()
    return addr if "@" in addr else None


def addresses(msg: Message, *names: str) -> list[str]:
    """Every lower-cased address in the given headers (To, Cc), without duplicates, in order."""
    seen: list[str] = []
    for name in names:
        raw = header(msg, name)
        if not raw:
            continue
        for _, addr in getaddresses([raw]):
            addr = addr.strip().lower()
            if "@" in addr and addr not in seen:
                seen.append(addr)
    return seen


def _cte(part: Message) -> str:
    return str(part.get("content-transfer-encoding") or "").strip().lower()


def _clean_name(name: str) -> str | None:
    # Keep only the last path component and printable characters: names end up in logs and the UI.
    name = re.split(r"[\\/]", name)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255] or None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # undecodable RFC 2231 parameters
        return None
    if not name and _cte(part) in _UUENCODE:  # uuencode carries its own name on the "begin 644 name" line
        raw = part.get_payload()
        found = _UU_BEGIN.search(raw[:_MAGIC_WINDOW]) if isinstance(raw, str) else None
        name = found.group(1) if found else None
    return _clean_name(str(name)) if name else None


def _decode(cte: str, text: str) -> bytes:
    """text decoded from transfer encoding cte by the stdlib's lenient decoders (undecodable text comes back as is)."""
    holder = Message()
    holder["Content-Transfer-Encoding"] = cte
    holder.set_payload(text)
    data = holder.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


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
    cte = _cte(part)
    if cte == "base64":
        compact = "".join(head.split())
        try:
            return base64.b64decode(compact[:len(compact) // 4 * 4])
        except (binascii.Error, ValueError):
            return b""
    if cte in _UUENCODE:
        return _decode(cte, "\n".join(head.splitlines()[:-1]))  # whole lines only: the last may be cut
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


def _as_sent(msg: Message) -> str:
    """A parsed message's text as it arrived. Encoded text read as a message has lines taken for headers and
    no blank line after them (a defect), which the generator would add: it is taken out again."""
    head = "".join(_VERBATIM.fold_binary(k, v).decode("ascii", errors="surrogateescape") for k, v in msg.raw_items())
    text = msg.as_bytes(policy=_VERBATIM).decode("ascii", errors="surrogateescape")
    glued = any(isinstance(d, errors.MissingHeaderBodySeparatorDefect) for d in msg.defects)
    return head + text[len(head) + 1:] if glued and text.startswith(head + "\n") else text


def _forwarded(part: Message, decoded: int, out: ParsedMail) -> Message | None:
    """The message inside a message/rfc822 part. RFC 2046 allows no transfer encoding there, yet some clients
    send it base64 or quoted-printable, which the stdlib parses as a headerless text: decode and parse it again."""
    inner = part.get_payload()
    child = inner[0] if isinstance(inner, list) and inner else inner
    cte = _cte(part)
    if not isinstance(child, Message) or cte not in _ENCODED:
        return child if isinstance(child, Message) else None
    if cte != "quoted-printable" and child.keys():
        return child  # base64 and uuencoded text has no "name:" line: this forward was labelled so but sent plain
    if decoded >= MAX_DECODED_FORWARDS:
        out.problems.append(f"forwarded messages encoded more than {MAX_DECODED_FORWARDS} deep; the rest were not examined")
        return None
    try:
        return parse_message(_decode(cte, _as_sent(child)))
    except Exception as exc:  # e.g. RecursionError regenerating a hostile tree: the rest of the mail still counts
        out.problems.append(f"a {cte} forwarded message could not be decoded: {type(exc).__name__}"[:300])
        return None


def _leaf(part: Message, forwarded: bool, out: ParsedMail, seen_pdfs: set[str]) -> None:
    ctype = part.get_content_type()
    filename = _filename(part)
    disposition = (part.get_content_disposition() or "").lower()
    if is_pdf(ctype, filename, _prefix(part)):
        data = _payload(part)  # decoded in full only now: big non-PDF attachments never are
        if _cte(part) in _UUENCODE and b"%PDF-" not in data[:_MAGIC_WINDOW]:
            out.problems.append(f"uuencoded attachment {filename or '(unnamed)'} did not decode to a PDF")
        digest = hashlib.sha256(data).hexdigest()
        if digest not in seen_pdfs:  # the same PDF attached twice is one order
            seen_pdfs.add(digest)
            out.pdfs.append(PdfPart(filename, ctype, data, forwarded))
    elif ctype == "text/plain" and disposition != "attachment" and not out.text:
        out.text = _text(part)
    elif ctype == "text/html" and disposition != "attachment" and not out.html:
        out.html = _text(part)


def _walk(msg: Message, out: ParsedMail) -> None:
    seen_pdfs: set[str] = set()
    # Depth first in document order, as Message.walk(), but a forward is replaced by its decoded message.
    # Entries: (part, inside a forwarded message, encoded forwards decoded above it).
    stack: list[tuple[Message, bool, int]] = [(msg, False, 0)]
    count = 0
    while stack:
        if count >= MAX_PARTS:
            out.problems.append(f"more than {MAX_PARTS} MIME parts; the rest were not examined")
            return
        count += 1
        part, forwarded, decoded = stack.pop()
        if part.get_content_type() == "message/rfc822":
            if (child := _forwarded(part, decoded, out)) is not None:
                if fwd := address(child, "From"):
                    out.forwarded_senders.append(fwd)
                stack.append((child, True, decoded + (_cte(part) in _ENCODED)))
        elif part.is_multipart():
            inner = part.get_payload()
            children = inner if isinstance(inner, list) else [inner]
            stack += [(c, forwarded, decoded) for c in reversed(children) if isinstance(c, Message)]
        else:
            _leaf(part, forwarded, out, seen_pdfs)


def _fill_headers(msg: Message, out: ParsedMail) -> None:
    out.message_id = header(msg, "Message-ID")
    out.sender = address(msg, "From") or address(msg, "Sender")
    out.recipients = addresses(msg, "To", "Cc")
    out.subject = header(msg, "Subject")
    out.auto_generated = auto_generated(msg, out.sender)


def auto_generated(msg: Message, sender: str | None) -> str | None:
    """Why msg was sent by a machine rather than a person (RFC 3834 and common practice), or None."""
    submitted = (header(msg, "Auto-Submitted") or "no").lower()
    if submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = (header(msg, "Precedence") or "").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if msg.get_content_type() == "multipart/report":
        return "a delivery or read report"
    if any(msg.get(name) is not None for name in ("X-Autoreply", "X-Autorespond")):
        return "an automatic reply"
    if sender and sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return f"sent by {sender}"
    return None


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


def html_text(html: str) -> str:
    """The readable text of an HTML body (tags dropped, scripts and styles skipped, blank lines folded)."""
    if not html:
        return ""
    reader = _TextOfHtml()
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _header_block(fp: BinaryIO) -> bytes:
    # The header section with each field cut to MAX_RAW_HEADER_CHARS, so a giant Subject can neither
    # blow up memory nor hide the Message-ID that follows it.
    kept: list[bytes] = []
    field_size = 0
    for line in fp:
        if line in (b"\r\n", b"\n"):
            break
        continuation = line[:1] in (b" ", b"\t")
        field_size = field_size + len(line) if continuation else len(line)
        if field_size <= MAX_RAW_HEADER_CHARS and len(kept) < MAX_HEADER_LINES:
            kept.append(line)
    return b"".join(kept) + b"\r\n"


def read_headers(source: bytes | Path) -> ParsedMail:
    """Only the header fields the log needs, read line by line without the body; never raises."""
    out = ParsedMail()
    try:
        if isinstance(source, Path):
            with open(source, "rb") as fp:
                head = _header_block(fp)
        else:
            head = _header_block(io.BytesIO(source))
        _fill_headers(BytesParser(policy=policy.default).parsebytes(head, headersonly=True), out)
    except Exception as exc:  # reported, never raised: the raw bytes are what we must keep
        out.problems.append(f"malformed headers: {type(exc).__name__}")
    return out


def read_mail(source: bytes | Path) -> ParsedMail:
    """Headers, first text and HTML bodies, and every PDF of a raw message; never raises."""
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
