"""A CDC record's numbers are JSON numbers or numeric text: true, false and "1_000" are refused naming the field.

pydantic's lax numbers read true/false as 1/0 and "1_000" as 1000 (as Python's float() does), and the strict
msgspec gate sends such events to pydantic: `"amountRemaining": false` on an open invoice stored 0 (aging took it
as paid), `"creditLimit": false` a limit of 0 (a service hold proposed), `"exchangeRate": true` a rate of 1 (euros
counted as dollars). Such an event is now refused like a NaN, dead-lettered, and the rest of its batch applies.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.cdc_support import customer, event, post_events, sales_order
from tests.helpers import LiveServer
from tests.test_cdc_fast import _spellings
from tests.test_cdc_finite_numbers import AT, MODELS, _reason
from worker.cdc import intake

NOT_NUMBERS = [(True, "is true, not a number"), (False, "is false, not a number"),
               ("1_000", "is '1_000', not a number (no underscores)"),
               ("1_0.5", "is '1_0.5', not a number (no underscores)")]


def _number_fields() -> list[tuple[str, Any, str, Any]]:
    """(record type, wrap, field name, spelling) for every spelling of every float or int field of every model."""
    out = []
    for record_type, model, wrap in MODELS:
        for name, info in model.model_fields.items():
            bases = {getattr(a, "__origin__", a) for a in getattr(info.annotation, "__args__", (info.annotation,))}
            if bases & {int, float}:
                out += [(record_type, wrap, name, s) for s in _spellings(name, info)[:-1]]
    return out


NUMBER_FIELDS = _number_fields()
IDS = [f"{t}-{n}-{s}" for t, _, n, s in NUMBER_FIELDS]


def test_every_number_field_is_covered() -> None:
    names = {(t, n) for t, _, n, _ in NUMBER_FIELDS}
    assert {("invoice", "amount_remaining"), ("invoice", "exchange_rate"), ("customer", "credit_limit"),
            ("salesorder", "quantity"), ("salesorder", "line"), ("salesorder", "order_line"),
            ("customerpayment", "line"), ("itemfulfillment", "weight")} <= names


@pytest.mark.parametrize(("value", "why"), NOT_NUMBERS, ids=[repr(v) for v, _ in NOT_NUMBERS])
@pytest.mark.parametrize(("record_type", "wrap", "name", "spelling"), NUMBER_FIELDS, ids=IDS)
def test_no_bool_or_underscore_is_a_number(record_type: str, wrap: Any, name: str, spelling: str, value: Any,
                                           why: str) -> None:
    reason = _reason(record_type, wrap, spelling, value)
    assert reason is not None, f"{record_type} {spelling}={value!r} was accepted"
    assert reason.endswith(f".{spelling}: {why}"), reason


@pytest.mark.parametrize(("record_type", "wrap", "name", "spelling"), NUMBER_FIELDS, ids=IDS)
def test_numbers_and_numeric_text_still_pass(record_type: str, wrap: Any, name: str, spelling: str) -> None:
    for value in (0, 7, "7", None):
        assert _reason(record_type, wrap, spelling, value) is None, (spelling, value)


def test_the_fast_gate_leaves_them_to_pydantic() -> None:
    # The gate (msgspec, strict) takes no bool for a number, so the refusal costs the hot path nothing.
    plain = event("sn-1", "customer", "7", AT, {"id": "7", "companyName": "Acme", "creditLimit": 5000.0})
    odd = event("sn-2", "customer", "7", AT, {"id": "7", "companyName": "Acme", "creditLimit": False})
    assert intake._gate_one(plain) is not None
    assert intake._gate_one(odd) is None


def _invoice(ns_id: str, remaining: Any, **extra: Any) -> dict[str, Any]:
    return {"id": ns_id, "tranId": f"INV-{ns_id}", "tranDate": "2026-05-01", "dueDate": "2026-06-01",
            "entity": {"id": "1187"}, "total": 7000.0, "amountRemaining": remaining, **extra}


def test_the_webhook_dead_letters_them_by_name_and_applies_the_rest(server: LiveServer) -> None:
    good = event("sn-1", "customer", "1187", AT, customer("1187", "Driscoll Foods", creditLimit=20000.0), "create")
    limit = event("sn-2", "customer", "1188", AT, customer("1188", "Acme", creditLimit=False), "create")
    paid = event("sn-3", "invoice", "10", AT, _invoice("10", False), "create")
    euro = event("sn-4", "invoice", "11", AT, _invoice("11", 7000.0, currency={"id": "3", "refName": "Euro"},
                                                       exchangeRate=True), "create")
    order = event("sn-5", "salesorder", "78", AT, sales_order("78", "1187", [("5", 2, 3.5)]), "create")
    order["record"]["item"]["items"][0]["quantity"] = "1_000"
    fine = event("sn-6", "invoice", "12", AT, _invoice("12", 7000.0), "create")
    response = post_events(httpx, server.url, [good, limit, paid, euro, order, fine])
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["applied"], body["rejected"]) == (2, 4)
    reasons = [r["reason"] for r in body["rejected_events"]]
    assert reasons == ["events[1].record.creditLimit: is false, not a number",
                       "events[2].record.amountRemaining: is false, not a number",
                       "events[3].record.exchangeRate: is true, not a number",
                       "events[4].record.item.items[0].quantity: is '1_000', not a number (no underscores)"]
    letters = server.run(server.env.db.fetchall("SELECT reason FROM dead_letters ORDER BY id"))
    assert [r[0] for r in letters] == reasons
    customers = server.run(server.env.db.fetchall("SELECT ns_id, credit_limit FROM customers"))
    assert [tuple(r) for r in customers] == [("1187", 20000.0)]
    invoices = server.run(server.env.db.fetchall("SELECT ns_id, amount_remaining FROM customer_invoice"))
    assert [tuple(r) for r in invoices] == [("12", 7000.0)]
    assert server.run(server.env.db.fetchall("SELECT count(*) FROM transaction_lines"))[0][0] == 0
