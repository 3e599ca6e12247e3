"""Pure aging: buckets at every boundary, reference dates per basis, company dates, transitions."""

import sqlite3
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.aging import (
    AgingState,
    bucket_case_sql,
    bucket_for,
    carry_since,
    company_date,
    days_past_due,
    invoice_remaining,
    reference_date,
    transition_key,
    transitions,
)


@pytest.mark.parametrize(("days", "bucket"), [
    (-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"),
    (61, "61-90"), (90, "61-90"), (91, "90+"), (400, "90+"),
])
def test_buckets_at_the_boundaries(days, bucket):
    assert bucket_for(days) == bucket


@given(st.integers(min_value=-1000, max_value=5000))
def test_sql_case_agrees_with_python(days):
    conn = sqlite3.connect(":memory:")
    assert conn.execute(f"SELECT {bucket_case_sql('d')} FROM (SELECT ? AS d)", (days,)).fetchone()[0] == bucket_for(days)


@given(st.integers(min_value=-400, max_value=400), st.integers(min_value=-400, max_value=400))
def test_a_later_day_is_never_a_less_severe_bucket(a, b):
    order = ["current", "1-30", "31-60", "61-90", "90+"]
    lo, hi = sorted((a, b))
    assert order.index(bucket_for(lo)) <= order.index(bucket_for(hi))


def test_reference_date_per_basis_and_terms():
    due, tran = date(2026, 3, 31), date(2026, 3, 1)
    assert reference_date(due, tran, 30, "due_date") == due
    assert reference_date(None, tran, 45, "due_date") == date(2026, 4, 15)  # invoice date + the customer's terms
    assert reference_date(due, tran, 30, "invoice_date") == tran
    assert reference_date(None, None, 30, "due_date") is None
    assert days_past_due(date(2026, 4, 30), date(2026, 3, 31)) == 30
    assert days_past_due(date(2026, 4, 30), None) == 0


def test_company_date_near_midnight_utc():
    moment = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)  # still March 1st in Chicago (UTC-6)
    assert company_date(moment, ZoneInfo("America/Chicago")) == date(2026, 3, 1)
    assert company_date(moment, ZoneInfo("UTC")) == date(2026, 3, 2)
    assert company_date(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), ZoneInfo("Asia/Tokyo")) == date(2026, 3, 2)
    assert company_date(datetime(2026, 3, 2, 3, 30), ZoneInfo("America/Chicago")) == date(2026, 3, 1)  # naive = UTC


def test_transitions_skip_new_and_closed_invoices_and_report_skipped_buckets():
    prev = {"1": AgingState("c", "current", "t0"), "2": AgingState("c", "1-30", "t0"),
            "3": AgingState("c", "31-60", "t0")}
    new = {"1": AgingState("c", "61-90", "t1"), "2": AgingState("c", "1-30", "t0"),
           "4": AgingState("c", "90+", "t1")}
    moved = transitions(prev, new)
    assert [(t.invoice_id, t.from_bucket, t.to_bucket) for t in moved] == [("1", "current", "61-90")]
    assert moved[0].dedupe_key == "ar.bucket_changed:1:current@t0>61-90"


def test_dedupe_key_distinguishes_a_genuine_later_move():
    first = transition_key("9", "current", "t0", "1-30")
    back = transition_key("9", "1-30", "t1", "current")
    again = transition_key("9", "current", "t2", "1-30")  # the stay in current began at t2, not t0
    assert len({first, back, again}) == 3
    assert carry_since(AgingState("c", "1-30", "t1"), "1-30", "t5") == "t1"
    assert carry_since(AgingState("c", "1-30", "t1"), "31-60", "t5") == "t5"
    assert carry_since(None, "current", "t5") == "t5"


@pytest.mark.parametrize(("given", "total", "paid", "status", "remaining"), [
    (120.5, 1000.0, 0.0, "Paid In Full", 120.5),  # NetSuite's own amountRemaining always wins
    (0.0, 1000.0, None, "Open", 0.0),
    (None, 1000.0, 400.0, "Open", 600.0),  # REST left it out: total less amountPaid, as NetSuite computes it
    (None, 100.3, 100.1, None, 0.2),  # to the cent, not 0.19999999999998863
    (None, 1000.0, None, "Paid In Full", 0.0),  # a settled status owes nothing, in any spelling
    (None, 1000.0, None, "paidInFull", 0.0),
    (None, 1000.0, None, "CustInvc:B", 0.0),
    (None, 1000.0, None, "B", 0.0),
    (None, 1000.0, None, "Voided", 0.0),
    (None, 1000.0, None, "Open", None),  # "Open" says nothing about partial payments: unknown, never 0
    (None, 1000.0, None, "A", None),
    (None, None, 400.0, "Open", None),
    (None, None, None, None, None),
])
def test_invoice_remaining_is_given_derived_when_safe_or_unknown(given, total, paid, status, remaining):
    assert invoice_remaining(given, total, paid, status) == remaining
