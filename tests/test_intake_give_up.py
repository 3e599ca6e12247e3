"""Mail that may hold an order never ends in the log only: a multipart whose boundary is wrong, machine mail with
a PDF given up on, a give-up racing the last attempt, and emails given up on before give-ups were queued (real
MIME bytes, real PDFs, the real pipeline and hot tier on SQLite)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

import cron.intake as cron_intake
from cron.intake import retry_failed_intake
from tests.test_email_fixtures import (
    DRISCOLL,
    fail_every_attempt,
    order_email,
    order_pdf,
)
from worker.env import Env, utcnow
from worker.intake import pipeline
from worker.intake.boundary import NOT_READ
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw


async def _log_and_items(env: Env, email_id: int) -> tuple[dict, list[dict]]:
    log = dict(await env.db.fetchone("SELECT * FROM inbound_email_log WHERE id = ?", (email_id,)))
    items = [dict(r) for r in await env.db.fetchall("SELECT * FROM review_items WHERE email_id = ? ORDER BY id",
                                                    (email_id,))]
    return log, items


def _wrong_boundary_email(pdf: bytes, declared: str = "----=_Part_0_A") -> bytes:
    """An order whose header declares one boundary while its body is split by another."""
    b64 = base64.encodebytes(pdf).decode().replace("\n", "\r\n")
    return ("From: Buyer <buyer@driscollfoods.com>\r\nTo: orders@gfs.local\r\nSubject: PO 4471\r\n"
            "Message-ID: <bm1@driscollfoods.com>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{declared}"\r\n\r\n'
            "------=_Part_0_B\r\nContent-Type: text/plain\r\n\r\nPlease find PO 4471 attached.\r\n"
            "------=_Part_0_B\r\nContent-Type: application/pdf; name=PO4471.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=PO4471.pdf\r\n\r\n"
            f"{b64}\r\n------=_Part_0_B--\r\n").encode()


# --- a multipart whose declared boundary is not the one used ------------------------------------------------


async def test_a_pdf_behind_a_wrong_boundary_is_read_and_queued(seeded: Env) -> None:
    # Was: 'processed', "no PDF attachment; no text either (MIME defects: ...)", no review item.
    pdf, expected = order_pdf("classic_grid", seed=7)
    received = await accept_raw(seeded, _wrong_boundary_email(pdf), door="http")
    assert await process_email(seeded, received.email_id) == "processed"
    log, [item] = await _log_and_items(seeded, received.email_id)
    assert log["reason"].startswith("1 review item created (MIME defects: boundary not found (read with the one used)")
    assert (item["status"], item["po_number"], item["customer_id"]) == ("pending", expected.po_number, DRISCOLL)
    assert "unread_part" not in {f["code"] for f in json.loads(item["flags_json"])}


async def test_a_multipart_without_a_usable_boundary_is_queued_as_unread(seeded: Env, corpora: Path) -> None:
    # A real message (cpython msg_17) whose body has no boundary line at all: nothing in it can be read as parts.
    raw = (corpora / "emails" / "cpython__msg_17.eml").read_bytes()
    received = await accept_raw(seeded, raw, door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    log, [item] = await _log_and_items(seeded, received.email_id)
    unread = f"part of the email could not be read: {NOT_READ}"
    assert log["reason"].startswith(f"no PDF attachment: no text either: the email is on a review item; {unread}")
    assert item["status"] == "needs_manual" and item["reason"].startswith(f"no PDF attachment or text found, and {unread}")
    assert {"code": "unread_part", "severity": "warning", "message": unread} in json.loads(item["flags_json"])


async def test_a_real_message_with_a_wrong_boundary_has_its_body_read(seeded: Env, corpora: Path) -> None:
    # spamscope mail_malformed_3: declares "--=_HsWzsKVZkho", uses "--=_GlSzQZUbRbpVOpy"; its HTML body is the text.
    raw = (corpora / "emails" / "spamscope__mail_malformed_3.eml").read_bytes()
    received = await accept_raw(seeded, raw, door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    log, [item] = await _log_and_items(seeded, received.email_id)
    assert log["reason"].startswith("no PDF attachment: the email text is on a review item")
    assert item["email_text"] and "unread_part" not in {f["code"] for f in json.loads(item["flags_json"])}


# --- failed for good ------------------------------------------------------------------------------------------


async def test_machine_mail_with_a_pdf_given_up_on_is_queued(seeded: Env) -> None:
    # A purchasing system's PO (Auto-Submitted: auto-generated) is queued when processing succeeds; was dropped
    # from the queue when every attempt failed.
    pdf, _ = order_pdf("classic_grid", seed=6)
    raw = b"Auto-Submitted: auto-generated\r\n" + order_email([("PO-2.pdf", pdf)], message_id="<a2@driscollfoods.com>")
    email_id = await fail_every_attempt(seeded, raw)
    log, [item] = await _log_and_items(seeded, email_id)
    assert log["status"] == "failed" and log["reason"].endswith("; the email is on a review item")
    assert (item["status"], item["attachment_id"], item["customer_id"]) == ("needs_manual", None, DRISCOLL)


async def test_a_give_up_during_the_last_attempt_leaves_one_item(seeded: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # The last attempt's claim passed its lease while it still read the PDF: the hot tier gave the email up and
    # queued it; the attempt then recorded its own item too (two items for one email). Now it records nothing.
    pdf, _ = order_pdf("classic_grid", seed=9)
    received = await accept_raw(seeded, order_email([("PO.pdf", pdf)]), door="http")
    await seeded.db.write(lambda c: c.execute(
        "UPDATE inbound_email_log SET status = 'failed', attempts = ?, claimed_at = '2020-01-01T00:00:00.000Z' "
        "WHERE id = ?", (pipeline.MAX_ATTEMPTS - 1, received.email_id)))
    started, release = asyncio.Event(), asyncio.Event()
    real = pipeline.analyze_orders

    async def slow(*args: object, **kwargs: object) -> object:
        started.set()
        await release.wait()  # a slow extraction or Claude call
        return await real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "analyze_orders", slow)
    attempt = asyncio.create_task(process_email(seeded, received.email_id))
    await started.wait()
    seeded.clock = lambda: utcnow() + timedelta(minutes=6)  # past the lease
    assert (await retry_failed_intake(seeded, seeded.clock()))["gave_up_stalled"] == 1
    release.set()
    assert await attempt == "skipped"
    log, [item] = await _log_and_items(seeded, received.email_id)
    assert log["status"] == "failed" and log["reason"].endswith("; the email is on a review item")
    assert (item["status"], item["attachment_id"]) == ("needs_manual", None)
    assert (await seeded.db.fetchone("SELECT count(*) FROM email_attachments WHERE email_id = ?",
                                     (received.email_id,)))[0] == 0


async def test_a_claim_takes_its_time_inside_the_write(seeded: Env) -> None:
    # The claim's lease starts when the claim is written, not when the attempt asked for it.
    received = await accept_raw(seeded, order_email([("po.pdf", b"%PDF-1.4\n%%EOF\n")]), door="http")
    later = utcnow() + timedelta(minutes=3)
    claimed = await seeded.db.write(pipeline._claim, received.email_id, lambda: later)
    assert claimed is not None
    row = await seeded.db.fetchone("SELECT claimed_at FROM inbound_email_log WHERE id = ?", (received.email_id,))
    assert row[0] == pipeline.iso(later)


async def _given_up_by_an_old_release(env: Env, body: str, reason: str) -> int:
    received = await accept_raw(env, order_email([("po.pdf", b"%PDF-1.4\n%%EOF\n")], body=body), door="http")
    await env.db.write(lambda c: c.execute(
        "UPDATE inbound_email_log SET status = 'failed', attempts = ?, claimed_at = '2020-01-01T00:00:00.000Z', "
        "reason = ? WHERE id = ?", (pipeline.MAX_ATTEMPTS, reason, received.email_id)))
    return received.email_id


async def test_emails_given_up_on_in_the_log_only_are_queued_once_a_batch_per_tick(
        seeded: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # Left by the release before give-ups were queued: failed for good, no review item. Was: never queued.
    monkeypatch.setattr(cron_intake, "BATCH", 2)
    failure = "gave up after 5 attempts: StorageUnavailable: x"
    old = [await _given_up_by_an_old_release(seeded, f"PO {n}", failure) for n in range(3)]
    machine = await _given_up_by_an_old_release(seeded, "auto", f"{failure}; Auto-Submitted: auto-replied, not queued")
    queued = await fail_every_attempt(seeded, order_email([("po.pdf", b"%PDF-1.4\n%%EOF\n")], body="queued"))
    ticks = [(await retry_failed_intake(seeded, seeded.clock()))["queued_given_up"] for _ in range(3)]
    assert ticks == [2, 1, 0]
    for email_id in old:
        log, [item] = await _log_and_items(seeded, email_id)
        assert (log["status"], log["reason"]) == ("failed", f"{failure}; the email is on a review item")
        assert (item["status"], item["customer_id"], item["sender"]) == ("needs_manual", DRISCOLL,
                                                                         "buyer@driscollfoods.com")
        assert item["reason"] == f"{failure}; open the original email and enter any order by hand, or reject"
    assert (await _log_and_items(seeded, machine))[1] == []  # deliberately not queued stays so
    assert len((await _log_and_items(seeded, queued))[1]) == 1  # queued when given up: not twice
