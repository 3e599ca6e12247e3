"""SeaweedFS stopped during email intake: both doors spool to disk and still say yes; the hot tier catches up.

A private SeaweedFS is started for this test, stopped while order mails arrive over HTTP and SMTP, and
started again on the same ports and data directory. Nothing may be lost in between.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import LiveServer, live_server
from tests.reliability.traffic import MAIL_HEADERS
from tests.test_email_fixtures import DRISCOLL, order_email, order_pdf, seed_reference
from worker.config import Secrets, Settings
from worker.env import build_env
from worker.seaweed import EmbeddedS3, free_port
from worker.tiers import run_tier


@pytest.fixture
def private_s3(tmp_path: Path, bucket_name: str) -> Iterator[EmbeddedS3]:
    """A SeaweedFS of this test's own, so stopping it disturbs no other test."""
    server = EmbeddedS3(tmp_path / "private-s3", bucket_name).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live(private_s3: EmbeddedS3, settings: Settings, secrets: Secrets) -> Iterator[LiveServer]:
    """The app (HTTP + SMTP) on the private SeaweedFS, with customers and items to match orders against."""
    env = build_env(settings, secrets, bucket_endpoint=private_s3.endpoint, smtp_port=free_port())
    with live_server(env) as server:
        server.run(env.bucket.ensure_bucket())
        server.run(env.db.write(seed_reference))
        yield server


def log_rows(server: LiveServer) -> list[dict[str, object]]:
    """inbound_email_log, oldest first."""
    return [dict(r) for r in server.run(server.env.db.fetchall("SELECT * FROM inbound_email_log ORDER BY id"))]


def test_mail_is_spooled_while_the_bucket_is_down_and_caught_up_after(live: LiveServer, private_s3: EmbeddedS3) -> None:
    pdf_http, expected_http = order_pdf("classic_grid", seed=21)
    pdf_smtp, expected_smtp = order_pdf("classic_grid", seed=22)
    via_http, via_smtp = order_email([("po.pdf", pdf_http)]), order_email([("po.pdf", pdf_smtp)])
    private_s3.stop()

    reply = httpx.post(live.url + "/api/inbound-email", content=via_http, headers=MAIL_HEADERS, timeout=60)
    assert reply.status_code == 202 and reply.json()["status"] == "spooled", reply.text
    with smtplib.SMTP("127.0.0.1", live.env.smtp_port, timeout=60) as smtp:
        assert smtp.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], via_smtp) == {}
    health = httpx.get(live.url + "/healthz", timeout=30)
    assert health.status_code == 503 and "bucket" in health.json()["detail"]
    rows = log_rows(live)
    assert [(r["door"], r["status"]) for r in rows] == [("http", "spooled"), ("smtp", "spooled")]
    assert [Path(str(r["spool_path"])).read_bytes() for r in rows] == [via_http, via_smtp]

    still_down = live.run(run_tier(live.env, "hot"))
    assert still_down.counts["upload_spooled_mail"]["still_spooled"] == 2  # tried, kept, nothing lost
    assert all(Path(str(r["spool_path"])).is_file() for r in log_rows(live))

    private_s3.start()  # same ports, same data directory
    caught_up = live.run(run_tier(live.env, "hot"), timeout=300)
    assert caught_up.status == "ok", caught_up.error
    assert caught_up.counts["upload_spooled_mail"]["uploaded"] == 2, caught_up.counts
    rows = log_rows(live)
    assert [(r["status"], r["spool_path"]) for r in rows] == [("processed", None), ("processed", None)], rows
    assert [live.run(live.env.bucket.get(str(r["raw_key"]))) for r in rows] == [via_http, via_smtp]
    assert not list((live.env.settings.state_dir / "spool").glob("*.eml"))
    items = live.run(live.env.db.fetchall("SELECT email_id, po_number, customer_id, status FROM review_items"))
    assert sorted(tuple(i) for i in items) == [(rows[0]["id"], expected_http.po_number, DRISCOLL, "pending"),
                                               (rows[1]["id"], expected_smtp.po_number, DRISCOLL, "pending")]
