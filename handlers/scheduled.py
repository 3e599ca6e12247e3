"""Development only: GET or POST /__scheduled?cron=... runs that cron's tier now, like wrangler's."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from litestar import Response, route
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery

from worker.as_of import check_as_of, parse_as_of
from worker.env import Env
from worker.tiers import run_tier, tier_for_cron


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
        if problem := check_as_of(as_of, at, env.clock(), name="as_of"):
            raise ValidationException(problem)
    result = await run_tier(env, tier, scheduled_at=at, cron=cron)
    return Response(asdict(result), status_code=200 if result.status != "failed" else 500)
