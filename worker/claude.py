"""The Anthropic client, shared by PO vision and email drafting.

The SDK takes about a second to import (far more under load), which every restart after a crash would
pay before serving webhooks; so it is imported only when Claude is actually used.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import anthropic

    from worker.env import Env


def sdk() -> Any:
    """The `anthropic` module, imported on first use."""
    import anthropic

    return anthropic


def client_for(env: Env, *, max_retries: int = 2) -> anthropic.AsyncAnthropic | None:
    """The process's client: one a test or the lifespan put in env.extras, else one from the key, else None."""
    injected = env.extras.get("anthropic_client")
    if injected is not None:
        return injected  # type: ignore[return-value]
    if env.secrets.anthropic_api_key is None:
        return None
    client = sdk().AsyncAnthropic(api_key=env.secrets.anthropic_api_key.get_secret_value(), max_retries=max_retries)
    env.extras["anthropic_client"] = client  # one connection pool per process, not per call
    return client


def api_reason(exc: Exception) -> str:
    """A clear, secret-free sentence for an Anthropic API failure."""
    api = sdk()
    if isinstance(exc, api.APITimeoutError):
        return "Anthropic API timed out"
    if isinstance(exc, api.APIConnectionError):
        return f"Anthropic API unreachable: {exc}"
    if isinstance(exc, api.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error") if isinstance(body.get("error"), dict) else {}
        return f"Anthropic API error {exc.status_code} {err.get('type', 'unknown_error')}: {err.get('message', exc.message)}"
    return f"Anthropic API error: {type(exc).__name__}: {exc}"


def is_transient(exc: Exception) -> bool:
    """True for failures that a later attempt may not meet: unreachable, timed out, rate limited, overloaded, 5xx."""
    api = sdk()
    return isinstance(exc, api.APIConnectionError | api.RateLimitError | api.RequestTimeoutError
                      | api.InternalServerError)


class ClaudeFailure(Exception):
    """A call that gave no usable message: why, in a sentence, and whether a later attempt may get one."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


async def create_message(client: Any, request: dict[str, Any], timeout: float) -> Any:
    """`client.messages.create(**request)` under one deadline for the whole call (the SDK's retries, their backoff
    and any retry-after included); ClaudeFailure when no answer came in time, the API failed, or the response is
    not a message (a proxy's page, a gateway's envelope: a later attempt may well get through)."""
    try:
        async with asyncio.timeout(timeout):
            msg = await client.messages.create(**request, timeout=timeout)
    except TimeoutError as exc:
        raise ClaudeFailure(f"the Anthropic API did not answer within {timeout:g} s", transient=True) from exc
    except sdk().APIError as exc:
        raise ClaudeFailure(api_reason(exc), transient=is_transient(exc)) from exc
    if (odd := unexpected_response(msg)) is not None:
        raise ClaudeFailure(f"unexpected response from the Anthropic API: {odd}", transient=True)
    return msg


def tool_call(msg: Any, name: str) -> Any:
    """The message's tool_use block calling `name`, or None (blocks of odd shapes are skipped, not trusted)."""
    return next((b for b in msg.content if getattr(b, "type", None) == "tool_use"
                 and getattr(b, "name", None) == name), None)


def unexpected_response(msg: object) -> str | None:
    """What a response is when it is not a Message with a list of content blocks (the SDK hands back an HTML 200
    as a str and `{}` as a Message of Nones, without validating), else None."""
    if not isinstance(msg, sdk().types.Message):
        return f"{type(msg).__name__} {' '.join(str(msg)[:1000].split())[:100]!r}"
    if isinstance(msg.content, list):
        return None
    error = getattr(msg, "error", None)  # an error envelope sent with status 200
    if isinstance(error, dict):
        return f"error {error.get('type')}: {str(error.get('message'))[:200]}"
    return f"a message without content (type={msg.type!r}, stop_reason={msg.stop_reason!r})"
