"""GET /healthz: 200 when the database and the bucket answer, 503 naming what is down."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from worker.env import Env
from worker.migrations import LATEST


async def _check(probe: Any) -> str | None:
    try:
        await asyncio.wait_for(probe(), timeout=5)
    except Exception as exc:  # any failure means "down"; the message says which and why
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


@get("/healthz", summary="Liveness and dependency check")
async def healthz(env: NamedDependency[Env]) -> Response[dict[str, Any]]:
    """Check the DB and the bucket concurrently."""
    db_error, bucket_error = await asyncio.gather(_check(env.db.ping), _check(env.bucket.ping))
    body: dict[str, Any] = {
        "ok": db_error is None and bucket_error is None,
        "name": env.settings.name,
        "schema_version": LATEST,
        "db": "ok" if db_error is None else db_error,
        "bucket": "ok" if bucket_error is None else bucket_error,
    }
    if not body["ok"]:
        down = [name for name, err in (("db", db_error), ("bucket", bucket_error)) if err]
        body["detail"] = f"unavailable: {', '.join(down)}"
    return Response(body, status_code=200 if body["ok"] else 503)
