"""Cold-tier job: observations left in needs_review too long are marked expired (SPEC 8).

Expired rows are kept (a curator can still read them); they only leave the review queue and are
never retrieved as drafting examples, which use approved_for_reuse rows alone.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from worker.env import Env, iso

EXPIRE = """
UPDATE reflexion_log SET status = 'expired', decided_by = 'cron:cold', decided_at = :now
WHERE status = 'needs_review' AND created_at < :cutoff
"""


def expire(conn: sqlite3.Connection, cutoff: str, now: str) -> dict[str, int]:
    """Mark needs_review rows created before cutoff as expired; returns the count."""
    return {"expired": conn.execute(EXPIRE, {"cutoff": cutoff, "now": now}).rowcount}


async def expire_observations(env: Env, as_of: datetime) -> dict[str, int]:
    """Expire observations older than [reflexion] needs_review_expiry_days before the tick."""
    cutoff = iso(as_of - timedelta(days=env.settings.reflexion.needs_review_expiry_days))
    return await env.db.write(expire, cutoff, iso(env.clock()))
