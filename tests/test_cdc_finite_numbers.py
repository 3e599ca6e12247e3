"""Every number of a CDC record is finite and bounded, on the fast gate and the pydantic path alike.

A line's `"rate": "Infinity"` (or "1e400", "NaN", 1e307) and an apply line's infinite amount were accepted: the
mirror stored inf, and every JSON made from it afterwards (workflow outputs, proposals) broke. Such an event is
now refused naming the field, like any invalid event; the others of its batch still apply.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.cdc_support import customer, event, post_events, sales_order
from tests.helpers import LiveServer
from tests.test_cdc_fast import WRAP, _place, _spellings
from worker.cdc import models as m
from worker.cdc.intake import validate_events

AT = "2026-11-20T10:00:00Z"
NOT_FINITE = ["Infinity", "-Infinity", "inf", "1e400", "NaN", "nan"]  # strings pydantic reads as floats
TOO_BIG = [1e307, -1e307, 1.0000001e15, "1e16"]  # finite, yet beyond any real amount, rate or quantity
MODELS = [*((t, model, lambda v: v) for t, model in m.RECORD_MODELS.items()),
          *((t, getattr(m, n), wrap) for n, (t, wrap) in WRAP.items())]


def _float_fields() -> list[tuple[str, Any, str, Any]]:
    """(record type, wrap, field name, spelling) for every spelling of every float field of every record model."""
    out = []
    for record_type, model, wrap in MODELS:
        for name, info in model.model_fields.items():
            if float in getattr(info.annotation, "__args__", ()):
                out += [(record_type, wrap, name, s) for s in _spellings(name, info)[:-1]]
    return out


FLOAT_FIELDS = _float_fields()


def _reason(record_type: str, wrap: Any, spelling: Any, value: Any) -> str | None:
    record: dict[str, Any] = {}
    _place(record, spelling, value, lambda _: False)  # type: ignore[arg-type]
    raw = json.loads(json.dumps(event("sn-1", record_type, "7", AT, wrap(record))))
    _, rejected = validate_events([raw])
    return rejected[0].reason if rejected else None


def test_the_models_have_the_float_fields_the_audit_named() -> None:
    names = {(t, n) for t, _, n, _ in FLOAT_FIELDS}
    assert {("salesorder", "rate"), ("salesorder", "quantity"), ("customerpayment", "amount"),
            ("itemfulfillment", "weight"), ("invoice", "exchange_rate"), ("customer", "credit_limit")} <= names
    assert len(FLOAT_FIELDS) > 30  # REST and lower-case spellings, carrier package spellings


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize(("record_type", "wrap", "name", "spelling"), FLOAT_FIELDS,
                         ids=[f"{t}-{n}-{s}" for t, _, n, s in FLOAT_FIELDS])
def test_no_number_may_be_infinite_or_nan(record_type: str, wrap: Any, name: str, spelling: str, value: Any) -> None:
    reason = _reason(record_type, wrap, spelling, value)
    assert reason is not None, f"{record_type} {spelling}={value!r} was accepted"
    assert f".{spelling}: is " in reason and ("inf" in reason or "nan" in reason), reason


@pytest.mark.parametrize("value", TOO_BIG)
@pytest.mark.parametrize(("record_type", "wrap", "name", "spelling"), FLOAT_FIELDS,
                         ids=[f"{t}-{n}-{s}" for t, _, n, s in FLOAT_FIELDS])
def test_no_number_but_an_exchange_rate_may_exceed_an_amount(record_type: str, wrap: Any, name: str, spelling: str,
                                                               value: Any) -> None:
    # JSON numbers (1e307) would pass the msgspec gate if it lacked the bound: pydantic must word the refusal.
    reason = _reason(record_type, wrap, spelling, value)
    if name == "exchange_rate":  # kept, and counted as no rate by worker.currency.base_rate (test_currency_ids)
        assert reason is None
    else:
        assert reason is not None, f"{record_type} {spelling}={value!r} was accepted"
        assert f".{spelling}: is " in reason and reason.endswith("(at most 1e+15 either way)"), reason


@pytest.mark.parametrize(("record_type", "wrap", "name", "spelling"), FLOAT_FIELDS,
                         ids=[f"{t}-{n}-{s}" for t, _, n, s in FLOAT_FIELDS])
def test_numbers_up_to_the_bound_still_pass(record_type: str, wrap: Any, name: str, spelling: str) -> None:
    for value in (1e15, -1e15, 0, -2.5, "12.5"):
        assert _reason(record_type, wrap, spelling, value) is None, (spelling, value)


def test_the_audit_probe_reasons_name_the_line() -> None:
    order = event("sn-1", "salesorder", "9001", AT, sales_order("9001", "1187", [("501", 1, 1.0), ("502", 2, 3.0)]))
    order["record"]["item"]["items"][1]["rate"] = "Infinity"
    memo = event("sn-2", "creditmemo", "77", AT, {"id": "77", "apply": {"items": [
        {"doc": {"id": "11"}, "apply": True, "amount": 5.0}, {"doc": {"id": "12"}, "apply": True, "amount": "Infinity"}]}})
    suiteql = event("sn-3", "salesorder", "9002", AT, {"id": "9002", "item": {"items": [{"line": 1, "rate": 1e307}]}})
    suiteql["record"]["trandate"] = "11/20/2026"  # lower-case spellings: the pydantic path
    _, rejected = validate_events(json.loads(json.dumps([order, memo, suiteql])))
    assert [r.reason for r in rejected] == [
        "events[0].record.item.items[1].rate: is inf, out of range for a rate (at most 1e+15 either way)",
        "events[1].record.apply.items[1].amount: is inf, out of range for an amount (at most 1e+15 either way)",
        "events[2].record.item.items[0].rate: is 1e+307, out of range for a rate (at most 1e+15 either way)"]


def test_the_webhook_dead_letters_them_by_name_and_applies_the_rest(server: LiveServer) -> None:
    good = event("sn-1", "customer", "1187", AT, customer("1187", "Driscoll Foods"), "create")
    order = event("sn-2", "salesorder", "78", AT, sales_order("78", "1187", [("5", 2, 3.5)]), "create")
    order["record"]["item"]["items"][0]["rate"] = "Infinity"
    pay = event("sn-3", "customerpayment", "501", AT, {"id": "501", "customer": {"id": "1187"}, "payment": 10.0,
                                                       "apply": {"items": [{"doc": {"id": "11"}, "apply": True,
                                                                            "amount": "1e400"}]}})
    fine = event("sn-4", "salesorder", "79", AT, sales_order("79", "1187", [("5", 1, 2.0)]), "create")
    response = post_events(httpx, server.url, [good, order, pay, fine])
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["applied"], body["rejected"]) == (2, 2)
    reasons = [r["reason"] for r in body["rejected_events"]]
    assert reasons == [
        "events[1].record.item.items[0].rate: is inf, out of range for a rate (at most 1e+15 either way)",
        "events[2].record.apply.items[0].amount: is inf, out of range for an amount (at most 1e+15 either way)"]
    letters = server.run(server.env.db.fetchall("SELECT reason FROM dead_letters ORDER BY id"))
    assert [r[0] for r in letters] == reasons
    stored = server.run(server.env.db.fetchall("SELECT transaction_id, rate FROM transaction_lines"))
    assert [tuple(r) for r in stored] == [("79", 2.0)]
    assert server.run(server.env.db.fetchall("SELECT count(*) FROM customer_payment"))[0][0] == 0
