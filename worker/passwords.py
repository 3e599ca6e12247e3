"""Reviewer password hashes: scrypt from the standard library, self-describing, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
DIGEST_BYTES = 32
# verify_password leaves hashlib.scrypt's maxmem at 0, which is OpenSSL's 32 MiB limit.
SCRYPT_MAX_MEMORY = 32 * 1024 * 1024
# n*r*p is scrypt's work: a hash may cost 16 times ours (~1 s a sign-in), not p=1000 (41 s, a worker tied up).
MAX_WORK = 16 * _N * _R * _P
_B64URL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` (base64url, no padding: safe inside REVIEW_USERS's `name:hash` pairs)."""
    if not password:
        raise ValueError("empty password")
    secret = password.encode("utf-8", "replace")  # not strict: the codec's error would quote the password
    if secret.decode("utf-8") != password:  # a lone surrogate, carried in from undecodable input
        raise ValueError("the password is not valid UTF-8 text")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret, salt=salt, n=_N, r=_R, p=_P, dklen=DIGEST_BYTES)
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


def well_formed(encoded: str) -> bool:
    """True for `scrypt$n$r$p$salt$hash` as hash_password writes it, with costs verify_password can run in about a
    second at most: a hash cut short or a cost mistyped would otherwise refuse every password, or take minutes."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    if not all(0 < len(cost) <= 10 and cost.isascii() and cost.isdigit() for cost in parts[1:4]):
        return False  # (10 digits: any cost within the memory limit; int() of thousands of digits raises)
    n, r, p = (int(cost) for cost in parts[1:4])
    salt, digest = _canonical_unb64(parts[4]), _canonical_unb64(parts[5])
    costs_ok = (n > 1 and n & (n - 1) == 0 and r > 0 and p > 0 and _scrypt_memory(n, r, p) <= SCRYPT_MAX_MEMORY
                and n * r * p <= MAX_WORK)
    # OpenSSL also refuses n >= 2 ** (16 * r).
    return costs_ok and n.bit_length() <= 16 * r and bool(salt) and digest is not None and len(digest) == DIGEST_BYTES


def _scrypt_memory(n: int, r: int, p: int) -> int:
    """The bytes OpenSSL's scrypt allocates for these costs (it refuses more than its limit)."""
    return 128 * r * p + 128 * r * (n + 2)


def _canonical_unb64(text: str) -> bytes | None:
    """Unpadded base64url exactly as _b64 writes it, decoded; None for anything else."""
    if not text or len(text) % 4 == 1 or not set(text) <= _B64URL:
        return None
    decoded = _unb64(text)
    return decoded if _b64(decoded) == text else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
