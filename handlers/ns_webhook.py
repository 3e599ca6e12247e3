"""POST /api/ns-webhook: NetSuite change events, read as steps: limit → verify → parse → apply → reply.

The raw body is read under the size limit and authenticated (Standard Webhooks) before anything is
parsed. A body we cannot read as events is kept whole in dead_letters (400); invalid events of a batch
are kept one by one while the valid ones apply (422 naming each rejection); the reply is sent only
after the batch's transaction has committed (concurrent batches share one: worker/cdc/committer.py).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException

from handlers.responses import BODY_TIMEOUT, UNAVAILABLE, documented, header, json_body, json_schema, problems
from worker.cdc.apply import BatchResult
from worker.cdc.committer import committer_for
from worker.cdc.intake import BodyError, TooManyEvents, split_body, validate_events
from worker.cdc.models import CdcEvent
from worker.config import MAX_WEBHOOK_BODY_BYTES
from worker.deadletters import store_dead_letter
from worker.env import Env, iso
from worker.problems import problem
from worker.webhooks import HEADERS, WebhookSecretError, WebhookVerificationError, parse_secrets, verify

log = logging.getLogger("worker.webhook")
SOURCE = "ns-webhook"
# Backstop for the framework; the configured limit (limits.webhook_body_bytes, at most this) is enforced below.
BODY_CEILING = MAX_WEBHOOK_BODY_BYTES


class _Unavailable(HTTPException):
    status_code = 503


class _TooLarge(HTTPException):
    status_code = 413


def _keys(env: Env) -> list[bytes]:
    if env.secrets.ns_webhook_secret is None:
        log.error("webhook secret not configured: set NS_WEBHOOK_SECRET")
        raise _Unavailable(detail="webhook secret not configured", headers={"Retry-After": "60"})
    try:
        return parse_secrets(env.secrets.ns_webhook_secret.get_secret_value())
    except WebhookSecretError as exc:
        log.error("webhook secret unusable", extra={"error": str(exc)})
        raise _Unavailable(detail="webhook secret misconfigured", headers={"Retry-After": "60"}) from None


async def _read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    announced = request.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > limit:
        raise _TooLarge(detail=f"body of {announced} bytes exceeds the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge(detail=f"body exceeds the limit of {limit} bytes")
    return bytes(body)


def _authenticate(request: Request[Any, Any, Any], body: bytes, keys: list[bytes], env: Env) -> None:
    try:
        verify(request.headers, body, keys, now=env.clock().timestamp())
    except WebhookVerificationError as exc:
        log.warning("webhook delivery refused", extra={"reason": str(exc), "client": request.client.host if request.client else None,
                                                      "webhook_id": (request.headers.get("webhook-id") or "")[:100]})
        raise NotAuthorizedException(detail=str(exc)) from None


def _reply(result: BatchResult, total: int) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {**result.counts(), "events": total,
                            "rejected_events": [{**r.as_reply(), "dead_letter_id": result.dead_letter_ids.get(r.index)}
                                                for r in result.rejected]}
    if not result.rejected:
        return Response(body, status_code=200)
    accepted = total - len(result.rejected)
    detail = (f"{len(result.rejected)} of {total} events rejected (kept in dead_letters); "
              f"the other {accepted} were accepted")
    return problem(422, detail, title="Some events were rejected", **body)


ERRORS = problems({
    400: "the body is not one event or {\"events\": [...]} (kept as a dead letter: dead_letter_id)",
    401: "the Standard Webhooks signature, id or timestamp does not verify",
    408: BODY_TIMEOUT,
    413: "the body is over limits.webhook_body_bytes, or the batch over limits.webhook_batch_events (kept)",
    422: "some events were rejected (kept one by one); the others applied: counts and rejected_events",
    503: UNAVAILABLE,
})


_EVENT = json_schema(CdcEvent)
# Read raw (size limit, then the signature over the exact bytes, then parsing), so documented here: one event or
# a batch, and the Standard Webhooks headers (any missing or wrong is a 401, not a 400: they authenticate).
WEBHOOK_OPERATION = documented(
    body=json_body({"oneOf": [_EVENT, {"type": "object", "required": ["events"],
                                        "properties": {"events": {"type": "array", "items": _EVENT}}}]},
                   "one event, or {\"events\": [...]} of at most limits.webhook_batch_events; `record` is the "
                   "NetSuite record, checked by record_type"),
    headers=[header("webhook-id", "the delivery's id (Standard Webhooks)", required=True),
             header("webhook-timestamp", "unix time in whole seconds, within the tolerance of our clock",
                    required=True, pattern=r"^[0-9]{1,12}$"),
             header("webhook-signature", "space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body> entries",
                    required=True)])


# 200 whatever the batch did (applied, unchanged, stale): nothing is created that a 201 would point to.
@post("/api/ns-webhook", request_max_body_size=BODY_CEILING, status_code=200, responses=ERRORS,
      summary="NetSuite change events (Standard Webhooks)", operation_class=WEBHOOK_OPERATION)
async def ns_webhook(request: Request[Any, Any, Any], env: NamedDependency[Env]) -> Response[dict[str, Any]]:
    """Verify, then apply one event or {"events": [...]} in one transaction; reply with what happened."""
    keys = _keys(env)
    body = await _read_body(request, env.settings.limits.webhook_body_bytes)
    _authenticate(request, body, keys, env)
    received_at = iso(env.clock())
    try:
        raw_events, batch = split_body(body, max_events=env.settings.limits.webhook_batch_events)
    except BodyError as exc:
        headers = {name: request.headers.get(name, "") for name in HEADERS[:2]}
        letter = await env.db.write(store_dead_letter, SOURCE, str(exc), body, received_at, headers)
        status = 413 if isinstance(exc, TooManyEvents) else 400
        return problem(status, f"{exc} (kept as dead letter {letter})", dead_letter_id=letter)
    accepted, rejected = validate_events(raw_events, batch=batch)
    committer = committer_for(env, source="webhook", dead_letter_source=SOURCE)
    result = await committer.submit(accepted, rejected, received_at)
    return _reply(result, len(raw_events))
