"""Security headers on every response (a before_send hook); a handler's own values win (the PDF's framing)."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import Headers

from worker.auth import is_https

# No inline script or style anywhere: one same-origin stylesheet, forms posting to ourselves.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
    b"content-security-policy": CSP.encode(),
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
}
# Litestar's own OpenAPI viewers load their scripts from a CDN; the strict policy would blank them.
EXEMPT_PREFIXES = ("/schema",)
# The JSON APIs answer to a reviewer's session cookie as well as a bearer token, with customer, order and AR
# data: no browser or shared cache may keep it, nor serve one caller's answer to another.
API_PREFIX = "/api/"
API_HEADERS = {b"cache-control": b"private, no-store", b"vary": b"Cookie, Authorization"}
# Only over HTTPS (ours or a proxy's): browsers ignore it on plain HTTP anyway.
HSTS = (b"strict-transport-security", b"max-age=31536000")


async def security_headers(message: Any, scope: Any) -> None:
    """Add the headers a response does not already carry."""
    if message["type"] != "http.response.start" or scope.get("type") != "http":
        return
    present = {name.lower() for name, _ in message.get("headers", [])}
    path = str(scope.get("path", ""))
    exempt = path.startswith(EXEMPT_PREFIXES)
    extra = [(name, value) for name, value in HEADERS.items()
             if name not in present and not (exempt and name in (b"content-security-policy", b"x-frame-options"))]
    if path.startswith(API_PREFIX):
        extra += [(name, value) for name, value in API_HEADERS.items() if name not in present]
    if HSTS[0] not in present and is_https(scope.get("scheme", ""), Headers.from_scope(scope)):
        extra.append(HSTS)
    message["headers"] = [*message.get("headers", []), *extra]
