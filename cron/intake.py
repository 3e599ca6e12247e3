"""Hot-tier intake jobs: upload spooled mail, retry mail whose processing failed, stalled or never started."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from worker.env import Env, iso
from worker.intake.given_up import give_up_stalled, queue_given_up
from worker.intake.pipeline import (
    MAX_ATTEMPTS,
    PROCESSING_LEASE,
    context,
    process_email,
)
from worker.intake.store import flush_spool, incoming_dir, spool_dir

BATCH = 20  # per tick: the hot tier runs every minute and must stay short
NOT_STARTED_AFTER = timedelta(minutes=2)  # a 'received' row this old lost its background task (restart, crash)
TEMP_MAX_AGE_SECONDS = 3600  # temp files of requests that died mid-upload, of spool writes that died mid-write

DUE = """
SELECT id FROM inbound_email_log
WHERE (status = 'received' AND received_at < :not_started)
   OR (status = 'failed' AND attempts < :max_attempts AND claimed_at < :backoff)
   OR (status = 'processing' AND claimed_at < :stale AND attempts < :max_attempts)
ORDER BY id LIMIT :batch
"""


def _sweep(directory: Path, pattern: str) -> int:
    # Nothing references these temp files (no log row was written for them): remove them once they are old.
    cutoff, removed = time.time() - TEMP_MAX_AGE_SECONDS, 0
    for path in directory.glob(pattern) if directory.is_dir() else []:
        with contextlib.suppress(FileNotFoundError):  # a request or another sweep finished with it meanwhile
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


async def upload_spooled_mail(env: Env, as_of: datetime) -> dict[str, Any]:
    """Upload mail spooled while the bucket was down, then process it."""
    ready, counts = await flush_spool(env)
    statuses = [await process_email(env, email_id) for email_id in ready]
    # Requests that died mid-upload leave mail-*.eml in incoming/, and a process killed while a child parsed a big
    # message leaves its copy, parse-*.eml (worker/intake/isolated.py); spool writes that died (a crash, a full
    # disk before write_spool cleaned up after itself) leave .*.tmp, which would keep a full disk full.
    incoming = sum(_sweep(incoming_dir(env), pattern) for pattern in ("mail-*.eml", "parse-*.eml"))
    return {**counts, "processed": len(statuses), "failed": statuses.count("failed"), "outage": statuses.count("outage"),
            "incoming_swept": incoming, "spool_swept": _sweep(spool_dir(env), ".*.tmp")}


async def retry_failed_intake(env: Env, as_of: datetime) -> dict[str, Any]:
    """Process mail left 'received', 'failed' (attempts left, with backoff) or stuck in 'processing'."""
    now = env.clock()
    params = {"not_started": iso(now - NOT_STARTED_AFTER), "stale": iso(now - PROCESSING_LEASE),
              "backoff": iso(now - timedelta(minutes=1)), "max_attempts": MAX_ATTEMPTS, "batch": BATCH}
    # Failed for good, and queued for a person: the review queue is what people read, not the log.
    gave_up = await env.db.write(give_up_stalled, params["stale"], MAX_ATTEMPTS, context(env), BATCH)
    # Given up on by a release that left them in the log only: queued now, a batch per tick like the above.
    queued_late = await env.db.write(queue_given_up, MAX_ATTEMPTS, context(env), BATCH)
    rows = await env.db.fetchall(DUE, params)
    statuses: list[str] = []
    for row in rows:
        statuses.append(await process_email(env, row[0]))
        if statuses[-1] == "outage":  # our bucket or database is down: the rest would wait on it too, uncounted
            break
    return {"retried": len(statuses), "failed": statuses.count("failed"), "outage": statuses.count("outage"),
            "gave_up_stalled": gave_up,
            "queued_given_up": queued_late,
            **{s: statuses.count(s) for s in ("processed", "needs_manual") if s in statuses}}
