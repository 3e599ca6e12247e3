"""ERP webhook throughput: signed batches against `worker serve`, beside bare sqlite3 in the same run.

Starts `worker serve --embedded-s3 --smtp-port 0 --no-cron` (subprocess, free port, temp DB and state
dir), sends signed batches of --batch events with --inflight requests in flight (httpx async) until
--events are sent, and prints events/s and p50/p99 latency per request. The baseline is bare sqlite3
upserting the same rows (headers and lines, same SQL, same transaction size, synchronous=FULL) with
no HTTP, signature, JSON or validation: the ratio says what the service costs over the disk's limit.
Usage: python bench/webhook.py [--events 40000] [--batch 100] [--inflight 8]
"""

from __future__ import annotations

import sys
from pathlib import Path

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.worker_process import start_worker_serve  # noqa: E402
from worker.cdc.intake import validate_events  # noqa: E402
from worker.cdc.mirror import MIRRORS  # noqa: E402
from worker.db import connect  # noqa: E402
from worker.migrations import apply_schema  # noqa: E402
from worker.webhooks import decode_secret, sign  # noqa: E402


def _ref(ident: str, name: str | None = None) -> dict[str, Any]:
    return {"id": ident, "refName": name or ident}


def _lines(n: int, seed: int) -> dict[str, Any]:
    return {"items": [{"line": k, "item": _ref(str(100 + (seed + k) % 300), f"Item {k}"), "description": "Case of 12",
                       "quantity": 1 + (seed + k) % 9, "units": "CS", "rate": 12.5 + k, "amount": (1 + (seed + k) % 9) * (12.5 + k)}
                      for k in range(1, n + 1)]}


def stream(total: int, *, lines: int = 3) -> Iterator[dict[str, Any]]:
    """A realistic mix: per order cycle a customer update, an order, a fulfillment, an invoice, a payment."""
    n = 0
    cycle = 0
    while True:
        cycle += 1
        cust = str(1000 + cycle % 500)
        when = f"2026-{1 + cycle // 100_000 % 12:02d}-{1 + cycle // 4000 % 28:02d}T{cycle // 60 % 24:02d}:{cycle % 60:02d}:00Z"
        records = [
            ("customer", cust, {"id": cust, "entityId": f"C{cust}", "companyName": f"Customer {cust}",
                                "email": f"ap@c{cust}.example", "terms": _ref("2", "Net 30"), "creditLimit": 50000}),
            ("salesorder", f"so{cycle}", {"tranId": f"SO{cycle}", "tranDate": "2026-11-20", "entity": _ref(cust),
                                          "status": _ref("B", "Pending Fulfillment"), "total": 300.0,
                                          "otherRefNum": f"PO{cycle}", "item": _lines(lines, cycle)}),
            ("itemfulfillment", f"if{cycle}", {"tranId": f"IF{cycle}", "entity": _ref(cust), "createdFrom": _ref(f"so{cycle}"),
                                               "shipStatus": _ref("C", "Shipped"), "item": _lines(lines, cycle),
                                               "packageList": {"packages": [{"packageTrackingNumber": f"1Z{cycle:010d}"}]}}),
            ("invoice", f"in{cycle}", {"tranId": f"INV{cycle}", "tranDate": "2026-11-21", "dueDate": "2026-12-21",
                                       "entity": _ref(cust), "total": 300.0, "amountRemaining": 300.0,
                                       "item": _lines(lines, cycle)}),
            ("customerpayment", f"pm{cycle}", {"tranId": f"PM{cycle}", "customer": _ref(cust), "payment": 300.0,
                                               "apply": {"items": [{"doc": _ref(f"in{cycle}"), "apply": True, "amount": 300.0}]}}),
        ]
        for record_type, record_id, record in records:
            yield {"event_id": f"bench-{n}", "record_type": record_type, "record_id": record_id, "operation": "update",
                   "last_modified": when, "record": record}
            n += 1
            if n >= total:
                return


def baseline(db: Path, events: list[dict[str, Any]], batch: int) -> float:
    """Events/s of bare sqlite3 writing the same rows with executemany, `batch` events per transaction."""
    conn = connect(db)
    apply_schema(conn)
    accepted, _ = validate_events(events)
    prepared = []  # rows built before timing: the baseline pays only for SQL and fsync
    for chunk_start in range(0, len(accepted), batch):
        per_table: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
        for acc in accepted[chunk_start:chunk_start + batch]:
            mirror = MIRRORS[acc.event.record_type]
            raw = acc.event.record or {}
            # Children by position: a fulfillment's package sublists share the shipments table, each its own rows.
            # Only the sublists the event carries are replaced, as the real path does.
            children = {i: ([], []) for i in range(len(mirror.children))}  # (deletes, inserts) of each child
            sql = per_table.setdefault(mirror.record_type, {"upsert": [], **children})
            sql["upsert"].append((acc.event.record_id, *mirror.row(acc.record), json.dumps(raw), acc.key, acc.key,
                                  acc.last_modified, None, *[acc.key] * len(mirror.children)))
            for i, child in enumerate(mirror.children):
                if child.given(acc.record):
                    sql[i][0].append((acc.event.record_id,))
                    sql[i][1].extend((acc.event.record_id, *row) for row in child.rows(acc.record, raw))
        prepared.append(per_table)
    started = time.perf_counter()
    for per_table in prepared:
        conn.execute("BEGIN IMMEDIATE")
        for record_type, rows in per_table.items():
            mirror = MIRRORS[record_type]
            conn.executemany(mirror.upsert_sql, rows["upsert"])
            for i, child in enumerate(mirror.children):
                conn.executemany(child.delete_sql, rows[i][0])
                conn.executemany(child.insert_sql, rows[i][1])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(events) / elapsed


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used: a figure other load on the machine barely moves."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def send(url: str, bodies: list[bytes], key: bytes, inflight: int) -> tuple[float, list[float], dict[str, int]]:
    """Post every body with `inflight` requests in flight; returns wall time, latencies and summed counts."""
    latencies: list[float] = []
    totals = {"applied": 0, "duplicate": 0, "stale": 0, "rejected": 0}
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=inflight)) as client:
        async def worker() -> None:
            while queue:
                body = queue.pop()
                msg_id = "msg_" + secrets.token_hex(8)
                ts = int(time.time())
                headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "content-type": "application/json",
                           "webhook-signature": "v1," + sign(key, msg_id, ts, body)}
                t0 = time.perf_counter()
                response = await client.post("/api/ns-webhook", content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    raise SystemExit(f"unexpected {response.status_code}: {response.text[:300]}")
                for k in totals:
                    totals[k] += response.json()[k]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(inflight)))
        return time.perf_counter() - started, latencies, totals


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--inflight", type=int, default=8)
    args = parser.parse_args()
    events = list(stream(args.events))
    bodies = [json.dumps({"events": events[i:i + args.batch]}).encode() for i in range(0, len(events), args.batch)]
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp_name:
        tmp = Path(tmp_name)
        base_rate = baseline(tmp / "baseline.sqlite3", events, args.batch)
        proc, url = start_worker_serve(tmp, {"NS_WEBHOOK_SECRET": secret})
        try:
            cpu_before = cpu_seconds(proc.pid)
            wall, latencies, totals = asyncio.run(send(url, bodies, decode_secret(secret), args.inflight))
            server_cpu = cpu_seconds(proc.pid) - cpu_before
        finally:
            proc.terminate()
            proc.wait(30)
    rate = len(events) / wall
    cuts = statistics.quantiles(latencies, n=100)
    table = Table(title=f"ERP webhook: {len(events):,} events, batches of {args.batch}, {args.inflight} in flight, "
                        f"{os.cpu_count()} cores")
    for column in ("path", "events/s", "p50 ms", "p99 ms", "vs baseline"):
        table.add_column(column, justify="right" if column != "path" else "left")
    table.add_row("POST /api/ns-webhook (worker serve)", f"{rate:,.0f}", f"{cuts[49] * 1000:.1f}", f"{cuts[98] * 1000:.1f}",
                  f"{rate / base_rate:.2f}x")
    table.add_row("bare sqlite3 executemany (same rows)", f"{base_rate:,.0f}", "", "", "1.00x")
    Console().print(table)
    print(f"outcomes: {totals}; server CPU {server_cpu / len(events) * 1e6:.0f} us/event "
          f"(a ceiling of {len(events) / server_cpu:,.0f} events/s per core); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
