"""Development only: GET or POST /__scheduled?cron=... runs that cron's tier now, like wrangler's."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from litestar import Response, route
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import FromQuery

from worker.aging import company_date
from worker.as_of import check_as_of, parse_as_of
from worker.env import Env
from worker.problems import problem
from worker.tiers import run_tier, tier_for_cron


async def older_than_snapshot(env: Env, tier: str, as_of: str, at: datetime) -> str | None:
    """Why `tier` may not run as of `at`, or None: its aging refresh skips (and fails) a day before the latest
    snapshot's (cron/aging.py materialize), so such a run would age nothing."""
    # Imported late, as worker/tiers.py does, so cron/ may import worker/ freely.
    from cron import JOBS
    from cron.aging import newer_snapshot

    if "refresh_aging" not in dict(JOBS[tier]):
        return None
    day = company_date(at, env.settings.timezone).isoformat()
    if (latest := await env.db.read_sync(newer_snapshot, day)) is None:
        return None
    return (f"as_of {as_of} (company date {day}) is older than the latest aging snapshot ({latest}): the {tier} "
            "tier would age nothing and fail; nothing was run")


@route("/__scheduled", http_method=["GET", "POST"], include_in_schema=False)
async def trigger_scheduled(env: NamedDependency[Env], cron: FromQuery[str],
                            as_of: FromQuery[str | None] = None) -> Response[dict[str, Any]]:
    """Run the tier configured for `cron` (optionally as of an ISO datetime) and return its run."""
    if not env.dev:
        raise NotFoundException("not found")
    try:
        tier = tier_for_cron(env, cron)
    except KeyError as exc:
        raise NotFoundException(str(exc.args[0])) from None
    at = None
    if as_of:  # read like `worker cron --as-of`: in the company's zone, never in the future
        try:
            at = parse_as_of(as_of, env.settings.timezone)
        except ValueError as exc:
            raise ValidationException(f"as_of: {exc}") from None
        if problem_text := check_as_of(as_of, at, env.clock(), name="as_of"):
            raise ValidationException(problem_text)
        if stale := await older_than_snapshot(env, tier, as_of, at):
            raise HTTPException(stale, status_code=409)
    result = await run_tier(env, tier, scheduled_at=at, cron=cron)
    if result.status == "failed":  # a job failed: a problem like every other error, the run's record beside it
        return problem(500, f"the {tier} run {result.run_id} failed: {result.error}", run_id=result.run_id,
                       tier=tier, counts=result.counts)
    return Response(asdict(result), status_code=200)
