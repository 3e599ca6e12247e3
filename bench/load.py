"""Everything at once: webhooks at full rate + HTTP and SMTP mail + `worker cron warm`/`hot` + review pages.

Starts SeaweedFS and `worker serve --no-cron` (subprocesses, temp dirs, free ports), measures each route
alone on the idle server first (the baseline, same run), then runs all traffic together for --seconds while
another process runs the warm and hot tiers back to back (cross-process writers meet SQLite's lock). Prints
p50/p99 per route under load beside the idle p50, and fails (exit 1) on any 5xx, any failed tier run or any
"database is locked" in the server's log.
Usage: python bench/load.py [--seconds 60] [--webhook-senders 2] [--batch 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers import TEST_INTAKE_TOKEN, TEST_REVIEWER  # noqa: E402
from tests.reliability.support import WorkerProcess, lock_errors  # noqa: E402
from tests.reliability.traffic import (Ledger, drive_http_mail, drive_smtp_mail, drive_webhooks,  # noqa: E402
                                       webhook_batch, signed_headers)
from tests.review_seed import sign_in  # noqa: E402
from worker.passwords import hash_password  # noqa: E402
from worker.seaweed import EmbeddedS3  # noqa: E402

PAGES = ("/review/orders", "/review/actions", "/review/observations")
BEARER = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}"}


def read_pages(url: str, ledger: Ledger, stop: threading.Event) -> None:
    """A reviewer clicking through the queue, plus the JSON twins and the health check."""
    client = sign_in(url, *TEST_REVIEWER)
    try:
        while not stop.is_set():
            for path, headers in [*((p, {}) for p in PAGES), ("/api/review-items", BEARER),
                                  ("/api/proposed-actions", BEARER), ("/healthz", {})]:
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                ledger.saw(f"GET {path}", response.status_code, time.perf_counter() - started)
    finally:
        client.close()


def run_tiers(worker: WorkerProcess, ledger: Ledger, stop: threading.Event, outcomes: list[str]) -> None:
    """`worker cron warm` then `worker cron hot`, over and over, in their own processes."""
    while not stop.is_set():
        for tier in ("warm", "hot"):
            started = time.perf_counter()
            done = worker.cron(tier, timeout=600)
            ledger.saw(f"worker cron {tier}", 200 if done.returncode in (0, 75) else 500, time.perf_counter() - started)
            outcomes.append(f"{tier}: exit {done.returncode}: {done.stdout.strip()[-300:]} {done.stderr.strip()[-300:]}")


def idle_baseline(worker: WorkerProcess, ledger: Ledger, seconds: float) -> None:
    """Each route alone on the idle server for a moment: the same-run baseline."""
    import random

    rng = random.Random(0)
    with httpx.Client(base_url=worker.url, timeout=60) as client:
        deadline = time.monotonic() + seconds
        seq = 10_000_000
        while time.monotonic() < deadline:
            seq += 1
            body = json.dumps({"events": webhook_batch(seq, 50, rng)}).encode()
            started = time.perf_counter()
            response = client.post("/api/ns-webhook", content=body, headers=signed_headers(body))
            ledger.saw("POST /api/ns-webhook", response.status_code, time.perf_counter() - started)
    stop = threading.Event()
    for target, args in ((drive_http_mail, (worker.url, ledger, stop)), (read_pages, (worker.url, ledger, stop))):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        time.sleep(seconds)
        stop.set()
        thread.join(60)
        stop.clear()


def drive(threads: list[threading.Thread], stop: threading.Event, seconds: float) -> float:
    """Start the traffic, stop it after `seconds` and wait for the threads; the traffic window in seconds, which
    leaves out the wait for a `worker cron` run still going when traffic stopped (it would lower req/s)."""
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    window = time.monotonic() - started
    for thread in threads:
        thread.join(600)
    return window


def quantiles(values: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    if len(values) < 2:
        return (values[0] * 1000, values[0] * 1000) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def report(idle: Ledger, load: Ledger, seconds: float) -> list[dict[str, Any]]:
    """Print the table; return its rows."""
    table = Table(title=f"Everything at once for {seconds:.0f} s on {os.cpu_count()} cores (idle = same route alone)")
    for column in ("route", "requests", "req/s", "p50 ms", "p99 ms", "idle p50 ms", "p99 / idle p50", "5xx"):
        table.add_column(column, justify="left" if column == "route" else "right")
    rows = []
    for route in sorted(load.latencies):
        p50, p99 = quantiles(load.latencies[route])
        base = quantiles(idle.latencies.get(route, []))[0]
        errors = sum(1 for code in load.statuses[route] if code >= 500)
        rows.append({"route": route, "requests": len(load.latencies[route]), "p50_ms": p50, "p99_ms": p99,
                     "idle_p50_ms": base, "server_errors": errors})
        table.add_row(route, str(len(load.latencies[route])), f"{len(load.latencies[route]) / seconds:.1f}",
                      f"{p50:.1f}", f"{p99:.1f}", f"{base:.1f}" if base else "", f"{p99 / base:.1f}x" if base else "",
                      str(errors))
    Console(width=150).print(table)
    return rows


def main() -> int:
    """Run the load and print the table; exit 1 on any 5xx, failed tier run or lock error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--idle-seconds", type=float, default=3, help="per route group for the idle baseline")
    parser.add_argument("--webhook-senders", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="events per webhook batch")
    parser.add_argument("--json", type=Path, help="write the figures and verdict as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        s3 = EmbeddedS3(tmp / "s3", "load-bench").start()
        worker = WorkerProcess(tmp, s3_endpoint=s3.endpoint, bucket="load-bench",
                               reviewer_hash=hash_password(TEST_REVIEWER[1]))
        try:
            worker.start()
            idle, load, stop, tiers = Ledger(), Ledger(), threading.Event(), []
            idle_baseline(worker, idle, args.idle_seconds)
            threads = [threading.Thread(target=drive_webhooks, args=(worker.url, load, stop),
                                        kwargs={"seed": n, "size": args.batch}, daemon=True)
                       for n in range(args.webhook_senders)]
            threads += [threading.Thread(target=drive_http_mail, args=(worker.url, load, stop), daemon=True),
                        threading.Thread(target=drive_smtp_mail, args=(worker.smtp_port, load, stop), daemon=True),
                        threading.Thread(target=read_pages, args=(worker.url, load, stop), daemon=True),
                        threading.Thread(target=run_tiers, args=(worker, load, stop, tiers), daemon=True)]
            window = drive(threads, stop, args.seconds)
        finally:
            worker.stop()
            s3.stop()
        rows = report(idle, load, window)
        locked = lock_errors(worker.log_text())
        failed_tiers = [t for t in tiers if not t.split(": exit ")[1].startswith(("0", "75"))]
    print(f"tier runs: {len(tiers)} ({len(failed_tiers)} failed); lock errors in the log: {len(locked)}; "
          f"5xx: {load.server_errors() or 'none'}")
    for line in (failed_tiers + locked)[:10]:
        print("  " + line[:400])
    verdict = {"ok": not (load.server_errors() or failed_tiers or locked), "seconds": window, "routes": rows,
               "tier_runs": len(tiers), "failed_tiers": failed_tiers, "lock_errors": locked[:20],
               "server_errors": load.server_errors()}
    if args.json:
        args.json.write_text(json.dumps(verdict, indent=2))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
