"""Forwarded messages inside a mail (message/rfc822 and message/global parts), decoded again when sent encoded.

RFC 2046 allows no transfer encoding on message/rfc822, yet some clients send a forward base64,
quoted-printable or uuencoded; message/global (RFC 6532, UTF-8 headers) may be sent base64 or quoted-printable
by design. The stdlib parses such a forward as a headerless text: it is decoded and parsed again, at most
MAX_DECODED_FORWARDS levels deep. Nothing here raises: problems go to the caller's list.
"""

from __future__ import annotations

from email import errors, policy
from email.message import Message
from email.parser import BytesParser

MAX_DECODED_FORWARDS = 4  # encoded forwards inside encoded forwards: each level is decoded and parsed again
UUENCODE = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})  # the names the stdlib decodes
ENCODED = frozenset({"base64", "quoted-printable"}) | UUENCODE
FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})  # a forwarded message, RFC 5322 or RFC 6532
# Regenerates a parsed part as it arrived: headers are not refolded, so encoded text survives intact.
_VERBATIM = policy.default.clone(refold_source="none")


def transfer_encoding(part: Message) -> str:
    """A part's Content-Transfer-Encoding, lower-cased ('' when absent)."""
    return str(part.get("content-transfer-encoding") or "").strip().lower()


def decode(cte: str, text: str) -> bytes:
    """text decoded from transfer encoding cte by the stdlib's lenient decoders (undecodable text comes back as is)."""
    holder = Message()
    holder["Content-Transfer-Encoding"] = cte
    holder.set_payload(text)
    data = holder.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _as_sent(msg: Message) -> str:
    """A parsed message's text as it arrived. Encoded text read as a message has lines taken for headers and
    no blank line after them (a defect), which the generator would add: it is taken out again."""
    head = "".join(_VERBATIM.fold_binary(k, v).decode("ascii", errors="surrogateescape") for k, v in msg.raw_items())
    text = msg.as_bytes(policy=_VERBATIM).decode("ascii", errors="surrogateescape")
    glued = any(isinstance(d, errors.MissingHeaderBodySeparatorDefect) for d in msg.defects)
    return head + text[len(head) + 1:] if glued and text.startswith(head + "\n") else text


def is_forward(part: Message) -> bool:
    """Whether part holds a forwarded message."""
    return part.get_content_type() in FORWARD_TYPES


def decoded_levels(part: Message, above: int) -> int:
    """How many encoded forwards have been decoded down to the message inside part (above: those above it)."""
    return above + (transfer_encoding(part) in ENCODED)


def forwarded_message(part: Message, decoded: int, problems: list[str]) -> Message | None:
    """The message inside a forward part, decoded and parsed again if it was sent encoded; None (and a problem
    appended) when it cannot be read or lies too deep."""
    inner = part.get_payload()
    child = inner[0] if isinstance(inner, list) and inner else inner
    cte = transfer_encoding(part)
    if not isinstance(child, Message) or cte not in ENCODED:
        return child if isinstance(child, Message) else None
    if cte != "quoted-printable" and child.keys():
        return child  # base64 and uuencoded text has no "name:" line: this forward was labelled so but sent plain
    if decoded >= MAX_DECODED_FORWARDS:
        problems.append(f"forwarded messages encoded more than {MAX_DECODED_FORWARDS} deep; the rest were not examined")
        return None
    try:
        return BytesParser(policy=policy.default).parsebytes(decode(cte, _as_sent(child)))
    except Exception as exc:  # e.g. RecursionError regenerating a hostile tree: the rest of the mail still counts
        problems.append(f"a {cte} forwarded message could not be decoded: {type(exc).__name__}"[:300])
        return None
