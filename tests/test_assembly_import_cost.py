"""new_assembly_item: what a price import costs, inside its write lock (audit CQ).

An import-reference run looks only at the staged price_new_assembly_item requests for the items whose pricing_master
rows it inserted or updated: a request for another item is no nearer a price, whoever's it is, so an import of
unrelated prices reconciles nobody (no run, no observation, not a line of an order read), and the statements a
pricing import issues grow with the requests naming the items it priced, not with every staged request. A drain that
decided an order's request before an import priced its item does not stage it after. The demo loader imports on the
company's date, as the CLI does.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.flows_support import PRICING_HEADER, apply, rows, sales_order
from tests.test_assembly_line_closed import ITEMS
from tests.test_assembly_priced_on_import import KEEP, files, runs
from tests.test_assembly_request_orphan import requests, setup
from worker import demo
from worker import workflow_runner as wr
from worker.db import connect
from worker.env import build_env
from worker.flows import assembly_item
from worker.migrations import apply_schema
from worker.reference import import_reference

REQUESTS = "price_new_assembly_item"
W = assembly_item.WORKFLOW


def traced(conn: sqlite3.Connection, directory: Path) -> list[str]:
    """The statements the import of the directory issued on conn."""
    said: list[str] = []
    conn.set_trace_callback(said.append)
    try:
        report = import_reference(conn, directory)
    finally:
        conn.set_trace_callback(None)
    assert report.ok, report.errors
    return said


async def test_an_import_of_another_items_price_reconciles_no_customer(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0)]),
                sales_order("7040", "3002", [("602", 2, 30.0)]))
    # 602 has had a price on file since before any import withdrew for it: only an import of 602's rows answers it.
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO pricing_master (item_id, customer_id, unit_price, uom, effective_from, effective_to) "
        "VALUES ('602', '', 30.0, 'CS', '', '')"))
    before, notes = await runs(env), await rows(env, "SELECT id FROM reflexion_log")
    with closing(connect(env.settings.db.path)) as conn:
        said = traced(conn, files(tmp_path / "unrelated", "602,,30.00,CS,,\n502,,9.00,CS,,\n"))
    assert [r[3] for r in await requests(env)] == ["staged", "staged"]
    assert await runs(env) == before
    assert await rows(env, "SELECT id FROM reflexion_log") == notes
    assert [s for s in said if "transaction_lines" in s] == []  # no customer's orders looked at
    assert len([s for s in said if "proposed_actions" in s]) == 1  # the one look for requests naming 502


def many(path: Path, asking: int, others: int) -> sqlite3.Connection:
    """A database where `asking` customers each have a staged request for 601 (and one for 602) and `others` more
    customers one for 602 alone, each request's item on an order of theirs; no price on file for either."""
    conn = sqlite3.connect(path, isolation_level=None)
    apply_schema(conn)
    conn.execute("BEGIN")
    for n in range(asking + others):
        customer = str(5000 + n)
        items = ("601", "602") if n < asking else ("602",)
        conn.execute("INSERT INTO customers (ns_id, company_name, last_modified) VALUES (?, ?, 'x')",
                     (customer, f"Customer {n}"))
        conn.execute("INSERT INTO transactions (ns_id, type, tran_id, customer_id, tran_date, status, last_modified) "
                     "VALUES (?, 'salesorder', ?, ?, '2026-11-02', 'Pending Fulfillment', 'x')",
                     (f"SO{customer}", f"SO-{customer}", customer))
        for line, item in enumerate(items):
            conn.execute("INSERT INTO transaction_lines (transaction_id, line_no, item_id) VALUES (?, ?, ?)",
                         (f"SO{customer}", line, item))
            conn.execute("INSERT INTO proposed_actions (kind, status, customer_id, payload_json, dedupe_key, created_at,"
                         " updated_at) VALUES (?, 'staged', ?, ?, ?, 'x', 'x')",
                         (REQUESTS, customer, json.dumps({"item_id": item, "sales_order_id": f"SO{customer}"}),
                          f"{REQUESTS}:{item}:{customer}"))
    conn.execute("COMMIT")
    return conn


def pricing_601(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spec_items.csv").write_text(ITEMS, encoding="utf-8")
    (directory / "pricing_master.csv").write_text(PRICING_HEADER + KEEP + "601,,60.00,CS,,\n", encoding="utf-8")
    return directory


def cost(tmp_path: Path, asking: int, others: int) -> int:
    """The statements an import pricing 601 issues; checks it withdrew every request for 601, and only those."""
    with closing(many(tmp_path / f"many-{asking}-{others}.sqlite3", asking, others)) as conn:
        said = traced(conn, pricing_601(tmp_path / f"ref-{asking}-{others}"))
        left = conn.execute("SELECT json_extract(payload_json, '$.item_id'), count(*) FROM proposed_actions "
                            "WHERE status = 'staged' GROUP BY 1 ORDER BY 1").fetchall()
    assert left == [("602", asking + others)]
    return len(said)


def test_an_imports_statements_grow_with_the_requests_for_the_items_it_priced_only(tmp_path) -> None:
    base = cost(tmp_path, 4, 0)
    assert cost(tmp_path, 4, 40) == base  # forty customers asking for another item cost nothing
    step = cost(tmp_path, 8, 0) - base
    assert step > 0
    assert cost(tmp_path, 12, 0) - base == 2 * step  # linear: the same statements for each request answered


class Stop(Exception):
    """Ends the demo load at its reference import: only the import's arguments matter here."""


async def test_the_demo_loader_imports_on_the_companys_date(settings, secrets, monkeypatch) -> None:
    # 03:00 UTC on the 25th is still the 24th in Los Angeles: a dateless order is judged on the company's date.
    company = settings.model_copy(update={"vars": settings.vars.model_copy(update={"TIMEZONE": "America/Los_Angeles"})})
    env = build_env(company, secrets, clock=lambda: datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    seen: dict[str, object] = {}

    def spy(conn: sqlite3.Connection, directory: Path, **options: object) -> None:
        seen.update(options)
        raise Stop

    monkeypatch.setattr(demo, "import_reference", spy)
    await env.db.open()
    try:
        with pytest.raises(Stop):
            await demo.load_demo_if_empty(env)
    finally:
        await env.db.close()
    assert seen == {"today": "2026-11-24"}


async def test_a_request_decided_before_an_import_priced_its_item_is_not_staged_after_it(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0)]))
    # Another order of the customer using 601: the drain decides it (the request's key is held: deduplicated) ...
    await apply(env, sales_order("7031", "3001", [("601", 2, 55.0)], tran_date="2026-11-20"))
    events = await env.db.write(wr._pending, W, 10)
    decided = [await wr._decide(env, W, e, wr.history_cutoff(env)) for e in events]
    assert [p.dedupe_key for p in decided[0][1].proposals] == ["price_new_assembly_item:601:3001"]
    # ... an import pricing 601 commits meanwhile (the CLI beside `serve`), withdrawing the request, key released ...
    with closing(connect(env.settings.db.path)) as conn:
        assert import_reference(conn, files(tmp_path / "p", "601,,60.00,CS,,\n")).ok
    assert [r[3] for r in await requests(env)] == ["rejected"]
    # ... then the drain commits its decision: 601 has a price now, so no request to price it is staged again.
    counts = await env.db.write(wr.record_runs, W, decided)
    assert [r[3] for r in await requests(env)] == ["rejected"]
    assert counts["proposed"] == 0 and counts["unwanted"] == 1
