"""Decision functions on a real SQLite file: idempotent, who/when recorded, ledger event appended."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.review_seed import (
    COLLECTION_EMAIL,
    NOW,
    add_action,
    add_observation,
    add_review_item,
    seed_reference,
)
from worker.db import connect, run_in_transaction
from worker.decisions import (
    DecisionError,
    DuplicateOrder,
    NotFound,
    apply_edits,
    approve_order,
    changed_since_loaded,
    decide_action,
    edit_action,
    reject_order,
    triage_observations,
)
from worker.migrations import apply_schema
from worker.netsuite_shape import ReviewedLine, ReviewedOrder, salesorder_payload

T1, T2 = "2026-11-20T15:00:00.000Z", "2026-11-20T15:00:05.000Z"


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    db = connect(tmp_path / "d.sqlite3")
    apply_schema(db)
    run_in_transaction(db, seed_reference)
    return db


def tx(conn, fn, *args, **kwargs):
    return run_in_transaction(conn, fn, *args, **kwargs)


def order(customer: str = "1187", item2: str = "5002") -> ReviewedOrder:
    return ReviewedOrder(customer_id=customer, po_number="DF-40412", tran_date=date(2026, 11, 19),
                         ship_date=date(2026, 11, 24), lines=[
                             ReviewedLine(line_no=1, item_id="5001", customer_item_code="DF-118", quantity=12,
                                          uom="CS", unit_price=Decimal("98.50"), description="Cheddar"),
                             ReviewedLine(line_no=2, item_id=item2, quantity=20, uom="CS", unit_price=Decimal("61.00"))])


def events(conn, type_):
    return [json.loads(r[0]) for r in conn.execute("SELECT payload_json FROM events WHERE type = ?", (type_,))]


def test_approve_order_queues_netsuite_salesorder_and_remembers_codes(conn):
    item = tx(conn, add_review_item)
    decision = tx(conn, approve_order, item, "mike", order(), T1)
    assert decision.changed and decision.status == "approved"
    action = conn.execute("SELECT * FROM proposed_actions WHERE id = ?", (decision.action_id,)).fetchone()
    assert (action["kind"], action["status"], action["risk"], action["source"], action["review_item_id"],
            action["decided_by"], action["decided_at"]) == ("create_sales_order", "approved", 3, "review", item,
                                                            "mike", T1)
    payload = json.loads(action["payload_json"])
    assert payload["entity"] == {"id": "1187"} and payload["otherRefNum"] == "DF-40412"
    assert payload["tranDate"] == "2026-11-19" and payload["shipDate"] == "2026-11-24"
    assert payload["item"]["items"][1] == {"item": {"id": "5002"}, "quantity": 20, "rate": 61, "amount": 1220.0,
                                           "units": "CS"}
    # Line 2's code came from the parsed PO (the form did not repeat it): remembered for next time.
    xref = dict(conn.execute("SELECT customer_item_code, item_id FROM customer_item_xref WHERE customer_id = '1187'"))
    assert xref == {"DF-118": "5001", "DF-207": "5002"}
    row = conn.execute("SELECT status, decided_by, decided_at FROM review_items WHERE id = ?", (item,)).fetchone()
    assert tuple(row) == ("approved", "mike", T1)
    assert events(conn, "review.approved")[0]["action_id"] == decision.action_id


def test_second_approve_changes_nothing(conn):
    item = tx(conn, add_review_item)
    tx(conn, approve_order, item, "mike", order(), T1)
    again = tx(conn, approve_order, item, "ann", order(item2="5003"), T2)
    assert not again.changed and "already approved by mike" in again.message
    assert conn.execute("SELECT count(*) FROM proposed_actions").fetchone()[0] == 1
    assert conn.execute("SELECT item_id FROM customer_item_xref WHERE customer_item_code = 'DF-207'").fetchone()[0] == "5002"
    assert len(events(conn, "review.approved")) == 1


def test_approve_rejects_unknown_customer_and_item_and_rolls_back(conn):
    item = tx(conn, add_review_item)
    with pytest.raises(DecisionError, match="customer '9999' is not in the mirror"):
        tx(conn, approve_order, item, "mike", order(customer="9999"), T1)
    with pytest.raises(DecisionError, match="line 2: item 'NOPE' is not in spec_items"):
        tx(conn, approve_order, item, "mike", order(item2="NOPE"), T1)
    assert conn.execute("SELECT status FROM review_items WHERE id = ?", (item,)).fetchone()[0] == "pending"
    assert conn.execute("SELECT count(*) FROM proposed_actions").fetchone()[0] == 0
    with pytest.raises(NotFound):
        tx(conn, approve_order, 999, "mike", order(), T1)


def test_approve_refuses_a_customer_inactive_in_netsuite(conn):
    item = tx(conn, add_review_item)
    conn.execute("UPDATE customers SET is_inactive = 1 WHERE ns_id = '2201'")
    conn.commit()
    # NetSuite refuses new transactions on an inactive entity: the action would only fail there.
    with pytest.raises(DecisionError, match=r"customer Melt Mates Kitchen Co \(2201\) is inactive in NetSuite"):
        tx(conn, approve_order, item, "mike", order(customer="2201"), T1)
    assert conn.execute("SELECT status FROM review_items WHERE id = ?", (item,)).fetchone()[0] == "pending"
    assert conn.execute("SELECT count(*) FROM proposed_actions").fetchone()[0] == 0


def test_the_same_po_approved_twice_needs_the_reviewers_say_so(conn):
    first, second = tx(conn, add_review_item), tx(conn, add_review_item)
    tx(conn, approve_order, first, "mike", order(), T1)
    # The same customer and PO number, spelled with other case and spaces on the second copy's form.
    again = order().model_copy(update={"po_number": " df-40412 "})
    with pytest.raises(DuplicateOrder, match=rf"PO  df-40412  exists already: review item {first} \(same PO number\), "
                                             r"approved by mike at 2026-11-20 15:00\. Approving it again creates a second"):
        tx(conn, approve_order, second, "ann", again, T2)
    assert conn.execute("SELECT status FROM review_items WHERE id = ?", (second,)).fetchone()[0] == "pending"
    assert conn.execute("SELECT count(*) FROM proposed_actions").fetchone()[0] == 1
    decision = tx(conn, approve_order, second, "ann", again, T2, approve_anyway={f"item:{first}"})
    assert decision.changed and conn.execute("SELECT count(*) FROM proposed_actions").fetchone()[0] == 2
    assert events(conn, "review.approved")[1]["approved_despite"] == [
        f"review item {first} (same PO number), approved by mike at 2026-11-20 15:00"]
    assert events(conn, "review.approved")[0]["approved_despite"] is None


def test_approve_anyway_holds_for_the_copies_named_only(conn):
    first, second, third = (tx(conn, add_review_item) for _ in range(3))
    tx(conn, approve_order, first, "mike", order(), T1)
    tx(conn, approve_order, second, "bob", order(), T1, approve_anyway={f"item:{first}"})
    conn.execute("INSERT INTO transactions (ns_id, type, tran_id, customer_id, tran_date, other_ref_num, last_modified) "
                 "VALUES ('so77', 'salesorder', 'SO-1009', '1187', '2026-11-18', 'DF-40412', '2026-11-18T10:00:00Z')")
    with pytest.raises(DuplicateOrder, match=rf"Your page did not show review item {second} \(same PO number\), "
                                             r"approved by bob at 2026-11-20 15:00; sales order SO-1009 in NetSuite\. "
                                             r"Approving creates another") as refused:
        tx(conn, approve_order, third, "ann", order(), T2, approve_anyway={f"item:{first}", "item:999"})
    assert refused.value.copies == (f"item:{first}", f"item:{second}", "so:so77")
    assert tx(conn, approve_order, third, "ann", order(), T2, approve_anyway=set(refused.value.copies)).changed


def test_a_rejected_copy_or_another_customers_po_does_not_block(conn):
    rejected, other_customer, mine = (tx(conn, add_review_item) for _ in range(3))
    tx(conn, approve_order, rejected, "mike", order(), T1)
    conn.execute("UPDATE proposed_actions SET status = 'rejected'")  # the queued sales order was called off
    tx(conn, approve_order, other_customer, "mike", order(customer="2201"), T1)
    assert tx(conn, approve_order, mine, "ann", order(), T2).changed


def test_a_po_already_in_netsuite_is_a_duplicate(conn):
    item = tx(conn, add_review_item)
    conn.execute("INSERT INTO transactions (ns_id, type, tran_id, customer_id, tran_date, other_ref_num, last_modified) "
                 "VALUES ('so77', 'salesorder', 'SO-1009', '1187', '2026-11-18', 'DF-40412 ', '2026-11-18T10:00:00Z')")
    conn.execute("INSERT INTO transactions (ns_id, type, tran_id, customer_id, tran_date, other_ref_num, last_modified,"
                 " deleted_at) VALUES ('so78', 'salesorder', 'SO-1010', '1187', '2026-11-18', 'DF-40412',"
                 " '2026-11-18T10:00:00Z', '2026-11-18T11:00:00Z')")  # deleted in NetSuite: not an order any more
    with pytest.raises(DuplicateOrder, match=r"exists already: sales order SO-1009 in NetSuite\. Approving"):
        tx(conn, approve_order, item, "ann", order(), T2)
    assert tx(conn, approve_order, item, "ann", order().model_copy(update={"po_number": "DF-40413"}), T2).changed


def executed_then_deleted(conn, item: int, ns_id: str, *, deleted: bool = True) -> None:
    """The item's sales order created in NetSuite (externalId gfs-review-<item>), mirrored back, maybe deleted."""
    conn.execute("UPDATE proposed_actions SET status = 'executed' WHERE review_item_id = ?", (item,))
    conn.execute("INSERT INTO transactions (ns_id, type, tran_id, customer_id, tran_date, other_ref_num, last_modified,"
                 " raw_json, deleted_at) VALUES (?, 'salesorder', ?, '1187', '2026-11-18', 'DF-40412',"
                 " '2026-11-20T16:00:00Z', ?, ?)", (ns_id, f"SO-{ns_id}", json.dumps({"externalId": f"gfs-review-{item}"}),
                                                  "2026-11-20T17:00:00Z" if deleted else None))


def test_an_earlier_approval_whose_sales_order_was_deleted_in_netsuite_does_not_block(conn):
    first, second, third = (tx(conn, add_review_item) for _ in range(3))
    tx(conn, approve_order, first, "mike", order(), T1)
    executed_then_deleted(conn, first, "so77")
    assert tx(conn, approve_order, second, "ann", order(), T2).changed
    executed_then_deleted(conn, second, "so78", deleted=False)  # this one stands: the next copy is a duplicate
    with pytest.raises(DuplicateOrder, match=rf"exists already: review item {second} \(same PO number\)"):
        tx(conn, approve_order, third, "ann", order(), T2)


def test_an_approval_sent_to_netsuite_but_not_mirrored_back_yet_blocks(conn):
    # Was: 'executed' with no mirror row made the deleted test NULL, NOT NULL dropped the approval, and a
    # second copy was approved and queued under another externalId: two sales orders in NetSuite.
    first, second = (tx(conn, add_review_item) for _ in range(2))
    tx(conn, approve_order, first, "mike", order(), T1)
    conn.execute("UPDATE proposed_actions SET status = 'executed' WHERE review_item_id = ?", (first,))
    with pytest.raises(DuplicateOrder, match=rf"exists already: review item {first} \(same PO number\)"):
        tx(conn, approve_order, second, "ann", order(), T2)


def same_pdf_twice(conn) -> tuple[int, int]:
    """Two review items of the same PDF bytes (forwarded twice)."""
    items = tx(conn, add_review_item), tx(conn, add_review_item)
    for item in items:
        email_id = conn.execute("SELECT email_id FROM review_items WHERE id = ?", (item,)).fetchone()[0]
        attachment = conn.execute("INSERT INTO email_attachments (email_id, size_bytes, sha256, object_key) "
                                  "VALUES (?, 100, 'samebytes', 'pdf/x')", (email_id,)).lastrowid
        conn.execute("UPDATE review_items SET attachment_id = ? WHERE id = ?", (attachment, item))
    return items


def test_the_same_pdf_whose_sales_order_was_deleted_in_netsuite_does_not_block(conn):
    first, second = same_pdf_twice(conn)
    tx(conn, approve_order, first, "mike", order().model_copy(update={"po_number": "DF-4O412"}), T1)
    executed_then_deleted(conn, first, "so77")
    assert tx(conn, approve_order, second, "ann", order(), T2).changed


def test_the_same_pdf_approved_under_another_po_number_is_a_duplicate(conn):
    first, second = same_pdf_twice(conn)
    tx(conn, approve_order, first, "mike", order().model_copy(update={"po_number": "DF-4O412"}), T1)  # misread O
    with pytest.raises(DuplicateOrder, match=rf"review item {first} \(same PDF\), approved by mike"):
        tx(conn, approve_order, second, "ann", order(), T2)


def test_reject_needs_a_reason_and_is_idempotent(conn):
    item = tx(conn, add_review_item)
    with pytest.raises(DecisionError, match="reason is required"):
        tx(conn, reject_order, item, "mike", "   ", T1)
    assert tx(conn, reject_order, item, "mike", "duplicate of PO DF-40411", T1).changed
    assert not tx(conn, reject_order, item, "mike", "again", T2).changed
    row = conn.execute("SELECT status, decision_reason, decided_at FROM review_items WHERE id = ?", (item,)).fetchone()
    assert tuple(row) == ("rejected", "duplicate of PO DF-40411", T1)
    assert len(events(conn, "review.rejected")) == 1


def test_without_a_reason_a_missing_or_decided_item_is_said_so_first(conn):
    # Was: the reason was checked first, so rejecting an id that does not exist with no reason answered 422
    # "a reason is required" instead of 404, and an already decided one asked for a reason it would not use.
    with pytest.raises(NotFound, match="review item 999 does not exist"):
        tx(conn, reject_order, 999, "mike", "", T1)
    with pytest.raises(NotFound, match="proposed action 999 does not exist"):
        tx(conn, decide_action, 999, "mike", False, T1, seen=NOW, reason="")
    item = tx(conn, add_review_item)
    tx(conn, reject_order, item, "mike", "duplicate", T1)
    assert tx(conn, reject_order, item, "ann", "", T2).status == "rejected"
    call = tx(conn, add_action, "call_task", {"note": "Call AP"})
    tx(conn, decide_action, call, "mike", True, T1, seen=NOW)
    assert not tx(conn, decide_action, call, "ann", False, T2, seen=T1, reason="").changed


def test_action_edit_approve_reject(conn):
    email = tx(conn, add_action, "collection_email", COLLECTION_EMAIL)
    saved = tx(conn, edit_action, email, "mike", {"subject": "Two invoices past due"}, T1, seen=NOW)
    assert saved.changed
    decided = tx(conn, decide_action, email, "mike", True, T2, seen=T1, changes={"body": "Hello,\r\nPlease call us."})
    assert decided.changed and decided.status == "approved"
    row = conn.execute("SELECT status, payload_json, decided_by FROM proposed_actions WHERE id = ?", (email,)).fetchone()
    payload = json.loads(row[1])
    assert (row[0], row[2], payload["subject"], payload["body"]) == ("approved", "mike", "Two invoices past due",
                                                                     "Hello,\nPlease call us.")
    assert payload["to"] == COLLECTION_EMAIL["to"]
    assert not tx(conn, decide_action, email, "mike", False, T2, seen=T2, reason="no").changed
    call = tx(conn, add_action, "call_task", {"note": "Call AP"})
    with pytest.raises(DecisionError, match="reason is required"):
        tx(conn, decide_action, call, "mike", False, T1, seen=NOW, reason="")
    assert tx(conn, decide_action, call, "mike", False, T1, seen=NOW, reason="customer paid today").status == "rejected"
    assert [e["kind"] for e in events(conn, "action.approved")] == ["collection_email"]


def test_a_decision_from_a_page_older_than_the_last_edit_changes_nothing(conn):
    email = tx(conn, add_action, "collection_email", COLLECTION_EMAIL)
    tx(conn, edit_action, email, "anna", {"body": "Corrected: $4,220.18"}, T1, seen=NOW)
    before = conn.execute("SELECT * FROM proposed_actions WHERE id = ?", (email,)).fetchone()
    stale = "changed by anna at 2026-11-20 15:00:00 UTC after you loaded the page; nothing was saved or decided"
    with pytest.raises(DecisionError, match=stale):
        tx(conn, decide_action, email, "mike", True, T2, seen=NOW, changes={"body": COLLECTION_EMAIL["body"]})
    with pytest.raises(DecisionError, match=stale):
        tx(conn, decide_action, email, "mike", False, T2, seen=NOW, reason="wrong amount")
    with pytest.raises(DecisionError, match=stale):
        tx(conn, edit_action, email, "mike", {"subject": "Other"}, T2, seen=NOW)
    with pytest.raises(DecisionError, match="does not say which version"):
        tx(conn, decide_action, email, "mike", True, T2, seen="")
    assert conn.execute("SELECT * FROM proposed_actions WHERE id = ?", (email,)).fetchone() == before
    assert events(conn, "action.approved") == [] and len(events(conn, "action.edited")) == 1


def test_changed_since_loaded_says_who_and_when_when_known():
    assert changed_since_loaded(NOW, None, T1).startswith("changed at 2026-11-20 15:00:00 UTC after you loaded")
    assert changed_since_loaded(NOW, "anna", T1).startswith("changed by anna at 2026-11-20 15:00:00 UTC")


def test_only_text_fields_can_be_edited():
    with pytest.raises(DecisionError, match="'to' cannot be edited"):
        apply_edits(COLLECTION_EMAIL, {"to": "attacker@example.com"})
    with pytest.raises(DecisionError, match="note"):
        apply_edits(COLLECTION_EMAIL, {"note": "x"})  # not on an email
    assert apply_edits({"note": "a"}, {"note": " b "}) == ({"note": "b"}, ["note"])


def test_triage_in_bulk_leaves_triaged_rows_alone(conn):
    a, b = tx(conn, add_observation, "first"), tx(conn, add_observation, "second")
    results = tx(conn, triage_observations, [a, b, a], "mike", "approved_for_reuse", T1)
    assert [r.changed for r in results] == [True, True]
    again = tx(conn, triage_observations, [a], "ann", "rejected", T2)
    assert not again[0].changed and "already approved for reuse by mike" in again[0].message
    statuses = dict(conn.execute("SELECT id, status FROM reflexion_log"))
    assert statuses == {a: "approved_for_reuse", b: "approved_for_reuse"}
    assert len(events(conn, "reflexion.approved")) == 2
    with pytest.raises(DecisionError):
        tx(conn, triage_observations, [a], "mike", "expired", T1)


def test_salesorder_payload_rounds_amounts_and_omits_blanks():
    line = ReviewedLine(line_no=1, item_id="5003", quantity=Decimal(3), unit_price=Decimal("42.255"))
    body = salesorder_payload(ReviewedOrder(customer_id="2201", tran_date=date(2026, 1, 2), lines=[line]),
                              external_id="gfs-review-7")
    assert body == {"externalId": "gfs-review-7", "entity": {"id": "2201"}, "tranDate": "2026-01-02",
                    "item": {"items": [{"item": {"id": "5003"}, "quantity": 3, "rate": 42.255, "amount": 126.77}]}}
