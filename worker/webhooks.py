"""Standard Webhooks signature verification: pure functions of headers, raw body, secrets and `now`.

Modelled on stripe-python's verifier, improved as STYLE.md asks: future timestamps are bounded too,
`now` is a parameter, a zero tolerance is refused instead of silently disabling the check, and every
failure has its own message. Each small validator has one reason to fail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class WebhookVerificationError(Exception):
    """The delivery is not authentic (or not fresh); the message says exactly why."""


class WebhookSecretError(ValueError):
    """The configured secret cannot be used (our misconfiguration, not the sender's)."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key of one `whsec_<base64>` secret (the prefix is optional; missing padding is fine)."""
    text = secret.strip().removeprefix(SECRET_PREFIX)
    if not text:
        raise WebhookSecretError("webhook secret is empty")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError("webhook secret is not valid base64 after 'whsec_'") from None


def parse_secrets(value: str) -> list[bytes]:
    """All keys of a space-separated list of secrets (several during a secret rotation)."""
    keys = [decode_secret(part) for part in value.split()]
    if not keys:
        raise WebhookSecretError("webhook secret is empty")
    return keys


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` (without the `v1,` prefix)."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _required(headers: Mapping[str, str]) -> tuple[str, str, str]:
    values = tuple((headers.get(name) or "").strip() for name in HEADERS)
    missing = [name for name, value in zip(HEADERS, values, strict=True) if not value]
    if missing:
        raise WebhookVerificationError(f"missing header: {', '.join(missing)}")
    return values  # type: ignore[return-value]


def _timestamp(text: str) -> int:
    # Only plain digits: "1e9", "-5", " 12" or floats are not unix seconds as the spec defines them.
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise WebhookVerificationError("malformed webhook-timestamp: expected unix time in whole seconds")
    return int(text)


def _fresh(timestamp: int, now: float, tolerance: int) -> None:
    if timestamp < now - tolerance:
        raise WebhookVerificationError(f"stale webhook-timestamp: more than {tolerance} s in the past")
    if timestamp > now + tolerance:
        raise WebhookVerificationError(f"future webhook-timestamp: more than {tolerance} s ahead of our clock")


def _candidates(header: str) -> list[bytes]:
    # Space-separated "v1,<b64>" entries; other schemes (v1a, v2) are skipped, not errors.
    found = []
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version == "v1" and value:
            found.append(value.encode())
    return found


def _match(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes, candidates: list[bytes]) -> None:
    matched = False
    for key in keys:
        expected = sign(key, msg_id, timestamp, body).encode()
        for candidate in candidates:
            # Keep comparing after a match so the time taken does not say which entry matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("no valid signature: none of the v1 signatures matches the body")


def verify(headers: Mapping[str, str], body: bytes, keys: Sequence[bytes], *, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> str:
    """Check a delivery's headers against the raw body; returns the webhook-id or raises WebhookVerificationError."""
    if tolerance <= 0:
        raise ValueError("tolerance must be positive: zero would accept no delivery or disable the check")
    if not keys:
        raise WebhookSecretError("no webhook secret configured")
    msg_id, ts_text, sig_header = _required(headers)
    timestamp = _timestamp(ts_text)
    _fresh(timestamp, now, tolerance)
    candidates = _candidates(sig_header)
    if not candidates:
        raise WebhookVerificationError("no valid signature: webhook-signature has no 'v1,<base64>' entry")
    _match(keys, msg_id, timestamp, body, candidates)
    return msg_id
