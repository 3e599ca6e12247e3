"""Intake audit AF: text work outside the write transaction (AF1), orders sent as attachments other than PDFs
(AF3), a Message-ID reused by another message (AF5); real MIME bytes, the real pipeline on SQLite and SeaweedFS."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.test_email_fixtures import (
    DRISCOLL,
    fail_every_attempt,
    order_email,
    order_pdf,
)
from worker.env import Env
from worker.intake import analyze, mime, record
from worker.intake.analyze import EMAIL_TEXT_CHARS, read_text
from worker.intake.mime import read_mail
from worker.intake.pipeline import process_email
from worker.intake.record import ATTACHMENTS_REASON
from worker.intake.store import (
    SAME_MESSAGE_REASON,
    accept_raw,
    fingerprint,
    same_message,
)
from worker.po import typed

WRITER = "sqlite-writer"  # worker.db's write thread


def html_email(html: str, *, sender: str = "buyer@driscollfoods.com", subject: str = "order") -> bytes:
    """An email whose only body is HTML (its text is worked out by html_text)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Buyer <{sender}>", "orders@gfs.local", subject
    msg.set_content(html, subtype="html")
    return msg.as_bytes(policy=policy.SMTP)


def spy(monkeypatch: pytest.MonkeyPatch, name: str, wrap: Callable[[Callable], Callable]) -> None:
    """Replace function `name` wherever the intake looks it up (its module and any intake module importing it)."""
    for module in (mime, typed, analyze, record):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, wrap(getattr(module, name)))


# --- AF1: the email's text work is done before the write, never under the write lock ------------------------


def test_read_text_works_out_the_text_po_number_and_typed_lines() -> None:
    mail = read_mail(html_email("<p>Please send</p><p>12 cs DF-10023</p>", subject="PO 5511"))
    text = read_text(mail)
    assert text.text == "Please send\n12 cs DF-10023"
    assert text.po_number == "5511" and [(t.code, t.quantity) for t in text.typed] == [("DF-10023", 12)]
    long = read_text(read_mail(order_email([], body="x" * (EMAIL_TEXT_CHARS + 50))))
    assert len(long.text) == EMAIL_TEXT_CHARS


def test_read_text_reads_no_typed_lines_where_no_text_item_is_made() -> None:
    pdf, _ = order_pdf("classic_grid", seed=3)
    with_pdf = read_text(read_mail(order_email([("po.pdf", pdf)], body="12 cs DF-10023")))
    assert with_pdf.text == "12 cs DF-10023" and with_pdf.typed == ()  # its text is kept for a give-up item
    machine = read_mail(b"Auto-Submitted: auto-replied\r\n" + order_email([], body="12 cs DF-10023"))
    assert read_text(machine).typed == ()


async def test_html_text_and_typed_lines_never_run_on_the_write_thread(seeded: Env,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # They ran inside record_email: a 20,000-character line held the write lock 45 s, a 21 MB HTML body 41 s.
    ran_on: dict[str, list[str]] = {"html_text": [], "typed_lines": []}

    def recording(name: str) -> Callable[[Callable], Callable]:
        def wrap(real: Callable) -> Callable:
            def call(*args: object) -> object:
                ran_on[name].append(threading.current_thread().name)
                return real(*args)
            return call
        return wrap

    for name in ran_on:
        spy(monkeypatch, name, recording(name))
    received = await accept_raw(seeded, html_email("<div>Please send</div><div>12 cs DF-10023</div>"), door="smtp")
    assert await process_email(seeded, received.email_id) == "needs_manual"
    assert ran_on["html_text"] and ran_on["typed_lines"]
    assert not [t for threads in ran_on.values() for t in threads if t.startswith(WRITER)], ran_on
    item = dict(await seeded.db.fetchone("SELECT * FROM review_items WHERE email_id = ?", (received.email_id,)))
    assert item["email_text"] == "Please send\n12 cs DF-10023" and item["customer_id"] == DRISCOLL
    assert [(ln["item_id"], ln["quantity"]) for ln in json.loads(item["parsed_json"])["lines"]] == [("I448812", 12)]


async def test_an_email_given_up_on_keeps_the_text_read_before_without_reading_it_in_the_write(
        seeded: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # The give-up write reads the mail's text too: it gets the text worked out before, not the bodies to convert.
    ran_on: list[str] = []
    spy(monkeypatch, "html_text", lambda real: lambda html: ran_on.append(threading.current_thread().name) or real(html))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Buyer <buyer@driscollfoods.com>", "orders@gfs.local", "PO"
    msg.set_content("<p>Order attached</p><p>Thanks</p>", subtype="html")
    msg.add_attachment(order_pdf("classic_grid", seed=11)[0], maintype="application", subtype="pdf", filename="po.pdf")
    email_id = await fail_every_attempt(seeded, msg.as_bytes(policy=policy.SMTP))
    item = await seeded.db.fetchone("SELECT email_text FROM review_items WHERE email_id = ?", (email_id,))
    assert item["email_text"] == "Order attached\nThanks"
    assert ran_on and not [t for t in ran_on if t.startswith(WRITER)], ran_on


# --- AF3: a PO sent as an attachment other than a PDF is queued, never dropped -------------------------------

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 3000 + b"\xff\xd9"


def mime_email(parts: list[tuple[list[str], str]], *, subject: str = "PO", sender: str = "buyer@driscollfoods.com",
               top: str = "multipart/mixed") -> bytes:
    """A multipart email of (header lines, payload) parts, written as senders write them."""
    body = "".join(f"--B1\r\n{''.join(h + chr(13) + chr(10) for h in headers)}\r\n{payload}\r\n"
                   for headers, payload in parts)
    return (f"From: Buyer <{sender}>\r\nTo: orders@gfs.local\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: {top}; boundary=\"B1\"\r\n\r\n{body}--B1--\r\n").encode()


def attached(name: str, ctype: str, data: bytes, disposition: str | None = "attachment") -> tuple[list[str], str]:
    headers = [f'Content-Type: {ctype}; name="{name}"', "Content-Transfer-Encoding: base64"]
    headers += [f'Content-Disposition: {disposition}; filename="{name}"'] if disposition else []
    return headers, base64.encodebytes(data).decode()


ORDER_TEXT = "Please ship:\r\n12 cs DF-10023\r\n4 cs DF-20417\r\n"
# The audit's cases: each was logged "processed | no PDF attachment; no text either", with no item.
AS_ATTACHMENTS = {
    "PO 4471.jpg": mime_email([attached("PO 4471.jpg", "image/jpeg", JPEG)]),
    "PO-4472.xlsx": mime_email([attached("PO-4472.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml"
                                         ".sheet", b"PK\x03\x04" + b"x" * 2000)]),
    "scan0001.tif": mime_email([(["Content-Type: text/plain"], ""),  # an empty body, a scan without a disposition
                                attached("scan0001.tif", "image/tiff", b"II*\x00" + b"\x00" * 2000, None)]),
    "PO-5511.txt": mime_email([(['Content-Type: text/plain; name="PO-5511.txt"',
                                 'Content-Disposition: attachment; filename="PO-5511.txt"'], ORDER_TEXT)]),
    "PO-5512.csv": mime_email([(['Content-Type: text/csv; name="PO-5512.csv"',
                                 'Content-Disposition: attachment; filename="PO-5512.csv"'], "code,qty\r\nDF-10023,12")]),
}


@pytest.mark.parametrize("name", AS_ATTACHMENTS)
def test_attachments_that_may_be_the_order_are_named(name: str) -> None:
    assert read_mail(AS_ATTACHMENTS[name]).attachments == [name]


def test_signatures_cards_invitations_and_pdfs_are_not_named_but_attachments_in_a_forward_are() -> None:
    raw = mime_email([(["Content-Type: text/plain"], "Order attached"),
                      (["Content-Type: image/png", "Content-Disposition: inline"], "iVBORw0KGgo="),  # unnamed, inline
                      attached("Buyer.vcf", "text/vcard", b"BEGIN:VCARD"),
                      attached("smime.p7s", "application/pkcs7-signature", b"0\x82"),
                      attached("invite.ics", "text/calendar", b"BEGIN:VCALENDAR"),
                      attached("po.pdf", "application/pdf", b"%PDF-1.4"),
                      attached("winmail.dat", "application/ms-tnef", b"x\x9f>\x22")])
    assert read_mail(raw).attachments == []
    signature = ["Content-Type: image/png; name=image001.png", "Content-ID: <sig>",  # shown by the HTML body
                 "Content-Disposition: inline; filename=image001.png"]
    related = mime_email([(["Content-Type: text/html"], '<p>Regards</p><img src="cid:sig">'), (signature, "iVBORw0KGgo=")],
                         top="multipart/related")
    assert read_mail(related).attachments == []
    forward = (b"Content-Type: message/rfc822\r\n\r\nFrom: a@b.example\r\nSubject: PO\r\n"
               b'Content-Type: multipart/mixed; boundary="F"\r\n\r\n--F\r\nContent-Type: text/plain\r\n\r\nsee '
               b"attached\r\n--F\r\nContent-Type: application/vnd.ms-excel\r\n"
               b'Content-Disposition: attachment; filename="PO 88.xls"\r\n\r\nAAAA\r\n--F--\r\n')
    assert read_mail(forward).attachments == ["PO 88.xls"]
    unnamed = (["Content-Type: image/tiff", "Content-Disposition: attachment"], "SUkqAA==")
    assert read_mail(mime_email([unnamed])).attachments == ["an unnamed image/tiff attachment"]


async def _outcome(env: Env, raw: bytes) -> tuple[str, dict, list[dict]]:
    received = await accept_raw(env, raw, door="smtp")
    status = await process_email(env, received.email_id)
    log = dict(await env.db.fetchone("SELECT * FROM inbound_email_log WHERE id = ?", (received.email_id,)))
    items = [dict(r) for r in await env.db.fetchall("SELECT * FROM review_items WHERE email_id = ?",
                                                    (received.email_id,))]
    return status, log, items


@pytest.mark.parametrize("name", AS_ATTACHMENTS)
async def test_a_po_sent_as_another_attachment_without_text_is_queued_for_a_person(seeded: Env, name: str) -> None:
    status, log, items = await _outcome(seeded, AS_ATTACHMENTS[name])
    assert status == "needs_manual" and log["status"] == "needs_manual"
    assert log["reason"] == f"no PDF attachment or text: the email and its attachment ({name}) are on a review item"
    [item] = items
    assert item["status"] == "needs_manual" and item["customer_id"] == DRISCOLL and item["attachment_id"] is None
    assert item["reason"] == ATTACHMENTS_REASON.format(s="", names=name)
    flags = {f["code"]: f for f in json.loads(item["flags_json"])}
    assert flags["unread_attachment"]["attachments"] == [name] and flags["needs_manual"]["message"] == item["reason"]
    assert (await seeded.db.fetchone("SELECT raw_key FROM inbound_email_log WHERE id = ?", (item["email_id"],)))[0]


async def test_an_order_attached_inside_a_forwarded_message_is_named(seeded: Env) -> None:
    # A forward sent base64-encoded (as Outlook and some gateways send it): its spreadsheet was never named, and the
    # email was logged "processed | no PDF attachment; no text either" with no item: dropped.
    inner = EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "Chef <chef@driscollfoods.com>", "buyer@driscollfoods.com", "PO 88"
    inner.add_attachment(b"PK\x03\x04" + b"x" * 2000, maintype="application",
                         subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename="PO 88.xlsx")
    forward = (["Content-Type: message/rfc822", "Content-Transfer-Encoding: base64",
                "Content-Disposition: attachment"], base64.encodebytes(inner.as_bytes()).decode())
    raw = mime_email([(["Content-Type: text/plain"], ""), forward])
    assert read_mail(raw).attachments == ["PO 88.xlsx"]
    status, log, [item] = await _outcome(seeded, raw)
    assert status == "needs_manual" and "(PO 88.xlsx)" in log["reason"]
    assert item["reason"] == ATTACHMENTS_REASON.format(s="", names="PO 88.xlsx")


async def test_an_order_in_the_text_names_the_attachments_beside_it(seeded: Env) -> None:
    raw = mime_email([(["Content-Type: text/plain"], ORDER_TEXT), attached("PO-4472.xlsx", "application/vnd.ms-excel", b"PK"),
                      attached("IMG_2.jpeg", "image/jpeg", JPEG, "inline")])  # a phone sends photos inline
    status, log, [item] = await _outcome(seeded, raw)
    assert status == "needs_manual"
    assert log["reason"] == ("no PDF attachment: the email text is on a review item; attached, not read: PO-4472.xlsx, "
                             "IMG_2.jpeg")
    assert item["reason"].startswith("no PDF attachment: 2 lines read from the email text")
    assert item["reason"].endswith("; attached, not read: PO-4472.xlsx, IMG_2.jpeg") and item["line_count"] == 2


async def test_an_email_of_only_a_business_card_and_a_signature_is_still_not_queued(seeded: Env) -> None:
    raw = mime_email([(["Content-Type: text/plain"], ""), attached("Buyer.vcf", "text/vcard", b"BEGIN:VCARD"),
                      (["Content-Type: image/png", "Content-Disposition: inline"], "iVBORw0KGgo=")])
    status, log, items = await _outcome(seeded, raw)
    assert (status, log["reason"], items) == ("processed", "no PDF attachment; no text either", [])


# --- AF5: a Message-ID is a duplicate only when the message is the same ------------------------------------------

def relayed(raw: bytes) -> bytes:
    """raw as another relay delivers it again: a Received and a DKIM-Signature header more, the rest unchanged."""
    return (b"Received: from mx2.example.net by mx.gfs.local; Tue, 3 Mar 2026 09:00:01 +0000\r\n"
            b"DKIM-Signature: v=1; a=rsa-sha256; d=driscollfoods.com; b=abc\r\n" + raw)


def test_the_same_message_is_told_by_its_body_or_its_date_and_subject(corpora: Path) -> None:
    pdf, _ = order_pdf("classic_grid", seed=21)
    raw = order_email([("po.pdf", pdf)], message_id="<1@localhost>")
    assert same_message(fingerprint(relayed(raw)), "PO attached", fingerprint(raw), "PO attached")
    other = order_email([("po.pdf", order_pdf("classic_grid", seed=22)[0])], message_id="<1@localhost>")
    assert not same_message(fingerprint(other), "PO attached", fingerprint(raw), "PO attached")  # no Date to tell
    dated = b"Date: Tue, 3 Mar 2026 09:00:00 +0000\r\n"
    assert not same_message(fingerprint(dated + other), "PO", fingerprint(dated + raw), "PO attached")
    # The corpus's re-signed copy: its body wrapped in multipart/signed, its Date and Subject kept.
    signed, original = (fingerprint((corpora / "emails" / f"zbateson__{n}.eml").read_bytes()) for n in ("m4002", "m0021"))
    subject = "Test message from Microsoft Outlook 00"
    assert signed.body_sha256 != original.body_sha256 and same_message(signed, subject, original, subject)


async def _received(env: Env, raw: bytes) -> tuple[object, str]:
    received = await accept_raw(env, raw, door="smtp")
    return received, await process_email(env, received.email_id) if received.status == "received" else "duplicate"


async def _items(env: Env, email_id: int) -> list[dict]:
    return [dict(r) for r in await env.db.fetchall("SELECT * FROM review_items WHERE email_id = ?", (email_id,))]


async def test_two_orders_under_one_broken_message_id_are_both_read_and_the_second_is_flagged(seeded: Env) -> None:
    # The second was answered 250 "(duplicate)" and never read.
    first_pdf, first = order_pdf("side_by_side", seed=21)
    second_pdf, second = order_pdf("side_by_side", seed=22)
    a, status_a = await _received(seeded, order_email([("a.pdf", first_pdf)], message_id="<1@localhost>"))
    b, status_b = await _received(seeded, order_email([("b.pdf", second_pdf)], sender="ap@harborgrill.com",
                                                      message_id="<1@localhost>"))
    c, status_c = await _received(seeded, order_email([("c.pdf", order_pdf("classic_grid", seed=23)[0])],
                                                      message_id="<1@localhost>"))  # the same sender, another PO
    assert (a.status, b.status, c.status) == ("received", "received", "received")
    assert "duplicate" not in (status_a, status_b, status_c)
    [item_a], [item_b], [item_c] = [await _items(seeded, r.email_id) for r in (a, b, c)]
    assert (item_a["po_number"], item_b["po_number"]) == (first.po_number, second.po_number)
    assert "reused_message_id" not in item_a["flags_json"]
    flag = next(f for f in json.loads(item_c["flags_json"]) if f["code"] == "reused_message_id")
    assert flag["earlier_emails"] == [a.email_id, b.email_id] and "<1@localhost>" in flag["message"]


async def test_the_same_message_again_under_its_message_id_is_still_a_duplicate(seeded: Env, corpora: Path) -> None:
    raw = order_email([("po.pdf", order_pdf("classic_grid", seed=24)[0])], message_id="<po-24@driscollfoods.com>")
    first, _ = await _received(seeded, raw)
    again = await accept_raw(seeded, relayed(raw), door="smtp")
    assert (again.status, again.duplicate_of) == ("duplicate", first.email_id)
    log = await seeded.db.fetchone("SELECT reason FROM inbound_email_log WHERE id = ?", (again.email_id,))
    assert log["reason"] == SAME_MESSAGE_REASON.format(id=first.email_id)
    emails = corpora / "emails"
    original = await accept_raw(seeded, (emails / "zbateson__m0021.eml").read_bytes(), door="http")
    signed = await accept_raw(seeded, (emails / "zbateson__m4002.eml").read_bytes(), door="http")
    assert (original.status, signed.status, signed.duplicate_of) == ("received", "duplicate", original.email_id)
