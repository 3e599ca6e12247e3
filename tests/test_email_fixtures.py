"""Builders shared by the intake tests: order emails (EmailMessage), reference data, and polling helpers.

(Named test_* so it lives with the intake tests; it defines no tests itself.)
"""

from __future__ import annotations

import http.server
import sqlite3
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, ClassVar

import httpx

from tests.helpers import TEST_INTAKE_TOKEN
from tests.po import hostile
from tests.po.layouts import build
from worker.env import Env
from worker.intake import pipeline
from worker.intake.store import accept_raw
from worker.storage import Bucket

DRISCOLL = "1187"
HARBOR = "2044"
AUTH = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}", "Content-Type": "message/rfc822"}
NOW = "2026-01-01T00:00:00.000Z"


def order_pdf(layout: str = "classic_grid", seed: int = 1) -> tuple[bytes, Any]:
    """A generated PO PDF (the PO team's layouts) and its expected PurchaseOrder."""
    return build(layout, seed)


def scanned_pdf() -> bytes:
    """An image-only (no text layer) one-page PDF."""
    return hostile.many_pages(1)


def order_email(pdfs: list[tuple[str, bytes]] | None = None, *, sender: str = "buyer@driscollfoods.com",
                subject: str = "PO attached", body: str = "Please see the attached order.",
                to: str = "orders@gfs.local", ctype: str = "application/pdf", message_id: str | None = None) -> bytes:
    """A plain order email with the given (filename, bytes) attachments."""
    msg = EmailMessage()
    msg["From"] = f"Buyer <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="driscollfoods.com")
    msg.set_content(body)
    for name, data in pdfs or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


def forwarded_email(pdf: bytes, *, original_sender: str = "buyer@driscollfoods.com",
                    forwarder: str = "rep@gfs.local") -> bytes:
    """A rep forwards a customer's order as message/rfc822; inside, the PDF is labelled octet-stream
    and named with an RFC 2231 (non-ASCII) filename."""
    inner = EmailMessage()
    inner["From"] = original_sender
    inner["To"] = forwarder
    inner["Subject"] = "Bestellung / order"
    inner["Message-ID"] = make_msgid(domain="driscollfoods.com")
    inner.set_content("order attached")
    inner.add_attachment(pdf, maintype="application", subtype="octet-stream", filename="Bestellung Nr. 77 – Müller.pdf")
    outer = EmailMessage()
    outer["From"] = forwarder
    outer["To"] = "orders@gfs.local"
    outer["Subject"] = "Fwd: Bestellung / order"
    outer["Message-ID"] = make_msgid(domain="gfs.local")
    outer.set_content("FYI, forwarding the customer's order.")
    outer.add_attachment(inner)  # message/rfc822
    return outer.as_bytes(policy=policy.SMTP)


def tnef(files: list[tuple[str, bytes]], body: str = "") -> bytes:
    """An Outlook winmail.dat (MS-OXTNEF) as Outlook writes one: the version, code page and plain body at message level,
    then per file its rendering data, title and data attributes at attachment level."""
    def attribute(level: int, kind: int, ident: int, data: bytes) -> bytes:  # checksum: the data's byte sum, mod 2^16
        return struct.pack("<BHHI", level, ident, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x4B1D)  # signature, legacy key
    out += attribute(1, 0x0008, 0x9006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += attribute(1, 0x0006, 0x9007, struct.pack("<II", 1252, 0))  # attOemCodepage
    if body:
        out += attribute(1, 0x0002, 0x800C, body.encode("cp1252"))  # attBody
    for name, data in files:
        out += attribute(2, 0x0006, 0x9002, struct.pack("<HiIIH", 1, -1, 0, 0, 0))  # attAttachRendData: a file
        out += attribute(2, 0x0001, 0x8010, name.encode("cp1252") + b"\0")  # attAttachTitle
        out += attribute(2, 0x0006, 0x800F, data)  # attAttachData
    return out


def outlook_email(pdf: bytes, *, name: str = "PO 4471.pdf", text: str | None = "Order attached.", body: str = "",
                  sender: str = "buyer@driscollfoods.com") -> bytes:
    """Outlook in rich-text mode: a text/plain part (or none) and the PDF inside winmail.dat (application/ms-tnef)."""
    return winmail_email(tnef([(name, pdf)], body), text=text, sender=sender)


def winmail_email(wrapped: bytes, *, text: str | None = None, sender: str = "buyer@driscollfoods.com") -> bytes:
    """An email carrying `wrapped` as winmail.dat, after a text/plain part or (text None) as the whole message."""
    msg = EmailMessage()
    msg["From"] = f"Buyer <{sender}>"
    msg["To"] = "orders@gfs.local"
    msg["Subject"] = "Purchase order"
    msg["Message-ID"] = make_msgid(domain="driscollfoods.com")
    if text is None:
        msg.set_content(wrapped, maintype="application", subtype="ms-tnef", disposition="attachment",
                        filename="winmail.dat")
    else:
        msg.set_content(text)
        msg.add_attachment(wrapped, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return msg.as_bytes(policy=policy.SMTP)


def seed_reference(conn: sqlite3.Connection) -> None:
    """Two customers with contacts, synonyms, our items (the GFS codes the generated POs print), prices, xref."""
    from tests.po.orders import ITEMS

    customers = [(DRISCOLL, "Driscoll Foods Inc.", "orders@driscollfoods.com"),
                 (HARBOR, "Harbor Grill Group LLC", "ap@harborgrill.com")]
    for ns_id, name, email in customers:
        conn.execute("INSERT INTO customers (ns_id, entity_id, company_name, email, last_modified) VALUES (?,?,?,?,?)",
                     (ns_id, name, name, email, NOW))
    conn.execute("INSERT INTO customer_contacts (ns_id, customer_id, name, email, last_modified) VALUES (?,?,?,?,?)",
                 ("c1", DRISCOLL, "Buyer", "buyer@driscollfoods.com", NOW))
    conn.executemany("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) VALUES (?,?,?,?)",
                     [("customer", "driscoll", "Driscoll", DRISCOLL),
                      ("customer", "df commissary", "DF Commissary", DRISCOLL),
                      ("brand_prefix", "melt mates", "Melt Mates", DRISCOLL)])
    for cust_code, our_code, desc, uom, price, pack in ITEMS:
        item_id = "I" + our_code.split("-")[1]
        conn.execute("INSERT INTO spec_items (item_id, item_code, description, uom, pack_size) VALUES (?,?,?,?,?)",
                     (item_id, our_code, desc, uom, pack))
        conn.execute("INSERT INTO pricing_master (item_id, customer_id, unit_price, uom) VALUES (?,?,?,?)",
                     (item_id, "", float(price), uom))
    conn.execute("INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id) VALUES (?,?,?)",
                 (DRISCOLL, "DF-10023", "I448812"))


def post_mail(url: str, raw: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST one raw message to the HTTP door."""
    return httpx.post(url + "/api/inbound-email", content=raw, headers=headers or AUTH, timeout=60)


class _Refuse(http.server.BaseHTTPRequestHandler):
    """Answers every S3 request with `status` (botocore retries no 4xx, so tests stay fast): 403 AccessDenied, our
    credentials refused (an outage of ours for the intake), or 400 InvalidRequest, a refusal of the request itself
    (one that uses up the intake's attempts)."""

    status = 403
    CODES: ClassVar[dict[int, bytes]] = {403: b"AccessDenied", 400: b"InvalidRequest"}

    def _deny(self) -> None:
        body = b"<Error><Code>%s</Code><Message>bucket is closed</Message></Error>" % self.CODES[self.status]
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _deny

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def refusing_s3(status: int = 403) -> Iterator[str]:
    """A bogus S3 endpoint that refuses everything with `status` (_Refuse); yields its URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Refuse", (_Refuse,), {"status": status}))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def fail_every_attempt(env: Env, raw: bytes) -> int:
    """Process raw (read from the door's bytes) while the bucket refuses everything as a bad request (no outage:
    each attempt counts), until the attempts run out."""
    received = await accept_raw(env, raw, door="http")
    real_bucket = env.bucket
    with refusing_s3(400) as endpoint:
        env.bucket = Bucket(endpoint, real_bucket.bucket)  # the PDF cannot be stored: each attempt fails
        try:
            for _ in range(pipeline.MAX_ATTEMPTS):
                assert await pipeline.process_email(env, received.email_id, raw) == "failed"
        finally:
            env.bucket = real_bucket
    return received.email_id
