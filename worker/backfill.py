"""`worker backfill FILE.jsonl`: CDC events from an export through the webhook's own apply code.

Events go in large transactions (batch_size per commit); receipts make a re-run harmless, so an
interrupted backfill is resumed by running it again. A line that is not JSON, an event that fails
validation and one the database refuses are each kept in dead_letters with the line's number in the reason
and the line as read (see _lines) as the payload, and the rest goes on.

A file of more than a few megabytes is read by two processes: a reader parses, validates and prepares
each chunk (cdc/prepare.py: pure work) while this process applies the previous one (the version
checks and every write). The writer stays single; the second core only takes the parsing.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import queue
import signal
import sqlite3
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import replace
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from worker.cdc.apply import BatchResult, RefusedLine, apply_prepared
from worker.cdc.intake import Rejected, event_id_of, read_json, unreadable, validate_events
from worker.cdc.prepare import Prepared, decode_chunk, encode_chunk, prepare
from worker.db import connect, run_in_transaction
from worker.env import iso, parse_iso, utcnow
from worker.migrations import apply_schema

# (position, line or event number, raw event (None when unreadable), the line's bytes (None for an event given
# as a dict), the error of an unreadable line). The bytes go no further than validation: only rejections keep them.
Item = tuple[int, int, Any, bytes | None, str | None]
Origin = tuple[int, int]  # where a chunk's reading began: (byte offset, number of the line there)
# A chunk's prepared events, its rejections, its last position, and its origin (to find a refused event's line).
Ready = tuple[list[Prepared], list[Rejected], int, Origin]
PARALLEL_FROM_BYTES = 4 << 20  # below this a second process costs more than it saves
SLICE = 1000  # events per message from the reader: a transaction of batch_size is applied slice by slice
AHEAD = 8  # slices the reader may have ready beyond the one being applied
UTF8_BOM = b"\xef\xbb\xbf"  # Excel and PowerShell start their UTF-8 exports with one
# Exports that are not JSON lines in UTF-8, told by their first bytes: read line by line, each would be thousands
# of dead letters of binary fragments that no fix can replay (Windows PowerShell 5.1's `>` writes UTF-16).
NOT_JSON_LINES = ((b"\x1f\x8b", "gzip-compressed: decompress it first (gunzip -k FILE)"),
                  (b"PK\x03\x04", "a zip archive: extract the JSON-lines file first"),
                  (b"BZh", "bzip2-compressed: decompress it first (bunzip2 -k FILE)"),
                  (b"\xfd7zXZ\x00", "xz-compressed: decompress it first (unxz -k FILE)"),
                  (b"\x28\xb5\x2f\xfd", "zstd-compressed: decompress it first (unzstd FILE)"),
                  (b"\xff\xfe\x00\x00", "UTF-32 text: save it as UTF-8"),
                  (b"\x00\x00\xfe\xff", "UTF-32 text: save it as UTF-8"),
                  (b"\xff\xfe", "UTF-16 text: save it as UTF-8 (PowerShell: Out-File -Encoding utf8)"),
                  (b"\xfe\xff", "UTF-16 text: save it as UTF-8 (PowerShell: Out-File -Encoding utf8)"))


# Without a byte-order mark (iconv, .NET's Encoding.Unicode without preamble), UTF-16 and UTF-32 are told by where
# the NULs of the first character fall (RFC 4627 section 3): a JSON line starts with an ASCII character ('{', or
# whitespace), and UTF-8 JSON never holds a raw NUL (JSON escapes control characters), so no export is mistaken.
WIDE_TEXT = {"x000": "UTF-32LE", "000x": "UTF-32BE", "x0x0": "UTF-16LE", "0x0x": "UTF-16BE"}


class NotJsonLines(ValueError):
    """The file is not JSON lines in UTF-8 (compressed, an archive, UTF-16): refused before anything is written."""


def not_json_lines(head: bytes) -> str | None:
    """Why a file starting with `head` (its first 4 bytes or more) is no JSON-lines export, or None."""
    if why := next((why for magic, why in NOT_JSON_LINES if head.startswith(magic)), None):
        return why
    if encoding := WIDE_TEXT.get("".join("0" if byte == 0 else "x" for byte in head[:4])):
        return f"{encoding} text without a byte-order mark: save it as UTF-8 (iconv -f {encoding} -t UTF-8)"
    return None


def batch_line(raw: Any) -> str | None:
    """The reason for a webhook batch written on one line (its letter replays as the batch it is), or None."""
    if isinstance(raw, dict) and "event_id" not in raw and isinstance(events := raw.get("events"), list):
        return (f"a batch of {len(events)} events on one line ({{\"events\": [...]}}): a backfill reads one event per "
                "line; `worker replay-dead-letters` applies this letter as the batch it is")
    return None


class BackfillError(RuntimeError):
    """The reading process failed; everything committed before stays, and a re-run resumes."""


def _prepare_chunk(chunk: list[Item], origin: Origin, noun: str = "line") -> Ready:
    """Validate and prepare a chunk (pure); rejections keep the file's order, name their line and keep its bytes.

    An accepted event's index is its place among the chunk's readable items: _line_finder counts the same way.
    """
    readable = [at for at, item in enumerate(chunk) if item[4] is None]
    accepted, invalid = validate_events([chunk[at][2] for at in readable], batch=False)
    rejected: dict[int, Rejected] = {}  # by position in the chunk, so letters keep the file's order
    for rej in invalid:
        position, number, raw, line, _ = chunk[readable[rej.index]]
        # The line itself, not the event as intake re-encodes it (1.50 would become 1.5, 1E2 100.0).
        reason = f"{noun} {number}: {batch_line(raw) or rej.reason}"
        rejected[readable[rej.index]] = replace(rej, index=position, reason=reason,
                                                payload=rej.payload if line is None else line)
    for at, (position, number, _, line, error) in enumerate(chunk):
        if error is not None:
            rejected[at] = Rejected(position, None, f"{noun} {number}: {error}", line or b"")
    return [prepare(acc) for acc in accepted], [rejected[at] for at in sorted(rejected)], chunk[-1][0], origin


def _prepared(chunks: Iterable[list[Item]], noun: str = "line") -> Iterator[Ready]:
    """Each chunk prepared, with its origin: the next chunk's reading begins right after this one's last line."""
    origin = (0, 1)
    for chunk in chunks:
        yield _prepare_chunk(chunk, origin, noun)
        position, number = chunk[-1][:2]
        origin = (position, number + 1)


def _line_finder(path: Path, origin: Origin, end: int) -> RefusedLine:
    """For the dead letter of an event of this chunk that the database refuses: its line's label and bytes.

    Read again from the file, and only when an event is refused, so a good event costs nothing: neither
    process keeps its line, nor does the reader send it through the pipe. None (the letter is then the event
    as applied, unlabelled) if the file is gone or changed meanwhile.
    """
    readable: list[Item] = []

    def line_of(ev: Prepared) -> tuple[str, bytes] | None:
        if not readable:  # once per chunk, however many of its events are refused
            try:
                with path.open("rb") as handle:
                    handle.seek(origin[0])
                    lines = io.BytesIO(handle.read(end - origin[0]))
            except OSError:
                return None
            readable.extend(item for item in _lines(lines, *origin) if item[4] is None)
        if ev.index >= len(readable):
            return None
        _, number, raw, line, _ = readable[ev.index]
        return (f"line {number}", line) if event_id_of(raw) == ev.event_id and line is not None else None

    return line_of


def _apply_batch(conn: sqlite3.Connection, slices: Iterator[Ready], batch_size: int, source: str,
                 path: Path | None, received_at: str) -> tuple[BatchResult, int | None]:
    """Apply slices in the caller's transaction until it holds batch_size items (or the slices end).

    Returns the result and the last slice's position (None when there was no slice left). Applying a
    batch slice by slice writes what one call would: the mirror does not depend on batching.
    """
    result, items, position = BatchResult(), 0, None
    for prepared, rejected, position, origin in slices:
        # Rejections and refused events are kept with their line number; the payload is the line as read.
        result.add(apply_prepared(conn, prepared, rejected, source=source, received_at=received_at,
                                  dead_letter_source=source,
                                  refused_line=None if path is None else _line_finder(path, origin, position)))
        items += len(prepared) + len(rejected)
        if items >= batch_size:
            break
    return result, position


def _received_at(previous: str | None) -> str:
    """A transaction's received_at: now, or just after the previous transaction's when that is not earlier.

    The interruption message counts a backfill's transactions as its distinct received_at (its counters die
    with the interrupted call), and transactions of a few events take less than the millisecond it shows.
    """
    now = utcnow()
    if previous is not None and iso(now) <= previous:
        now = parse_iso(previous) + timedelta(milliseconds=1)  # type: ignore[operator]
    return iso(now)


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress(enabled: bool, unit: str) -> Any:
    if not enabled:
        return nullcontext(None)
    done = (DownloadColumn(), TransferSpeedColumn()) if unit == "bytes" else (MofNCompleteColumn(),)
    return Progress(TextColumn("backfill"), BarColumn(), *done, TimeElapsedColumn(), TextColumn("{task.fields[counts]}"))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cycle collection during the run: a chunk's ~100 live objects per event form no cycles (refcounts
    free them), and the collector's repeated passes over a chunk being built cost ~10% of the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(db_path: Path, slices: Iterable[Ready], *, batch_size: int, source: str, progress: bool,
         total: float | None = None, unit: str = "events", busy_timeout_ms: int = 30000,
         path: Path | None = None) -> dict[str, Any]:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(db_path, busy_timeout_ms=busy_timeout_ms)
    totals = BatchResult()
    batches = 0
    pending = iter(slices)
    try:
        apply_schema(conn)
        with _progress(progress, unit) as bar, _collector_paused():
            task = bar.add_task("backfill", total=total, counts="") if bar else None
            received_at = None
            while True:
                received_at = _received_at(received_at)
                result, position = run_in_transaction(conn, _apply_batch, pending, batch_size, source, path,
                                                      received_at)
                if position is None:
                    break
                totals.add(result)
                batches += 1
                if bar is not None:  # a position counts events so far, or bytes read
                    bar.update(task, completed=position,
                               counts=" ".join(f"{k} {v}" for k, v in totals.counts().items()))
    finally:
        conn.close()
    return {**totals.counts(), "batches": batches, "rejected_reasons": [r.reason for r in totals.rejected][:50]}


def backfill_events(db_path: Path, events: Iterable[dict[str, Any]], *, source: str = "backfill",
                    progress: bool = True, batch_size: int = 5000) -> dict[str, Any]:
    """Apply webhook-format events (dicts) in transactions of batch_size; returns the counts."""
    items = ((n, n, raw, None, None) for n, raw in enumerate(events, start=1))
    return _run(Path(db_path), _prepared(_chunks(items, batch_size), "event"), batch_size=batch_size, source=source,
                progress=progress)


def _lines(lines: IO[bytes], offset: int = 0, first: int = 1) -> Iterator[Item]:
    """A file's lines from byte offset `offset`, where line number `first` begins; blank lines are skipped.

    The position is the byte offset after the line, so the bar shows bytes of the file done. The bytes kept for a
    dead letter (any line: unreadable, invalid or refused) are those the JSON decoder read: the line without its
    line ending (LF or CRLF) and the whitespace around it, and line 1 without a UTF-8 BOM (which a replay would
    refuse); everything between is kept byte for byte, so a replay reads exactly the event the file held.
    """
    for number, line in enumerate(lines, start=first):
        offset += len(line)
        text = line.removeprefix(UTF8_BOM).strip() if number == 1 else line.strip()  # a BOM is the file's first bytes
        if not text:
            continue
        try:
            yield offset, number, read_json(text), text, None
        except ValueError as exc:
            yield offset, number, None, text, f"not a JSON event: the line {unreadable(exc)}"


# Messages from the reader: a tag byte, then a chunk (encode_chunk), an error text, or nothing (done).
_CHUNK, _FAILED, _DONE = b"C", b"E", b"D"


def _read_file(path: Path, batch_size: int, sender: Connection, receiver: Connection) -> None:
    """The reading process: prepare each chunk of the file and send it; the writer decides the rest."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writer's to handle; it stops this process
    # Our copy of the pipe's read end (forked with us) would keep the pipe open after the writer died without
    # stopping us (SIGKILL, SIGTERM, the OOM killer): closed, its death is our BrokenPipeError.
    receiver.close()
    try:
        with _collector_paused(), path.open("rb") as handle:
            # The writer starts on a batch before all of it is ready.
            pieces = (piece for chunk in _chunks(_lines(handle), batch_size) for piece in _chunks(chunk, SLICE))
            for ready in _prepared(pieces):
                sender.send_bytes(_CHUNK + encode_chunk(*ready))
        sender.send_bytes(_DONE)
    except BrokenPipeError:
        pass  # the writer is gone (it failed or was stopped): nothing to tell it
    except BaseException:  # noqa: BLE001 (reported to the writer, which raises it)
        sender.send_bytes(_FAILED + traceback.format_exc().encode())
    finally:
        sender.close()


@contextmanager
def _reader(path: Path, batch_size: int) -> Iterator[Iterator[Ready]]:
    """Start the reading process; yields its prepared chunks in file order, and stops it on the way out."""
    # fork shares the imported modules (spawn re-imports them: ~1 s) but is only safe in a single-threaded process.
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_read_file, args=(path, batch_size, sender, receiver), name="backfill-reader",
                              daemon=True)
    process.start()
    sender.close()

    # A thread drains the pipe into a small queue, so the reader can run a few chunks ahead of the
    # writer instead of waiting at each hand-over (a pipe holds only 64 KiB; a chunk is megabytes). It
    # also decodes them (~4 us an event): the writer's thread spends most of its time inside SQLite,
    # which releases the GIL, so decoding beside it rather than before it made backfills ~10% faster.
    messages: queue.Queue[tuple[bytes, Any]] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def receive() -> tuple[bytes, Any]:
        try:
            message = receiver.recv_bytes()
        except (EOFError, OSError):
            return _FAILED, b""  # the reader is gone without a word: chunks() reports its exit code
        tag = message[:1]
        if tag != _CHUNK:
            return tag, message[1:]
        try:
            return tag, decode_chunk(memoryview(message)[1:])  # a view: a chunk is megabytes, not copied again
        except Exception:  # noqa: BLE001 (reported by chunks(), on the writer's thread)
            return _FAILED, f"a chunk from the reader could not be decoded:\n{traceback.format_exc()}".encode()

    def pump() -> None:
        tag = b""
        while not stop.is_set() and tag not in (_DONE, _FAILED):
            tag, body = receive()
            while not stop.is_set():
                try:
                    messages.put((tag, body), timeout=0.1)
                    break
                except queue.Full:
                    continue

    def chunks() -> Iterator[Ready]:
        while True:
            tag, body = messages.get()
            if tag == _DONE:
                return
            if tag == _FAILED:
                if not body:
                    process.join()
                    raise BackfillError(f"the backfill reader stopped unexpectedly (exit code {process.exitcode})")
                raise BackfillError(f"the backfill reader failed:\n{body.decode()}")
            yield body

    pumping = threading.Thread(target=pump, name="backfill-pump", daemon=True)
    pumping.start()
    try:
        with closing(chunks()) as ready:
            yield ready
    finally:
        stop.set()
        process.join(timeout=0.5)  # done (normal end), or still preparing: then it is stopped below
        if process.is_alive():
            process.terminate()
            process.join()
        receiver.close()
        pumping.join()


def backfill_file(db_path: Path, path: Path, *, source: str = "backfill", progress: bool = True,
                  batch_size: int = 5000, parallel: bool | None = None, busy_timeout_ms: int = 30000) -> dict[str, Any]:
    """Apply a JSON-lines export (one event per line) with a progress bar in bytes; returns the counts.

    parallel: prepare in a second process (default: for files of PARALLEL_FROM_BYTES or more).
    """
    path = Path(path)
    if path.is_file():
        with path.open("rb") as handle:
            if why := not_json_lines(handle.read(8)):
                raise NotJsonLines(f"{path}: {why}; nothing was loaded")
    size = path.stat().st_size
    options: dict[str, Any] = {"batch_size": batch_size, "source": source, "progress": progress, "total": size, "unit": "bytes",
                               "busy_timeout_ms": busy_timeout_ms, "path": path}
    if parallel if parallel is not None else size >= PARALLEL_FROM_BYTES:
        with _reader(path, batch_size) as chunks:  # started before the database and the bar's thread
            return _run(Path(db_path), chunks, **options)
    with path.open("rb") as handle:
        return _run(Path(db_path), _prepared(_chunks(_lines(handle), batch_size)), **options)
