"""GET/POST /review/login and POST /review/logout."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect

from handlers.review.web import checked_form, read_form, render, safe_next
from worker.auth import (
    COOKIE,
    END_SESSION,
    LOGIN_COOKIE,
    MAX_NAME,
    SESSION_HOURS,
    Session,
    id_hash,
    client_address,
    csrf_ok,
    is_https,
    reviewers,
    session_key,
    sign,
    sign_in,
    sign_out,
    unsign,
)
from worker.env import Env, iso

LOGIN_TOKEN_SECONDS = 3600  # how long a sign-in form's token is good for
# A token younger than this is shown again rather than replaced, so a page shown with it has the rest to go.
LOGIN_TOKEN_REUSE = 1800
EXPIRED = "The sign-in form had expired; sign in again."
# A sign-in in a browser whose cookie names a live session of the same reviewer (same password) keeps that
# session, its end moved to the new one's: the forms open in other tabs carry its CSRF token.
KEEP_SESSION = """
UPDATE review_sessions AS kept SET expires_at = opened.expires_at
FROM review_sessions AS opened
WHERE opened.id_hash = :opened AND kept.id_hash = :kept AND kept.reviewer = opened.reviewer
  AND kept.credential = opened.credential AND kept.ended_at IS NULL AND kept.expires_at > opened.created_at
"""
DROP_SESSION = "DELETE FROM review_sessions WHERE id_hash = ?"  # the one just opened, never handed out


def _secure(request: Request[Any, Any, Any]) -> bool:
    return is_https(request.url.scheme, request.headers)


def new_login_token(key: bytes, now: int) -> str:
    """A sign-in form's double-submit token (pure but for the nonce): signed, saying when it was made."""
    return sign(key, f"{secrets.token_urlsafe(24)}.{now}", "login")


def login_token_age(key: bytes, token: str | None, now: int) -> int | None:
    """Seconds since a token of new_login_token was made (pure), or None if it is not one (or is from the future)."""
    value = unsign(key, token, "login")
    issued = value.rpartition(".")[2] if value else ""
    if not issued.isdigit() or int(issued) > now:
        return None
    return now - int(issued)


def _fresh_form(request: Request[Any, Any, Any], env: Env, *, code: int, next: str, error: str | None,
                username: str = "") -> Response[Any]:
    # The one place a token is minted: a new cookie with the form that carries it.
    token = new_login_token(session_key(env), int(env.clock().timestamp()))
    response = render(request, env, "login.html", None, code=code, login_csrf=token, next=next, error=error,
                      username=username)
    response.set_cookie(LOGIN_COOKIE, token, path="/review", httponly=True, samesite="strict", secure=_secure(request),
                        max_age=LOGIN_TOKEN_SECONDS)
    return response


def _settle_sessions(conn: sqlite3.Connection, opened: str, previous: str | None, now: str) -> bool:
    """After a sign-in opened session `opened` (an id hash): keep the browser's `previous` session instead when
    it is a live one of the same reviewer and password (True), else end it (one browser, one signed-in person)."""
    if previous is None:
        return False
    if conn.execute(KEEP_SESSION, {"opened": opened, "kept": previous}).rowcount == 1:
        conn.execute(DROP_SESSION, (opened,))
        return True
    conn.execute(END_SESSION, (now, previous))
    return False


@get("/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], env: NamedDependency[Env],
                     next: FromQuery[str | None] = None) -> Response[Any]:
    """The sign-in form, with a double-submit CSRF token (there is no session yet).

    A recent token in the browser is reused, not replaced: two tabs on this page (a session that ended
    under both) then carry the same token, and signing in from either works.
    """
    token = request.cookies.get(LOGIN_COOKIE)
    age = login_token_age(session_key(env), token, int(env.clock().timestamp()))
    if age is None or age >= LOGIN_TOKEN_REUSE:
        return _fresh_form(request, env, code=200, next=safe_next(next), error=None)
    return render(request, env, "login.html", None, login_csrf=token, next=safe_next(next), error=None, username="")


@post("/login", include_in_schema=False, status_code=303)
async def login_submit(request: Request[Any, Any, Any], env: NamedDependency[Env]) -> Response[Any]:
    """Check the token, the rate limit and the password; on success set the session cookie.

    Signing in again as the reviewer whose live session the browser has keeps that session (and so the CSRF token
    of every form open in its other tabs); signing in as someone else ends it.
    """
    form = await read_form(request)
    target = safe_next(form.get("next"))
    username = str(form.get("username") or "").strip()[:MAX_NAME]
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    age = login_token_age(session_key(env), cookie, int(env.clock().timestamp()))
    if not csrf_ok(cookie, form.get("csrf")) or age is None or age >= LOGIN_TOKEN_SECONDS:
        # Nothing is checked without the form's own token; the form comes back with a new one (not a dead end).
        return _fresh_form(request, env, code=403, next=target, error=EXPIRED, username=username)
    reviewers(env)  # fail loudly on a malformed REVIEW_USERS before counting anyone's attempts
    ip = client_address(request.client.host if request.client else "unknown", request.headers.get("x-forwarded-for"),
                        env.settings.review.trusted_proxies)
    result = await sign_in(env, str(form.get("username") or ""), str(form.get("password") or ""), ip)
    if result.cookie is None or result.session is None:
        limited = result.retry_after is not None
        error = ("Too many failed sign-ins. Wait 15 minutes and try again." if limited
                 else "Wrong name or password.")
        response = render(request, env, "login.html", None, code=429 if limited else 401, login_csrf=cookie,
                          next=target, error=error, username=username)
        if limited:
            response.headers["Retry-After"] = str(result.retry_after)
        return response
    # Only a cookie we signed names a session, and only a live one of this reviewer is kept: never one the
    # client chose (no session fixation).
    key = session_key(env)
    previous = unsign(key, request.cookies.get(COOKIE))
    kept = await env.db.write(_settle_sessions, id_hash(result.session.sid), id_hash(previous) if previous else None,
                              iso(env.clock()))
    response = Redirect(target, status_code=303)
    response.set_cookie(COOKIE, sign(key, previous) if kept and previous else result.cookie, path="/", httponly=True,
                        samesite="lax", secure=_secure(request), max_age=SESSION_HOURS * 3600)
    # The sign-in token is kept until it expires: another tab's sign-in form carries it too.
    return response


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any], env: NamedDependency[Env],
                 session: NamedDependency[Session]) -> Response[Any]:
    """End the session (server-side too) and drop the cookie."""
    await checked_form(request, session)
    await sign_out(env, session)
    response = Redirect("/review/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
