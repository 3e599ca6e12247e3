"""Group commit for webhook batches: concurrent requests share one write transaction (one fsync).

Each request still waits for the commit that contains its batch before it replies, so "2xx means
durable" holds. Every batch runs under its own SAVEPOINT: a batch that fails unexpectedly is rolled
back and answered with its error while the others in the group still commit. Under no concurrency a
group is a single batch, so nothing waits for company.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from typing import Any

from worker.cdc.apply import BatchResult, apply_batch
from worker.cdc.intake import Accepted, Rejected
from worker.db import Database

MAX_GROUP = 32  # batches per transaction: bounds the latency a batch can wait for its group


@dataclass
class _Batch:
    accepted: list[Accepted]
    rejected: list[Rejected]
    received_at: str
    future: asyncio.Future[BatchResult]


def apply_group(conn: sqlite3.Connection, batches: list[tuple[list[Accepted], list[Rejected], str]],
                source: str, dead_letter_source: str | None) -> list[BatchResult | Exception]:
    """Apply several batches in the caller's transaction, each isolated by a savepoint."""
    results: list[BatchResult | Exception] = []
    for accepted, rejected, received_at in batches:
        conn.execute("SAVEPOINT cdc_batch")
        try:
            results.append(apply_batch(conn, accepted, rejected, source=source, received_at=received_at,
                                       dead_letter_source=dead_letter_source))
        except sqlite3.OperationalError:
            raise  # disk full, I/O error...: the whole transaction fails and every request gets 503
        except Exception as exc:  # noqa: BLE001 (this batch's own failure; the group goes on without it)
            conn.execute("ROLLBACK TO cdc_batch")
            results.append(exc)
        conn.execute("RELEASE cdc_batch")
    return results


class GroupCommitter:
    """Coalesces batches that arrive while a write is in flight into the next transaction."""

    def __init__(self, db: Database, *, source: str, dead_letter_source: str | None) -> None:
        self.db = db
        self.source = source
        self.dead_letter_source = dead_letter_source
        self._pending: list[_Batch] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, accepted: list[Accepted], rejected: list[Rejected], received_at: str) -> BatchResult:
        """Apply one batch; returns once the transaction holding it has committed."""
        future: asyncio.Future[BatchResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Batch(accepted, rejected, received_at, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # shield: a client that hangs up must not cancel the write other requests share.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._pending:
            group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            try:
                results = await self.db.write(apply_group, [(b.accepted, b.rejected, b.received_at) for b in group],
                                              self.source, self.dead_letter_source)
            except BaseException as exc:  # nothing committed: every batch of the group fails the same way
                for batch in group:
                    if not batch.future.done():
                        batch.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for batch, result in zip(group, results, strict=True):
                if batch.future.done():
                    continue
                if isinstance(result, Exception):
                    batch.future.set_exception(result)
                else:
                    batch.future.set_result(result)


def committer_for(env: Any, *, source: str, dead_letter_source: str | None) -> GroupCommitter:
    """The env's committer for this source (created on first use, inside the serving loop)."""
    key = f"cdc_committer:{source}"
    if key not in env.extras:
        env.extras[key] = GroupCommitter(env.db, source=source, dead_letter_source=dead_letter_source)
    return env.extras[key]  # type: ignore[no-any-return]
