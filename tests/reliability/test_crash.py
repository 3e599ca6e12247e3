"""Crash durability: `kill -9` a live `worker serve` while webhooks and mail (HTTP and SMTP) pour in.

Promises checked after the last crash, on the files themselves: every event answered 2xx has its receipt
and a mirror row at least as new; no batch is half applied (all receipts or none); every mail answered
202/250 is in inbound_email_log with its raw bytes in the bucket or the spool; the SQLite file passes
integrity_check; batches whose fate was unknown, re-sent after the crashes, apply exactly once.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.reliability.support import WorkerProcess, lock_errors, s3_client
from tests.reliability.traffic import Ledger, drive_http_mail, drive_smtp_mail, drive_webhooks, signed_headers
from tests.reliability.verify import integrity, mail_violations, webhook_violations


def _resend_unknown(url: str, ledger: Ledger, limit: int = 20) -> tuple[list[str], int]:
    """Re-send every other batch whose reply was lost (as NetSuite would): each must come back 200, all counted.

    The other half stays unknown, so the all-or-nothing check still covers batches cut off by a crash.
    """
    problems = []
    unknown = [(seq, events) for seq, (events, outcome) in ledger.batches.items() if outcome == "unknown"][:limit:2]
    with httpx.Client(base_url=url, timeout=60) as client:
        for seq, events in unknown:
            body = json.dumps({"events": events}).encode()
            reply = client.post("/api/ns-webhook", content=body, headers=signed_headers(body))
            counted = reply.json() if reply.status_code == 200 else {}
            if reply.status_code != 200 or sum(counted.get(k, 0) for k in ("applied", "duplicate", "stale")) != len(events):
                problems.append(f"re-sent batch {seq}: {reply.status_code} {reply.text[:200]}")
                continue
            ledger.batches[seq] = (events, "acked")
    return problems, len(unknown)


def _aim(ledger: Ledger, rng: random.Random) -> None:
    """Wait (briefly) until a request is in flight, so most kills land mid-request rather than between them."""
    deadline = time.monotonic() + 2
    while ledger.inflight == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(rng.uniform(0, 0.015))


def crash_run(make: Callable[..., WorkerProcess], kills: int, seed: int) -> dict[str, object]:
    """Drive traffic, crash the server `kills` times at random moments, then check every promise."""
    rng = random.Random(seed)
    worker = make().start()
    ledger, stop = Ledger(), threading.Event()
    senders = [threading.Thread(target=drive_webhooks, args=(worker.url, ledger, stop), kwargs={"seed": seed + n},
                                daemon=True) for n in range(2)]
    senders.append(threading.Thread(target=drive_http_mail, args=(worker.url, ledger, stop), daemon=True))
    senders.append(threading.Thread(target=drive_smtp_mail, args=(worker.smtp_port, ledger, stop), daemon=True))
    for sender in senders:
        sender.start()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 1.5))
            _aim(ledger, rng)
            worker.kill()
            worker.start()
        time.sleep(0.5)
    finally:
        stop.set()
        for sender in senders:
            sender.join(90)
    resend_problems, resent = _resend_unknown(worker.url, ledger)
    worker.kill()  # end on a crash too: nothing below relies on a clean shutdown
    with worker.db() as conn:
        hook_problems, hook_counts = webhook_violations(conn, ledger)
        mail_problems, mail_counts = mail_violations(conn, ledger, s3_client(worker.s3_endpoint), worker.bucket)
        db_problems = integrity(conn)
    problems = resend_problems + hook_problems + mail_problems + db_problems + lock_errors(worker.log_text())
    assert not problems, "\n".join(problems[:50])
    summary = {"kills": kills, "starts": worker.starts, "resent_unknown_batches": resent, **hook_counts, **mail_counts,
               "acked": ledger.count("acked"), "unknown": ledger.count("unknown"), "refused": ledger.count("refused"),
               "lost_answers": ledger.losses}
    print(f"crash run: {summary}")
    assert hook_counts["acked_events"] > 0 and mail_counts["acked_mails"] > 0, summary
    assert not ledger.count("refused")["batches"], "no batch should be refused"
    return summary


def test_kill_9_three_times_loses_nothing_acknowledged(worker_process: Callable[..., WorkerProcess]) -> None:
    crash_run(worker_process, kills=3, seed=7)


@pytest.mark.slow
def test_kill_9_twenty_five_times_loses_nothing_acknowledged(worker_process: Callable[..., WorkerProcess]) -> None:
    crash_run(worker_process, kills=25, seed=11)
