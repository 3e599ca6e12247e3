"""Pure MIME walking: PDFs by type, name or magic (also forwarded and mislabeled), headers, bodies, hostile input."""

from __future__ import annotations

import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.test_email_fixtures import forwarded_email, order_email, outlook_email, tnef, winmail_email
from worker.intake import mime
from worker.intake.boundary import GUESSED, NOT_READ, PREAMBLE_NOT_READ
from worker.intake.mime import HTML_CUT, MAX_HTML_CHARS, MAX_PARTS, html_text, is_pdf, read_headers, read_mail
from worker.intake.problems import unread_note
from worker.intake.tnef import unwrap

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
REAL_TNEF = Path(__file__).parent / "data" / "tnef"


def test_plain_order_email() -> None:
    mail = read_mail(order_email([("PO 123.pdf", PDF)], subject="PO 123", message_id="<a@b.c>"))
    assert (mail.message_id, mail.sender, mail.subject, mail.recipients) == ("<a@b.c>", "buyer@driscollfoods.com",
                                                                            "PO 123", ["orders@gfs.local"])
    [pdf] = mail.pdfs
    assert (pdf.filename, pdf.content_type, pdf.data, pdf.forwarded) == ("PO 123.pdf", "application/pdf", PDF, False)
    assert mail.body_text(1000) == "Please see the attached order." and mail.problems == []


def test_forwarded_rfc822_with_octet_stream_and_rfc2231_name() -> None:
    raw = forwarded_email(PDF)
    assert b"filename*=utf-8''Bestellung" in raw  # really RFC 2231 on the wire
    mail = read_mail(raw)
    [pdf] = mail.pdfs
    assert pdf.filename == "Bestellung Nr. 77 – Müller.pdf" and pdf.content_type == "application/octet-stream"
    assert pdf.forwarded and pdf.data == PDF
    assert mail.sender == "rep@gfs.local" and mail.forwarded_senders == ["buyer@driscollfoods.com"]


def test_encoded_word_filename_and_magic_only_detection() -> None:
    msg = EmailMessage()
    msg["From"] = "=?utf-8?q?J=C3=BCrgen?= <j@example.de>"
    msg["Subject"] = "=?utf-8?b?QmVzdGVsbHVuZyDDvGJlciAxMDAg4oKs?="
    msg.set_content("see attachments")
    msg.add_attachment(PDF, maintype="application", subtype="octet-stream", filename="=?utf-8?q?Bestellung_=C3=A4.pdf?=")
    msg.add_attachment(PDF + b"v2", maintype="application", subtype="octet-stream")  # no name, no type: magic
    msg.add_attachment(b"GIF89a not a pdf", maintype="image", subtype="gif", filename="logo.gif")
    mail = read_mail(msg.as_bytes(policy=policy.SMTP))
    assert mail.subject == "Bestellung über 100 €" and mail.sender == "j@example.de"
    assert [p.filename for p in mail.pdfs] == ["Bestellung ä.pdf", None]


def test_same_pdf_twice_is_one_order_and_names_are_sanitized() -> None:
    msg = EmailMessage()
    msg["From"] = "a@b.com"
    msg.set_content("x")
    for name in ("../../etc/passwd.pdf", "copy.pdf"):
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=name)
    [pdf] = read_mail(bytes(msg)).pdfs
    assert pdf.filename == "passwd.pdf"


@pytest.mark.parametrize(("ctype", "name", "data", "expected"), [
    ("application/pdf", None, b"", True),
    ("application/octet-stream", "ORDER.PDF", b"", True),
    ("application/octet-stream", None, b"\r\n%PDF-1.7", True),
    ("text/plain", "notes.txt", b"hello", False),
    ("image/png", "scan.png", b"\x89PNG", False),
])
def test_is_pdf(ctype, name, data, expected) -> None:
    assert is_pdf(ctype, name, data) is expected


def test_html_body_and_garbage_never_raise() -> None:
    msg = EmailMessage()
    msg["From"] = "a@b.com"
    msg.set_content("plain")
    msg.add_alternative("<p>order <b>attached</b></p>", subtype="html")
    mail = read_mail(bytes(msg))
    assert [(b.content, b.html) for b in mail.bodies] == [("plain\n", False)]  # the HTML alternative is not read
    for junk in (b"", b"\x00\xff" * 1000, b"From: \r\n\r\n", b"Content-Type: multipart/mixed\r\n\r\nno boundary"):
        assert read_mail(junk).pdfs == []


def test_too_many_parts_is_bounded_and_reported() -> None:
    msg = EmailMessage()
    msg["From"] = "a@b.com"
    msg.set_content("x")
    for n in range(MAX_PARTS + 5):
        msg.add_attachment(b"x", maintype="application", subtype="octet-stream", filename=f"{n}.bin")
    mail = read_mail(bytes(msg))
    assert any("more than" in p for p in mail.problems)


def test_deeply_nested_multiparts_do_not_crash() -> None:
    depth = 2000
    parts = [b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth)]
    raw = b"From: a@b.com\r\nMIME-Version: 1.0\r\n" + b"".join(parts) + b"Content-Type: text/plain\r\n\r\nhi\r\n"
    mail = read_mail(raw)
    assert mail.sender == "a@b.com"  # whatever the structure did, headers survive and nothing raised


def test_headers_only_read_matches_full_read_and_truncates_hostile_headers(tmp_path: Path) -> None:
    raw = order_email([("a.pdf", PDF)], subject="x" * 300_000)
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    head, full = read_headers(path), read_mail(raw)
    assert (head.message_id, head.sender, head.recipients) == (full.message_id, full.sender, full.recipients)
    assert len(full.subject or "") <= 998


def test_big_messages_are_parsed_in_a_child_with_limits(tmp_path: Path) -> None:
    from worker.intake.isolated import (
        IN_PROCESS_MAX_BYTES,
        read_mail_bounded,
        read_mail_in_child,
    )

    msg = EmailMessage()
    msg["From"] = "buyer@driscollfoods.com"
    msg["Message-ID"] = "<big@driscollfoods.com>"
    msg.set_content("two attachments")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="po.pdf")
    msg.add_attachment(b"\x01" * IN_PROCESS_MAX_BYTES, maintype="application", subtype="zip", filename="big.zip")
    raw = msg.as_bytes(policy=policy.SMTP)
    inline = read_mail(raw)
    child = read_mail_bounded(raw, tmp_path)  # bytes over the threshold: spilled, parsed in a child, cleaned up
    assert [(p.filename, p.data) for p in child.pdfs] == [(p.filename, p.data) for p in inline.pdfs] == [("po.pdf", PDF)]
    assert child.message_id == inline.message_id and list(tmp_path.iterdir()) == []
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    slow = read_mail_in_child(path, timeout=0.001)  # the child cannot even start in 1 ms: bounded, explained
    assert slow.pdfs == [] and slow.sender == "buyer@driscollfoods.com"
    assert slow.problems == ["malformed MIME: parsing timed out after 0.001s"]


@pytest.mark.parametrize(("headers", "expected"), [
    ("Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-replied"),
    ("Auto-Submitted: no\r\n", None),
    ("Precedence: bulk\r\n", "Precedence: bulk"),
    ("X-Autoreply: yes\r\n", "an automatic reply"),
    ("", None),
])
def test_machine_mail_is_recognised_by_its_headers(headers, expected):
    assert read_mail(headers.encode() + order_email([], body="hello")).auto_generated == expected


def test_bounces_and_reports_are_machine_mail():
    bounce = order_email([], sender="MAILER-DAEMON@mx.example.com", body="Delivery failed")
    assert read_mail(bounce).auto_generated == "sent by mailer-daemon@mx.example.com"
    report = EmailMessage()
    report["From"] = "buyer@driscollfoods.com"  # a read receipt from a person's mailbox
    report.set_content("read")
    report.add_alternative("<p>read</p>", subtype="html")
    report.replace_header("Content-Type", 'multipart/report; report-type=disposition-notification; boundary="b"')
    assert read_mail(report.as_bytes()).auto_generated == "a delivery or read report"


def test_body_text_prefers_the_plain_part_and_reads_html_otherwise():
    html = ("<html><head><style>p {color: red}</style><title>t</title></head><body><p>Please send<br>"
            "10 cs <b>DF-10023</b></p><table><tr><td>qty</td><td>12 &amp; 4</td></tr></table>"
            "<script>alert(1)</script></body></html>")
    assert html_text(html) == "Please send\n10 cs DF-10023\n\nqty 12 & 4"
    msg = EmailMessage()
    msg["From"] = "buyer@driscollfoods.com"
    msg.set_content(html, subtype="html")
    assert read_mail(msg.as_bytes()).body_text(1000) == "Please send\n10 cs DF-10023\n\nqty 12 & 4"
    assert read_mail(order_email([], body="  Send 10 cases  \n")).body_text(7) == "Send 10"


CRLF = "\r\n"
ORDER = "Please ship:\r\n12 cs DF-10023\r\n4 cs DF-20417\r\nThanks"
LOGO = ['Content-Type: image/png; name="logo.png"', "Content-Disposition: inline", "Content-Transfer-Encoding: base64"]


def _mime(ctype: str, parts: list[tuple[list[str], str]]) -> bytes:
    body = "".join(f"--B1\r\n{''.join(h + CRLF for h in hdrs)}\r\n{payload}\r\n" for hdrs, payload in parts)
    return (f"From: Buyer <buyer@driscollfoods.com>\r\nTo: orders@gfs.local\r\nSubject: PO\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: {ctype}; boundary="B1"\r\n\r\n{body}--B1--\r\n').encode()


@pytest.mark.parametrize(("first", "expected"), [(" ", ""), ("Hi team,\r\n", "Hi team,\n\n")],
                         ids=["blank", "greeting"])
def test_every_text_part_is_read_in_order(first: str, expected: str) -> None:
    # Was: only the first text/plain part was read: blank, nothing at all; "Hi team,", an item with 0 lines.
    png = "iVBORw0KGgoAAAAA\r\n"
    mail = read_mail(_mime("multipart/mixed", [(["Content-Type: text/plain"], first), (LOGO, png),
                                               (["Content-Type: text/plain"], ORDER)]))
    assert mail.body_text(1000) == expected + "Please ship:\n12 cs DF-10023\n4 cs DF-20417\nThanks"


def test_the_text_of_a_forwarded_message_is_read_after_the_forwarders_note() -> None:
    # Was: only the rep's note; the customer's typed order in the attached message was never read.
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "Buyer <buyer@driscollfoods.com>", "Order for Thursday"
    inner.set_content("Please send for Thursday:\n12 cs DF-10023\n4 cs DF-20417")
    outer = EmailMessage()
    outer["From"], outer["Subject"] = "Sam Rep <rep@gfs.local>", "Fwd: Order for Thursday"
    outer.set_content("Please enter the attached order from Driscoll. -Sam")
    outer.add_attachment(inner)
    mail = read_mail(outer.as_bytes(policy=policy.SMTP))
    assert mail.forwarded_senders == ["buyer@driscollfoods.com"]
    assert mail.body_text(1000) == ("Please enter the attached order from Driscoll. -Sam\n\n"
                                    "Please send for Thursday:\n12 cs DF-10023\n4 cs DF-20417")


def _alternative(plain: str) -> tuple[list[str], str]:
    return (['Content-Type: multipart/alternative; boundary="A"'],
            f"--A\r\nContent-Type: text/plain\r\n\r\n{plain}\r\n--A\r\nContent-Type: text/html\r\n\r\n"
            "<p>in <b>HTML</b></p>\r\n--A--")


def test_an_alternative_is_read_once_plain_preferred_unless_blank() -> None:
    html = ["Content-Type: text/html"]
    mixed = _mime("multipart/mixed", [_alternative("in plain"), (html, "<p>a footer</p>")])
    assert read_mail(mixed).body_text(1000) == "in plain\n\na footer"  # a lone HTML part is read
    assert read_mail(_mime("multipart/mixed", [_alternative("  ")])).body_text(1000) == "in HTML"
    assert read_mail(_mime("multipart/alternative", [(html, "<p>one</p>"), (html, "<p>richer</p>")])
                     ).body_text(1000) == "richer"  # RFC 2046: the last alternative is the preferred one
    twice = _mime("multipart/mixed", [(["Content-Type: text/plain"], "12 cs  DF-10023"),
                                      (html, "<p>12 cs DF-10023</p>")])
    assert read_mail(twice).body_text(1000) == "12 cs  DF-10023"  # plain and HTML outside an alternative: read once


def test_winmail_dats_copy_of_the_body_is_not_read_twice() -> None:
    assert read_mail(outlook_email(PDF, body="Order attached.")).body_text(1000) == "Order attached."


def test_html_is_cut_before_it_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    # Was: converted whole, however big: a 21 MB body took 41 s (and ran while the email was being recorded).
    converted: list[int] = []
    monkeypatch.setattr(mime, "html_text", lambda html: converted.append(len(html)) or html_text(html))
    filler = "<div><td>a</td><br>x</div>\r\n" * (MAX_HTML_CHARS // 25)
    msg = EmailMessage()
    msg["From"] = "buyer@driscollfoods.com"
    msg.set_content(f"<p>12 cs DF-10023</p>{filler}", subtype="html")
    msg.add_attachment(f"<p>more</p>{filler}", subtype="html", disposition="inline")
    mail = read_mail(msg.as_bytes())
    assert mail.body_text(100).startswith("12 cs DF-10023\na") and 0 < sum(converted) <= MAX_HTML_CHARS
    [body] = mail.bodies  # the second body is past the limit: not read at all
    assert len(body.content) <= MAX_HTML_CHARS and body.content.rfind("<") < body.content.rfind(">")  # no half tag
    assert unread_note(mail) == f"part of the email could not be read: {HTML_CUT}"


@pytest.mark.parametrize("junk", ["<a " * 7_000, "<a\n" * 7_000, "<a/" * 7_000, "<!--" * 12_000],
                         ids=["tag opened again", "across lines", "slash", "comments never closed"])
def test_html_the_stdlib_parser_is_slow_on_converts_in_linear_time(junk: str) -> None:
    # Was: 20 to 50 KB of these took 3 s to a minute (CPython's HTMLParser), under any cut to a few hundred KB.
    started = time.monotonic()
    text = html_text(f"<p>12 cs DF-10023</p>{junk}")
    assert time.monotonic() - started < 1 and text.startswith("12 cs DF-10023")


def test_html_text_of_stray_brackets_and_comments() -> None:
    html = "<p>a < b</p><!--[if mso]>x<![endif]--><p>c</p><!--<![endif]--><p>d &lt; e</p><!-- unclosed <p>f"
    assert html_text(html) == "a < b\nc\nd < e"  # an unclosed comment runs to the end, as browsers read it


# --- a multipart whose declared boundary is not in its body -----------------------------------------------------


def _multipart(ctype_params: str, body: str) -> bytes:
    return (f"From: buyer@driscollfoods.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed{ctype_params}\r\n\r\n"
            f"{body}").encode()


_PARTS = ("--used\r\nContent-Type: text/plain\r\n\r\nPO 4471 attached\r\n"
          "--used\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
          "JVBERi0xLjQKJSVFT0YK\r\n--used--\r\n")


@pytest.mark.parametrize("params", ['; boundary="declared"', ""], ids=["another boundary", "no boundary"])
def test_a_multipart_is_read_with_the_boundary_its_body_uses(params: str) -> None:
    # Was: no parts, no text, no PDF, and nothing said but the stdlib's defects in the log.
    mail = read_mail(_multipart(params, "This is a multi-part message in MIME format.\r\n\r\n" + _PARTS))
    assert mail.body_text(1000) == "PO 4471 attached" and [p.data for p in mail.pdfs] == [b"%PDF-1.4\n%%EOF\n"]
    assert GUESSED in mail.problems and unread_note(mail) == ""  # log only: everything was read


def test_text_before_the_guessed_parts_is_an_unread_part() -> None:
    mail = read_mail(_multipart('; boundary="declared"', "Please send 10 cs DF-10023\r\n" + _PARTS))
    assert mail.pdfs and unread_note(mail) == f"part of the email could not be read: {PREAMBLE_NOT_READ}"


@pytest.mark.parametrize("body", ["Hi there,\r\n\r\nSend 10 cs DF-10023\r\n",
                                  "Send 10 cs\r\n------------------\r\nthanks\r\n"],
                         ids=["no delimiter line", "a rule, not a delimiter"])
def test_a_multipart_body_without_a_usable_boundary_is_an_unread_part(body: str) -> None:
    mail = read_mail(_multipart('; boundary="declared"', body))
    assert (mail.bodies, mail.pdfs) == ([], [])
    assert unread_note(mail) == f"part of the email could not be read: {NOT_READ}"


def test_bodies_read_again_are_bounded_per_message() -> None:
    # Nested multiparts each with a wrong boundary: each is parsed again (copying its text), so only a few are.
    body = "--outer\r\nContent-Type: text/plain\r\n\r\ndone\r\n--outer--\r\n"
    for n in range(12):
        body = (f"--b{n}\r\nContent-Type: multipart/mixed; boundary=\"nope{n}\"\r\n\r\n{body}--b{n}--\r\n")
    mail = read_mail(_multipart('; boundary="declared"', body))
    assert mail.problems.count(GUESSED) == 8 and NOT_READ in unread_note(mail) and mail.bodies == []


def test_a_pdf_inside_outlooks_winmail_dat_is_read() -> None:
    mail = read_mail(outlook_email(PDF, name="PO 4471.pdf"))
    [pdf] = mail.pdfs
    assert (pdf.filename, pdf.content_type, pdf.data, pdf.forwarded) == ("PO 4471.pdf", "application/pdf", PDF, False)
    assert mail.body_text(1000) == "Order attached." and mail.problems == []


def test_a_message_that_is_only_winmail_dat_reads_its_body_and_files() -> None:
    mail = read_mail(outlook_email(PDF, text=None, body="Order 4471 attached, ship Tuesday."))
    assert [p.data for p in mail.pdfs] == [PDF] and mail.body_text(1000) == "Order 4471 attached, ship Tuesday."


def test_the_same_pdf_inside_and_beside_winmail_dat_is_one_order() -> None:
    msg = EmailMessage()
    msg["From"] = "buyer@driscollfoods.com"
    msg.set_content("two copies")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="PO.pdf")
    msg.add_attachment(tnef([("PO copy.pdf", PDF), ("notes.txt", b"not an order")]), maintype="application",
                       subtype="octet-stream", filename="WINMAIL.DAT")  # relabelled by a gateway
    assert [p.filename for p in read_mail(msg.as_bytes()).pdfs] == ["PO.pdf"]


def test_real_outlook_tnef_streams_are_unwrapped() -> None:
    files = unwrap((REAL_TNEF / "two-files.tnef").read_bytes()).files
    assert [name for name, _ in files] == ["AUTHORS", "README"] and all(data.strip() for _, data in files)
    html = unwrap((REAL_TNEF / "body.tnef").read_bytes())
    assert html.files == [] and "THE BILL OF RIGHTS" in html_text(html.html)


@pytest.mark.parametrize("data", [b"", b"\x78\x9f\x3e\x22", b"\x78\x9f\x3e\x22\x00\x00" + b"\x02" * 40,
                                  b"\x89PNG\r\n\x1a\n"])
def test_a_winmail_dat_that_does_not_decode_is_an_unread_part(data: bytes) -> None:
    mail = read_mail(winmail_email(data))
    [problem] = mail.problems
    assert problem.startswith("Outlook attachment wrapper winmail.dat could not be decoded (") and mail.pdfs == []
    assert unread_note(mail)  # so the email gets an item to read by hand, not a silent "no order"


def test_the_corpus_winmail_dat_holding_a_png_is_an_unread_part(corpora: Path) -> None:
    mail = read_mail((corpora / "emails" / "zbateson__m4006.eml").read_bytes())
    assert mail.pdfs == [] and "Wrong TNEF signature" in unread_note(mail)
