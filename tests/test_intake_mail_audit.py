"""Intake audit AF: text work outside the write transaction (AF1), real pipeline on SQLite and SeaweedFS."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage

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
from worker.intake.store import accept_raw
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
