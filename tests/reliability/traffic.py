"""Traffic for the crash, fault and load runs: signed CDC batches, order mails, and the threads that send them.

Every send is recorded in a `Ledger` with its outcome: `acked` (2xx / SMTP 250: the server promised it is
durable), `refused` (a definite non-2xx answer) or `unknown` (the connection died: we cannot know). The
verifiers then hold the database and the bucket to those promises.
"""

from __future__ import annotations

import json
import random
import smtplib
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import httpx

from tests.helpers import TEST_INTAKE_TOKEN, TEST_WEBHOOK_SECRET
from worker.webhooks import decode_secret, sign

KEY = decode_secret(TEST_WEBHOOK_SECRET)
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
MAIL_HEADERS = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}", "Content-Type": "message/rfc822"}
POOL = 20  # records per type: batches overwrite each other's records, so ordering matters


def signed_headers(body: bytes) -> dict[str, str]:
    """Standard Webhooks headers for `body`, signed now with the test secret."""
    msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": "v1," + sign(KEY, msg_id, ts, body),
            "content-type": "application/json"}


def _stamp(seq: int, index: int) -> str:
    return (BASE + timedelta(seconds=seq * 100 + index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref(ident: str, name: str | None = None) -> dict[str, Any]:
    return {"id": ident, "refName": name or ident}


def _record(rng: random.Random, record_type: str, record_id: str, seq: int) -> dict[str, Any]:
    customer = f"rc{rng.randrange(POOL)}"
    if record_type == "customer":
        return {"id": record_id, "entityId": record_id.upper(), "companyName": f"Customer {record_id} v{seq}",
                "email": f"ap@{record_id}.example", "terms": _ref("2", "Net 30"), "creditLimit": 1000.0 + seq}
    lines = [{"line": n, "item": _ref(str(100 + n), f"Item {n}"), "description": f"Case {n}", "quantity": n,
              "units": "CS", "rate": 10.0 + seq % 7, "amount": n * (10.0 + seq % 7)}
             for n in range(1, rng.randint(1, 6) + 1)]
    total = round(sum(line["amount"] for line in lines), 2)
    if record_type == "salesorder":
        return {"id": record_id, "tranId": f"SO-{record_id}-{seq}", "tranDate": "2026-11-20", "entity": _ref(customer),
                "status": _ref("B", "Pending Fulfillment"), "otherRefNum": f"PO{seq}", "total": total,
                "item": {"items": lines}}
    due = (BASE.date() - timedelta(days=rng.choice((-10, 5, 40, 70, 100)))).isoformat()
    return {"id": record_id, "tranId": f"INV-{record_id}-{seq}", "tranDate": "2026-08-01", "dueDate": due,
            "entity": _ref(customer), "total": total, "amountRemaining": total, "item": {"items": lines}}


def webhook_batch(seq: int, size: int, rng: random.Random) -> list[dict[str, Any]]:
    """A batch of `size` events with unique ids over a small pool of customers, orders and invoices."""
    events = []
    for index in range(size):
        record_type = rng.choice(("customer", "salesorder", "invoice"))
        prefix = {"customer": "rc", "salesorder": "rso", "invoice": "rin"}[record_type]
        record_id = f"{prefix}{rng.randrange(POOL)}"
        events.append({"event_id": f"r{seq}-{index}-{uuid.uuid4().hex[:6]}", "record_type": record_type,
                       "record_id": record_id, "operation": "update", "last_modified": _stamp(seq, index),
                       "record": _record(rng, record_type, record_id, seq)})
    return events


def order_mail(seq: int, *, door: str, pdf: bytes | None = None) -> tuple[str, bytes]:
    """A small, unique order email (Message-ID, raw bytes), optionally with a PDF attached."""
    msg = EmailMessage()
    message_id = f"<rel-{door}-{seq}-{uuid.uuid4().hex[:10]}@driscollfoods.example>"
    msg["From"] = "Buyer <buyer@driscollfoods.example>"
    msg["To"] = "orders@gfs.local"
    msg["Subject"] = f"PO {seq} via {door}"
    msg["Message-ID"] = message_id
    msg.set_content(f"Order {seq}, please confirm.\n" + "x" * (seq % 50))
    if pdf is not None:
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"po-{seq}.pdf")
    return message_id, msg.as_bytes(policy=policy.SMTP)


@dataclass
class Ledger:
    """What was sent and what each send was told, shared by the sender threads."""

    batches: dict[int, tuple[list[dict[str, Any]], str]] = field(default_factory=dict)
    mails: dict[str, tuple[str, str]] = field(default_factory=dict)  # message_id -> (door, outcome)
    statuses: dict[str, list[int]] = field(default_factory=dict)  # route -> statuses seen
    latencies: dict[str, list[float]] = field(default_factory=dict)  # route -> seconds
    lock: threading.Lock = field(default_factory=threading.Lock)
    losses: dict[str, int] = field(default_factory=dict)  # exception type -> answers lost
    inflight: int = 0  # requests sent and not yet answered (the crash test aims its kills at them)
    _seq: int = 0

    def lost(self, exc: BaseException) -> None:
        """Count an answer lost to a crash, by exception type."""
        with self.lock:
            name = type(exc).__name__
            self.losses[name] = self.losses.get(name, 0) + 1

    def sending(self, delta: int) -> None:
        """Count a request in (+1) or out (-1) of flight."""
        with self.lock:
            self.inflight += delta

    def next_seq(self) -> int:
        """A new batch / mail number."""
        with self.lock:
            self._seq += 1
            return self._seq

    def saw(self, route: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        with self.lock:
            self.statuses.setdefault(route, []).append(status)
            self.latencies.setdefault(route, []).append(seconds)

    def count(self, outcome: str) -> dict[str, int]:
        """How many batches and mails ended with `outcome`."""
        return {"batches": sum(1 for _, o in self.batches.values() if o == outcome),
                "mails": sum(1 for _, o in self.mails.values() if o == outcome)}

    def server_errors(self) -> dict[str, int]:
        """5xx answers per route."""
        return {route: n for route, codes in self.statuses.items() if (n := sum(1 for c in codes if c >= 500))}


def _outcome(status: int) -> str:
    return "acked" if 200 <= status < 300 else "refused"


def _post_when_up(client: httpx.Client, ledger: Ledger, stop: threading.Event, path: str, body: bytes,
                  headers: Any) -> httpx.Response | None:
    """POST once the server accepts connections (a refused connection sent nothing, so it is no outcome)."""
    while not stop.is_set():
        ledger.sending(+1)
        try:
            return client.post(path, content=body, headers=headers())
        except httpx.ConnectError:
            time.sleep(0.05)  # down or restarting
        finally:
            ledger.sending(-1)
    return None


def _smtp_when_up(port: int, stop: threading.Event) -> smtplib.SMTP | None:
    """An SMTP connection once the server listens again."""
    while not stop.is_set():
        try:
            return smtplib.SMTP("127.0.0.1", port, timeout=30)
        except (ConnectionRefusedError, smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected):
            time.sleep(0.05)
    return None


def drive_webhooks(url: str, ledger: Ledger, stop: threading.Event, *, seed: int, size: int = 20,
                   pause: float = 0.0) -> None:
    """Post signed batches until `stop`; each batch's outcome goes into the ledger."""
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            seq = ledger.next_seq()
            events = webhook_batch(seq, size, rng)
            body = json.dumps({"events": events}).encode()
            started = time.perf_counter()
            try:
                response = _post_when_up(client, ledger, stop, "/api/ns-webhook", body, lambda: signed_headers(body))
            except httpx.HTTPError as exc:  # sent, but the answer was lost: only the database knows
                ledger.lost(exc)
                ledger.batches[seq] = (events, "unknown")
                continue
            if response is None:
                break
            ledger.saw("POST /api/ns-webhook", response.status_code, time.perf_counter() - started)
            ledger.batches[seq] = (events, _outcome(response.status_code))
            if pause:
                time.sleep(pause)


def drive_http_mail(url: str, ledger: Ledger, stop: threading.Event, *, pdf: bytes | None = None,
                    every_pdf: int = 5, pause: float = 0.0) -> None:
    """POST order mails to /api/inbound-email until `stop` (every `every_pdf`-th carries the PDF)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            seq = ledger.next_seq()
            message_id, raw = order_mail(seq, door="http", pdf=pdf if pdf and seq % every_pdf == 0 else None)
            started = time.perf_counter()
            try:
                response = _post_when_up(client, ledger, stop, "/api/inbound-email", raw, lambda: MAIL_HEADERS)
            except httpx.HTTPError as exc:
                ledger.lost(exc)
                ledger.mails[message_id] = ("http", "unknown")
                continue
            if response is None:
                break
            ledger.saw("POST /api/inbound-email", response.status_code, time.perf_counter() - started)
            ledger.mails[message_id] = ("http", "acked" if response.status_code == 202 else "refused")
            if pause:
                time.sleep(pause)


def drive_smtp_mail(port: int, ledger: Ledger, stop: threading.Event, *, pause: float = 0.0) -> None:
    """Send order mails over SMTP (one connection per message) until `stop`."""
    while not stop.is_set():
        seq = ledger.next_seq()
        message_id, raw = order_mail(seq, door="smtp")
        started = time.perf_counter()
        try:
            smtp = _smtp_when_up(port, stop)
            if smtp is None:
                break
            with smtp:
                refused = smtp.sendmail("buyer@driscollfoods.example", ["orders@gfs.local"], raw)
        except smtplib.SMTPResponseException as exc:
            ledger.saw("SMTP DATA", exc.smtp_code, time.perf_counter() - started)
            ledger.mails[message_id] = ("smtp", "refused")
            continue
        except (OSError, smtplib.SMTPException) as exc:
            ledger.lost(exc)
            ledger.mails[message_id] = ("smtp", "unknown")
            time.sleep(0.02)
            continue
        ledger.saw("SMTP DATA", 250, time.perf_counter() - started)
        ledger.mails[message_id] = ("smtp", "refused" if refused else "acked")
        if pause:
            time.sleep(pause)
