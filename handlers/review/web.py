"""What every review page shares: templates, the session guard, CSRF, notices and HTML error pages."""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import (
    ClientException,
    HTTPException,
    PermissionDeniedException,
)
from litestar.params import PathParameter, QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from litestar.types import ExceptionHandler

from worker.auth import (
    COOKIE,
    Session,
    csrf_ok,
    current_session,
    is_https,
    session_key,
    sign,
    unsign,
)
from worker.db import MAX_ROWID
from worker.env import Env
from worker.pricing import price_text

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
NOTICE_COOKIE = "gfs_notice"
# worker.auth.unsign refuses tokens over 256 characters: base64 of 159 bytes, ".", a 43-character signature.
NOTICE_MAX_BYTES = 159
# SQLite rowids are signed 64-bit; a larger cursor must be a 400 here, not an OverflowError in sqlite3.
Cursor = Annotated[int, QueryParameter(ge=0, le=MAX_ROWID, description="the next page's cursor (a row id)")]
RowId = Annotated[int, PathParameter(ge=0, le=MAX_ROWID, description="a row id")]  # an item's or an action's


BAD_TOKEN = "the form's security token is missing or out of date; reload the page and try again"


class SignInRequired(Exception):
    """A review page was asked for without a live session."""


def money(value: Any) -> str:
    """1234.5 -> '1,234.50' (blank for None)."""
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except ArithmeticError:
        return str(value)


def unit_price(value: Any) -> str:
    """A unit price: cents, or up to four decimals when it has them (0.0345, not money's 0.03)."""
    return "" if value is None or value == "" else price_text(value)


def percent(value: Any) -> str:
    """0.934 -> '93%' (blank for None)."""
    return "" if value is None else f"{float(value) * 100:.0f}%"


def flag_text(flag: Any) -> str:
    """A flag from flags_json as short text (strings as-is, objects by their code)."""
    if isinstance(flag, dict):
        return str(flag.get("code") or flag.get("message") or json.dumps(flag))
    return str(flag)


SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}  # the worst of a group's flags colours it


def flag_note(flag: Any) -> str | None:
    """A flag's message, led by its line when it names one the message does not start with; None without one."""
    if not isinstance(flag, dict) or not flag.get("message"):
        return None
    message, line = str(flag["message"]), flag.get("line_no")
    return message if line in (None, "") or message.startswith(f"line {line}") else f"line {line}: {message}"


def flag_groups(flags: Any, findings: Any = None) -> list[dict[str, Any]]:
    """The item's flags by code, in the order first seen: code, count, worst severity, and each one's note (pure).

    A flag repeating a parser finding's message gives no note: the page lists the findings themselves.
    """
    listed = {str(f.get("message")) for f in findings if isinstance(f, dict)} if isinstance(findings, list) else set()
    groups: dict[str, dict[str, Any]] = {}
    for flag in flags if isinstance(flags, list) else [flags] if flags else []:
        known = flag if isinstance(flag, dict) else {}
        code = str(known.get("code") or "note") if known else flag_text(flag)
        group = groups.setdefault(code, {"code": code, "count": 0, "severity": "info", "notes": []})
        group["count"] += 1
        severity = str(known.get("severity") or "warning")
        severity = severity if severity in SEVERITY_RANK else "warning"
        if SEVERITY_RANK[severity] < SEVERITY_RANK[group["severity"]]:
            group["severity"] = severity
        if (note := flag_note(flag)) and str(known.get("message")) not in listed:
            group["notes"].append(note)
    return list(groups.values())


def jinja_environment() -> Environment:
    """The Jinja2 environment of the review pages (autoescape on for every template)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(money=money, unit_price=unit_price, percent=percent, flag_text=flag_text,
                       flag_groups=flag_groups)
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Litestar's template config around our Jinja2 environment."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja_environment()))


async def page_session(request: Request[Any, Any, Any], env: NamedDependency[Env]) -> Session:
    """Dependency for pages: the reviewer's session, or a redirect to the sign-in page."""
    session = await current_session(env, request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired()
    return session


async def read_form(request: Request[Any, Any, Any]) -> Any:
    """The POSTed form; 400 when a field is not text in its charset (UTF-8 unless the part names another).

    Litestar lets the codec's error escape as a 500, and its message and the logged traceback describe
    the field's bytes, which may be a password: neither is passed on.
    """
    try:
        return await request.form()
    except (UnicodeDecodeError, LookupError):  # LookupError: a multipart part named a charset Python lacks
        raise ClientException("form is not UTF-8 text") from None


async def checked_form(request: Request[Any, Any, Any], session: Session) -> Any:
    """The POSTed form, once its CSRF token matched the session's (403 otherwise, before anything is done)."""
    form = await read_form(request)
    if not csrf_ok(session.csrf, form.get("csrf")):
        raise PermissionDeniedException(BAD_TOKEN)
    return form


# A form loaded under an earlier sign-in (another tab's, or one since ended) carries a token shaped as ours
# (auth.csrf_for: an unpadded base64url HMAC-SHA256) that is not this session's.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
STALE_TOKEN = ("Nothing was done: this form was loaded under an earlier sign-in, so its security token is out of "
               "date. It is shown again as you sent it; check it and send it again.")


async def posted_form(request: Request[Any, Any, Any], session: Session) -> tuple[Any, bool]:
    """The POSTed form and whether its CSRF token is the session's; 403 when it carries no token shaped as ours.

    On False the caller only shows the form again as posted (422, STALE_TOKEN), with this session's token, and
    does nothing else: a stale token never applies a change, and the reviewer's typing is not lost.
    """
    form = await read_form(request)
    token = form.get("csrf")
    if csrf_ok(session.csrf, token):
        return form, True
    if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
        raise PermissionDeniedException(BAD_TOKEN)
    return form, False


def render(request: Request[Any, Any, Any], env: Env, name: str, session: Session | None, *, code: int = 200,
           **context: Any) -> Template:
    """Render a page with the shared context (reviewer, CSRF token, one-time notice)."""
    notice = _take_notice(request, env)
    response = Template(template_name=name, status_code=code, context={
        "session": session, "csrf": session.csrf if session else "", "notice": notice, "path": request.url.path,
        **context,
    }, headers={"Cache-Control": "no-store"})
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/review")
    return response


def redirect_with_notice(request: Request[Any, Any, Any], env: Env, path: str, message: str) -> Redirect:
    """303 to path, carrying a one-time notice in a signed cookie (no user text in URLs); Secure over HTTPS, as the
    session's is, so it never travels over plain HTTP to be replayed there."""
    response = Redirect(path, status_code=303)
    key = session_key(env)
    # Cut a long notice to what fits in the token rather than have it dropped silently when read back.
    text = message.encode()[:NOTICE_MAX_BYTES].decode(errors="ignore").encode()
    token = sign(key, base64.urlsafe_b64encode(text).decode(), "notice")
    response.set_cookie(NOTICE_COOKIE, token, path="/review", httponly=True, samesite="lax", max_age=60,
                        secure=is_https(request.url.scheme, request.headers))
    return response


def _take_notice(request: Request[Any, Any, Any], env: Env) -> str | None:
    value = unsign(session_key(env), request.cookies.get(NOTICE_COOKIE), "notice")
    try:
        return base64.urlsafe_b64decode(value.encode()).decode() if value else None
    except ValueError:
        return None


# The longest post-sign-in target kept: a filtered list's URL (kind 64, customer 32 characters, percent-encoded)
# is well under it; the sign-in URL carries it encoded again.
MAX_NEXT = 2048
NEXT_PREFIXES = ("/review/", "/review?")  # under /review: its pages, or the queue with a query

# The page each review form is on. After signing in the browser GETs `next`, and a form's own path
# answers only POST: a form sent after its session ended must lead back to its page, not to a 405.
FORM_PAGES = ((re.compile(r"/review/orders/(\d+)/(?:approve|reject)"), "/review/orders/{0}"),
              (re.compile(r"/review/actions/\d+"), "/review/actions"),
              (re.compile(r"/review/observations"), "/review/observations"))


def form_page(path: str) -> str:
    """The page a review form posted to `path` is on (pure); the queue for a path that is no form's."""
    for pattern, page in FORM_PAGES:
        if found := pattern.fullmatch(path):
            return page.format(*found.groups())
    return "/review"


def referer_query(referer: str | None, host: str, page: str) -> str:
    """The query string of the page a form was sent from (pure): the Referer's, only when it names `page` on this
    site (Host). Our Referrer-Policy (same-origin) sends it for our own forms; no Referer, or another one, gives ""."""
    try:
        parts = urlsplit(referer or "")
    except ValueError:
        return ""
    ours = parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()
    return parts.query if ours and parts.path == page else ""


def signin_next(method: str, path: str, query: str, referer: str | None = None, host: str = "") -> str:
    """Where to go after signing in (pure): the page that was asked for with its query string, or for a form POST
    the page the form is on, with that page's query (its filters) when the Referer shows it. The POST itself is
    never replayed. A query that would make the target longer than safe_next allows is left out, not the page."""
    if method in ("GET", "HEAD"):
        page = path
    else:
        page = form_page(path)
        query = referer_query(referer, host, page)
    target = page + (f"?{query}" if query else "")
    return target if len(target) <= MAX_NEXT else page


def _signin_redirect(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    target = signin_next(request.method, request.url.path, request.url.query, request.headers.get("referer"),
                         request.headers.get("host", ""))
    return Redirect(f"/review/login?next={quote(target, safe='')}", status_code=303)


def error_detail(exc: HTTPException) -> str:
    """The error's detail, plus which parameter was wrong and why (Litestar keeps that in `extra`, not `detail`)."""
    found = exc.extra if isinstance(exc.extra, list) else []
    problems = [f"{e['key']}: {e.get('message')}" if e.get("key") else str(e.get("message"))
                for e in found if isinstance(e, dict)]
    return f"{exc.detail} ({'; '.join(problems)})" if problems else exc.detail


# The tab an error page leads back to, by the failed path's first segment under /review; Orders for any other.
BACK_TABS = {"actions": ("/review/actions", "Actions"), "observations": ("/review/observations", "Observations")}
ORDERS_TAB = ("/review", "Orders")


def back_tab(path: str) -> tuple[str, str]:
    """The tab (href, name) an error at `path` leads back to (pure): only our constants, never the path itself."""
    segment = path.removeprefix("/review/").split("/", 1)[0] if path.startswith("/review/") else ""
    return BACK_TABS.get(segment, ORDERS_TAB)


def _error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    back_href, back_name = back_tab(request.url.path)
    return Template(template_name="error.html", status_code=exc.status_code,
                    context={"status": exc.status_code, "detail": error_detail(exc), "session": None, "csrf": "",
                             "notice": None, "path": request.url.path, "back_href": back_href,
                             "back_name": back_name},
                    headers={"Cache-Control": "no-store", **(exc.headers or {})})


PAGE_EXCEPTION_HANDLERS = {SignInRequired: _signin_redirect, HTTPException: _error_page}


def reloaded_form(method: str, path: str, status: int) -> str | None:
    """Where a GET of a form's own path goes (pure): the form's page, 303; None for any other request.

    A form shown again as posted (Search, Add rows, a refusal) leaves its POST URL in the address bar: a reload
    after confirming nothing, Back, or the URL opened again must not be a 405.
    """
    if status != 405 or method not in ("GET", "HEAD") or form_page(path) == "/review":
        return None
    return form_page(path)


def in_review(path: str) -> bool:
    """Whether a path is the review section's (pure): /review and below, not /reviewer."""
    return path == "/review" or path.startswith("/review/")


def review_pages_or(other: ExceptionHandler) -> ExceptionHandler:
    """An app-level HTTPException handler: the review error page under /review, `other` (problem JSON) elsewhere.

    A request that matched no route (404, or 405 for a method its page lacks) fails before routing, so the review
    router's own handlers never see it. No session is read: signed in or not, it is the same page.
    """

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if in_review(request.url.path) and isinstance(exc, HTTPException):
            if (target := reloaded_form(request.method, request.url.path, exc.status_code)) is not None:
                return Redirect(target, status_code=303)
            return _error_page(request, exc)
        return other(request, exc)

    return handle


def safe_next(target: str | None) -> str:
    """Only a same-site path under /review is a post-sign-in target (no open redirect); anything else is the queue.

    Refused: another site (`//host`, `/\\host`, `https://...`), a path beside /review (`/reviewer`), a backslash
    (browsers read it as `/`), control characters (CR/LF, tab, NUL: browsers drop some, which would change the path),
    and more than MAX_NEXT characters.
    """
    if (target and len(target) <= MAX_NEXT and (target == "/review" or target.startswith(NEXT_PREFIXES))
            and not target.startswith("//") and "\\" not in target and target.isprintable()):
        return target
    return "/review"
