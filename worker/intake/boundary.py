"""A multipart part whose declared boundary is not in its body (or that declares none), read with the one used.

The stdlib then finds no parts and keeps the whole body as one string: a PDF and the text inside would never be
examined. Senders that get the header wrong still separate their parts with `--boundary` lines, so the first such
line that makes the body parse into MIME parts is taken as the boundary and the body is parsed again by the stdlib.
What is still not read (no usable boundary, or text before the first part) is said as an unread part. Nothing
here raises: problems go to the caller's list.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser

# RFC 2046 bchars, 1 to 70 of them, not ending in a space; a `--x` line's x may be the boundary used.
_DELIMITER = re.compile(r"^--([0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?])[ \t]*\r?$", re.MULTILINE)
MAX_CANDIDATES = 3  # distinct `--x` lines tried: a body with none that works is not MIME we can read
MAX_GUESSED = 8  # bodies parsed again per message: each copies its text, and nested ones could be many
NOT_READ = "a multipart body without its boundary: not read"
PREAMBLE_NOT_READ = "text before the parts of a multipart body read with a guessed boundary: not read"
# The usual preamble ("This is a multi-part message in MIME format."): nothing to read there.
_BOILERPLATE = re.compile(r"(\s*this is a [^\n]*\bmime\b[^\n]*)?\s*", re.IGNORECASE)
GUESSED = "MIME defect: boundary not found (read with the one used)"


def unparsed(part: Message) -> str | None:
    """The body of a multipart part the parser could not split (no boundary found); None for any other part."""
    body = part.get_payload()
    if part.get_content_maintype() != "multipart" or not isinstance(body, str) or not body.strip():
        return None
    return body


def _candidates(body: str) -> list[str]:
    found: list[str] = []
    for match in _DELIMITER.finditer(body):
        boundary = match.group(1).removesuffix("--")  # the closing delimiter names it too
        if boundary and boundary not in found:
            found.append(boundary)
        if len(found) >= MAX_CANDIDATES:
            break
    return found


def _parsed_with(part: Message, body: str, boundary: str) -> Message | None:
    """The body parsed by the stdlib as a multipart with this boundary, if that yields MIME parts."""
    head = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
    msg = BytesParser(policy=policy.default).parsebytes(head.encode() + body.encode("utf-8", "surrogateescape"))
    children = msg.get_payload()
    if not isinstance(children, list) or not any(isinstance(c, Message) and c.get("content-type") for c in children):
        return None  # e.g. a `-----` rule in plain text: what lies between is not MIME parts
    return msg


def recovered(part: Message, body: str, problems: list[str]) -> Message | None:
    """The part read with the boundary its body uses (None if none works: then noted as not read)."""
    guessed = problems.count(GUESSED) < MAX_GUESSED
    for boundary in _candidates(body) if guessed else []:
        if (msg := _parsed_with(part, body, boundary)) is not None:
            problems.append(GUESSED)
            if not _BOILERPLATE.fullmatch(msg.preamble or ""):  # might be the order typed before the first part
                problems.append(PREAMBLE_NOT_READ)
            return msg
    problems.append(NOT_READ)
    return None
