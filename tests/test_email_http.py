"""The HTTP door against the running app: auth, limits, durability, duplicates, and PDFs -> review items."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tests.helpers import LiveServer, live_server, wait_for
from tests.review_seed import sign_in
from tests.test_email_fixtures import (
    AUTH,
    DRISCOLL,
    HARBOR,
    forwarded_email,
    order_email,
    order_pdf,
    post_mail,
    refusing_s3,
    scanned_pdf,
    seed_reference,
)
from worker.intake.store import raw_key
from worker.storage import content_key


def _rows(server: LiveServer, sql: str, params: tuple = ()) -> list[dict]:
    return [dict(r) for r in server.run(server.env.db.fetchall(sql, params))]


def _email(server: LiveServer, email_id: int) -> dict:
    return _rows(server, "SELECT * FROM inbound_email_log WHERE id = ?", (email_id,))[0]


def _done(server: LiveServer, email_id: int) -> dict | None:
    row = _email(server, email_id)
    return row if row["status"] not in ("received", "processing") else None


def _items(server: LiveServer, email_id: int) -> list[dict]:
    return _rows(server, "SELECT * FROM review_items WHERE email_id = ? ORDER BY id", (email_id,))


@pytest.fixture
def seeded(server: LiveServer) -> LiveServer:
    server.run(server.env.db.write(seed_reference))
    return server


def test_order_email_becomes_a_pending_review_item(seeded: LiveServer) -> None:
    pdf, expected = order_pdf("classic_grid", seed=3)
    raw = order_email([("PO.pdf", pdf)])
    reply = post_mail(seeded.url, raw)
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["status"] == "received" and "duplicate_of" not in body
    # Durable before the reply: the raw message is in the bucket under its content address.
    key = content_key("raw-mail", raw, ".eml")
    assert key == raw_key(hashlib.sha256(raw).hexdigest())
    assert seeded.run(seeded.env.bucket.get(key)) == raw
    log = wait_for(lambda: _done(seeded, body["email_id"]))
    assert log["status"] == "processed", log["reason"]
    assert log["raw_key"] == key and log["sender"] == "buyer@driscollfoods.com" and log["subject"] == "PO attached"
    assert json.loads(log["recipients"]) == ["orders@gfs.local"] and log["customer_id"] == DRISCOLL
    [item] = _items(seeded, body["email_id"])
    assert item["status"] == "pending" and item["customer_id"] == DRISCOLL
    parsed = json.loads(item["parsed_json"])
    assert parsed["po_number"] == expected.po_number == item["po_number"]
    assert item["line_count"] == len(expected.lines) and item["total"] == float(expected.total)
    assert all(line["item_id"] for line in parsed["lines"]), parsed["lines"]
    assert 0 < item["confidence"] <= 1 and item["sender"] == "buyer@driscollfoods.com"
    assert seeded.run(seeded.env.bucket.get(item["pdf_key"])) == pdf
    [att] = _rows(seeded, "SELECT * FROM email_attachments WHERE email_id = ?", (body["email_id"],))
    assert att["object_key"] == item["pdf_key"] == content_key("pdf", pdf, ".pdf") and att["filename"] == "PO.pdf"


def test_forwarded_mislabeled_pdf_with_rfc2231_name_is_found_and_matched_by_original_sender(seeded: LiveServer) -> None:
    pdf, expected = order_pdf("side_by_side", seed=2)
    reply = post_mail(seeded.url, forwarded_email(pdf))
    email_id = reply.json()["email_id"]
    log = wait_for(lambda: _done(seeded, email_id))
    assert log["status"] == "processed", log["reason"]
    [item] = _items(seeded, email_id)
    assert item["customer_id"] == DRISCOLL and item["po_number"] == expected.po_number
    [att] = _rows(seeded, "SELECT * FROM email_attachments WHERE email_id = ?", (email_id,))
    assert att["filename"] == "Bestellung Nr. 77 – Müller.pdf" and att["content_type"] == "application/octet-stream"


def test_the_same_message_again_or_the_same_bytes_is_a_duplicate_not_processed_twice(seeded: LiveServer) -> None:
    pdf, _ = order_pdf("classic_grid", seed=4)
    raw = order_email([("PO.pdf", pdf)], message_id="<po-4@driscollfoods.com>")
    first = post_mail(seeded.url, raw).json()
    again = post_mail(seeded.url, raw)
    assert again.status_code == 202
    assert again.json() == {"email_id": again.json()["email_id"], "status": "duplicate", "duplicate_of": first["email_id"]}
    # Delivered again by another relay: the same Message-ID, sender and body under a header more.
    relayed = b"Received: from mx2.example.net by mx.gfs.local; Tue, 3 Mar 2026 09:00:01 +0000\r\n" + raw
    assert post_mail(seeded.url, relayed).json()["duplicate_of"] == first["email_id"]
    wait_for(lambda: _done(seeded, first["email_id"]))
    rows = _rows(seeded, "SELECT status, duplicate_of FROM inbound_email_log ORDER BY id")
    assert [r["status"] for r in rows] == ["processed", "duplicate", "duplicate"]
    assert len(_rows(seeded, "SELECT id FROM review_items")) == 1


def _flags(item: dict) -> dict[str, dict]:
    return {f["code"]: f for f in json.loads(item["flags_json"])}


def test_the_same_po_in_a_new_email_is_flagged_duplicate_po_naming_the_earlier_item(seeded: LiveServer) -> None:
    pdf, expected = order_pdf("classic_grid", seed=5)
    first = post_mail(seeded.url, order_email([("PO.pdf", pdf)], subject="PO")).json()["email_id"]
    wait_for(lambda: _done(seeded, first))
    [original] = _items(seeded, first)
    assert "duplicate_po" not in _flags(original)
    # The customer re-sends the same PDF in a new email (new Message-ID): not a duplicate email, but the same order.
    again = post_mail(seeded.url, order_email([("PO.pdf", pdf)], subject="RE: PO (resend)")).json()["email_id"]
    wait_for(lambda: _done(seeded, again))
    [resent] = _items(seeded, again)
    flag = _flags(resent)["duplicate_po"]
    assert resent["status"] == "pending" and flag["severity"] == "warning" and flag["earlier_items"] == [original["id"]]
    assert flag["message"] == (f"PO {expected.po_number} may have been received before: review item {original['id']} "
                               "(pending; same PO number and same PDF); approving both would create two sales orders")
    # Typed into an email, in other case and with spaces, once the first has been approved: the same PO number.
    seeded.run(seeded.env.db.write(lambda c: c.execute("UPDATE review_items SET status = 'approved' WHERE id = ?",
                                                       (original["id"],))))
    typed = post_mail(seeded.url, order_email([], subject=f"PO {expected.po_number.lower()} ",
                                              body="- 12 cs DF-10023")).json()["email_id"]
    wait_for(lambda: _done(seeded, typed))
    [text_item] = _items(seeded, typed)
    assert text_item["po_number"].upper() == expected.po_number
    assert _flags(text_item)["duplicate_po"]["earlier_items"] == [original["id"], resent["id"]]
    assert f"{original['id']} (approved; same PO number), {resent['id']} (pending; same PO number)" in \
        _flags(text_item)["duplicate_po"]["message"]


def test_other_orders_and_other_customers_po_numbers_are_not_duplicates(seeded: LiveServer) -> None:
    pdf, expected = order_pdf("classic_grid", seed=6)
    other, _ = order_pdf("classic_grid", seed=11)
    first = post_mail(seeded.url, order_email([("PO.pdf", pdf)])).json()["email_id"]
    wait_for(lambda: _done(seeded, first))
    ids = [post_mail(seeded.url, raw).json()["email_id"] for raw in (
        order_email([("PO.pdf", other)]),  # the same customer's next order
        order_email([], sender="ap@harborgrill.com", subject=f"PO {expected.po_number}", body="- 2 cs GFS-117650"))]
    for email_id in ids:  # Harbor's PO number happens to equal Driscoll's: another customer, another order
        wait_for(lambda email_id=email_id: _done(seeded, email_id))
        [item] = _items(seeded, email_id)
        assert "duplicate_po" not in _flags(item), item["flags_json"]
    assert (_items(seeded, ids[1])[0]["customer_id"], _items(seeded, ids[1])[0]["po_number"]) == \
        (HARBOR, expected.po_number)


def test_email_without_pdf_becomes_a_review_item_showing_its_text(seeded: LiveServer) -> None:
    body = "Please send 10 cases of DF-10023 by Friday.\n<b>thanks</b>"
    email_id = post_mail(seeded.url, order_email([], body=body, subject="order for Friday")).json()["email_id"]
    log = wait_for(lambda: _done(seeded, email_id))
    assert (log["status"], log["reason"]) == ("needs_manual", "no PDF attachment: the email text is on a review item")
    [item] = _items(seeded, email_id)
    assert (item["status"], item["attachment_id"], item["customer_id"]) == ("needs_manual", None, DRISCOLL)
    assert item["email_text"] == body and item["reason"].startswith("no PDF attachment: 1 line read from the email text")
    assert json.loads(item["flags_json"])[0]["code"] == "needs_manual"
    [line] = json.loads(item["parsed_json"])["lines"]  # the sentence's "10 cases of DF-10023", through Driscoll's xref
    assert (line["customer_item_code"], line["item_id"], line["quantity"], line["uom"]) == ("DF-10023", "I448812", 10, "CS")
    listed = httpx.get(seeded.url + "/api/review-items?status=needs_manual", headers=AUTH).json()["items"]
    assert [(i["id"], i["email_text"]) for i in listed] == [(item["id"], body)]  # the JSON twin carries the text too


def test_an_order_typed_into_the_email_prefills_the_lines_of_known_items(seeded: LiveServer) -> None:
    body = ("Hi team,\n\nPlease deliver Thursday:\n"
            "- 12 cs DF-10023\n- GFS-117650 x 4 @ 70.00\n- 3 cases romaine hearts\n- 2 cs XYZ-999 special order\n\n"
            "Call me at 555 1234 if anything is short.\n-- \nBob, Driscoll Foods\n5 cs DF-41152")
    email_id = post_mail(seeded.url, order_email([], body=body, subject="PO 4471 for Thursday")).json()["email_id"]
    wait_for(lambda: _done(seeded, email_id))
    [item] = _items(seeded, email_id)
    assert (item["status"], item["po_number"], item["line_count"]) == ("needs_manual", "4471", 4)
    assert item["reason"] == ("no PDF attachment: 4 lines read from the email text; check each against the text "
                              "and add any that were missed")
    parsed = json.loads(item["parsed_json"])
    assert [(ln["line_no"], ln["item_id"], ln["quantity"], ln["uom"], ln["unit_price"]) for ln in parsed["lines"]] == [
        (1, "I448812", 12, "CS", None),  # Driscoll's own code, through customer_item_xref
        (2, "I117650", 4, None, 70.0),  # our item code
        (3, "I551209", 3, "CS", None),  # described: the closest item, flagged for a check
        (4, None, 2, "CS", None)]  # a code we do not know yet, on an order line: the reviewer maps it
    # A phone number in a sentence and what follows the signature are no lines.
    flags = {f["code"]: f for f in json.loads(item["flags_json"])}
    assert flags["unknown_item"]["line_no"] == 4 and "XYZ-999" in flags["unknown_item"]["message"]
    assert flags["needs_manual"]["message"] == item["reason"]
    assert flags["price_deviation"]["line_no"] == 2 and flags["price_deviation"]["expected"] == 62.75
    assert flags["uncertain_item"]["line_no"] == 3


def test_automatic_replies_and_empty_mail_without_pdf_are_not_queued(seeded: LiveServer) -> None:
    auto = b"Auto-Submitted: auto-replied\r\n" + order_email([], body="I am out of the office until Monday.")
    empty = order_email([], body="   ")
    auto_id, empty_id = (post_mail(seeded.url, raw).json()["email_id"] for raw in (auto, empty))
    assert wait_for(lambda: _done(seeded, auto_id))["reason"] == \
        "no PDF attachment; Auto-Submitted: auto-replied, not queued"
    assert wait_for(lambda: _done(seeded, empty_id))["reason"] == "no PDF attachment; no text either"
    assert _email(seeded, auto_id)["status"] == _email(seeded, empty_id)["status"] == "processed"
    assert _items(seeded, auto_id) == _items(seeded, empty_id) == []


def test_mail_that_cannot_be_read_reaches_the_review_queue_with_its_original(seeded: LiveServer) -> None:
    # A MIME structure the parser gives up on: only the header fields are read. Was: needs_manual in the log only.
    parts = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(2000))
    raw = (f"From: Buyer <buyer@driscollfoods.com>\r\nTo: orders@gfs.local\r\nSubject: PO 4471\r\n"
           f"MIME-Version: 1.0\r\n{parts}Content-Type: text/plain\r\n\r\n12 cs DF-10023\r\n").encode()
    email_id = post_mail(seeded.url, raw).json()["email_id"]
    assert wait_for(lambda: _done(seeded, email_id))["status"] == "needs_manual"
    [item] = _items(seeded, email_id)
    assert (item["status"], item["customer_id"], item["sender"]) == ("needs_manual", DRISCOLL, "buyer@driscollfoods.com")
    client = sign_in(seeded.url)
    assert f'href="/review/orders/{item["id"]}"' in client.get("/review/orders?status=needs_manual").text
    page = client.get(f"/review/orders/{item['id']}").text
    assert "malformed MIME: RecursionError" in page and f'href="/review/orders/{item["id"]}/email"' in page
    original = client.get(f"/review/orders/{item['id']}/email")
    assert original.status_code == 200 and original.content == raw  # the message as received, to open elsewhere
    assert original.headers["content-type"].startswith("message/rfc822")
    assert original.headers["content-disposition"] == f'attachment; filename="email-{email_id}.eml"'
    assert httpx.get(f"{seeded.url}/review/orders/{item['id']}/email").status_code != 200  # reviewers only
    assert client.get("/review/orders/999/email").status_code == 404


def test_scanned_pdf_without_api_key_needs_manual_entry_with_pdf_attached(seeded: LiveServer) -> None:
    pdf = scanned_pdf()
    email_id = post_mail(seeded.url, order_email([("scan.pdf", pdf)])).json()["email_id"]
    log = wait_for(lambda: _done(seeded, email_id))
    assert log["status"] == "needs_manual" and "no text layer" in log["reason"]
    [item] = _items(seeded, email_id)
    assert item["status"] == "needs_manual" and "ANTHROPIC_API_KEY is not set" in item["reason"]
    assert item["customer_id"] == DRISCOLL and seeded.run(seeded.env.bucket.get(item["pdf_key"])) == pdf
    assert json.loads(item["parsed_json"])["findings"][0]["code"] == "needs_manual"


@pytest.mark.parametrize(("headers", "status", "detail"), [
    ({"Content-Type": "message/rfc822"}, 401, "missing or wrong bearer token"),
    ({**AUTH, "Authorization": "Bearer wrong-token"}, 401, "missing or wrong bearer token"),
    ({**AUTH, "Authorization": "Basic dGVzdC1pbnRha2UtdG9rZW4="}, 401, "missing or wrong bearer token"),
    ({**AUTH, "Content-Type": "application/json"}, 415, "Content-Type must be message/rfc822"),
])
def test_rejections_name_the_problem_and_store_nothing(server: LiveServer, headers, status, detail) -> None:
    reply = post_mail(server.url, order_email([]), headers)
    assert reply.status_code == status and detail in reply.json()["detail"]
    assert _rows(server, "SELECT id FROM inbound_email_log") == []


@pytest.mark.parametrize("body", [b"", b"\r\n", b" \r\n\t\r\n"])
def test_empty_body_is_400(server: LiveServer, body: bytes) -> None:
    reply = post_mail(server.url, body)
    assert reply.status_code == 400 and "empty body" in reply.json()["detail"]
    assert _rows(server, "SELECT id FROM inbound_email_log") == []


def test_not_configured_is_503(make_env) -> None:
    from tests.helpers import live_server
    from worker.config import Secrets

    env = make_env()
    env.secrets = Secrets()
    with live_server(env) as live:
        reply = post_mail(live.url, order_email([]))
    assert reply.status_code == 503 and "INTAKE_TOKEN is not set" in reply.json()["detail"]


def test_size_limit_413_from_content_length_and_from_streamed_bytes(make_env) -> None:
    from tests.helpers import live_server

    env = make_env()
    env.settings = env.settings.model_copy(update={"limits": env.settings.limits.model_copy(update={"email_bytes": 50_000})})
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        big = order_email([("big.pdf", b"%PDF-1.4\n" + b"x" * 60_000)])
        declared = post_mail(live.url, big)
        assert declared.status_code == 413 and "50000-byte limit" in declared.json()["detail"]

        def chunks():  # no Content-Length: the limit must hold while streaming
            for i in range(0, len(big), 8192):
                yield big[i:i + 8192]

        streamed = httpx.post(live.url + "/api/inbound-email", content=chunks(), headers=AUTH, timeout=30)
        assert streamed.status_code == 413
        assert live.run(env.db.fetchall("SELECT id FROM inbound_email_log")) == []
        assert list((env.settings.state_dir / "incoming").glob("*")) == []  # no temp file left behind


def test_a_bucket_that_refuses_uploads_spools_and_answers_202(make_env) -> None:
    # The HTTP door streams the body to a file and uploads that (boto3's upload_file), whose refusals are
    # S3UploadFailedError, not ClientError: they must spool like an unreachable bucket, not answer 500.
    raw = order_email([])
    with refusing_s3() as endpoint:
        env = make_env(bucket_endpoint=endpoint)
        with live_server(env) as live:
            reply = post_mail(live.url, raw)
            [row] = [dict(r) for r in live.run(env.db.fetchall("SELECT * FROM inbound_email_log"))]
    assert (reply.status_code, reply.json()["status"]) == (202, "spooled")
    assert row["status"] == "spooled" and row["raw_key"] is None
    assert (env.settings.state_dir / "spool" / f"{row['sha256']}.eml").read_bytes() == raw
