"""POST /api/inbound-email: one raw RFC 822 message as the body, like an email-routing webhook.

authorize (bearer, constant-time) -> size limit (413 on Content-Length, then while streaming) -> stream to a
temp file (sha256 on the way, no copies in memory) -> durable (bucket or fsynced spool) + logged -> 202.
Processing (PDFs -> review items) runs after the reply; the hot tier picks up anything left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, RequestBody, Schema

from handlers.responses import BEARER, BODY_TIMEOUT, UNAVAILABLE, documented, problems
from worker.auth import bearer_ok
from worker.env import Env
from worker.intake.pipeline import schedule
from worker.intake.store import SpoolUnavailable, accept_raw, disk_cause, incoming_dir

ACCEPTED_TYPES = ("message/rfc822",)


class PayloadTooLarge(HTTPException):
    """413: the message is over settings.limits.email_bytes."""

    status_code = 413


class UnsupportedMediaType(HTTPException):
    """415: the body is not declared as a raw message."""

    status_code = 415


class IntakeUnavailable(HTTPException):
    """503: we cannot take the message now (not configured, or nowhere durable to put it)."""

    status_code = 503


def authorize(request: Request[Any, Any, Any], env: Env, door: str = "inbound email") -> None:
    """Bearer INTAKE_TOKEN, compared in constant time; 503 naming the `door` when the token is not configured
    (also POST /api/proposed-actions')."""
    if env.secrets.intake_token is None:
        raise IntakeUnavailable(f"{door} is not configured: INTAKE_TOKEN is not set", headers={"Retry-After": "60"})
    if not bearer_ok(env, request.headers.get("authorization")):
        raise NotAuthorizedException("missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"message is larger than the {limit}-byte limit (limits.email_bytes)")


async def receive_body(request: Request[Any, Any, Any], limit: int, directory: Path) -> tuple[Path, str]:
    """Stream the body into a temp file under `directory`; returns (path, sha256).

    413 past the limit; 503 + Retry-After when the directory cannot take it (full, read-only): our outage.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="mail-", suffix=".eml", dir=directory)
    except OSError as exc:
        raise _cannot_store(exc) from None
    path, digest, size, blank = Path(name), hashlib.sha256(), 0, True
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                blank = blank and not chunk.strip()
                digest.update(chunk)
                out.write(chunk)
        if blank:  # no bytes, or only blank lines: no message to keep or read
            raise HTTPException("empty body: expected one raw RFC 822 message", status_code=400)
    except OSError as exc:  # the write or the close (buffered bytes are flushed there)
        path.unlink(missing_ok=True)
        raise _cannot_store(exc) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest()


def _cannot_store(exc: OSError) -> IntakeUnavailable:
    return IntakeUnavailable(f"cannot receive the message now: {disk_cause(exc)}", headers={"Retry-After": "30"})


ERRORS = problems({
    400: "empty body: no message",
    401: "missing or wrong bearer INTAKE_TOKEN",
    408: BODY_TIMEOUT,
    413: "the message is over limits.email_bytes",
    415: "Content-Type is not message/rfc822",
    503: UNAVAILABLE,
})


# Streamed to disk as it arrives (never parsed here), so the body is documented, not inferred: bytes, as sent.
EMAIL_OPERATION = documented(body=RequestBody(
    required=True, description="one raw RFC 822 message, at most limits.email_bytes",
    content={media_type: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, content_media_type=media_type))
             for media_type in ACCEPTED_TYPES}))


@post("/api/inbound-email", request_max_body_size=None, status_code=202, responses=ERRORS,
      summary="Receive one raw order email", security=BEARER, operation_class=EMAIL_OPERATION)
async def inbound_email(request: Request[Any, Any, Any], env: NamedDependency[Env]) -> Response[dict[str, Any]]:
    """Store the raw message durably, log it, reply 202 {email_id, status, duplicate_of?}; process afterwards."""
    authorize(request, env)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(f"Content-Type must be message/rfc822 (one raw email), got {media_type or 'none'!r}")
    limit = env.settings.limits.email_bytes
    path, sha = await receive_body(request, limit, incoming_dir(env))
    try:
        received = await accept_raw(env, path, door="http", sha256_hex=sha)
    except SpoolUnavailable as exc:
        path.unlink(missing_ok=True)
        raise IntakeUnavailable(str(exc), headers={"Retry-After": "30"}) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if received.status == "received":
        schedule(env, received.email_id, path)  # the task deletes the temp file when done
    else:
        with contextlib.suppress(OSError):
            path.unlink()
    body: dict[str, Any] = {"email_id": received.email_id, "status": received.status}
    if received.duplicate_of is not None:
        body["duplicate_of"] = received.duplicate_of
    return Response(body, status_code=202)
