"""Backfill throughput: `backfill_file` on a JSON-lines export beside raw executemany of the same rows.

Both write 5,000 events per transaction into a fresh SQLite file (WAL, synchronous=FULL). The
baseline gets its rows pre-built (no JSON, validation, receipts or ledger); the ratio is the price of
the real path. Rounds alternate baseline / backfill (two processes) / backfill (one process), each into a
fresh file, and the table shows medians, so a slow moment of a shared machine does not decide the
figure alone. Target: at least 0.5x. Usage: python bench/backfill.py [--events 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

from rich.console import Console
from rich.table import Table

from webhook import baseline, stream  # bench/webhook.py: same event mix, same baseline
from worker.backfill import backfill_file


def timed_backfill(db: Path, export: Path, batch_size: int, parallel: bool) -> tuple[float, float, dict[str, Any]]:
    """(seconds, CPU seconds of this process and its reader, counts) of one backfill_file run."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0, started = time.process_time(), time.perf_counter()
    counts = backfill_file(db, export, batch_size=batch_size, progress=False, parallel=parallel)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, cpu + (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime), counts


def main() -> None:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events = list(stream(args.events))
    count = len(events)
    rates: dict[str, list[float]] = {"baseline": [], "two": [], "one": []}
    ratios: list[float] = []
    cpu: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp_name:
        tmp = Path(tmp_name)
        export = tmp / "export.jsonl"
        export.write_text("".join(json.dumps(e) + "\n" for e in events))
        for round_no in range(args.rounds):
            rates["baseline"].append(baseline(tmp / f"baseline-{round_no}.sqlite3", events, args.batch_size))
            elapsed, used, counts = timed_backfill(tmp / f"two-{round_no}.sqlite3", export, args.batch_size, True)
            rates["two"].append(count / elapsed)
            ratios.append(rates["two"][-1] / rates["baseline"][-1])
            cpu.append(used / count * 1e6)
            elapsed, _, _ = timed_backfill(tmp / f"one-{round_no}.sqlite3", export, args.batch_size, False)
            rates["one"].append(count / elapsed)
        rerun, _, again = timed_backfill(tmp / "two-0.sqlite3", export, args.batch_size, True)
    base = median(rates["baseline"])
    table = Table(title=f"backfill: {count:,} events, {args.batch_size:,} per transaction, {os.cpu_count()} cores, "
                        f"median of {args.rounds} rounds")
    for column in ("path", "events/s", "vs baseline", "range"):
        table.add_column(column, justify="left" if column == "path" else "right")

    def spread(values: list[float]) -> str:
        return f"{min(values):,.0f}-{max(values):,.0f}"

    table.add_row("worker backfill: reader process + writer (the default)", f"{median(rates['two']):,.0f}",
                  f"{median(ratios):.2f}x", f"{min(ratios):.2f}-{max(ratios):.2f}x")
    table.add_row("worker backfill in one process (parallel=False)", f"{median(rates['one']):,.0f}",
                  f"{median(rates['one']) / base:.2f}x", spread(rates["one"]))
    table.add_row("re-run of the same file (all duplicates)", f"{count / rerun:,.0f}", "", "")
    table.add_row("raw sqlite3 executemany (same rows, pre-built)", f"{base:,.0f}", "1.00x", spread(rates["baseline"]))
    Console().print(table)
    print(f"last round {counts['applied']} applied / {counts['stale']} stale; re-run {again['duplicate']} duplicates; "
          f"CPU (both processes) {median(cpu):.0f} us/event; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
