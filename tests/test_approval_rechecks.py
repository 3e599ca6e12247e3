"""Approving a staged action re-checks, in the transaction that approves it, what the mirror says now.

A price review (or a request to price an assembly item) whose sales order NetSuite deleted or cancelled is refused
until its workflow withdraws it (worker/decisions.py ORDER_KINDS). A new customer (create_customer) whose name is
a live customer's, or another new customer's approved before, needs the reviewer's "approve anyway".
"""

import json
import re
import sqlite3
from pathlib import Path

import pytest

from handlers.proposed_actions import PROPOSAL, stage
from tests.flows_support import apply, proposals, ref, sales_order
from tests.review_seed import add_action, seed_reference, sign_in
from tests.test_flows_price_review_lifecycle import FLOWS, deleted, priced, updated  # noqa: F401 (priced: fixture)
from worker import decisions
from worker.db import connect, run_in_transaction
from worker.decisions import (
    DecisionError,
    DuplicateOrder,
    decide_action,
    name_key,
    same_name_customers,
)
from worker.migrations import apply_schema
from worker.names import normalize_name
from worker.workflow_runner import drain

AT = "2026-11-03T16:00:00.000Z"


async def drafted(env, so_id: str = "9601", lines=(("601", 1, 55.0), ("502", 4, 18.0))) -> tuple[dict, dict]:
    """An order of Driscoll's with an unpriced kit and a rate off program: its review and its request, staged."""
    order = sales_order(so_id, "1187", list(lines))
    await apply(env, order)
    await drain(env, FLOWS)
    return order, {p["kind"]: p for p in await proposals(env) if p["payload"].get("sales_order_id") == so_id}


@pytest.mark.parametrize("change, says", [
    (lambda o: deleted(o), "Sales order SO-9601 was deleted in NetSuite at 2026-11-03 10:00 UTC since this"),
    (lambda o: updated(o, "2026-11-03T09:30:00Z", status=ref("C", "Cancelled")),
     "Sales order SO-9601 was cancelled in NetSuite since this"),
])
@pytest.mark.parametrize("kind, what", [("review_quote_pricing", "price review"),
                                        ("price_new_assembly_item", "request to price a new assembly item")])
async def test_a_price_draft_whose_order_is_gone_is_not_approved_but_can_be_rejected(priced, change, says, kind,  # noqa: F811
                                                                                     what):
    env = priced
    order, staged = await drafted(env)
    await apply(env, change(order))  # in the mirror; the workflows have not run on it yet
    action = staged[kind]
    with pytest.raises(DecisionError) as refused:
        await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
    assert f"{says} {what} was drafted: approving it would" in str(refused.value)
    assert "the workflow withdraws it when it next runs" in str(refused.value)
    [still] = [p for p in await proposals(env) if p["id"] == action["id"]]
    assert still["status"] == "staged"
    decision = await env.db.write(decide_action, action["id"], "mike", False, AT, seen=action["updated_at"],
                                  reason="order gone")
    assert decision.changed and decision.status == "rejected"


async def test_a_price_draft_of_a_live_order_is_approved(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)
    await apply(env, updated(order, "2026-11-03T09:30:00Z", memo="dock 4"))  # changed, still an order
    for action in staged.values():
        decision = await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
        assert decision.changed and decision.status == "approved"


async def test_a_request_for_an_item_another_live_order_uses_stays_approvable(priced):  # noqa: F811
    # As the workflow keeps it (worker/flows/assembly_item.py reconciles): the item still needs a price.
    env = priced
    order, staged = await drafted(env, lines=[("601", 1, 55.0)])
    await apply(env, sales_order("9602", "1187", [("601", 2, 55.0)]))
    await drain(env, FLOWS)
    await apply(env, deleted(order))
    action = staged["price_new_assembly_item"]
    decision = await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
    assert decision.changed and decision.status == "approved"


# --- a new customer approved twice, or after NetSuite has it ------------------------------------------------------

NOW = "2026-11-20T14:05:00.000Z"  # review_seed's: the version add_action gives a row
T1, T2 = "2026-11-20T15:00:00.000Z", "2026-11-20T15:00:05.000Z"
HARBOR = {"companyName": "Harbor Bistro", "email": "ap@harborbistro.com"}


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    conn = connect(tmp_path / "d.sqlite3")
    apply_schema(conn)
    run_in_transaction(conn, seed_reference)
    return conn


def tx(conn, fn, *args, **kwargs):
    return run_in_transaction(conn, fn, *args, **kwargs)


def new_customer(conn, payload=HARBOR) -> int:
    return tx(conn, add_action, "create_customer", payload, None)


def mirrored(conn, ns_id: str, name: str, deleted_at: str | None = None) -> None:
    tx(conn, lambda c: c.execute("INSERT INTO customers (ns_id, company_name, last_modified, deleted_at) "
                                 "VALUES (?, ?, ?, ?)", (ns_id, name, NOW, deleted_at)))


def approve(conn, action_id: int, **kwargs):
    return tx(conn, decide_action, action_id, "anna", True, T2, seen=NOW, **kwargs)


def status(conn, action_id: int) -> str:
    return conn.execute("SELECT status FROM proposed_actions WHERE id = ?", (action_id,)).fetchone()[0]


def test_a_new_customer_netsuite_has_since_is_approved_only_with_the_reviewers_say_so(db):
    action = new_customer(db)
    mirrored(db, "4410", "HARBOR BISTRO, LLC")  # entered in NetSuite by hand since; the name as names compare
    with pytest.raises(DuplicateOrder) as refused:
        approve(db, action)
    assert str(refused.value).startswith("A customer named 'Harbor Bistro' exists already: customer HARBOR BISTRO, "
                                         "LLC (4410) in NetSuite. Approving it again creates a second customer; "
                                         'tick "approve anyway"')
    assert refused.value.copies == ("customer:4410",) and status(db, action) == "staged"
    decision = approve(db, action, approve_anyway={"customer:4410"})
    assert decision.changed and status(db, action) == "approved"
    [event] = [json.loads(r[0]) for r in db.execute("SELECT payload_json FROM events WHERE type = 'action.approved'")]
    assert event["approved_despite"] == ["customer HARBOR BISTRO, LLC (4410) in NetSuite"]


def test_the_same_new_customer_staged_twice_is_approved_once_unless_confirmed(db):
    first, second = new_customer(db), new_customer(db, {**HARBOR, "companyName": "Harbor Bistro Inc."})
    assert approve(db, first).status == "approved"
    with pytest.raises(DuplicateOrder) as refused:
        approve(db, second)
    assert f"new customer action {first} (Harbor Bistro), approved by anna at 2026-11-20 15:00" in str(refused.value)
    assert refused.value.copies == (f"action:{first}",)
    # rejecting it is always possible
    assert tx(db, decide_action, second, "anna", False, T2, seen=NOW, reason="a copy").status == "rejected"


def test_consent_covers_the_copies_shown_only(db):
    first, second = new_customer(db), new_customer(db)
    approve(db, first)
    mirrored(db, "4410", "Harbor Bistro")  # arrived after the refusal the reviewer read
    with pytest.raises(DuplicateOrder) as refused:
        approve(db, second, approve_anyway={f"action:{first}"})
    assert "Your page did not show customer Harbor Bistro (4410) in NetSuite" in str(refused.value)
    assert set(refused.value.copies) == {f"action:{first}", "customer:4410"}
    assert approve(db, second, approve_anyway=set(refused.value.copies)).status == "approved"


def test_an_approved_new_customer_carries_an_external_id_so_netsuite_never_creates_it_twice(db):
    action, rejected = new_customer(db), new_customer(db, {**HARBOR, "companyName": "Harbor Street Deli"})
    approve(db, action)
    tx(db, decide_action, rejected, "anna", False, T2, seen=NOW, reason="not ours")
    payloads = dict(db.execute("SELECT id, payload_json FROM proposed_actions"))
    assert json.loads(payloads[action]) == {**HARBOR, "externalId": f"gfs-action-{action}"}
    assert "externalId" not in json.loads(payloads[rejected])  # nothing will be created from it


def test_a_deleted_customer_a_rejected_copy_or_another_name_is_no_duplicate(db):
    mirrored(db, "4410", "Harbor Bistro", deleted_at=NOW)
    rejected = new_customer(db)
    tx(db, decide_action, rejected, "anna", False, T1, seen=NOW, reason="not yet")
    new_customer(db, {**HARBOR, "companyName": "Harbor Bistro West"})  # staged only: not approved
    assert approve(db, new_customer(db)).status == "approved"
    other = new_customer(db, {**HARBOR, "companyName": "Harbor Street Deli West"})
    assert approve(db, other).status == "approved"


def test_staging_points_out_a_customer_of_the_same_name_as_approval_compares_it(db):
    # "Driscoll Foods, Inc." is Driscoll Foods (1187) as names compare; it was only matched ignoring case.
    proposal = PROPOSAL.validate_python({"kind": "propose_create_customer", "companyName": "Driscoll Foods, Inc."})
    action_id, _ = tx(db, stage, proposal, None, "digest", T1)
    payload = json.loads(db.execute("SELECT payload_json FROM proposed_actions WHERE id = ?", (action_id,)).fetchone()[0])
    assert payload["possible_duplicate_of"] == ["1187"]


# Namesakes are found by customers.name_key (stored, computed when missing, cleared by a rename) instead of
# normalizing every live customer's name inside the write lock: a key missed or stale would approve a second customer.
NAMESAKES = {"4410": "Hárbor Bistro", "4411": "HARBOR BISTRO, L.L.C.", "4412": "The Harbor-Bistro Co.",
             "4413": "harbor   bistro", "4414": "Harbour Bistro", "4415": "INC.", "4416": "Harbor Bistro West"}


def every_namesake(conn, name: str) -> list[str]:
    """What same_name_customers answered before it read stored keys: every live name normalized, and synonyms."""
    key = name_key(name)
    live = {r[0] for r in conn.execute("SELECT ns_id, company_name FROM customers WHERE deleted_at IS NULL")
            if key and name_key(r[1]) == key}
    return sorted(live | {r[0] for r in conn.execute("SELECT customer_id FROM name_synonyms WHERE kind = 'customer' "
                                                      "AND normalized = ?", (key,))})


def test_namesakes_are_found_however_written_and_after_a_rename(db):
    for ns_id, name in NAMESAKES.items():
        mirrored(db, ns_id, name)
    tx(db, lambda c: c.execute("INSERT INTO name_synonyms (kind, normalized, synonym, customer_id) "
                               "VALUES ('customer', 'harbor bistro', 'Harbor Bistro', '1187')"))
    asked = ["Harbor Bistro", "harbor bistro inc", "Inc.", "Harbour Bistro", "Driscoll Foods"]
    assert tx(db, same_name_customers, "Harbor Bistro") == ["1187", "4410", "4411", "4412", "4413"]  # keys computed
    assert tx(db, same_name_customers, "HÁRBOR-BISTRO") == ["1187", "4410", "4411", "4412", "4413"]  # and stored
    assert tx(db, same_name_customers, "inc.") == ["4415"]  # nothing but legal words: as case-folded text
    assert [tx(db, same_name_customers, n) for n in asked] == [every_namesake(db, n) for n in asked]
    tx(db, lambda c: c.executemany("UPDATE customers SET company_name = ? WHERE ns_id = ?", [
        ("Harbour Bistro", "4410"), ("Harbor Bistro & Co", "4414"), ("Harbor Bistro, Inc.", "4416")]))
    assert tx(db, same_name_customers, "Harbor Bistro") == ["1187", "4411", "4412", "4413", "4414", "4416"]
    assert [tx(db, same_name_customers, n) for n in asked] == [every_namesake(db, n) for n in asked]
    mirrored(db, "4417", "Harbor Bistro")  # written (by the mirror) after the keys were stored
    tx(db, lambda c: c.execute("UPDATE customers SET deleted_at = ? WHERE ns_id = '4411'", (NOW,)))
    assert tx(db, same_name_customers, "harbor bistro") == ["1187", "4412", "4413", "4414", "4416", "4417"]


def test_namesakes_are_looked_up_without_normalizing_every_customer(db, monkeypatch):
    for n in range(200):
        mirrored(db, str(5000 + n), f"Customer {n} Foods, Inc.")
    tx(db, same_name_customers, "Harbor Bistro")  # stores the keys the mirror wrote without
    normalized = []
    monkeypatch.setattr(decisions, "normalize_name", lambda name: normalized.append(name) or normalize_name(name))
    mirrored(db, "4410", "Harbor Bistro LLC")
    assert tx(db, same_name_customers, "Harbor Bistro") == ["4410"]
    assert normalized == ["Harbor Bistro", "Harbor Bistro LLC"]  # the name asked and the one customer new since


def test_the_actions_page_offers_approve_anyway_after_the_refusal(server):
    action = server.run(server.env.db.write(lambda c: (seed_reference(c), add_action(
        c, "create_customer", {"companyName": "Driscoll Foods"}, None))[1]))
    mike = sign_in(server.url)
    page = mike.get("/review/actions").text
    version = re.search(rf'id="action-{action}".*?name="version" value="([^"]*)"', page, re.DOTALL).group(1)
    assert 'name="approve_duplicate"' not in page  # offered only after the server refused
    form = {"csrf": mike.csrf, "version": version, "op": "approve"}
    refused = mike.post(f"/review/actions/{action}", data=form)
    assert refused.status_code == 422
    assert "exists already: customer Driscoll Foods (1187) in NetSuite" in refused.text
    assert re.search(r'name="approve_duplicate" value="1"', refused.text)
    assert re.search(r'name="duplicate_of" value="customer:1187"', refused.text)
    unticked = mike.post(f"/review/actions/{action}", data={**form, "duplicate_of": "customer:1187"})
    assert unticked.status_code == 422
    approved = mike.post(f"/review/actions/{action}", data={**form, "duplicate_of": "customer:1187",
                                                            "approve_duplicate": "1"}, follow_redirects=False)
    assert approved.status_code == 303
    row = server.run(server.env.db.fetchone("SELECT status, decided_by FROM proposed_actions WHERE id = ?", (action,)))
    assert tuple(row) == ("approved", "mike")
