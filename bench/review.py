"""Orders list with 10,000 pending review items: time per request through the real app (granian, real HTTP,
signed-in session) beside a bare Jinja2 render of the same template with the same rows (the floor).

    python bench/review.py [--items 10000] [--requests 300]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: import the project and its tests' seed helpers from the repository root.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time

import httpx

from handlers.review import queries as q
from handlers.review.orders import orders_context
from handlers.review.web import jinja_environment
from tests.helpers import TEST_REVIEWER, live_server
from tests.review_seed import hidden, parsed_po
from worker.config import Secrets, load_settings
from worker.db import connect
from worker.env import build_env
from worker.migrations import apply_schema
from worker.passwords import hash_password

REPO = Path(__file__).resolve().parent.parent


def seed(path: Path, items: int, customers: int = 400) -> None:
    """Customers and `items` open review items (5% needs_manual) with realistic parsed JSON."""
    conn = connect(path)
    apply_schema(conn)
    rng = random.Random(7)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO customers (ns_id, company_name, email, last_modified) VALUES (?, ?, ?, ?)",
                     [(str(1000 + c), f"Customer {c} Foods", f"ap@c{c}.com", "2026-01-01T00:00:00Z")
                      for c in range(customers)])
    parsed = json.dumps(parsed_po())
    rows = []
    for i in range(items):
        created = f"2026-{1 + i * 11 // items:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}.000Z"
        status = "needs_manual" if rng.random() < 0.05 else "pending"
        rows.append((status, str(1000 + rng.randrange(customers)), f"PO-{i:06d}", parsed, json.dumps(["unknown_item"]),
                     round(rng.uniform(0.5, 1), 2), rng.randrange(1, 40), round(rng.uniform(50, 25000), 2),
                     f"buyer{i % 97}@example.com", created, created))
    conn.executemany(
        "INSERT INTO review_items (status, customer_id, po_number, parsed_json, flags_json, confidence, line_count,"
        " total, sender, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1000, cuts[94] * 1000


def bare_render(path: Path, params: dict, runs: int) -> list[float]:
    """Jinja2 alone: the same template and rows, fetched once (no HTTP, no SQL, no session)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    page = [dict(r) for r in conn.execute(q.open_orders_sql(params), params)]
    counts = {r[0]: r[1] for r in conn.execute(q.OPEN_COUNTS)}
    customers = [dict(r) for r in conn.execute(q.OPEN_CUSTOMERS)]
    conn.close()
    template = jinja_environment().get_template("orders.html")
    base = {"session": {"reviewer": "mike"}, "csrf": "x" * 43, "notice": None, "path": "/review/orders"}
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        template.render(**base, **orders_context([dict(r) for r in page], counts, customers, params))
        samples.append(time.perf_counter() - started)
    return samples


def served(url: str, query: str, runs: int, client: httpx.Client) -> tuple[list[float], int]:
    """Wall time of GET /review/orders?query over real HTTP (includes the loopback round trip)."""
    for _ in range(10):
        client.get("/review/orders" + query)
    samples = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/review/orders" + query)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
    return samples, size


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        seed(db, args.items)
        settings = load_settings(REPO / "wrangler-like.toml", environ={"WORKER_DB_PATH": str(db)})
        secrets = Secrets(review_users=f"{TEST_REVIEWER[0]}:{hash_password(TEST_REVIEWER[1])}")
        env = build_env(settings, secrets)
        with live_server(env, server="granian") as live, httpx.Client(base_url=live.url, timeout=30) as client:
            login = client.get("/review/login")
            client.post("/review/login", data={"csrf": hidden(login.text, "csrf"), "username": TEST_REVIEWER[0],
                                                "password": TEST_REVIEWER[1]})
            deep = sqlite3.connect(db).execute(
                "SELECT id FROM review_items ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?",
                (args.items // 2,)).fetchone()[0]
            cases = [("first page", "", {"cursor": 0, "customer": "", "status": ""}),
                     ("one customer", "?customer=1007", {"cursor": 0, "customer": "1007", "status": ""}),
                     ("page in the middle", f"?cursor={deep}", {"cursor": deep, "customer": "", "status": ""})]
            print(f"orders list, {args.items:,} open review items, {args.requests} requests each "
                  f"(granian, loopback HTTP, signed-in session)")
            print(f"{'case':<20}{'served p50':>12}{'served p95':>12}{'bare p50':>10}{'bare p95':>10}{'ratio p95':>11}"
                  f"{'bytes':>8}")
            for name, query, params in cases:
                samples, size = served(live.url, query, args.requests, client)
                bare = bare_render(db, {**params, "limit": q.PAGE_SIZE}, args.requests)
                s50, s95 = percentiles(samples)
                b50, b95 = percentiles(bare)
                print(f"{name:<20}{s50:>10.2f}ms{s95:>10.2f}ms{b50:>8.2f}ms{b95:>8.2f}ms{s95 / b95:>10.1f}x{size:>8}")
            print("goal: served p95 <= 30 ms for the first page")


if __name__ == "__main__":
    main()
