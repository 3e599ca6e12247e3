"""The configured secrets' values are redacted wherever a log line quotes them, labelled or not (SPEC 3.2: secrets
never appear in logs): a token of any printable ASCII, an exception quoting a header, a URL's query."""

from __future__ import annotations

import argparse
import json
import logging
from urllib.parse import quote

import pytest

from worker import cli
from worker.config import Secrets, Settings
from worker.logs import redact, secret_values, secrets_pattern

# INTAKE_TOKEN may be any printable ASCII: quotes, a comma, a semicolon, braces, $ and a backslash end no value here.
TOKEN = 'Kq9"w,z;R{x}$y\\Tail-0f-t0ken'
HASH = "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGk"
WEBHOOK_KEY = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRETS_ENV = {
    "INTAKE_TOKEN": TOKEN,
    "NS_WEBHOOK_SECRET": f"whsec_{WEBHOOK_KEY} whsec_b2xkIG9sZCBvbGQgb2xkIGtleQ==",  # a rotation: two secrets
    "REVIEW_USERS": f"alice:{HASH}",
    "ANTHROPIC_API_KEY": "api03-Zx_9-notprefixed-abcdef",
    "AWS_ACCESS_KEY_ID": "AKIDSECRETTEST0123456",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "SESSION_SECRET": "s3ss10n-s3cr3t-0123456789abcdefghijklmnop",
}
# Pieces of each value that no redacted line may hold (the token's tail too: a pattern stopped at its quote).
LEAKS = ("Kq9", "Tail-0f", "t0ken", WEBHOOK_KEY[:12], "b2xkIG9s", "c2FsdHNh", "ZGlnZXN0", "Zx_9", "AKIDSECRET",
         "wJalrXU", "EXAMPLEKEY", "s3ss10n")


def assert_no_leak(text: str) -> None:
    for piece in LEAKS:
        assert piece not in text, (piece, text)


def lines_quoting(token: str) -> list[str]:
    """The token as an exception, a repr, a header dict, a URL's query and a JSON body would put it in a log line."""
    return [
        json.dumps({"msg": "call failed", "exc": f"ValueError: refused header {token!r}"}),
        json.dumps({"msg": f"headers={{'authorization': 'Bearer {token}'}}"}),
        json.dumps({"msg": "GET", "url": f"https://erp.example/api?token={quote(token, safe='')}&page=2"}),
        json.dumps({"msg": "GET", "url": f"https://erp.example/api?token={quote(token)}"}),
        json.dumps({"msg": "body", "body": json.dumps({"token": token, "n": 1})}),
        json.dumps({"msg": f"raw {token} end"}),
    ]


@pytest.mark.parametrize("line", lines_quoting(TOKEN))
def test_a_token_of_any_printable_ascii_is_redacted_whole_wherever_it_stands(line: str) -> None:
    assert "Tail-0f" in redact(line)  # the patterns alone leak the token's tail, or all of it
    redacted = redact(line, secrets_pattern([TOKEN]))
    assert "[redacted]" in redacted
    assert_no_leak(redacted)
    json.loads(redacted)  # still one JSON object


def test_a_secret_is_matched_where_a_character_begins_never_inside_an_escape() -> None:
    """Audit BX F3: a secret starting with n matched from inside an escaped newline, leaving a lone backslash."""
    pattern = secrets_pattern(["nQ3xY7zK9pLm"])
    inside = json.dumps({"msg": "line1\n" + "Q3xY7zK9pLm end"})  # not the secret: a newline, then its tail
    assert json.loads(redact(inside, pattern))["msg"] == "line1\nQ3xY7zK9pLm end"
    after_backslash = json.dumps({"msg": "C:\\" + "nQ3xY7zK9pLm end"})  # the secret after an escaped backslash
    assert json.loads(redact(after_backslash, pattern))["msg"] == "C:\\[redacted] end"


def test_values_too_short_to_be_secrets_are_never_replaced() -> None:
    # A short value would redact ordinary words ("request", "status") in every line.
    assert secrets_pattern(["request", "", "status"]) is None
    line = json.dumps({"msg": "request", "path": "/api/review-items", "status": 200})
    assert redact(line, secrets_pattern([TOKEN, "request"])) is line  # the fast path: the same line back


def test_each_secret_and_the_parts_it_could_be_logged_as() -> None:
    values = secret_values(Secrets.from_environ(SECRETS_ENV))
    for var, value in SECRETS_ENV.items():
        assert value in values, var
    # Each webhook secret of the rotation, with and without whsec_ (its base64 key, without padding).
    assert {f"whsec_{WEBHOOK_KEY}", WEBHOOK_KEY, "b2xkIG9sZCBvbGQgb2xkIGtleQ"} <= set(values)
    assert HASH in values and "alice" not in values  # the reviewer's hash, not the name
    pattern = secrets_pattern(values)
    line = json.dumps({"msg": f"HMAC key {WEBHOOK_KEY}=, reviewer alice has {HASH}",
                       "key": "b2xkIG9sZCBvbGQgb2xkIGtleQ==", "aws": SECRETS_ENV["AWS_SECRET_ACCESS_KEY"]})
    redacted = redact(line, pattern)
    assert_no_leak(redacted)
    assert "reviewer alice has [redacted]" in json.loads(redacted)["msg"]


def test_the_worker_logs_no_secret_even_unlabelled(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # Through worker.cli.main, which loads the secrets from the environment and configures the JSON logs: a command
    # logs an exception quoting the token, a URL with it as a query parameter, and the other secrets unlabelled.
    for var, value in SECRETS_ENV.items():
        monkeypatch.setenv(var, value)

    def command(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
        log = logging.getLogger("worker.test")
        token = secrets.intake_token.get_secret_value() if secrets.intake_token else ""
        try:
            raise ValueError(f"refused header {token!r}")
        except ValueError:
            log.exception("call failed", extra={"url": f"https://erp.example/api?token={quote(token, safe='')}"})
        log.warning("values %s", [v.get_secret_value() for _, v in secrets if v is not None])
        log.info("access line", extra={"path": "/api/review-items", "status": 200})
        return 0

    monkeypatch.setitem(cli.COMMANDS, "replay-dead-letters", command)
    assert cli.main(["replay-dead-letters", "--id", "1"]) == 0
    err = capsys.readouterr().err
    entries = [json.loads(line) for line in err.splitlines()]
    values = "values [" + ", ".join(["'[redacted]'"] * len(SECRETS_ENV)) + "]"
    assert [e["msg"] for e in entries] == ["call failed", values, "access line"]
    assert entries[0]["exc"].endswith("ValueError: refused header '[redacted]'")
    assert entries[0]["url"] == "https://erp.example/api?token=[redacted]"
    assert_no_leak(err)
