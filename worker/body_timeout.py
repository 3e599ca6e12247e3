"""A request body that stops arriving, or trickles in, is answered 408 instead of holding its connection.

Neither granian nor uvicorn times out a body that stalls after its headers: a sender (or a slow-loris
attack) holds the connection, and the handler waiting on it, for as long as it likes. Two limits, like
Apache's mod_reqtimeout (`body=60,MinRate=500`): a gap between two reads of at most idle_seconds (nginx's
client_body_timeout), and a whole body that averages at least min_rate bytes a second after an
idle_seconds grace, so one byte every 59 s cannot hold a connection for hours while a 25 MB email on a
slow link still arrives. Nothing of a timed-out body is kept: it was never acknowledged, and an
unfinished webhook body cannot even be authenticated, so the sender's retry is the recovery.
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


def body_deadline(started: float, idle_seconds: float, min_rate: float, received: int) -> float:
    """When a body that began at `started` and has brought `received` bytes must be done: the grace plus the
    time min_rate allows for what came (pure; loop time in seconds)."""
    return started + idle_seconds + received / min_rate


def too_slow(started: float, last_data: float, received: int, min_rate: float) -> bool:
    """Whether a body that timed out was cut off by its minimum rate rather than by a gap: the `received` bytes
    took longer than min_rate allows (its deadline came before idle_seconds without data). A body that brought
    nothing, or stalled after arriving fast enough, names the gap (pure; loop time in seconds)."""
    return started + received / min_rate < last_data


def body_idle_timeout(idle_seconds: float, min_rate: float) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware factory: a body read waits at most idle_seconds for its next chunk, and no longer than
    the body's deadline (body_deadline) allows."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            loop = asyncio.get_running_loop()
            started, received, body_done = loop.time(), 0, False
            last_data = started  # when the last bytes came: a gap is counted from there

            def refuse(event: str, detail: str) -> BodyTimeout:
                client = scope.get("client")
                log.warning(event, extra={"path": scope.get("path"), "bytes": received,
                                          "client": client[0] if client else None})
                # close: the rest of the body may still come, and must not be read as the next request
                return BodyTimeout(detail=f"{detail}; send the request again", headers={"Connection": "close"})

            async def receive_in_time() -> Any:
                nonlocal body_done, received, last_data
                if body_done:  # later waits (for a disconnect) are not body reads
                    return await receive()
                left = body_deadline(started, idle_seconds, min_rate, received) - loop.time()
                try:
                    async with asyncio.timeout(min(idle_seconds, max(left, 0))):
                        message = await receive()
                except TimeoutError:
                    if too_slow(started, last_data, received, min_rate):
                        raise refuse("request body too slow", f"the request body arrived at under {min_rate:g} "
                                     f"bytes/s ({received} bytes in {loop.time() - started:.1f} s; "
                                     "limits.body_min_bytes_per_second)") from None
                    raise refuse("request body stalled", f"no request body data for {idle_seconds:g} s "
                                 "(limits.body_idle_seconds)") from None
                if size := len(message.get("body", b"")):
                    received, last_data = received + size, loop.time()
                body_done = message["type"] != "http.request" or not message.get("more_body", False)
                return message

            await app(scope, receive_in_time, send)

        return middleware

    return wrap
