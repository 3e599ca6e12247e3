"""An email the pipeline gives up on still reaches the review queue: 'failed' for good is never only a log row.

Nobody reads inbound_email_log; reviewers work the queue. So when the last attempt fails (or the claims of every
attempt expired: a crash each time), the email becomes one needs_manual review item without attachment, with the
reason, the sender and its customer match, the text if the last attempt read it, and the original email a click
away on the order page. The text item's partial unique index (one item without attachment per email) makes it
idempotent. Machine mail the last attempt recognised stays not queued, as when processing succeeds.
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
STALLED_FAILURE = "gave up after {attempts} attempts: processing never finished (worker crash or restart)"


def give_up(conn: sqlite3.Connection, email_id: int, failure: str, mail: ParsedMail | None,
            ctx: Context) -> int | None:
    """Mark a claimed email failed for good and queue it for a person; the review item's id (None if not queued)."""
    found = conn.execute(PROCESSING, (email_id,)).fetchone()
    if found is None:
        return None  # finished meanwhile (a claim that expired while its attempt still ran)
    sender = found[0]
    customer = match_customer(conn, senders_of(sender, mail), None, ctx.own_domains)
    if mail is not None and mail.auto_generated:
        conn.execute(FAIL, (noted(failure, f"; {mail.auto_generated}, not queued"), customer.customer_id, email_id))
        return None
    text = mail.body_text(EMAIL_TEXT_CHARS) if mail else ""
    row = text_row(email_id, sender, text, ctx.now)
    item = insert_item(conn, email_id, manual_row(conn, row, GAVE_UP_REASON.format(failure=failure), customer))
    conn.execute(FAIL, (noted(failure, "; the email is on a review item"), customer.customer_id, email_id))
    return item


def give_up_stalled(conn: sqlite3.Connection, stale: str, max_attempts: int, ctx: Context, batch: int) -> int:
    """Give up on claims that expired on the last attempt (the worker died each time), at most `batch` of them
    (one write transaction, kept short; the next tick takes the rest); how many there were."""
    rows = conn.execute(STALLED, {"stale": stale, "max_attempts": max_attempts, "batch": batch}).fetchall()
    for email_id, attempts in rows:
        give_up(conn, email_id, STALLED_FAILURE.format(attempts=attempts), None, ctx)
    return len(rows)
