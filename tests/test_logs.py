"""--log-level and secrets: DEBUG is the worker's own, and no log line carries a credential (SPEC 3: secrets never
appear in logs). The S3 calls are real ones, through the storage client, against the session's SeaweedFS."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from worker.logs import OWN_LOGGERS, JsonFormatter, configure_logging, redact
from worker.seaweed import EmbeddedS3
from worker.storage import Bucket

ACCESS_KEY, SECRET_KEY = "AKIDLOGTEST0123456789", "SKLOGTEST/abcdefghijklmnopqrstuvwxyz0123"
# botocore logs the header (Signature=...) and, on a line of its own, the value (Signature:\n...), which the
# JSON line spells with a backslash and an n.
SIGNATURE = re.compile(r"Signature(=|:(\s|\\[nrt])*)[0-9a-f]{16}")
# The logging before test_configure_logging_in_a_test_under_capsys, for the test after it (file order).
_BEFORE: dict[str, Any] = {}


async def s3_round_trip(s3: EmbeddedS3, bucket_name: str) -> None:
    bucket = Bucket(s3.endpoint, bucket_name, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    await bucket.ensure_bucket()
    await bucket.put("logs/x", b"body of the object")
    assert await bucket.get("logs/x") == b"body of the object"


def assert_no_credential(err: str) -> None:
    assert ACCESS_KEY not in err and SECRET_KEY not in err and SECRET_KEY.split("/")[1] not in err
    assert not SIGNATURE.search(err), err


async def test_debug_is_the_worker_s_own_and_an_s3_call_logs_no_signature(s3: EmbeddedS3, bucket_name: str,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # At DEBUG, botocore logged every request's Authorization header: the access key and a signature an
    # eavesdropper on the logs could replay within the clock-skew window, and the request bodies.
    configure_logging("DEBUG")
    logging.getLogger("worker.cron").debug("the worker's own debug line")
    await s3_round_trip(s3, bucket_name)
    err = capsys.readouterr().err
    assert_no_credential(err)
    loggers = {json.loads(line)["logger"] for line in err.splitlines()}
    assert "worker.cron" in loggers
    assert not {name for name in loggers if name.split(".")[0] in ("botocore", "boto3", "s3transfer", "urllib3")}


async def test_a_library_logging_at_debug_anyway_has_its_credentials_redacted(
        s3: EmbeddedS3, bucket_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("botocore").setLevel(logging.DEBUG)  # as a library's own setting could (ANTHROPIC_LOG=debug)
    await s3_round_trip(s3, bucket_name)
    err = capsys.readouterr().err
    assert "Signature=[redacted]" in err and "Credential=[redacted]/" in err  # it did log the header
    assert "Signature:\\n[redacted]" in err  # and botocore.auth the signature alone
    assert_no_credential(err)


@pytest.mark.parametrize(("text", "kept"), [
    ("headers={'x-api-key': 'sk-ant-api03-Zx_9-abc', 'X-Stainless-Lang': 'python'}", "'X-Stainless-Lang'"),
    ('{"X-Api-Key": "plainkey123"}', '"X-Api-Key": "[redacted]"'),
    ("Authorization: Bearer tok.123-abc", "Authorization: Bearer [redacted]"),
    ("Authorization: Bearer tok/456+xyz==", "Authorization: Bearer [redacted]"),  # a base64 token's slashes
    ("{'authorization': 'Bearer Kq9$w!zR@3#pL:xY%8^vT&2*nB?c'}", "'Bearer [redacted]'"),  # any printable ASCII
    ("secrets whsec_MfKQ9r8G+/KYq== and whsec_b2xk", "secrets whsec_[redacted] and whsec_[redacted]"),
    ("Signature:\nb21f280c74076d868f510de4de0ec755d8ffa5ae4d021c2b2bfa8de712ac16b2", "Signature:\n[redacted]"),
    ("X-Amz-Signature=5e0d1c2b3a49 X-Amz-Credential=AKIDQ/20261124", "X-Amz-Signature=[redacted] X-Amz-Credential="),
])
def test_credentials_lose_their_values_in_a_log_line(text: str, kept: str) -> None:
    line = redact(json.dumps({"msg": text}))
    assert kept in json.loads(line)["msg"]
    assert not re.search(r"sk-ant-api|Zx_9|plainkey|tok\.123|456|xyz|zR@3|nB\?c|MfKQ|b2xk|b21f28|5e0d1c|AKIDQ", line), line


# A temporary credential's session token (base64: / + and = inside) in a presigned URL, a header and a header dict.
TOKEN, TOKEN_QUERY = "FwoGZXIvYXdzEJr//+tOk3n==", "FwoGZXIvYXdzEJr%2F%2F%2BtOk3n%3D%3D"
PRESIGNED = ("https://s3.example/gfs/raw/x.eml?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDQ%2F20261124%2F"
             "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261124T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
             f"&X-Amz-Security-Token={TOKEN_QUERY}&X-Amz-Signature=b21f280c74076d868f510de4de0ec755")


@pytest.mark.parametrize(("text", "kept"), [
    (f"GET /x.eml?X-Amz-Security-Token={TOKEN_QUERY}&X-Amz-Signature=5e0d1c2b3a49",
     "?X-Amz-Security-Token=[redacted]&X-Amz-Signature=[redacted]"),
    (f"x-amz-security-token: {TOKEN}\r\nhost: s3.example", "x-amz-security-token: [redacted]\r\nhost: s3.example"),
    (f"headers={{'X-Amz-Security-Token': b'{TOKEN}', 'X-Amz-Date': b'20261124T000000Z'}}",
     "{'X-Amz-Security-Token': b'[redacted]', 'X-Amz-Date': b'20261124T000000Z'}"),
    (json.dumps({"X-Amz-Security-Token": TOKEN, "Host": "s3.example"}),
     '{"X-Amz-Security-Token": "[redacted]", "Host": "s3.example"}'),
    (f"X-Amz-Security-Token={TOKEN_QUERY}", "X-Amz-Security-Token=[redacted]"),
    ("?X-Amz-Credential=AKIDQ%2F20261124%2Fus-east-1%2Fs3%2Faws4_request", "?X-Amz-Credential=[redacted]"),
    ("&X-Amz-Signature=5e0d1c2b3a49f7", "&X-Amz-Signature=[redacted]"),
    (PRESIGNED, "https://s3.example/gfs/raw/x.eml?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[redacted]"),
])
def test_a_session_token_and_a_presigned_url_s_credentials_lose_their_values(text: str, kept: str) -> None:
    line = redact(json.dumps({"msg": text}))
    assert kept in json.loads(line)["msg"]
    assert not re.search(r"FwoGZX|EJr|tOk3n|AKIDQ|5e0d1c|b21f28", line), line


def test_a_line_without_credentials_is_unchanged() -> None:
    line = json.dumps({"msg": "request", "path": "/api/review-items", "status": 200, "note": "Signature checks"})
    assert redact(line) is line
    # A signature is hex: the webhook verifier's message after "signature:" is words, and stays.
    line = json.dumps({"msg": "no valid signature: none of the v1 signatures matches the body"})
    assert redact(line) == line
    # The header's name alone, or the words, are no credential.
    line = json.dumps({"msg": "presign: temporary credentials need X-Amz-Security-Token; the security token expired"})
    assert redact(line) == line


def test_configure_logging_in_a_test_under_capsys(capsys: pytest.CaptureFixture[str]) -> None:
    # As tests/test_audit_bk.py does through worker.cli.main: the root's handler becomes capsys's stderr.
    root = logging.getLogger()
    _BEFORE.update(handlers=root.handlers[:], levels=[logging.getLogger(n).level for n in ("", *OWN_LOGGERS)])
    configure_logging("DEBUG")
    logging.getLogger("worker.cron").debug("into capsys")
    assert "into capsys" in capsys.readouterr().err


def test_the_next_test_has_the_logging_it_had_before(capsys: pytest.CaptureFixture[str]) -> None:
    # conftest's restore_logging: without it the root kept a handler on the closed capsys buffer, and every later
    # record printed "--- Logging error --- ValueError: I/O operation on closed file".
    root = logging.getLogger()
    assert not any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers)
    if _BEFORE:  # the test before ran
        assert root.handlers == _BEFORE["handlers"]
        assert [logging.getLogger(n).level for n in ("", *OWN_LOGGERS)] == _BEFORE["levels"]
    logging.getLogger("worker.cron").warning("after the test that configured logging")
    assert "Logging error" not in capsys.readouterr().err
