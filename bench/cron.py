"""Cron tiers at scale: warm aging on 1,000,000 open invoices / 50,000 customers, cold health scores.

Prints each figure beside a baseline measured in the same run (one bare SQLite scan of the open
invoices) and the peak memory. Run: python -m bench.cron [--invoices N] [--customers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table

from worker.config import Secrets, load_settings
from worker.db import connect
from worker.env import build_env
from worker.migrations import apply_schema

AS_OF = date(2026, 6, 30)
MODIFIED = "2026-06-01T00:00:00.000Z"
BARE_SCAN = "SELECT count(*), sum(amount_remaining), max(due_date) FROM customer_invoice WHERE amount_remaining > 0"


def _day(offset: int) -> str:
    return (AS_OF + timedelta(days=offset)).isoformat()


def _rows(n: int, fn):
    for i in range(n):
        yield fn(i)


def generate(path: Path, invoices: int, customers: int, seed: int = 7) -> dict[str, int]:
    """Fill a fresh database with customers, open invoices and a year of orders, payments and memos."""
    rng = random.Random(seed)
    conn = connect(path)
    apply_schema(conn)
    conn.execute("PRAGMA synchronous = OFF")  # generation only; the benchmarked runs use the worker's pragmas
    conn.execute("BEGIN")
    cust = lambda i: (str(i), f"C{i}", f"Customer {i} Foods", f"ap{i}@example.com", "Net 30",
                      rng.choice([None, 25_000.0, 100_000.0]), MODIFIED)
    conn.executemany("INSERT INTO customers (ns_id, entity_id, company_name, email, terms, credit_limit,"
                     " last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)", _rows(customers, cust))

    def inv(i: int) -> tuple:
        due = rng.randint(-150, 30)  # spread over the buckets
        total = round(rng.uniform(50, 5000), 2)
        return (f"{i:08d}", f"INV{i}", str(i % customers), _day(due - 30), None if i % 50 == 0 else _day(due),
                "open", total, round(total * rng.choice([1, 1, 1, 0.5]), 2), MODIFIED)
    conn.executemany("INSERT INTO customer_invoice (ns_id, tran_id, customer_id, tran_date, due_date, status, total,"
                     " amount_remaining, last_modified, exchange_rate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1.0)",
                     _rows(invoices, inv))
    orders = customers * 6
    conn.executemany("INSERT INTO transactions (ns_id, customer_id, tran_date, total, last_modified)"
                     " VALUES (?, ?, ?, 1000, ?)",
                     _rows(orders, lambda i: (f"so{i}", str(i % customers), _day(-rng.randint(0, 360)), MODIFIED)))
    payments = customers * 4
    conn.executemany("INSERT INTO customer_payment (ns_id, customer_id, tran_date, total, last_modified)"
                     " VALUES (?, ?, ?, 100, ?)",
                     _rows(payments, lambda i: (f"pm{i}", str(i % customers), _day(-rng.randint(0, 180)), MODIFIED)))
    conn.executemany("INSERT INTO payment_application (payment_id, line_no, invoice_id, amount) VALUES (?, 1, ?, 100)",
                     _rows(payments, lambda i: (f"pm{i}", f"{rng.randrange(invoices):08d}")))
    memos = customers // 2
    conn.executemany("INSERT INTO credit_memo (ns_id, customer_id, created_from, tran_date, total, last_modified)"
                     " VALUES (?, ?, ?, ?, 50, ?)",
                     _rows(memos, lambda i: (f"cm{i}", str(rng.randrange(customers)), f"{rng.randrange(invoices):08d}",
                                             _day(-rng.randint(0, 365)), MODIFIED)))
    contacts = customers * 3
    conn.executemany("INSERT INTO customer_contacts (ns_id, customer_id, name, email, is_inactive, last_modified)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     _rows(contacts, lambda i: (f"ct{i}", str(i % customers), f"Contact {i}", f"c{i}@example.com",
                                                int(rng.random() < 0.05), MODIFIED)))
    conn.execute("COMMIT")
    conn.execute("PRAGMA optimize")
    conn.close()
    return {"customers": customers, "invoices": invoices, "orders": orders, "payments": payments,
            "credit_memos": memos, "contacts": contacts}


def bare_scan(path: Path) -> float:
    """Seconds for one aggregate scan of the open invoices: the floor any aging job pays."""
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    conn.execute(BARE_SCAN).fetchone()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


async def timed(coro) -> tuple[float, object]:
    """(seconds, result) of awaiting coro."""
    start = time.perf_counter()
    result = await coro
    return time.perf_counter() - start, result


async def run_tiers(path: Path) -> list[tuple[str, float, object]]:
    """Time the warm aging job (new day, same-day re-run, next day) and the cold health job."""
    from cron.aging import refresh_aging
    from cron.health import score_customers

    settings = load_settings(environ={"WORKER_DB_PATH": str(path)})
    env = build_env(settings, Secrets(), bucket_endpoint="http://127.0.0.1:9")
    await env.db.open(readers=1)
    at = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 12, tzinfo=UTC)
    now = [at]
    env.clock = lambda: now[0]  # each tick is "today", as in production (a past day adds back later payments)
    results = []
    try:
        results.append(("warm: first tick of a day", *await timed(refresh_aging(env, at))))
        now[0] = at + timedelta(minutes=15)
        results.append(("warm: next tick, same day", *await timed(refresh_aging(env, now[0]))))
        now[0] = at + timedelta(days=1)
        results.append(("warm: next day (transitions)", *await timed(refresh_aging(env, now[0]))))
        results.append(("cold: health scores", *await timed(score_customers(env, at + timedelta(days=1)))))
        results.append(("cold: re-run same night", *await timed(score_customers(env, at + timedelta(days=1)))))
    finally:
        await env.db.close()
    return results


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="directory to keep the database in (default: a temp dir)")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        path = (args.keep or Path(tmp)) / "bench.sqlite3"
        path.unlink(missing_ok=True)
        start = time.perf_counter()
        sizes = generate(path, args.invoices, args.customers)
        console.print(f"generated {sizes} in {time.perf_counter() - start:.1f} s")
        baseline = bare_scan(path)
        results = asyncio.run(run_tiers(path))
    table = Table(title=f"cron tiers, {args.invoices:,} open invoices / {args.customers:,} customers")
    for col in ("step", "seconds", "× bare scan", "counts"):
        table.add_column(col)
    table.add_row("bare scan (baseline)", f"{baseline:.2f}", "1.0", BARE_SCAN[:60] + "…")
    for name, seconds, counts in results:
        table.add_row(name, f"{seconds:.2f}", f"{seconds / baseline:.1f}", str(counts)[:80])
    console.print(table)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
