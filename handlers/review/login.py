"""GET/POST /review/login and POST /review/logout."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromQuery
from litestar.response import Redirect

from handlers.review.web import checked_form, read_form, render, safe_next
from worker.auth import (
    COOKIE,
    LOGIN_COOKIE,
    SESSION_HOURS,
    Session,
    client_address,
    csrf_ok,
    is_https,
    reviewers,
    sign_in,
    sign_out,
)
from worker.env import Env


def _secure(request: Request[Any, Any, Any]) -> bool:
    return is_https(request.url.scheme, request.headers)


@get("/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], env: NamedDependency[Env],
                     next: FromQuery[str | None] = None) -> Response[Any]:
    """The sign-in form, with a double-submit CSRF token (there is no session yet)."""
    token = secrets.token_urlsafe(24)
    response = render(request, env, "login.html", None, login_csrf=token, next=safe_next(next), error=None)
    response.set_cookie(LOGIN_COOKIE, token, path="/review", httponly=True, samesite="strict", secure=_secure(request),
                        max_age=3600)
    return response


@post("/login", include_in_schema=False, status_code=303)
async def login_submit(request: Request[Any, Any, Any], env: NamedDependency[Env]) -> Response[Any]:
    """Check the token, the rate limit and the password; on success set the session cookie."""
    form = await read_form(request)
    if not csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
        raise PermissionDeniedException("the sign-in form expired; reload the page and try again")
    reviewers(env)  # fail loudly on a malformed REVIEW_USERS before counting anyone's attempts
    ip = client_address(request.client.host if request.client else "unknown", request.headers.get("x-forwarded-for"),
                        env.settings.review.trusted_proxies)
    result = await sign_in(env, str(form.get("username") or ""), str(form.get("password") or ""), ip)
    target = safe_next(form.get("next"))
    if result.cookie is None:
        token = request.cookies.get(LOGIN_COOKIE, "")
        limited = result.retry_after is not None
        error = ("Too many failed sign-ins. Wait 15 minutes and try again." if limited
                 else "Wrong name or password.")
        response = render(request, env, "login.html", None, code=429 if limited else 401, login_csrf=token,
                          next=target, error=error)
        if limited:
            response.headers["Retry-After"] = str(result.retry_after)
        return response
    response = Redirect(target, status_code=303)
    response.set_cookie(COOKIE, result.cookie, path="/", httponly=True, samesite="lax", secure=_secure(request),
                        max_age=SESSION_HOURS * 3600)
    response.delete_cookie(LOGIN_COOKIE, path="/review")
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
