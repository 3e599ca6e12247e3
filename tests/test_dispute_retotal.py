"""A credit memo whose total (or currency) changes in NetSuite after drafting is redrafted, not left stating the old
figure for good (worker/flows/memo_apply.py new_total, worker/flows/invoice_dispute.py redraft)."""

import pytest

from tests.flows_support import apply, proposals, ref, rows
from tests.test_dispute_approval import retotalled
from tests.test_flows_invoice_dispute import (
    credit_memo,
    drafts,
    driscoll_and_memo,
    memo_posted_without_apply_list,
    ticking,  # noqa: F401 (fixture)
    touch,
    updated,
)
from worker.decisions import DecisionError, decide_action
from worker.flows import invoice_dispute
from worker.workflow_runner import drain

AT = "2026-11-03T16:00:00.000Z"
KINDS = ("log_dispute", "send_dispute_confirmation")


async def drafted(env) -> tuple[dict, dict]:
    """Driscoll's $300 credit memo CM-8030, drafted with its apply list; returns it and its drafts by kind."""
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 2, "deduplicated": 0}
    return memo, await drafts(env)


async def last_note(env) -> str:
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    return note["observation"]


async def test_a_memo_edited_to_another_total_redrafts_its_untouched_drafts_in_place(ticking):  # noqa: F811
    env = ticking
    memo, first = await drafted(env)
    await apply(env, retotalled(memo, 250.0))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                             "redrafted": 2}
    now = await drafts(env)
    assert {k: (p["id"], p["status"]) for k, p in now.items()} == {k: (p["id"], "staged") for k, p in first.items()}
    mail, log = now["send_dispute_confirmation"]["payload"], now["log_dispute"]["payload"]
    assert mail["amount"] == log["amount"] == 250.0
    assert "credit memo CM-8030 for $250.00 to Driscoll Foods" in mail["body"] and "$300.00" not in mail["body"]
    assert await last_note(env) == ("Credit memo CM-8030 for Driscoll Foods: its total changed from $300.00 to "
                                    "$250.00; dispute log and confirmation redrafted with it.")
    [*_, run] = await rows(env, "SELECT output_json FROM workflow_run_log ORDER BY id")
    assert '"retotalled": "$250.00"' in run["output_json"]
    # said once: a later update with the same total changes nothing
    await apply(env, retotalled(memo, 250.0, "2026-11-03T15:30:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert await drafts(env) == now
    # the redrafted confirmation states the memo as it is: approvable
    email = now["send_dispute_confirmation"]
    decision = await env.db.write(decide_action, email["id"], "mike", True, AT, seen=email["updated_at"])
    assert decision.changed and decision.status == "approved"


@pytest.mark.parametrize("how, left, check", [
    ("edited", "edited by a reviewer", True), ("approved", "approved by mike", True),
    ("rejected", "rejected by mike", False)])
async def test_a_confirmation_a_person_took_over_is_left_and_named_once(ticking, how, left, check):  # noqa: F811
    env = ticking
    memo, _ = await drafted(env)
    await touch(env, (await drafts(env))["send_dispute_confirmation"], how)
    touched = (await drafts(env))["send_dispute_confirmation"]
    await apply(env, retotalled(memo, 250.0))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 1,
                                                             "redrafted": 1}
    now = await drafts(env)
    assert now["send_dispute_confirmation"] == touched and now["log_dispute"]["payload"]["amount"] == 250.0
    assert await last_note(env) == (
        "Credit memo CM-8030 for Driscoll Foods: its total changed from $300.00 to $250.00; dispute log redrafted "
        f"with it; confirmation left as it is ({left})"
        + ("; check the figure in the confirmation: the memo now totals $250.00." if check else "."))
    notes = len(await rows(env, "SELECT id FROM reflexion_log"))
    # a later update with the same total does not name the confirmation again
    await apply(env, retotalled(memo, 250.0, "2026-11-03T15:30:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert await drafts(env) == now and len(await rows(env, "SELECT id FROM reflexion_log")) == notes
    if how == "edited":  # the refusal says what is left to do with it
        with pytest.raises(DecisionError, match="A draft a reviewer edited is never redrafted: reject it"):
            await env.db.write(decide_action, touched["id"], "mike", True, AT, seen=touched["updated_at"])


async def test_each_new_total_is_named_and_an_untouched_draft_follows_it_back(ticking):  # noqa: F811
    env = ticking
    memo, _ = await drafted(env)
    await touch(env, (await drafts(env))["send_dispute_confirmation"], "edited")
    await apply(env, retotalled(memo, 250.0))
    await drain(env, [invoice_dispute.WORKFLOW])
    # another total: named again; the dispute log (redrafted, so untouched) follows it
    await apply(env, retotalled(memo, 200.0, "2026-11-03T15:30:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 1
    assert (await drafts(env))["log_dispute"]["payload"]["amount"] == 200.0
    assert await last_note(env) == (
        "Credit memo CM-8030 for Driscoll Foods: its total changed from $300.00 to $200.00; dispute log redrafted "
        "with it; confirmation left as it is (edited by a reviewer); check the figure in the confirmation: the "
        "memo now totals $200.00.")
    # back to a total already reported: an untouched draft stating another still follows it
    await apply(env, retotalled(memo, 250.0, "2026-11-03T16:00:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 1
    assert (await drafts(env))["log_dispute"]["payload"]["amount"] == 250.0
    # back to the total the edited confirmation states: only the dispute log differs, and is redrafted
    await apply(env, retotalled(memo, 300.0, "2026-11-03T16:30:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 1
    assert (await drafts(env))["log_dispute"]["payload"]["amount"] == 300.0
    assert (await last_note(env)).startswith("Credit memo CM-8030 for Driscoll Foods: its total changed from "
                                             "$250.00 to $300.00; dispute log redrafted with it;")


async def test_a_new_currency_is_a_new_total(ticking):  # noqa: F811
    env = ticking
    memo, _ = await drafted(env)
    euros = updated({**memo, "record": {**memo["record"], "currency": ref("4", "EUR")}}, "2026-11-03T15:00:00Z")
    await apply(env, euros)
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 2
    mail = (await drafts(env))["send_dispute_confirmation"]["payload"]
    assert mail["currency"] == "EUR" and "credit memo CM-8030 for EUR 300.00" in mail["body"]
    assert (await last_note(env)).startswith("Credit memo CM-8030 for Driscoll Foods: its total changed from "
                                             "$300.00 to EUR 300.00; dispute log and confirmation redrafted")


async def test_an_apply_list_and_a_new_total_in_one_event_are_one_redraft(ticking):  # noqa: F811
    env = ticking
    await memo_posted_without_apply_list(env, "8020")
    first = await drafts(env)
    await apply(env, updated(credit_memo("8020", "1187", 250.0, "short shipped", [("7001", 250.0)],
                                         created_from="7001"), "2026-11-02T15:10:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"ok": 1, "proposed": 0, "deduplicated": 0,
                                                             "redrafted": 2}
    now = await drafts(env)
    assert {k: p["id"] for k, p in now.items()} == {k: p["id"] for k, p in first.items()}
    mail = now["send_dispute_confirmation"]["payload"]
    assert mail["amount"] == 250.0 and mail["invoice_ids"] == ["7001"] and mail["apply_pending"] is False
    assert await last_note(env) == (
        "Credit memo CM-8020 for Driscoll Foods: NetSuite sent its apply list (applied to INV-7001) and its total "
        "changed from $300.00 to $250.00; dispute log and confirmation redrafted with them.")
    await apply(env, updated(credit_memo("8020", "1187", 250.0, "short shipped", [("7001", 250.0)],
                                         created_from="7001"), "2026-11-02T15:20:00Z"))
    assert await drain(env, [invoice_dispute.WORKFLOW]) == {"not_applicable": 1}
    assert len(await proposals(env)) == 2


async def test_a_new_total_before_the_apply_list_still_lets_the_list_redraft_later(ticking):  # noqa: F811
    env = ticking
    memo = await memo_posted_without_apply_list(env, "8021")
    header = {**memo["record"], "total": 250.0, "apply": {"links": [{"rel": "self", "href": "…/apply"}]}}
    await apply(env, updated({**memo, "record": header}, "2026-11-02T15:05:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 2
    mail = (await drafts(env))["send_dispute_confirmation"]["payload"]
    assert mail["amount"] == 250.0 and mail["apply_pending"] is True
    await apply(env, updated(credit_memo("8021", "1187", 250.0, "short shipped", [("7001", 250.0)],
                                         created_from="7001"), "2026-11-02T15:10:00Z"))
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 2
    assert (await drafts(env))["send_dispute_confirmation"]["payload"]["invoice_ids"] == ["7001"]
    assert (await last_note(env)).startswith("Credit memo CM-8021 for Driscoll Foods: NetSuite sent its apply list "
                                             "(applied to INV-7001); dispute log and confirmation redrafted with it.")
