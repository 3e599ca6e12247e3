"""Structured JSON logs with the request id of the request being served."""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import sys
import time
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_REQUEST_ID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the worker's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def request_id_from(header: bytes | None) -> str:
    """Reuse a caller's sane X-Request-ID (so traces join up), else make a new one."""
    if header and len(header) <= 64:
        text = header.decode("latin-1")
        if set(text) <= _REQUEST_ID_OK:
            return text
    return secrets.token_hex(8)


def request_id_of(scope: Any) -> str:
    """request_id_from an ASGI scope's X-Request-ID header."""
    return request_id_from(dict(scope.get("headers") or ()).get(b"x-request-id"))


# The method the client sent, when the app serves the request as another (worker.app.head_as_get: HEAD as GET).
ASKED_METHOD = "gfs.asked_method"


def request_id_middleware(app: Any) -> Any:
    """ASGI middleware: give every request an id, echo it in X-Request-ID, log one access line."""
    access = logging.getLogger("worker.access")

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = request_id_of(scope)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            if access.isEnabledFor(logging.INFO):
                access.info("request", extra={"method": scope.get(ASKED_METHOD, scope["method"]), "path": scope["path"], "status": status,
                                              "ms": round((time.perf_counter() - started) * 1000, 2)})
            request_id_var.reset(token)

    return middleware


async def ensure_request_id_header(message: Any, scope: Any) -> None:
    """before_send hook: responses the router answers itself (404, 405) get an X-Request-ID too."""
    if message["type"] == "http.response.start":
        headers = message.setdefault("headers", [])
        if not any(name.lower() == b"x-request-id" for name, _ in headers):
            rid = request_id_of(scope)
            message["headers"] = [*headers, (b"x-request-id", rid.encode())]
