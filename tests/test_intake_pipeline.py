"""The pipeline in-process (real SQLite, SeaweedFS): vision path, spool upload, bounded retries, stuck claims."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import threading
import time
from datetime import timedelta
from typing import ClassVar

import anthropic
import httpx2
import pytest

from cron.intake import retry_failed_intake, upload_spooled_mail
from tests.test_email_fixtures import (
    DRISCOLL,
    order_email,
    order_pdf,
    refusing_s3,
    scanned_pdf,
)
from tests.claude_support import mock_claude, replying
from worker.config import Secrets
from worker.env import Env
from worker.intake import analyze, isolated, pipeline
from worker.intake.pipeline import MAX_ATTEMPTS, process_email
from worker.intake.store import accept_raw
from worker.po.vision import TOOL_NAME
from worker.seaweed import EmbeddedS3, free_port
from worker.storage import Bucket

VISION_ORDER = {
    "po_number": "SCAN-4411", "po_date": "2026-03-02", "requested_ship_date": "2026-03-05", "buyer": "Driscoll Foods",
    "bill_to": ["Driscoll Foods", "17 Industrial Road"], "ship_to": [], "currency": "USD",
    "lines": [{"line_no": 1, "customer_item_code": "DF-10023", "vendor_item_code": None,
               "description": "CHICKEN BREAST BNLS 4OZ IQF 10# CS", "quantity": 12, "uom": "CS",
               "unit_price": 45.5, "amount": 546.0}],
    "subtotal": 546.0, "freight": None, "tax": None, "total": 546.0, "other_charges": []}




def _tool_reply(tool_input: dict) -> dict:
    return {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-6", "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 2095, "output_tokens": 503},
            "content": [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": TOOL_NAME,
                         "input": tool_input}]}


async def _row(env: Env, sql: str, *params: object) -> dict:
    found = await env.db.fetchone(sql, params)
    return dict(found) if found else {}



async def test_scanned_pdf_goes_to_claude_when_a_key_is_set(seeded: Env) -> None:
    seen: list = []
    seeded.secrets = Secrets(anthropic_api_key="test-key")
    seeded.extras["anthropic_client"] = replying(200, _tool_reply(VISION_ORDER), seen)
    pdf = scanned_pdf()
    received = await accept_raw(seeded, order_email([("scan.pdf", pdf)]), door="http")
    assert await process_email(seeded, received.email_id) == "processed"
    item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    assert item["status"] == "pending" and item["po_number"] == "SCAN-4411" and item["customer_id"] == DRISCOLL
    parsed = json.loads(item["parsed_json"])
    assert parsed["lines"][0]["item_id"] == "I448812"  # matched through customer_item_xref after Claude read it
    assert "read_by_vision" in {f["code"] for f in json.loads(item["flags_json"])}
    sent = json.loads(seen[0].content)
    assert sent["messages"][0]["content"][0]["type"] == "document" and sent["tool_choice"]["name"] == TOOL_NAME
    assert sent["model"] == seeded.settings.anthropic.vision_model  # [anthropic] vision_model


async def test_claude_overloaded_is_retried_and_the_last_attempt_queues_the_pdf(seeded: Env) -> None:
    # 529 overloaded is Claude's moment, not the PDF's: each attempt fails (the hot tier retries it) until
    # the last, which queues the PDF for a person with the reason.
    seeded.secrets = Secrets(anthropic_api_key="test-key")
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    seeded.extras["anthropic_client"] = replying(529, overloaded, [])
    received = await accept_raw(seeded, order_email([("scan.pdf", scanned_pdf())]), door="http")
    for attempt in range(1, pipeline.MAX_ATTEMPTS):
        assert await process_email(seeded, received.email_id) == "failed"
        log = await _row(seeded, "SELECT status, reason FROM inbound_email_log WHERE id = ?", received.email_id)
        assert log["reason"].startswith(f"attempt {attempt} of {pipeline.MAX_ATTEMPTS} failed (retried by the hot "
                                        "tier): ClaudeUnavailable: Claude could not read a scanned PDF now: ")
        assert "overloaded_error" in log["reason"]
        assert not await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    assert await process_email(seeded, received.email_id) == "needs_manual"
    item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    assert item["status"] == "needs_manual" and "overloaded_error" in item["reason"]


async def test_claude_refusing_the_request_queues_the_pdf_at_once(seeded: Env) -> None:
    seeded.secrets = Secrets(anthropic_api_key="test-key")
    invalid = {"type": "error", "error": {"type": "invalid_request_error", "message": "PDF too large"}}
    seeded.extras["anthropic_client"] = replying(400, invalid, [])
    received = await accept_raw(seeded, order_email([("scan.pdf", scanned_pdf())]), door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"  # a retry would meet the same answer
    item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    assert item["status"] == "needs_manual" and "invalid_request_error: PDF too large" in item["reason"]


async def test_an_order_cut_off_at_max_tokens_is_queued_for_manual_entry_with_its_pdf(seeded: Env) -> None:
    # A 160-line scan whose tool call stopped at max_tokens after 120 lines was a pending order with lines missing.
    cut = {**VISION_ORDER, "lines": [{**VISION_ORDER["lines"][0], "line_no": n} for n in range(1, 121)]}
    reply = {**_tool_reply(cut), "stop_reason": "max_tokens", "usage": {"input_tokens": 2095, "output_tokens": 8192}}
    seeded.secrets = Secrets(anthropic_api_key="test-key")
    seeded.extras["anthropic_client"] = replying(200, reply, [])
    pdf = scanned_pdf()
    received = await accept_raw(seeded, order_email([("scan.pdf", pdf)]), door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"  # at once: a retry meets the same cut
    item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    assert item["status"] == "needs_manual" and item["line_count"] == 0
    assert "cut off at max_tokens (8192): the order is too long to read whole" in item["reason"]
    assert await seeded.bucket.get(item["pdf_key"]) == pdf


async def test_a_hung_claude_api_fails_the_attempt_in_time_and_the_last_queues_every_pdf(
        seeded: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # The vision deadline covers the SDK's retries: before, three 90 s requests and their backoff outlasted the
    # email's 240 s, every attempt timed out with nothing queued, and the last lost even the text PDF's order.
    monkeypatch.setattr(analyze, "VISION_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(pipeline, "EMAIL_TIMEOUT_SECONDS", 15.0)  # so the old behaviour fails in seconds, not hangs

    async def never_answers(request):
        await asyncio.sleep(3600)  # a server that keeps the connection open (a trickle resets the read timeout)

    seeded.secrets = Secrets(anthropic_api_key="test-key")
    seeded.extras["anthropic_client"] = anthropic.AsyncAnthropic(  # with the SDK's two retries, as client_for
        api_key="test-key", max_retries=2, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(never_answers)))
    scan, (good, expected) = scanned_pdf(), order_pdf("classic_grid", seed=7)
    received = await accept_raw(seeded, order_email([("scan.pdf", scan), ("po.pdf", good)]), door="http")
    assert await process_email(seeded, received.email_id) == "failed"
    log = await _row(seeded, "SELECT reason FROM inbound_email_log WHERE id = ?", received.email_id)
    assert log["reason"] == ("attempt 1 of 5 failed (retried by the hot tier): ClaudeUnavailable: Claude could not "
                             "read a scanned PDF now: the Anthropic API did not answer within 0.5 s")
    await seeded.db.write(lambda c: c.execute("UPDATE inbound_email_log SET status = 'failed', attempts = ? "
                                              "WHERE id = ?", (MAX_ATTEMPTS - 1, received.email_id)))
    assert await process_email(seeded, received.email_id) == "needs_manual"
    items = [dict(r) for r in await seeded.db.fetchall(
        "SELECT status, po_number, reason, pdf_key FROM review_items WHERE email_id = ? ORDER BY id",
        (received.email_id,))]
    assert [(i["status"], i["po_number"]) for i in items] == [("needs_manual", None), ("pending", expected.po_number)]
    assert items[0]["reason"].endswith("Claude could not read it: the Anthropic API did not answer within 0.5 s")
    assert await seeded.bucket.get(items[0]["pdf_key"]) == scan


async def test_an_absurd_quantity_read_by_claude_is_an_error_finding_not_a_crash(seeded: Env) -> None:
    # 1e27 cases x 45.50 is beyond Decimal's 28 digits: validate_order raised, the email failed all 5 attempts
    # (Claude billed each time) and ended as an item with no lines and no PDF.
    absurd = {**VISION_ORDER, "lines": [{**VISION_ORDER["lines"][0], "quantity": 1e27, "amount": 4.55e28}],
              "subtotal": 4.55e28, "total": 4.55e28}
    seen: list = []
    seeded.secrets = Secrets(anthropic_api_key="test-key")
    seeded.extras["anthropic_client"] = replying(200, _tool_reply(absurd), seen)
    received = await accept_raw(seeded, order_email([("scan.pdf", scanned_pdf())]), door="http")
    assert await process_email(seeded, received.email_id) == "processed" and len(seen) == 1
    item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    flags = {(f["code"], f["severity"], f.get("line_no")) for f in json.loads(item["flags_json"])}
    assert item["status"] == "pending" and ("implausible_number", "error", 1) in flags  # for a person to correct


async def test_an_html_page_instead_of_claude_is_retried_then_queued_with_its_pdf(seeded: Env) -> None:
    # A proxy's HTML page with status 200 came back from the SDK as a str: AttributeError, no reason a person can use.
    def proxy_page(request):
        return httpx2.Response(200, content=b"<html><body>Access denied</body></html>",
                               headers={"content-type": "text/html"})

    seeded.secrets = Secrets(anthropic_api_key="test-key")
    seeded.extras["anthropic_client"] = mock_claude(proxy_page)
    scan = scanned_pdf()
    received = await accept_raw(seeded, order_email([("scan.pdf", scan)]), door="http")
    assert await process_email(seeded, received.email_id) == "failed"
    said = "unexpected response from the Anthropic API: str '<html><body>Access denied</body></html>'"
    log = await _row(seeded, "SELECT reason FROM inbound_email_log WHERE id = ?", received.email_id)
    assert log["reason"].startswith("attempt 1 of 5 failed (retried by the hot tier): ClaudeUnavailable: ")
    assert log["reason"].endswith(said)
    await seeded.db.write(lambda c: c.execute("UPDATE inbound_email_log SET status = 'failed', attempts = ? "
                                              "WHERE id = ?", (MAX_ATTEMPTS - 1, received.email_id)))
    assert await process_email(seeded, received.email_id) == "needs_manual"
    item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    assert item["status"] == "needs_manual" and item["reason"].endswith(said)
    assert await seeded.bucket.get(item["pdf_key"]) == scan


async def test_spooled_mail_is_uploaded_and_processed_by_the_hot_tier(seeded: Env) -> None:
    pdf, expected = order_pdf("classic_grid", seed=7)
    raw = order_email([("po.pdf", pdf)])
    real_bucket = seeded.bucket
    with refusing_s3() as endpoint:
        seeded.bucket = Bucket(endpoint, real_bucket.bucket)
        received = await accept_raw(seeded, raw, door="smtp")
        assert received.status == "spooled"
        down = await upload_spooled_mail(seeded, seeded.clock())  # still down: nothing lost, nothing moved
        assert down["still_spooled"] == 1
    seeded.bucket = real_bucket
    counts = await upload_spooled_mail(seeded, seeded.clock())
    assert counts["uploaded"] == 1 and counts["processed"] == 1
    log = await _row(seeded, "SELECT * FROM inbound_email_log WHERE id = ?", received.email_id)
    assert log["status"] == "processed" and log["spool_path"] is None and log["door"] == "smtp"
    assert await seeded.bucket.get(log["raw_key"]) == raw
    assert not list((seeded.settings.state_dir / "spool").glob("*.eml"))
    item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
    assert item["po_number"] == expected.po_number


async def test_a_spool_that_moved_with_its_state_directory_is_still_caught_up(seeded: Env, tmp_path) -> None:
    # The row recorded the spool file's old path; the file is found by its content (its name is its sha256).
    import shutil

    raw = order_email([])
    real_bucket = seeded.bucket
    with refusing_s3() as endpoint:
        seeded.bucket = Bucket(endpoint, real_bucket.bucket)
        received = await accept_raw(seeded, raw, door="smtp")
    moved = tmp_path / "new-release-state"
    shutil.move(str(seeded.settings.state_dir), str(moved))
    seeded.settings = seeded.settings.model_copy(update={"state_dir": moved})
    seeded.bucket = real_bucket
    counts = await upload_spooled_mail(seeded, seeded.clock())
    assert counts["uploaded"] == 1 and counts["processed"] == 1
    logs = [dict(r) for r in await seeded.db.fetchall("SELECT id, status, raw_key FROM inbound_email_log")]
    assert [(r["id"], r["status"]) for r in logs] == [(received.email_id, "needs_manual")]  # no second row
    assert await seeded.bucket.get(logs[0]["raw_key"]) == raw


async def test_spool_file_without_log_row_is_logged_when_uploaded(seeded: Env) -> None:
    import hashlib

    from worker.intake.store import spool_dir, write_spool

    raw = order_email([])
    write_spool(spool_dir(seeded), hashlib.sha256(raw).hexdigest(), raw)  # the DB failed right after the fsync
    counts = await upload_spooled_mail(seeded, seeded.clock())
    assert counts["uploaded"] == 1
    log = await _row(seeded, "SELECT * FROM inbound_email_log")
    # processed through the pipeline: no PDF, so its text went to the review queue
    assert log["door"] == "spool" and log["status"] == "needs_manual" and log["sender"] == "buyer@driscollfoods.com"


async def test_failed_processing_is_retried_with_bounded_attempts(seeded: Env) -> None:
    pdf, _ = order_pdf("classic_grid", seed=8)
    received = await accept_raw(seeded, order_email([("po.pdf", pdf)]), door="http")
    real_bucket, clock = seeded.bucket, seeded.clock
    with refusing_s3(400) as endpoint:  # a refusal of the request, not an outage: every attempt counts
        seeded.bucket = Bucket(endpoint, real_bucket.bucket)  # the raw mail cannot be read back
        assert await process_email(seeded, received.email_id) == "failed"
        log = await _row(seeded, "SELECT * FROM inbound_email_log WHERE id = ?", received.email_id)
        assert log["attempts"] == 1 and log["reason"].startswith("attempt 1 of 5 failed") and "StorageUnavailable" in log["reason"]
        for n in range(2, MAX_ATTEMPTS + 1):
            later = clock() + timedelta(minutes=2 * n)
            seeded.clock = lambda later=later: later
            assert (await retry_failed_intake(seeded, later))["retried"] == 1
        log = await _row(seeded, "SELECT * FROM inbound_email_log WHERE id = ?", received.email_id)
        assert log["status"] == "failed" and log["attempts"] == MAX_ATTEMPTS
        assert log["reason"].startswith(f"gave up after {MAX_ATTEMPTS} attempts")
        seeded.clock = lambda: clock() + timedelta(hours=1)
        assert (await retry_failed_intake(seeded, seeded.clock()))["retried"] == 0  # bounded: no more tries
    seeded.bucket, seeded.clock = real_bucket, clock


async def test_a_bucket_outage_uses_no_attempts_and_the_email_is_read_when_the_bucket_is_back(
        seeded: Env, tmp_path, bucket_name: str) -> None:
    # Audit AM1: each claim during a ~5 minute SeaweedFS outage used an attempt, the 5th gave the acknowledged order
    # up for manual entry with no PO number, and it was never read once the bucket came back.
    private = EmbeddedS3(tmp_path / "private-s3", bucket_name).start()  # ours alone to stop
    clock = seeded.clock
    try:
        seeded.bucket = Bucket(private.endpoint, bucket_name)
        await seeded.bucket.ensure_bucket()
        pdf, expected = order_pdf("classic_grid", seed=51)
        raw = order_email([("po.pdf", pdf)])
        received = await accept_raw(seeded, raw, door="http")
        private.stop()  # down right after the 202: the door's own attempt cannot store the PDF
        assert await process_email(seeded, received.email_id, raw) == "outage"
        for n in range(1, MAX_ATTEMPTS + 1):  # with the door's, more claims than attempts, a hot-tier tick apart
            later = clock() + timedelta(minutes=2 * n)
            seeded.clock = lambda later=later: later
            counts = await retry_failed_intake(seeded, later)
            assert (counts["retried"], counts["outage"]) == (1, 1), counts  # the raw mail cannot be read back
        log = await _row(seeded, "SELECT * FROM inbound_email_log WHERE id = ?", received.email_id)
        assert log["status"] == "failed" and log["attempts"] == 0, log
        assert log["reason"].startswith(f"outage, attempt not counted (0 of {MAX_ATTEMPTS} used; retried by the hot "
                                        "tier until our bucket and database answer): StorageUnavailable: object "
                                        "storage unreachable"), log["reason"]
        assert not await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)

        private.start()  # the same data directory: the raw mail stored before the outage is there again
        seeded.bucket = Bucket(private.endpoint, bucket_name)
        # The bucket answers before the restarted volume server has rejoined: wait until the mail reads back (the
        # hot tier would simply try again later; this test claims once).
        deadline = time.monotonic() + 60
        while True:
            try:
                await seeded.bucket.get(log["raw_key"])
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        later = clock() + timedelta(minutes=30)
        seeded.clock = lambda: later
        counts = await retry_failed_intake(seeded, later)
        assert (counts["retried"], counts.get("processed")) == (1, 1), counts
        log = await _row(seeded, "SELECT * FROM inbound_email_log WHERE id = ?", received.email_id)
        assert log["status"] == "processed" and log["attempts"] == 1
        item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
        assert item["status"] == "pending" and item["po_number"] == expected.po_number
        assert await seeded.bucket.get(item["pdf_key"]) == pdf
    finally:
        seeded.clock = clock
        private.stop()


class _PutsFail(http.server.BaseHTTPRequestHandler):
    """An S3 that answers HEAD with `head_status` (200: the bucket is up) and fails every upload with `status`."""

    status = 500
    head_status = 200
    CODES: ClassVar[dict[int, bytes]] = {403: b"InvalidAccessKeyId", 413: b"EntityTooLarge", 500: b"InternalError"}

    def do_HEAD(self) -> None:
        self.send_response(self.head_status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b"<Error><Code>%s</Code><Message>no</Message></Error>" % self.CODES[self.status]
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _puts_fail(status: int, head_status: int = 200):
    handler = type("PutsFail", (_PutsFail,), {"status": status, "head_status": head_status})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def _attempts(env: Env, email_id: int) -> int:
    return (await _row(env, "SELECT attempts FROM inbound_email_log WHERE id = ?", email_id))["attempts"]


async def test_only_our_outages_go_uncounted_and_a_day_on_only_while_the_bucket_is_still_down(seeded: Env) -> None:
    # A refusal of this message's own (4xx: too large) meets every retry again: it counts, and reaches a person. A
    # 5xx may be the message's too: past OUTAGE_GRACE it counts unless the bucket does not answer a ping.
    real_bucket = seeded.bucket
    pdf, _ = order_pdf("classic_grid", seed=52)
    raw = order_email([("po.pdf", pdf)])
    received = await accept_raw(seeded, raw, door="http")
    try:
        with _puts_fail(413) as endpoint:
            seeded.bucket = Bucket(endpoint, real_bucket.bucket)
            assert await process_email(seeded, received.email_id, raw) == "failed"
            assert await _attempts(seeded, received.email_id) == 1
        with _puts_fail(500) as endpoint:
            seeded.bucket = Bucket(endpoint, real_bucket.bucket)
            assert await process_email(seeded, received.email_id, raw) == "outage"  # fresh mail: not counted
            assert await _attempts(seeded, received.email_id) == 1
            a_day_on = seeded.clock() + pipeline.OUTAGE_GRACE + timedelta(minutes=1)
            seeded.clock = lambda: a_day_on
            seeded.bucket = Bucket(f"http://127.0.0.1:{free_port()}", real_bucket.bucket)  # stopped: still down
            assert await process_email(seeded, received.email_id, raw) == "outage"
            assert await _attempts(seeded, received.email_id) == 1
            seeded.bucket = Bucket(endpoint, real_bucket.bucket)  # answers, yet refuses this PDF: it counts now
            for _ in range(2, MAX_ATTEMPTS + 1):
                assert await process_email(seeded, received.email_id, raw) == "failed"
            assert await _attempts(seeded, received.email_id) == MAX_ATTEMPTS
        item = await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
        assert item["status"] == "needs_manual" and "(InternalError)" in item["reason"]
        assert item["reason"].startswith(f"gave up after {MAX_ATTEMPTS} attempts: StorageUnavailable")
    finally:
        seeded.bucket = real_bucket


async def test_a_bucket_refusing_our_credentials_is_an_outage_for_as_long_as_it_lasts(seeded: Env) -> None:
    # A bucket refusing every request with 403 (a rotated or mistyped key) is ours to fix, not the message's: it
    # used up the 5 attempts and gave an acknowledged order up. A 403 for this upload alone, while the bucket
    # answers our ping, still counts once a day has passed, like a 5xx.
    real_bucket = seeded.bucket
    pdf, _ = order_pdf("classic_grid", seed=53)
    raw = order_email([("po.pdf", pdf)])
    received = await accept_raw(seeded, raw, door="http")
    clock = seeded.clock
    try:
        with _puts_fail(403, head_status=403) as endpoint:
            seeded.bucket = Bucket(endpoint, real_bucket.bucket)
            for days in range(MAX_ATTEMPTS + 2):  # the grace is long past: the ping is refused too, still down
                later = clock() + days * pipeline.OUTAGE_GRACE
                seeded.clock = lambda later=later: later
                assert await process_email(seeded, received.email_id, raw) == "outage"
            assert await _attempts(seeded, received.email_id) == 0
            assert not await _row(seeded, "SELECT * FROM review_items WHERE email_id = ?", received.email_id)
        with _puts_fail(403) as endpoint:  # the bucket answers: this refusal is the upload's own
            seeded.bucket = Bucket(endpoint, real_bucket.bucket)
            assert await process_email(seeded, received.email_id, raw) == "failed"
            assert await _attempts(seeded, received.email_id) == 1
        seeded.bucket = real_bucket
        assert await process_email(seeded, received.email_id, raw) == "processed"
    finally:
        seeded.clock = clock
        seeded.bucket = real_bucket


async def test_abandoned_claims_and_unstarted_mail_are_picked_up(seeded: Env) -> None:
    pdf, _ = order_pdf("classic_grid", seed=9)
    stuck = await accept_raw(seeded, order_email([("po.pdf", pdf)]), door="http")
    unstarted = await accept_raw(seeded, order_email([]), door="http")
    await seeded.db.write(lambda c: c.execute(
        "UPDATE inbound_email_log SET status = 'processing', attempts = 1, claimed_at = ? WHERE id = ?",
        ("2020-01-01T00:00:00.000Z", stuck.email_id)))
    assert await process_email(seeded, unstarted.email_id) == "needs_manual"  # a live claim is not taken twice:
    assert await process_email(seeded, unstarted.email_id) == "skipped"
    await seeded.db.write(lambda c: c.execute("UPDATE inbound_email_log SET status = 'received', received_at = ? "
                                              "WHERE id = ?", ("2020-01-01T00:00:00.000Z", unstarted.email_id)))
    counts = await retry_failed_intake(seeded, seeded.clock())
    assert counts["retried"] == 2
    items = await seeded.db.fetchall("SELECT email_id FROM review_items ORDER BY email_id")
    # reprocessing never duplicates review items: the PDF's, and the text-only one of the mail without a PDF
    assert [r[0] for r in items] == sorted([stuck.email_id, unstarted.email_id])


async def test_pdfs_past_the_per_email_limit_are_stored_and_queued_unread(seeded: Env) -> None:
    from worker.intake.pipeline import MAX_PDFS_PER_EMAIL

    pdfs = [(f"po-{n:02}.pdf", order_pdf("classic_grid", seed=100 + n)[0]) for n in range(MAX_PDFS_PER_EMAIL + 2)]
    received = await accept_raw(seeded, order_email(pdfs), door="http")
    # The first 25 parse cleanly, yet the email is not "processed": two of its PDFs still need a person.
    assert await process_email(seeded, received.email_id) == "needs_manual"
    items = [dict(r) for r in await seeded.db.fetchall(
        "SELECT ri.*, ea.filename FROM review_items ri JOIN email_attachments ea ON ea.id = ri.attachment_id "
        "WHERE ri.email_id = ? ORDER BY ea.filename", (received.email_id,))]
    assert [i["filename"] for i in items] == [name for name, _ in pdfs]  # every PDF has its item, none dropped
    assert [i["status"] for i in items] == ["pending"] * MAX_PDFS_PER_EMAIL + ["needs_manual"] * 2
    for item, (_, data) in zip(items[MAX_PDFS_PER_EMAIL:], pdfs[MAX_PDFS_PER_EMAIL:], strict=True):
        assert item["reason"] == pipeline.OVER_LIMIT.reason and "limit of 25 PDFs read per email" in item["reason"]
        assert item["line_count"] == 0 and json.loads(item["flags_json"])[0]["code"] == "needs_manual"
        assert await seeded.bucket.get(item["pdf_key"]) == data
    log = await _row(seeded, "SELECT * FROM inbound_email_log WHERE id = ?", received.email_id)
    assert log["reason"].startswith("2 of 27 PDFs need manual entry: po-25.pdf: not examined: over the limit")


async def test_pdfs_left_when_the_reading_time_runs_out_are_queued_unread(seeded: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # Slow PDFs (extraction limits, Claude calls) must not make every attempt time out with nothing queued:
    # once the reading time is spent, the rest are stored and queued for a person, like those over the cap.
    monkeypatch.setattr(pipeline, "READING_BUDGET_SECONDS", 0.0)
    pdfs = [(f"po-{n}.pdf", order_pdf("classic_grid", seed=200 + n)[0]) for n in range(2)]
    received = await accept_raw(seeded, order_email(pdfs), door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    items = [dict(r) for r in await seeded.db.fetchall(
        "SELECT status, reason, pdf_key FROM review_items WHERE email_id = ? ORDER BY id", (received.email_id,))]
    assert [(i["status"], i["reason"]) for i in items] == [("needs_manual", pipeline.OUT_OF_TIME.reason)] * 2
    assert [await seeded.bucket.get(i["pdf_key"]) for i in items] == [data for _, data in pdfs]


async def test_spooling_writes_and_fsyncs_off_the_event_loop(seeded: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # On the loop, a 24 MB message's write and fsync held every other request up for ~70 ms.
    import os
    import threading

    fsynced_on: list[threading.Thread] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        fsynced_on.append(threading.current_thread())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    real_bucket = seeded.bucket
    with refusing_s3() as endpoint:
        seeded.bucket = Bucket(endpoint, real_bucket.bucket)
        received = await accept_raw(seeded, order_email([]), door="smtp")
    assert received.status == "spooled"
    assert fsynced_on and threading.main_thread() not in fsynced_on


async def test_the_hot_tier_sweeps_a_parse_copy_left_by_a_killed_worker(seeded: Env, monkeypatch) -> None:
    # A message over IN_PROCESS_MAX_BYTES is copied to incoming/ and parsed in a child; a worker killed meanwhile
    # (kill -9, OOM, a deploy) never reaches the finally that removes the copy, and nothing swept it: each one
    # 2-25 MB on the state disk for good.
    copies: list[str] = []
    real_child = isolated.read_mail_in_child

    def child(path):
        copies.append(path.name)
        return real_child(path)

    monkeypatch.setattr(isolated, "read_mail_in_child", child)
    incoming = seeded.settings.state_dir / "incoming"
    raw = order_email([("po.pdf", b"%PDF-1.4\n" + b"0" * (isolated.IN_PROCESS_MAX_BYTES + 1) + b"\n%%EOF\n")])
    isolated.read_mail_bounded(raw, incoming)
    [name] = copies
    left, fresh = incoming / name, incoming / "parse-being-read.eml"  # as the kill left it; one being parsed now
    left.write_bytes(raw)
    fresh.write_bytes(raw)
    two_hours_ago = time.time() - 2 * 3600
    os.utime(left, (two_hours_ago, two_hours_ago))
    counts = await upload_spooled_mail(seeded, seeded.clock())
    assert counts["incoming_swept"] == 1
    assert not left.exists() and fresh.exists()
