"""Structured JSON logs with the request id of the request being served."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from worker.webhooks import SECRET_PREFIX

if TYPE_CHECKING:
    from worker.config import Secrets

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_REQUEST_ID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# --log-level applies to these loggers (all of the worker's); libraries log at INFO and above whatever it is:
# at DEBUG botocore logs each request's signed Authorization header (replayable while its clock skew allows) and
# body, the anthropic SDK and httpx their requests, aiosqlite every query's parameters, aiosmtpd the mail.
OWN_LOGGERS = ("worker",)
LIBRARY_LEVEL = logging.INFO
# Belt and braces for a library logging at DEBUG anyway (ANTHROPIC_LOG=debug, or a handler of its own level):
# a credential in a log line keeps its name and loses its value. Applied to the JSON line, where quotes and
# backslashes are escaped, so a value ends at a quote, a backslash, a space, a comma, a slash or a brace.
# botocore.auth also logs a SigV4 signature alone, "Signature:\n<64 hex>" (a newline the JSON line spells \n):
# that form is redacted only when hex follows, so a message such as "no valid signature: none of..." stays.
# A temporary credential's session token (X-Amz-Security-Token, as a presigned URL's query parameter or a header) is
# base64, so its value runs on through / + and = (URL-encoded in a query: up to the next &). A bearer token runs on
# through every character but those that end a value (INTAKE_TOKEN may be any printable ASCII: slashes, $, !, :).
_CREDENTIAL = re.compile(
    r"(?i)(Signature=|Credential=|x-api-key[\\'\"]*\s*[:=]\s*b?[\\'\"]*)[^\s\\'\",;/}]+"
    r"|(sk-ant-|whsec_)[\w+/=-]+"
    r"|(\bBearer\s+)[^\s\\'\",;}]+"
    r"|(Signature:(?:\s|\\[nrt])*)[0-9a-f]{16,}"
    r"|(x-amz-security-token[\\'\"]*\s*[:=]\s*b?[\\'\"]*)[\w+/=%.~-]+")
_CREDENTIAL_WORDS = ("signature=", "signature:", "credential=", "bearer", "x-api-key", "sk-ant-", "whsec_",
                     "x-amz-security-token")


REDACTED = "[redacted]"
# The patterns above cannot tell where a secret of any printable ASCII ends (a quote, a comma or a brace inside
# INTAKE_TOKEN), nor catch one logged without its label (an exception quoting a header, a URL's query, the AWS secret
# key, SESSION_SECRET): the configured values themselves are redacted too, wherever they stand. Shorter values are
# skipped so that an ordinary word is never replaced.
MIN_SECRET_LENGTH = 8
# A value that starts (ends) with a digit is not matched after (before) another digit: inside a longer number (a bare
# JSON number such as a count) it is not the secret, and "9[redacted]9" would break the line's JSON. A digit ending an
# escape (\u2192 for a non-ASCII character, %20 in a URL) is no number's: the secret after it is still redacted.
_DIGITS = "0123456789"  # ASCII only: str.isdigit is true of others, which no JSON number holds
_NOT_AFTER_A_DIGIT = r"(?:(?<![0-9])|(?<=\\u[0-9a-fA-F]{4})|(?<=%[0-9a-fA-F]{2}))"
_NOT_BEFORE_A_DIGIT = r"(?![0-9])"
_secrets: re.Pattern[str] | None = None  # the configured secrets' pattern (hide_secrets): the only state


def secret_values(secrets: Secrets) -> list[str]:
    """Each configured secret's value, and the parts one could be logged as alone: each webhook secret of a rotation
    with and without `whsec_` (its base64 key, unpadded), each reviewer's password hash."""
    values = []
    for field, secret in secrets:
        if secret is None:
            continue
        value = secret.get_secret_value()
        values.append(value)
        if field == "ns_webhook_secret":
            for part in value.split():
                values += [part, part.removeprefix(SECRET_PREFIX).rstrip("=")]
        elif field == "review_users":
            values += [entry.partition(":")[2].strip() for entry in value.split(",")]
    return values


def secrets_pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation of the values as they can stand in a JSON log line: as they are, in a repr, in JSON, or
    percent-encoded (a URL's query), then JSON-escaped by the line itself; longest first, so none is cut short."""
    forms: dict[str, str] = {}  # each form: its pattern
    for value in values:
        if len(value) >= MIN_SECRET_LENGTH:
            # The value's edges, not each form's: a form ending in an escape's digit (%21, \u00e9) ends the secret.
            before = _NOT_AFTER_A_DIGIT if value[0] in _DIGITS else ""
            after = _NOT_BEFORE_A_DIGIT if value[-1] in _DIGITS else ""
            for text in (value, repr(value)[1:-1], json.dumps(value)[1:-1], quote(value, safe=""), quote(value)):
                form = json.dumps(text)[1:-1]
                forms.setdefault(form, f"{before}{re.escape(form)}{after}")
    if not forms:
        return None
    # Only where a character of the line begins, never inside an escape such as \n (whose n a secret could start
    # with): replacing from there would leave a lone backslash and an invalid JSON line. Group 1 keeps the escaped
    # backslashes (\\) before the value.
    alternation = "|".join(forms[form] for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!\\)((?:\\\\)*)(?:{alternation})")


def redact_text(text: str) -> str:
    """Plain text (a `worker: ...` message on stderr, not a log line) redacted as a log line quoting it would be:
    the secrets hide_secrets registered (none before) and the labelled credentials."""
    # Through its JSON string, the form the patterns are written for (escapes, the quoted forms): the same
    # redaction as a log line's, not a second copy of it. The text comes back unchanged when nothing matches.
    return json.loads(redact(json.dumps(text), _secrets))


def print_traceback(kind: type[BaseException], exc: BaseException, tb: TracebackType | None, *, heading: str = "") -> None:
    """Print on stderr the traceback Python would (after `heading`), redacted by redact_text: a bug's report keeps
    its stack, and an exception's text may quote a secret (a connection string, an endpoint URL with its keys)."""
    sys.stderr.write(redact_text(heading + "".join(traceback.format_exception(kind, exc, tb))))
    sys.stderr.flush()


def _print_thread_traceback(args: threading.ExceptHookArgs) -> None:
    """threading.excepthook: a thread's uncaught exception as the default hook prints it, redacted."""
    if args.exc_type is SystemExit or args.exc_value is None:  # the default hook is silent on SystemExit too
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    print_traceback(args.exc_type, args.exc_value, args.exc_traceback, heading=f"Exception in thread {name}:\n")


def redact_tracebacks() -> None:
    """From now on the tracebacks Python prints itself (an uncaught exception's, a thread's) are redacted.

    Those logged go through JsonFormatter already (asyncio's "Task exception was never retrieved" among them)."""
    sys.excepthook = print_traceback
    threading.excepthook = _print_thread_traceback


def hide_secrets(values: Iterable[str]) -> None:
    """Redact these values in every log line from now on (replacing those registered before; () for none)."""
    global _secrets
    _secrets = secrets_pattern(values)


def redact(line: str, secrets: re.Pattern[str] | None = None) -> str:
    """The line with credentials' values, and the `secrets` (secrets_pattern), replaced by [redacted] (SPEC: secrets
    never appear in logs)."""
    if secrets is not None:  # first: a value the patterns below cut short at a quote would no longer match whole
        line = secrets.sub(rf"\1{REDACTED}", line)  # a few us a line; the same str when none occurs
    lowered = line.lower()  # 2 us a line; the case-insensitive pattern alone took 36 us on every access line
    if not any(word in lowered for word in _CREDENTIAL_WORDS):
        return line
    return _CREDENTIAL.sub(lambda m: f"{next(name for name in m.groups() if name)}{REDACTED}", line)


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
        line = redact(raw := json.dumps(entry, default=str), _secrets)
        if line != raw and not _is_json(line):  # a digit secret that is a whole JSON number ("count": [redacted])
            line = redact(json.dumps(_numbers_as_text(entry), default=str), _secrets)
        return line


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _numbers_as_text(value: Any) -> Any:
    """The entry with its numbers as strings, so a secret that is a whole number is redacted inside a string."""
    if isinstance(value, dict):
        return {key: _numbers_as_text(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_as_text(v) for v in value]
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def configure_logging(level: str = "INFO") -> None:
    """Send the logs to stderr as JSON lines: the worker's own at `level`, libraries' at INFO or above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.getLevelName(level.upper()), LIBRARY_LEVEL))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())


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
