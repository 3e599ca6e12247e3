"""The real anthropic client over a mock transport: Anthropic cannot be reached from here, so tests
exercise the SDK itself against recorded-style responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx2  # anthropic 2.x is built on httpx2 (same API as httpx) and refuses plain httpx clients


def mock_claude(handler: Callable[[httpx2.Request], httpx2.Response]) -> anthropic.AsyncAnthropic:
    """The real client whose every HTTP request goes to handler (which may also raise a transport error)."""
    return anthropic.AsyncAnthropic(api_key="test-key", max_retries=0,
                                    http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


def replying(status: int, body: dict[str, Any], seen: list[httpx2.Request] | None = None) -> anthropic.AsyncAnthropic:
    """A client whose requests all get this status and JSON body; each request is appended to seen."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        return httpx2.Response(status, json=body, headers={"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"})

    return mock_claude(handler)
