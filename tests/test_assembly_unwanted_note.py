"""A request new_assembly_item decided before a price import committed, dropped as unwanted in the drain's commit
(Proposal.wanted), leaves a run that says so: its observation names why it was not asked, and its output's `unpriced`
(what the workflow remembers asking, assembly_item.ASKED) no longer lists the item (audit CS)."""

import json
from contextlib import closing

from tests.flows_support import apply, rows, sales_order
from tests.test_assembly_priced_on_import import files
from tests.test_assembly_request_orphan import requests, setup
from worker import workflow_runner as wr
from worker.db import connect
from worker.flows import assembly_item
from worker.reference import import_reference

W = assembly_item.WORKFLOW


async def test_a_request_dropped_as_unwanted_is_said_and_not_remembered_as_asked(env, tmp_path) -> None:
    await setup(env, tmp_path, sales_order("7030", "3001", [("601", 10, 55.0)]))
    await apply(env, sales_order("7031", "3001", [("601", 2, 55.0)], tran_date="2026-11-20"))
    events = await env.db.write(wr._pending, W, 10)
    decided = [await wr._decide(env, W, e, wr.history_cutoff(env)) for e in events]
    # an import pricing 601 commits between the drain's decision and its commit (withdrawing the request)
    with closing(connect(env.settings.db.path)) as conn:
        assert import_reference(conn, files(tmp_path / "p", "601,,60.00,CS,,\n")).ok
    n = (await rows(env, "SELECT max(id) m FROM reflexion_log"))[0]["m"]
    counts = await env.db.write(wr.record_runs, W, decided)
    assert counts == {"ok": 1, "proposed": 0, "deduplicated": 0, "unwanted": 1}
    assert [r[3] for r in await requests(env)] == ["rejected"]  # not staged again
    [run] = await rows(env, "SELECT r.observation, w.output_json FROM reflexion_log r JOIN workflow_run_log w "
                            "ON w.id = r.workflow_run_id WHERE r.id > ?", (n,))
    assert run["observation"] == (
        "SO-7031 for Riverside Unified School District: 1 of 1 assembly item(s) have no price on file: "
        "KIT-RS-BRK (quoted $55.00). KIT-RS-BRK has a price for Riverside Unified School District now "
        "(list price 60.00 per CS): not asked.")
    output = json.loads(run["output_json"])
    assert output["unpriced"] == [] and output["assembly_items"] == 1 and output["sales_order_id"] == "7031"
