"""The error answers routes declare in /schema/openapi.json (`responses=`), so the contract lists every status.

Litestar documents only a route's success status (and a 400 when it has parameters); the errors our handlers
and worker/problems.py answer are named here once, as problem details, and picked per route.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec

from worker.problems import PROBLEM_JSON


@dataclass
class Problem:
    """RFC 9457 problem details; some answers add members (`errors`, `dead_letter_id`), named per status."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None


BAD_REQUEST = "a query or path parameter is not valid (the detail names it)"
UNAUTHORIZED = "no valid bearer INTAKE_TOKEN (or review session, where one is accepted)"
UNAVAILABLE = "a dependency is down (the database, the bucket or disk, or a secret not configured); Retry-After"
BODY_TIMEOUT = "the body stopped arriving for limits.body_idle_seconds, or came slower than body_min_bytes_per_second"


def problems(described: dict[int, str]) -> dict[int, ResponseSpec]:
    """{status: why} as problem-details responses for a route's `responses=`."""
    return {status: ResponseSpec(data_container=Problem, description=why, media_type=PROBLEM_JSON,
                                 generate_examples=False) for status, why in described.items()}
