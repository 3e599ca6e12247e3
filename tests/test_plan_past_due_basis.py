"""A collection plan counts days past due from the due date whatever `[aging] basis` ages the buckets from.

On the invoice-date basis the snapshot's days count from the invoice's date: read as days past due, they made the
plan dun invoices not yet due and hold service on a 90+ share that is not past due (audit: Sunset Catering's email,
Lakeside Grill's hold).
"""

from dataclasses import replace

import pytest

from cron.aging import action_plans, refresh_aging
from tests import ar_fixtures as fx
from tests.test_action_plan import at, staged
from worker.config import Program
from worker.flows.collection_queries import hold_not_warranted
from worker.flows.collection_situation import Situation, hold_reason, net_exposure


@pytest.fixture
async def invoice_dated(make_env, settings):
    """An opened env aging on the invoice-date basis, with a standard program of 45 days."""
    env = make_env()
    env.settings = settings.model_copy(update={
        "aging": settings.aging.model_copy(update={"basis": "invoice_date"}),
        "programs": {**settings.programs, "standard": Program(payment_terms_days=45)}})
    await env.db.open()
    yield env
    await env.db.close()


async def owes(env):
    def rows(conn):
        fx.customer(conn, "500", "Sunset Catering", email="ap@sunset.test", terms="")
        # Net 90, dated 106 days before the tick: 90+ by its date, 16 days past its due date.
        fx.invoice(conn, "A", "500", tran_date="2026-03-01", due_date="2026-05-30", total=6_000.0)
        # Dated 75 days before the tick (61-90 by its date), due in 15 days: not past due.
        fx.invoice(conn, "B", "500", tran_date="2026-04-01", due_date="2026-06-30", total=3_000.0)
        # No due date, Net 60 on the invoice: due 2026-06-09, 6 days past due.
        fx.invoice(conn, "C", "500", tran_date="2026-04-10", due_date=None, terms="Net 60", total=500.0)
        # No due date nor any terms: the standard program's 45 days, due 2026-05-31, 15 days past due.
        fx.invoice(conn, "D", "500", tran_date="2026-04-16", due_date=None, total=500.0)
    await env.db.write(rows)


async def test_invoice_date_basis_plan_counts_days_past_the_due_date(invoice_dated):
    env = invoice_dated
    await owes(env)
    await refresh_aging(env, at("2026-06-15"))  # A arrives in 90+ and B in 61-90 by their dates: a plan starts
    await action_plans(env, at("2026-06-15"))
    actions = {a["kind"]: a["payload"] for a in await staged(env)}
    assert set(actions) == {"send_collection_email", "schedule_collection_call"}  # no hold: nothing 90+ past due
    email, call = actions["send_collection_email"], actions["schedule_collection_call"]
    assert [(i["number"], i["due_date"], i["days_past_due"]) for i in email["invoices"]] == [
        ("INVA", "2026-05-30", 16), ("INVD", "2026-05-31", 15), ("INVC", "2026-06-09", 6)]
    assert email["subject"] == "Sunset Catering: 3 past-due invoices, $7,000.00 outstanding"
    assert "3 invoices on your account past due, $7,000.00 in total,\nthe oldest 16 days past its due date" in (
        email["body"])
    assert "INVB" not in email["body"]
    for number, due, days in (("INVD", "2026-05-31", 15), ("INVC", "2026-06-09", 6)):  # no due date: the one used
        assert f"{number:<14} {'':<12} {due:<10} {days:>6} {'$500.00':>14}" in email["body"].splitlines()
    assert call["talking_points"][0] == "3 invoice(s) past due, $7,000.00; oldest INVA is 16 days past due."
    assert await env.db.read_sync(hold_not_warranted, "500") is not None  # the approval check agrees: no hold


async def test_invoice_date_basis_holds_on_what_is_90_days_past_the_due_date(invoice_dated):
    env = invoice_dated
    await owes(env)
    await refresh_aging(env, at("2026-09-15"))  # A 108 days past due, B 77, C 98, D 107
    await action_plans(env, at("2026-09-15"))
    hold = [a["payload"]["reason"] for a in await staged(env) if a["kind"] == "service_hold"]
    assert hold == ["70% of open AR is more than 90 days past due"]  # A, C and D; not B


def test_the_90_plus_share_counts_days_past_due_not_the_bucket():
    invoice = {"invoice_id": "A", "number": "INVA", "po": None, "due_date": "2026-05-30", "days_past_due": 16,
               "bucket": "90+", "amount_remaining": 6_000.0, "currency": None}  # 90+ by its invoice date
    s = Situation("500", "Sunset Catering", None, None, None, None, [invoice], None, "s", False,
                  net_exposure([6_000.0], [], []))
    assert hold_reason(s) is None
    assert hold_reason(replace(s, invoices=[{**invoice, "days_past_due": 91}])) == (
        "100% of open AR is more than 90 days past due")
