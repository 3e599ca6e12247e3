"""A draft counts as withdrawn (worker/flows/withdrawals.py Draft.withdrawn) only when a workflow closed it.

A reviewer's rejection whose reason starts as a workflow's does ("superseded by CM-8031", "withdrawn: …") is still
the reviewer's decision: a later deletion names it as decided, as it names any other person's rejection.
"""

import pytest

from tests.flows_support import apply, rows
from tests.test_flows_invoice_dispute import deleted, drafts, driscoll_and_memo, ticking  # noqa: F401 (fixture)
from worker.decisions import decide_action
from worker.flows import invoice_dispute
from worker.flows.withdrawals import Draft
from worker.workflow_runner import drain


@pytest.mark.parametrize("reason", ["superseded by CM-8031, sent yesterday", "withdrawn: the customer called"])
async def test_a_persons_rejection_worded_like_a_withdrawal_is_named_as_decided(ticking, reason):  # noqa: F811
    env = ticking
    memo = await driscoll_and_memo(env, "8030")
    await apply(env, memo)
    await drain(env, [invoice_dispute.WORKFLOW])
    email = (await drafts(env))["send_dispute_confirmation"]
    await env.db.write(decide_action, email["id"], "mike", False, "2026-11-02T17:00:00.000Z",
                       seen=email["updated_at"], reason=reason)
    await apply(env, deleted(memo))
    await drain(env, [invoice_dispute.WORKFLOW])
    [*_, note] = await rows(env, "SELECT observation FROM reflexion_log ORDER BY id")
    assert f"Already decided, left as it is: #{email['id']} send_dispute_confirmation (rejected by mike)." in (
        note["observation"])
    assert (await drafts(env))["send_dispute_confirmation"]["decision_reason"] == reason  # untouched


def test_only_a_workflows_close_is_a_withdrawal():
    closed = Draft(1, "review_quote_pricing", "k", "rejected", False, invoice_dispute.NAME, "withdrawn: memo deleted")
    assert closed.withdrawn
    assert not Draft(1, "review_quote_pricing", "k", "rejected", False, "mike", "withdrawn: memo deleted").withdrawn
    assert not Draft(1, "review_quote_pricing", "k", "staged", False, None, None).withdrawn
