"""The Claude models in the shipped config are not ones Anthropic has announced for retirement.

A retired model name makes every call fail: scanned orders would all become needs_manual and every
collection email fall back to the template. The real SDK warns (DeprecationWarning) when asked for a
model on its deprecation list, so this test asks it, over a mock transport, for each configured model;
it goes red when an upgraded SDK lists one of ours, which is the moment to change `[anthropic]`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.claude_support import replying
from worker.config import load_settings

REPO = Path(__file__).resolve().parent.parent
REPLY = {"id": "msg_01", "type": "message", "role": "assistant", "model": "x", "stop_reason": "end_turn",
         "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1},
         "content": [{"type": "text", "text": "ok"}]}


async def _deprecation_warnings(model: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await replying(200, REPLY).messages.create(model=model, max_tokens=1, messages=[{"role": "user", "content": "hi"}])
    return [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning) and model in str(w.message)]


async def test_the_check_sees_a_model_the_sdk_lists_as_deprecated():
    # A model from the SDK's own list (retired names may leave it in later releases).
    from anthropic.resources.messages import messages

    listed = getattr(messages, "DEPRECATED_MODELS", None)
    if not listed:
        pytest.skip("this anthropic SDK lists no deprecated model (or keeps the list elsewhere)")
    model = next(iter(listed))
    assert any("end-of-life" in text for text in await _deprecation_warnings(model)), model


@pytest.mark.parametrize("role", ["vision_model", "draft_model"])
async def test_configured_models_are_not_deprecated(role):
    model = getattr(load_settings(REPO / "wrangler-like.toml").anthropic, role)
    assert await _deprecation_warnings(model) == [], f"[anthropic] {role} = {model!r} is deprecated: pick a current model"
