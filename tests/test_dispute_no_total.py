"""A credit memo NetSuite sent without its total (REST omits fields it has no value for) is never stated as $0.00."""

import pytest

from tests.flows_support import apply, customer, proposals, rows
from tests.test_flows_invoice_dispute import credit_memo, invoice
from worker import pricing
from worker.flows import invoice_dispute
from worker.workflow_runner import drain


def without_total(memo: dict, remaining: float | None) -> dict:
    record = {k: v for k, v in memo["record"].items() if k != "total"}
    if remaining is not None:
        record["amountRemaining"] = remaining
    return {**memo, "record": record}


async def drafted(env, remaining: float | None) -> tuple[dict, str]:
    await apply(env, customer("1187", "Driscoll Foods", email="ap@driscoll.example"),
                invoice("7001", "1187", 1000.0, 750.0, "DF-7001"))
    memo = credit_memo("8020", "1187", 0.0, "short shipped", [("7001", 250.0)], created_from="7001")
    await apply(env, without_total(memo, remaining))
    await drain(env, [invoice_dispute.WORKFLOW])
    mail = (await proposals(env, "send_dispute_confirmation"))[0]["payload"]
    [note] = await rows(env, "SELECT observation FROM reflexion_log")
    return mail, note["observation"]


async def test_a_memo_without_total_is_stated_as_applied_plus_unapplied_when_both_are_known(env):
    mail, observation = await drafted(env, remaining=40.0)
    assert "We have issued credit memo CM-8020 for $290.00 to Driscoll Foods against invoice INV-7001" in mail["body"]
    assert "$0.00" not in mail["body"] and "$0.00" not in observation
    assert mail["problems"][0] == ("NetSuite sent no total for credit memo CM-8020: the email states $290.00, "
                                   "applied plus unapplied; check it in NetSuite")
    assert mail["amount"] is None  # the memo as drafted: what an approval compares with the mirror's total
    assert observation.startswith("Credit memo CM-8020 for Driscoll Foods, $290.00 against INV-7001")


async def test_a_memo_without_total_or_remaining_leaves_the_amount_out(env):
    mail, observation = await drafted(env, remaining=None)
    assert "We have issued credit memo CM-8020 to Driscoll Foods against invoice INV-7001" in mail["body"]
    assert "$0.00" not in mail["body"] and "$0.00" not in observation
    assert mail["problems"][0] == ("NetSuite sent no total for credit memo CM-8020: the email leaves its amount "
                                   "out; check it in NetSuite")
    assert observation.startswith("Credit memo CM-8020 for Driscoll Foods (no total from NetSuite) against INV-7001")


def test_a_memo_known_to_be_applied_nowhere_without_an_amount_names_none():
    credit = pricing.Credit(applied=0.0, unapplied=None)
    assert invoice_dispute.credit_problems(credit, None) == [
        "the credit memo is not applied to any invoice: its credit stays on account"]


def test_money_refuses_an_unknown_amount_rather_than_print_it_as_zero():
    with pytest.raises(TypeError):
        pricing.money(None)  # type: ignore[arg-type]
    assert pricing.money(0.0) == "$0.00"  # a known zero is still one
