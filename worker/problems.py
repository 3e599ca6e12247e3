"""API errors as RFC 9457 problem details, decided once, at the edge."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from worker.db import DatabaseUnavailable
from worker.logs import request_id_var
from worker.storage import StorageUnavailable

log = logging.getLogger("worker.errors")
PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response[dict[str, Any]]:
    """A problem-details response; `extra` members (e.g. `errors`) are added as-is."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    if (rid := request_id_var.get()) is not None:
        body["request_id"] = rid
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    extra: dict[str, Any] = {"instance": request.url.path}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    elif isinstance(exc.extra, dict):
        extra.update(exc.extra)
    return problem(exc.status_code, exc.detail, headers=exc.headers, **extra)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Our failure, not the sender's: 503 with Retry-After so well-behaved senders try again.
    log.warning("dependency unavailable", extra={"path": request.url.path, "error": str(exc)})
    return problem(503, str(exc), headers={"Retry-After": "5"}, instance=request.url.path)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem(500, "unexpected error; the request id identifies it in the logs", instance=request.url.path)


EXCEPTION_HANDLERS = {
    HTTPException: _http_exception,
    DatabaseUnavailable: _unavailable,
    StorageUnavailable: _unavailable,
    Exception: _unexpected,
}
