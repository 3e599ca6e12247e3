"""Reviewer sign-in: REVIEW_USERS, signed session cookies backed by `review_sessions`, CSRF, login rate limit.

The cookie is `<session id>.<HMAC-SHA256(key, id)>`; only sha256(id) is stored, so a copy of the
database cannot be replayed as a cookie. The key comes from SESSION_SECRET, or is generated at
startup (then sessions end when the process restarts and are not shared between processes).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from worker.env import Env, iso
from worker.passwords import hash_password, verify_password, well_formed

log = logging.getLogger("worker.auth")
COOKIE = "gfs_review"
LOGIN_COOKIE = "gfs_login"  # double-submit token for the sign-in form (there is no session yet)
SESSION_HOURS = 12
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
MAX_NAME = 64  # characters of a reviewer name

INSERT_SESSION = """
INSERT INTO review_sessions (id_hash, reviewer, created_at, expires_at, credential) VALUES (?, ?, ?, ?, ?)
"""
GET_SESSION = "SELECT reviewer, expires_at, credential FROM review_sessions WHERE id_hash = ? AND ended_at IS NULL"
END_SESSION = "UPDATE review_sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL"
PURGE_SESSIONS = "DELETE FROM review_sessions WHERE expires_at < ?"
INSERT_FAILURE = "INSERT INTO login_attempts (reviewer, ip, at) VALUES (?, ?, ?)"
CLEAR_FAILURES = "DELETE FROM login_attempts WHERE reviewer = ?"
PURGE_FAILURES = "DELETE FROM login_attempts WHERE at < ?"
COUNT_FAILURES = """
SELECT (SELECT count(*) FROM login_attempts WHERE reviewer = :reviewer AND at >= :since),
       (SELECT count(*) FROM login_attempts WHERE ip = :ip AND at >= :since)
"""


class ReviewUsersError(ValueError):
    """REVIEW_USERS is malformed; the message names the entry (never the hash)."""


@dataclass(frozen=True)
class Session:
    """A signed-in reviewer: who, and the CSRF token every form of theirs must carry."""

    reviewer: str
    sid: str
    csrf: str


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a session, or why not (`retry_after` when rate-limited)."""

    session: Session | None = None
    cookie: str | None = None
    retry_after: int | None = None


def parse_review_users(text: str) -> dict[str, str]:
    """`name:hash,name:hash` -> {name: hash}; raises ReviewUsersError naming the bad entry."""
    users: dict[str, str] = {}
    for position, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        name, sep, encoded = entry.partition(":")
        if not sep or not name or not encoded:
            raise ReviewUsersError(f"REVIEW_USERS entry {position}: expected name:hash")
        if not set(name) <= _NAME_OK:
            raise ReviewUsersError(f"REVIEW_USERS entry {position}: name {name!r} has characters other than a-z A-Z 0-9 . _ - @")
        if len(name) > MAX_NAME:  # sign-in reads at most MAX_NAME characters of the name typed
            raise ReviewUsersError(f"REVIEW_USERS entry {position} ({name}): the name is longer than {MAX_NAME} characters")
        if not well_formed(encoded):  # damaged in transit, it would refuse every password
            raise ReviewUsersError(f"REVIEW_USERS entry {position} ({name}): not a hash from `worker hash-password`")
        if name in users:
            raise ReviewUsersError(f"REVIEW_USERS entry {position}: {name!r} is listed twice")
        users[name] = encoded
    return users


def reviewers(env: Env) -> dict[str, str]:
    """The configured reviewers; in `worker dev` without REVIEW_USERS, a `dev` reviewer with a printed password."""
    cached = env.extras.get("review_users")
    if cached is None:
        text = env.secrets.review_users.get_secret_value() if env.secrets.review_users else ""
        cached = parse_review_users(text)
        if not cached and env.dev:
            password = secrets.token_urlsafe(12)
            cached = {"dev": hash_password(password)}
            # Printed once, to the operator's terminal only (never logged): dev mode on 127.0.0.1.
            print(f"  reviewer: dev / {password}  (REVIEW_USERS unset; this password changes every start)", flush=True)
        elif not cached:
            log.warning("REVIEW_USERS is unset: nobody can sign in to /review")
        env.extras["review_users"] = cached
    return cached  # type: ignore[return-value]


def session_key(env: Env) -> bytes:
    """HMAC key for cookies and CSRF tokens: SESSION_SECRET, else random per process."""
    key = env.extras.get("session_key")
    if key is None:
        configured = env.secrets.session_secret  # trimmed and checked at start (worker/config.py)
        key = hashlib.sha256(configured.get_secret_value().encode()).digest() if configured else \
            secrets.token_bytes(32)
        env.extras["session_key"] = key
    return key  # type: ignore[return-value]


def sign(key: bytes, value: str, purpose: str = "session") -> str:
    """`value.signature` (HMAC-SHA256 over purpose and value, base64url)."""
    mac = hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return f"{value}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def unsign(key: bytes, token: str | None, purpose: str = "session") -> str | None:
    """The value of a token made by sign(), or None if absent, malformed or forged (constant-time check)."""
    if not token or len(token) > 256 or "." not in token:
        return None
    value = token.rpartition(".")[0]
    return value if hmac.compare_digest(sign(key, value, purpose).encode(), token.encode()) else None


def csrf_for(key: bytes, sid: str) -> str:
    """The per-session CSRF token (derived, so nothing more to store)."""
    return sign(key, sid, "csrf").rpartition(".")[2]


def credential_of(key: bytes, encoded_hash: str) -> str:
    """What a session remembers of the password it was opened with: a keyed digest of the reviewer's
    REVIEW_USERS hash, so a new password (a new hash) ends every session opened with the old one."""
    return sign(key, encoded_hash, "credential").rpartition(".")[2]


def csrf_ok(expected: str, given: Any) -> bool:
    """Constant-time comparison of a submitted CSRF token with the expected one."""
    return isinstance(given, str) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def id_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


async def current_session(env: Env, cookie: str | None) -> Session | None:
    """The live session a cookie names, or None (unsigned, ended, expired, reviewer removed or password changed)."""
    key = session_key(env)
    sid = unsign(key, cookie)
    if sid is None:
        return None
    row = await env.db.fetchone(GET_SESSION, (id_hash(sid),))
    if row is None or row["expires_at"] <= iso(env.clock()):
        return None
    encoded = reviewers(env).get(row["reviewer"])  # None: the reviewer was removed
    if encoded is None or not hmac.compare_digest(row["credential"] or "", credential_of(key, encoded)):
        return None
    return Session(row["reviewer"], sid, csrf_for(key, sid))


def _claim_attempt(conn: sqlite3.Connection, name: str, ip: str, since: str, now: str, purge_before: str) -> bool:
    """Count the recent failures and, under the limits, record this attempt as one in the same transaction.

    Recorded before the (slow) password check, so parallel guesses cannot all pass a count taken before
    any of them was written; a successful sign-in then clears the reviewer's failures, this one included.
    """
    row = conn.execute(COUNT_FAILURES, {"reviewer": name, "ip": ip, "since": since}).fetchone()
    if int(row[0]) >= MAX_FAILURES_PER_USER or int(row[1]) >= MAX_FAILURES_PER_IP:
        return False
    conn.execute(INSERT_FAILURE, (name, ip, now))
    conn.execute(PURGE_FAILURES, (purge_before,))
    return True


def _open_session(conn: sqlite3.Connection, name: str, sid: str, now: str, expires: str, credential: str) -> None:
    conn.execute(PURGE_SESSIONS, (now,))
    conn.execute(CLEAR_FAILURES, (name,))
    conn.execute(INSERT_SESSION, (id_hash(sid), name, now, expires, credential))


_DUMMY_HASH: list[str] = []


async def sign_in(env: Env, name: str, password: str, ip: str) -> SignIn:
    """Claim an attempt under the rate limits, then check the password (scrypt in a thread); open a session on success."""
    now = env.clock()
    name = name.strip()[:MAX_NAME]
    if not await env.db.write(_claim_attempt, name, ip, iso(now - WINDOW), iso(now), iso(now - 2 * WINDOW)):
        log.warning("sign-in rate limited", extra={"reviewer": name, "ip": ip})
        return SignIn(retry_after=int(WINDOW.total_seconds()))
    encoded = reviewers(env).get(name)
    if encoded is None:  # spend the same scrypt time so response times don't reveal who exists
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(await asyncio.to_thread(hash_password, "not-a-reviewer"))
        encoded = _DUMMY_HASH[0]
    ok = await asyncio.to_thread(verify_password, password, encoded) and name in reviewers(env)
    if not ok:  # the attempt is already recorded as a failure
        log.info("sign-in failed", extra={"reviewer": name, "ip": ip})
        return SignIn()
    sid = secrets.token_urlsafe(32)
    key = session_key(env)
    await env.db.write(_open_session, name, sid, iso(now), iso(now + timedelta(hours=SESSION_HOURS)),
                       credential_of(key, encoded))
    log.info("signed in", extra={"reviewer": name})
    return SignIn(session=Session(name, sid, csrf_for(key, sid)), cookie=sign(key, sid))


async def sign_out(env: Env, session: Session) -> None:
    """End the session server-side (the cookie stops working even if someone kept a copy)."""
    await env.db.write(lambda conn: conn.execute(END_SESSION, (iso(env.clock()), id_hash(session.sid))))


def client_address(peer: str, forwarded_for: str | None, trusted_proxies: Sequence[str]) -> str:
    """The address a request came from: the peer, or, from a trusted proxy, the nearest untrusted hop.

    X-Forwarded-For is read from the right, since a client can prepend anything but each trusted proxy
    appends the address it saw; the first address not in a trusted network is the client.
    """
    networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not forwarded_for or not trusted(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return hops[0] if hops else peer


def is_https(scheme: str, headers: Any) -> bool:
    """True when the request reached us (or the proxy in front of us) over HTTPS."""
    return scheme == "https" or (headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower() == "https"


def bearer_ok(env: Env, authorization: str | None) -> bool:
    """True if the Authorization header carries INTAKE_TOKEN (constant-time; never true when it is unset)."""
    if not env.secrets.intake_token or not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    expected = env.secrets.intake_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())
