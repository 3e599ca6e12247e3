"""parse_with_claude against the real anthropic client over httpx.MockTransport with recorded-style responses."""
import asyncio
import base64
import json
from datetime import date

import httpx2 as httpx  # anthropic 2.x is built on httpx2 (same API) and refuses plain httpx clients
import pytest

from tests.claude_support import (
    counting,
    mock_claude,
    never_answers,
    rate_limited_for_an_hour,
    replying,
)
from worker.po.vision import TOOL_NAME, VisionError, parse_with_claude

PDF = b"%PDF-1.7\n% a scanned purchase order\n"
TOOL_INPUT = {
    "po_number": "PO-77120", "po_date": "2026-03-02", "requested_ship_date": "2026-03-05", "buyer": "Driscoll Foods",
    "bill_to": ["Driscoll Foods", "17 Industrial Road", "Clifton, NJ 07011"],
    "ship_to": ["Driscoll Foods Warehouse 3", "200 Dock Street", "Newark, NJ 07105"], "currency": "USD",
    "lines": [{"line_no": 1, "customer_item_code": "DF-10023", "vendor_item_code": None,
               "description": "CHICKEN BREAST BNLS 4OZ IQF 10# CS", "quantity": 12, "uom": "CS",
               "unit_price": 45.5, "amount": 546.0}],
    "subtotal": 546.0, "freight": 25.0, "tax": None, "total": 571.0, "other_charges": []}


def _message(content, stop_reason="tool_use"):
    return {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-6", "content": content, "stop_reason": stop_reason,
            "stop_sequence": None, "usage": {"input_tokens": 2095, "output_tokens": 503}}


def _tool_use(inp):
    return _message([{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": TOOL_NAME, "input": inp}])




@pytest.mark.asyncio
async def test_success_and_request_shape():
    seen = []
    po = await parse_with_claude(replying(200, _tool_use(TOOL_INPUT), seen), PDF, model="claude-test-model", timeout=30)
    assert po.po_number == "PO-77120" and str(po.total) == "571.0" and po.lines[0].uom == "CS"
    assert po.findings == [] or all(f.severity != "error" for f in po.findings)
    assert 0 < po.confidence["lines"] <= 0.6
    body = json.loads(seen[0].content)
    assert seen[0].url.path == "/v1/messages"
    assert body["model"] == "claude-test-model"
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert [t["name"] for t in body["tools"]] == [TOOL_NAME]
    schema = body["tools"][0]["input_schema"]
    assert "confidence" not in schema["properties"] and "lines" in schema["properties"]
    doc = body["messages"][0]["content"][0]
    assert doc["type"] == "document" and doc["source"]["media_type"] == "application/pdf"
    assert base64.b64decode(doc["source"]["data"]) == PDF


@pytest.mark.asyncio
async def test_overloaded_529():
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}
    with pytest.raises(VisionError) as info:
        await parse_with_claude(replying(529, body, []), PDF, model="m", timeout=5)
    assert info.value.reason == "Anthropic API error 529 overloaded_error: Overloaded"


@pytest.mark.asyncio
async def test_bad_request_400():
    body = {"type": "error", "error": {"type": "invalid_request_error",
                                       "message": "messages.0.content.0.document.source: PDF has too many pages"}}
    with pytest.raises(VisionError) as info:
        await parse_with_claude(replying(400, body, []), PDF, model="m", timeout=5)
    assert info.value.reason.startswith("Anthropic API error 400 invalid_request_error: messages.0")


@pytest.mark.asyncio
async def test_malformed_tool_input_names_fields():
    bad = {**TOOL_INPUT, "po_date": "next tuesday", "lines": [{"description": "no line number", "quantity": "lots"}]}
    with pytest.raises(VisionError) as info:
        await parse_with_claude(replying(200, _tool_use(bad), []), PDF, model="m", timeout=5)
    assert info.value.reason == "tool output failed validation: lines.0.line_no, lines.0.quantity, po_date"


@pytest.mark.asyncio
async def test_missing_tool_use_block():
    text_only = _message([{"type": "text", "text": "I cannot read this document."}], stop_reason="end_turn")
    with pytest.raises(VisionError) as info:
        await parse_with_claude(replying(200, text_only, []), PDF, model="m", timeout=5)
    assert "no record_purchase_order tool_use block" in info.value.reason and "end_turn" in info.value.reason


@pytest.mark.asyncio
async def test_timeout_is_a_vision_error():
    def handler(request):
        raise httpx.ReadTimeout("read timed out", request=request)
    client = mock_claude(handler)
    with pytest.raises(VisionError) as info:
        await parse_with_claude(client, PDF, model="m", timeout=1)
    assert info.value.reason == "Anthropic API timed out"


@pytest.mark.asyncio
@pytest.mark.parametrize(("stop_reason", "said"), [
    ("max_tokens", "the answer was cut off at max_tokens (8192): the order is too long to read whole"),
    ("model_context_window_exceeded", "cut off at the model's context window"),
    ("refusal", "declined to read it"),
])
async def test_an_answer_cut_off_is_never_an_order(stop_reason, said):
    # A tool call cut off at max_tokens still comes back as a tool_use block with what was written so far
    # (here 120 of the lines, no totals): before, it became an order with lines missing and no finding.
    cut = {k: v for k, v in TOOL_INPUT.items() if k not in ("subtotal", "freight", "tax", "total", "other_charges")}
    cut["lines"] = [{**TOOL_INPUT["lines"][0], "line_no": n} for n in range(1, 121)]
    reply = _message([{"type": "tool_use", "id": "toolu_01", "name": TOOL_NAME, "input": cut}], stop_reason)
    with pytest.raises(VisionError) as info:
        await parse_with_claude(replying(200, reply, []), PDF, model="m", timeout=5)
    assert said in info.value.reason and not info.value.transient  # a retry would be cut off at the same place


@pytest.mark.asyncio
@pytest.mark.parametrize(("handler", "mid_request"), [(never_answers, True), (rate_limited_for_an_hour, False)],
                         ids=["hung", "retry-after"])
async def test_timeout_bounds_the_whole_call_retries_included(handler, mid_request):
    # Before, timeout was per request: three hung requests and the backoff between them (or a retry-after)
    # outlasted the email's 240 s, so every attempt timed out with nothing queued.
    seen, cut = [], []
    client = mock_claude(counting(handler, seen, cut), max_retries=2)
    with pytest.raises(VisionError) as info:
        await asyncio.wait_for(parse_with_claude(client, PDF, model="m", timeout=0.5), 30)
    assert info.value.reason == "the Anthropic API did not answer within 0.5 s"
    assert info.value.transient  # the hot tier tries again; the last attempt queues the PDF
    # One deadline for the whole call: it cut the first request (hung) or the wait before a retry (retry-after),
    # so no retry was ever sent.
    assert len(seen) == 1 and (cut == seen) == mid_request


@pytest.mark.asyncio
@pytest.mark.parametrize(("response", "said"), [
    (httpx.Response(200, content=b"<html>Access denied</html>", headers={"content-type": "text/html"}),
     "str '<html>Access denied</html>'"),
    (httpx.Response(200, json={}), "a message without content (type=None, stop_reason=None)"),
    (httpx.Response(200, json={"type": "error", "error": {"type": "api_error", "message": "upstream reset"}}),
     "error api_error: upstream reset"),
    (httpx.Response(200, json=_message(None)), "a message without content (type='message', stop_reason='tool_use')"),
], ids=["html", "empty", "error-envelope", "content-null"])
async def test_a_response_that_is_not_a_message_is_a_vision_error(response, said):
    # The SDK does not validate a 200's body: these escaped as AttributeError / TypeError and crashed the attempt.
    with pytest.raises(VisionError) as info:
        await parse_with_claude(mock_claude(lambda request: response), PDF, model="m", timeout=5)
    assert info.value.reason == f"unexpected response from the Anthropic API: {said}"
    assert info.value.transient  # a proxy's or gateway's moment: the hot tier tries again


@pytest.mark.asyncio
async def test_charges_are_signed_by_their_name_and_a_payment_is_no_charge():
    # The text parser's rules (money_words.read_charge) hold for the model's reading too: a discount given as a positive
    # number is still taken off, and a deposit the model listed as a negative charge (with the balance after it as
    # the total) is not taken off the order: a $500 deposit would have become a $500 discount on the sales order.
    reading = {**TOOL_INPUT, "total": 60.08, "other_charges": [
        {"description": "Less 2% discount", "amount": 10.92}, {"description": "Deposit paid", "amount": -500.0}]}
    po = await parse_with_claude(replying(200, _tool_use(reading), []), PDF, model="m", timeout=30)
    assert [(c.description, str(c.amount)) for c in po.other_charges] == [("Less 2% discount", "-10.92")]
    assert po.total is None
    [payment] = [f for f in po.findings if f.code == "payment_on_po"]
    assert payment.message == ("the PO shows a payment against the order, not taken off it: Deposit paid 500.0, "
                               "balance after it 60.08; the order's total (before payments) is not printed, so none "
                               "is taken")
    assert all(f.severity != "error" for f in po.findings)


@pytest.mark.asyncio
async def test_a_total_before_the_payment_is_kept():
    reading = {**TOOL_INPUT, "total": 560.08, "other_charges": [
        {"description": "Discount 2%", "amount": -10.92}, {"description": "Deposit paid", "amount": 500.0}]}
    po = await parse_with_claude(replying(200, _tool_use(reading), []), PDF, model="m", timeout=30)
    assert str(po.total) == "560.08" and [str(c.amount) for c in po.other_charges] == ["-10.92"]
    assert [f.code for f in po.findings if f.severity == "error"] == []
    assert [f.message for f in po.findings if f.code == "payment_on_po"] == [
        "the PO shows a payment against the order, not taken off it: Deposit paid 500.0"]


@pytest.mark.asyncio
@pytest.mark.parametrize("description", ["Coupon applied", "Promo code applied", "Rebate applied",
                                         "2% discount on subtotal", "Volume discount after 50 cases"])
async def test_a_discount_whose_words_name_a_payment_or_a_net_amount_is_still_a_discount(description):
    reading = {**TOOL_INPUT, "total": 521.0, "other_charges": [{"description": description, "amount": 50.0}]}
    po = await parse_with_claude(replying(200, _tool_use(reading), []), PDF, model="m", timeout=30)
    assert (str(po.total), [(c.description, str(c.amount)) for c in po.other_charges]) == (
        "521.0", [(description, "-50.0")])
    assert [f.code for f in po.findings] == []


@pytest.mark.asyncio
async def test_a_ship_date_past_on_the_day_received_is_a_warning_as_for_text_pdfs():
    client = replying(200, _tool_use(TOOL_INPUT), [])
    po = await parse_with_claude(client, PDF, model="m", timeout=5, today=date(2026, 11, 24))
    assert [(f.code, f.severity) for f in po.findings if f.code == "ship_date_past"] == [("ship_date_past", "warning")]
    on_time = await parse_with_claude(replying(200, _tool_use(TOOL_INPUT), []), PDF, model="m", timeout=5,
                                      today=date(2026, 3, 2))
    assert "ship_date_past" not in {f.code for f in on_time.findings}
