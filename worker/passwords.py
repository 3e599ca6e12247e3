"""Reviewer password hashes: scrypt from the standard library, self-describing, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` (base64url, no padding: safe inside REVIEW_USERS's `name:hash` pairs)."""
    if not password:
        raise ValueError("empty password")
    secret = password.encode("utf-8", "replace")  # not strict: the codec's error would quote the password
    if secret.decode("utf-8") != password:  # a lone surrogate, carried in from undecodable input
        raise ValueError("the password is not valid UTF-8 text")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret, salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True if password matches the encoded hash; False for a wrong password or a malformed hash."""
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(_unb64(expected))
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
