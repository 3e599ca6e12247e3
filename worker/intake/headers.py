"""Header fields of a message as the log and the pipeline need them: decoded, bounded, never raising.

Hostile headers are megabytes long and trip the policy's structured parsers, so values are cut before they
are decoded, fall back to their raw text, and are truncated for the log.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import BinaryIO

MAX_HEADER_CHARS = 998  # RFC 5322 line limit: longer header values are truncated for the log
MAX_RAW_HEADER_CHARS = 8192  # decoded only up to this much (hostile headers are megabytes long)
MAX_HEADER_LINES = 2000  # header lines kept for the log; the raw message keeps them all


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


def header_block(fp: BinaryIO) -> bytes:
    """The header section of a raw message read line by line, each field cut to MAX_RAW_HEADER_CHARS."""
    # So a giant Subject can neither blow up memory nor hide the Message-ID that follows it.
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
