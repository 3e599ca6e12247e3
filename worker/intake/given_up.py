"""An email the pipeline gives up on still reaches the review queue: 'failed' for good is never only a log row.

Nobody reads inbound_email_log; reviewers work the queue. So when the last attempt fails (or the claims of every
attempt expired: a crash each time), the email becomes one needs_manual review item without attachment, with the
reason, the sender and its customer match, the text if the last attempt read it, and the original email a click
away on the order page. The text item's partial unique index (one item without attachment per email) makes it
idempotent. Machine mail without a PDF that the last attempt recognised stays not queued, as when processing
succeeds (a purchasing system's PO arrives as auto-generated mail with a PDF: that is queued). Emails given up on
before give-ups were queued (failed for good, no review item, not left out as machine mail) are queued by the same
hot-tier job, a batch at a time.
"""

from __future__ import annotations

import sqlite3

from worker.intake.customers import match_customer
from worker.intake.mime import ParsedMail
from worker.intake.problems import noted
from worker.intake.record import (
    EMAIL_TEXT_CHARS,
    Context,
    insert_item,
    manual_row,
    senders_of,
    text_row,
)

GAVE_UP_REASON = "{failure}; open the original email and enter any order by hand, or reject"
PROCESSING = "SELECT sender FROM inbound_email_log WHERE id = ? AND status = 'processing'"
FAIL = "UPDATE inbound_email_log SET status = 'failed', reason = ?, customer_id = ? WHERE id = ?"
STALLED = """
SELECT id, attempts FROM inbound_email_log
WHERE status = 'processing' AND claimed_at < :stale AND attempts >= :max_attempts
ORDER BY id LIMIT :batch
"""
# Failed for good by a release that did not queue give-ups: no review item, and neither note a give-up now writes.
GIVEN_UP_UNQUEUED = """
SELECT id, sender, reason FROM inbound_email_log AS log
WHERE status = 'failed' AND attempts >= :max_attempts
  AND coalesce(reason, '') NOT LIKE '%' || :queued AND coalesce(reason, '') NOT LIKE '%' || :not_queued
  AND NOT EXISTS (SELECT 1 FROM review_items WHERE email_id = log.id)
ORDER BY id LIMIT :batch
"""
QUEUED_NOTE = "; the email is on a review item"
NOT_QUEUED_NOTE = ", not queued"
STALLED_FAILURE = "gave up after {attempts} attempts: processing never finished (worker crash or restart)"


def give_up(conn: sqlite3.Connection, email_id: int, failure: str, mail: ParsedMail | None,
            ctx: Context) -> int | None:
    """Mark a claimed email failed for good and queue it for a person; the review item's id (None if not queued)."""
    found = conn.execute(PROCESSING, (email_id,)).fetchone()
    if found is None:
        return None  # finished meanwhile (a claim that expired while its attempt still ran)
    return _queue(conn, email_id, found[0], failure, mail, ctx)


def _queue(conn: sqlite3.Connection, email_id: int, sender: str | None, failure: str, mail: ParsedMail | None,
           ctx: Context) -> int | None:
    customer = match_customer(conn, senders_of(sender, mail), None, ctx.own_domains)
    if mail is not None and mail.auto_generated and not mail.pdfs:  # as on success: its PDFs are queued all the same
        conn.execute(FAIL, (noted(failure, f"; {mail.auto_generated}{NOT_QUEUED_NOTE}"), customer.customer_id, email_id))
        return None
    text = mail.body_text(EMAIL_TEXT_CHARS) if mail else ""
    row = text_row(email_id, sender, text, ctx.now)
    item = insert_item(conn, email_id, manual_row(conn, row, GAVE_UP_REASON.format(failure=failure), customer))
    conn.execute(FAIL, (noted(failure, QUEUED_NOTE), customer.customer_id, email_id))
    return item


def give_up_stalled(conn: sqlite3.Connection, stale: str, max_attempts: int, ctx: Context, batch: int) -> int:
    """Give up on claims that expired on the last attempt (the worker died each time), at most `batch` of them
    (one write transaction, kept short; the next tick takes the rest); how many there were."""
    rows = conn.execute(STALLED, {"stale": stale, "max_attempts": max_attempts, "batch": batch}).fetchall()
    for email_id, attempts in rows:
        give_up(conn, email_id, STALLED_FAILURE.format(attempts=attempts), None, ctx)
    return len(rows)


def queue_given_up(conn: sqlite3.Connection, max_attempts: int, ctx: Context, batch: int) -> int:
    """Queue emails an earlier release gave up on in the log only, at most `batch` of them (the next tick takes
    the rest); how many. Their reason ("gave up after 5 attempts: ...") is the item's; they were not read again."""
    params = {"max_attempts": max_attempts, "queued": QUEUED_NOTE, "not_queued": NOT_QUEUED_NOTE, "batch": batch}
    rows = conn.execute(GIVEN_UP_UNQUEUED, params).fetchall()
    for email_id, sender, reason in rows:
        _queue(conn, email_id, sender, reason or f"gave up after {max_attempts} attempts", None, ctx)
    return len(rows)
