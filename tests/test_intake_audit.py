"""Intake audit fixes: forwards sent base64/quoted-printable/uuencoded, uuencoded PDFs, unread parts and mail given
up on reaching the review queue, the same PO twice in one email, and page text drawn inside Form XObjects (real MIME
bytes, real PDFs, the real pipeline on SQLite)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import quopri
from email import policy
from email.message import EmailMessage

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
)

import cron.intake as cron_intake
from cron.intake import retry_failed_intake
from tests.po import hostile
from tests.test_email_fixtures import (
    DRISCOLL,
    fail_every_attempt,
    order_email,
    order_pdf,
    outlook_email,
    scanned_pdf,
    winmail_email,
)
from worker.env import Env
from worker.intake import pipeline
from worker.intake.forwards import MAX_DECODED_FORWARDS
from worker.intake.mime import MAX_PARTS, read_mail
from worker.intake.pipeline import process_email
from worker.intake.problems import NOTHING_READ_REASON
from worker.intake.record import TEXT_ONLY_REASON
from worker.intake.store import accept_raw
from worker.po.textlayer import MAX_FORM_USES, extract_pdf

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"



# --- MIME -------------------------------------------------------------------------------------------------


def _customer_mail(pdf: bytes) -> bytes:
    inner = EmailMessage()
    inner["From"] = "Buyer <buyer@driscollfoods.com>"
    inner["To"] = "rep@gfs.local"
    inner["Subject"] = "PO " + "with a subject long enough to be folded by a quoted-printable encoder " * 2
    inner.set_content("order attached")
    inner.add_attachment(pdf, maintype="application", subtype="pdf", filename="po.pdf")
    return inner.as_bytes(policy=policy.SMTP)


def _uuencode(data: bytes, name: str) -> str:
    lines = [f"begin 644 {name}"] + [binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n")
                                     for i in range(0, len(data), 45)]
    return "\r\n".join([*lines, "`", "end"])


def _encode(cte: str, data: bytes) -> str:
    if cte == "base64":
        return base64.encodebytes(data).decode()
    if cte == "quoted-printable":
        return quopri.encodestring(data).decode()
    if cte == "x-uuencode":
        return _uuencode(data, "forwarded.eml")
    return data.decode()


def _forward(message: bytes, cte: str, boundary: str = "fwd") -> bytes:
    """A rep's forward of message as an attached message/rfc822 part sent with transfer encoding cte (as
    some clients do, though RFC 2046 allows only 7bit, 8bit or binary there)."""
    return (f"From: rep@gfs.local\r\nTo: orders@gfs.local\r\nSubject: Fw: PO\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n--{boundary}\r\n"
            f"Content-Type: text/plain\r\n\r\nFYI\r\n--{boundary}\r\n"
            f"Content-Type: message/rfc822; name=\"PO.eml\"\r\nContent-Disposition: attachment; filename=\"PO.eml\"\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n{_encode(cte, message)}\r\n--{boundary}--\r\n").encode()


@pytest.mark.parametrize("cte", ["7bit", "base64", "quoted-printable", "x-uuencode"])
def test_a_pdf_inside_an_encoded_forward_is_found(cte: str) -> None:
    mail = read_mail(_forward(_customer_mail(PDF), cte))
    assert [(p.filename, p.data, p.forwarded) for p in mail.pdfs] == [("po.pdf", PDF, True)]
    assert mail.forwarded_senders == ["buyer@driscollfoods.com"] and mail.problems == []
    assert mail.body_text(1000) == "FYI\n\norder attached"  # the rep's note, then the forwarded text


def test_a_forward_labelled_base64_but_sent_plain_is_read_as_sent() -> None:
    raw = _forward(_customer_mail(PDF), "7bit").replace(b"Transfer-Encoding: 7bit", b"Transfer-Encoding: base64")
    mail = read_mail(raw)
    assert [(p.filename, p.data) for p in mail.pdfs] == [("po.pdf", PDF)] and mail.problems == []


def test_encoded_forwards_are_decoded_only_so_deep() -> None:
    raw = _customer_mail(PDF)
    for depth in range(1, MAX_DECODED_FORWARDS + 2):
        raw = _forward(raw, "base64", boundary=f"b{depth}")
        mail = read_mail(raw)
        if depth <= MAX_DECODED_FORWARDS:
            assert [p.data for p in mail.pdfs] == [PDF] and mail.problems == []
        else:
            assert mail.pdfs == []
            assert mail.problems == [(f"forwarded messages encoded more than {MAX_DECODED_FORWARDS} deep; "
                                      "the rest were not examined")]


def _uuencoded_mail(headers: str, body: str) -> bytes:
    return ("From: buyer@driscollfoods.com\r\nTo: orders@gfs.local\r\nSubject: PO\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nattached\r\n"
            f"--BB\r\n{headers}\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n{body}\r\n--BB--\r\n").encode()


def test_a_uuencoded_pdf_is_found_and_named_by_its_begin_line() -> None:
    pdf, _ = order_pdf("classic_grid", seed=11)
    mail = read_mail(_uuencoded_mail("Content-Type: application/octet-stream", _uuencode(pdf, "PO 77.pdf")))
    assert [(p.filename, p.data) for p in mail.pdfs] == [("PO 77.pdf", pdf)] and mail.problems == []


def test_a_uuencoded_pdf_that_cannot_be_decoded_is_reported() -> None:
    headers = 'Content-Type: application/pdf; name="po.pdf"'
    mail = read_mail(_uuencoded_mail(headers, "no begin line here\r\nM4\u0000garbage"))
    assert [p.filename for p in mail.pdfs] == ["po.pdf"]  # still queued: a person sees what came
    assert mail.problems == ["uuencoded attachment po.pdf did not decode to a PDF"]


async def test_a_base64_forward_becomes_a_review_item(seeded: Env) -> None:
    pdf, expected = order_pdf("classic_grid", seed=12)
    received = await accept_raw(seeded, _forward(_customer_mail(pdf), "base64"), door="http")
    assert await process_email(seeded, received.email_id) == "processed"
    item = dict(await seeded.db.fetchone("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,)))
    assert (item["status"], item["po_number"], item["customer_id"]) == ("pending", expected.po_number, DRISCOLL)
    assert await seeded.bucket.get(item["pdf_key"]) == pdf


def _global_mail(pdf: bytes | None = None, text: str = "Bestellung anbei") -> bytes:
    """A customer's message with UTF-8 headers (RFC 6532), as forwarded in a message/global part."""
    inner = EmailMessage()
    inner["From"] = "Jürgen Müller <buyer@driscollfoods.com>"
    inner["To"] = "rep@gfs.local"
    inner["Subject"] = "Bestellung für März"
    inner.set_content(text)
    if pdf is not None:
        inner.add_attachment(pdf, maintype="application", subtype="pdf", filename="Bestellung März.pdf")
    return inner.as_bytes(policy=policy.SMTPUTF8)


def _global_forward(message: bytes, cte: str) -> bytes:
    return _forward(message, cte).replace(b"Content-Type: message/rfc822", b"Content-Type: message/global")


@pytest.mark.parametrize("cte", ["8bit", "base64", "quoted-printable"])  # RFC 6532 allows all three here
def test_a_message_global_forward_is_a_forward(cte: str) -> None:
    mail = read_mail(_global_forward(_global_mail(PDF), cte))
    assert [(p.filename, p.data, p.forwarded) for p in mail.pdfs] == [("Bestellung März.pdf", PDF, True)]
    assert mail.forwarded_senders == ["buyer@driscollfoods.com"] and mail.problems == []
    assert mail.body_text(1000) == "FYI\n\nBestellung anbei"


async def test_the_sender_of_a_message_global_forward_names_the_customer(seeded: Env) -> None:
    # The rep's own address says nothing (our domain): the customer comes from the forwarded message's From.
    raw = _global_forward(_global_mail(text="12 cs DF-10023"), "8bit")
    received = await accept_raw(seeded, raw, door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    [item] = await seeded.db.fetchall("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,))
    assert (item["sender"], item["customer_id"]) == ("rep@gfs.local", DRISCOLL)


def _too_deep_forward(note: bytes = b"FYI") -> bytes:
    raw = _customer_mail(order_pdf("classic_grid", seed=13)[0])
    for depth in range(MAX_DECODED_FORWARDS + 1):
        raw = _forward(raw, "base64", boundary=f"b{depth}").replace(b"FYI", note)
    return raw


def _many_parts() -> bytes:
    parts = "".join(f"--P\r\nContent-Type: text/plain\r\n\r\n{'order below' if n == 0 else n}\r\n"
                    for n in range(MAX_PARTS + 1))
    return ("From: buyer@driscollfoods.com\r\nTo: orders@gfs.local\r\nSubject: PO\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=P\r\n\r\n{parts}--P--\r\n").encode()


@pytest.mark.parametrize(("raw", "problem"), [
    (_too_deep_forward(), (f"forwarded messages encoded more than {MAX_DECODED_FORWARDS} deep; the rest were not "
                           "examined")),
    (_many_parts(), f"more than {MAX_PARTS} MIME parts; the rest were not examined"),
], ids=["forward too deep", "too many parts"])
async def test_what_could_not_be_read_is_shown_on_a_text_only_email(seeded: Env, raw: bytes, problem: str) -> None:
    # No PDF was found, but part of the email was never looked at: the reviewer must not read only "no PDF".
    received = await accept_raw(seeded, raw, door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    log = await seeded.db.fetchone("SELECT reason FROM inbound_email_log WHERE id = ?", (received.email_id,))
    assert log["reason"] == f"no PDF attachment: the email text is on a review item; part of the email could not be " \
                            f"read: {problem}"
    [item] = await seeded.db.fetchall("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,))
    assert item["status"] == "needs_manual" and item["email_text"]
    assert item["reason"] == f"{TEXT_ONLY_REASON}; part of the email could not be read: {problem}"
    flags = {f["code"]: f for f in json.loads(item["flags_json"])}
    assert flags["unread_part"] == {"code": "unread_part", "severity": "warning",
                                    "message": f"part of the email could not be read: {problem}"}
    assert flags["needs_manual"]["message"] == item["reason"]


# --- nothing that may hold an order is left in the log only -----------------------------------------------------


def _many_parts_without_text() -> bytes:
    parts = "".join(f"--P\r\nContent-Type: application/octet-stream\r\n\r\n{n}\r\n" for n in range(MAX_PARTS + 1))
    return ("From: buyer@driscollfoods.com\r\nTo: orders@gfs.local\r\nSubject: PO\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=P\r\n\r\n{parts}--P--\r\n").encode()


def _nested(depth: int, text: str = "12 cs DF-10023") -> str:
    parts = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(depth))
    return f"MIME-Version: 1.0\r\n{parts}Content-Type: text/plain\r\n\r\n{text}\r\n"


def _breaks_the_parser(extra_headers: str = "") -> bytes:
    """An order email nested so deep that the stdlib parser gives up: only its header fields can be read."""
    return (f"From: Buyer <buyer@driscollfoods.com>\r\nTo: orders@gfs.local\r\nSubject: PO 4471\r\n{extra_headers}"
            f"{_nested(2000)}").encode()


def _undecodable_forward(own_pdf: bytes) -> bytes:
    """The customer's own PDF, read, beside a base64 forward whose message breaks the parser once decoded."""
    inner = base64.encodebytes(f"From: buyer@driscollfoods.com\r\n{_nested(2000)}".encode()).decode()
    return ("From: buyer@driscollfoods.com\r\nTo: orders@gfs.local\r\nSubject: PO\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=M\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nPO attached\r\n"
            "--M\r\nContent-Type: application/pdf; name=po.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{base64.encodebytes(own_pdf).decode()}\r\n--M\r\nContent-Type: message/rfc822\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{inner}\r\n--M--\r\n").encode()


async def test_an_order_typed_after_a_blank_text_part_and_a_logo_is_read(seeded: Env) -> None:
    # Was: only the first (blank) text/plain part was read: logged "no PDF attachment; no text either", no item.
    raw = ("From: Buyer <buyer@driscollfoods.com>\r\nTo: orders@gfs.local\r\nSubject: Order\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="B1"\r\n\r\n--B1\r\nContent-Type: text/plain\r\n\r\n \r\n'
           '--B1\r\nContent-Type: image/png; name="logo.png"\r\nContent-Disposition: inline\r\n'
           "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAAA\r\n--B1\r\nContent-Type: text/plain\r\n\r\n"
           "Please ship:\r\n12 cs DF-10023\r\n4 cs DF-20417\r\n--B1--\r\n").encode()
    received = await accept_raw(seeded, raw, door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    _, [item] = await _log_and_items(seeded, received.email_id)
    assert (item["email_text"], item["line_count"]) == ("Please ship:\n12 cs DF-10023\n4 cs DF-20417", 2)


async def _log_and_items(env: Env, email_id: int) -> tuple[dict, list[dict]]:
    log = dict(await env.db.fetchone("SELECT * FROM inbound_email_log WHERE id = ?", (email_id,)))
    items = [dict(r) for r in await env.db.fetchall("SELECT * FROM review_items WHERE email_id = ? ORDER BY id",
                                                    (email_id,))]
    return log, items


async def _reprocessed(env: Env, email_id: int) -> str:
    # As after an operator resets the row (or a retry after a crash): the email is read and recorded again.
    await env.db.write(lambda c: c.execute("UPDATE inbound_email_log SET status = 'received', attempts = 0 "
                                           "WHERE id = ?", (email_id,)))
    return await process_email(env, email_id)


@pytest.mark.parametrize(("raw", "problem", "sender", "customer"), [
    (_too_deep_forward(note=b""), (f"forwarded messages encoded more than {MAX_DECODED_FORWARDS} deep; the rest were "
                                   "not examined"), "rep@gfs.local", None),  # the customer's From is in the unread part
    (_many_parts_without_text(), f"more than {MAX_PARTS} MIME parts; the rest were not examined",
     "buyer@driscollfoods.com", DRISCOLL),
    (winmail_email(b"\x89PNG\r\n\x1a\n" + bytes(64)),  # a winmail.dat holding a PNG, as in the corpus
     "Outlook attachment wrapper winmail.dat could not be decoded (ValueError: Wrong TNEF signature: 0x474e5089)",
     "buyer@driscollfoods.com", DRISCOLL),
], ids=["forward too deep", "too many parts", "winmail.dat not decoded"])
async def test_an_email_without_text_whose_unread_part_may_hold_a_pdf_is_queued(seeded: Env, raw: bytes, problem: str,
                                                                                sender: str, customer: str) -> None:
    # Was: logged 'processed' ("no text either") with no review item, so nobody ever looked at it.
    received = await accept_raw(seeded, raw, door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    log, [item] = await _log_and_items(seeded, received.email_id)
    unread = f"part of the email could not be read: {problem}"
    assert log["reason"] == f"no PDF attachment: no text either: the email is on a review item; {unread}"
    assert (item["status"], item["attachment_id"], item["email_text"], item["sender"], item["customer_id"]) == \
        ("needs_manual", None, None, sender, customer)
    assert item["reason"] == NOTHING_READ_REASON.format(unread=unread)
    flags = {f["code"]: f for f in json.loads(item["flags_json"])}
    assert flags["unread_part"] == {"code": "unread_part", "severity": "warning", "message": unread}
    assert flags["needs_manual"]["message"] == item["reason"]
    assert await _reprocessed(seeded, received.email_id) == "needs_manual"
    assert [i["id"] for i in (await _log_and_items(seeded, received.email_id))[1]] == [item["id"]]  # still one


async def test_mail_that_breaks_the_mime_parser_is_queued_with_what_was_read(seeded: Env) -> None:
    # Was: logged needs_manual ("no PDF attachment found; malformed MIME: ...") and shown nowhere a person looks.
    received = await accept_raw(seeded, _breaks_the_parser(), door="http")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    log, [item] = await _log_and_items(seeded, received.email_id)
    assert log["reason"].startswith("no PDF attachment: no text either: the email is on a review item; part of the "
                                    "email could not be read: malformed MIME: RecursionError")
    assert (item["status"], item["attachment_id"], item["pdf_key"], item["sender"], item["customer_id"]) == \
        ("needs_manual", None, None, "buyer@driscollfoods.com", DRISCOLL)
    assert item["reason"].startswith("no PDF attachment or text found, and part of the email could not be read: "
                                     "malformed MIME: RecursionError")
    assert item["reason"].endswith("; open the original email and enter any order by hand, or reject")
    assert [f["code"] for f in json.loads(item["flags_json"])] == ["needs_manual", "unread_part"]
    assert await _reprocessed(seeded, received.email_id) == "needs_manual"
    assert [i["id"] for i in (await _log_and_items(seeded, received.email_id))[1]] == [item["id"]]


async def test_machine_mail_that_cannot_be_read_stays_not_queued(seeded: Env) -> None:
    for raw in (_breaks_the_parser("Auto-Submitted: auto-replied\r\n"),
                b"Auto-Submitted: auto-generated\r\n" + _many_parts_without_text()):
        received = await accept_raw(seeded, raw, door="http")
        assert await process_email(seeded, received.email_id) == "processed"
        log, items = await _log_and_items(seeded, received.email_id)
        assert log["reason"].startswith("no PDF attachment; Auto-Submitted: auto-") and "not queued; part of" in \
            log["reason"] and items == []


@pytest.mark.parametrize("scanned", [False, True], ids=["pending", "needs manual"])
async def test_an_unread_part_beside_a_read_pdf_is_said_on_its_item_and_in_the_log(seeded: Env,
                                                                                   scanned: bool) -> None:
    # Was: "1 review item created" and a clean item: the email looked complete though its forward was never read.
    pdf = scanned_pdf() if scanned else order_pdf("classic_grid", seed=14)[0]
    received = await accept_raw(seeded, _undecodable_forward(pdf), door="http")
    assert await process_email(seeded, received.email_id) == ("needs_manual" if scanned else "processed")
    log, [item] = await _log_and_items(seeded, received.email_id)
    unread = "part of the email could not be read: a base64 forwarded message could not be decoded: RecursionError"
    assert log["reason"].endswith(f"; {unread}")
    flags = json.loads(item["flags_json"])
    assert {"code": "unread_part", "severity": "warning", "message": unread} in flags
    if scanned:
        assert log["reason"].startswith("1 of 1 PDFs need manual entry: po.pdf: ")
        assert item["status"] == "needs_manual" and item["reason"].endswith(f"; {unread}")
        assert [f["code"] for f in flags[:2]] == ["needs_manual", "unread_part"]
    else:
        assert log["reason"] == f"1 review item created; {unread}"
        assert (item["status"], item["reason"], item["customer_id"]) == ("pending", unread, DRISCOLL)
        assert item["pdf_key"] and item["line_count"] > 0  # the PDF that was read is still the order


# --- failed for good ----------------------------------------------------------------------------------------------


async def test_an_email_given_up_on_is_queued_with_its_text_sender_and_customer(seeded: Env) -> None:
    # Was: 'failed' ("gave up after 5 attempts: ...") in the log only.
    email_id = await fail_every_attempt(seeded, order_email([("po.pdf", PDF)], body="PO 4471 attached, thanks"))
    log, [item] = await _log_and_items(seeded, email_id)
    assert log["status"] == "failed" and log["reason"].startswith("gave up after 5 attempts: StorageUnavailable")
    assert log["reason"].endswith("; the email is on a review item") and log["customer_id"] == DRISCOLL
    assert (item["status"], item["attachment_id"], item["email_text"], item["sender"], item["customer_id"]) == \
        ("needs_manual", None, "PO 4471 attached, thanks", "buyer@driscollfoods.com", DRISCOLL)
    assert item["reason"].startswith("gave up after 5 attempts: StorageUnavailable")
    assert item["reason"].endswith("; open the original email and enter any order by hand, or reject")
    assert await process_email(seeded, email_id) == "skipped"  # given up: no sixth attempt


async def test_machine_mail_given_up_on_stays_not_queued(seeded: Env) -> None:
    # Without a PDF, as when processing succeeds (with one it is queued: tests/test_intake_give_up.py). Each
    # attempt fails as it records the read mail (the database refuses to finish it).
    await seeded.db.write(lambda c: c.execute(
        "CREATE TEMP TRIGGER refuse_finish BEFORE UPDATE OF processed_at ON inbound_email_log "
        "BEGIN SELECT RAISE(ABORT, 'database refused'); END"))
    raw = b"Auto-Submitted: auto-replied\r\n" + order_email([], body="I am out of the office")
    email_id = await fail_every_attempt(seeded, raw)
    log, items = await _log_and_items(seeded, email_id)
    assert log["status"] == "failed" and log["reason"].endswith("; Auto-Submitted: auto-replied, not queued")
    assert items == []


async def test_a_claim_that_never_finishes_is_queued_once_when_the_hot_tier_gives_up(seeded: Env) -> None:
    # Each attempt killed the worker (its claim expired): the hot tier gives up, and the email reaches the queue.
    received = await accept_raw(seeded, order_email([("po.pdf", PDF)]), door="http")
    await seeded.db.write(lambda c: c.execute(
        "UPDATE inbound_email_log SET status = 'processing', attempts = ?, claimed_at = ? WHERE id = ?",
        (pipeline.MAX_ATTEMPTS, "2020-01-01T00:00:00.000Z", received.email_id)))
    assert (await retry_failed_intake(seeded, seeded.clock()))["gave_up_stalled"] == 1
    assert (await retry_failed_intake(seeded, seeded.clock()))["gave_up_stalled"] == 0
    log, [item] = await _log_and_items(seeded, received.email_id)
    failure = "gave up after 5 attempts: processing never finished (worker crash or restart)"
    assert (log["status"], log["reason"]) == ("failed", f"{failure}; the email is on a review item")
    assert (item["status"], item["reason"], item["email_text"], item["customer_id"]) == \
        ("needs_manual", f"{failure}; open the original email and enter any order by hand, or reject", None, DRISCOLL)


async def test_stalled_claims_are_given_up_a_batch_per_tick(seeded: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # A crashed fleet can leave many: each tick gives up a bounded batch in one short write, the next the rest.
    monkeypatch.setattr(cron_intake, "BATCH", 2)
    ids = [(await accept_raw(seeded, order_email([("po.pdf", PDF)], body=f"PO {n}"), door="http")).email_id
           for n in range(3)]
    await seeded.db.write(lambda c: c.executemany(
        "UPDATE inbound_email_log SET status = 'processing', attempts = ?, claimed_at = ? WHERE id = ?",
        [(pipeline.MAX_ATTEMPTS, "2020-01-01T00:00:00.000Z", email_id) for email_id in ids]))
    assert [(await retry_failed_intake(seeded, seeded.clock()))["gave_up_stalled"] for _ in range(3)] == [2, 1, 0]
    assert [len((await _log_and_items(seeded, email_id))[1]) for email_id in ids] == [1, 1, 1]


# --- the same PO twice in one email ----------------------------------------------------------------------------


async def _flags(env: Env, email_id: int) -> list[tuple[int, str, list[dict]]]:
    rows = await env.db.fetchall("SELECT id, po_number, flags_json FROM review_items WHERE email_id = ? ORDER BY id",
                                 (email_id,))
    return [(r[0], r[1], [f for f in json.loads(r[2]) if f["code"] == "duplicate_po"]) for r in rows]


async def test_the_same_po_attached_twice_flags_the_second_copy(seeded: Env) -> None:
    # The PO and a printout of it in another layout: different bytes, the same customer and PO number.
    first, expected = order_pdf("classic_grid", seed=3)
    copy, same = order_pdf("side_by_side", seed=3)
    other, different = order_pdf("classic_grid", seed=4)
    assert first != copy and expected.po_number == same.po_number != different.po_number
    received = await accept_raw(seeded, order_email([("PO.pdf", first), ("other.pdf", other),
                                                     ("PO copy.pdf", copy)]), door="http")
    await process_email(seeded, received.email_id)
    (one, po1, dup1), (_, po2, dup2), (three, po3, dup3) = await _flags(seeded, received.email_id)
    assert (po1, po2, po3) == (expected.po_number, different.po_number, expected.po_number)
    assert dup1 == [] and dup2 == []
    [flag] = dup3
    assert flag["earlier_items"] == [one] and flag["severity"] == "warning"
    assert f"review item {one} (pending; same PO number in the same email)" in flag["message"]
    # A later email with the same order names both earlier items.
    again = await accept_raw(seeded, order_email([("PO.pdf", order_pdf("classic_grid", seed=3)[0])]), door="http")
    await process_email(seeded, again.email_id)
    [(_, _, [later])] = await _flags(seeded, again.email_id)
    assert later["earlier_items"] == [one, three] and "same email" not in later["message"]


# --- text inside Form XObjects ---------------------------------------------------------------------------------


def _page_as_form(pdf: bytes) -> bytes:
    """Each page's drawing moved into a Form XObject the page draws with Do, as pdfpages, qpdf --overlay and
    stamping tools produce (shifted by a /Matrix the page's cm undoes, so positions must compose)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        form = DecodedStreamObject()
        form.set_data(page.get_contents().get_data())
        form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                     NameObject("/BBox"): ArrayObject(page.mediabox),
                     NameObject("/Matrix"): ArrayObject(FloatObject(v) for v in (1, 0, 0, 1, 0, 50)),
                     NameObject("/Resources"): page["/Resources"]})
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/XObject"): DictionaryObject({NameObject("/Pg"): writer._add_object(form)})})
        contents = DecodedStreamObject()
        contents.set_data(b"q 1 0 0 1 0 -50 cm /Pg Do Q")
        page[NameObject("/Contents")] = writer._add_object(contents)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_text_drawn_inside_a_form_xobject_is_read_in_place() -> None:
    pdf, expected = order_pdf("two_page", seed=5)
    wrapped = _page_as_form(pdf)
    assert PdfReader(io.BytesIO(wrapped)).pages[0].get_contents().get_data().strip() == b"q 1 0 0 1 0 -50 cm /Pg Do Q"
    direct, drawn = extract_pdf(pdf, 50), extract_pdf(wrapped, 50)
    assert drawn.has_text and expected.po_number in drawn.text
    assert [[(round(f.x0, 1), round(f.y, 1), f.text) for f in line] for p in drawn.pages for line in p.lines] == \
           [[(round(f.x0, 1), round(f.y, 1), f.text) for f in line] for p in direct.pages for line in p.lines]


async def test_a_po_drawn_inside_a_form_xobject_is_not_queued_as_a_scan(seeded: Env) -> None:
    pdf, expected = order_pdf("classic_grid", seed=6)
    received = await accept_raw(seeded, order_email([("po.pdf", _page_as_form(pdf))]), door="http")
    assert await process_email(seeded, received.email_id) == "processed"
    item = dict(await seeded.db.fetchone("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,)))
    assert (item["status"], item["po_number"], item["line_count"]) == ("pending", expected.po_number,
                                                                        len(expected.lines))


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _form_pdf(forms: list[tuple[bytes, bytes]]) -> bytes:
    """A one-page PDF drawing form object 6 (/X0); forms are (content, XObject dictionary body), objects 6 on."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> /XObject << /X0 6 0 R >> >> >>"),
               _stream(b"q /X0 Do Q"), b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for content, xobjects in forms:
        objects.append(_stream(content, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                                        b"/Resources << /Font << /F1 5 0 R >> /XObject << " + xobjects + b" >> >>"))
    return hostile.raw_pdf(objects)


def test_form_xobjects_drawing_themselves_are_drawn_once() -> None:
    # Form A draws itself and form B, which draws A again: each is drawn once, and nothing loops.
    pdf = _form_pdf([(b"BT /F1 12 Tf 72 700 Td (PO-CYCLE-1) Tj ET /Fa Do /Fb Do", b"/Fa 6 0 R /Fb 7 0 R"),
                     (b"BT /F1 12 Tf 72 650 Td (Inside B) Tj ET /Fa Do", b"/Fa 6 0 R")])
    texts = [f.text for p in extract_pdf(pdf, 5).pages for line in p.lines for f in line]
    assert texts == ["PO-CYCLE-1", "Inside B"]


def test_form_xobjects_fanning_out_are_bounded() -> None:
    # Each form prints its mark, then draws the next ten times, six levels deep: a million drawings unbounded.
    # The marks count the drawings: they stop at MAX_FORM_USES.
    levels = 6
    forms = [(b"BT /F1 12 Tf 72 %d Td (L%d) Tj ET " % (700 - 20 * n, n) + b" ".join([b"/N Do"] * 10),
              b"/N %d 0 R" % (7 + n)) for n in range(levels)]
    forms.append((b"BT /F1 12 Tf 72 500 Td (deep) Tj ET", b""))
    out = extract_pdf(_form_pdf(forms), 5)
    text = "\n".join(f.text for p in out.pages for line in p.lines for f in line)
    drawn = {mark: text.count(mark) for mark in [*(f"L{n}" for n in range(levels)), "deep"]}
    assert drawn["deep"] > 0 and sum(drawn.values()) == MAX_FORM_USES < 10 ** levels, drawn


async def test_an_order_sent_by_outlook_inside_winmail_dat_becomes_its_review_item(seeded: Env) -> None:
    # Was: winmail.dat was a non-PDF attachment, and the email was logged 'processed' with the text's candidates only.
    pdf, expected = order_pdf()
    received = await accept_raw(seeded, outlook_email(pdf, name="PO 4471.pdf"), door="http")
    assert await process_email(seeded, received.email_id) == "processed"
    _, [item] = await _log_and_items(seeded, received.email_id)
    assert (item["status"], item["customer_id"], item["po_number"]) == ("pending", DRISCOLL, expected.po_number)
    assert len(json.loads(item["parsed_json"])["lines"]) == len(expected.lines)
    stored = await seeded.db.fetchone("SELECT filename FROM email_attachments WHERE email_id = ?", (received.email_id,))
    assert stored["filename"] == "PO 4471.pdf"
