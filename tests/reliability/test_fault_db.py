"""Database faults: disk full (a real 16 MiB tmpfs filled to the last byte) and a read-only database.

Each door must answer "try again" (503 with a problem detail naming the cause, SMTP 451) and write nothing
partial: no receipts, mirror rows, ledger events or log rows of the refused request. Once the fault is
cleared, the very same request succeeds on the same running server (no restart needed).

Read-only is simulated with `PRAGMA query_only` on the app's write connection, which makes SQLite fail
exactly as for a read-only file ("attempt to write a readonly database"): a live tmpfs cannot be remounted
read-only while the database is open (the kernel answers EBUSY).
"""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import LiveServer, live_server
from tests.reliability.support import fill
from tests.reliability.traffic import MAIL_HEADERS, order_mail, signed_headers
from worker.config import Secrets, Settings
from worker.env import build_env
from worker.seaweed import free_port

COUNTED = ("webhook_receipts", "customers", "transactions", "transaction_lines", "events", "dead_letters",
           "inbound_email_log")


@pytest.fixture
def live(tiny_disk: Path, settings: Settings, secrets: Secrets) -> Iterator[LiveServer]:
    """The app over HTTP and SMTP with its SQLite file on the tiny disk."""
    local = settings.model_copy(update={"db": settings.db.model_copy(update={"path": tiny_disk / "gfs.sqlite3"})})
    env = build_env(local, secrets, smtp_port=free_port())
    with live_server(env) as server:
        server.run(env.bucket.ensure_bucket())
        yield server


def big_batch(prefix: str, size: int = 300) -> bytes:
    """Sales orders with many lines: far more than the WAL has room for once the disk is full."""
    lines = [{"line": n, "item": {"id": str(n)}, "description": "Cheddar mild 40# block " * 4, "quantity": n,
              "rate": 9.5, "amount": 9.5 * n} for n in range(1, 16)]
    events = [{"event_id": f"{prefix}-{k}", "record_type": "salesorder", "record_id": f"{prefix}{k}",
               "operation": "create", "last_modified": "2026-11-20T10:00:00Z",
               "record": {"tranId": f"SO{k}", "entity": {"id": "1187"}, "memo": "x" * 300, "item": {"items": lines}}}
              for k in range(size)]
    return json.dumps({"events": events}).encode()


def counts(server: LiveServer) -> dict[str, int]:
    """Row counts of every table a refused request could have touched."""
    return {t: server.run(server.env.db.fetchone(f"SELECT count(*) FROM {t}"))[0] for t in COUNTED}


def post(server: LiveServer, body: bytes) -> httpx.Response:
    """A signed webhook delivery."""
    return httpx.post(server.url + "/api/ns-webhook", content=body, headers=signed_headers(body), timeout=60)


def send_smtp(server: LiveServer, raw: bytes) -> tuple[int, Any]:
    """(code, message) of the DATA reply."""
    with smtplib.SMTP("127.0.0.1", server.env.smtp_port, timeout=30) as smtp:
        try:
            smtp.sendmail("buyer@driscollfoods.example", ["orders@gfs.local"], raw)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code, exc.smtp_error
    return 250, b"OK"


def refused_then_accepted(server: LiveServer, cause: str, clear: Any) -> None:
    """Webhook 503, HTTP mail 503, SMTP 451 while the fault lasts; nothing partial; all accepted once cleared."""
    before = counts(server)
    body = big_batch("full")
    hook = post(server, body)
    assert hook.status_code == 503, hook.text
    assert hook.headers["content-type"].startswith("application/problem+json") and hook.headers["retry-after"]
    assert cause in hook.json()["detail"], hook.json()
    _, mail = order_mail(1, door="http")
    refused_mail = httpx.post(server.url + "/api/inbound-email", content=mail, headers=MAIL_HEADERS, timeout=60)
    assert refused_mail.status_code == 503 and cause in refused_mail.json()["detail"], refused_mail.text
    _, smtp_mail = order_mail(2, door="smtp")
    code, _ = send_smtp(server, smtp_mail)
    assert code == 451
    assert counts(server) == before, "a refused request left rows behind"
    clear()
    accepted = post(server, body)
    assert accepted.status_code == 200 and accepted.json()["applied"] == 300, accepted.text
    assert httpx.post(server.url + "/api/inbound-email", content=mail, headers=MAIL_HEADERS, timeout=60).status_code == 202
    assert send_smtp(server, smtp_mail)[0] == 250
    after = counts(server)
    assert after["transaction_lines"] - before["transaction_lines"] == 300 * 15
    assert after["inbound_email_log"] - before["inbound_email_log"] == 2


def test_disk_full_is_503_and_nothing_partial(live: LiveServer, tiny_disk: Path) -> None:
    assert post(live, big_batch("warm", size=5)).status_code == 200
    filler = fill(tiny_disk)
    refused_then_accepted(live, "disk is full", filler.unlink)


def test_read_only_database_is_503_and_nothing_partial(live: LiveServer) -> None:
    def query_only(on: bool) -> Any:
        return live.env.db.write_unlocked(lambda conn: conn.execute(f"PRAGMA query_only = {int(on)}"))

    assert post(live, big_batch("warm", size=5)).status_code == 200
    live.run(query_only(True))
    refused_then_accepted(live, "readonly database", lambda: live.run(query_only(False)))
