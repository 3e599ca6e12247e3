"""A small message whose structure makes the stdlib parser slow is parsed in the bounded child, like a big one.

The parser checks every line against every open multipart boundary: a 1.99 MB message of 450 nested multiparts
and short lines took 128 s of a core in-process (a legit order behind two of them waited 151-269 s, /healthz took
13 s). `isolation_reason` finds such messages in their raw bytes; ordinary mail is still parsed in-process.
"""

from __future__ import annotations

import base64
import os
import smtplib
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.helpers import LiveServer, live_server, wait_for
from tests.test_email_fixtures import (
    DRISCOLL,
    forwarded_email,
    order_email,
    order_pdf,
    seed_reference,
)
from worker.intake import isolated
from worker.intake.isolated import isolation_reason, read_mail_bounded
from worker.seaweed import free_port

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HEAD = b"From: buyer@driscollfoods.com\r\nTo: orders@gfs.local\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"


def nested(depth: int, total: int, *, declared: bool = True, tail: bytes = b"Content-Type: text/plain\r\n\r\n") -> bytes:
    """depth multiparts, each the first part of the one above, then short lines up to total bytes (the auditor's)."""
    level = b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' if declared else \
        b"Content-Type: multipart/mixed\r\n\r\n--b%d\r\n"
    body = HEAD + b"".join(level % ((i, i) if declared else (i,)) for i in range(depth)) + tail
    return body + b"x\r\n" * max(0, (total - len(body)) // 3)


def with_pdf_inside(depth: int, lines: int) -> bytes:
    """A real (if odd) message: a PDF at the bottom of depth nested multiparts, with many short text lines."""
    pdf = base64.encodebytes(PDF).replace(b"\n", b"\r\n")
    leaf = (b"Content-Type: text/plain\r\n\r\n" + b"12 cs DF-10023\r\n" * lines +
            b"--b%d\r\nContent-Type: application/pdf; name=po.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" % (depth - 1)
            + pdf)
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return nested(depth, 0, tail=leaf) + closing


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files parsed in a child, in order; the small-message timeout cut to 3 s (a real one needs well under)."""
    calls: list[Path] = []
    real = isolated.read_mail_in_child

    def spy(path: Path, **limits: float):
        calls.append(path)
        return real(path, **limits)

    monkeypatch.setattr(isolated, "read_mail_in_child", spy)
    monkeypatch.setattr(isolated, "SMALL_PARSE_TIMEOUT_SECONDS", 3.0)
    return calls


def ordinary() -> list[bytes]:
    pdf, _ = order_pdf("classic_grid", seed=5)
    text = "12 cs DF-10023 chicken breast, boneless, skinless, 4 x 10 lb\n" * 30_000  # 1.9 MB of text lines
    return [order_email([], body="12 cs DF-10023"), order_email([("po.pdf", pdf)]), forwarded_email(pdf),
            order_email([("po.pdf", b"%PDF-1.4\n" + os.urandom(1_400_000) + b"\n%%EOF\n")]),
            order_email([], body=text)]


def test_ordinary_mail_is_parsed_in_process(children: list[Path], tmp_path: Path) -> None:
    for raw in ordinary():
        assert isolation_reason(raw) is None
        path = tmp_path / "m.eml"
        path.write_bytes(raw)
        assert read_mail_bounded(raw, tmp_path).problems == read_mail_bounded(path, tmp_path).problems == []
    assert children == []


@pytest.mark.parametrize("raw", [
    nested(450, 1_990_000),  # the audit's: 128 s in-process
    nested(700, 200_000),  # 14 s in-process
    nested(8, 1_990_000, declared=False),  # no boundary declared: each level is parsed again with the one used
    nested(2, 1_990_000),
], ids=["450-deep", "700-deep-200KB", "guessed", "2-deep-short-lines"])
def test_slow_structures_are_found_in_the_raw_bytes(raw: bytes) -> None:
    assert "boundaries" in (isolation_reason(raw) or "")


def test_what_the_raw_counts_cannot_see_goes_to_the_child() -> None:
    # An encoded-word type is decoded by the stdlib ("multipart/mixed" then), and an encoded forward is decoded and
    # parsed again: neither shows its structure in the raw bytes.
    encoded = HEAD + b"Content-Type: =?us-ascii?q?multipart?=/mixed;\r\n boundary=a\r\n\r\n--a\r\n\r\nhi\r\n--a--\r\n"
    assert isolation_reason(encoded) == "an encoded-word in a Content-Type"
    inner = nested(300, 30_000)
    forward = EmailMessage()
    forward["From"], forward["Subject"] = "rep@gfs.local", "Fwd: order"
    forward.set_content("see below")
    forward.add_attachment(inner, maintype="message", subtype="rfc822", cte="base64")  # type: ignore[call-arg]
    raw = forward.as_bytes(policy=policy.SMTP)
    assert b"b299" not in raw and isolation_reason(raw) == "a forwarded message that may be decoded and parsed again"


def test_a_nested_bomb_is_parsed_in_the_child_and_ends_with_a_reason(children: list[Path], tmp_path: Path) -> None:
    raw = nested(450, 400_000)
    mail = read_mail_bounded(raw, tmp_path)
    assert len(children) == 1 and children[0].parent == tmp_path and list(tmp_path.iterdir()) == []
    assert mail.problems == ["malformed MIME: parsing timed out after 3s"] and mail.sender == "buyer@driscollfoods.com"
    path = tmp_path / "m.eml"  # the HTTP door's file: parsed from where it lies
    path.write_bytes(raw)
    assert read_mail_bounded(path, tmp_path).problems == mail.problems and children[1] == path


def test_a_real_message_sent_to_the_child_for_its_structure_is_still_read(children: list[Path],
                                                                           tmp_path: Path) -> None:
    raw = with_pdf_inside(60, 20_000)
    assert isolation_reason(raw) is not None
    mail = read_mail_bounded(raw, tmp_path)
    assert len(children) == 1 and [p.data for p in mail.pdfs] == [PDF] and mail.problems == []
    assert "12 cs DF-10023" in mail.bodies[0].content


@pytest.fixture
def smtp_server(make_env, children: list[Path]) -> Iterator[LiveServer]:
    env = make_env(smtp_port=free_port())
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        live.run(env.db.write(seed_reference))
        yield live


def test_an_order_behind_nested_mail_is_read_and_the_nested_mail_reaches_a_person(smtp_server: LiveServer,
                                                                                   children: list[Path]) -> None:
    pdf, expected = order_pdf("classic_grid", seed=51)
    with smtplib.SMTP("127.0.0.1", smtp_server.env.smtp_port, timeout=60) as client:
        for n in range(2):
            bomb = nested(450, 600_000).replace(b"Subject: nested", b"Subject: nested %d" % n)
            assert client.sendmail("a@b.example", ["orders@gfs.local"], bomb) == {}
        assert client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], order_email([("po.pdf", pdf)])) == {}

    def done() -> list[dict] | None:
        rows = [dict(r) for r in smtp_server.run(smtp_server.env.db.fetchall(
            "SELECT * FROM inbound_email_log ORDER BY id"))]
        return rows if len(rows) == 3 and all(r["status"] not in ("received", "processing") for r in rows) else None

    rows = wait_for(done, timeout=120)
    assert len(children) == 2  # the two nested ones; the order was parsed in-process
    assert rows[2]["status"] == "processed", rows[2]["reason"]
    for row in rows[:2]:
        assert row["status"] == "needs_manual" and "parsing timed out" in row["reason"], row["reason"]
    items = smtp_server.run(smtp_server.env.db.fetchall(
        "SELECT email_id, po_number, customer_id FROM review_items WHERE email_id = ?", (rows[2]["id"],)))
    assert [tuple(i) for i in items] == [(rows[2]["id"], expected.po_number, DRISCOLL)]
