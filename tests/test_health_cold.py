"""The cold tier's health job on constructed customers in a real SQLite file, and reflexion expiry."""

import json
from datetime import UTC, datetime

from cron.aging import refresh_aging
from cron.health import score_customers
from cron.reflexion import expire_observations
from tests import ar_fixtures as fx
from worker.config import Vars

NIGHT = datetime(2026, 6, 30, 3, 0, tzinfo=UTC)


async def build_customers(env, *, warm=True):
    """A clean payer, a troubled customer, a newcomer without history, and a deleted customer (aged: `warm`)."""
    def rows(conn):
        fx.customer(conn, "1", "Clean Payer Co", credit_limit=100_000)
        fx.customer(conn, "2", "Troubled Foods", credit_limit=10_000)
        fx.customer(conn, "3", "Newcomer LLC")
        fx.customer(conn, "4", "Gone Inc", deleted_at="2026-05-01T00:00:00Z")
        for n, cid in enumerate(("1", "1", "2", "3"), 1):
            fx.contact(conn, f"ct{n}", cid, f"Person {n}", f"p{n}@example.com")
        fx.contact(conn, "ct9", "2", "Left Person", "left@example.com", deleted_at="2026-06-10T00:00:00Z")
        # Clean payer: current invoices, paid on time, ordering steadily.
        fx.invoice(conn, "i1", "1", tran_date="2026-06-10", due_date="2026-07-10", total=8000)
        fx.invoice(conn, "i0", "1", tran_date="2026-04-01", due_date="2026-05-01", total=5000, remaining=0)
        fx.payment(conn, "p1", "1", "2026-04-28", [("i0", 5000)])
        fx.invoice(conn, "i9", "1", tran_date="2026-02-01", due_date="2026-03-01", total=5000, remaining=0)
        fx.payment(conn, "p0", "1", "2026-02-27", [("i9", 5000)])
        for n, day in enumerate(["2025-08-01", "2025-10-01", "2025-12-01", "2026-02-01", "2026-04-15", "2026-06-01"]):
            fx.order(conn, f"o1-{n}", "1", day)
        # Troubled: most AR past 90 days, recent disputes, paying later, orders stopped.
        fx.invoice(conn, "t1", "2", tran_date="2026-01-15", due_date="2026-02-14", total=40_000)
        fx.invoice(conn, "t2", "2", tran_date="2026-06-01", due_date="2026-07-01", total=2_000)
        fx.invoice(conn, "t3", "2", tran_date="2026-03-01", due_date="2026-03-31", total=3_000, remaining=0)
        fx.payment(conn, "tp", "2", "2026-06-15", [("t3", 3000)])  # 76 days late
        fx.invoice(conn, "t4", "2", tran_date="2025-12-01", due_date="2025-12-31", total=1_000, remaining=0)
        fx.payment(conn, "tq", "2", "2026-01-05", [("t4", 1000)])  # 5 days late
        fx.credit_memo(conn, "cm1", "2", "2026-06-01", 500, invoice_id="t1", memo="short shipped")
        fx.credit_memo(conn, "cm2", "2", "2026-06-20", 300, invoice_id="t2", memo="damaged cases")
        for n, day in enumerate(["2025-09-01", "2025-11-01", "2026-01-10", "2026-02-01"]):
            fx.order(conn, f"o2-{n}", "2", day)
    await env.db.write(rows)
    if warm:
        await refresh_aging(env, NIGHT)


async def scores(env, as_of="2026-06-30"):
    rows = await env.db.fetchall("SELECT * FROM customer_health_scores WHERE as_of = ? ORDER BY customer_id", (as_of,))
    return {r["customer_id"]: dict(r, signals=json.loads(r["signals_json"])) for r in rows}


async def test_clean_payer_green_troubled_red_newcomer_neutral(env):
    await build_customers(env)
    counts = await score_customers(env, NIGHT)
    assert counts["scored"] == 3 and counts["turned_red"] == 1
    got = await scores(env)
    assert set(got) == {"1", "2", "3"}  # the deleted customer is not scored
    assert got["1"]["tier"] == "green" and got["1"]["score"] >= 95 and not got["1"]["is_neutral"]
    assert got["2"]["tier"] == "red" and got["2"]["score"] < 40
    assert (got["3"]["score"], got["3"]["tier"], got["3"]["is_neutral"]) == (70.0, "yellow", 1)
    signals = got["2"]["signals"]
    assert signals["dispute_count"]["raw"] == 2 and signals["credit_memo_count"]["raw"] == 2
    assert signals["ar_aging"]["open_by_bucket"] == {"90+": 40000.0, "current": 2000.0}
    # Recent lateness: t3 paid 76 days late, and t1 still unpaid 136 days after its due date.
    assert signals["payment_lateness_trend"]["recent_avg_days_late"] == 106.0
    assert signals["payment_lateness_trend"]["prior_avg_days_late"] == 5.0
    assert signals["order_frequency_drop"]["raw"] == 1.0  # no orders in 90 days after 4 before
    assert signals["contact_churn"]["raw"] == 0.5 and signals["contact_churn"]["churned_90d"] == 1
    for name, s in signals.items():
        assert {"raw", "sub_score", "weight", "contribution"} <= set(s), name
    # The cap on the score (audit BY) is stored with the signals its rule reads: 40,000 of 42,000 at 90+.
    cap = signals["ar_aging"]["score_cap"]
    assert (cap["at_most"], cap["thresholds"]) == (39.0, {"ar_aging": 0.75})
    assert got["2"]["score"] == min(cap["weighted_sum"], cap["at_most"])
    assert got["1"]["signals"]["ar_aging"]["score_cap"] is None
    assert got["1"]["signals"]["payment_lateness_trend"]["score_cap"] is None
    event = await env.db.fetchone("SELECT entity_id, payload_json FROM events WHERE type = 'customer.health_tier_changed'")
    payload = json.loads(event["payload_json"])
    assert event["entity_id"] == "2" and payload == {"customer_id": "2", "from": None, "to": "red",
                                                     "score": got["2"]["score"], "as_of": "2026-06-30"}


async def test_rerun_same_night_replaces_and_a_tier_change_is_one_event(env):
    await build_customers(env)
    await score_customers(env, NIGHT)
    await score_customers(env, NIGHT.replace(hour=5))  # re-run the same night
    assert (await env.db.fetchone("SELECT count(*) FROM customer_health_scores"))[0] == 3
    # The clean payer stops paying: its invoice ages past 90 days and it turns... not red by aging alone.
    await fx.write(env, fx.update_invoice, "i1", due_date="2026-03-01")
    next_night = NIGHT.replace(day=1, month=7)
    await refresh_aging(env, next_night)
    counts = await score_customers(env, next_night)
    await score_customers(env, next_night)
    got = await scores(env, "2026-07-01")
    assert got["1"]["tier"] != "green" and counts["tier_changes"] == 1
    events = await env.db.fetchall("SELECT entity_id, payload_json FROM events "
                                   "WHERE type = 'customer.health_tier_changed' ORDER BY id")
    assert [(e["entity_id"], json.loads(e["payload_json"])["from"]) for e in events] == [("2", None), ("1", "green")]
    history = await env.db.fetchall("SELECT as_of FROM customer_health_scores WHERE customer_id = '1' ORDER BY as_of")
    assert [r[0] for r in history] == ["2026-06-30", "2026-07-01"]


def night_of(row):
    return row["score"], row["tier"], row["is_neutral"], row["signals"]


async def test_a_rerun_of_a_night_whose_aging_snapshot_was_pruned_scores_what_was_owed_then(env):
    """--as-of re-runs agree: once [aging] snapshot_retention_days (120) pruned the night's snapshot, the job ages
    the open invoices as of the night itself, as the warm tier would, instead of scoring the customer clean."""
    clock = {"now": datetime(2026, 3, 1, 3, 0, tzinfo=UTC)}
    env.clock = lambda: clock["now"]

    def rows(conn):
        fx.customer(conn, "5", "Deadbeat Co", credit_limit=100_000)
        fx.contact(conn, "c5", "5", "Payer", "payer@example.com")
        fx.order(conn, "o5", "5", "2025-05-01")
        fx.invoice(conn, "u1", "5", tran_date="2025-06-01", due_date="2025-07-01", total=40_000)  # never paid
        fx.invoice(conn, "u2", "5", tran_date="2026-01-16", due_date="2026-02-15", total=10_000)  # paid after it
    await env.db.write(rows)
    night = clock["now"]
    await refresh_aging(env, night)
    first = await score_customers(env, night)
    before = (await scores(env, "2026-03-01"))["5"]
    assert before["tier"] == "red"
    assert before["signals"]["ar_aging"]["open_by_bucket"] == {"90+": 40000.0, "1-30": 10000.0}
    assert before["signals"]["payment_lateness_trend"]["recent_avg_days_late"] == 128.5  # (243 + 14) / 2, unpaid
    await fx.write(env, fx.payment, "pay5", "5", "2026-04-01", [("u2", 10_000)])
    await fx.write(env, fx.update_invoice, "u2", amount_remaining=0)
    clock["now"] = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    assert (await refresh_aging(env, clock["now"]))["expired_rows"] == 2  # 122 days on: the night's snapshot
    again = await score_customers(env, night)  # worker cron cold --as-of 2026-03-01
    assert night_of((await scores(env, "2026-03-01"))["5"]) == night_of(before)
    assert (first["aging"], again["aging"], again["tier_changes"]) == ("snapshot 2026-03-01", "mirror", 0)


async def test_a_night_whose_latest_snapshot_is_days_old_ages_the_invoices_itself(env):
    """The warm tier down for ten days: its last snapshot no longer says what is owed on the night."""
    env.clock = lambda: NIGHT

    def rows(conn):
        fx.customer(conn, "6", "Slow Co", credit_limit=100_000)
        fx.order(conn, "o6", "6", "2026-04-01")
        fx.invoice(conn, "s1", "6", tran_date="2026-04-25", due_date="2026-05-25", total=10_000)  # 1-30 -> 31-60
        fx.invoice(conn, "s2", "6", tran_date="2026-05-01", due_date="2026-05-31", total=5_000)  # paid since
    await env.db.write(rows)
    await refresh_aging(env, datetime(2026, 6, 20, 3, 0, tzinfo=UTC))  # the last warm tick
    await fx.write(env, fx.payment, "pay6", "6", "2026-06-25", [("s2", 5_000)])
    await fx.write(env, fx.update_invoice, "s2", amount_remaining=0)
    result = await score_customers(env, NIGHT)
    assert result["aging"] == "mirror (latest snapshot 2026-06-20)"
    assert (await scores(env))["6"]["signals"]["ar_aging"]["open_by_bucket"] == {"31-60": 10000.0}
    await refresh_aging(env, datetime(2026, 6, 29, 3, 0, tzinfo=UTC))  # the day before the night is recent enough
    assert (await score_customers(env, NIGHT))["aging"] == "snapshot 2026-06-29"


async def test_a_night_scored_before_the_first_warm_tick_ages_the_invoices_itself(env):
    """Right after a backfill there is no aging snapshot yet: the night scores as it does once the warm tier ran."""
    env.clock = lambda: NIGHT
    await build_customers(env, warm=False)
    first = await score_customers(env, NIGHT)
    before = await scores(env)
    assert before["2"]["tier"] == "red" and first["turned_red"] == 1
    assert before["2"]["signals"]["ar_aging"]["open_by_bucket"] == {"90+": 40000.0, "current": 2000.0}
    await refresh_aging(env, NIGHT)
    second = await score_customers(env, NIGHT)
    assert {cid: night_of(row) for cid, row in (await scores(env)).items()} == {
        cid: night_of(row) for cid, row in before.items()}
    assert (first["aging"], second["aging"], second["tier_changes"]) == ("mirror", "snapshot 2026-06-30", 0)


async def test_not_paying_at_all_scores_no_better_than_paying_late(env):
    # Both owe 1,000 due 2026-05-16; A paid it 44 days late, B never paid (SPEC 6: worse never scores higher).
    def rows(conn):
        for cid, name in (("A", "Late Payer"), ("B", "Non Payer")):
            fx.customer(conn, cid, name)
            fx.order(conn, f"o-{cid}", cid, "2026-04-16")
            fx.invoice(conn, f"i-{cid}", cid, tran_date="2026-04-16", due_date="2026-05-16", total=1000,
                       remaining=0 if cid == "A" else None)
        fx.payment(conn, "p-A", "A", "2026-06-29", [("i-A", 1000)])
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    assert got["B"]["signals"]["payment_lateness_trend"]["recent_avg_days_late"] == 45.0  # late so far
    assert got["B"]["score"] <= got["A"]["score"]


async def test_a_same_night_rerun_that_turns_red_is_news(env):
    # The first run sees the troubled customer yellow-ish; late CDC data the same night makes it red.
    def rows(conn):
        fx.customer(conn, "9", "Slipping Foods")
        fx.order(conn, "o9", "9", "2026-06-01")
        fx.invoice(conn, "i9", "9", tran_date="2026-06-01", due_date="2026-07-01", total=1000)
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT.replace(day=29))  # the night before: the baseline tier
    first = await score_customers(env, NIGHT)
    await fx.write(env, fx.update_invoice, "i9", due_date="2026-01-01")  # arrives late: 180 days past due
    for n in range(3):  # and three disputed invoices, as old
        await fx.write(env, fx.invoice, f"d{n}", "9", tran_date="2025-12-01", due_date="2026-01-01", total=100)
        await fx.write(env, fx.credit_memo, f"cm{n}", "9", "2026-06-20", 10, invoice_id=f"d{n}")
    await refresh_aging(env, NIGHT.replace(hour=4))
    second = await score_customers(env, NIGHT.replace(hour=5))
    assert (await scores(env))["9"]["tier"] == "red" and second["turned_red"] == 1, (first, second)
    events = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'customer.health_tier_changed'")
    assert json.loads(events[-1]["payload_json"])["to"] == "red"


async def test_contact_churn_as_of_a_night_ignores_what_happened_after_it(env):
    def rows(conn):
        fx.customer(conn, "7", "Steady Co")
        fx.order(conn, "o7", "7", "2026-06-01")
        fx.contact(conn, "c1", "7", "Stays", "stays@example.com")
        fx.contact(conn, "c2", "7", "Leaves later", "later@example.com")
    await env.db.write(rows)
    await score_customers(env, NIGHT)
    before = (await scores(env))["7"]
    # Later news: c2 leaves on 07-10, c3 joins on 07-05. Re-running 06-30 must give the same night.
    await env.db.write(lambda conn: conn.execute(
        "UPDATE customer_contacts SET deleted_at = '2026-07-10T09:00:00.000Z' WHERE ns_id = 'c2'"))
    await fx.write(env, fx.contact, "c3", "7", "Joins later", "new@example.com")
    await env.db.write(lambda conn: conn.execute(
        "UPDATE customer_contacts SET date_created = '2026-07-05T10:00:00Z' WHERE ns_id = 'c3'"))
    await score_customers(env, NIGHT.replace(hour=6))
    after = (await scores(env))["7"]
    assert before["signals"]["contact_churn"]["raw"] == 0 and before["signals"]["contact_churn"]["contacts"] == 2
    assert after["signals"]["contact_churn"] == before["signals"]["contact_churn"]
    assert after["score"] == before["score"]



async def test_contact_churn_dates_a_leaving_by_the_inactivation_not_by_a_later_edit(env):
    """Contacts as the CDC mirrors them: a later edit of an inactive contact (a title, an email) moves its
    last_modified, not the day it left, so neither tonight's score nor a re-run of an old night changes."""
    from tests.cdc_support import event, ref
    from worker.cdc.apply import apply_batch
    from worker.cdc.intake import validate_events

    def person(ns_id, *, inactive=False, **extra):
        return {"id": ns_id, "firstName": "P", "lastName": ns_id, "email": f"{ns_id}@example.com", "title": "AP",
                "company": ref("customer", "7"), "isInactive": inactive, **extra}

    async def deliver(*events):
        accepted, rejected = validate_events(list(events))
        assert not rejected
        await env.db.write(lambda conn: apply_batch(conn, accepted, [], source="t", received_at="t"))

    await fx.write(env, fx.customer, "7", "Steady Co")
    await fx.write(env, fx.order, "o7", "7", "2026-06-01")
    await deliver(*(event(f"sn-{n}", "contact", f"c{n}", "2026-01-01T00:00:00Z", person(f"c{n}")) for n in (1, 2, 3)),
                  event("sn-4", "contact", "c2", "2026-01-15T00:00:00Z", person("c2", inactive=True)),  # left in January
                  event("sn-5", "contact", "c3", "2026-06-10T00:00:00Z", person("c3", inactive=True)))  # left in June
    await deliver(event("sn-6", "contact", "c2", "2026-06-20T00:00:00Z", person("c2", inactive=True, title="ex-AP")))
    await score_customers(env, NIGHT)
    before = (await scores(env))["7"]["signals"]["contact_churn"]
    assert (before["contacts"], before["churned_90d"]) == (2, 1)  # c1 and c3; c3 left. c2 left before the window.
    await deliver(event("sn-7", "contact", "c3", "2026-07-15T00:00:00Z", person("c3", inactive=True, email="x@y.z")))
    await score_customers(env, NIGHT.replace(hour=6))  # 06-30 again, after c3's July edit
    assert (await scores(env))["7"]["signals"]["contact_churn"] == before


async def test_contact_churn_window_is_the_company_days_in_its_time_zone(env):
    """deleted_at / last_modified are UTC instants; the 90-day window is of Chicago dates, ending on July 1st's night."""
    env.settings = env.settings.model_copy(update={"vars": Vars(TIMEZONE="America/Chicago")})

    def rows(conn):
        fx.customer(conn, "7", "Steady Co")
        fx.order(conn, "o7", "7", "2026-06-01")
        fx.contact(conn, "k1", "7", "Stays", "stays@example.com")
        at = "2026-07-02T01:00:00.000Z"  # July 1st, 20:00 in Chicago: left on the night's date
        fx.contact(conn, "k2", "7", "Left tonight", "k2@example.com", deleted_at=at, modified=at)
        fx.contact(conn, "k3", "7", "Inactivated tonight", "k3@example.com", inactive=True,
                   modified="2026-07-02T04:30:00.000Z")  # July 1st, 23:30 in Chicago
        # 90 days, as the date windows (> d90): April 3rd to July 1st. k4 left on April 2nd, 23:00 in Chicago
        # (d90 itself: the day before the window), k9 on April 3rd, 00:30 (its first day).
        at = "2026-04-03T04:00:00.000Z"
        fx.contact(conn, "k4", "7", "Left the day before", "k4@example.com", deleted_at=at, modified=at)
        at = "2026-04-03T05:30:00.000Z"
        fx.contact(conn, "k9", "7", "Left on the window's first day", "k9@example.com", deleted_at=at, modified=at)
        at = "2026-07-02T05:30:00.000Z"  # July 2nd, 00:30 in Chicago: after the night, so still there on it
        fx.contact(conn, "k5", "7", "Leaves tomorrow", "k5@example.com", deleted_at=at, modified=at)
        # NetSuite's dateCreated is an instant too: k6 joined on July 1st, 22:00 in Chicago (already July 2nd
        # in UTC), so it was there on the night; k7 joined at 01:00 on July 2nd, k8 on that date.
        for ns_id, created in (("k6", "2026-07-02T03:00:00Z"), ("k7", "2026-07-02T01:00:00-05:00"), ("k8", "2026-07-02")):
            fx.contact(conn, ns_id, "7", f"Joined {created}", f"{ns_id}@example.com")
            conn.execute("UPDATE customer_contacts SET date_created = ? WHERE ns_id = ?", (created, ns_id))
    await env.db.write(rows)
    counts = await score_customers(env, datetime(2026, 7, 2, 3, 0, tzinfo=UTC))  # the 03:00 UTC tick: July 1st
    assert counts["as_of"] == "2026-07-01"
    churn = (await scores(env, "2026-07-01"))["7"]["signals"]["contact_churn"]
    assert (churn["contacts"], churn["churned_90d"]) == (6, 3)  # k1, k2, k3, k5, k6, k9; k2, k3 and k9 left

async def test_old_unreviewed_observations_expire(env):
    def rows(conn):
        for n, created in enumerate(["2026-05-01T00:00:00.000Z", "2026-06-25T00:00:00.000Z"]):
            conn.execute("INSERT INTO reflexion_log (entity_type, entity_id, tags_json, observation, status, created_at)"
                         " VALUES ('customer', '1', '[]', ?, 'needs_review', ?)", (f"obs {n}", created))
        conn.execute("INSERT INTO reflexion_log (entity_type, entity_id, tags_json, observation, status, created_at)"
                     " VALUES ('customer', '1', '[]', 'kept', 'approved_for_reuse', '2026-01-01T00:00:00.000Z')")
    await env.db.write(rows)
    assert await expire_observations(env, NIGHT) == {"expired": 1}
    rows = await env.db.fetchall("SELECT observation, status FROM reflexion_log ORDER BY id")
    assert [tuple(r) for r in rows] == [("obs 0", "expired"), ("obs 1", "needs_review"), ("kept", "approved_for_reuse")]


async def test_an_open_invoice_of_unknown_remainder_is_never_scored_as_clean(env):
    # K and U both have a current 8,000 invoice; U also has two invoices NetSuite sent without amountRemaining:
    # one 95 days past due (5,000, of which the mirror saw 1,000 paid: at most 4,000 left) and one not yet due.
    def rows(conn):
        for cid in ("K", "U"):
            fx.customer(conn, cid, f"Customer {cid}")
            fx.invoice(conn, f"{cid}-1", cid, tran_date="2026-06-15", due_date="2026-07-15", total=8000)
        fx.invoice(conn, "U-2", "U", tran_date="2026-02-25", due_date="2026-03-27", total=5000, remaining_unknown=True)
        fx.payment(conn, "U-p", "U", "2026-03-20", [("U-2", 1000)])
        fx.invoice(conn, "U-3", "U", tran_date="2026-06-20", due_date="2026-07-20", total=900, remaining_unknown=True)
        fx.invoice(conn, "U-4", "U", tran_date="2026-01-02", due_date="2026-02-01", total=70, remaining_unknown=True,
                   deleted_at="2026-03-01T00:00:00Z")  # deleted in NetSuite: not open
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    clean, unsure = got["K"]["signals"]["ar_aging"], got["U"]["signals"]["ar_aging"]
    assert (clean["sub_score"], "remaining_unknown" in clean) == (100.0, False)
    assert unsure["open_by_bucket"] == {"current": 8000.0}  # the known balance is never mixed with them
    assert (unsure["raw"], unsure["sub_score"]) == (0.3333, 66.67)  # 4,000 at 90+ out of 12,000
    assert [(i["invoice"], i["bucket"], i["at_most"], i["counted"]) for i in unsure["remaining_unknown"]["invoices"]] == [
        ("INVU-2", "90+", 4000.0, True), ("INVU-3", "current", 900.0, False)]
    assert got["U"]["score"] < got["K"]["score"]


async def test_an_overdue_invoice_with_neither_remainder_nor_total_is_not_scored_as_clean(env):
    # N's only open invoice, 150 days past due, came without amountRemaining and without total: the most it can
    # still owe is unknown, not 0, so it counts at its bucket's severity (the worst it can be), like a 90+ one
    # of known total does.
    def rows(conn):
        for cid in ("N", "T"):
            fx.customer(conn, cid, f"Customer {cid}")
            for n, day in enumerate(["2025-09-01", "2025-12-01", "2026-03-01", "2026-06-01"]):
                fx.order(conn, f"o{cid}{n}", cid, day)
            fx.invoice(conn, f"{cid}-1", cid, tran_date="2026-01-01", due_date="2026-01-31", total=1000,
                       remaining_unknown=True)
        conn.execute("UPDATE customer_invoice SET total = NULL WHERE ns_id = 'N-1'")
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    no_total, known_total = got["N"]["signals"]["ar_aging"], got["T"]["signals"]["ar_aging"]
    assert (no_total["raw"], no_total["sub_score"]) == (1.0, 0.0) == (known_total["raw"], known_total["sub_score"])
    assert [(i["invoice"], i["bucket"], i["total"], i["at_most"], i["counted"])
            for i in no_total["remaining_unknown"]["invoices"]] == [("INVN-1", "90+", None, None, True)]
    assert got["N"]["score"] == got["T"]["score"] < 100


async def test_an_invoice_whose_remainder_went_unknown_after_the_snapshot_counts_once(env):
    # I1 is current, I2 90+ (1,000 each). The warm tick at 02:45 ages both; then a CDC event leaves I2's
    # amountRemaining out. The night's score reads the 02:45 snapshot, which already holds I2: counting it again
    # as unknown made the share 2,000 of 3,000 at 90+ (0.667), worse than it can be (at most 0.5).
    def rows(conn):
        fx.customer(conn, "A", "Customer A")
        for n, day in enumerate(["2025-09-01", "2025-12-01", "2026-03-01", "2026-06-01"]):
            fx.order(conn, f"o{n}", "A", day)
        fx.invoice(conn, "I1", "A", tran_date="2026-06-20", due_date="2026-07-20", total=1000)
        fx.invoice(conn, "I2", "A", tran_date="2026-01-01", due_date="2026-01-31", total=1000)
    await env.db.write(rows)
    await refresh_aging(env, NIGHT.replace(hour=2, minute=45))
    await env.db.write(lambda conn: conn.execute("UPDATE customer_invoice SET amount_remaining = NULL WHERE ns_id = 'I2'"))
    await score_customers(env, NIGHT)
    ar = (await scores(env))["A"]["signals"]["ar_aging"]
    assert (ar["raw"], ar["open_by_bucket"], "remaining_unknown" in ar) == (0.5, {"current": 1000.0, "90+": 1000.0}, False)
    await refresh_aging(env, NIGHT)  # the next warm tick leaves I2 out of its snapshot: now it is the unknown one
    await score_customers(env, NIGHT)
    ar = (await scores(env))["A"]["signals"]["ar_aging"]
    assert (ar["raw"], ar["open_by_bucket"], ar["remaining_unknown"]["counted"]) == (0.5, {"current": 1000.0}, 1)


async def test_an_invoice_without_a_due_date_is_late_from_its_date_plus_terms(env):
    # M's invoices carry a dueDate; N's the same ones with terms only (Net 30), P's too, under a 45-day program.
    # The lateness signal dates them as the warm tier ages them, paid or not (it skipped N's, and P's).
    def rows(conn):
        for cid in ("M", "N", "P"):
            fx.customer(conn, cid, f"Customer {cid}", terms="Net 30")
            fx.invoice(conn, f"{cid}-open", cid, tran_date="2026-02-20", due_date="2026-03-22" if cid == "M" else None,
                       total=1000, terms=None if cid == "M" else "Net 30")
            fx.invoice(conn, f"{cid}-paid", cid, tran_date="2026-04-01", due_date="2026-05-01" if cid == "M" else None,
                       total=500, remaining=0)
            fx.payment(conn, f"{cid}-pay", cid, "2026-05-21", [(f"{cid}-paid", 500)])
        fx.program(conn, "P", 45)
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    late = {cid: got[cid]["signals"]["payment_lateness_trend"]["recent_avg_days_late"] for cid in ("M", "N", "P")}
    assert late == {"M": 60.0, "N": 60.0, "P": 45.0}  # (100 + 20) / 2; P: due 15 days later, (85 + 5) / 2
    assert got["N"]["score"] == got["M"]["score"] < 100


async def test_deleted_records_are_neither_history_nor_lateness(env):
    # Q, O and Y each had one record, deleted in NetSuite: new customers, scored neutral. R's only late payment
    # paid an invoice deleted since: it is not R's lateness.
    def rows(conn):
        for cid in ("Q", "O", "Y", "R", "S"):
            fx.customer(conn, cid, f"Customer {cid}")
        fx.invoice(conn, "IQ", "Q", tran_date="2026-06-01", due_date="2026-07-01", total=1000,
                   deleted_at="2026-06-02T00:00:00Z")
        fx.order(conn, "SO", "O", "2026-06-01")
        fx.payment(conn, "PY", "Y", "2026-06-01", [])
        conn.execute("UPDATE transactions SET deleted_at = '2026-06-02T00:00:00Z' WHERE ns_id = 'SO'")
        conn.execute("UPDATE customer_payment SET deleted_at = '2026-06-02T00:00:00Z' WHERE ns_id = 'PY'")
        fx.invoice(conn, "IR", "R", tran_date="2026-03-01", due_date="2026-03-31", total=1000, remaining=0,
                   deleted_at="2026-06-25T00:00:00Z")
        fx.payment(conn, "PR", "R", "2026-06-29", [("IR", 1000)])  # 90 days late, on a deleted invoice
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    for cid in ("Q", "O", "Y", "S"):
        assert (got[cid]["score"], got[cid]["is_neutral"]) == (70.0, 1), cid
    lateness = got["R"]["signals"]["payment_lateness_trend"]
    assert (lateness["recent_avg_days_late"], lateness["sub_score"], got["R"]["is_neutral"]) == (None, 100.0, 0)


async def test_an_open_invoice_sent_without_a_date_is_history(env):
    # D and N each owe 5,000 due 2026-01-15 (90+ on the night); N's invoice came without tranDate. The warm tier
    # ages both (an undated invoice counts as of any night), so neither customer is new: N used to score neutral.
    def rows(conn):
        for cid, tran_date in (("D", "2025-12-16"), ("N", None)):
            fx.customer(conn, cid, f"Customer {cid}")
            fx.invoice(conn, f"{cid}-1", cid, tran_date=tran_date, due_date="2026-01-15", total=5000)
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    assert got["N"]["signals"]["ar_aging"]["open_by_bucket"] == {"90+": 5000.0}
    assert night_of(got["N"]) == night_of(got["D"]) and got["N"]["is_neutral"] == 0 and got["N"]["score"] < 70


async def test_an_unpaid_invoice_of_unknown_remainder_is_late_so_far(env):
    # K and U owe the same 5,000 invoice, 150 days past due, beside a current 50,000 one; NetSuite sent U's
    # without amountRemaining. U's overdue invoice is not aged, but it is no less unpaid: it counts late so far,
    # as K's does (it used to be left out, so U scored green where K scored yellow).
    def rows(conn):
        for cid in ("K", "U"):
            fx.customer(conn, cid, f"Customer {cid}")
            fx.invoice(conn, f"{cid}-big", cid, tran_date="2026-06-01", due_date="2026-07-01", total=50_000)
            fx.invoice(conn, f"{cid}-old", cid, tran_date="2026-01-01", due_date="2026-01-31", total=5000,
                       remaining_unknown=cid == "U")
            fx.invoice(conn, f"{cid}-nodue", cid, tran_date="2026-06-20", due_date="2026-07-20", total=100,
                       remaining_unknown=True)  # not yet due: not late
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    assert [got[cid]["signals"]["payment_lateness_trend"]["recent_avg_days_late"] for cid in ("K", "U")] == [150.0] * 2
    assert got["U"]["score"] <= got["K"]["score"] and got["U"]["tier"] != "green"


async def test_paying_an_invoice_never_lowers_the_score(env):
    # Customer 7 owes 100 at 90+ and 10,000 at 1-30, then pays the 10,000. Over open AR alone the past-due share
    # rose from 0.26 to 1.0 and the customer turned red; over open AR plus what was paid in 90 days it falls.
    def rows(conn):
        fx.customer(conn, "7", "Pays Up Co")
        fx.invoice(conn, "A", "7", tran_date="2026-02-01", due_date="2026-03-01", total=100)
        fx.invoice(conn, "B", "7", tran_date="2026-05-11", due_date="2026-06-10", total=10_000)
    await env.db.write(rows)
    before_night = NIGHT.replace(day=28)
    await refresh_aging(env, before_night)
    await score_customers(env, before_night)
    before = (await scores(env, "2026-06-28"))["7"]
    assert (before["signals"]["ar_aging"]["raw"], before["signals"]["ar_aging"]["paid_90d"]) == (0.2574, 0.0)
    await fx.write(env, fx.payment, "P1", "7", "2026-06-29", [("B", 10_000)])
    await fx.write(env, fx.update_invoice, "B", amount_remaining=0)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    after = (await scores(env))["7"]
    ar = after["signals"]["ar_aging"]
    assert (ar["raw"], ar["open_by_bucket"], ar["paid_90d"]) == (0.0099, {"90+": 100.0}, 10_000.0)
    assert after["score"] >= before["score"]
    events = await env.db.fetchall("SELECT payload_json FROM events WHERE type = 'customer.health_tier_changed'")
    assert all(json.loads(e["payload_json"])["to"] != "red" for e in events)
    await score_customers(env, before_night)  # --as-of: the payment dated after that night is not counted
    assert night_of((await scores(env, "2026-06-28"))["7"]) == night_of(before)


async def test_what_was_paid_counts_in_dollars_in_the_90_days_up_to_the_night(env):
    # E owes 100 at 90+. In the 90 days up to the night it paid EUR 100 at 2.0 ($200) and CAD 10 without a rate
    # (no dollar amount: left out, counted apart); a payment of $500 before the window and one deleted do not count.
    def rows(conn):
        fx.customer(conn, "E", "Euro Payer")
        fx.invoice(conn, "open", "E", tran_date="2026-01-01", due_date="2026-01-31", total=100)
        fx.invoice(conn, "eur", "E", tran_date="2026-05-01", due_date="2026-05-31", total=100, remaining=0,
                   currency="EUR", exchange_rate=2.0)
        fx.invoice(conn, "cad", "E", tran_date="2026-05-01", due_date="2026-05-31", total=10, remaining=0,
                   currency="CAD")
        fx.invoice(conn, "old", "E", tran_date="2026-02-01", due_date="2026-03-01", total=500, remaining=0)
        fx.invoice(conn, "del", "E", tran_date="2026-05-01", due_date="2026-05-31", total=300, remaining=0)
        fx.payment(conn, "p-eur", "E", "2026-05-20", [("eur", 100)])
        fx.payment(conn, "p-cad", "E", "2026-05-20", [("cad", 10)])
        fx.payment(conn, "p-old", "E", "2026-04-01", [("old", 500)])  # d90: the day before the window
        fx.payment(conn, "p-del", "E", "2026-05-20", [("del", 300)])
        conn.execute("UPDATE customer_payment SET deleted_at = '2026-06-01T00:00:00Z' WHERE ns_id = 'p-del'")
    await env.db.write(rows)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    ar = (await scores(env))["E"]["signals"]["ar_aging"]
    assert (ar["paid_90d"], ar["paid_unconverted_invoices"], ar["raw"]) == (200.0, 1, 0.3333)


async def test_a_discount_taken_counts_as_paid_on_the_night_and_as_owed_before_it(env):
    # Invoice 70 (1000.00) was settled on June 9th by 990 paid and the 10 early-payment discount taken.
    from tests.test_aging_warm import deliver, discounted_payment_events

    env.clock = lambda: NIGHT

    def rows(conn):
        fx.customer(conn, "100", "Discount Taker")
        fx.invoice(conn, "old", "100", tran_date="2026-01-01", due_date="2026-01-31", total=100)  # 90+ all along
    await env.db.write(rows)
    await deliver(env, *discounted_payment_events())
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    ar = (await scores(env))["100"]["signals"]["ar_aging"]
    assert (ar["paid_90d"], ar["open_by_bucket"], ar["raw"]) == (1000.0, {"90+": 100.0}, 0.0909)  # 100 / 1100
    # --as-of June 5th, a night without a snapshot: aged from the mirror, all 1000 owed and nothing paid yet.
    early = await score_customers(env, NIGHT.replace(day=5))
    ar = (await scores(env, "2026-06-05"))["100"]["signals"]["ar_aging"]
    assert (early["aging"], ar["paid_90d"], ar["open_by_bucket"]) == (
        "mirror", 0.0, {"90+": 100.0, "current": 1000.0})


async def test_days_late_count_from_the_payment_date_not_the_apply_lines_invoice_date(env):
    # NetSuite's apply line carries applyDate = the date of the invoice paid (2026-05-01): paid on 2026-06-20,
    # 20 days after the invoice fell due, is 20 days late, not 0.
    from tests.test_aging_warm import deliver

    env.clock = lambda: NIGHT
    await fx.write(env, fx.customer, "L", "Late Payer")
    invoice = {"id": "L1", "tranId": "INV-L1", "entity": {"id": "L"}, "tranDate": "2026-05-01", "dueDate": "2026-05-31",
               "total": 500.0, "amountRemaining": 0.0, "status": {"id": "paidInFull", "refName": "Paid In Full"}}
    payment = {"id": "LP", "tranId": "PYMT-LP", "tranDate": "2026-06-20", "customer": {"id": "L"}, "payment": 500.0,
               "apply": {"items": [{"doc": {"id": "L1"}, "apply": True, "amount": 500.0, "applyDate": "2026-05-01",
                                    "type": "Invoice"}]}}
    await deliver(env, *({"event_id": f"l{n}", "record_type": kind, "record_id": record["id"], "operation": "update",
                          "last_modified": "2026-06-20T10:00:00Z", "record": record}
                         for n, (kind, record) in enumerate((("invoice", invoice), ("customerpayment", payment)))))
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    trend = (await scores(env))["L"]["signals"]["payment_lateness_trend"]
    assert trend["recent_avg_days_late"] == 20.0


def cdc(n, kind, record, modified="2026-06-20T10:00:00Z"):
    """One CDC update event of a REST-shaped record."""
    return {"event_id": f"ax{n}", "record_type": kind, "record_id": record["id"], "operation": "update",
            "last_modified": modified, "record": record}


async def test_a_parents_consolidated_payment_makes_its_subcustomer_late_not_the_parent(env):
    # NetSuite Consolidated Payments: parent P pays store C's invoice 60 days after it fell due. The payment's
    # customer is the parent; the lateness is the store's (it was the parent's, which has no invoice at all).
    from tests.test_aging_warm import deliver

    env.clock = lambda: NIGHT
    await fx.write(env, fx.customer, "P", "Parent Holdings")
    await fx.write(env, fx.customer, "C", "Store 7")
    invoice = {"id": "C1", "tranId": "INV-C1", "entity": {"id": "C"}, "tranDate": "2026-03-01", "dueDate": "2026-03-31",
               "total": 800.0, "amountRemaining": 0.0, "status": {"id": "paidInFull", "refName": "Paid In Full"}}
    payment = {"id": "PP", "tranId": "PYMT-PP", "tranDate": "2026-05-30", "customer": {"id": "P"}, "payment": 800.0,
               "apply": {"items": [{"doc": {"id": "C1"}, "apply": True, "amount": 800.0, "type": "Invoice"}]}}
    await deliver(env, cdc(1, "invoice", invoice), cdc(2, "customerpayment", payment))
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    got = await scores(env)
    assert got["C"]["signals"]["payment_lateness_trend"]["recent_avg_days_late"] == 60.0
    assert got["P"]["signals"]["payment_lateness_trend"]["recent_avg_days_late"] is None
    assert got["P"]["score"] == 100.0


async def test_voided_credit_memos_and_cancelled_orders_do_not_count(env):
    # A memo voided (NetSuite zeroes it and says Voided) credited nothing: no dispute, no credit memo. Orders
    # cancelled (status letter C, as SuiteQL sends it) are no orders: two of them hid a drop to none.
    from tests.test_aging_warm import deliver

    env.clock = lambda: NIGHT
    await fx.write(env, fx.customer, "V", "Voided Memo Co")
    invoice = {"id": "V1", "tranId": "INV-V1", "entity": {"id": "V"}, "tranDate": "2026-06-01", "dueDate": "2026-07-01",
               "total": 300.0, "amountRemaining": 300.0}
    events = [cdc(1, "invoice", invoice)]
    for n, (status, total) in enumerate(((("V", "Voided"), 0.0), (("B", "Fully Applied"), 0.0),
                                         (("voided", "Voided"), 25.0)), start=2):
        memo = {"id": f"M{n}", "tranId": f"CM{n}", "entity": {"id": "V"}, "tranDate": "2026-06-10",
                "createdFrom": {"id": "V1"}, "status": {"id": status[0], "refName": status[1]}, "total": total}
        events.append(cdc(n, "creditmemo", memo))
    for n, (day, status) in enumerate((("2026-01-10", "G"), ("2026-02-10", "G"), ("2026-03-10", "G"),
                                       ("2026-05-10", "C"), ("2026-06-10", "SalesOrd:C")), start=10):
        order = {"id": f"S{n}", "tranId": f"SO{n}", "entity": {"id": "V"}, "tranDate": day, "status": status,
                 "total": 100.0}
        events.append(cdc(n, "salesorder", order))
    await deliver(env, *events)
    await refresh_aging(env, NIGHT)
    await score_customers(env, NIGHT)
    signals = (await scores(env))["V"]["signals"]
    assert (signals["dispute_count"]["raw"], signals["credit_memo_count"]["raw"]) == (0, 0)
    assert signals["order_frequency_drop"]["raw"] == 1.0  # none in 90 days after 3 before
