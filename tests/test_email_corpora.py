"""Real-world hostile input through the HTTP door: every corpus email and every bad PDF is kept and explained."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import LiveServer, wait_for
from tests.test_email_fixtures import order_email, post_mail

FINAL = ("processed", "needs_manual", "duplicate")


def _log(server: LiveServer) -> list[dict]:
    return [dict(r) for r in server.run(server.env.db.fetchall("SELECT * FROM inbound_email_log ORDER BY id"))]


def _settled(server: LiveServer, count: int) -> list[dict] | None:
    rows = _log(server)
    return rows if len(rows) == count and all(r["status"] in FINAL for r in rows) else None


def test_every_corpus_email_is_stored_logged_and_processed_or_explained(server: LiveServer, corpora: Path) -> None:
    paths = sorted((corpora / "emails").glob("*.eml"))
    assert paths, "the email corpus is empty"
    sent: dict[int, Path] = {}
    for path in paths:
        reply = post_mail(server.url, path.read_bytes())
        assert reply.status_code == 202, (path.name, reply.text)
        sent[reply.json()["email_id"]] = path
    rows = wait_for(lambda: _settled(server, len(paths)), timeout=180, interval=0.2)
    for row in rows:
        path = sent[row["id"]]
        assert row["reason"], f"{path.name}: status {row['status']} without a reason"
        key = row["raw_key"]
        assert key and server.run(server.env.bucket.get(key)) == path.read_bytes(), path.name
    by_name = {sent[r["id"]].name: r for r in rows}
    # A forwarded order with a PDF attachment from the corpus: the PDF is stored and reviewed.
    ordine = by_name["spamscope__mail_test_7.eml"]
    assert ordine["subject"] == "I: Ordine" and ordine["status"] in ("processed", "needs_manual")
    items = server.run(server.env.db.fetchall("SELECT * FROM review_items WHERE email_id = ?", (ordine["id"],)))
    assert len(items) == 1 and server.run(server.env.bucket.exists(items[0]["pdf_key"]))
    assert by_name["flanker__long-header.eml"]["subject"].startswith("Die heiße Zypernsonne")


def test_every_bad_pdf_becomes_a_needs_manual_item_with_a_reason(server: LiveServer, corpora: Path) -> None:
    paths = sorted((corpora / "bad_pdfs").glob("*.pdf"))
    assert paths, "the bad PDF corpus is empty"
    sent: dict[int, Path] = {}
    for path in paths:
        raw = order_email([(path.name, path.read_bytes())], subject=f"PO {path.stem}")
        sent[post_mail(server.url, raw).json()["email_id"]] = path
    rows = wait_for(lambda: _settled(server, len(paths)), timeout=300, interval=0.2)
    for row in rows:
        name = sent[row["id"]].name
        assert row["status"] == "needs_manual", (name, row["status"], row["reason"])
        items = [dict(i) for i in server.run(server.env.db.fetchall(
            "SELECT * FROM review_items WHERE email_id = ?", (row["id"],)))]
        assert len(items) == 1, name
        item = items[0]
        assert item["status"] == "needs_manual" and item["reason"], name
        assert "needs_manual" in {f["code"] for f in json.loads(item["flags_json"])}, name
        assert server.run(server.env.bucket.get(item["pdf_key"])) == sent[row["id"]].read_bytes(), name
