"""Two reviewers (or a reviewer and NetSuite) at once on the review queue (audit CO).

A price review whose order NetSuite repriced since it was drafted is not approved; a collection call naming an
invoice paid since is refused as its email and hold are; a bulk triage that lost a race names who triaged first;
a refusal names the workflow that redrafted an action, and a double-submitted Save says it was saved.
"""

from __future__ import annotations

import html
import json

import pytest

from handlers.review.observations import triage_notice
from tests import ar_fixtures as fx
from tests import test_flows_invoice_dispute as dispute
from tests import test_stale_plans as sp
from tests.flows_support import apply, proposals
from tests.review_seed import (
    COLLECTION_EMAIL,
    add_action,
    add_observation,
    seed_reference,
    sign_in,
)
from tests.test_approval_rechecks import AT, drafted
from tests.test_flows_invoice_dispute import ticking  # noqa: F401 (fixture)
from tests.test_flows_price_review_lifecycle import priced, updated  # noqa: F401 (priced: fixture)
from tests.test_review_action_refusals import notice, version
from worker.decisions import (
    Decision,
    DecisionError,
    changed_since_loaded,
    decide_action,
    edit_action,
    triage_observations,
)
from worker.flows import invoice_dispute
from worker.quote_checks import lines_not_as_quoted
from worker.workflow_runner import drain


def relined(order: dict, when: str, *rates: float, quantity: float = 4) -> dict:
    """The order updated with line 2 at each rate given (the first line, the kit, as it was)."""
    change = updated(order, when)
    items = change["record"]["item"]["items"]
    items[1:] = [{**items[1], "line": n, "rate": rate, "quantity": quantity, "amount": round(quantity * rate, 2)}
                 for n, rate in enumerate(rates, start=2)]
    return change


# --- 1. a price review whose order NetSuite repriced since -------------------------------------------------------

async def test_a_price_review_whose_quoted_rate_netsuite_changed_is_not_approved_but_can_be_rejected(priced):  # noqa: F811
    env = priced
    order, staged = await drafted(env)  # line 2: CHZ-CH-120 at 18.00 against Driscoll's 20.00
    review = staged["review_quote_pricing"]
    await apply(env, relined(order, "2026-11-03T09:30:00Z", 18.5))  # in the mirror; the drain has not run
    # Was: approved, and kept as approved after the drain's redraw, for a rate the order no longer has.
    with pytest.raises(DecisionError) as refused:
        await env.db.write(decide_action, review["id"], "mike", True, AT, seen=review["updated_at"])
    assert str(refused.value) == (
        "Sales order SO-9601 no longer quotes 502 at 18.00 CS (line 2) since this price review was drafted: "
        "approving it would settle prices the order no longer has. Reject it, or leave it: the workflow redraws it "
        "from the order's prices now (or withdraws it) when it next runs")
    [still] = [p for p in await proposals(env) if p["id"] == review["id"]]
    assert still["status"] == "staged"
    decision = await env.db.write(decide_action, review["id"], "mike", False, AT, seen=review["updated_at"],
                                  reason="repriced")
    assert decision.changed and decision.status == "rejected"


async def test_a_price_review_whose_order_changed_nothing_it_judged_is_approved(priced):  # noqa: F811
    # A quantity is not judged (the workflow keeps the draft), nor is the line's number: still approvable. (Not a
    # line added at 30.00: that is a new finding, the workflow redraws the draft, so its approval is refused.)
    env = priced
    order, staged = await drafted(env)
    review = staged["review_quote_pricing"]
    change = relined(order, "2026-11-03T09:30:00Z", 18.0, quantity=9)
    change["record"]["item"]["items"][1]["line"] = 3  # 18.00 now on line 3
    await apply(env, change)
    decision = await env.db.write(decide_action, review["id"], "mike", True, AT, seen=review["updated_at"])
    assert decision.changed and decision.status == "approved"


def test_each_order_line_answers_for_one_drafted_finding():
    drafted_lines = [{"line": 1, "item_id": "502", "units": "CS", "quoted": 18.0},
                     {"line": 2, "item_id": "502", "units": "Case", "quoted": 18.0}]
    row = (1, "502", "Cheddar", 4.0, "cs", 18.0, 1)
    assert lines_not_as_quoted(drafted_lines, [row, (2, *row[1:])]) == []
    assert lines_not_as_quoted(drafted_lines, [row]) == drafted_lines[1:]
    assert lines_not_as_quoted(drafted_lines, [(1, "502", "Cheddar", 4.0, "EA", 18.0, 1), row]) == drafted_lines[1:]


# --- 2. a collection call naming an invoice paid since -----------------------------------------------------------

async def test_approving_a_call_naming_an_invoice_paid_since_is_refused_as_its_email_is(env):
    await sp.driscoll(env)
    email, call = await sp.planned(env)
    assert call["kind"] == "schedule_collection_call" and sp.named(call) == sp.named(email)
    await fx.write(env, fx.update_invoice, "9001", amount_remaining=0.0, status="paidInFull")  # no tick yet
    # Was: approved, while the email for the same invoices was refused.
    for action, what, would in ((email, "email", "ask for money the customer does not owe"),
                                (call, "call", "call the customer about money it does not owe")):
        with pytest.raises(DecisionError) as refused:
            await env.db.write(decide_action, action["id"], "maria", True, "2026-05-31T12:05:00.000Z",
                               seen=action["updated_at"])
        assert str(refused.value) == (f"INV9001 was paid or closed in NetSuite since this {what} was drafted: approving "
                                      f"it would {would}. Reject it, or leave it: the next warm tick redraws or "
                                      "withdraws the customer's collection plan")
    assert [a["id"] for a in await sp.staged(env)] == [email["id"], call["id"]]  # nothing decided
    rejected = await env.db.write(decide_action, call["id"], "maria", False, "2026-05-31T12:06:00.000Z",
                                  seen=call["updated_at"], reason="paid this morning")
    assert rejected.status == "rejected"
    payload = await env.db.fetchone("SELECT payload_json FROM proposed_actions WHERE id = ?", (call["id"],))
    assert json.loads(payload[0])["rejected_as_stale"] == "INV9001 was paid or closed in NetSuite"


async def test_a_call_whose_invoices_are_still_owed_is_approved(env):
    await sp.driscoll(env)
    _email, call = await sp.planned(env)
    decision = await env.db.write(decide_action, call["id"], "maria", True, "2026-05-31T12:05:00.000Z",
                                  seen=call["updated_at"])
    assert decision.changed and decision.status == "approved"


# --- 3. a bulk triage that lost a race ---------------------------------------------------------------------------

def observation_notice(client, response) -> str:
    assert response.status_code == 303
    return html.unescape(notice(client.get(response.headers["location"]).text))


def test_a_bulk_triage_names_who_triaged_the_others_first_and_when(server):
    obs = server.run(server.env.db.write(lambda c: (seed_reference(c), [add_observation(c, f"Observation {i}")
                                                                        for i in range(3)])[1]))
    mike = sign_in(server.url)
    page = mike.get("/review/observations").text
    assert all(f'value="{i}"' in page for i in obs)
    # Bob rejected the second one after Mike's page was loaded (his own form, as worker.decisions makes it).
    server.run(server.env.db.write(triage_observations, [obs[1]], "bob", "rejected", "2026-11-25T02:00:07.000Z"))
    bulk = mike.post("/review/observations", data={"csrf": mike.csrf, "op": "approved_for_reuse",
                                                   "id": [str(i) for i in obs]})
    # Was: "2 observation(s) approved for reuse; 1 had already been triaged", naming neither which nor by whom.
    assert observation_notice(mike, bulk) == (f"2 observation(s) approved for reuse; 1 had already been triaged: "
                                              f"observation {obs[1]} was already rejected by bob at 2026-11-25 "
                                              "02:00:07 UTC")
    # Nothing changed: as a single row's double submit answers. Was: "0 observation(s) rejected; 1 had already …".
    again = mike.post("/review/observations", data={"csrf": mike.csrf, "row": f"{obs[1]}:approved_for_reuse"})
    assert observation_notice(mike, again) == (f"observation {obs[1]} was already rejected by bob at 2026-11-25 "
                                               "02:00:07 UTC; nothing changed")
    statuses = dict(server.run(server.env.db.fetchall("SELECT id, status FROM reflexion_log")))
    assert statuses == {obs[0]: "approved_for_reuse", obs[1]: "rejected", obs[2]: "approved_for_reuse"}


def test_a_triage_notice_names_whole_sentences_as_many_as_fit():
    late = [Decision(False, "rejected", f"observation {i} was already rejected by bob at 2026-11-25 02:00:07 UTC; "
                                        "nothing changed") for i in (7, 8, 9)]
    assert triage_notice("rejected", late) == (
        "observation 7 was already rejected by bob at 2026-11-25 02:00:07 UTC (and 2 more); nothing changed")
    assert triage_notice("rejected", late, limit=200).count("was already rejected by bob") == 2  # (and 1 more)
    moved = [Decision(True, "approved_for_reuse", "observation 6 approved for reuse")]
    assert triage_notice("approved_for_reuse", moved) == "1 observation(s) approved for reuse"
    assert triage_notice("approved_for_reuse", moved + late[:1]) == (
        "1 observation(s) approved for reuse; 1 had already been triaged: observation 7 was already rejected by bob "
        "at 2026-11-25 02:00:07 UTC")
    assert triage_notice("approved_for_reuse", moved + late, limit=80) == (
        "1 observation(s) approved for reuse; 3 had already been triaged")  # not one sentence fits


# --- 4. the refusal names a workflow's redraft; a Save sent twice says it was saved ----------------------------

async def test_a_form_from_before_a_workflow_redrafted_the_action_names_the_workflow(ticking):  # noqa: F811
    env = ticking
    memo = await dispute.memo_posted_without_apply_list(env, "8020")
    old = (await dispute.drafts(env))["send_dispute_confirmation"]
    await apply(env, dispute.updated(memo, "2026-11-02T15:10:00Z"))  # brings the apply list: both redrafted
    assert (await drain(env, [invoice_dispute.WORKFLOW]))["redrafted"] == 2
    now = (await dispute.drafts(env))["send_dispute_confirmation"]
    says = (f"redrafted by {invoice_dispute.NAME} at {now['updated_at'][:19].replace('T', ' ')} UTC after you loaded "
            "the page; nothing was saved or decided. Review it again")
    # Was: "changed at … UTC after you loaded the page", naming no one.
    with pytest.raises(DecisionError) as refused:
        await env.db.write(decide_action, old["id"], "mike", True, AT, seen=old["updated_at"])
    assert str(refused.value) == says
    with pytest.raises(DecisionError) as refused:
        await env.db.write(edit_action, old["id"], "mike", {"subject": "Mine"}, AT, seen=old["updated_at"])
    assert str(refused.value) == says


def test_changed_since_loaded_names_the_workflow_that_redrafted_it():
    assert changed_since_loaded("v1", None, "2026-11-20T15:00:00.000Z", workflow="customer_invoice_dispute") == (
        "redrafted by customer_invoice_dispute at 2026-11-20 15:00:00 UTC after you loaded the page; nothing was "
        "saved or decided. Review it again")
    assert changed_since_loaded("v1", "anna", "2026-11-20T15:00:00.000Z").startswith("changed by anna at")


def test_a_save_sent_twice_says_the_second_time_it_was_saved_already(server):
    action = server.run(server.env.db.write(lambda c: (seed_reference(c), add_action(c, "collection_email",
                                                                                     COLLECTION_EMAIL))[1]))
    anna = sign_in(server.url)
    page = anna.get("/review/actions").text
    form = {"csrf": anna.csrf, "version": version(page, action), "op": "save", "subject": "Past-due invoices (edited)",
            "body": COLLECTION_EMAIL["body"]}
    first = anna.post(f"/review/actions/{action}", data=form)
    assert observation_notice(anna, first) == f"Action {action}: saved subject"
    # The same form again (a double click): was 422 "changed by … after you loaded the page; nothing was saved".
    second = anna.post(f"/review/actions/{action}", data=form)
    assert observation_notice(anna, second) == f"Action {action}: already saved; nothing changed"
    edits = server.run(server.env.db.fetchall("SELECT payload_json FROM events WHERE type = 'action.edited'"))
    assert len(edits) == 1
    # Other text from that page is still refused: it would overwrite the saved edit unseen.
    other = anna.post(f"/review/actions/{action}", data={**form, "subject": "Something else"})
    assert other.status_code == 422 and "after you loaded the page" in notice(other.text)


def test_a_save_of_the_same_text_over_someone_elses_version_is_still_refused(server):
    action = server.run(server.env.db.write(lambda c: (seed_reference(c), add_action(c, "collection_email",
                                                                                     COLLECTION_EMAIL))[1]))
    anna = sign_in(server.url)
    page = anna.get("/review/actions").text
    form = {"csrf": anna.csrf, "version": version(page, action), "op": "save", "subject": "Past-due (edited)",
            "body": COLLECTION_EMAIL["body"]}
    server.run(server.env.db.write(edit_action, action, "bob", {"subject": "Past-due (edited)"},
                                   "2026-11-20T15:00:00.000Z", seen=version(page, action)))
    refused = anna.post(f"/review/actions/{action}", data=form)
    assert refused.status_code == 422
    assert html.unescape(notice(refused.text)) == (
        f"Action {action}: changed by bob at 2026-11-20 15:00:00 UTC after you loaded the page; nothing was saved or "
        "decided. Review it again")
