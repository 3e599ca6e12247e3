"""`worker backfill FILE.jsonl`: CDC events from an export through the webhook's own apply code.

Events go in large transactions (batch_size per commit); receipts make a re-run harmless, so an
interrupted backfill is resumed by running it again. A line that is not JSON, or an event that fails
validation, is kept in dead_letters with its line number in the reason and the rest goes on.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from worker.cdc.apply import BatchResult, apply_batch
from worker.cdc.intake import Rejected, read_json, validate_events
from worker.db import connect, run_in_transaction
from worker.deadletters import store_dead_letter
from worker.env import iso, utcnow
from worker.migrations import apply_schema

Item = tuple[int, str, Any, str | None]  # (position, label, raw event or line text, error for unreadable lines)


def _apply_chunk(conn: sqlite3.Connection, chunk: list[Item], source: str) -> BatchResult:
    received_at = iso(utcnow())
    readable = [at for at, item in enumerate(chunk) if item[3] is None]
    accepted, invalid = validate_events([chunk[at][2] for at in readable], batch=False)
    rejected: dict[int, Rejected] = {}  # by position in the chunk, so letters keep the file's order
    for rej in invalid:
        number, label = chunk[readable[rej.index]][:2]
        rejected[readable[rej.index]] = replace(rej, index=number, reason=f"{label}: {rej.reason}")
    for at, (number, label, raw, error) in enumerate(chunk):
        if error is not None:
            rejected[at] = Rejected(number, None, f"{label}: {error}", raw)
    result = apply_batch(conn, accepted, [], source=source, received_at=received_at)
    for at in sorted(rejected):  # kept with the line number; the payload is the line (or event) as read
        store_dead_letter(conn, source, rejected[at].reason, rejected[at].payload, received_at)
        result.rejected.append(rejected[at])
    return result


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


def _run(db_path: Path, items: Iterable[Item], *, source: str, progress: bool, batch_size: int,
         total: float | None = None, unit: str = "events") -> dict[str, Any]:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(db_path)
    totals = BatchResult()
    batches = 0
    try:
        apply_schema(conn)
        with _progress(progress, unit) as bar, _collector_paused():
            task = bar.add_task("backfill", total=total, counts="") if bar else None
            for chunk in _chunks(items, batch_size):
                totals.add(run_in_transaction(conn, _apply_chunk, chunk, source))
                batches += 1
                if bar is not None:  # an item's number is its position: events so far, or bytes read
                    bar.update(task, completed=chunk[-1][0],
                               counts=" ".join(f"{k} {v}" for k, v in totals.counts().items()))
    finally:
        conn.close()
    return {**totals.counts(), "batches": batches, "rejected_reasons": [r.reason for r in totals.rejected][:50]}


def backfill_events(db_path: Path, events: Iterable[dict[str, Any]], *, source: str = "backfill",
                    progress: bool = True, batch_size: int = 5000) -> dict[str, Any]:
    """Apply webhook-format events (dicts) in transactions of batch_size; returns the counts."""
    items = ((n, f"event {n}", raw, None) for n, raw in enumerate(events, start=1))
    return _run(Path(db_path), items, source=source, progress=progress, batch_size=batch_size)


def _lines(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    # The position is the byte offset after the line, so the bar shows bytes of the file done.
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            offset += len(line)
            text = line.strip()
            if not text:
                continue
            try:
                yield offset, f"line {number}", read_json(text), None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield offset, f"line {number}", text.decode("utf-8", "replace"), f"not a JSON event: {exc}"


def backfill_file(db_path: Path, path: Path, *, source: str = "backfill", progress: bool = True,
                  batch_size: int = 5000) -> dict[str, Any]:
    """Apply a JSON-lines export (one event per line) with a progress bar in bytes; returns the counts."""
    return _run(Path(db_path), _lines(Path(path)), source=source, progress=progress, batch_size=batch_size,
                total=Path(path).stat().st_size, unit="bytes")
