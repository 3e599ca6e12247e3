"""new_assembly_item: an import-reference run that prices an item withdraws the requests it answered, at once.

A staged request whose item the import gives a price applying on the date of every live order of its customer using
it is withdrawn in the import's own transaction, with the reason an order event gives (priced_since), its dedupe key
released, and the run and observation an order event's withdrawal records. A price from a later date than one such
order's, or another customer's, leaves it; a refused file, or a failure before the file commits, withdraws nothing;
with --partial what loaded is what counts. An import that changes no price, or only other items' (deleting a row
prices nothing), reconciles nothing and records no run.
Every entry point behaves alike: the CLI (one transaction per file) and a caller's transaction (the demo loader's).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.flows_support import PRICING_HEADER, apply, proposals, rows, sales_order
from tests.test_assembly_line_closed import ITEMS, RIVERSIDE, last_note
from tests.test_assembly_request_orphan import BIRCHWOOD, requests, setup
from worker.db import connect
from worker.flows import assembly_item
from worker.reference import import_reference
from worker.workflow_runner import drain

REPO = Path(__file__).resolve().parent.parent
W = [assembly_item.WORKFLOW]
KEEP = "501,,40.00,CS,,\n"  # the row setup loaded: an import deletes the rows its file no longer names
RUNS = "SELECT customer_id, trigger_event_id, status, output_json FROM workflow_run_log ORDER BY id"


def files(directory: Path, prices: str, **more: str) -> Path:
    """A reference DIR: spec_items as setup loaded it, pricing_master with 501's row and `prices`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in {"spec_items.csv": ITEMS, "pricing_master.csv": PRICING_HEADER + KEEP + prices, **more}.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


async def reprice(env, directory: Path, prices: str, **options) -> dict[str, str]:
    """An import in the caller's transaction, as the demo loader runs it: each file's summary."""
    report = await env.db.write(import_reference, files(directory, prices), **options)
    return {f.file: f.summary() for f in report.files}


async def runs(env) -> list[tuple]:
    return [(r["customer_id"], r["trigger_event_id"], r["status"], json.loads(r["output_json"]))
            for r in await rows(env, RUNS)]


def why(item: str, owner: str, price: str) -> str:
    return f"withdrawn: {item} has a price for {owner} now ({price})"


async def test_a_price_arriving_withdraws_the_request_with_its_reason_and_releases_the_key(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("501", 1, 40.0), ("601", 10, 55.0)]))
    [request] = await proposals(env)
    before = await runs(env)
    await reprice(env, tmp_path / "priced", "601,3001,72.00,CS,2026-11-01,\n")
    reason = why("KIT-RS-BRK", RIVERSIDE, "customer price 72.00 per CS")
    assert await requests(env) == [("601", "3001", "7030", "rejected", reason)]  # the order event's reason
    [withdrawn] = await proposals(env)
    assert (withdrawn["decided_by"], withdrawn["dedupe_key"]) == (
        "new_assembly_item", f"price_new_assembly_item:601:3001:withdrawn:{request['id']}")
    assert await runs(env) == [*before, ("3001", None, "ok", {"priced_by": "import-reference",
                                                               "withdrawn": [request["id"]]})]
    assert await last_note(env) == (f"KIT-RS-BRK has a price for {RIVERSIDE} now (customer price 72.00 per CS). "
                                    f"Withdrawn: #{request['id']} price_new_assembly_item.")
    [decided] = await rows(env, "SELECT payload_json FROM events WHERE type = 'action.rejected'")
    assert json.loads(decided["payload_json"]) == {"reviewer": "new_assembly_item", "kind": "price_new_assembly_item",
                                                   "reason": reason}
    assert await drain(env, W) == {}  # nothing left for the next order event to do
    # The price goes again: a later order of the (again unpriced) kit asks afresh, its key free.
    await reprice(env, tmp_path / "unpriced", "")
    await apply(env, sales_order("7031", "3001", [("601", 3, 55.0)], tran_date="2026-11-20"))
    assert await drain(env, W) == {"ok": 1, "proposed": 1, "deduplicated": 0}
    assert [r[2:4] for r in await requests(env)] == [("7030", "rejected"), ("7031", "staged")]


async def test_the_cli_import_withdraws_it_in_the_files_own_transaction(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0)]))
    environ = {**os.environ, "WORKER_DB_PATH": str(env.settings.db.path)}
    command = [sys.executable, "-m", "worker.cli", "--config", str(REPO / "wrangler-like.toml"), "import-reference",
               str(files(tmp_path / "cli", "601,,60.00,CS,,\n"))]
    done = await asyncio.to_thread(subprocess.run, command, env=environ, capture_output=True, text=True, timeout=60,
                                   cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert await requests(env) == [("601", "3001", "7030", "rejected",
                                    why("KIT-RS-BRK", RIVERSIDE, "list price 60.00 per CS"))]


async def test_a_price_from_after_a_live_orders_date_leaves_that_request(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0), ("602", 1, 30.0)]),
                sales_order("7031", "3001", [("601", 2, 55.0)], tran_date="2026-11-20"))
    # 601's price applies to SO-7031 (11-20), not to SO-7030 (11-02), which still needs one; 602's to both
    await reprice(env, tmp_path / "later", "601,3001,72.00,CS,2026-11-10,\n602,,30.00,CS,,\n")
    assert [(r[0], r[3]) for r in await requests(env)] == [("601", "staged"), ("602", "rejected")]
    assert await last_note(env) == (f"KIT-MM-GRL has a price for {RIVERSIDE} now (list price 30.00 per CS). "
                                    f"Withdrawn: #{(await proposals(env))[1]['id']} price_new_assembly_item.")


async def test_a_price_for_another_customer_leaves_the_request(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0)]),
                sales_order("7040", "3002", [("601", 4, 55.0)]))
    before = await runs(env)
    await reprice(env, tmp_path / "birchwood", "601,3002,70.00,CS,,\n")
    assert [(r[1], r[3]) for r in await requests(env)] == [("3001", "staged"), ("3002", "rejected")]
    assert [run[0] for run in await runs(env)] == [*(run[0] for run in before), "3002"]
    assert BIRCHWOOD in await last_note(env)


async def test_a_refused_file_withdraws_nothing_and_a_partial_one_what_it_loaded(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0), ("602", 1, 30.0)]))
    before = await runs(env)
    prices = "601,3001,72.00,CS,,\n602,3001,not-a-price,CS,,\n"
    refused = await reprice(env, tmp_path / "strict", prices)
    assert "NOT LOADED" in refused["pricing_master.csv"]
    assert [r[3] for r in await requests(env)] == ["staged", "staged"]
    assert await runs(env) == before
    partial = await reprice(env, tmp_path / "partial", prices, partial=True)
    assert "loaded: inserted 1" in partial["pricing_master.csv"]
    assert [(r[0], r[3]) for r in await requests(env)] == [("601", "rejected"), ("602", "staged")]


async def test_a_failure_after_the_withdrawal_undoes_the_file_and_the_withdrawal(env, tmp_path, monkeypatch) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0)]))
    before = await runs(env)

    def broken(_closed):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(assembly_item, "withdrawn_note", broken, raising=False)  # after the request was rejected
    with closing(connect(env.settings.db.path)) as conn, pytest.raises(RuntimeError, match="disk on fire"):
        import_reference(conn, files(tmp_path / "fails", "601,,60.00,CS,,\n"))  # its own transaction, as the CLI's
    assert [r[3] for r in await requests(env)] == ["staged"]
    assert await rows(env, "SELECT item_id FROM pricing_master WHERE item_id = '601'") == []
    assert await runs(env) == before
    assert await rows(env, "SELECT id FROM events WHERE type = 'action.rejected'") == []


async def test_an_import_changing_no_price_reconciles_nothing(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0)]))
    # A price on file the import never withdrew for (loaded before it did): only a price change reconciles.
    await env.db.write(lambda conn: conn.execute(
        "INSERT INTO pricing_master (item_id, customer_id, unit_price, uom, effective_from, effective_to) "
        "VALUES ('601', '', 60.0, 'CS', '', '')"))
    before = await runs(env)
    program = "customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n3001,k12,10,,30,1\n"
    same = await reprice(env, tmp_path / "same", "601,,60.00,CS,,\n")
    assert "inserted 0, updated 0, deleted 0" in same["pricing_master.csv"]
    await env.db.write(import_reference, files(tmp_path / "program", "601,,60.00,CS,,\n",
                                               **{"customer_program.csv": program}))  # no price changed either
    assert [r[3] for r in await requests(env)] == ["staged"]
    assert await runs(env) == before
    await reprice(env, tmp_path / "other", "601,,60.00,CS,,\n502,,9.00,CS,,\n")  # another item's price: nothing
    assert [r[3] for r in await requests(env)] == ["staged"]
    assert await runs(env) == before
    await reprice(env, tmp_path / "601", "601,,61.00,CS,,\n502,,9.00,CS,,\n")  # 601's price changed: reconciled
    assert [r[3] for r in await requests(env)] == ["rejected"]
    assert len(await runs(env)) == len(before) + 1
