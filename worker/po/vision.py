"""Scanned (image-only) purchase orders read by Claude's PDF input, forced through one typed tool."""
from __future__ import annotations

import base64
import copy
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from worker.claude import ClaudeFailure, create_message, tool_call
from worker.po.model import CENT, PurchaseOrder, validate_order
from worker.po.money_words import is_discount, is_payment
from worker.po.parser import payment_finding
from worker.po.totals import Printed

TOOL_NAME = "record_purchase_order"
PROMPT = ("This PDF is a purchase order sent to us, Gulf Food Service (GFS), by a customer. Record it with the "
          f"{TOOL_NAME} tool. buyer is the ordering company, never GFS. Dates ISO (YYYY-MM-DD). Numbers as plain "
          "numbers without currency symbols or thousands separators. Freight, surcharges, discounts (negative) and "
          "tax are never item lines. total is the order's total before any payment printed on it (a deposit paid, "
          "a credit applied). Use null for anything not printed; do not guess.")
VISION_CONFIDENCE = 0.6  # a model's reading of a scan deserves review, however plausible it looks
MAX_OUTPUT_TOKENS = 8192
# A tool call cut off here still arrives as a tool_use block holding what was written so far (lines missing,
# no totals): it must never become an order. Not transient: a retry would be cut off at the same place.
CUT_OFF = {"max_tokens": f"the answer was cut off at max_tokens ({MAX_OUTPUT_TOKENS}): the order is too long to "
                         "read whole",
           "model_context_window_exceeded": "the answer was cut off at the model's context window: the order is too "
                                            "long to read whole",
           "refusal": "Claude declined to read it (stop_reason=refusal)"}


class VisionError(Exception):
    """Claude could not produce a valid PurchaseOrder; `reason` says why, `transient` whether a retry may work."""

    def __init__(self, reason: str, *, transient: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def _inline_refs(node, defs):
    # Tool input schemas are safest without $ref indirection.
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_refs(copy.deepcopy(defs[node["$ref"].split("/")[-1]]), defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def tool_input_schema() -> dict:
    """JSON schema of PurchaseOrder without confidence, findings and item_id (ours to fill, not the model's)."""
    schema = PurchaseOrder.model_json_schema()
    for k in ("confidence", "findings"):
        schema["properties"].pop(k, None)
    schema["$defs"]["POLine"]["properties"].pop("item_id", None)
    schema["$defs"].pop("Finding", None)
    return _inline_refs(schema, schema["$defs"])


def _request(pdf_bytes: bytes, model: str) -> dict:
    return {
        "model": model,
        "max_tokens": MAX_OUTPUT_TOKENS,
        "tools": [{"name": TOOL_NAME, "description": "Record the purchase order exactly as printed.",
                   "input_schema": tool_input_schema()}],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
        "messages": [{"role": "user", "content": [
            {"type": "document",
             "source": {"type": "base64", "media_type": "application/pdf",
                        "data": base64.standard_b64encode(pdf_bytes).decode("ascii")}},
            {"type": "text", "text": PROMPT},
        ]}],
    }


def _to_order(tool_input: object) -> PurchaseOrder:
    try:
        po = PurchaseOrder.model_validate(tool_input)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "(root)" for e in exc.errors()})
        raise VisionError(f"tool output failed validation: {', '.join(fields)}") from exc
    for ln in po.lines:
        ln.item_id = None  # matching is our job
    return po


def _read_charges(po: PurchaseOrder) -> tuple[list[Printed], Decimal | None]:
    """Sign the model's other_charges as the text parser signs charge rows (money_words.is_discount, is_payment): a
    discount is negative whatever sign it came with, and a payment (a deposit paid, a credit applied) no charge at
    all: taken out, with the balance it leaves when the model gave that as the total (then the order's total is not
    known). The model lists charges only, so the parser's net-row rules ("… after discount") do not apply. The
    payments, and that balance."""
    payments: list[Printed] = []
    charges = []
    for n, charge in enumerate(po.other_charges):
        if is_payment(charge.description):
            payments.append(Printed(charge.description, abs(charge.amount), n))
        else:
            signed = -abs(charge.amount) if is_discount(charge.description) else charge.amount
            charges.append(charge.model_copy(update={"amount": signed}))
    po.other_charges = charges
    amounts = [ln.amount for ln in po.lines]
    base = po.subtotal if po.subtotal is not None else None if None in amounts else sum(amounts, Decimal(0))
    if not payments or po.total is None or base is None:
        return payments, None
    before = base + (po.freight or 0) + (po.tax or 0) + sum((c.amount for c in charges), Decimal(0))
    paid = sum((p.amount for p in payments), Decimal(0))
    if abs(po.total - before) > CENT >= abs(po.total - (before - paid)):
        balance, po.total = po.total, None
        return payments, balance
    return payments, None


async def parse_with_claude(client: Any, pdf_bytes: bytes, *, model: str,
                            timeout: float, today: date | None = None) -> PurchaseOrder:
    """Read a (scanned) PDF purchase order with Claude; raises VisionError with a clear reason.

    timeout bounds the whole call, the SDK's retries and their backoff included (a per-request timeout alone let
    three requests and the waits between them, or a long retry-after, outlast the email's time). today: the day
    the order was received, which its dates are judged against, as the text parser's are.
    """
    try:
        msg = await create_message(client, _request(pdf_bytes, model), timeout)
    except ClaudeFailure as exc:
        raise VisionError(exc.reason, transient=exc.transient) from exc
    if msg.stop_reason in CUT_OFF:
        raise VisionError(CUT_OFF[msg.stop_reason])
    block = tool_call(msg, TOOL_NAME)
    if block is None:
        raise VisionError(f"no {TOOL_NAME} tool_use block in the response (stop_reason={msg.stop_reason})")
    po = _to_order(block.input)
    payments, balance = _read_charges(po)
    po.findings = validate_order(po, today=today)
    if payments:
        po.findings.append(payment_finding(payments, balance, po.total))
    bad = {f.code for f in po.findings if f.severity == "error"}
    conf = VISION_CONFIDENCE * (0.6 if bad else 1.0)
    po.confidence = {k: conf for k in ("po_number", "po_date", "requested_ship_date", "buyer", "bill_to", "ship_to",
                                      "currency", "lines", "subtotal", "freight", "tax", "total")
                     if getattr(po, k) not in (None, [])}
    return po
