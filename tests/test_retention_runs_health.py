"""The cold tier's retention of workflow runs and health scores, on a real SQLite file.

Old workflow runs go in chunks while the observations and proposals they wrote stay; old health scores go
too, but never a customer's newest ones, which the customer 360's trend, the collection plan and the nightly
tier comparison read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cron
from cron.health import store
from cron.housekeeping import (
    PRUNE_CHUNK,
    SCORES_KEPT,
    prune_health_scores,
    prune_health_scores_before,
    prune_workflow_runs,
    prune_workflow_runs_before,
)
from handlers.customers import HEALTH as CUSTOMER_360_HEALTH
from handlers.customers import TREND
from tests import flows_support as flows
from tests.test_flows_quote_review import PRICES, PROGRAMS, updated, without_lines
from worker.config import ConfigError, load_settings
from worker.db import connect
from worker.env import iso
from worker.flows import quote_review
from worker.flows.collection_queries import HEALTH as PLAN_HEALTH
from worker.ledger import append_event
from worker.migrations import apply_schema
from worker.workflow_runner import Proposal, Workflow, WorkflowResult, drain

REPO = Path(__file__).resolve().parent.parent
NIGHT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
RUN = ("INSERT INTO workflow_run_log (workflow, customer_id, status, started_at, dedupe_key) "
       "VALUES ('w', ?, 'ok', ?, ?)")
OBSERVATION = ("INSERT INTO reflexion_log (entity_type, entity_id, observation, workflow_run_id, created_at) "
               "VALUES ('customer', ?, 'noted', ?, ?)")
SCORE = ("INSERT INTO customer_health_scores (customer_id, as_of, score, tier, signals_json, computed_at) "
         "VALUES (?, ?, ?, ?, '{}', ?)")


def database(tmp_path: Path):
    conn = connect(tmp_path / "retention.sqlite3")
    apply_schema(conn)
    return conn


def day(n: int) -> str:
    """The company date n days before the night."""
    return (NIGHT.date() - timedelta(days=n)).isoformat()


# 1. workflow_run_log.

def test_a_run_prune_takes_the_oldest_runs_stops_at_the_first_young_one_and_keeps_their_observations(tmp_path):
    conn = database(tmp_path)
    old, young = iso(NIGHT - timedelta(days=400)), iso(NIGHT - timedelta(days=10))
    started = [old, old, old, young, old]  # the last is old but appended after a young run (a retry restamps)
    for n, at in enumerate(started, 1):
        conn.execute(RUN, ("C1", at, f"w:{n}"))
        conn.execute(OBSERVATION, ("C1", n, at))  # every run with a customer writes one (SPEC 4)
    cutoff = iso(NIGHT - timedelta(days=365))
    # With foreign keys on, deleting a run an observation names would fail: the prune clears the reference first.
    assert prune_workflow_runs_before(conn, cutoff, limit=2) == 2
    assert prune_workflow_runs_before(conn, cutoff, limit=2) == 1
    assert prune_workflow_runs_before(conn, cutoff, limit=2) == 0  # run 5 waits until run 4 is old too
    assert [r[0] for r in conn.execute("SELECT id FROM workflow_run_log ORDER BY id")] == [4, 5]
    runs_named = [r[0] for r in conn.execute("SELECT workflow_run_id FROM reflexion_log ORDER BY id")]
    assert runs_named == [None, None, None, 4, 5]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


async def test_the_job_drops_old_runs_and_keeps_what_they_proposed_and_observed(env):
    assert env.settings.retention.workflow_run_log_days == 365

    async def plan(env_, event):
        customer = event.payload["customer_id"]
        return WorkflowResult(customer, f"planned {customer}",
                              [Proposal("call_task", {"note": customer}, dedupe_key=f"plan:{customer}")])

    workflow = Workflow("planner", ("test.happened",), plan)
    for customer, age in (("OLD", 366), ("YOUNG", 364)):
        env.clock = lambda age=age: NIGHT - timedelta(days=age)
        await env.db.write(lambda conn, c=customer: append_event(conn, "test.happened", "customer", c,
                                                                 {"customer_id": c}))
        assert (await drain(env, [workflow]))["ok"] == 1
    assert await prune_workflow_runs(env, NIGHT) == {"workflow_runs_pruned": 1}
    runs = await env.db.fetchall("SELECT id, customer_id FROM workflow_run_log")
    assert [r[1] for r in runs] == ["YOUNG"]
    young_run = runs[0][0]
    observations = await env.db.fetchall("SELECT entity_id, workflow_run_id FROM reflexion_log ORDER BY id")
    assert [tuple(r) for r in observations] == [("OLD", None), ("YOUNG", young_run)]
    actions = await env.db.fetchall("SELECT customer_id, status, workflow_run_id FROM proposed_actions ORDER BY id")
    assert [tuple(r) for r in actions] == [("OLD", "staged", None), ("YOUNG", "staged", young_run)]
    assert await prune_workflow_runs(env, NIGHT) == {"workflow_runs_pruned": 0}


async def test_the_run_job_prunes_more_than_one_chunk(env):
    old, young = iso(NIGHT - timedelta(days=366)), iso(NIGHT - timedelta(days=364))
    count = PRUNE_CHUNK * 2 + 5

    def fill(conn):
        conn.executemany(RUN, [("C", old, f"old:{n}") for n in range(count)])
        conn.executemany(OBSERVATION, [("C", n, old) for n in range(1, count + 1, 97)])
        conn.executemany(RUN, [("C", young, f"young:{n}") for n in range(7)])

    await env.db.write(fill)
    assert await prune_workflow_runs(env, NIGHT) == {"workflow_runs_pruned": count}
    left = await env.db.fetchall("SELECT count(*), min(started_at) FROM workflow_run_log")
    assert tuple(left[0]) == (7, young)
    kept = await env.db.fetchall("SELECT count(*), count(workflow_run_id) FROM reflexion_log")
    assert tuple(kept[0]) == (len(range(1, count + 1, 97)), 0)


async def test_an_order_still_waiting_for_its_lines_keeps_its_run_until_they_come_and_are_handled(env, tmp_path):
    # The run that waited says lines_pending: order_lines.WAITED reads it when the lines come. Pruned, the
    # update with the lines was none of the workflow's business and the order was never price-reviewed.
    await flows.load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, pricing_master__csv=PRICES)
    await flows.apply(env, flows.customer("1187", "Driscoll Foods"))
    order = flows.sales_order("9201", "1187", [("501", 10, 20.00)])
    await flows.apply(env, without_lines(order))
    await drain(env, [quote_review.WORKFLOW])
    later = "2999-01-01T00:00:00.000Z"  # every run is old
    assert await env.db.write(prune_workflow_runs_before, later) == 0  # the order still waits
    await flows.apply(env, updated(order, "2026-11-02T15:10:00Z"))
    assert await env.db.write(prune_workflow_runs_before, later) == 0  # the lines came, not yet handled
    await drain(env, [quote_review.WORKFLOW])
    assert [p["kind"] for p in await flows.proposals(env)] == ["review_quote_pricing"]
    assert await env.db.write(prune_workflow_runs_before, later) == 2  # the wait is over: both runs go


def test_runs_a_memo_or_order_still_waits_on_stay_without_stopping_the_prune_of_older_ones(tmp_path):
    conn = database(tmp_path)
    old, young = iso(NIGHT - timedelta(days=400)), iso(NIGHT - timedelta(days=10))
    conn.executemany("INSERT INTO credit_memo (ns_id, last_modified, deleted_at, cdc_apply_version) "
                     "VALUES (?, 'x', ?, ?)", [("M-WAIT", None, ""), ("M-GOT", None, "v2"), ("M-DEL", "x", "")])
    conn.executemany("INSERT INTO transactions (ns_id, last_modified, cdc_lines_version) VALUES (?, 'x', ?)",
                     [("SO-WAIT", ""), ("SO-GOT", "v2")])
    handled = append_event(conn, "creditmemo.updated", "creditmemo", "M-GOT", {})
    conn.execute("INSERT INTO event_cursors (consumer, last_event_id) VALUES ('memo_w', ?)", (handled,))
    append_event(conn, "salesorder.updated", "salesorder", "SO-GOT", {})  # ahead of order_w's cursor (none yet)
    runs = [("memo_w", {"credit_memo_id": "M-WAIT", "apply_pending": True}, old),  # kept: still waiting
            ("memo_w", {"credit_memo_id": "M-GOT", "apply_pending": True}, old),  # goes: arrived and handled
            ("order_w", {"sales_order_id": "SO-WAIT", "lines_pending": True}, old),  # kept: still waiting
            ("memo_w", {"credit_memo_id": "M-DEL", "apply_pending": True}, old),  # goes: memo deleted
            ("order_w", {"sales_order_id": "SO-GOT", "lines_pending": True}, old),  # kept: the update is unhandled
            ("memo_w", {"credit_memo_id": "M-GOT", "apply_pending": False}, old),  # goes
            ("memo_w", {"credit_memo_id": "M-GOT", "apply_pending": False}, young),  # young
            ("order_w", {"sales_order_id": "SO-DONE", "lines_pending": False}, old)]  # waits behind the young one
    conn.executemany("INSERT INTO workflow_run_log (workflow, status, started_at, output_json, dedupe_key) "
                     "VALUES (?, 'ok', ?, ?, ?)",
                     [(w, at, json.dumps(out), f"r{n}") for n, (w, out, at) in enumerate(runs, 1)])
    conn.executemany(OBSERVATION, [("C1", n, old) for n in range(1, len(runs) + 1)])
    cutoff = iso(NIGHT - timedelta(days=365))
    assert prune_workflow_runs_before(conn, cutoff, limit=2) == 2  # runs 2 and 4: kept ones are passed over
    assert prune_workflow_runs_before(conn, cutoff, limit=2) == 1  # run 6, then the young run 7 stops it
    assert prune_workflow_runs_before(conn, cutoff, limit=2) == 0
    assert [r[0] for r in conn.execute("SELECT id FROM workflow_run_log ORDER BY id")] == [1, 3, 5, 7, 8]
    runs_named = [r[0] for r in conn.execute("SELECT workflow_run_id FROM reflexion_log ORDER BY id")]
    assert runs_named == [1, None, 3, None, 5, None, 7, 8]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_a_run_that_waited_goes_once_a_run_did_the_work_even_while_a_later_event_is_unhandled(tmp_path):
    # Kept beside an unhandled event while the run that did the work goes, the run that waited would be all
    # WAITED reads: 1, and the next update would review the order (or redraft the memo) a second time.
    conn = database(tmp_path)
    old = iso(NIGHT - timedelta(days=400))
    conn.execute("INSERT INTO transactions (ns_id, last_modified, cdc_lines_version) VALUES ('SO-1', 'x', 'v2')")
    conn.execute("INSERT INTO credit_memo (ns_id, last_modified, cdc_apply_version) VALUES ('M-1', 'x', 'v2')")
    append_event(conn, "salesorder.updated", "salesorder", "SO-1", {})  # ahead of both cursors (none yet)
    append_event(conn, "creditmemo.updated", "creditmemo", "M-1", {})
    runs = [("order_w", {"sales_order_id": "SO-1", "lines_pending": True}, "ok"),
            ("memo_w", {"credit_memo_id": "M-1", "apply_pending": True}, "ok"),
            ("order_w", {"sales_order_id": "SO-1", "lines_pending": True}, "ok"),  # another wait, same order
            ("order_w", {"sales_order_id": "SO-2", "lines_pending": False}, "ok"),  # another order's review
            ("memo_w", {"credit_memo_id": "M-1"}, "failed"),  # a failed run did no work
            ("order_w", {"sales_order_id": "SO-1"}, "ok"),  # the review: the wait is over
            ("memo_w", {"credit_memo_id": "M-1", "apply_pending": False}, "ok")]  # the redraft
    conn.executemany("INSERT INTO workflow_run_log (workflow, status, started_at, output_json, dedupe_key) "
                     "VALUES (?, ?, ?, ?, ?)",
                     [(w, status, old, json.dumps(out), f"r{n}") for n, (w, out, status) in enumerate(runs, 1)])
    assert prune_workflow_runs_before(conn, iso(NIGHT)) == 7
    # Without the work done, the runs that waited stay while the events are unhandled.
    conn.execute("DELETE FROM workflow_run_log")
    conn.executemany("INSERT INTO workflow_run_log (workflow, status, started_at, output_json, dedupe_key) "
                     "VALUES (?, ?, ?, ?, ?)",
                     [(w, status, old, json.dumps(out), f"s{n}") for n, (w, out, status) in enumerate(runs[:5], 1)])
    assert prune_workflow_runs_before(conn, iso(NIGHT)) == 2  # SO-2's review and the failed run
    assert [r[0] for r in conn.execute("SELECT dedupe_key FROM workflow_run_log ORDER BY id")] == ["s1", "s2", "s3"]
    conn.close()


async def test_retention_never_has_a_year_old_order_reviewed_again(env, tmp_path):
    await flows.load_reference(env, tmp_path / "ref", customer_program__csv=PROGRAMS, pricing_master__csv=PRICES)
    env.clock = lambda: datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
    await flows.apply(env, flows.customer("1187", "Driscoll Foods"))
    order = flows.sales_order("9201", "1187", [("501", 10, 20.00)])
    await flows.apply(env, without_lines(order))
    await drain(env, [quote_review.WORKFLOW])  # the run that waits for the lines
    await flows.apply(env, updated(order, "2026-11-02T15:10:00Z"))
    assert (await drain(env, [quote_review.WORKFLOW]))["proposed"] == 1  # the review
    # Thirteen months on, NetSuite bills the order; the cold tier runs before the hot tier drains the update.
    env.clock = lambda: datetime(2027, 12, 3, 3, 0, tzinfo=UTC)
    billed = {**order, "record": {**order["record"], "status": {"id": "G", "refName": "Billed"}}}
    await flows.apply(env, updated(billed, "2027-12-03T02:59:00Z"))
    pruned = await prune_workflow_runs(env, env.clock())
    assert await drain(env, [quote_review.WORKFLOW]) == {"not_applicable": 1}  # not the business of an update
    assert pruned == {"workflow_runs_pruned": 2}  # the run that waited went with the review
    reviews = await flows.rows(env, "SELECT 1 FROM reflexion_log WHERE observation LIKE '%priced line(s) checked%'")
    assert len(reviews) == 1


# 2. customer_health_scores.

def test_old_scores_go_but_each_customer_keeps_its_newest_whatever_their_age(tmp_path):
    conn = database(tmp_path)
    cutoff = day(365)
    rows = [("LIVE", day(n), 80, "green", day(n)) for n in range(400, -1, -1)]  # scored every night
    rows += [("GONE", day(n), 30, "red", day(n)) for n in range(800, 780, -1)]  # deleted two years ago: 20 nights
    rows += [("ONCE", day(1000), 55, "orange", day(1000))]  # scored one night, long ago
    rows += [("LATE", day(n), 60, "yellow", day(n)) for n in range(SCORES_KEPT - 1, -1, -1)]
    rows += [("LATE", day(n), 60, "yellow", iso(NIGHT)) for n in range(380, 366, -1)]  # old nights scored late (--as-of)
    conn.executemany(SCORE, rows)
    newest = {c: conn.execute(PLAN_HEALTH, (c,)).fetchone()[0:2] for c in ("LIVE", "GONE", "ONCE", "LATE")}
    trend_of_gone = conn.execute(CUSTOMER_360_HEALTH, ("GONE", TREND)).fetchall()

    total = 0
    while deleted := prune_health_scores_before(conn, cutoff, limit=10):
        assert deleted <= 10
        total += deleted
    assert total == 35 + 8 + 14  # LIVE's nights past the cutoff, GONE's oldest 8, LATE's 14 late old nights
    by_customer = dict(conn.execute("SELECT customer_id, count(*) FROM customer_health_scores GROUP BY 1"))
    assert by_customer == {"LIVE": 366, "GONE": SCORES_KEPT, "ONCE": 1, "LATE": SCORES_KEPT}
    assert conn.execute("SELECT min(as_of) FROM customer_health_scores WHERE customer_id = 'LIVE'").fetchone()[0] \
        == cutoff
    assert {c: conn.execute(PLAN_HEALTH, (c,)).fetchone()[0:2] for c in newest} == newest
    assert conn.execute(CUSTOMER_360_HEALTH, ("GONE", TREND)).fetchall() == trend_of_gone
    conn.close()


def test_the_customer_360_trend_fits_in_what_is_kept():
    assert SCORES_KEPT >= TREND


def test_the_nightly_tier_comparison_still_finds_the_previous_night_after_a_prune(tmp_path):
    conn = database(tmp_path)
    # The cold tier last scored 400 nights ago (a long outage): that night is older than the retention.
    conn.executemany(SCORE, [("RED", day(400), 20, "red", day(400)), ("GREEN", day(400), 90, "green", day(400))])
    assert prune_health_scores_before(conn, day(365)) == 0
    tonight = [(c, day(0), score, tier, "{}", 0, iso(NIGHT)) for c, score, tier in
               (("RED", 21, "red"), ("GREEN", 35, "red"))]
    conn.execute("BEGIN")
    counts = store(conn, day(0), tonight, iso(NIGHT))
    conn.execute("COMMIT")
    assert counts["previous_night"] == day(400)
    assert counts["tier_changes"] == 1  # GREEN turned red; RED was red already, so no second collection plan
    changed = [json.loads(r[0]) for r in conn.execute("SELECT payload_json FROM events")]
    assert [(p["customer_id"], p["from"], p["to"]) for p in changed] == [("GREEN", "green", "red")]
    conn.close()


async def test_the_score_job_prunes_more_than_one_chunk_and_keeps_a_night_just_at_the_retention(env):
    assert env.settings.retention.customer_health_scores_days == 365
    customers = [f"C{n}" for n in range(700)]
    old_nights = [day(n) for n in range(396, 366, -1)]  # 30 nights past the retention
    young_nights = [day(n) for n in range(SCORES_KEPT + 3)]
    rows = [(c, night, 70, "yellow", night) for c in customers for night in old_nights + young_nights]
    rows.append(("EDGE", day(365), 70, "yellow", day(365)))  # exactly 365 days old: kept
    rows.append(("EDGE", day(0), 70, "yellow", day(0)))
    await env.db.write(lambda conn: conn.executemany(SCORE, rows))
    assert len(customers) * len(old_nights) > PRUNE_CHUNK * 2
    assert await prune_health_scores(env, NIGHT) == {"health_scores_pruned": len(customers) * len(old_nights)}
    left = await env.db.fetchall("SELECT count(*), min(as_of) FROM customer_health_scores")
    assert tuple(left[0]) == (len(customers) * len(young_nights) + 2, day(365))
    assert await prune_health_scores(env, NIGHT) == {"health_scores_pruned": 0}


# 3. The cold tier and the configuration.

def test_the_cold_tier_prunes_runs_and_scores_after_scoring_the_night():
    names = [name for name, _ in cron.JOBS["cold"]]
    assert ("prune_workflow_runs", prune_workflow_runs) in cron.JOBS["cold"]
    assert ("prune_health_scores", prune_health_scores) in cron.JOBS["cold"]
    assert names.index("health_scores") < names.index("prune_health_scores") < names.index("database_maintenance")


def test_the_retention_defaults_come_from_the_toml():
    retention = load_settings(REPO / "wrangler-like.toml", environ={}).retention
    assert (retention.workflow_run_log_days, retention.customer_health_scores_days) == (365, 365)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("workflow_run_log_days = 365", "workflow_run_log_days = 0",
         "retention.workflow_run_log_days: Input should be greater than or equal to 1"),
        ("customer_health_scores_days = 365", "customer_health_scores_days = -30",
         "retention.customer_health_scores_days: Input should be greater than or equal to 1"),
        ("customer_health_scores_days = 365", 'customer_health_scores_days = "a year"',
         "retention.customer_health_scores_days: Input should be a valid integer"),
        ("workflow_run_log_days = 365", "workflow_run_log_days = 365\nworkflow_runs_days = 30",
         "retention.workflow_runs_days: unknown key (check the spelling)"),
    ],
)
def test_bad_retention_names_the_key_and_problem(tmp_path, old, new, message):
    text = (REPO / "wrangler-like.toml").read_text()
    assert old in text
    path = tmp_path / "wrangler-like.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert message in str(err.value)
