"""dateCreated in SuiteQL's spelling (`datecreated`, M/D/YYYY with or without a time of day) is stored as its ISO date.

It was stored as sent, which the contact churn signal (cron/health.py CONTACTS) read as no date: a contact created
after the night counted as there on it. Both write paths (the msgspec gate and the pydantic models) store the same
value, an unreadable one is refused by name, raw_json stays as sent, and migration 16 converts rows already stored.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cron.health import CONTACTS, windows
from tests.cdc_support import event, ref
from tests.test_schema import DROP_V17, DROP_V18, DROP_V19
from worker.cdc import intake
from worker.cdc.apply import apply_batch
from worker.cdc.intake import validate_events
from worker.db import connect, run_in_transaction
from worker.migrations import LATEST, apply_schema

# (as sent, as stored)
READABLE = [
    ("3/8/2026", "2026-03-08"), ("03/08/2026", "2026-03-08"), ("3/8/2026 10:15 am", "2026-03-08"),
    ("3/8/2026 11:59 PM", "2026-03-08"), ("3/8/2026 12:05 a.m.", "2026-03-08"), ("3/8/2026 23:15:09", "2026-03-08"),
    (" 3/8/2026 ", "2026-03-08"), ("2026-03-08", "2026-03-08"), ("2026-03-08T18:15:00Z", "2026-03-08T18:15:00Z"),
    ("2026-03-08T18:15:00.250-08:00", "2026-03-08T18:15:00.250-08:00"), ("2026-03-08 18:15", "2026-03-08 18:15"),
    ("2026-03-08T10:15:00-0800", "2026-03-08T10:15:00-08:00"), ("2026-03-08T10:15:00.5+0530", "2026-03-08T10:15:00.5+05:30"),
    ("", None), (None, None),
]
UNREADABLE = ["garbage", "13/8/2026", "2/30/2026", "3/8/26", "3/8/2026 13:15 pm", "3/8/2026 10:75 am", "2026-02-30",
              "2026-03-08T24:00:00Z", "2026-03-08T18:15:00+01000", "20260308", 20260308]


def _contact(created: Any, key: str = "datecreated", ns_id: str = "c1") -> dict[str, Any]:
    record = {"id": ns_id, "company": ref("customer", "20"), "email": f"{ns_id}@b.example", key: created}
    return json.loads(json.dumps(event(f"sn-{ns_id}", "contact", ns_id, "2026-03-08T18:00:00Z", record)))


def _customer(created: Any, key: str = "datecreated") -> dict[str, Any]:
    record = {"id": "20", "companyName": "Beta Foods", key: created}
    return json.loads(json.dumps(event("sn-20", "customer", "20", "2026-03-08T18:00:00Z", record)))


def _stored(raws: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(table, ns_id, date_created, raw_json) of what the apply wrote for `raws`."""
    conn = connect(":memory:")
    apply_schema(conn)
    accepted, rejected = validate_events(raws)
    assert not rejected, rejected
    run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-03-09T00:00:00.000Z")
    return [tuple(r) for table in ("customers", "customer_contacts")
            for r in conn.execute(f"SELECT '{table}', ns_id, date_created, raw_json FROM {table} ORDER BY ns_id")]


@pytest.mark.parametrize("key", ["dateCreated", "datecreated"])
@pytest.mark.parametrize(("sent", "stored"), READABLE)
def test_date_created_is_stored_as_the_churn_signal_reads_it_by_either_path(sent, stored, key):
    for raw in (_contact(sent, key), _customer(sent, key)):
        slow = intake.validate_event(0, raw)
        assert isinstance(slow, intake.Accepted), slow.reason
        assert slow.record.date_created == stored
        typed = intake._gate_one(raw)
        quick = intake._through_gate(0, raw, typed) if typed is not None else None
        if quick is not None:  # the gate takes only what the model keeps as sent, and keeps it alike
            assert quick.record.date_created == stored == sent and key == "dateCreated"
    rows = _stored([_customer(sent, key), _contact(sent, key)])
    assert [(table, created) for table, _, created, _ in rows] == [("customers", stored), ("customer_contacts", stored)]
    assert all(json.loads(raw_json)[key] == sent for *_, raw_json in rows)  # raw_json exactly as sent


def test_the_gate_takes_rest_values_and_leaves_suiteql_ones_to_the_model():
    """Not vacuous: the REST shapes pass the gate (and store the same), SuiteQL's are converted by the model."""
    for sent in ("2026-03-08", "2026-03-08T18:15:00Z"):
        assert intake._gate_one(_contact(sent, "dateCreated")) is not None
    for sent in ("3/8/2026", "3/8/2026 10:15 am", " 2026-03-08", "", "garbage"):
        assert intake._gate_one(_contact(sent, "dateCreated")) is None


@pytest.mark.parametrize("sent", UNREADABLE)
def test_an_unreadable_date_created_is_refused_by_name_not_stored_as_no_date(sent):
    accepted, rejected = validate_events([_contact(sent), _customer(sent, "dateCreated")])
    assert not accepted
    assert [r.reason.split(":")[0] for r in rejected] == ["events[0].record.datecreated",
                                                          "events[1].record.dateCreated"]
    assert all("is not a date" in r.reason for r in rejected)


def test_a_contact_created_after_the_night_in_suiteql_spelling_was_not_there_on_it():
    """The audit's case: on 2026-03-01, c1 was there, c2 left in February, c3 and c5 (SuiteQL dates) and c4 and c6
    (ISO) were created on March 8th: 2 contacts, 1 churned."""
    conn = connect(":memory:")
    apply_schema(conn)
    person = [event("sn-20", "customer", "20", "2025-01-01T00:00:00Z", {"id": "20", "companyName": "Beta Foods"})]
    for ns_id, created in (("c1", "2025-01-01T00:00:00Z"), ("c2", "2025-01-01T00:00:00Z")):
        person.append(event(f"sn-{ns_id}", "contact", ns_id, "2025-01-01T00:00:00Z",
                            {"id": ns_id, "company": {"id": "20"}, "dateCreated": created}))
    person.append(event("sn-del", "contact", "c2", "2026-02-20T00:00:00Z", operation="delete"))
    for ns_id, created in (("c3", "3/8/2026"), ("c4", "2026-03-08"), ("c5", "3/8/2026 10:15 am"),
                           ("c6", "2026-03-08T18:15:00Z")):
        person.append(_contact(created, "datecreated" if "/" in created else "dateCreated", ns_id))
    accepted, rejected = validate_events(json.loads(json.dumps(person)))
    assert not rejected
    run_in_transaction(conn, apply_batch, accepted, [], source="test", received_at="2026-03-09T00:00:00.000Z")
    zone = ZoneInfo("America/Los_Angeles")
    night = [tuple(r) for r in conn.execute(CONTACTS, windows(date(2026, 3, 1), zone))]
    assert night == [("20", 2, 1)]  # was ("20", 4, 1): c3 and c5 read as created never
    week_later = [tuple(r) for r in conn.execute(CONTACTS, windows(date(2026, 3, 8), zone))]
    assert week_later == [("20", 6, 1)]  # all there by then (c6 at 11:15 in Los Angeles, its Z read by SQLite)


def test_version_16_converts_suiteql_dates_already_stored(tmp_path):
    """Rows stored as sent before the fix: M/D/YYYY becomes its ISO date; ISO and unreadable values stay as they are
    (a migration refuses nothing), and so does raw_json. Version 16 changes data only."""
    assert LATEST >= 16
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.executescript(f"{DROP_V17} {DROP_V18} {DROP_V19} PRAGMA user_version = 15;")
    values = {"c1": "3/8/2026", "c2": "3/8/2026 10:15 am", "c3": "2026-03-08T18:15:00Z", "c4": "garbage/x",
              "c5": None, "c6": "12/31/2025 11:59 pm", "c7": "2026-03-08T10:15:00-0800", "c8": "2026-03-08"}
    for ns_id, created in values.items():
        raw = json.dumps({"id": ns_id, "datecreated": created})
        conn.execute("INSERT INTO customer_contacts (ns_id, customer_id, date_created, last_modified, raw_json) "
                     "VALUES (?, '20', ?, 't', ?)", (ns_id, created, raw))
    conn.execute("INSERT INTO customers (ns_id, date_created, last_modified, raw_json) VALUES ('20', '1/2/2025', 't', "
                 "'{\"datecreated\": \"1/2/2025\"}')")
    conn.commit()
    assert apply_schema(conn) == LATEST
    assert {r[0]: r[1] for r in conn.execute("SELECT ns_id, date_created FROM customer_contacts")} == {
        "c1": "2026-03-08", "c2": "2026-03-08", "c3": "2026-03-08T18:15:00Z", "c4": "garbage/x", "c5": None,
        "c6": "2025-12-31", "c7": "2026-03-08T10:15:00-08:00", "c8": "2026-03-08"}
    assert tuple(conn.execute("SELECT date_created, raw_json FROM customers").fetchone()) == (
        "2025-01-02", '{"datecreated": "1/2/2025"}')
    assert {r[0]: json.loads(r[1])["datecreated"] for r in conn.execute(
        "SELECT ns_id, raw_json FROM customer_contacts")} == values
