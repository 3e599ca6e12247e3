"""Outlook's TNEF wrapper (`winmail.dat`, application/ms-tnef): the files and bodies it hides, read by tnefparse.

Outlook in rich-text mode packs a message's attachments into one winmail.dat part, so a PO's PDF sent that way is
reachable only through it. Pure: bytes in, files and bodies out. The rich-text body is not read: Outlook sends the
same text as a text/plain part beside the wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tnefparse

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


@dataclass(frozen=True)
class Unwrapped:
    """What a winmail.dat holds: its attached files (name, bytes) in order, and its plain and HTML bodies."""

    files: list[tuple[str | None, bytes]] = field(default_factory=list)
    text: str = ""
    html: str = ""


def is_tnef(content_type: str, filename: str | None) -> bool:
    """A part is a TNEF wrapper if labelled so or named winmail.dat (some gateways relabel it octet-stream)."""
    return content_type in TNEF_TYPES or (filename or "").lower() == "winmail.dat"


def _text(body: str | bytes | None) -> str:
    # tnefparse decodes MAPI bodies with the message's code page, but a legacy attBody stays bytes (ANSI).
    if isinstance(body, bytes):
        return body.decode("cp1252", errors="replace")
    return (body or "").rstrip("\x00")


def unwrap(data: bytes) -> Unwrapped:
    """The wrapper's files and bodies; ValueError (naming the fault) when it is not a TNEF stream we can read."""
    try:
        # No checksum check: a mismatch is only logged by tnefparse, and a damaged PDF is judged by the PDF reader.
        tnef = tnefparse.TNEF(data, do_checksum=False)
        files = [(attachment.long_filename() or attachment.name or None, bytes(attachment.data))
                 for attachment in tnef.attachments]
        return Unwrapped(files, _text(tnef.body), _text(tnef.htmlbody))
    except Exception as exc:  # any parser failure on hostile bytes is one answer: not readable
        raise ValueError(f"{type(exc).__name__}: {exc}"[:200]) from exc
