"""The SMTP door: smtplib against the real aiosmtpd listener started by the app's lifespan."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator

import pytest

from tests.helpers import LiveServer, live_server, wait_for
from tests.test_email_fixtures import (
    DRISCOLL,
    order_email,
    order_pdf,
    refusing_s3,
    seed_reference,
)
from worker.seaweed import free_port


@pytest.fixture
def smtp_server(make_env) -> Iterator[LiveServer]:
    """The app with its SMTP door on a free port, reference data loaded."""
    env = make_env(smtp_port=free_port())
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        live.run(env.db.write(seed_reference))
        yield live


def _smtp(live: LiveServer) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", live.env.smtp_port, timeout=30)


def _log(live: LiveServer) -> list[dict]:
    return [dict(r) for r in live.run(live.env.db.fetchall("SELECT * FROM inbound_email_log ORDER BY id"))]


def test_accepted_message_is_stored_logged_and_processed(smtp_server: LiveServer) -> None:
    pdf, expected = order_pdf("classic_grid", seed=5)
    raw = order_email([("po.pdf", pdf)])
    with _smtp(smtp_server) as client:
        assert client.sendmail("buyer@driscollfoods.com", ["Orders@gfs.local"], raw) == {}
    row = wait_for(lambda: next((r for r in _log(smtp_server) if r["status"] not in ("received", "processing")), None))
    assert row["door"] == "smtp" and row["status"] == "processed", row["reason"]
    assert json.loads(row["recipients"])[0] == "orders@gfs.local"
    assert smtp_server.run(smtp_server.env.bucket.get(row["raw_key"])) == raw
    items = smtp_server.run(smtp_server.env.db.fetchall("SELECT * FROM review_items"))
    assert [(i["po_number"], i["customer_id"], i["status"]) for i in items] == [(expected.po_number, DRISCOLL, "pending")]


def test_size_is_advertised_and_unknown_recipient_is_550(smtp_server: LiveServer) -> None:
    with _smtp(smtp_server) as client:
        client.ehlo("tester.example")
        assert client.esmtp_features["size"] == str(smtp_server.env.settings.limits.email_bytes)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("buyer@driscollfoods.com", ["ceo@gfs.local"], order_email([]))
    code, message = refused.value.recipients["ceo@gfs.local"]
    assert code == 550 and b"no such mailbox" in message
    assert _log(smtp_server) == []


def test_empty_message_is_554_and_nothing_is_logged(smtp_server: LiveServer) -> None:
    with _smtp(smtp_server) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], b"")
    assert refused.value.smtp_code == 554 and b"empty message" in refused.value.smtp_error
    assert _log(smtp_server) == []


def test_too_big_is_552_both_announced_and_in_data(make_env) -> None:
    env = make_env(smtp_port=free_port())
    env.settings = env.settings.model_copy(update={"limits": env.settings.limits.model_copy(update={"email_bytes": 40_000})})
    big = order_email([("big.pdf", b"%PDF-1.4\n" + b"0123456789" * 5_000)])
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        with _smtp(live) as client:  # smtplib announces SIZE=, so MAIL FROM is refused up front
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], big)
            assert refused.value.smtp_code == 552
        with _smtp(live) as client:  # a client that does not announce the size is stopped in DATA
            client.ehlo()
            assert client.mail("buyer@driscollfoods.com")[0] == 250
            assert client.rcpt("orders@gfs.local")[0] == 250
            assert client.data(big)[0] == 552
        assert _log(live) == []


def test_our_failures_are_451_so_the_sender_retries(make_env) -> None:
    with refusing_s3() as endpoint:
        env = make_env(smtp_port=free_port(), bucket_endpoint=endpoint)
        env.settings.state_dir.mkdir(parents=True, exist_ok=True)
        (env.settings.state_dir / "spool").write_text("a file where the spool directory should be")
        with live_server(env) as live:
            with _smtp(live) as client:
                with pytest.raises(smtplib.SMTPDataError) as failed:
                    client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], order_email([]))
            assert failed.value.smtp_code == 451
            assert _log(live) == []


def test_bucket_down_spools_and_answers_250(make_env) -> None:
    raw = order_email([])
    with refusing_s3() as endpoint:
        env = make_env(smtp_port=free_port(), bucket_endpoint=endpoint)
        with live_server(env) as live:
            with _smtp(live) as client:
                assert client.sendmail("buyer@driscollfoods.com", ["bids@gfs.local"], raw) == {}
            [row] = _log(live)
    assert row["status"] == "spooled" and row["raw_key"] is None and "bucket unavailable" in row["reason"]
    spooled = env.settings.state_dir / "spool" / f"{row['sha256']}.eml"
    assert row["spool_path"] == str(spooled) and spooled.read_bytes() == raw


def test_database_down_is_451(smtp_server: LiveServer) -> None:
    smtp_server.run(smtp_server.env.db.close())
    with _smtp(smtp_server) as client:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], order_email([]))
    assert failed.value.smtp_code == 451


def test_long_lines_are_accepted(smtp_server: LiveServer) -> None:
    # RFC 5321 says 1,000 bytes, but senders emit longer lines; aiosmtpd's default refused them with a
    # permanent 500, so the sender bounced an order the HTTP door would take.
    raw = b"X-Tracking: " + b"a" * 5000 + b"\r\n" + order_email([])  # one unfolded 5,012-byte line
    with _smtp(smtp_server) as client:
        assert client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], raw) == {}
    [row] = _log(smtp_server)
    assert smtp_server.run(smtp_server.env.bucket.get(row["raw_key"])) == raw


def test_a_slow_sender_is_not_cut_off_while_data_keeps_coming(make_env, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import time

    from handlers import smtp

    monkeypatch.setattr(smtp, "IDLE_TIMEOUT_SECONDS", 1.0)  # the idle limit, not the length of a transfer
    env = make_env(smtp_port=free_port())
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        with socket.create_connection(("127.0.0.1", env.smtp_port), timeout=10) as sock:
            replies = sock.makefile("rb")

            def command(line: bytes) -> bytes:
                sock.sendall(line + b"\r\n")
                while (reply := replies.readline())[3:4] == b"-":
                    pass
                return reply

            replies.readline()  # greeting
            for line in (b"EHLO slow.example", b"MAIL FROM:<buyer@driscollfoods.com>", b"RCPT TO:<orders@gfs.local>"):
                assert command(line).startswith(b"250"), line
            assert command(b"DATA").startswith(b"354")
            lines = order_email([], body="\n".join(f"12 cs DF-10023, line {n}" for n in range(50))).split(b"\r\n")
            for line in lines:  # 2.5 s of DATA, more than the idle limit, each line well inside it
                sock.sendall(line + b"\r\n")
                time.sleep(2.5 / len(lines))
            assert command(b".").startswith(b"250")
            assert command(b"QUIT").startswith(b"221")
        # Intake runs after the 250, in the background: wait for its end (a text-only email goes to a person).
        row = wait_for(lambda: next((r for r in _log(live) if r["status"] not in ("received", "processing")), None))
        assert len(_log(live)) == 1
    assert row["status"] == "needs_manual", row["reason"]


def dotted_email(size: int, line: bytes) -> bytes:
    """An order email of exactly size bytes, made up mostly of the given line beginning with "." (quoted
    replies, some signatures): a sender doubles each such dot in DATA (RFC 5321 4.5.2)."""
    head = order_email([])
    last = 3 + (size - len(head) - 3) % len(line)  # a last line of "x"s makes up the rest
    raw = head + line * ((size - len(head) - last) // len(line)) + b"x" * (last - 2) + b"\r\n"
    assert len(raw) == size
    return raw


def test_the_limit_counts_the_message_as_stored_not_its_doubled_dots(make_env) -> None:
    # aiosmtpd counted DATA before removing the doubled dots: a message within the advertised SIZE (and taken
    # by the HTTP door) made mostly of lines beginning with "." was refused a permanent 552, and bounced.
    limit = 40_000
    env = make_env(smtp_port=free_port())
    env.settings = env.settings.model_copy(update={"limits": env.settings.limits.model_copy(update={"email_bytes": limit})})
    at_limit = dotted_email(limit, b".\r\n")  # the worst case: every line a lone dot, sent as "..", 4/3 the size
    over = dotted_email(limit + 1, b". quoted reply line\r\n")
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        with _smtp(live) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == str(limit)  # the limit itself is advertised
            assert client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], at_limit) == {}
        [row] = _log(live)
        assert live.run(env.bucket.get(row["raw_key"])) == at_limit  # unescaped, byte for byte
        with _smtp(live) as client:  # no SIZE= announced: refused in DATA, once unescaped
            client.ehlo()
            assert client.mail("buyer@driscollfoods.com")[0] == 250
            assert client.rcpt("orders@gfs.local")[0] == 250
            assert client.data(over) == (552, b"5.3.4 Message too big for system")
        assert len(_log(live)) == 1


def test_an_email_being_read_does_not_hold_up_the_next_ones_250(smtp_server: LiveServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The email's text work ran inside its write transaction: one 20,000-character line made the next email's
    # 250 wait 45 s (and `worker cron hot` fail "database is locked"). A typed-line reading held up on purpose
    # must now let another email be stored and answered meanwhile.
    import threading

    from worker.intake import analyze, record
    from worker.po import typed

    reading, answered, went_through = threading.Event(), threading.Event(), []
    real = typed.typed_lines

    def slow_typed_lines(text: str) -> list:
        if "DF-10023" in text and not reading.is_set():  # the first email's reading only
            reading.set()
            went_through.append(answered.wait(10))  # False: nothing could be written while it was read
        return real(text)

    for module in (typed, analyze, record):
        if hasattr(module, "typed_lines"):
            monkeypatch.setattr(module, "typed_lines", slow_typed_lines)
    with _smtp(smtp_server) as client:
        assert client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], order_email([], body="12 cs DF-10023")) == {}
    assert reading.wait(30)
    with _smtp(smtp_server) as client:  # stored and logged (a write) while the first is still being read
        assert client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], order_email([], body="hello")) == {}
    answered.set()
    rows = wait_for(lambda: (r := _log(smtp_server)) and all(x["status"] == "needs_manual" for x in r) and r)
    assert went_through == [True] and len(rows) == 2


def test_a_po_sent_as_a_scanned_image_without_text_reaches_the_review_queue(smtp_server: LiveServer) -> None:
    # It was answered 250 and logged "processed | no PDF attachment; no text either" with no item: dropped.
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Buyer <buyer@driscollfoods.com>", "orders@gfs.local", "PO 4471"
    msg.add_attachment(b"\xff\xd8\xff\xe0" + b"\x00" * 3000, maintype="image", subtype="jpeg", filename="PO 4471.jpg")
    with _smtp(smtp_server) as client:
        assert client.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], msg.as_bytes()) == {}
    row = wait_for(lambda: next((r for r in _log(smtp_server) if r["status"] not in ("received", "processing")), None))
    assert row["status"] == "needs_manual" and "(PO 4471.jpg)" in row["reason"]
    [item] = smtp_server.run(smtp_server.env.db.fetchall("SELECT * FROM review_items WHERE email_id = ?", (row["id"],)))
    assert item["status"] == "needs_manual" and item["customer_id"] == DRISCOLL and "PO 4471.jpg" in item["reason"]


def test_two_orders_from_two_senders_under_one_broken_message_id_are_both_read(smtp_server: LiveServer) -> None:
    # The second was answered 250 "(duplicate)" and never read: a Message-ID alone does not make the same message.
    replies, expected = [], []
    for seed, sender in [(21, "buyer@driscollfoods.com"), (22, "ap@harborgrill.com")]:
        pdf, po = order_pdf("side_by_side", seed=seed)
        expected.append(po.po_number)
        with _smtp(smtp_server) as client:
            client.ehlo()
            client.mail(sender)
            client.rcpt("orders@gfs.local")
            replies.append(client.data(order_email([("po.pdf", pdf)], sender=sender, message_id="<1@localhost>")))
    assert [code for code, _ in replies] == [250, 250] and not [m for _, m in replies if b"duplicate" in m]
    rows = wait_for(lambda: (r := _log(smtp_server)) and all(x["status"] == "processed" for x in r) and r)
    items = smtp_server.run(smtp_server.env.db.fetchall("SELECT po_number FROM review_items ORDER BY email_id"))
    assert len(rows) == 2 and [i["po_number"] for i in items] == expected
