"""Big messages are parsed in a short-lived child process, so the server never holds their parse tree.

The stdlib parser keeps every line of a part as its own string before joining them: a 25 MB message
peaks at about 5x its size. Small messages (most orders) are parsed in-process, which is fast; above
IN_PROCESS_MAX_BYTES a spawned child with an address-space cap and a timeout does it and sends back
only what the pipeline needs (headers, bodies, PDF bytes). A child that times out or dies becomes a
'malformed MIME' problem with the reason, never an exception or a hung worker.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
from pathlib import Path
from typing import Any

from worker.intake.mime import ParsedMail, read_headers, read_mail

IN_PROCESS_MAX_BYTES = 2_000_000
PARSE_TIMEOUT_SECONDS = 60.0
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


def read_mail_bounded(source: Path | bytes, spill_dir: Path) -> ParsedMail:
    """Parse in-process when small, in a child when big (bytes are spilled to a temp file first)."""
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size <= IN_PROCESS_MAX_BYTES:
        return read_mail(source)
    if isinstance(source, Path):
        return read_mail_in_child(source)
    spill_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="parse-", suffix=".eml", dir=spill_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(source)
        return read_mail_in_child(Path(name))
    finally:
        Path(name).unlink(missing_ok=True)
