"""Big messages are parsed in a short-lived child process, so the server never holds their parse tree.

The stdlib parser keeps every line of a part as its own string before joining them: a 25 MB message
peaks at about 5x its size. Small messages (most orders) are parsed in-process, which is fast; above
IN_PROCESS_MAX_BYTES a spawned child with an address-space cap and a timeout does it and sends back
only what the pipeline needs (headers, bodies, PDF bytes). A child that times out or dies becomes a
'malformed MIME' problem with the reason, never an exception or a hung worker.

Size alone does not bound the parse: the stdlib checks every line against every open multipart boundary, so a
1.99 MB message of 450 nested multiparts took 128 s of a core in-process (holding an intake slot, and the
event loop through the GIL). `isolation_reason` scans the raw bytes for what makes a parse slow (its lines times
the boundaries they are checked against; multiparts read again with a guessed boundary; forwards decoded and
parsed again; an encoded-word content type) and sends such a small message to the child too: read, not refused.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from worker.intake.boundary import MAX_GUESSED
from worker.intake.mime import ParsedMail, read_headers, read_mail

log = logging.getLogger("worker.intake")
IN_PROCESS_MAX_BYTES = 2_000_000
PARSE_TIMEOUT_SECONDS = 60.0
# A small message sent to the child for its structure: a real one parses in a second or two even so.
SMALL_PARSE_TIMEOUT_SECONDS = 20.0
# Line ends x (boundaries + 1) x (parses: 1 + multiparts read again with a guessed boundary), the estimate below.
# The costliest shape measured, 1.3 million line ends each read in 2 parses (2.7 million), took 0.8-1.8 s; in 4
# parses (5.3 million) 1.6-3 s, so that one goes to the child. An ordinary 2 MB message with a PDF scores 0.2 million.
IN_PROCESS_MAX_WORK = 3_000_000
# A forward sent base64 or uuencoded is decoded and parsed again (worker.intake.forwards): its structure cannot be
# seen in the raw bytes, and its parse can cost the square of its size, so past this size it goes to the child.
FORWARD_IN_PROCESS_MAX_BYTES = 32_000
_FORWARD = re.compile(rb"message/(?:rfc822|global)")
# A Content-Type whose type (before its first ";", across folded lines) holds an encoded-word: the stdlib decodes
# it ("=?us-ascii?q?multipart?=/mixed" is multipart/mixed), so the literal counts below would miss it. Line ends
# are CR, LF or CRLF, as the stdlib splits them. Not anchored at a line start: anchors made the scan 50x slower.
_ENCODED_TYPE = re.compile(rb"content-type:(?:[^;\r\n]|(?:\r\n|\r|\n)[ \t])*?=\?")
PARSE_MEMORY_BYTES = 2 << 30  # parse trees of a 25 MB message stay well under this


def _child(conn: Any, path: str, memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        reply: tuple[str, object] = ("ok", read_mail(Path(path)))
    except BaseException as exc:  # MemoryError and friends: reported to the parent, which decides
        reply = ("error", f"{type(exc).__name__}: {exc}"[:300])
    conn.send(reply)
    conn.close()


def _failed(path: Path, reason: str) -> ParsedMail:
    mail = read_headers(path)
    mail.problems.append(f"malformed MIME: {reason}")
    return mail


def read_mail_in_child(path: Path, timeout: float = PARSE_TIMEOUT_SECONDS,
                       memory_bytes: int = PARSE_MEMORY_BYTES) -> ParsedMail:
    """read_mail(path) in a spawned child with limits (blocking: call it from a thread)."""
    ctx = mp.get_context("spawn")  # never fork a threaded server
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(sender, str(path), memory_bytes), daemon=True, name="mail-parse")
    proc.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return _failed(path, f"parsing timed out after {timeout:g}s")
        status, payload = receiver.recv()
    except (EOFError, OSError):
        proc.join(1)
        return _failed(path, f"parser process died (exit code {proc.exitcode})")
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    return payload if status == "ok" else _failed(path, str(payload))  # type: ignore[return-value]


def isolation_reason(raw: bytes) -> str | None:
    """Why a small message's parse could be slow, from its raw bytes (upper bounds, ~10 ms for 2 MB); None if not.

    Every count is of what the stdlib needs literally: a boundary parameter is named "boundary" (any case, maybe
    "boundary*0"), and a multipart or forward type is spelled out unless it is an encoded-word (caught first)."""
    low = raw.lower()
    if _ENCODED_TYPE.search(low):
        return "an encoded-word in a Content-Type"
    if len(raw) > FORWARD_IN_PROCESS_MAX_BYTES and _FORWARD.search(low):
        return "a forwarded message that may be decoded and parsed again"
    lines = raw.count(b"\n") + raw.count(b"\r")
    boundaries, multiparts = low.count(b"boundary"), low.count(b"multipart")
    if lines * (1 + boundaries) * (1 + min(multiparts, MAX_GUESSED)) > IN_PROCESS_MAX_WORK:
        return f"{boundaries} boundaries and {multiparts} multiparts over {lines} line ends"
    return None


def _in_child(source: Path | bytes, spill_dir: Path, **limits: float) -> ParsedMail:
    if isinstance(source, Path):
        return read_mail_in_child(source, **limits)
    spill_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="parse-", suffix=".eml", dir=spill_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(source)
        return read_mail_in_child(Path(name), **limits)
    finally:
        Path(name).unlink(missing_ok=True)


def read_mail_bounded(source: Path | bytes, spill_dir: Path) -> ParsedMail:
    """Parse in-process when small and simple, in a child when big or slow to parse (bytes are spilled to a temp
    file first)."""
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size > IN_PROCESS_MAX_BYTES:
        return _in_child(source, spill_dir)
    raw = source.read_bytes() if isinstance(source, Path) else source
    if (reason := isolation_reason(raw)) is None:
        return read_mail(raw)
    log.info("small message parsed in a child", extra={"bytes": size, "why": reason})
    return _in_child(source, spill_dir, timeout=SMALL_PARSE_TIMEOUT_SECONDS)
