"""GET /healthz: 200 when the database, the bucket and the state directories take work, 503 naming what is down."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from worker.env import Env
from worker.intake.store import check_writable, disk_cause, incoming_dir, spool_dir
from worker.migrations import LATEST


async def _check(probe: Any) -> str | None:
    try:
        await asyncio.wait_for(probe(), timeout=5)
    except Exception as exc:  # any failure means "down"; the message says which and why
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


def _state_dirs_writable(env: Env) -> None:
    # The HTTP door streams mail to incoming/ and both doors spool when the bucket is down: a full or
    # read-only state directory refuses mail while the database and the bucket answer.
    problems = []
    for directory in (incoming_dir(env), spool_dir(env)):
        try:
            check_writable(directory)
        except OSError as exc:
            problems.append(f"{directory.name}: {disk_cause(exc)}")
    if problems:
        raise OSError("; ".join(problems))


DOWN = ResponseSpec(data_container=dict[str, Any], generate_examples=False,
                    description="something is down: the same body, ok false, and detail naming what")


@get("/healthz", summary="Liveness and dependency check", responses={503: DOWN})
async def healthz(env: NamedDependency[Env]) -> Response[dict[str, Any]]:
    """Check the DB (a read and the writer's lock), the bucket and the state directories concurrently."""
    errors = dict(zip(("db", "bucket", "state_dir"), await asyncio.gather(
        _check(env.db.ping), _check(env.bucket.ping), _check(lambda: asyncio.to_thread(_state_dirs_writable, env))),
        strict=True))
    body: dict[str, Any] = {
        "ok": not any(errors.values()),
        "name": env.settings.name,
        "schema_version": LATEST,
        **{name: error or "ok" for name, error in errors.items()},
    }
    if not body["ok"]:
        body["detail"] = f"unavailable: {', '.join(name for name, error in errors.items() if error)}"
    return Response(body, status_code=200 if body["ok"] else 503)
