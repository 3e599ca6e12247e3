"""The cron tiers' job table: tier -> ordered (name, job). A job is `async def job(env, as_of) -> counts`.

`worker/tiers.py` runs a tier under its lease; tests check that these tiers and the toml agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from cron import aging, health, housekeeping, intake, reflexion, workflows

Job = Callable[[Any, datetime], Awaitable[dict[str, Any] | None]]

JOBS: dict[str, list[tuple[str, Job]]] = {
    "hot": [
        ("expire_stale_leases", housekeeping.expire_stale_leases),
        ("upload_spooled_mail", intake.upload_spooled_mail),
        ("retry_failed_intake", intake.retry_failed_intake),
        ("drain_ledger", workflows.drain_ledger),
    ],
    "warm": [
        ("refresh_aging", aging.refresh_aging),
        ("action_plans", aging.action_plans),
    ],
    "cold": [
        ("health_scores", health.score_customers),
        ("red_action_plans", aging.action_plans),
        ("expire_reflexion", reflexion.expire_observations),
        ("prune_receipts", housekeeping.prune_receipts),
        ("prune_cron_runs", housekeeping.prune_cron_runs),
        ("prune_workflow_runs", housekeeping.prune_workflow_runs),
        ("prune_health_scores", housekeeping.prune_health_scores),
        ("database_maintenance", housekeeping.database_maintenance),
    ],
}
