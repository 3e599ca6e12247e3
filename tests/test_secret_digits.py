"""A configured secret made of digits is redacted where it stands alone, never inside a longer number: replacing the
middle of a bare JSON number ("count": 9[redacted]9) broke the log line's JSON."""

from __future__ import annotations

import json
import logging

import pytest

from tests.test_logs_secrets import lines_quoting
from worker.logs import JsonFormatter, hide_secrets, redact, secrets_pattern

DIGITS_SECRET = "12345678"
PIN = "4711-0815-2024"  # starts and ends with a digit, with dashes inside


@pytest.mark.parametrize("number", [9123456789, 123456789, 912345678, 1234567800012345678, -91234567890])
def test_a_number_merely_holding_the_secrets_digits_is_left_intact(number: int) -> None:
    line = json.dumps({"msg": "batch applied", "count": number, "ids": [number, 1]})
    redacted = redact(line, secrets_pattern([DIGITS_SECRET]))
    assert redacted == line
    assert json.loads(redacted)["count"] == number


@pytest.mark.parametrize("line", lines_quoting(DIGITS_SECRET) + lines_quoting(PIN))
def test_a_digit_secret_standing_alone_is_still_redacted_wherever_it_stands(line: str) -> None:
    redacted = redact(line, secrets_pattern([DIGITS_SECRET, PIN]))
    assert "[redacted]" in redacted and DIGITS_SECRET not in redacted and "0815" not in redacted, redacted
    json.loads(redacted)


@pytest.mark.parametrize(("text", "expected"), [
    (f"code {DIGITS_SECRET}.", "code [redacted]."),
    (f"key={DIGITS_SECRET}&n=2", "key=[redacted]&n=2"),
    (f"x-api-key: {DIGITS_SECRET}", "x-api-key: [redacted]"),
    (f"é{DIGITS_SECRET}", "é[redacted]"),  # after \u00e9: the escape's digit is no number's
    (f"→{DIGITS_SECRET}", "→[redacted]"),  # \u2192
    (f"line\n{DIGITS_SECRET}", "line\n[redacted]"),
    (f"q=a%20{DIGITS_SECRET}%40host", "q=a%20[redacted]%40host"),  # percent-encoded space and @ around it
    (f"pin {PIN} and {PIN}0 and 9{PIN}", f"pin [redacted] and {PIN}0 and 9{PIN}"),  # in longer numbers: left
])
def test_a_digit_secret_next_to_text_or_an_escape_is_redacted(text: str, expected: str) -> None:
    redacted = redact(json.dumps({"msg": text}), secrets_pattern([DIGITS_SECRET, PIN]))
    assert json.loads(redacted)["msg"] == expected


def test_a_log_record_with_a_long_count_stays_one_json_object() -> None:
    hide_secrets([DIGITS_SECRET])
    record = logging.LogRecord("worker.test", logging.INFO, __file__, 1, "sent %s", (DIGITS_SECRET,), None)
    record.count = 9123456789
    entry = json.loads(JsonFormatter().format(record))
    assert entry["msg"] == "sent [redacted]"
    assert entry["count"] == 9123456789


def test_a_number_that_is_the_secret_is_redacted_and_the_line_stays_json() -> None:
    # Before, "count": 12345678 became "count": [redacted]: no JSON, so a log shipper dropped the line.
    hide_secrets([DIGITS_SECRET])
    record = logging.LogRecord("worker.test", logging.INFO, __file__, 1, "sent", (), None)
    record.count, record.ids, record.ok, record.n = int(DIGITS_SECRET), [int(DIGITS_SECRET), 2], True, 3
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["count"], entry["ids"], entry["ok"], entry["n"]) == ("[redacted]", ["[redacted]", "2"], True, "3")
    plain = logging.LogRecord("worker.test", logging.INFO, __file__, 1, "sent %s", (DIGITS_SECRET,), None)
    plain.count = 3
    assert json.loads(JsonFormatter().format(plain))["count"] == 3  # numbers stay numbers unless one is the secret
