"""The intake pipeline: claim a logged email, read it, store and analyse its PDFs, record review items.

Both doors call `schedule` after the raw message is durable; the hot tier calls `process_email` for
anything left behind ('received' too long, 'failed' with attempts left, 'processing' past its lease).
A claim is a conditional UPDATE, so a background task and the cron tier never process one email twice. The
last attempt, if it fails too, puts the email in the review queue (`given_up`): nobody reads the log. An attempt
that failed on our own bucket or database (down, timing out, 5xx, refusing our credentials) is given back: an
outage is not the message's fault, and the email is read once they answer again (SPEC 5). Past OUTAGE_GRACE it
counts again unless the part that failed still does not answer, so a failure only this message causes still
reaches a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from worker.db import DatabaseUnavailable
from worker.env import Env, iso, parse_iso
from worker.intake.analyze import Analysis, EmailText, analyze_orders, read_text
from worker.intake.given_up import give_up
from worker.intake.isolated import read_mail_bounded
from worker.intake.mime import Body, ParsedMail
from worker.intake.record import CLAIM_LOST, AnalysedPdf, Context, record_email
from worker.names import email_domain
from worker.pricing import standard_program
from worker.storage import StorageUnavailable, content_key

log = logging.getLogger("worker.intake")

MAX_ATTEMPTS = 5
PROCESSING_LEASE = timedelta(minutes=5)  # a claim older than this is considered abandoned (crash, restart)
# Mail this old has waited a day on our bucket or database: from then on their failures count, unless the failing
# part does not answer a ping (still down), so a 5xx or timeout of this message's own ends in the review queue.
OUTAGE_GRACE = timedelta(hours=24)
OUTAGE_PING_SECONDS = 30.0
# 4xx answers that are not about the message: "later" (408, 429), or our own bucket's credentials or policy
# (401, 403), which refuse every message alike until someone fixes them (a ping then fails too: still down).
NOT_THE_MESSAGE = frozenset({401, 403, 408, 429})
EMAIL_TIMEOUT_SECONDS = 240.0  # belt and braces above the per-PDF limits
# No PDF is started after this long: each one may take its extraction limit, that limit again for its layout
# parse, or a Claude call (90 s), and the email must be recorded well inside EMAIL_TIMEOUT_SECONDS, else every
# attempt times out and even its good PDFs never reach the queue.
READING_BUDGET_SECONDS = 120.0
MAX_PDFS_PER_EMAIL = 25
CONCURRENT_EMAILS = 2
# PDFs past the limit are stored and queued unread: nothing accepted is dropped (SPEC 9), and the parts limit
# of the MIME reader bounds how many there can be.
OVER_LIMIT = Analysis(None, f"not examined: over the limit of {MAX_PDFS_PER_EMAIL} PDFs read per email; open it and "
                            "enter it by hand", "none")
OUT_OF_TIME = Analysis(None, "not examined: the email's other PDFs took the time allowed for reading them; open it "
                             "and enter it by hand", "none")

CLAIM = """
UPDATE inbound_email_log SET status = 'processing', attempts = attempts + 1, claimed_at = :now
WHERE id = :id AND (status IN ('received', 'failed') OR (status = 'processing' AND claimed_at < :stale))
  AND attempts < :max_attempts
RETURNING raw_key, attempts, received_at
"""
FAIL = "UPDATE inbound_email_log SET status = 'failed', reason = ? WHERE id = ? AND status = 'processing' AND attempts = ?"
# The attempt is given back: the hot tier retries after its backoff, as often as the outage lasts.
FAIL_UNCOUNTED = """
UPDATE inbound_email_log SET status = 'failed', reason = ?, attempts = attempts - 1
WHERE id = ? AND status = 'processing' AND attempts = ?
"""


def _claim(conn: sqlite3.Connection, email_id: int,
           clock: Callable[[], datetime]) -> tuple[str | None, int, str] | None:
    # The time is read inside the write: a claim that waited in the writer's queue must not start its lease early.
    now = clock()
    row = conn.execute(CLAIM, {"id": email_id, "now": iso(now), "stale": iso(now - PROCESSING_LEASE),
                               "max_attempts": MAX_ATTEMPTS}).fetchone()
    return (row[0], int(row[1]), str(row[2])) if row else None


def failure_reason(error: str, attempts: int) -> str:
    """The log's reason for a failed attempt; says when we have given up."""
    if attempts >= MAX_ATTEMPTS:
        return f"gave up after {attempts} attempts: {error}"[:1000]
    return f"attempt {attempts} of {MAX_ATTEMPTS} failed (retried by the hot tier): {error}"[:1000]


def uncounted_reason(error: str, attempts: int) -> str:
    """The log's reason for an attempt given back because our bucket or database failed it."""
    return (f"outage, attempt not counted ({attempts - 1} of {MAX_ATTEMPTS} used; retried by the hot tier until our "
            f"bucket and database answer): {error}")[:1000]


def infrastructure_failure(exc: BaseException) -> bool:
    """Whether an attempt failed on our own bucket or database rather than on the message. Another 4xx refusal
    (an object too large) would meet every retry again: that one counts, and ends in the review queue."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if not isinstance(exc, StorageUnavailable):
        return False
    return exc.status is None or exc.status >= 500 or exc.status in NOT_THE_MESSAGE


async def _still_down(env: Env, exc: BaseException) -> bool:
    """Whether the part that failed the attempt does not answer a ping now."""
    try:
        await asyncio.wait_for(env.db.ping() if isinstance(exc, DatabaseUnavailable) else env.bucket.ping(),
                               OUTAGE_PING_SECONDS)
    except Exception:  # noqa: BLE001 - any failure to answer (refused, missing bucket, timeout) is "down"
        return True
    return False


async def _uncounted(env: Env, exc: BaseException, received_at: str) -> bool:
    if not infrastructure_failure(exc):
        return False
    received = parse_iso(received_at)
    if received is not None and env.clock() - received < OUTAGE_GRACE:
        return True
    return await _still_down(env, exc)


def context(env: Env, received_at: str | None = None) -> Context:
    """The settings a recording transaction needs, as of now; `today` is the company day the email arrived when
    known: an attempt retried days later (a Claude outage) judges the PO's dates against its arrival, not the retry."""
    terms = standard_program(env.settings)
    now = env.clock()
    arrived = parse_iso(received_at) if received_at else None
    return Context(standard=terms, tolerance_pct=env.settings.pricing.tolerance_pct,
                   own_domains=frozenset(email_domain(r) for r in env.settings.email.routes),
                   today=(arrived or now).astimezone(env.settings.timezone).date(), now=iso(now))


async def _raw(env: Env, raw_key: str | None, source: Path | bytes | None) -> Path | bytes:
    if isinstance(source, bytes) or (isinstance(source, Path) and source.exists()):
        return source  # a file is parsed in chunks: a 25 MB message is never held twice
    if raw_key is None:
        raise RuntimeError("the raw message is not in the bucket yet")
    return await env.bucket.get(raw_key)


def _read(raw: Path | bytes, spill_dir: Path, read: list[ParsedMail]) -> tuple[ParsedMail, EmailText]:
    """Parse the message and do its text work (in a thread: none of it may hold the loop or the write lock)."""
    mail = read_mail_bounded(raw, spill_dir)
    # For the review item if this attempt fails for good: the mail with its bodies as the text read here (none
    # until then), so that the give-up write never converts HTML or reads bodies again.
    read.append(dataclasses.replace(mail, bodies=[]))
    text = read_text(mail)
    read[-1] = dataclasses.replace(mail, bodies=[Body(text.text)])
    return mail, text


async def _process(env: Env, email_id: int, raw_key: str | None, source: Path | bytes | None, attempts: int,
                   received_at: str, read: list[ParsedMail]) -> str:
    raw = await _raw(env, raw_key, source)
    mail, text = await asyncio.to_thread(_read, raw, env.settings.state_dir / "incoming", read)
    ctx = context(env, received_at)
    pdfs = []
    reading_ends = time.monotonic() + READING_BUDGET_SECONDS
    for n, part in enumerate(mail.pdfs):
        key = await env.bucket.put(content_key("pdf", part.data, ".pdf"), part.data, "application/pdf")
        if n >= MAX_PDFS_PER_EMAIL:
            analyses = [OVER_LIMIT]
        elif time.monotonic() >= reading_ends:
            analyses = [OUT_OF_TIME]
        else:
            # Claude overloaded or unreachable: fail this attempt (retried), except the last, which queues the PDF.
            analyses = await analyze_orders(env, part.data, ctx.today, retry_later=attempts < MAX_ATTEMPTS)
        pdfs.append(AnalysedPdf(part, key, tuple(analyses)))
    status, items = await env.db.write(record_email, email_id, attempts, mail, pdfs, text, ctx)
    if status == CLAIM_LOST:  # given up on, or claimed again, while this attempt ran: that one owns the email
        log.warning("inbound mail claim lost before recording", extra={"email_id": email_id, "attempt": attempts})
    else:
        log.info("inbound mail processed", extra={"email_id": email_id, "status": status, "review_items": items})
    return status


async def process_email(env: Env, email_id: int, source: Path | bytes | None = None) -> str:
    """Process one logged email if it can be claimed; returns its new status ('skipped' if not claimable, or if
    its claim was lost before the attempt could record it; 'outage' when our bucket or database failed the attempt,
    which is then not counted: the row is 'failed' and retried)."""
    claimed = await env.db.write(_claim, email_id, env.clock)
    if claimed is None:
        return "skipped"
    raw_key, attempts, received_at = claimed
    read: list[ParsedMail] = []
    try:
        return await asyncio.wait_for(_process(env, email_id, raw_key, source, attempts, received_at, read),
                                      EMAIL_TIMEOUT_SECONDS)
    except Exception as exc:  # recorded with the reason; the hot tier retries (bounded by MAX_ATTEMPTS)
        error = "processing timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        if await _uncounted(env, exc, received_at):
            log.warning("inbound mail processing met an outage of our bucket or database; attempt not counted",
                        extra={"email_id": email_id, "error": error})
            with contextlib.suppress(Exception):  # if even this write fails, the lease expiry brings it back
                await env.db.write(lambda c: c.execute(FAIL_UNCOUNTED, (uncounted_reason(error, attempts), email_id,
                                                                        attempts)))
            return "outage"
        log.warning("inbound mail processing failed", extra={"email_id": email_id, "error": error})
        with contextlib.suppress(Exception):  # if even this write fails, the lease expiry brings it back
            if attempts >= MAX_ATTEMPTS:  # failed for good: a person must see it in the queue, not only in the log
                await env.db.write(give_up, email_id, failure_reason(error, attempts), read[0] if read else None,
                                   context(env, received_at))
            else:
                await env.db.write(lambda c: c.execute(FAIL, (failure_reason(error, attempts), email_id, attempts)))
        return "failed"


def schedule(env: Env, email_id: int, source: Path | bytes | None = None) -> None:
    """Process an email in the background after the door has replied; owns (and deletes) a `source` file.

    Without a source the message is read back from the bucket: never pass its bytes, which the task would hold
    while it waits for a slot (the SMTP door did: 20 queued 15 MB messages held 300 MB)."""
    tasks: set[asyncio.Task[None]] = env.extras.setdefault("intake_tasks", set())  # type: ignore[assignment]
    slots: asyncio.Semaphore = env.extras.setdefault("intake_slots", asyncio.Semaphore(CONCURRENT_EMAILS))  # type: ignore[assignment]

    async def run() -> None:
        try:
            async with slots:
                await process_email(env, email_id, source)
        except Exception:  # never let a background failure vanish silently; the row says 'processing'/'failed'
            log.exception("background intake crashed", extra={"email_id": email_id})
        finally:
            if isinstance(source, Path):
                source.unlink(missing_ok=True)

    task = asyncio.create_task(run(), name=f"intake-{email_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def drain(env: Env, timeout: float | None = None) -> None:
    """Wait for background processing to finish (tests, benchmarks and shutdown)."""
    tasks = list(env.extras.get("intake_tasks", ()))  # type: ignore[call-overload]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


async def shutdown(env: Env, timeout: float = 10) -> None:
    """Let running work finish briefly, cancel the rest (the hot tier retries it), stop the extractor."""
    await drain(env, timeout)
    for task in list(env.extras.get("intake_tasks", ())):  # type: ignore[call-overload]
        task.cancel()
    extractor = env.extras.pop("pdf_extractor", None)
    if extractor is not None:
        await asyncio.to_thread(extractor.close)  # type: ignore[attr-defined]
