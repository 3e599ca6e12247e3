"""The pure Standard Webhooks verifier: the published vectors, the reference signer, one failure per test."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import CORPORA
from tests.helpers import TEST_WEBHOOK_SECRET, needs
from worker.webhooks import WebhookSecretError, WebhookVerificationError, decode_secret, parse_secrets, sign, verify

NOW = 1_800_000_000
BODY = b'{"event_id": "sn-1"}'
KEY = decode_secret(TEST_WEBHOOK_SECRET)


def headers(body: bytes = BODY, *, secret: str = TEST_WEBHOOK_SECRET, ts: int = NOW, msg_id: str = "msg_1") -> dict[str, str]:
    """Valid by default: signed by the reference signer."""
    sig = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def rejects(hdrs: dict[str, str], message: str, body: bytes = BODY, keys: list[bytes] | None = None) -> None:
    with pytest.raises(WebhookVerificationError, match=message):
        verify(hdrs, body, keys or [KEY], now=NOW)


def test_published_vectors() -> None:
    path = CORPORA / "webhooks" / "vectors.json"
    needs(path.exists(), f"shared corpora not found: {path}", installed_by_ci=False)
    for vector in json.loads(path.read_text())["vectors"]:
        hdrs = {"webhook-id": vector["msg_id"], "webhook-timestamp": str(vector["timestamp"]),
                "webhook-signature": vector["expected_signature"]}
        key = decode_secret(vector["secret"])
        body = vector["payload"].encode()
        if vector["valid"]:
            assert verify(hdrs, body, [key], now=vector["timestamp"]) == vector["msg_id"]
            assert "v1," + sign(key, vector["msg_id"], vector["timestamp"], body) == vector["expected_signature"]
        else:
            with pytest.raises(WebhookVerificationError, match="no valid signature"):
                verify(hdrs, body, [key], now=vector["timestamp"])


def test_valid_by_default() -> None:
    assert verify(headers(), BODY, [KEY], now=NOW) == "msg_1"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(name: str) -> None:
    hdrs = headers()
    del hdrs[name]
    rejects(hdrs, f"missing header: {name}")


def test_all_headers_missing_are_named() -> None:
    rejects({}, "missing header: webhook-id, webhook-timestamp, webhook-signature")


@pytest.mark.parametrize("value", ["abc", "1.8e9", "-1800000000", "1800000000.5", "١٢٣"])
def test_malformed_timestamp(value: str) -> None:
    rejects({**headers(), "webhook-timestamp": value}, "malformed webhook-timestamp")


def test_stale_timestamp() -> None:
    rejects(headers(ts=NOW - 301), "stale webhook-timestamp")


def test_future_timestamp() -> None:
    rejects(headers(ts=NOW + 301), "future webhook-timestamp")


def test_edges_of_the_window_are_accepted() -> None:
    verify(headers(ts=NOW - 300), BODY, [KEY], now=NOW)
    verify(headers(ts=NOW + 300), BODY, [KEY], now=NOW)


def test_timestamp_is_signed() -> None:
    rejects({**headers(ts=NOW), "webhook-timestamp": str(NOW + 1)}, "no valid signature")


def test_forged_body() -> None:
    rejects(headers(), "no valid signature", body=BODY + b" ")


def test_wrong_secret() -> None:
    other = "whsec_" + base64.b64encode(b"another secret of 24 b").decode()
    rejects(headers(secret=other), "no valid signature")


def test_no_v1_entry() -> None:
    rejects({**headers(), "webhook-signature": "v2,abc v1,"}, "no 'v1,<base64>' entry")


def test_rotation_any_one_signature_matches() -> None:
    other = "whsec_" + base64.b64encode(b"old secret during rotate").decode()
    good = headers()["webhook-signature"]
    stale_sig = headers(secret=other)["webhook-signature"]
    hdrs = {**headers(), "webhook-signature": f"v2,unknown {stale_sig} {good}"}
    assert verify(hdrs, BODY, [KEY], now=NOW) == "msg_1"


def test_several_configured_secrets() -> None:
    new = "whsec_" + base64.b64encode(b"the new secret, rotated!").decode()
    keys = parse_secrets(f"{new}  {TEST_WEBHOOK_SECRET}")
    assert verify(headers(), BODY, keys, now=NOW) == "msg_1"
    assert verify(headers(secret=new), BODY, keys, now=NOW) == "msg_1"


def test_secrets_without_prefix_or_padding() -> None:
    assert decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == KEY
    assert decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS") == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS=")


def test_unusable_secrets() -> None:
    with pytest.raises(WebhookSecretError, match="empty"):
        parse_secrets("   ")
    with pytest.raises(WebhookSecretError, match="not valid base64"):
        decode_secret("whsec_not*base64")
    with pytest.raises(WebhookSecretError, match="no webhook secret"):
        verify(headers(), BODY, [], now=NOW)


def test_zero_tolerance_is_refused_not_disabled() -> None:
    with pytest.raises(ValueError, match="tolerance must be positive"):
        verify(headers(), BODY, [KEY], now=NOW, tolerance=0)
