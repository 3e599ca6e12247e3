"""State-directory faults: incoming/ and spool/ on a real tmpfs that is full or read-only, and /healthz saying so.

The HTTP door streams mail to state_dir/incoming before it is durable, and both doors spool to state_dir/spool
while the bucket is down. A full or read-only state directory is our outage: 503 + Retry-After (SMTP 451),
never 500, no partial file left to keep the disk full, and /healthz names it. The database's own disk and a
read-only database make /healthz 503 too, though a read still answers; a busy writer does not.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cron.intake import upload_spooled_mail
from tests.helpers import LiveServer, live_server
from tests.reliability.support import fill
from tests.test_email_fixtures import AUTH, order_email, refusing_s3
from worker.env import Env
from worker.seaweed import free_port

BIG = 200_000  # bytes of body: more than the 64 KiB left free
LEFT = 64 * 1024


def nearly_fill(directory: Path, left: int = LEFT) -> Path:
    """Fill the disk, then give back `left` bytes: a write starts, then runs out of room mid-file."""
    filler = fill(directory)
    os.truncate(filler, filler.stat().st_size - left)
    return filler


def remount(mount: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount)], check=True, capture_output=True)


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def logged(server: LiveServer) -> list[dict[str, Any]]:
    return [dict(r) for r in server.run(server.env.db.fetchall("SELECT id, status FROM inbound_email_log"))]


def healthz(server: LiveServer) -> httpx.Response:
    return httpx.get(server.url + "/healthz", timeout=30)


@pytest.fixture
def on_tiny_state_dir(make_env: Callable[..., Env], tiny_disk: Path) -> Callable[..., Env]:
    """make_env with the state directory (incoming/, spool/) on the tiny disk; the database stays off it."""

    def make(**options: object) -> Env:
        env = make_env(**options)
        env.settings = env.settings.model_copy(update={"state_dir": tiny_disk / "state"})
        return env

    return make


def test_http_door_on_a_full_or_read_only_state_dir_is_503_with_retry_after(on_tiny_state_dir, tiny_disk) -> None:
    raw = order_email([], body="x" * BIG)
    env = on_tiny_state_dir()
    incoming = env.settings.state_dir / "incoming"
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        assert healthz(live).json()["state_dir"] == "ok"
        filler = nearly_fill(tiny_disk)
        full = httpx.post(live.url + "/api/inbound-email", content=raw, headers=AUTH, timeout=30)
        assert full.status_code == 503 and full.headers["retry-after"], full.text
        assert "disk is full" in full.json()["detail"]
        assert files(incoming) == [] and logged(live) == []  # no partial temp file, no log row
        filler = fill(tiny_disk)  # to the last byte: health cannot know how big the next message is
        health = healthz(live)
        assert health.status_code == 503 and health.json()["db"] == "ok" and health.json()["bucket"] == "ok"
        assert "incoming: disk is full" in health.json()["state_dir"] and health.json()["detail"] == "unavailable: state_dir"

        filler.unlink()
        remount(tiny_disk, "ro")
        try:
            read_only = httpx.post(live.url + "/api/inbound-email", content=raw, headers=AUTH, timeout=30)
            health = healthz(live)
        finally:
            remount(tiny_disk, "rw")
        assert read_only.status_code == 503 and read_only.headers["retry-after"], read_only.text
        assert "Read-only file system" in read_only.json()["detail"]
        assert health.status_code == 503 and "Read-only file system" in health.json()["state_dir"]

        accepted = httpx.post(live.url + "/api/inbound-email", content=raw, headers=AUTH, timeout=30)
        assert accepted.status_code == 202, accepted.text
        assert healthz(live).status_code == 200


def test_a_spool_write_that_runs_out_of_room_leaves_nothing_behind(on_tiny_state_dir, tiny_disk) -> None:
    # Bucket down, spool disk nearly full: SMTP answers 451 and the half-written spool file is removed, or it
    # would keep the disk full after space is freed. The same message goes through once there is room.
    raw = order_email([], body="x" * BIG)
    with refusing_s3() as endpoint:
        env = on_tiny_state_dir(smtp_port=free_port(), bucket_endpoint=endpoint)
        spool = env.settings.state_dir / "spool"
        with live_server(env) as live:
            filler = nearly_fill(tiny_disk)
            with (smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=30) as smtp,
                  pytest.raises(smtplib.SMTPDataError) as refused):
                smtp.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], raw)
            assert refused.value.smtp_code == 451
            assert files(spool) == [] and logged(live) == []
            filler.unlink()
            with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=30) as smtp:
                smtp.sendmail("buyer@driscollfoods.com", ["orders@gfs.local"], raw)
            assert [row["status"] for row in logged(live)] == ["spooled"]
            assert [name for name in files(spool) if name.endswith(".tmp")] == []


async def test_the_hot_tier_sweeps_spool_temp_files_left_over_an_hour(env: Env) -> None:
    # A spool write killed mid-file (a crash) leaves .<sha>.<pid>.tmp; nothing refers to it.
    spool = env.settings.state_dir / "spool"
    spool.mkdir(parents=True)
    old, fresh = spool / f".{'a' * 64}.123.tmp", spool / f".{'b' * 64}.456.tmp"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"being written")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))
    counts = await upload_spooled_mail(env, datetime.now(UTC))
    assert counts["spool_swept"] == 1
    assert not old.exists() and fresh.exists()  # a write in progress is left alone


def test_healthz_is_503_when_the_database_disk_is_full(settings, secrets, tiny_disk) -> None:
    from worker.env import build_env

    local = settings.model_copy(update={"db": settings.db.model_copy(update={"path": tiny_disk / "gfs.sqlite3"})})
    env = build_env(local, secrets)
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        assert healthz(live).status_code == 200
        filler = fill(tiny_disk)
        full = healthz(live)
        filler.unlink()
        assert full.status_code == 503 and "disk is full" in full.json()["db"], full.text
        assert full.json()["state_dir"] == "ok" and full.json()["detail"] == "unavailable: db"
        assert healthz(live).status_code == 200


def test_healthz_is_503_while_the_database_is_read_only(server: LiveServer) -> None:
    # As in test_fault_db: query_only on the app's write connection fails writes exactly as a read-only file.
    def query_only(on: bool) -> Any:
        return server.env.db.write_unlocked(lambda conn: conn.execute(f"PRAGMA query_only = {int(on)}"))

    server.run(query_only(True))
    read_only = healthz(server)
    server.run(query_only(False))
    assert read_only.status_code == 503, read_only.text
    assert "readonly database" in read_only.json()["db"] and read_only.json()["detail"] == "unavailable: db"
    assert healthz(server).status_code == 200


def test_a_busy_writer_does_not_make_healthz_fail(server: LiveServer) -> None:
    # A long write (a big webhook batch, a cron tier) holds the one write thread: the probe waits a moment,
    # then counts the writer as working rather than queueing health behind it.
    started, answered, finished = threading.Event(), threading.Event(), threading.Event()

    def long_write(conn: Any) -> None:
        started.set()
        answered.wait(20)  # held until /healthz has answered (20 s: only so a probe stuck behind it fails)
        finished.set()

    writing = threading.Thread(target=server.run, args=(server.env.db.write(long_write),))
    writing.start()
    try:
        assert started.wait(10)
        busy = healthz(server)
        still_writing = not finished.is_set()
    finally:
        answered.set()
        writing.join(30)
    assert busy.status_code == 200 and busy.json()["db"] == "ok", busy.text
    assert still_writing, "/healthz answered only once the write had finished"
