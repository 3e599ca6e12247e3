"""Staged collection plans naming invoices no longer owed: redrawn or withdrawn by the warm tier, refused at approval.

Real SQLite file, the real aging job, runner and decisions; invoices change in the mirror as CDC would leave them.
"""

import json
from datetime import UTC, datetime

import pytest

from cron.aging import action_plans, refresh_aging
from tests import ar_fixtures as fx
from worker.decisions import DecisionError, decide_action, edit_action
from worker.flows import plan_draw
from worker.flows.collection_situation import NAME
from worker.ledger import append_event
from worker.stale_plans import FLOW, NotOwed, what_changed, why_not_owed
from worker.tiers import run_tier


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


async def driscoll(env, *, second_due="2026-03-31"):
    """9001 and 9002 reach 61 days on 2026-05-31 (9002 later with `second_due`); 9003 is 11 days late then."""
    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscollfoods.com", credit_limit=100_000.0)
        fx.contact(conn, "c1", "1187", "Maria Lopez", "maria@driscollfoods.com", title="Accounts Payable")
        fx.invoice(conn, "9001", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=12_840.5)
        fx.invoice(conn, "9002", "1187", tran_date="2026-03-01", due_date=second_due, total=2_300.0)
        fx.invoice(conn, "9003", "1187", tran_date="2026-04-20", due_date="2026-05-20", total=5_000.0)
    await env.db.write(rows)


async def planned(env):
    """The plan of 2026-05-31: an email and a call naming 9001, 9002 and 9003."""
    await refresh_aging(env, at("2026-05-30"))
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    return await staged(env)


async def staged(env):
    rows = await env.db.fetchall("SELECT id, kind, payload_json, dedupe_key, updated_at FROM proposed_actions "
                                 "WHERE status = 'staged' ORDER BY id")
    return [dict(r, payload=json.loads(r["payload_json"])) for r in rows]


async def closed(env):
    rows = await env.db.fetchall("SELECT id, kind, status, decided_by, decision_reason FROM proposed_actions "
                                 "WHERE status <> 'staged' ORDER BY id")
    return [tuple(r) for r in rows]


def named(action):
    return [i["invoice_id"] for i in action["payload"]["invoices"]]


async def observations(env):
    return [r[0] for r in await env.db.fetchall("SELECT observation FROM reflexion_log ORDER BY id")]


async def test_an_invoice_paid_after_the_plan_is_drafted_redraws_it_in_the_same_warm_run(env):
    await driscoll(env)
    first = await planned(env)
    assert [named(a) for a in first] == [["9001", "9002", "9003"]] * 2
    await fx.write(env, fx.update_invoice, "9003", amount_remaining=0.0, status="paidInFull")
    run = await run_tier(env, "warm", scheduled_at=at("2026-05-31", 12, 15))
    assert run.status == "ok" and run.counts["refresh_aging"]["stale_plans"] == 1
    email, call = await staged(env)
    assert (email["kind"], call["kind"]) == ("send_collection_email", "schedule_collection_call")
    assert named(email) == named(call) == ["9001", "9002"]  # the 61+ set is unchanged, yet it is a new plan
    assert "$15,140.50" in email["payload"]["subject"] and "INV9003" not in email["payload"]["body"]
    assert call["payload"]["talking_points"][0].startswith("2 invoice(s) past due, $15,140.50")
    new_plan = email["payload"]["plan"]
    assert new_plan != first[0]["payload"]["plan"] and email["payload"]["trigger"] == "ar.plan_stale"
    reason = f"superseded by plan {new_plan}: INV9003 was paid or closed in NetSuite since the plan was drafted"
    assert await closed(env) == [(1, "send_collection_email", "rejected", NAME, reason),
                                 (2, "schedule_collection_call", "rejected", NAME, reason)]
    keys = [r[0] for r in await env.db.fetchall("SELECT dedupe_key FROM proposed_actions WHERE id <= 2 ORDER BY id")]
    assert keys == [f"{first[0]['dedupe_key']}:withdrawn:1", f"{first[1]['dedupe_key']}:withdrawn:2"]
    events = await env.db.fetchall("SELECT entity_id, payload_json FROM events WHERE type = 'action.rejected'")
    assert [(e[0], json.loads(e[1])["reason"]) for e in events] == [("1", reason), ("2", reason)]
    assert "Driscoll Foods: INV9003 was paid or closed in NetSuite since the plan was drafted." in \
        (await observations(env))[-1]
    # At least once, idempotent: later ticks of an unchanged situation add nothing.
    again = await run_tier(env, "warm", scheduled_at=at("2026-05-31", 12, 30))
    assert again.counts["refresh_aging"]["stale_plans"] == 0 and again.counts["action_plans"] == {}
    assert [a["id"] for a in await staged(env)] == [email["id"], call["id"]]
    assert (await env.db.fetchone("SELECT count(*) FROM events WHERE type = 'ar.plan_stale'"))[0] == 1


async def test_a_redraw_is_not_deduplicated_against_an_earlier_plan_of_the_same_invoices(env):
    await driscoll(env, second_due="2026-04-10")
    plan_t = (await planned(env))[0]["payload"]["plan"]  # 9001 at 61: plan T
    await refresh_aging(env, at("2026-06-10"))  # 9002 reaches 61: plan S supersedes T
    await action_plans(env, at("2026-06-10"))
    plan_s = (await staged(env))[0]["payload"]["plan"]
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=0.0, status="paidInFull")
    await refresh_aging(env, at("2026-06-10", 12, 15))  # 61+ is {9001} again, as in T
    await action_plans(env, at("2026-06-10", 12, 15))
    actions = await staged(env)
    assert [a["kind"] for a in actions] == ["send_collection_email", "schedule_collection_call"]
    assert named(actions[0]) == ["9001", "9003"] and actions[0]["payload"]["plan"] not in (plan_t, plan_s)
    assert [r[2] for r in await closed(env)] == ["rejected"] * 4


@pytest.mark.parametrize("change, reason", [
    ({"9001": {"amount_remaining": 0.0, "status": "paidInFull"},  # a credit memo applied in full
      "9002": {"amount_remaining": 0.0, "status": "voided"}},
     "withdrawn: INV9001 and INV9002 were paid or closed in NetSuite since the plan was drafted"),
    ({"9001": {"deleted_at": "2026-05-31T12:05:00Z"}, "9002": {"amount_remaining": None}},
     ("withdrawn: INV9001 was deleted in NetSuite; INV9002 no longer has a known amount remaining (NetSuite sent "
     "none) since the plan was drafted"))])
async def test_nothing_left_past_60_withdraws_the_plan_naming_the_invoices(env, change, reason):
    await driscoll(env)
    first = await planned(env)
    for ns_id, columns in change.items():
        await fx.write(env, fx.update_invoice, ns_id, **columns)
    await refresh_aging(env, at("2026-05-31", 12, 15))
    counts = await action_plans(env, at("2026-05-31", 12, 15))
    assert counts == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 2}
    assert await staged(env) == []  # 9003 is 11 days late: no plan for that alone
    assert await closed(env) == [(1, "send_collection_email", "rejected", NAME, reason),
                                 (2, "schedule_collection_call", "rejected", NAME, reason)]
    obs = (await observations(env))[-1]
    assert obs.endswith("Withdrawn, as nothing is 61+ days past due now and the customer is not red. "
                        "Withdrawn: #1 send_collection_email, #2 schedule_collection_call.")
    await refresh_aging(env, at("2026-05-31", 12, 30))
    assert await action_plans(env, at("2026-05-31", 12, 30)) == {}
    # The stale rows gave up their keys: the same two invoices owed again the next day are planned afresh.
    await fx.write(env, fx.update_invoice, "9001", amount_remaining=12_840.5, status="open", deleted_at=None)
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=2_300.0, status="open")
    await refresh_aging(env, at("2026-06-01"))
    await action_plans(env, at("2026-06-01"))
    again = await staged(env)
    assert [named(a) for a in again] == [["9001", "9002", "9003"]] * 2
    assert again[0]["payload"]["plan"] == first[0]["payload"]["plan"]  # the same situation, planned again


async def test_what_a_reviewer_decided_stands_and_is_not_proposed_again(env):
    await driscoll(env)
    email, _call = await planned(env)
    decision = await env.db.write(decide_action, email["id"], "maria", True, "2026-05-31T12:05:00.000Z",
                                  seen=email["updated_at"])
    assert decision.status == "approved"
    await fx.write(env, fx.update_invoice, "9003", amount_remaining=0.0, status="paidInFull")
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    [new_call] = await staged(env)  # no second dunning email: the approved one stands
    assert new_call["kind"] == "schedule_collection_call" and named(new_call) == ["9001", "9002"]
    assert (await closed(env))[:2] == [(1, "send_collection_email", "approved", "maria", None),
                                       (2, "schedule_collection_call", "rejected", NAME,
                                        (f"superseded by plan {new_call['payload']['plan']}: INV9003 was paid or "
                                        "closed in NetSuite since the plan was drafted"))]
    assert "Not proposed again, a reviewer approved them: send_collection_email." in (await observations(env))[-1]
    # A later change redraws the redraw; the approved email still is not proposed again.
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=300.0)
    await refresh_aging(env, at("2026-05-31", 12, 30))
    await action_plans(env, at("2026-05-31", 12, 30))
    [latest] = await staged(env)
    assert latest["kind"] == "schedule_collection_call" and latest["id"] != new_call["id"]
    assert latest["payload"]["decided_earlier"] == ["send_collection_email"]


async def test_an_edited_draft_is_superseded_too_and_the_new_email_points_to_it(env):
    await driscoll(env)
    email, _ = await planned(env)
    await env.db.write(edit_action, email["id"], "maria", {"subject": "Driscoll: please call us"},
                       "2026-05-31T12:05:00.000Z", seen=email["updated_at"])
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=1_000.0)  # partly paid
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    new_email, _ = await staged(env)
    assert [(i["invoice_id"], i["amount_remaining"]) for i in new_email["payload"]["invoices"]] == [
        ("9001", 12_840.5), ("9002", 1_000.0), ("9003", 5_000.0)]
    changed = "INV9002 ($1,000.00 left of $2,300.00) was partly paid since the plan was drafted"
    assert new_email["payload"]["problems"] == [
        (f"redrawn: {changed}; the earlier draft #1 send_collection_email was edited by a reviewer, see it for their "
        "wording")]
    old = await env.db.fetchone("SELECT status, decision_reason, payload_json FROM proposed_actions WHERE id = 1")
    assert old[0] == "rejected" and old[1].endswith(changed)
    assert json.loads(old[2])["subject"] == "Driscoll: please call us"  # the reviewer's text stays readable
    assert ("Edited by a reviewer, not decided (the text stays on the closed row): #1 send_collection_email."
            in (await observations(env))[-1])


def turned_red(conn, night: str) -> None:
    """Driscoll scored red on `night` (from orange), with the ledger event the cold tier appends."""
    conn.execute("INSERT INTO customer_health_scores (customer_id, as_of, score, tier, signals_json, computed_at)"
                 " VALUES ('1187', ?, 31, 'red', ?, ?)", (night, json.dumps({"ar_aging": {"sub_score": 20}}),
                                                          f"{night}T03:00:00Z"))
    append_event(conn, "customer.health_tier_changed", "customer", "1187",
                 {"customer_id": "1187", "from": "orange", "to": "red", "score": 31, "as_of": night})


@pytest.mark.parametrize("latest_tier, outcome", [("red", "redrawn"), ("orange", "withdrawn")])
async def test_a_red_plan_is_redrawn_while_the_customer_is_red(env, latest_tier, outcome):
    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscollfoods.com")
        fx.invoice(conn, "9101", "1187", tran_date="2026-03-21", due_date="2026-04-20", total=700.0)  # 41 days
        fx.invoice(conn, "9102", "1187", tran_date="2026-04-10", due_date="2026-05-10", total=300.0)  # 21 days
        turned_red(conn, "2026-05-31")
    await env.db.write(rows)
    await refresh_aging(env, at("2026-05-31"))
    await action_plans(env, at("2026-05-31"))
    assert [named(a) for a in await staged(env)] == [["9101", "9102"]] * 2
    await fx.write(env, fx.update_invoice, "9102", amount_remaining=0.0, status="paidInFull")
    await env.db.write(lambda conn: conn.execute("UPDATE customer_health_scores SET tier = ?", (latest_tier,)))
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    if outcome == "redrawn":
        assert [named(a) for a in await staged(env)] == [["9101"]] * 2
    else:
        assert await staged(env) == []
        assert {r[4] for r in await closed(env)} == {
            "withdrawn: INV9102 was paid or closed in NetSuite since the plan was drafted"}


async def test_approving_an_email_naming_an_invoice_paid_since_is_refused_until_the_tick_redraws_it(env):
    await driscoll(env)
    email, call = await planned(env)
    await fx.write(env, fx.update_invoice, "9001", amount_remaining=0.0, status="paidInFull")  # no tick yet
    with pytest.raises(DecisionError, match=r"^INV9001 was paid or closed in NetSuite since this email was drafted: "
                                            r"approving it would ask for money the customer does not owe\. Reject it"):
        await env.db.write(decide_action, email["id"], "maria", True, "2026-05-31T12:05:00.000Z",
                           seen=email["updated_at"])
    assert [a["id"] for a in await staged(env)] == [email["id"], call["id"]]  # nothing decided
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=2_000.0)
    with pytest.raises(DecisionError, match=r"INV9002 \(\$2,000\.00 left of \$2,300\.00\) was partly paid"):
        await env.db.write(decide_action, email["id"], "maria", True, "2026-05-31T12:05:00.000Z",
                           seen=email["updated_at"])
    rejected = await env.db.write(decide_action, email["id"], "maria", False, "2026-05-31T12:06:00.000Z",
                                  seen=email["updated_at"], reason="paid this morning")
    assert rejected.status == "rejected"  # rejecting is always possible


async def test_a_failing_redraw_leaves_the_stale_plan_staged_and_is_retried_next_tick(make_env, monkeypatch):
    now = [at("2026-05-31")]
    env = make_env(clock=lambda: now[0])  # the worker's clock follows the ticks: a failure is retried next tick
    await env.db.open()
    try:
        await driscoll(env)
        first = await planned(env)
        await fx.write(env, fx.update_invoice, "9003", amount_remaining=0.0, status="paidInFull")

        async def broken(*args, **kwargs):
            raise RuntimeError("template store unavailable")
        draft = plan_draw.draft_collection_email
        monkeypatch.setattr(plan_draw, "draft_collection_email", broken)
        now[0] = at("2026-05-31", 12, 15)
        await refresh_aging(env, now[0])
        counts = await action_plans(env, now[0])
        assert counts["failed"] == 1 and await closed(env) == []  # withdrawals commit with the run, not before
        assert [a["id"] for a in await staged(env)] == [a["id"] for a in first]
        monkeypatch.setattr(plan_draw, "draft_collection_email", draft)
        now[0] = at("2026-05-31", 12, 30)
        again = await refresh_aging(env, now[0])
        assert again["stale_plans"] == 0  # the same stale plan: no second event, the first is retried
        assert (await action_plans(env, now[0]))["ok"] == 1
        assert [named(a) for a in await staged(env)] == [["9001", "9002"]] * 2
    finally:
        await env.db.close()


def test_why_not_owed_and_the_reason_text():
    assert why_not_owed(100.0, "1", True, "1", 100.0, False) is None
    assert why_not_owed(100.0, "1", True, "1", 120.0, False) is None  # owing more is not a wrong demand
    assert why_not_owed(100.0, "1", True, "1", 99.99, False) == "partly_paid"
    assert why_not_owed(100.0, "1", True, "1", 0.0, False) == "closed"
    assert why_not_owed(100.0, "1", True, "1", None, False) == "unknown"
    assert why_not_owed(100.0, "1", True, "2", 100.0, False) == "moved"
    assert why_not_owed(100.0, "1", True, "1", 100.0, True) == "deleted"
    assert why_not_owed(100.0, "1", False, None, None, False) == "closed"
    found = [NotOwed("1", a, inv, f"INV-{inv}", 10.0, why, rem) for a, inv, why, rem in (
        (1, "1042", "closed", None), (2, "1042", "closed", None), (1, "1077", "closed", None),
        (1, "1080", "partly_paid", 4.0), (1, "1090", "unknown", None))]
    assert what_changed(found) == ("INV-1042 and INV-1077 were paid or closed in NetSuite; INV-1090 no longer has a "
                                   "known amount remaining (NetSuite sent none); INV-1080 ($4.00 left of $10.00) was "
                                   "partly paid")
    assert FLOW == NAME


async def test_the_same_change_made_again_in_netsuite_is_flagged_again(env):
    """Paid, flagged, the payment bounces before the flow runs (nothing to do), paid again: flagged again."""
    await driscoll(env)
    await planned(env)

    async def cdc(version, **columns):  # as CDC leaves it: every NetSuite change moves the row's version
        await fx.write(env, fx.update_invoice, "9003", cdc_version=version, last_modified=version[:24], **columns)
    await cdc("2026-05-31T12:10:00.000000Z|0|sn-1", amount_remaining=0.0, status="paidInFull")
    assert (await refresh_aging(env, at("2026-05-31", 12, 15)))["stale_plans"] == 1
    await cdc("2026-05-31T12:12:00.000000Z|0|sn-2", amount_remaining=5_000.0, status="open")  # bounced
    assert await action_plans(env, at("2026-05-31", 12, 15)) == {"not_applicable": 1}
    await cdc("2026-05-31T12:20:00.000000Z|0|sn-3", amount_remaining=0.0, status="paidInFull")
    assert (await refresh_aging(env, at("2026-05-31", 12, 30)))["stale_plans"] == 1
    assert (await action_plans(env, at("2026-05-31", 12, 30)))["ok"] == 1
    assert [named(a) for a in await staged(env)] == [["9001", "9002"]] * 2
    assert (await refresh_aging(env, at("2026-05-31", 12, 45)))["stale_plans"] == 0  # a re-tick still adds nothing


async def test_rejecting_a_stale_email_as_advised_still_gets_a_corrected_one(env):
    await driscoll(env)
    email, _call = await planned(env)
    await fx.write(env, fx.update_invoice, "9003", amount_remaining=0.0, status="paidInFull")
    with pytest.raises(DecisionError, match=r"Reject it, or leave it: the next warm tick redraws"):
        await env.db.write(decide_action, email["id"], "maria", True, "2026-05-31T12:05:00.000Z",
                           seen=email["updated_at"])
    await env.db.write(decide_action, email["id"], "maria", False, "2026-05-31T12:06:00.000Z",
                       seen=email["updated_at"], reason="names INV9003, which is paid")
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    new_email, new_call = await staged(env)
    assert (new_email["kind"], new_call["kind"]) == ("send_collection_email", "schedule_collection_call")
    assert named(new_email) == ["9001", "9002"] and "decided_earlier" not in new_email["payload"]
    assert "Not proposed again" not in (await observations(env))[-1]


async def test_a_redraw_stays_the_plan_of_its_situation(env):
    """After a redraw the same 61+ set seen again (a red night) is already planned: the reviewer's edit stays."""
    await driscoll(env)
    await planned(env)
    await fx.write(env, fx.update_invoice, "9003", amount_remaining=0.0, status="paidInFull")  # not 61+
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    email, call = await staged(env)
    await env.db.write(edit_action, email["id"], "maria", {"body": "Dear Maria, my own careful wording."},
                       "2026-05-31T12:20:00.000Z", seen=email["updated_at"])

    await env.db.write(turned_red, "2026-06-01")
    assert await action_plans(env, at("2026-06-01", 3, 5)) == {"not_applicable": 1}
    assert [a["id"] for a in await staged(env)] == [email["id"], call["id"]]
    assert (await staged(env))[0]["payload"]["body"] == "Dear Maria, my own careful wording."
    # Withdrawn, the redraw reserves nothing: the same invoices owed again are planned afresh.
    await env.db.write(lambda conn: conn.execute("UPDATE customer_health_scores SET tier = 'orange'"))
    for ns_id in ("9001", "9002"):
        await fx.write(env, fx.update_invoice, ns_id, amount_remaining=0.0, status="paidInFull")
    await refresh_aging(env, at("2026-06-01", 12, 15))
    await action_plans(env, at("2026-06-01", 12, 15))
    assert await staged(env) == []
    await fx.write(env, fx.update_invoice, "9001", amount_remaining=12_840.5, status="open")
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=2_300.0, status="open")
    await refresh_aging(env, at("2026-06-02"))
    await action_plans(env, at("2026-06-02"))
    assert [named(a) for a in await staged(env)] == [["9001", "9002"]] * 2


async def test_a_service_hold_goes_with_its_plan_when_everything_is_paid(env):
    email, call, hold = await hold_plan(env)
    assert hold["kind"] == "service_hold" and named(hold) == ["9001", "9002"]
    for action in (email, call):
        await env.db.write(decide_action, action["id"], "maria", True, "2026-05-31T12:05:00.000Z",
                           seen=action["updated_at"])
    await fx.write(env, fx.update_invoice, "9001", amount_remaining=0.0, status="paidInFull")
    with pytest.raises(DecisionError, match=r"^INV9001 was paid or closed in NetSuite since this hold was drafted: "
                                            r"approving it would hold the customer's service on a reason worked out"):
        await env.db.write(decide_action, hold["id"], "ann", True, "2026-06-02T12:05:00.000Z",
                           seen=hold["updated_at"])
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=0.0, status="paidInFull")
    assert (await refresh_aging(env, at("2026-06-02", 13)))["stale_plans"] == 1
    await action_plans(env, at("2026-06-02", 13))
    assert await staged(env) == []
    reason = "withdrawn: INV9001 and INV9002 were paid or closed in NetSuite since the plan was drafted"
    assert (await closed(env))[2] == (3, "service_hold", "rejected", NAME, reason)


async def test_a_redraw_names_amounts_in_their_own_currency(env):
    await driscoll(env)
    await fx.write(env, fx.update_invoice, "9002", currency="EUR")
    await planned(env)
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=1_000.0)  # partly paid
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    old = await env.db.fetchone("SELECT decision_reason FROM proposed_actions WHERE id = 1")
    assert old[0].endswith("INV9002 (EUR 1,000.00 left of EUR 2,300.00) was partly paid since the plan was drafted")
    [note] = await env.db.fetchall("SELECT observation FROM reflexion_log WHERE observation LIKE '%Redrawn as plan%'")
    assert "3 invoice(s) past due ($17,840.50 and EUR 1,000.00)" in note[0], note[0]


async def hold_plan(env):
    """Driscoll over a $10,000 credit limit: the plan of 2026-05-31 is an email, a call and a service hold."""
    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscollfoods.com", credit_limit=10_000.0)
        fx.contact(conn, "c1", "1187", "Maria Lopez", "maria@driscollfoods.com", title="Accounts Payable")
        fx.invoice(conn, "9001", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=12_840.5)
        fx.invoice(conn, "9002", "1187", tran_date="2026-03-01", due_date="2026-03-31", total=2_300.0)
    await env.db.write(rows)
    return await planned(env)


async def rejected_after_refusal(env, action, refused: str, reason: str) -> dict:
    """Approving the action is refused (`refused` matches why); rejecting it then: the payload it keeps."""
    with pytest.raises(DecisionError, match=refused):
        await env.db.write(decide_action, action["id"], "ann", True, "2026-05-31T12:05:00.000Z",
                           seen=action["updated_at"])
    await env.db.write(decide_action, action["id"], "ann", False, "2026-05-31T12:06:00.000Z",
                       seen=action["updated_at"], reason=reason)
    rejected = await env.db.fetchone("SELECT payload_json FROM proposed_actions WHERE id = ?", (action["id"],))
    return json.loads(rejected[0])


async def test_a_hold_a_reviewer_rejected_while_owed_is_not_proposed_again_by_redraws(env):
    _email, _call, hold = await hold_plan(env)
    await env.db.write(decide_action, hold["id"], "ann", False, "2026-05-31T12:05:00.000Z",
                       seen=hold["updated_at"], reason="a customer of 20 years: no hold")
    rejected = await env.db.fetchone("SELECT payload_json FROM proposed_actions WHERE id = ?", (hold["id"],))
    assert "rejected_as_stale" not in json.loads(rejected[0])
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=0.0, status="paidInFull")
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    email, call = await staged(env)  # still over the limit with 9001 alone, yet the judgment stands
    assert (email["kind"], call["kind"]) == ("send_collection_email", "schedule_collection_call")
    assert email["payload"]["rejected_earlier"] == ["service_hold"] and "decided_earlier" not in email["payload"]
    assert ("Not proposed again, a reviewer rejected them while still owed as named: service_hold."
            in (await observations(env))[-1])
    # A redraw of the redraw carries the rejection on.
    await fx.write(env, fx.update_invoice, "9001", amount_remaining=11_000.0)
    await refresh_aging(env, at("2026-05-31", 12, 30))
    await action_plans(env, at("2026-05-31", 12, 30))
    assert [a["kind"] for a in await staged(env)] == ["send_collection_email", "schedule_collection_call"]
    assert (await staged(env))[0]["payload"]["rejected_earlier"] == ["service_hold"]


async def test_a_hold_rejected_as_stale_is_proposed_again_corrected(env):
    _email, _call, hold = await hold_plan(env)
    await fx.write(env, fx.update_invoice, "9002", amount_remaining=0.0, status="paidInFull")
    rejected = await rejected_after_refusal(env, hold, "since this hold was drafted", "names INV9002, which is paid")
    assert rejected["rejected_as_stale"] == "INV9002 was paid or closed in NetSuite"
    await refresh_aging(env, at("2026-05-31", 12, 15))
    await action_plans(env, at("2026-05-31", 12, 15))
    email, _call, new_hold = await staged(env)
    assert new_hold["kind"] == "service_hold" and named(new_hold) == ["9001"]
    assert "rejected_earlier" not in email["payload"] and "Not proposed again" not in (await observations(env))[-1]
