"""Backfill throughput: `backfill_file` on a JSON-lines export beside raw executemany of the same rows.

Both write 5,000 events per transaction into a fresh SQLite file (WAL, synchronous=FULL). The
baseline gets its rows pre-built (no JSON, validation, receipts or ledger); the ratio is the price of
the real path. Target: at least 0.5x. Usage: python bench/backfill.py [--events 50000]
"""

from __future__ import annotations

from pathlib import Path


import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from webhook import baseline, stream  # noqa: E402  (bench/webhook.py: same event mix, same baseline)
from worker.backfill import backfill_file  # noqa: E402


def main() -> None:
    """Run both and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    events = list(stream(args.events))
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp_name:
        tmp = Path(tmp_name)
        export = tmp / "export.jsonl"
        export.write_text("".join(json.dumps(e) + "\n" for e in events))
        base_rate = baseline(tmp / "baseline.sqlite3", events, args.batch_size)
        cpu0, started = time.process_time(), time.perf_counter()
        counts = backfill_file(tmp / "backfill.sqlite3", export, batch_size=args.batch_size, progress=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
        rerun_started = time.perf_counter()
        again = backfill_file(tmp / "backfill.sqlite3", export, batch_size=args.batch_size, progress=False)
        rerun = time.perf_counter() - rerun_started
    rate = len(events) / elapsed
    table = Table(title=f"backfill: {len(events):,} events, {args.batch_size:,} per transaction, {os.cpu_count()} cores")
    for column in ("path", "events/s", "vs baseline"):
        table.add_column(column, justify="left" if column == "path" else "right")
    table.add_row("worker backfill (parse, validate, apply, receipts, ledger)", f"{rate:,.0f}", f"{rate / base_rate:.2f}x")
    table.add_row("re-run of the same file (all duplicates)", f"{len(events) / rerun:,.0f}", "")
    table.add_row("raw sqlite3 executemany (same rows, pre-built)", f"{base_rate:,.0f}", "1.00x")
    Console().print(table)
    print(f"first run {counts['applied']} applied / {counts['stale']} stale; re-run {again['duplicate']} duplicates; "
          f"CPU {cpu / len(events) * 1e6:.0f} us/event; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
