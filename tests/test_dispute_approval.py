"""Approving a dispute draft re-checks its credit memo in the mirror (worker/memo_checks.py, worker/decisions.py).

Between a memo's change reaching the mirror and the dispute workflow's next run, its drafts are still staged:
approving one then must not confirm a credit that was deleted, voided, moved or changed.
"""

import json

import pytest

from tests.flows_support import apply, customer, proposals, ref
from tests.test_flows_invoice_dispute import (
    deleted,
    driscoll_and_memo,
    moved,
    updated,
    voided,
)
from worker.currency import may_be_same_currency
from worker.decisions import DecisionError, decide_action
from worker.flows import invoice_dispute
from worker.memo_checks import MemoChange, memo_change
from worker.workflow_runner import drain

AT = "2026-11-03T16:00:00.000Z"


async def drafted(env) -> tuple[dict, dict]:
    """Driscoll's $300 credit memo CM-8030, drafted; returns its dispute log and confirmation as staged."""
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, customer("2001", "Harbor Bistro", email="ap@harbor.example"), memo)
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0}
    return memo, {p["kind"]: p for p in await proposals(env)}


def retotalled(memo: dict, total: float, when: str = "2026-11-03T15:00:00Z") -> dict:
    applied = {"items": [{"doc": {"id": "7001"}, "apply": True, "amount": total, "type": "Invoice"}]}
    return updated({**memo, "record": {**memo["record"], "total": total, "apply": applied}}, when)


@pytest.mark.parametrize("change, says, then", [
    (lambda m: deleted(m), "was deleted in NetSuite at 2026-11-03 10:00 UTC", "the workflow withdraws it"),
    (lambda m: voided(m, "voided"), "was voided", "the workflow withdraws it"),
    (lambda m: voided(m, "zero"), "was changed to a total of $0.00", "the workflow withdraws it"),
    (lambda m: moved(m, "2001"), "was moved to Harbor Bistro (2001)", "drafts a moved memo afresh"),
    (lambda m: retotalled(m, 250.0), "now totals $250.00, not $300.00 as drafted",
     "If nobody edited it, leave it: the workflow redrafts it with the new total when it next runs"),
])
@pytest.mark.parametrize("kind, would", [("send_dispute_confirmation", "confirm a credit to the customer"),
                                         ("log_dispute", "log a dispute on a credit")])
async def test_a_draft_whose_memo_changed_before_the_workflow_ran_is_not_approved(env, change, says, then, kind,
                                                                                  would):
    memo, staged = await drafted(env)
    await apply(env, change(memo))  # in the mirror; the workflow has not run on it yet
    action = staged[kind]
    with pytest.raises(DecisionError) as refused:
        await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
    assert f"Credit memo CM-8030 {says} since this" in str(refused.value)
    assert would in str(refused.value) and then in str(refused.value)
    [still] = [p for p in await proposals(env) if p["id"] == action["id"]]
    assert still["status"] == "staged"
    # rejecting it is always possible
    decision = await env.db.write(decide_action, action["id"], "mike", False, AT, seen=action["updated_at"],
                                  reason="memo changed")
    assert decision.changed and decision.status == "rejected"


async def test_a_memo_changed_in_what_the_draft_does_not_state_is_still_approvable(env):
    memo, staged = await drafted(env)
    # a later version of the same credit (status, apply list as drafted): the draft still says what it is
    await apply(env, updated(memo, "2026-11-03T15:00:00Z"))
    action = staged["send_dispute_confirmation"]
    decision = await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])
    assert decision.changed and decision.status == "approved"


async def test_a_draft_from_before_memo_status_was_recorded_is_checked_by_what_it_has(env):
    memo, staged = await drafted(env)
    action = staged["send_dispute_confirmation"]
    older = {k: v for k, v in action["payload"].items() if k not in ("memo_status", "memo_version")}
    await env.db.write(lambda conn: conn.execute("UPDATE proposed_actions SET payload_json = ? WHERE id = ?",
                                                 (json.dumps(older), action["id"])))
    await apply(env, voided(memo, "voided"))
    with pytest.raises(DecisionError, match="was voided since this confirmation was drafted"):
        await env.db.write(decide_action, action["id"], "mike", True, AT, seen=action["updated_at"])


DRAFT = {"customer_id": "1187", "amount": 300.0, "currency": None}


@pytest.mark.parametrize("now, company, change", [
    (None, None, MemoChange("is no longer in the mirror")),
    (("1187", 300.0, None, "Voided", None), None, MemoChange("was voided")),
    (("1187", 300.0, None, "CustCred:V", None), None, MemoChange("was voided")),
    (("1187", 0.001, None, "Open", None), None, MemoChange("was changed to a total of $0.00")),
    (("2001", 300.0, None, "Open", None), "Harbor Bistro", MemoChange("was moved to Harbor Bistro (2001)")),
    (("2001", 300.0, None, "Open", None), None, MemoChange("was moved to customer 2001")),
    ((None, 300.0, None, "Open", None), None, MemoChange("was left without a customer")),
    (("1187", 300.004, "USD", "Open", None), None, None),  # the same to the cent, the same currency
    (("1187", 300.0, "1", "Open", None), None, None),  # US dollars by internal id
    (("1187", 300.0, "EUR", "Open", None), None,
     MemoChange("now totals EUR 300.00, not $300.00 as drafted", withdrawn=False, drafted="$300.00",
                now="EUR 300.00")),
    (("1187", None, None, "Open", None), None,
     MemoChange("now totals an unknown amount, not $300.00 as drafted", withdrawn=False, drafted="$300.00",
                now="an unknown amount")),
])
def test_memo_change_names_the_first_difference_that_matters(now, company, change):
    assert memo_change(DRAFT, now, company) == change


@pytest.mark.parametrize("drafted, now, same", [
    ("Euro", "4", True), ("4", "Euro", True),  # NetSuite sends a currency by name or by id alone: maybe one
    ("Euro", "EURO ", True), ("4", "4", True), ("USD", "1", True), (None, "US Dollar", True),
    ("Euro", "British pound", False), ("4", "5", False), ("Euro", "USD", False), ("1", "4", False),
])
def test_a_currency_re_spelled_is_not_a_new_total(drafted, now, same):
    # A memo drafted as "Euro 300.00" whose update named the currency by id only ("4") was refused at approval
    # as "now totals currency #4 300.00" and redrafted into the customer's email as such.
    change = memo_change({**DRAFT, "currency": drafted}, ("1187", 300.0, now, "Open", None))
    assert (change is None) == same, change
    assert may_be_same_currency(drafted, now) == may_be_same_currency(now, drafted) == same


async def test_a_memo_update_naming_its_currency_by_id_changes_nothing(make_env):
    env = make_env()
    await env.db.open()
    try:
        memo = await driscoll_and_memo(env, "8040")
        memo["record"]["currency"] = ref("4", "Euro")
        await apply(env, memo)
        assert (await drain(env, [invoice_dispute.WORKFLOW]))["proposed"] == 2
        later = updated(memo, "2026-11-03T15:00:00Z")
        await apply(env, {**later, "record": {**later["record"], "currency": {"id": "4"}}})
        assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}  # nothing redrafted
        mail = {p["kind"]: p for p in await proposals(env)}["send_dispute_confirmation"]
        assert "EUR 300.00" in mail["payload"]["body"]
        decision = await env.db.write(decide_action, mail["id"], "mike", True, AT, seen=mail["updated_at"])
        assert decision.status == "approved"
    finally:
        await env.db.close()


def test_a_deleted_memo_is_named_before_anything_else():
    gone = ("2001", 0.0, None, "Voided", "2026-11-03T10:00:00.000Z")
    assert memo_change(DRAFT, gone) == MemoChange("was deleted in NetSuite at 2026-11-03 10:00 UTC")
