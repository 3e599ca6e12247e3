"""customer_invoice_dispute through the real runner: log + drafted confirmation for each posted credit memo."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.flows_support import apply, contact, customer, event, proposals, ref, rows
from worker import drafting, pricing
from worker.decisions import DecisionError, decide_action, edit_action
from worker.flows import invoice_dispute
from worker.flows.recipients import pick_recipient
from worker.flows.registry import WORKFLOWS
from worker.ledger import append_event
from worker.workflow_runner import drain

NO_APPLY_LIST = "NetSuite sent the credit memo without its apply list: check which invoices it is applied to"


def invoice(ns_id: str, customer_id: str, total: float, remaining: float, po: str) -> dict:
    return event("invoice", {"id": ns_id, "tranId": f"INV-{ns_id}", "tranDate": "2026-10-01", "dueDate": "2026-10-31",
                             "entity": ref(customer_id), "total": total, "amountRemaining": remaining,
                             "otherRefNum": po, "status": ref("A", "Open"),
                             "item": {"items": [{"line": 1, "item": ref("501"), "quantity": 1, "rate": total,
                                                 "amount": total}]}})


def credit_memo(ns_id: str, customer_id: str, total: float, memo: str | None, applied: list[tuple[str, float]],
                created_from: str | None = None) -> dict:
    record = {"id": ns_id, "tranId": f"CM-{ns_id}", "tranDate": "2026-11-02", "entity": ref(customer_id),
              "total": total, "memo": memo, "status": ref("B", "Fully Applied"),
              "apply": {"items": [{"doc": {"id": inv}, "apply": True, "amount": amt, "type": "Invoice"}
                                  for inv, amt in applied]}}
    if created_from:
        record["createdFrom"] = ref(created_from)
    return event("creditmemo", record)


async def test_a_credit_memo_fans_out_to_a_dispute_log_and_a_drafted_confirmation(env):
    await apply(env, customer("1187", "Driscoll Foods", email="orders@driscollfoods.example"),
                contact("40", "1187", "Pat Lee", "pat@driscollfoods.example", "Purchasing"),
                contact("41", "1187", "Dana Ortiz", "ap@driscollfoods.example", "Accounts Payable Manager"),
                invoice("5001", "1187", 1840.00, 1427.50, "DF-4410"), invoice("5002", "1187", 300.0, 280.0, "DF-4411"))
    await apply(env, credit_memo("8001", "1187", 432.50, "Short shipped 3 cs Melt Mates slices",
                                 [("5001", 412.50), ("5002", 20.0)], created_from="5001"))
    counts = await drain(env, [invoice_dispute.WORKFLOW])
    assert counts == {"ok": 1, "proposed": 2, "deduplicated": 0}
    by_kind = {p["kind"]: p for p in await proposals(env)}
    assert {k: (p["risk"], p["status"], p["customer_id"]) for k, p in by_kind.items()} == {
        "log_dispute": (1, "staged", "1187"), "send_dispute_confirmation": (3, "staged", "1187")}
    log = by_kind["log_dispute"]["payload"]
    assert log["reason"] == "Short shipped 3 cs Melt Mates slices" and log["invoice_ids"] == ["5001", "5002"]
    assert [(i["tran_id"], i["applied"], i["remaining"]) for i in log["invoices"]] == [
        ("INV-5001", 412.5, 1427.5), ("INV-5002", 20.0, 280.0)]
    mail = by_kind["send_dispute_confirmation"]["payload"]
    assert (mail["to"], mail["to_name"]) == ("ap@driscollfoods.example", "Dana Ortiz")  # the AP contact
    assert mail["subject"] == "Credit memo CM-8001 issued for invoices INV-5001, INV-5002"
    assert mail["body"].startswith("Dear Dana Ortiz,\n")
    for phrase in ("credit memo CM-8001 for $432.50 to Driscoll Foods", ("invoice INV-5001 (your PO DF-4410): "
                   "$412.50 credited, $1,427.50 still open"), "Reason recorded: Short shipped 3 cs Melt Mates slices"):
        assert phrase in mail["body"]
    assert mail["problems"] == []
    [note] = await rows(env, "SELECT * FROM reflexion_log")
    assert json.loads(note["tags_json"]) == ["customer_invoice_dispute"] and note["entity_id"] == "1187"
    assert note["observation"] == ("Credit memo CM-8001 for Driscoll Foods, $432.50 against INV-5001, INV-5002: "
                                   "Short shipped 3 cs Melt Mates slices; confirmation drafted to "
                                   "ap@driscollfoods.example.")
    # at least once, effects once: a second drain (and the other workflows) change nothing
    await drain(env, WORKFLOWS)
    assert len(await proposals(env)) == 2 and len(await rows(env, "SELECT * FROM workflow_run_log")) == 1


async def test_missing_reason_recipient_and_invoice_are_named_as_problems(env):
    await apply(env, customer("2001", "Harbor Bistro"), contact("50", "2001", "Sam Cho", None, "Chef"))
    await apply(env, credit_memo("8002", "2001", 25.0, None, []))
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert mail["to"] is None
    assert mail["problems"] == ["no email address on file for the customer or its contacts",
                                "the credit memo has no memo: no reason recorded", "not linked to any mirrored invoice",
                                "the credit memo is not applied to any invoice: $25.00 stays as credit on account"]
    assert mail["subject"] == "Credit memo CM-8002 issued" and "Dear Harbor Bistro team," in mail["body"]


async def test_a_memo_issued_against_an_invoice_but_not_applied_is_credit_on_account(env):
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                invoice("7001", "1187", 1000.0, 1000.0, "DF-7001"))
    memo = credit_memo("8010", "1187", 250.0, "price adjustment", [], created_from="7001")
    memo["record"]["amountRemaining"] = 250.0
    memo["record"]["apply"]["items"] = [{"doc": {"id": "7001"}, "apply": False, "amount": 0, "type": "Invoice"}]
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    by_kind = {p["kind"]: p["payload"] for p in await proposals(env)}
    mail, log = by_kind["send_dispute_confirmation"], by_kind["log_dispute"]
    assert "credit memo CM-8010 for $250.00 to Driscoll Foods against invoice INV-7001 (your PO DF-7001)." in mail["body"]
    assert "applied to:" not in mail["body"] and "credited" not in mail["body"]
    assert "It is not applied to an invoice yet: $250.00 stays as credit on your account." in mail["body"]
    assert mail["problems"] == ["the credit memo is not applied to any invoice: $250.00 stays as credit on account"]
    assert (log["issued_against"], log["applied_total"], log["unapplied"]) == ("7001", 0.0, 250.0)
    assert [(i["invoice_id"], i["applied"], i["issued_against"]) for i in log["invoices"]] == [("7001", 0.0, True)]
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert "$250.00 against INV-7001, $250.00 of it unapplied (credit on account)" in note["observation"]


async def test_a_partly_applied_memo_shows_what_each_invoice_got_and_the_rest_on_account(env):
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                invoice("7001", "1187", 1000.0, 800.0, "DF-7001"))
    memo = credit_memo("8011", "1187", 300.0, "short shipped", [("7001", 200.0)], created_from="7001")
    memo["record"]["amountRemaining"] = 100.0
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert "It is applied to:\n  - invoice INV-7001 (your PO DF-7001): $200.00 credited, $800.00 still open\n" in mail["body"]
    assert "$100.00 of it is not applied to an invoice: it stays as credit on your account." in mail["body"]
    assert mail["problems"] == [] and (mail["applied_total"], mail["unapplied"]) == (200.0, 100.0)


async def test_applied_amounts_are_summed_to_the_cent(env):
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                invoice("7001", "1187", 500.0, 399.60, "DF-7001"), invoice("7002", "1187", 700.0, 499.80, "DF-7002"))
    # 100.10 + 200.20 is 300.29999999999995 in floats, as SQLite's sum() returns it
    await apply(env, credit_memo("8013", "1187", 300.60, "short shipped",
                                 [("7001", 100.10), ("7001", 200.20), ("7002", 0.30)]))
    await drain(env, [invoice_dispute.WORKFLOW])
    for p in await proposals(env):
        assert p["payload"]["applied_total"] == 300.6 and p["payload"]["unapplied"] == 0.0, p["kind"]
    log = (await proposals(env, "log_dispute"))[0]["payload"]
    assert [(i["invoice_id"], i["applied"]) for i in log["invoices"]] == [("7001", 300.3), ("7002", 0.3)]


async def test_a_memo_sent_without_its_apply_list_asks_the_reviewer_to_check(env):
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                invoice("7001", "1187", 1000.0, 1000.0, "DF-7001"))
    memo = credit_memo("8012", "1187", 300.0, "short shipped", [], created_from="7001")
    memo["record"]["apply"] = {"links": [{"rel": "self", "href": "…/apply"}]}  # REST, not expanded
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert "credited" not in mail["body"] and "credit on your account" not in mail["body"]
    assert mail["problems"] == [NO_APPLY_LIST] and mail["apply_pending"] is True
    # drafted at once all the same: a memo whose apply list never comes is not left without a draft
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert note["observation"].endswith("; NetSuite sent no apply list: the draft is redone when it does.")


@pytest.fixture
async def ticking(make_env):
    """An env whose clock moves a second at each reading: every run and decision has its own timestamp."""
    moments = (datetime(2026, 11, 2, 16, tzinfo=UTC) + timedelta(seconds=n) for n in itertools.count())
    env = make_env(clock=lambda: next(moments))
    await env.db.open()
    yield env
    await env.db.close()


def without_apply_list(memo: dict) -> dict:
    """The memo as NetSuite REST sends it when the apply sublist was not expanded."""
    return {**memo, "record": {**memo["record"], "apply": {"links": [{"rel": "self", "href": "…/apply"}]}}}


def updated(memo: dict, when: str) -> dict:
    """The same record as a later `update` event."""
    return {**memo, "event_id": f"{memo['event_id']}-{when}", "operation": "update", "last_modified": when}


async def driscoll_and_memo(env, memo_id: str) -> dict:
    """Driscoll owing $700 of INV-7001 (applied); credit memo `memo_id` for $300 applied to it, not yet delivered.

    The invoice's row is its update after the credit (15:10, when the memo's apply list is sent), so the
    confirmation can state what is still open."""
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                {**invoice("7001", "1187", 1000.0, 700.0, "DF-7001"), "last_modified": "2026-11-02T15:10:00Z"})
    return credit_memo(memo_id, "1187", 300.0, "short shipped", [("7001", 300.0)], created_from="7001")


async def memo_posted_without_apply_list(env, memo_id: str) -> dict:
    """Driscoll, invoice INV-7001, and credit memo `memo_id` for $300 posted without its apply list, drafted."""
    memo = await driscoll_and_memo(env, memo_id)
    await apply(env, without_apply_list(memo))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0}
    return memo


async def drafts(env) -> dict[str, dict]:
    return {p["kind"]: p for p in await proposals(env)}


async def test_a_memo_posted_without_its_apply_list_is_redrafted_in_place_when_the_list_arrives(ticking):
    env = ticking
    memo = await memo_posted_without_apply_list(env, "8020")
    first = await drafts(env)
    assert first["send_dispute_confirmation"]["payload"]["problems"] == [NO_APPLY_LIST]
    # an update that still leaves the apply list out changes nothing
    await apply(env, updated(without_apply_list(memo), "2026-11-02T15:05:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    # the first update that brings it redrafts both proposals: the same rows, still staged, now naming the invoice
    await apply(env, updated(memo, "2026-11-02T15:10:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                             "redrafted": 2}
    now = await drafts(env)
    assert {k: (p["id"], p["status"]) for k, p in now.items()} == {k: (p["id"], "staged") for k, p in first.items()}
    mail, log = now["send_dispute_confirmation"]["payload"], now["log_dispute"]["payload"]
    assert mail["subject"] == "Credit memo CM-8020 issued for invoice INV-7001"
    assert "It is applied to:\n  - invoice INV-7001 (your PO DF-7001): $300.00 credited" in mail["body"]
    assert mail["problems"] == [] and mail["apply_pending"] is False and mail["applied_total"] == 300.0
    assert [(i["invoice_id"], i["applied"]) for i in log["invoices"]] == [("7001", 300.0)] and log["problems"] == []
    notes = [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")]
    assert notes[-1] == ("Credit memo CM-8020 for Driscoll Foods: NetSuite sent its apply list (applied to INV-7001); "
                         "dispute log and confirmation redrafted with it.")
    # a reviewer whose page still shows the first draft cannot approve it unseen
    old = first["send_dispute_confirmation"]
    with pytest.raises(DecisionError, match="after you loaded the page"):
        await env.db.write(decide_action, old["id"], "mike", True, "2026-11-02T17:00:00.000Z", seen=old["updated_at"])
    # later updates (even another apply list) are not this workflow's business: redrafted once
    await apply(env, updated(credit_memo("8020", "1187", 300.0, "short shipped", [("7001", 250.0)],
                                         created_from="7001"), "2026-11-02T15:20:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert [p["payload_json"] for p in await proposals(env)] == [p["payload_json"] for p in now.values()]
    assert len(await rows(env, "SELECT * FROM workflow_run_log")) == 2


async def test_an_apply_list_an_older_event_brings_after_a_newer_header_redrafts_the_memo(ticking):
    # The later edit (apply list left out) is delivered first, the earlier event that carried the list last:
    # stale for the header, newest for the list, so the memo is redrafted with it.
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, updated(without_apply_list(memo), "2026-11-02T15:10:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0}
    assert (await apply(env, memo))["stale"] == 1
    [news] = await rows(env, "SELECT type, payload_json FROM events WHERE type = 'creditmemo.sublists_updated'")
    payload = json.loads(news["payload_json"])
    assert payload["sublists"] == ["credit_memo_application"] and payload["applied_invoice_ids"] == ["7001"]
    assert "total" not in payload  # the stale header's fields are not reported as news
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                             "redrafted": 2}
    mail = (await drafts(env))["send_dispute_confirmation"]["payload"]
    assert mail["problems"] == [] and mail["invoice_ids"] == ["7001"] and mail["applied_total"] == 300.0


async def touch(env, action: dict, how: str) -> None:
    at = "2026-11-02T17:00:00.000Z"
    if how == "edited":
        await env.db.write(edit_action, action["id"], "mike", {"subject": "Your credit for INV-7001"}, at,
                           seen=action["updated_at"])
    else:
        await env.db.write(decide_action, action["id"], "mike", how == "approved", at, seen=action["updated_at"],
                           reason=None if how == "approved" else "we call this customer instead")


@pytest.mark.parametrize("how, left", [("edited", "edited by a reviewer"), ("approved", "approved by mike"),
                                       ("rejected", "rejected by mike")])
async def test_a_confirmation_a_person_edited_or_decided_is_never_redrafted(ticking, how, left):
    env = ticking
    memo = await memo_posted_without_apply_list(env, "8021")
    await touch(env, (await drafts(env))["send_dispute_confirmation"], how)
    touched = (await drafts(env))["send_dispute_confirmation"]
    await apply(env, updated(memo, "2026-11-02T15:10:00Z"))
    # the untouched dispute log is redrafted; the confirmation stays exactly as the person left it
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 1,
                                                             "redrafted": 1}
    now = await drafts(env)
    assert len(await proposals(env)) == 2 and now["send_dispute_confirmation"] == touched
    assert now["log_dispute"]["payload"]["invoice_ids"] == ["7001"] and now["log_dispute"]["status"] == "staged"
    notes = [r["observation"] for r in await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")]
    assert notes[-1] == ("Credit memo CM-8021 for Driscoll Foods: NetSuite sent its apply list (applied to INV-7001); "
                         f"dispute log redrafted with it; confirmation left as it is ({left}); "
                         "check the confirmation names the right invoices.")
    # said once: later updates carrying the apply list add nothing
    await apply(env, updated(memo, "2026-11-02T15:20:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert (await drafts(env))["send_dispute_confirmation"] == touched


async def test_an_apply_list_that_arrives_empty_redrafts_the_memo_as_credit_on_account(ticking):
    env = ticking
    await memo_posted_without_apply_list(env, "8022")
    empty = credit_memo("8022", "1187", 300.0, "short shipped", [], created_from="7001")
    empty["record"]["amountRemaining"] = 300.0
    await apply(env, updated(empty, "2026-11-02T15:10:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 2
    mail = (await drafts(env))["send_dispute_confirmation"]["payload"]
    assert "It is not applied to an invoice yet: $300.00 stays as credit on your account." in mail["body"]
    assert mail["problems"] == ["the credit memo is not applied to any invoice: $300.00 stays as credit on account"]
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert note["observation"].startswith("Credit memo CM-8022 for Driscoll Foods: NetSuite sent its apply list "
                                          "(applied to no invoice); dispute log and confirmation redrafted")


async def test_an_apply_list_that_arrives_before_the_drain_is_drafted_once_on_the_posted_event(env):
    memo = await driscoll_and_memo(env, "8023")
    await apply(env, without_apply_list(memo), updated(memo, "2026-11-02T15:10:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0,
                                                             "not_applicable": 1}
    mail = (await drafts(env))["send_dispute_confirmation"]["payload"]
    assert mail["invoice_ids"] == ["7001"] and mail["problems"] == [] and mail["apply_pending"] is False


async def test_an_update_of_a_memo_drafted_with_its_apply_list_is_not_redrafted(env):
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                invoice("7001", "1187", 1000.0, 700.0, "DF-7001"), invoice("7002", "1187", 500.0, 500.0, "DF-7002"))
    memo = credit_memo("8024", "1187", 300.0, "short shipped", [("7001", 300.0)], created_from="7001")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    before = await proposals(env)
    await apply(env, updated(credit_memo("8024", "1187", 300.0, "short shipped", [("7002", 300.0)]),
                             "2026-11-02T15:10:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert await proposals(env) == before


def test_pick_recipient_prefers_accounts_payable_then_the_customer_email():
    contacts = [("Pat Lee", "pat@x.example", "Purchasing"), ("Dana Ortiz", "ap@x.example", "AP / Billing")]
    assert pick_recipient("main@x.example", contacts) == ("Dana Ortiz", "ap@x.example")
    assert pick_recipient("main@x.example", contacts[:1]) == (None, "main@x.example")
    assert pick_recipient(None, contacts[:1]) == ("Pat Lee", "pat@x.example")
    assert pick_recipient(None, []) == (None, None)


@pytest.mark.parametrize("title", ["AP", "AP Clerk", "A/P Manager", "Sr. Accountant", "Comptroller", "Treasurer"])
def test_accounts_payable_people_are_found_by_the_titles_they_sign_with(title):
    # "AP" and "A/P" were not found: the email went to the generic address and the call had no name or phone.
    contacts = [("Pat Lee", "pat@x.example", "Purchasing"), ("Maria Lopez", "maria@x.example", title)]
    assert pick_recipient("main@x.example", contacts) == ("Maria Lopez", "maria@x.example")


@pytest.mark.parametrize("title", ["Purchasing", "Chef", "Capital Projects", "Sales Rep", "Apprentice", "AR Clerk"])
def test_other_titles_are_not_taken_for_accounts_payable(title):
    assert pick_recipient("main@x.example", [("Pat Lee", "pat@x.example", title)]) == (None, "main@x.example")


async def test_header_injection_in_a_memo_number_cannot_reach_the_subject(env):
    await apply(env, customer("2002", "Sunset Catering", email="books@sunset.example"))
    hostile = credit_memo("8003", "2002", 10.0, "Damaged\r\nBcc: everyone@evil.example", [])
    hostile["record"]["tranId"] = "CM-8003\r\nBcc: everyone@evil.example"
    await apply(env, hostile)
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert "\n" not in mail["subject"] and "\r" not in mail["subject"]


def deleted(memo: dict, when: str = "2026-11-03T10:00:00Z") -> dict:
    """The memo's deletion as NetSuite sends it: no record."""
    return {**memo, "event_id": f"{memo['event_id']}-deleted", "operation": "delete", "record": None,
            "last_modified": when}


WITHDRAWN_8030 = "withdrawn: credit memo CM-8030 was deleted in NetSuite at 2026-11-03 10:00 UTC"


async def test_a_deleted_memo_withdraws_its_staged_drafts_even_an_edited_one(ticking):
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "edited")
    page = await drafts(env)  # what a reviewer's open page shows
    await apply(env, deleted(memo))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 2}
    now = await drafts(env)
    assert {k: (p["status"], p["decided_by"], p["decision_reason"]) for k, p in now.items()} == {
        k: ("rejected", "customer_invoice_dispute", WITHDRAWN_8030) for k in ("log_dispute", "send_dispute_confirmation")}
    assert now["send_dispute_confirmation"]["payload"]["subject"] == "Your credit for INV-7001"  # the edit is kept
    events = await rows(env, "SELECT entity_id, payload_json FROM events WHERE type = 'action.rejected' ORDER BY id")
    assert [(e["entity_id"], json.loads(e["payload_json"])) for e in events] == [
        (str(now[k]["id"]), {"reviewer": "customer_invoice_dispute", "kind": k, "reason": WITHDRAWN_8030})
        for k in ("log_dispute", "send_dispute_confirmation")]
    [*_, note] = await rows(env, "SELECT entity_id, observation FROM reflexion_log ORDER BY id")
    log_id, mail_id = now["log_dispute"]["id"], now["send_dispute_confirmation"]["id"]
    assert (note["entity_id"], note["observation"]) == ("1187", (
        "Credit memo CM-8030 for Driscoll Foods was deleted in NetSuite at 2026-11-03 10:00 UTC. Edited by a "
        f"reviewer, not decided: #{mail_id} send_dispute_confirmation. Withdrawn: #{log_id} log_dispute, "
        f"#{mail_id} send_dispute_confirmation."))
    [*_, run] = await rows(env, "SELECT output_json FROM workflow_run_log ORDER BY id")
    assert json.loads(run["output_json"])["withdrawn"] == [log_id, mail_id]
    # the reviewer's open page can no longer send the confirmation of a memo NetSuite no longer has
    mail = page["send_dispute_confirmation"]
    decision = await env.db.write(decide_action, mail["id"], "mike", True, "2026-11-03T11:00:00.000Z",
                                  seen=mail["updated_at"])
    assert not decision.changed and "already rejected by customer_invoice_dispute" in decision.message
    # at least once, effects once: a second drain, even a second deletion event, changes nothing
    assert await drain(env, WORKFLOWS) == {}
    [gone] = await rows(env, "SELECT type, entity_type, entity_id, payload_json FROM events "
                              "WHERE type = 'creditmemo.deleted'")
    await env.db.write(lambda conn: append_event(conn, gone["type"], gone["entity_type"], gone["entity_id"],
                                                 json.loads(gone["payload_json"])))  # as if delivered twice
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert await drafts(env) == now and len(events) == len(
        await rows(env, "SELECT id FROM events WHERE type = 'action.rejected'"))


@pytest.mark.parametrize("how", ["approved", "rejected"])
async def test_a_deleted_memo_leaves_what_a_person_decided_and_names_it(ticking, how):
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], how)
    decided = (await drafts(env))["send_dispute_confirmation"]
    await apply(env, deleted(memo))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    now = await drafts(env)
    assert now["send_dispute_confirmation"] == decided  # untouched: status, reason, who and when
    assert (now["log_dispute"]["status"], now["log_dispute"]["decision_reason"]) == ("rejected", WITHDRAWN_8030)
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert (f"Already decided, left as it is: #{decided['id']} send_dispute_confirmation ({how} by mike). "
            f"Withdrawn: #{now['log_dispute']['id']} log_dispute.") in note["observation"]


async def test_a_memo_deleted_before_it_was_drafted_has_nothing_to_withdraw(env):
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"))
    memo = credit_memo("8031", "1187", 50.0, "damaged", [])
    await apply(env, memo, deleted(memo))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                             "not_applicable": 1}
    assert await proposals(env) == []
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert note["observation"] == "Credit memo CM-8031 for Driscoll Foods was deleted before it was reviewed."


async def test_credit_applied_to_a_document_not_in_the_mirror_is_named_not_dropped(env):
    # $100: $60 to INV-1227 (mirrored), $40 to internal id 1100, which the mirror has never seen
    await apply(env, customer("7938", "Ryan Test Co.", email="ap@ryan.example"),
                invoice("1227", "7938", 500.0, 440.0, "RT-1"))
    memo = credit_memo("3001", "7938", 100.0, "Short shipped", [("1227", 60.0), ("1100", 40.0)], created_from="1227")
    memo["record"]["amountRemaining"] = 0.0
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert ("It is applied to:\n  - invoice INV-1227 (your PO RT-1): $60.00 credited, $440.00 still open\n"
            "  - document 1100: $40.00 credited\n") in mail["body"]
    assert mail["problems"] == [("$40.00 of the credit is applied to documents not in the mirror (1100 (Invoice): "
                                 "$40.00): the email names them by NetSuite internal id only")]
    assert mail["unmirrored"] == [{"document_id": "1100", "doc_type": "Invoice", "applied": 40.0}]
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert "$100.00 against INV-1227, document 1100 (not in the mirror):" in note["observation"]


async def test_still_open_is_left_out_when_the_mirrored_invoice_predates_the_credit(env):
    # The invoice's own update (1,200 → 950 open) has not arrived: its mirrored 1,200 ignores this credit.
    await apply(env, customer("7938", "Ryan Test Co.", email="ap@ryan.example"))
    inv = invoice("1227", "7938", 1200.0, 1200.0, "RT-1")
    await apply(env, {**inv, "last_modified": "2026-10-01T10:00:00Z"})
    memo = credit_memo("3001", "7938", 250.0, "Short shipped", [("1227", 250.0)], created_from="1227")
    await apply(env, {**memo, "last_modified": "2026-11-02T15:00:00Z"})
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert "  - invoice INV-1227 (your PO RT-1): $250.00 credited\n" in mail["body"]
    assert "still open" not in mail["body"]
    assert mail["problems"] == [("invoice INV-1227 was last updated in the mirror before the credit memo: its "
                                 "$1,200.00 open may not include this credit, so the email does not say what is "
                                 "still open")]
    log = (await proposals(env, "log_dispute"))[0]["payload"]
    assert [(i["invoice_id"], i["remaining"]) for i in log["invoices"]] == [("1227", None)]
    # once the invoice's update is in the mirror (later than the memo), its figure is stated
    await apply(env, credit_memo("3002", "7938", 50.0, "Pricing", [("1227", 50.0)], created_from="1227"),
                {**invoice("1227", "7938", 1200.0, 900.0, "RT-1"), "operation": "update",
                 "last_modified": "2026-11-02T15:00:30Z"})
    await drain(env, [invoice_dispute.WORKFLOW])
    second = [p for p in await proposals(env, "send_dispute_confirmation") if p["payload"]["credit_memo_id"] == "3002"]
    assert "  - invoice INV-1227 (your PO RT-1): $50.00 credited, $900.00 still open\n" in second[0]["payload"]["body"]
    assert second[0]["payload"]["problems"] == []


async def test_a_later_edit_of_the_memo_without_its_apply_list_does_not_hide_what_is_still_open(env):
    # The credit was applied by 15:00 (the apply list the mirror holds is that version's); the invoice row from
    # 15:00 includes it, whatever the memo's header says since.
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                invoice("7001", "1187", 1000.0, 700.0, "DF-7001"))  # 15:00
    memo = credit_memo("8040", "1187", 300.0, "short shipped", [("7001", 300.0)], created_from="7001")
    await apply(env, memo, updated(without_apply_list(memo), "2026-11-02T15:10:00Z"))
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await drafts(env))["send_dispute_confirmation"]["payload"]
    assert "invoice INV-7001 (your PO DF-7001): $300.00 credited, $700.00 still open\n" in mail["body"]
    assert mail["problems"] == []


async def test_a_memo_in_another_currency_is_stated_in_that_currency(env):
    await apply(env, customer("4100", "Feinkost Müller GmbH", email="buchhaltung@mueller.example"))
    inv = invoice("5100", "4100", 1200.0, 950.0, "FM-1")
    inv["record"]["currency"] = ref("4", "EUR")
    memo = credit_memo("5200", "4100", 300.0, "Beschädigte Ware", [("5100", 250.0)], created_from="5100")
    memo["record"] |= {"currency": ref("4", "EUR"), "amountRemaining": 50.0}
    await apply(env, inv, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    assert "$" not in mail["body"] and mail["currency"] == "EUR"
    for phrase in ("credit memo CM-5200 for EUR 300.00 to Feinkost Müller GmbH",
                   "invoice INV-5100 (your PO FM-1): EUR 250.00 credited, EUR 950.00 still open",
                   "EUR 50.00 of it is not applied to an invoice"):
        assert phrase in mail["body"]
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert "EUR 300.00 against INV-5100, EUR 50.00 of it unapplied" in note["observation"]


@pytest.mark.parametrize("currency, text", [(None, "$1,234.50"), ("", "$1,234.50"), ("USA", "$1,234.50"),
                                            ("US Dollar", "$1,234.50"), ("usd", "$1,234.50"),
                                            ("EUR", "EUR 1,234.50"), ("British pound", "GBP 1,234.50"),
                                            ("Zloty", "Zloty 1,234.50")])  # a name not known here: its own
def test_money_is_dollars_only_in_the_base_currency(currency, text):
    assert pricing.money(1234.5, currency) == text
    assert invoice_dispute.money is pricing.money is drafting.money  # one formatter for every email


async def test_an_invoice_of_another_customer_is_never_named_in_the_confirmation(env):
    # Harbor's memo points (createdFrom and apply) at Driscoll's invoice: its number, PO and balance are not Harbor's
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                customer("2001", "Harbor Bistro", email="ap@harbor.example"),
                invoice("5001", "1187", 1840.00, 1427.50, "DF-SECRET-4410"), invoice("5002", "2001", 600.0, 500.0, "HB-7"))
    await apply(env, credit_memo("8001", "2001", 512.50, "short shipped", [("5001", 412.50), ("5002", 100.0)],
                                 created_from="5001"))
    await drain(env, [invoice_dispute.WORKFLOW])
    by_kind = {p["kind"]: p["payload"] for p in await proposals(env)}
    mail, log = by_kind["send_dispute_confirmation"], by_kind["log_dispute"]
    assert mail["to"] == "ap@harbor.example" and mail["subject"] == "Credit memo CM-8001 issued for invoice INV-5002"
    for secret in ("5001", "DF-SECRET", "1,427.50", "1,840.00", "412.50"):
        assert secret not in mail["subject"] + mail["body"], secret
    assert "credit memo CM-8001 for $512.50 to Harbor Bistro.\n" in mail["body"]
    assert "  - invoice INV-5002 (your PO HB-7): $100.00 credited, $500.00 still open\n" in mail["body"]
    assert mail["problems"] == log["problems"] == [
        ("the credit memo names invoice INV-5001, which the mirror holds under another customer (1187): issued "
         "against it, $412.50 applied to it; the email leaves that invoice out, check the memo's customer in NetSuite")]
    assert (mail["invoice_ids"], mail["issued_against"]) == (["5002"], None)
    assert [i["invoice_id"] for i in log["invoices"]] == ["5002"]


def voided(memo: dict, how: str, when: str = "2026-11-03T15:00:00Z") -> dict:
    """The memo as NetSuite sends it once voided (status Voided, nothing applied) or edited down to a total of 0."""
    record = {**memo["record"], "total": 0.0, "apply": {"items": []}}
    if how == "voided":
        record["status"] = ref("V", "Voided")
    return updated({**memo, "record": record}, when)


@pytest.mark.parametrize("how, change", [("voided", "was voided"), ("zero", "was changed to a total of $0.00")])
async def test_a_voided_memo_withdraws_its_staged_drafts_like_a_deleted_one(ticking, how, change):
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "edited")
    page = await drafts(env)
    drafted = page["send_dispute_confirmation"]["payload"]  # what approval compares with the mirror
    [held] = await rows(env, "SELECT cdc_data_version FROM credit_memo")
    assert ((drafted["credit_memo_id"], drafted["customer_id"], drafted["amount"], drafted["memo_status"],
             drafted["memo_version"]) == ("8030", "1187", 300.0, "Fully Applied", held["cdc_data_version"]))
    await apply(env, voided(memo, how))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 2}
    reason = f"withdrawn: credit memo CM-8030 {change} in NetSuite at 2026-11-03 15:00 UTC"
    now = await drafts(env)
    assert {k: (p["status"], p["decided_by"], p["decision_reason"]) for k, p in now.items()} == {
        k: ("rejected", "customer_invoice_dispute", reason) for k in ("log_dispute", "send_dispute_confirmation")}
    [*_, note] = await rows(env, "SELECT entity_id, observation FROM reflexion_log ORDER BY id")
    mail_id = now["send_dispute_confirmation"]["id"]
    assert (note["entity_id"], note["observation"]) == ("1187", (
        f"Credit memo CM-8030 for Driscoll Foods {change} in NetSuite at 2026-11-03 15:00 UTC. Edited by a reviewer, "
        f"not decided: #{mail_id} send_dispute_confirmation. Withdrawn: #{now['log_dispute']['id']} log_dispute, "
        f"#{mail_id} send_dispute_confirmation."))
    mail = page["send_dispute_confirmation"]
    decision = await env.db.write(decide_action, mail["id"], "mike", True, "2026-11-03T16:00:00.000Z",
                                  seen=mail["updated_at"])
    assert not decision.changed and "already rejected by customer_invoice_dispute" in decision.message
    # said once: a later update of the voided memo changes nothing, and is never redrafted
    await apply(env, voided(memo, how, "2026-11-03T15:30:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert await drafts(env) == now


async def test_a_voided_memo_names_a_decided_confirmation_once(ticking):
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "approved")
    approved = (await drafts(env))["send_dispute_confirmation"]
    await apply(env, voided(memo, "voided"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0, "withdrawn": 1}
    assert (await drafts(env))["send_dispute_confirmation"] == approved
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert f"Already decided, left as it is: #{approved['id']} send_dispute_confirmation (approved by mike)." in (
        note["observation"])
    await apply(env, voided(memo, "voided", "2026-11-03T15:30:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}


async def test_a_memo_voided_before_it_was_drafted_is_not_drafted(env):
    memo = await driscoll_and_memo(env, "8031")
    await apply(env, voided(memo, "voided"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0}
    assert await proposals(env) == []
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    assert note["observation"] == "Credit memo CM-8031 for Driscoll Foods was voided before it was reviewed."


def moved(memo: dict, customer_id: str, when: str = "2026-11-03T15:00:00Z") -> dict:
    """The memo as NetSuite sends it once moved to another customer, nothing applied."""
    return updated({**memo, "record": {**memo["record"], "entity": ref(customer_id), "apply": {"items": []}}}, when)


async def test_a_memo_moved_to_another_customer_is_withdrawn_and_drafted_for_the_new_one(ticking):
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, customer("2001", "Harbor Bistro", email="ap@harbor.example"), memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    page = await drafts(env)
    await apply(env, moved(memo, "2001"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0, "withdrawn": 2}
    reason = "withdrawn: credit memo CM-8030 was moved to Harbor Bistro (2001) in NetSuite at 2026-11-03 15:00 UTC"
    old = {p["id"]: p for p in await proposals(env) if p["customer_id"] == "1187"}
    assert {(p["kind"], p["status"], p["decision_reason"]) for p in old.values()} == {
        (k, "rejected", reason) for k in ("log_dispute", "send_dispute_confirmation")}
    now = await drafts(env)  # the memo's keys now name the new customer's drafts
    assert {k: (p["status"], p["customer_id"]) for k, p in now.items()} == {
        k: ("staged", "2001") for k in ("log_dispute", "send_dispute_confirmation")}
    mail = now["send_dispute_confirmation"]["payload"]
    assert mail["to"] == "ap@harbor.example" and "Driscoll" not in mail["body"] and "INV-7001" not in mail["body"]
    assert "credit memo CM-8030 for $300.00 to Harbor Bistro" in mail["body"] and mail["customer_id"] == "2001"
    [*_, note] = await rows(env, "SELECT entity_id, observation FROM reflexion_log ORDER BY id")
    assert note["entity_id"] == "2001" and note["observation"].startswith(
        "Credit memo CM-8030 for Driscoll Foods was moved to Harbor Bistro (2001) in NetSuite at 2026-11-03 15:00 UTC. "
        "Credit memo CM-8030 for Harbor Bistro, $300.00 against no invoice")
    withdrawn = ", ".join(f"#{i} {p['kind']}" for i, p in old.items())
    assert note["observation"].endswith(f"Withdrawn: {withdrawn}.")
    stale = page["send_dispute_confirmation"]
    decision = await env.db.write(decide_action, stale["id"], "mike", True, "2026-11-03T16:00:00.000Z",
                                  seen=stale["updated_at"])
    assert not decision.changed
    # said once: a later update of the moved memo changes nothing
    await apply(env, moved(memo, "2001", "2026-11-03T15:30:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert await drafts(env) == now


async def test_a_moved_memo_keeps_a_decided_confirmation_and_says_none_is_drafted_anew(ticking):
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, customer("2001", "Harbor Bistro", email="ap@harbor.example"), memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "approved")
    approved = (await drafts(env))["send_dispute_confirmation"]
    await apply(env, moved(memo, "2001"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 1, "deduplicated": 0, "withdrawn": 1}
    now = await drafts(env)
    assert now["send_dispute_confirmation"] == approved
    assert (now["log_dispute"]["status"], now["log_dispute"]["customer_id"]) == ("staged", "2001")
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert (f"No new confirmation is drafted for Harbor Bistro: #{approved['id']} keeps its place (approved); draft "
            "one by hand if it is needed.") in note["observation"]
    await apply(env, moved(memo, "2001", "2026-11-03T15:30:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
