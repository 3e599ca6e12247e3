"""Collection-email drafting: the template, and the real anthropic client over recorded Messages API replies."""

import asyncio
import json

import httpx2 as httpx  # anthropic 2.x is built on httpx2 (same API) and refuses plain httpx clients
import pytest

from tests.claude_support import (
    counting,
    mock_claude,
    never_answers,
    rate_limited_for_an_hour,
    replying,
)
from worker.drafting import (
    TOOL_NAME,
    CollectionContext,
    claude_request,
    draft_collection_email,
    refusal,
    template_draft,
    unapproved_claims,
    unset_deadlines,
    unsupported_figures,
)

CTX = CollectionContext(
    customer_id="1187", company="Driscoll Foods", to_email="ap@driscollfoods.com", to_name="Maria Lopez",
    invoices=[
        {"invoice_id": "9001", "number": "INV-20411", "po": "PO-77120", "due_date": "2026-03-31", "days_past_due": 91,
         "bucket": "90+", "amount_remaining": 12840.5},
        {"invoice_id": "9002", "number": "INV-20588", "po": None, "due_date": "2026-04-30", "days_past_due": 61,
         "bucket": "61-90", "amount_remaining": 2300.0},
    ],
    examples=["Maria in AP prefers one consolidated email; they pay within a week of a phone call."])
WORDING = {"subject": "Driscoll Foods: two invoices past due",
           "message": "Dear Maria,\n\nA quick note about two invoices that are now past due. As before, one "
                      "consolidated note: could you let us know when payment is scheduled?"}


def _message(content, stop_reason="tool_use"):
    return {"id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": 612, "output_tokens": 141}}


def _tool_use(inp):
    return _message([{"type": "tool_use", "id": "toolu_01D7FLrfh4GYq7yT1ULFeyMV", "name": TOOL_NAME, "input": inp}])




def assert_table(body):
    assert "INV-20411" in body and "PO-77120" in body and "$12,840.50" in body
    assert "INV-20588" in body and "$2,300.00" in body
    assert body.rstrip().endswith("Accounts Receivable")


async def test_template_by_default():
    draft = await draft_collection_email(CTX, None, model="claude-test")
    assert draft.drafted_by == "template" and draft.fallback_reason is None
    assert draft.subject == "Driscoll Foods: 2 past-due invoices, $15,140.50 outstanding"
    assert draft.body.startswith("Dear Maria Lopez,") and "91 days past its due date" in draft.body
    assert_table(draft.body)


async def test_claude_writes_the_wording_and_we_append_the_table():
    seen = []
    draft = await draft_collection_email(CTX, replying(200, _tool_use(WORDING), seen), model="claude-test")
    assert draft.drafted_by == "claude" and draft.model == "claude-sonnet-4-6"
    assert draft.subject == WORDING["subject"] and draft.body.startswith("Dear Maria,")
    assert_table(draft.body)
    request = json.loads(seen[0].content)
    assert seen[0].url.path == "/v1/messages" and request["model"] == "claude-test"
    assert request["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    prompt = request["messages"][0]["content"]
    assert "consolidated email" in prompt  # the approved reflexion example guides the wording
    assert "INV-20411" in prompt and "12840" not in prompt  # facts in, but amounts come from our table only


async def test_overloaded_529_falls_back_to_the_template():
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    draft = await draft_collection_email(CTX, replying(529, body, []), model="claude-test")
    assert draft.drafted_by == "template"
    assert draft.fallback_reason == "Anthropic API error 529 overloaded_error: Overloaded"
    assert_table(draft.body)


async def test_malformed_output_falls_back_with_the_reason():
    bad = await draft_collection_email(CTX, replying(200, _tool_use({"subject": "Hi\nthere", "body": "x"}), []),
                                       model="claude-test")
    assert bad.drafted_by == "template"
    assert bad.fallback_reason == "model output failed validation: body, message, subject"
    text_only = _message([{"type": "text", "text": "Sure! Here is an email..."}], stop_reason="end_turn")
    none = await draft_collection_email(CTX, replying(200, text_only, []), model="claude-test")
    assert none.fallback_reason == f"no {TOOL_NAME} tool call in the response (stop_reason=end_turn)"


async def test_unreachable_api_falls_back():
    def handler(request):
        raise httpx.ConnectError("connection refused")
    client = mock_claude(handler)
    draft = await draft_collection_email(CTX, client, model="claude-test")
    assert draft.drafted_by == "template" and draft.fallback_reason == "Anthropic API unreachable: Connection error."


def test_template_has_no_undefined_or_template_syntax():
    draft = template_draft(CollectionContext("1", "Acme", None, None, CTX.invoices[:1]))
    assert "{{" not in draft.body and "Dear Acme team," in draft.body
    assert draft.subject == "Acme: 1 past-due invoice, $12,840.50 outstanding"


TWO_CURRENCIES = CollectionContext("100", "Acme Grocers", "ap@acme.example", None, [
    {"invoice_id": "1", "number": "INV-1", "po": None, "due_date": "2026-07-01", "days_past_due": 124, "bucket": "90+",
     "amount_remaining": 10_000.0, "currency": "USA"},
    {"invoice_id": "2", "number": "INV-2", "po": None, "due_date": "2026-07-01", "days_past_due": 124, "bucket": "90+",
     "amount_remaining": 20_000.0, "currency": "EUR"},
    {"invoice_id": "3", "number": "INV-3", "po": None, "due_date": "2026-08-01", "days_past_due": 93, "bucket": "90+",
     "amount_remaining": 0.1, "currency": "EUR"},
    {"invoice_id": "4", "number": "INV-4", "po": None, "due_date": "2026-08-01", "days_past_due": 93, "bucket": "90+",
     "amount_remaining": 0.2, "currency": "EUR"}])


def open_column(body, number):
    return next(line for line in body.splitlines() if line.startswith(number)).split("  ")[-1].strip()


async def test_each_invoice_is_in_its_own_currency_and_the_total_is_per_currency():
    seen = []
    for client in (None, replying(200, _tool_use(WORDING), seen)):
        draft = await draft_collection_email(TWO_CURRENCIES, client, model="claude-test")
        assert [open_column(draft.body, n) for n in ("INV-1", "INV-2", "INV-3")] == [
            "$10,000.00", "EUR 20,000.00", "EUR 0.10"]  # the table is ours whoever wrote the wording
        assert "30,000" not in draft.subject + draft.body
    template = template_draft(TWO_CURRENCIES)
    assert template.subject == "Acme Grocers: 4 past-due invoices, $10,000.00 and EUR 20,000.30 outstanding"
    assert "past due, $10,000.00 and EUR 20,000.30 in total," in template.body
    facts = json.loads(seen[0].content)["messages"][0]["content"]
    assert '"past_due_total": "$10,000.00 and EUR 20,000.30"' in facts


@pytest.mark.parametrize(("handler", "mid_request"), [(never_answers, True), (rate_limited_for_an_hour, False)],
                         ids=["hung", "retry-after"])
async def test_the_whole_call_is_bounded_retries_included(handler, mid_request):
    # The timeout was per request: three hung requests and their backoff, or any retry-after, held the drain.
    seen, cut = [], []
    client = mock_claude(counting(handler, seen, cut), max_retries=2)
    draft = await asyncio.wait_for(draft_collection_email(CTX, client, model="claude-test", timeout=0.5), 30)
    assert draft.drafted_by == "template" and draft.fallback_reason == "the Anthropic API did not answer within 0.5 s"
    # One deadline for the whole call: it cut the first request (hung) or the wait before a retry (retry-after),
    # so no retry was ever sent.
    assert len(seen) == 1 and (cut == seen) == mid_request
    assert_table(draft.body)


async def test_a_response_that_is_not_a_message_falls_back_with_the_reason():
    # A proxy's page came back from the SDK as a str: AttributeError, and the workflow run failed.
    page = httpx.Response(200, content=b"<html>Access denied</html>", headers={"content-type": "text/html"})
    draft = await draft_collection_email(CTX, mock_claude(lambda request: page), model="claude-test")
    assert draft.drafted_by == "template"
    assert draft.fallback_reason == "unexpected response from the Anthropic API: str '<html>Access denied</html>'"


INVENTED = {"subject": "Driscoll Foods: $51,400.00 past due - service suspended",
            "message": "Dear Maria,\n\nYou owe $51,400.00 across five invoices, 120 days late. Pay by Friday or your "
                       "account is suspended."}


@pytest.mark.parametrize("text", [
    "Driscoll Foods: 2 past-due invoices, $15,140.50 outstanding",  # the facts as the template spells them
    "Dear Maria Lopez, two past-due invoices (INV-20411 on PO-77120, due 2026-03-31, 91 days; INV-20588, 61-days late)",
    "INV-20588 for $2,300.00 is 61 days past due. As before, one consolidated note: no one else is copied.",
])
def test_wording_with_only_computed_figures_is_accepted(text):
    assert unsupported_figures(text, CTX) == [] and refusal(text, CTX) is None


@pytest.mark.parametrize(("text", "refused"), [
    (INVENTED["subject"] + "\n" + INVENTED["message"], ["$51,400.00", "120", "five"]),
    ("$12,840.5 and $2,300.005 and $61 and 15,140.50", ["$12,840.5", "$2,300.005", "$61", "15,140.50"]),
    ("INV-204110, INV-2058, 2026-03-30 and March 31", ["INV-204110", "INV-2058", "2026-03-30", "31"]),
    ("Please pay 2 invoices within 2 weeks, 91 invoices, 61.5 days", ["2", "91", "61.5"]),  # a fact out of place
    ("one invoice, twenty days, a dozen calls, Twenty-two invoices", ["one", "twenty", "dozen", "Twenty"]),
])
def test_any_other_figure_is_refused(text, refused):
    assert unsupported_figures(text, CTX) == refused


def test_numbers_in_the_customers_or_recipients_name_are_not_refused():
    for company, to_name, text in [
            ("Route 66 Diner", None, "Route 66 Diner: two past-due invoices. Dear Route 66 team, thank you."),
            ("7-Eleven #4521", "Seven Seas Buyer", "Dear Seven Seas Buyer, 7-Eleven #4521 and 7-Eleven: 2 invoices"),
            ("Court Street One Stop", None, "Court Street One Stop: a note on two invoices; One Stop team")]:
        ctx = CollectionContext("1", company, None, to_name, CTX.invoices)
        assert unsupported_figures(text, ctx) == [] and unapproved_claims(text, ctx) == [], company
        # A number of the name is the name's only beside the rest of it: alone it is an invented figure.
        assert unsupported_figures(text + " (66 days, #4521, seven invoices)", ctx) == ["66", "#4521", "seven"]


def test_threats_no_reviewer_approved_are_refused():
    text = "We will put your account on hold, add late fees and pass it to a collection agency or our attorney."
    assert unapproved_claims(text, CTX) == ["on hold", "late fees", "collection agency", "attorney"]
    assert unapproved_claims(f"{INVENTED['subject']}\n{INVENTED['message']}", CTX) == ["suspended"]
    assert unapproved_claims(WORDING["message"], CTX) == []


def test_deadlines_no_one_set_are_refused():
    # "Pay by Friday" passed: no figure in it, no threat, yet a promise the company never made, in its name.
    text = ("Could you pay by Friday? Please arrange payment before the end of the month, send it by COB tomorrow, "
            "or remit by month-end at the latest; paying by friday is fine too.")
    assert unset_deadlines(text, CTX) == ["by Friday", "before the end of the month", "by COB tomorrow",
                                          "by month-end", "by friday"]
    assert refusal("Please settle these by tomorrow.", CTX) == (
        "Claude's draft gave a deadline no one set ('by tomorrow'): the template was used")
    # asking when, or thanking for a payment, sets nothing; a name is not a deadline
    for text in [WORDING["message"], "Thank you for paying on time last month; we close early on Friday.",
                 "Could you let us know by when payment is scheduled?"]:
        assert unset_deadlines(text, CTX) == [] and refusal(text, CTX) is None, text
    ctx = CollectionContext("1", "Open Until Sunday Cafe", None, None, CTX.invoices)
    assert unset_deadlines("Please pay Open Until Sunday Cafe's invoices", ctx) == []


@pytest.mark.parametrize(("text", "deadline"), [
    # audit AS3: a request to pay with a time to pay by, in forms the first pattern did not know
    ("Please settle these invoices by the end of November.", "by the end of November"),
    ("Please arrange payment today.", "today"),
    ("Please pay by end of business today.", "by end of business today"),
    ("Please pay this week.", "this week"),
    ("Kindly remit payment on Friday.", "on Friday"),
    ("Please make sure payment reaches us before Christmas.", "before Christmas"),
    ("Please pay by December.", "by December"),
    ("We expect payment within the week.", "within the week"),
    ("Could you arrange for these to be paid by the close of business on Thursday?",
     "by the close of business on Thursday"),
    ("We would appreciate payment no later than next Tuesday.", "no later than next Tuesday"),
    ("Payment is due by month-end.", "by month-end"),
    ("Please send it in the next few days.", "in the next few days"),
    ("Thanks in advance for settling the balance before the holidays.", "before the holidays"),
    ("Driscoll Foods: payment needed by New Year's Eve", "by New Year's Eve"),
    ("This invoice was due before the end of the quarter, so please pay it this week.", "this week"),
])
def test_a_time_to_pay_by_is_a_deadline(text, deadline):
    assert unset_deadlines(text, CTX) == [deadline]
    assert refusal(text, CTX) == f"Claude's draft gave a deadline no one set ({deadline!r}): the template was used"


@pytest.mark.parametrize("text", [
    # audit AS3: a time phrase with no request to pay, or in words about the past or about us
    "This invoice was due before the end of the quarter.",
    "Thank you for settling the earlier balance before the end of the month.",
    "We know the weeks before the end of the year are busy for your team, so we wanted to flag this early.",
    "Our office is closed until Monday for the holiday, but replies to this email still reach us.",
    "If it helps, our AR team is available until close of business if you would like to talk it through.",
    "We would be grateful if you could take a look before the weekend.",
    "The payment was due before the end of the quarter.",
    "If you have questions about the payment, our AR team is available until close of business.",
    "Payment questions can wait: our office is closed until Monday.",
    "We received your payment on Monday, thank you.",
    "Payment on INV-20588 is outstanding as of today.",
    "Payment may take a few days to reach us.",
    "Could we arrange a call before the end of the week?",
    "Please let us know by Friday when payment is scheduled.",
    "Please arrange payment when you can, and enjoy your weekend.",
    "Please pay when you can. We are glad to talk it through on Friday.",  # the request is a sentence before
])
def test_a_time_phrase_that_asks_no_payment_is_no_deadline(text):
    assert unset_deadlines(text, CTX) == [] and refusal(text, CTX) is None


def test_the_prompt_asks_for_no_deadline():
    # Claude was told only that threats discard a draft: an ordinary "please pay by Friday" was thrown away unasked.
    prompt = claude_request(CTX, "claude-test")["messages"][0]["content"]
    assert "set no deadline or date to pay by" in prompt and "do not mention holds" in prompt


async def test_claude_wording_with_invented_figures_falls_back_to_the_template_and_says_why():
    draft = await draft_collection_email(CTX, replying(200, _tool_use(INVENTED), []), model="claude-test")
    assert draft.drafted_by == "template" and draft.model is None
    assert draft.subject == "Driscoll Foods: 2 past-due invoices, $15,140.50 outstanding"
    assert "51,400" not in draft.body and "suspend" not in draft.body
    assert draft.fallback_reason == (
        "Claude's draft named $51,400.00, 120 and five, not among the computed facts, and said 'suspended', a step "
        "only a reviewer decides, and gave a deadline no one set ('by Friday'): the template was used")
    assert_table(draft.body)
