"""A request body that stops arriving is answered 408 instead of holding its connection forever.

Neither granian nor uvicorn times out a body that stalls after its headers: a sender (or a slow-loris
attack) holds the connection, and the handler waiting on it, for as long as it likes. Like nginx's
client_body_timeout, the limit is on the gap between two reads, not on the whole body, so a 25 MB
email on a slow link still arrives. Nothing of a timed-out body is kept: it was never acknowledged,
and an unfinished webhook body cannot even be authenticated, so the sender's retry is the recovery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from litestar.exceptions import HTTPException

log = logging.getLogger("worker.http")
ASGIApp = Callable[[Any, Any, Any], Any]


class BodyTimeout(HTTPException):
    """408: the request body stopped arriving."""

    status_code = 408


def body_idle_timeout(idle_seconds: float) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware factory: a body read waits at most idle_seconds for its next chunk."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            body_done = False

            async def receive_in_time() -> Any:
                nonlocal body_done
                if body_done:  # later waits (for a disconnect) are not body reads
                    return await receive()
                try:
                    async with asyncio.timeout(idle_seconds):
                        message = await receive()
                except TimeoutError:
                    client = scope.get("client")
                    log.warning("request body stalled", extra={"path": scope.get("path"), "seconds": idle_seconds,
                                                               "client": client[0] if client else None})
                    # close: the rest of the body may still come, and must not be read as the next request
                    raise BodyTimeout(detail=f"no request body data for {idle_seconds:g} s (limits.body_idle_seconds); "
                                             "send the request again", headers={"Connection": "close"}) from None
                body_done = message["type"] != "http.request" or not message.get("more_body", False)
                return message

            await app(scope, receive_in_time, send)

        return middleware

    return wrap
