"""The warm tier's aging job on a real SQLite file: snapshots, the view, and exactly-once transitions."""

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from cron import aging
from cron.aging import SkippedTick, action_plans, refresh_aging
from tests import ar_fixtures as fx
from worker.aging import ACTION_BUCKETS, AgingState, bucket_for, transitions
from worker.config import Vars
from worker.env import build_env


def tick(day: str, hour: int = 12, minute: int = 0) -> datetime:
    """A warm tick at a UTC time on a date."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def before(day: str, days: int) -> str:
    """The ISO date `days` before `day`."""
    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


async def snapshot(env, as_of):
    rows = await env.db.fetchall("SELECT * FROM ar_aging_snapshot WHERE as_of = ? ORDER BY invoice_id", (as_of,))
    return {r["invoice_id"]: dict(r) for r in rows}


async def bucket_events(env):
    rows = await env.db.fetchall("SELECT entity_id, payload_json, dedupe_key FROM events "
                                 "WHERE type = 'ar.bucket_changed' ORDER BY id")
    return [json.loads(r["payload_json"]) for r in rows]


async def test_buckets_at_boundary_days_and_the_view(acme):
    env, today = acme, "2026-06-30"
    for days in (0, 1, 30, 31, 60, 61, 90, 91):
        await fx.write(env, fx.invoice, f"d{days:03d}", "100", tran_date=before(today, days + 30),
                       due_date=before(today, days), total=100.0 + days)
    counts = await refresh_aging(env, tick(today))
    assert counts["open_invoices"] == 8 and counts["transitions"] == 3  # first seen 61+: d061, d090, d091
    snap = await snapshot(env, today)
    got = {inv: (row["days_past_due"], row["bucket"]) for inv, row in snap.items()}
    assert got == {"d000": (0, "current"), "d001": (1, "1-30"), "d030": (30, "1-30"), "d031": (31, "31-60"),
                   "d060": (60, "31-60"), "d061": (61, "61-90"), "d090": (90, "61-90"), "d091": (91, "90+")}
    view = dict(await env.db.fetchone("SELECT * FROM v_customer_ar_aging WHERE customer_id = '100'"))
    assert view == {"customer_id": "100", "as_of": today, "current": 100.0, "b1_30": 231.0, "b31_60": 291.0,
                    "b61_90": 351.0, "b90_plus": 191.0, "total_open": 1164.0, "unconverted": 0}


async def test_partially_paid_deleted_and_zero_invoices(acme):
    env, today = acme, "2026-06-30"
    await fx.write(env, fx.invoice, "part", "100", tran_date="2026-05-01", due_date="2026-05-31", total=1000,
                   remaining=250.5)
    await fx.write(env, fx.invoice, "paid", "100", tran_date="2026-05-01", due_date="2026-05-31", total=80, remaining=0)
    await fx.write(env, fx.invoice, "gone", "100", tran_date="2026-05-01", due_date="2026-05-31", total=70,
                   deleted_at="2026-06-01T00:00:00Z")
    await refresh_aging(env, tick(today))
    snap = await snapshot(env, today)
    assert list(snap) == ["part"] and snap["part"]["amount_remaining"] == 250.5 and snap["part"]["bucket"] == "1-30"
    view = await env.db.fetchone("SELECT b1_30, total_open FROM v_customer_ar_aging")
    assert tuple(view) == (250.5, 250.5)


async def test_no_due_date_uses_the_customers_program_terms_or_the_standard(acme):
    env, today = acme, "2026-06-30"
    await fx.write(env, fx.customer, "200", "Beta Foods")
    await fx.write(env, fx.program, "100", 45)
    await fx.write(env, fx.invoice, "p45", "100", tran_date=before(today, 75), due_date=None, total=10)
    await fx.write(env, fx.invoice, "std", "200", tran_date=before(today, 75), due_date=None, total=10)
    await refresh_aging(env, tick(today))
    snap = await snapshot(env, today)
    assert (snap["p45"]["days_past_due"], snap["p45"]["bucket"]) == (30, "1-30")  # 75 - 45 days of terms
    assert (snap["std"]["days_past_due"], snap["std"]["bucket"]) == (45, "31-60")  # standard program: 30 days


async def test_no_due_date_and_no_program_uses_the_invoices_then_the_customers_terms(acme):
    # SPEC 6: "its date plus the customer's payment terms". All four invoices are dated 45 days ago.
    env, today = acme, "2026-06-30"
    await fx.write(env, fx.customer, "300", "Cash Only Cafe", terms="Due on receipt")
    await fx.write(env, fx.customer, "400", "Odd Terms Deli", terms="Special arrangement")
    for ns_id, customer_id, terms in (("n60", "100", "Net 60"), ("r0", "300", None), ("n45", "100", "1% 10 Net 45"),
                                      ("odd", "400", "see contract")):
        await fx.write(env, fx.invoice, ns_id, customer_id, tran_date=before(today, 45), due_date=None, total=10,
                       terms=terms)
    await fx.write(env, fx.customer, "500", "Program Foods", terms="Net 10")
    await fx.write(env, fx.program, "500", 20)
    await fx.write(env, fx.invoice, "prog", "500", tran_date=before(today, 45), due_date=None, total=10, terms="Net 90")
    await refresh_aging(env, tick(today))
    got = {inv: (row["days_past_due"], row["bucket"]) for inv, row in (await snapshot(env, today)).items()}
    assert got == {"n60": (-15, "current"),  # the invoice's own terms
                   "r0": (45, "31-60"),  # no invoice terms: the customer's ("Due on receipt" = 0 days)
                   "n45": (0, "current"),  # "1% 10 Net 45": due in 45
                   "odd": (15, "1-30"),  # neither readable: the standard program's 30 days
                   "prog": (25, "1-30")}  # the program's days win (reference data the team keeps)


async def test_a_sub_cent_remainder_is_paid_not_a_zero_dollar_collection(acme):
    env, today = acme, "2026-06-30"
    await fx.write(env, fx.invoice, "dust", "100", tran_date="2026-01-01", due_date="2026-01-31", total=500,
                   remaining=0.004)
    await fx.write(env, fx.invoice, "cent", "100", tran_date="2026-01-01", due_date="2026-01-31", total=500,
                   remaining=0.005)
    counts = await refresh_aging(env, tick(today))
    snap = await snapshot(env, today)
    assert list(snap) == ["cent"] and snap["cent"]["amount_remaining"] == 0.01 and counts["open_invoices"] == 1
    assert [e["invoice_id"] for e in await bucket_events(env)] == ["cent"]


async def deliver(env, *events):
    """CDC events through the webhook's own validation and apply path."""
    from worker.cdc.apply import apply_batch
    from worker.cdc.intake import validate_events

    accepted, rejected = validate_events(json.loads(json.dumps(list(events))))
    assert not rejected, [r.reason for r in rejected]
    await env.db.write(apply_batch, accepted, [], source="test", received_at="2026-06-30T00:00:00.000Z")


def invoice_event(event_id, ns_id, modified, **fields):
    """An update of invoice ns_id of customer 100 (March, due 2026-03-31, $1,000) with these REST fields."""
    record = {"id": ns_id, "tranId": f"INV-{ns_id}", "entity": {"id": "100"}, "tranDate": "2026-03-01",
              "dueDate": "2026-03-31", "total": 1000.0, **fields}
    return {"event_id": event_id, "record_type": "invoice", "record_id": ns_id, "operation": "update",
            "last_modified": modified, "record": record}


async def unknown_events(env):
    rows = await env.db.fetchall("SELECT payload_json, dedupe_key FROM events WHERE type = 'ar.remaining_unknown' "
                                 "ORDER BY id")
    return [(json.loads(r["payload_json"]), r["dedupe_key"]) for r in rows]


async def test_an_invoice_sent_without_amount_remaining_never_leaves_ar_silently(acme):
    # REST leaves out fields that are null or not requested: derived when safe, else reported, never 0.
    env, today, at = acme, "2026-06-30", "2026-06-01T10:00:00Z"
    await deliver(env, invoice_event("e1", "part", at, amountPaid=400.0, status="Open"),
                  invoice_event("e2", "paid", at, status={"id": "B", "refName": "Paid In Full"}),
                  invoice_event("e3", "blind", at, status="Open"),
                  invoice_event("e4", "given", at, amountRemaining=250.0, status="Open"))
    counts = await refresh_aging(env, tick(today))
    snap = await snapshot(env, today)
    assert {i: (r["amount_remaining"], r["bucket"]) for i, r in snap.items()} == {
        "given": (250.0, "90+"), "part": (600.0, "90+")}
    assert counts["open_invoices"] == 2 and counts["closed"] == 0
    assert (counts["remaining_unknown"], counts["remaining_unknown_invoices"]) == (1, ["INV-blind (id blind)"])
    [(payload, key)] = await unknown_events(env)
    assert {k: payload[k] for k in ("invoice_id", "customer_id", "tran_id", "status", "total", "last_bucket",
                                    "applied_in_mirror", "as_of")} == {
        "invoice_id": "blind", "customer_id": "100", "tran_id": "INV-blind", "status": "Open", "total": 1000.0,
        "last_bucket": None, "applied_in_mirror": 0.0, "as_of": today}
    assert key.startswith("ar.remaining_unknown:blind:")  # and the mirrored version
    again = await refresh_aging(env, tick(today, 12, 15))  # reported every tick, one event per mirrored version
    assert again["remaining_unknown"] == 1 and len(await unknown_events(env)) == 1
    await deliver(env, invoice_event("e5", "blind", "2026-06-30T13:00:00Z", amountRemaining=700.0, status="Open"))
    known = await refresh_aging(env, tick(today, 13, 30))
    assert known["remaining_unknown"] == 0 and (await snapshot(env, today))["blind"]["amount_remaining"] == 700.0


async def test_a_known_invoice_whose_remainder_turns_unknown_is_reported_not_closed(acme):
    env, today = acme, "2026-06-30"
    await deliver(env, invoice_event("e1", "9", "2026-06-01T10:00:00Z", amountRemaining=1000.0, status="Open"))
    await refresh_aging(env, tick(today))
    await fx.write(env, fx.payment, "p1", "100", "2026-06-30", [("9", 300.0)])
    await deliver(env, invoice_event("e2", "9", "2026-06-30T13:00:00Z", status="Open"))  # sent without it
    same_day = await refresh_aging(env, tick(today, 13, 30))
    assert (same_day["open_invoices"], same_day["closed"], same_day["remaining_unknown"]) == (0, 0, 1)
    assert await snapshot(env, today) == {}  # its stale amount does not stay in the day's snapshot
    [(payload, key)] = await unknown_events(env)
    assert (payload["last_bucket"], payload["last_amount_remaining"], payload["applied_in_mirror"]) == (
        "90+", 1000.0, 300.0)
    assert key.startswith("ar.remaining_unknown:9:")
    next_day = await refresh_aging(env, tick("2026-07-01"))
    assert (next_day["closed"], next_day["remaining_unknown"]) == (0, 1) and len(await unknown_events(env)) == 1


async def test_invoice_date_basis(make_env, settings):
    aging = settings.aging.model_copy(update={"basis": "invoice_date"})
    env = make_env()
    env.settings = settings.model_copy(update={"aging": aging})
    await env.db.open()
    try:
        await fx.write(env, fx.invoice, "1", "100", tran_date="2026-06-01", due_date="2026-07-01", total=5)
        await refresh_aging(env, tick("2026-06-30"))
        assert (await snapshot(env, "2026-06-30"))["1"]["days_past_due"] == 29
    finally:
        await env.db.close()


async def test_time_zone_decides_the_as_of_date(settings, secrets):
    chicago = settings.model_copy(update={"vars": Vars(TIMEZONE="America/Chicago")})
    env = build_env(chicago, secrets)
    await env.db.open()
    try:
        await fx.write(env, fx.invoice, "1", "100", tran_date="2026-02-01", due_date="2026-03-01", total=5)
        # 03:30 UTC on March 2nd is still March 1st in Chicago: due today, so current, not 1 day late.
        counts = await refresh_aging(env, datetime(2026, 3, 2, 3, 30, tzinfo=UTC))
        assert counts["as_of"] == "2026-03-01"
        row = (await snapshot(env, "2026-03-01"))["1"]
        assert (row["days_past_due"], row["bucket"]) == (0, "current")
    finally:
        await env.db.close()


async def test_a_tick_run_twice_and_ticks_within_a_day_emit_nothing_new(acme):
    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-05-01", due_date="2026-05-31", total=10)
    await refresh_aging(env, tick("2026-05-31"))  # baseline: current
    first = await refresh_aging(env, tick("2026-06-01"))
    again = await refresh_aging(env, tick("2026-06-01"))
    later = await refresh_aging(env, tick("2026-06-01", 12, 15))
    assert (first["transitions"], again["transitions"], later["transitions"]) == (1, 0, 0)
    events = await bucket_events(env)
    assert [(e["invoice_id"], e["from"], e["to"], e["as_of"]) for e in events] == [("1", "current", "1-30", "2026-06-01")]
    assert events[0]["customer_id"] == "100"
    runs = await env.db.fetchall("SELECT as_of, transitions FROM ar_aging_runs ORDER BY as_of")
    assert [tuple(r) for r in runs] == [("2026-05-31", 0), ("2026-06-01", 1)]


async def test_a_late_tick_that_skips_buckets_is_one_event(acme):
    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-04-01", due_date="2026-05-01", total=10)
    await refresh_aging(env, tick("2026-04-20"))
    counts = await refresh_aging(env, tick("2026-07-10"))  # the tier was down for 81 days
    assert counts["transitions"] == 1
    [event] = await bucket_events(env)
    assert (event["from"], event["to"], event["as_of"], event["days_past_due"]) == ("current", "61-90", "2026-07-10", 70)
    await refresh_aging(env, tick("2026-07-10", 12, 30))
    assert len(await bucket_events(env)) == 1


async def test_paid_off_between_ticks_leaves_quietly(acme):
    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-04-01", due_date="2026-05-01", total=10)
    await fx.write(env, fx.invoice, "2", "100", tran_date="2026-04-01", due_date="2026-05-01", total=20)
    await refresh_aging(env, tick("2026-06-15"))
    await fx.write(env, fx.update_invoice, "1", amount_remaining=0.0, status="paidInFull")
    same_day = await refresh_aging(env, tick("2026-06-15", 12, 15))
    assert same_day["closed"] == 1 and list(await snapshot(env, "2026-06-15")) == ["2"]
    await fx.write(env, fx.update_invoice, "2", amount_remaining=0.0)
    next_day = await refresh_aging(env, tick("2026-07-20"))  # "2" would have moved 31-60 -> 61-90
    assert next_day["closed"] == 1 and next_day["transitions"] == 0
    assert await bucket_events(env) == []
    assert await env.db.fetchone("SELECT * FROM v_customer_ar_aging") is None  # latest snapshot is empty


async def test_a_genuine_later_move_is_a_new_event(acme):
    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-04-01", due_date="2026-05-01", total=10)
    await refresh_aging(env, tick("2026-04-30"))
    await refresh_aging(env, tick("2026-05-02"))  # current -> 1-30
    await fx.write(env, fx.update_invoice, "1", due_date="2026-05-31")  # terms extended: back to current
    await refresh_aging(env, tick("2026-05-02", 12, 15))
    await fx.write(env, fx.update_invoice, "1", due_date="2026-05-01")  # the extension is withdrawn the same day
    await refresh_aging(env, tick("2026-05-02", 12, 30))
    await refresh_aging(env, tick("2026-05-02", 12, 30))  # and that tick re-run
    moves = [(e["from"], e["to"]) for e in await bucket_events(env)]
    assert moves == [("current", "1-30"), ("1-30", "current"), ("current", "1-30")]


async def test_stale_tick_is_skipped_and_retention_bounds_history(acme):
    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-01-01", due_date="2026-01-31", total=10)
    for day in ("2026-01-01", "2026-03-01", "2026-05-01", "2026-05-20"):
        await refresh_aging(env, tick(day))
    with pytest.raises(SkippedTick, match="skipped: as_of 2026-05-10 is older than the latest snapshot 2026-05-20"):
        await refresh_aging(env, tick("2026-05-10"))
    dates = [r[0] for r in await env.db.fetchall("SELECT DISTINCT as_of FROM ar_aging_snapshot ORDER BY 1")]
    assert dates == ["2026-03-01", "2026-05-01", "2026-05-20"]  # retention 120 days: 2026-01-20 onwards
    runs = [r[0] for r in await env.db.fetchall("SELECT as_of FROM ar_aging_runs ORDER BY 1")]
    assert runs == dates


async def test_sql_agrees_with_the_pure_reference_on_random_histories(acme):
    env, rng = acme, random.Random(20260601)
    state: dict[str, AgingState] = {}
    expected: list[tuple[str, str, str]] = []
    day = date(2026, 1, 1)
    ids = [str(n) for n in range(60)]
    for n in ids:
        due = day + timedelta(days=rng.randint(-120, 60))
        await fx.write(env, fx.invoice, n, f"c{int(n) % 5}", tran_date=(due - timedelta(days=30)).isoformat(),
                       due_date=due.isoformat(), total=100)
    for step in range(12):
        day += timedelta(days=rng.choice([0, 1, 7, 20, 45]))
        for n in rng.sample(ids, 6):  # payments, re-opened invoices and due-date edits between ticks
            change = rng.choice(["pay", "reopen", "due"])
            if change == "due":
                new_due = day + timedelta(days=rng.randint(-100, 40))
                await fx.write(env, fx.update_invoice, n, due_date=new_due.isoformat())
            else:  # paid off, or (re)opened / partly paid with a new amount
                amount = 0.0 if change == "pay" else float(rng.randint(1, 99))
                await fx.write(env, fx.update_invoice, n, amount_remaining=amount)
        at = tick(day.isoformat(), 12, step)
        rows = await env.db.fetchall("SELECT ns_id, customer_id, due_date, amount_remaining FROM customer_invoice "
                                     "WHERE amount_remaining > 0 AND deleted_at IS NULL AND tran_date <= ?",
                                     (day.isoformat(),))  # not yet issued: not aged
        current = {}
        for r in rows:
            bucket = bucket_for((day - date.fromisoformat(r["due_date"])).days)
            keep = state.get(r["ns_id"])
            since = keep.since if keep and keep.bucket == bucket else f"{at:%Y-%m-%dT%H:%M}:00.000Z"
            current[r["ns_id"]] = AgingState(r["customer_id"], bucket, since)
        expected += [(t.invoice_id, t.from_bucket, t.to_bucket) for t in transitions(state, current)]
        expected += [(k, None, v.bucket) for k, v in current.items() if k not in state and v.bucket in ACTION_BUCKETS]
        state = current
        await refresh_aging(env, at)
        snap = await snapshot(env, day.isoformat())
        assert {k: (v["bucket"], v["bucket_since"]) for k, v in snap.items()} == {
            k: (v.bucket, v.since) for k, v in current.items()}
        assert {k: (v["amount_remaining"], v["due_date"]) for k, v in snap.items()} == {
            r["ns_id"]: (r["amount_remaining"], r["due_date"]) for r in rows}
    got = [(e["invoice_id"], e["from"], e["to"]) for e in await bucket_events(env)]
    assert sorted(got, key=str) == sorted(expected, key=str) and len(expected) > 10
    assert any(e[1] is None for e in expected)  # the history does include invoices first seen 61+


async def test_an_invoice_first_seen_61_plus_is_one_event_from_null_and_starts_a_plan(env):
    today = "2026-07-01"
    await fx.write(env, fx.customer, "100", "Acme Grocers", email="ap@acme.test", credit_limit=50_000)
    await fx.write(env, fx.invoice, "old", "100", tran_date="2026-02-01", due_date="2026-03-01", total=40_000)
    for days in (-5, 15, 45):  # earlier buckets first seen stay a quiet baseline
        await fx.write(env, fx.invoice, f"d{days}", "100", tran_date=before(today, days + 30),
                       due_date=before(today, days), total=10)
    first = await refresh_aging(env, tick(today))
    again = await refresh_aging(env, tick(today))
    later = await refresh_aging(env, tick(today, 12, 15))
    next_day = await refresh_aging(env, tick("2026-07-02"))
    assert [c["transitions"] for c in (first, again, later, next_day)] == [1, 0, 0, 0]
    [event] = await bucket_events(env)
    assert (event["invoice_id"], event["from"], event["to"], event["days_past_due"]) == ("old", None, "90+", 122)
    key = (await env.db.fetchone("SELECT dedupe_key FROM events WHERE type = 'ar.bucket_changed'"))[0]
    assert key == "ar.bucket_changed:old:new@2026-07-01T12:00:00.000Z>90+"
    plans = await action_plans(env, tick(today))
    assert plans["ok"] == 1
    kinds = [r[0] for r in await env.db.fetchall("SELECT kind FROM proposed_actions WHERE status = 'staged' ORDER BY id")]
    assert kinds == ["send_collection_email", "schedule_collection_call", "service_hold"]  # 99.9% of AR is 90+


async def test_a_tick_older_than_the_latest_snapshot_fails_the_tier_saying_skipped(acme, caplog):
    from worker.tiers import run_tier

    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-05-31", due_date="2026-06-30", total=10)
    assert (await run_tier(env, "warm", scheduled_at=tick("2026-09-15"))).status == "ok"
    caplog.clear()
    stale = await run_tier(env, "warm", scheduled_at=tick("2026-07-01"))
    # A stated reason, not a bug: logged once as a warning, without the traceback it used to carry at ERROR.
    [declined] = [r for r in caplog.records if getattr(r, "job", None) == "refresh_aging"]
    assert (declined.levelname, declined.getMessage(), declined.exc_info) == ("WARNING", "cron job declined", None)
    assert stale.status == "failed" and "refresh_aging" not in stale.counts
    assert stale.error == ("refresh_aging: SkippedTick: skipped: as_of 2026-07-01 is older than the latest "
                           "snapshot 2026-09-15")
    run = await env.db.fetchone("SELECT status, error FROM cron_runs WHERE id = ?", (stale.run_id,))
    assert tuple(run) == ("failed", stale.error)


async def test_worker_cron_warm_as_of_via_subprocess(acme, settings):
    """The command an operator runs: `worker cron warm --as-of ...` ages the mirror and records the run."""
    import asyncio
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-04-01", due_date="2026-05-01", total=10)
    await refresh_aging(env, tick("2026-06-29"))  # 59 days: 31-60
    environ = {**os.environ, "WORKER_DB_PATH": str(settings.db.path)}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "worker.cli", "cron", "warm", "--as-of", "2026-07-01T00:15:00Z"],
        env=environ, capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cron warm: ok" in done.stdout
    [event] = await bucket_events(env)
    assert (event["from"], event["to"], event["as_of"]) == ("31-60", "61-90", "2026-07-01")
    run = await env.db.fetchone("SELECT status, scheduled_at, counts_json FROM cron_runs WHERE tier = 'warm'")
    assert run["status"] == "ok" and run["scheduled_at"] == "2026-07-01T00:15:00.000Z"
    counts = json.loads(run["counts_json"])
    assert counts["refresh_aging"]["transitions"] == 1 and counts["action_plans"]["ok"] == 1
    assert (await env.db.fetchone("SELECT count(*) FROM proposed_actions"))[0] == 2


TODAY = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
async def on_june_30(make_env):
    """An opened env whose clock reads 2026-06-30 (the company's today), with customer 100."""
    env = make_env(clock=lambda: TODAY)
    await env.db.open()
    await fx.write(env, fx.customer, "100", "Acme Grocers")
    yield env
    await env.db.close()


async def test_a_past_as_of_ages_what_was_owed_that_day(on_june_30):
    # `worker cron warm --as-of 2026-06-10` run on June 30th: the mirror holds today's balances.
    env = on_june_30

    def rows(conn):
        fx.invoice(conn, "paid", "100", tran_date="2026-04-01", due_date="2026-05-01", total=1000, remaining=0)
        fx.payment(conn, "p-after", "100", "2026-06-15", [("paid", 1000)])  # after the day: still owed then
        fx.invoice(conn, "part", "100", tran_date="2026-04-01", due_date="2026-05-01", total=1000, remaining=200)
        fx.payment(conn, "p-before", "100", "2026-05-20", [("part", 500)])  # before the day: already paid then
        fx.credit_memo(conn, "cm-after", "100", "2026-06-20", 300, invoice_id="part")  # after: owed then
        fx.invoice(conn, "void", "100", tran_date="2026-04-01", due_date="2026-05-01", total=50, remaining=0)
        fx.payment(conn, "p-gone", "100", "2026-06-12", [("void", 50)])
        conn.execute("UPDATE customer_payment SET deleted_at = '2026-06-13T00:00:00Z' WHERE ns_id = 'p-gone'")
        fx.invoice(conn, "later", "100", tran_date="2026-06-20", due_date="2026-07-20", total=500)  # not issued yet
        fx.invoice(conn, "blind", "100", tran_date="2026-04-01", due_date="2026-05-01", total=70,
                   remaining_unknown=True)
        fx.invoice(conn, "blind-later", "100", tran_date="2026-06-20", due_date="2026-07-20", total=80,
                   remaining_unknown=True)  # of unknown remainder, and not issued yet either
    await env.db.write(rows)
    past = await refresh_aging(env, tick("2026-06-10"))
    got = {i: (r["days_past_due"], r["bucket"], r["amount_remaining"]) for i, r in (await snapshot(env, "2026-06-10")).items()}
    assert got == {"paid": (40, "31-60", 1000.0), "part": (40, "31-60", 500.0)}
    assert past["open_invoices"] == 2
    assert (past["remaining_unknown"], past["remaining_unknown_invoices"]) == (1, ["INVblind (id blind)"])
    # Today's tick ages today's balances: nothing is added back, and the paid invoice leaves quietly.
    now = await refresh_aging(env, tick("2026-06-30"))
    got = {i: (r["days_past_due"], r["bucket"], r["amount_remaining"]) for i, r in (await snapshot(env, "2026-06-30")).items()}
    assert got == {"part": (60, "31-60", 200.0), "later": (-20, "current", 500.0)}
    assert (now["closed"], now["transitions"]) == (1, 0) and await bucket_events(env) == []
    assert now["remaining_unknown_invoices"] == ["INVblind (id blind)", "INVblind-later (id blind-later)"]


async def test_todays_tick_counts_a_payment_dated_later_as_paid_and_ages_no_invoice_dated_later(on_june_30):
    env = on_june_30

    def rows(conn):
        fx.invoice(conn, "paid", "100", tran_date="2026-04-01", due_date="2026-05-01", total=1000, remaining=0)
        fx.payment(conn, "p-dated-later", "100", "2026-07-05", [("paid", 1000)])  # NetSuite already applied it
        fx.invoice(conn, "open", "100", tran_date="2026-06-30", due_date="2026-07-30", total=70)
        fx.invoice(conn, "post-dated", "100", tran_date="2026-07-01", due_date="2026-07-31", total=90)
    await env.db.write(rows)
    await refresh_aging(env, tick("2026-06-30"))
    assert list(await snapshot(env, "2026-06-30")) == ["open"]
    await refresh_aging(env, tick("2026-07-01"))  # the post-dated invoice exists from its date on
    assert list(await snapshot(env, "2026-07-01")) == ["open", "post-dated"]


def discounted_payment_events(*, remaining_known=True):
    """Invoice 1000.00 of 2026-06-01 on 1% 10 Net 30, paid on 2026-06-09 with 990 and the 10 discount taken
    (NetSuite's apply line: amount 990, disc 10, applyDate the invoice's date), as NetSuite then sends both."""
    def invoice(event_id, modified, **fields):
        record = {"id": "70", "tranId": "INV-70", "entity": {"id": "100"}, "tranDate": "2026-06-01",
                  "dueDate": "2026-07-01", "terms": {"id": "5", "refName": "1% 10 Net 30"}, "total": 1000.0, **fields}
        return {"event_id": event_id, "record_type": "invoice", "record_id": "70", "operation": "update",
                "last_modified": modified, "record": record}

    payment = {"id": "80", "tranId": "PYMT-80", "tranDate": "2026-06-09", "customer": {"id": "100"},
               "payment": 990.0, "unapplied": 0.0,
               "apply": {"items": [{"doc": {"id": "70"}, "apply": True, "amount": 990.0, "disc": 10.0,
                                    "total": 1000.0, "due": 0.0, "applyDate": "2026-06-01", "type": "Invoice"}]}}
    open_, paid = {"id": "open", "refName": "Open"}, {"id": "paidInFull", "refName": "Paid In Full"}
    # not remaining_known: sent Open without amountRemaining, so of unknown remainder
    after = {"amountRemaining": 0.0, "status": paid} if remaining_known else {"status": open_}
    return [invoice("d1", "2026-06-01T10:00:00Z", amountRemaining=1000.0, status=open_),
            {"event_id": "d2", "record_type": "customerpayment", "record_id": "80", "operation": "update",
             "last_modified": "2026-06-09T10:00:00Z", "record": payment},
            invoice("d3", "2026-06-09T10:00:00Z", **after)]


async def test_a_past_as_of_adds_back_the_discount_a_later_payment_took(on_june_30):
    # NetSuite lowered the remainder by the 990 paid and the 10 discount taken: on June 5th all 1000 was owed.
    env = on_june_30
    await deliver(env, *discounted_payment_events())
    past = await refresh_aging(env, tick("2026-06-05"))
    assert {i: r["amount_remaining"] for i, r in (await snapshot(env, "2026-06-05")).items()} == {"70": 1000.0}
    assert past["open_invoices"] == 1
    await refresh_aging(env, tick("2026-06-30"))
    assert await snapshot(env, "2026-06-30") == {}  # paid in full today


async def test_what_the_mirror_applied_to_an_invoice_of_unknown_remainder_counts_the_discount(on_june_30):
    env = on_june_30
    await deliver(env, *discounted_payment_events(remaining_known=False))
    await refresh_aging(env, tick("2026-06-30"))
    (payload, _key), = await unknown_events(env)
    assert payload["applied_in_mirror"] == 1000.0  # 990 paid + 10 discount: nothing can be left


def count_writes(env, monkeypatch):
    """Record each env.db.write transaction as (function name, its result)."""
    calls, write = [], env.db.write

    async def counted(fn, *args, **kwargs):
        result = await write(fn, *args, **kwargs)
        calls.append((fn.__name__, result))
        return result
    monkeypatch.setattr(env.db, "write", counted)
    return calls


async def test_expired_history_goes_a_chunk_per_transaction_after_the_tick(acme, monkeypatch):
    """A lowered retention on a big book: the expiry must not hold the only writer in one long DELETE."""
    env = acme
    for n in range(3):
        await fx.write(env, fx.invoice, str(n), "100", tran_date="2026-01-01", due_date="2026-01-31", total=10)
    old_days = [f"2026-01-0{d}" for d in range(1, 7)]  # 6 dates x 3 invoices: 18 rows, all 120+ days old below
    for day in old_days:
        await refresh_aging(env, tick(day))
    monkeypatch.setattr(aging, "EXPIRE_CHUNK", 4)
    calls = count_writes(env, monkeypatch)
    counts = await refresh_aging(env, tick("2026-06-01"))
    assert counts["expired_rows"] == 18 and counts["open_invoices"] == 3
    assert calls[0][0] == "materialize"  # the tick's snapshot first, as before
    assert calls[1:] == [("expire_snapshot_chunk", n) for n in (4, 4, 4, 4, 2)]
    dates = [r[0] for r in await env.db.fetchall("SELECT DISTINCT as_of FROM ar_aging_snapshot")]
    runs = [r[0] for r in await env.db.fetchall("SELECT as_of FROM ar_aging_runs")]
    assert dates == runs == ["2026-06-01"]


async def test_a_crash_between_expiry_chunks_leaves_no_partial_snapshot_and_the_next_tick_finishes(acme, monkeypatch):
    env = acme
    await fx.write(env, fx.invoice, "1", "100", tran_date="2026-01-01", due_date="2026-01-31", total=10)
    await fx.write(env, fx.invoice, "2", "100", tran_date="2026-01-01", due_date="2026-01-31", total=20)
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        await refresh_aging(env, tick(day))
    monkeypatch.setattr(aging, "EXPIRE_CHUNK", 2)
    write, chunks = env.db.write, []

    async def dies_on_the_second_chunk(fn, *args, **kwargs):
        if fn is aging.expire_snapshot_chunk:
            chunks.append(fn)
            if len(chunks) == 2:
                raise RuntimeError("killed before chunk 2")
        return await write(fn, *args, **kwargs)
    monkeypatch.setattr(env.db, "write", dies_on_the_second_chunk)
    with pytest.raises(RuntimeError, match="killed before chunk 2"):
        await refresh_aging(env, tick("2026-06-01"))
    left = [tuple(r) for r in await env.db.fetchall("SELECT as_of, count(*) FROM ar_aging_snapshot GROUP BY 1")]
    assert left == [("2026-01-02", 2), ("2026-01-03", 2), ("2026-06-01", 2)]  # the oldest date's 2 rows went
    # Their runs went with the tick: no reader takes a date without its run for a snapshot.
    assert [r[0] for r in await env.db.fetchall("SELECT as_of FROM ar_aging_runs")] == ["2026-06-01"]
    view = await env.db.fetchone("SELECT as_of, total_open FROM v_customer_ar_aging WHERE customer_id = '100'")
    assert tuple(view) == ("2026-06-01", 30.0)
    monkeypatch.setattr(env.db, "write", write)
    counts = await refresh_aging(env, tick("2026-06-01", 12, 15))  # the next tick finishes the expiry
    assert (counts["expired_rows"], counts["transitions"]) == (4, 0)
    assert [r[0] for r in await env.db.fetchall("SELECT DISTINCT as_of FROM ar_aging_snapshot")] == ["2026-06-01"]
