"""The real anthropic client over a mock transport: Anthropic cannot be reached from here, so tests
exercise the SDK itself against recorded-style responses."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2  # anthropic 2.x is built on httpx2 (same API as httpx) and refuses plain httpx clients


def mock_claude(handler: Callable[[httpx2.Request], Any], max_retries: int = 0) -> anthropic.AsyncAnthropic:
    """The real client whose every HTTP request goes to handler (which may also raise a transport error, or be a
    coroutine function); max_retries=2 is the client worker.claude.client_for builds."""
    return anthropic.AsyncAnthropic(api_key="test-key", max_retries=max_retries,
                                    http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


async def never_answers(request: httpx2.Request) -> httpx2.Response:
    """Each request reaches its read timeout."""
    await asyncio.sleep(request.extensions["timeout"]["read"])
    raise httpx2.ReadTimeout("read timed out", request=request)


def rate_limited_for_an_hour(request: httpx2.Request) -> httpx2.Response:
    """A 429 whose retry-after the SDK would wait out."""
    return httpx2.Response(429, headers={"retry-after": "3600"},
                           json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})


def replying(status: int, body: dict[str, Any], seen: list[httpx2.Request] | None = None) -> anthropic.AsyncAnthropic:
    """A client whose requests all get this status and JSON body; each request is appended to seen."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        return httpx2.Response(status, json=body, headers={"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"})

    return mock_claude(handler)


def counting(handler: Callable[[httpx2.Request], Any], seen: list[httpx2.Request],
             cut: list[httpx2.Request]) -> Callable[[httpx2.Request], Any]:
    """handler, appending each request to seen, and to cut when the caller abandons it before its answer."""
    async def wrapped(request: httpx2.Request) -> Any:
        seen.append(request)
        try:
            reply = handler(request)
            return await reply if inspect.isawaitable(reply) else reply
        except asyncio.CancelledError:
            cut.append(request)
            raise
    return wrapped
