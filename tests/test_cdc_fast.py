"""The msgspec gate (worker/cdc/fast.py) against the pydantic models it stands in for.

The property: whatever the gate accepts, the pydantic path accepts too, with the same envelope, version
key, time text and the same value (and type) in every field the models declare; so the mirror writes the
same rows either way. Records are generated from the pydantic models' own field declarations, mixing REST
values with every spelling, coercion and wrong shape the models know about.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AliasChoices, AliasPath, BaseModel

from tests.cdc_support import customer, event, sales_order
from worker.cdc import fast, intake
from worker.cdc import models as m

# (usual values, odd values) per kind of field: odd ones are drawn at a per-example rate, so examples range
# from plain REST records (which the gate must take) to records full of coercions and wrong shapes.
REF = ([{"id": "7", "refName": "Acme"}, {"id": "7"}, None, {"id": "7", "refName": "A", "links": []}, {"id": None}],
       [{"id": 7}, "7", 7, {"refname": "x", "id": "7"}, True, [], {"refName": None, "refname": "y"}])
LABEL = (["Open", {"id": "A", "refName": "Open"}, {"id": "A"}, {"refName": "", "id": "B"}, None, ""],
         [{"refname": "low"}, {"id": 5}, 5, [], {"refName": {"x": 1}}])
DATE = (["2026-11-20", None, "2024-02-29"],
        ["3/4/2026", "", "2026-02-30", "2026-11-20T00:00:00", 20261120, 0, " 2026-11-20"])
SCALARS: dict[Any, tuple[list[Any], list[Any]]] = {
    str: (["SO-1", "", "é", None], [5, 2.5, True, {"a": 1}, []]),
    float: ([12.5, 3, 0, -1.25, None, 1e300], ["10.50", "x", True, "", [], 10**30]),
    int: ([1, 2, 0, None, -4], [1.0, 1.5, "3", True, 2**31, 2**63, -(2**63) - 1]),
    bool: ([True, False], ["T", "false", 0, 1, None, "x"]),
}
TIMES = (["2026-11-20T14:03:11Z", "2026-11-20T14:03:11.5Z", "2026-11-20T14:03:11.123456Z", "2024-02-29T23:59:59.001Z"],
         ["2026-11-20T14:03:11.1234567Z", "2026-11-20T14:03:11+00:00", "2026-11-20T06:03:11-08:00",
          "2026-11-20T14:03:11", "2026-13-01T00:00:00Z", "0999-01-01T00:00:00Z", 1700000000, "2026-11-20 14:03:11Z",
          "2026-11-20T14:03:11z", "2026-02-30T00:00:00Z", "2026-11-20T24:00:00Z", None])


def _kind(info: Any) -> Any:
    for meta in info.metadata:
        func = getattr(meta, "func", None)
        if func in (m._as_ref, m._as_label, m._as_date, m._as_list):
            return func
    return info.annotation


def _spellings(name: str, info: Any) -> list[Any]:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [*alias.choices, name]  # the attribute name itself is not a spelling the model reads
    return [alias or name, name]


def _pick(draw: st.DrawFn, odd: int, values: tuple[list[Any], list[Any]]) -> Any:
    return draw(st.sampled_from(values[1] if draw(st.integers(0, 9)) < odd else values[0]))


@st.composite
def _value(draw: st.DrawFn, info: Any, odd: int, respell: int) -> Any:
    kind = _kind(info)
    if kind in (m._as_ref, m._as_label, m._as_date):
        return _pick(draw, odd, {m._as_ref: REF, m._as_label: LABEL, m._as_date: DATE}[kind])
    args = getattr(kind, "__args__", ())
    item_model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if item_model is not None or kind is m._as_list:  # a sublist
        items = draw(st.lists(record_dict(item_model or m.Package, odd, respell), max_size=3))
        return _pick(draw, odd, ([{"items": items}, {"items": items}, {"links": []}], [items, None, "x"]))
    bases = [getattr(a, "__origin__", a) for a in args]  # Annotated[int, bounds] is an int
    scalar = next(t for t in (bool, int, float, str) if kind is t or t in bases)
    return _pick(draw, odd, SCALARS[scalar])


def _place(out: dict[str, Any], spelling: Any, value: Any, draw: st.DrawFn) -> None:
    if isinstance(spelling, AliasPath):
        path = [str(p) for p in spelling.path]
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
        node[path[-1]] = value.get("items", []) if isinstance(value, dict) else value
        if draw(st.booleans()):
            node["links"] = []
    else:
        out[spelling] = value


@st.composite
def record_dict(draw: st.DrawFn, model: type[BaseModel], odd: int = 0, respell: int = 0) -> dict[str, Any]:
    """A record for `model`: each field absent or under its first spelling, or (at the respell rate) others too."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        spellings = _spellings(name, info)
        if draw(st.integers(0, 9)) < respell:
            chosen = draw(st.lists(st.sampled_from(spellings), min_size=1, max_size=2, unique_by=repr))
        else:
            chosen = spellings[:1] if draw(st.integers(0, 3)) else []
        for spelling in chosen:
            _place(out, spelling, draw(_value(info, odd, respell)), draw)
    if draw(st.booleans()):
        out["custbody_extra"] = {"nested": [1, "two"]}
    return out


@st.composite
def raw_event(draw: st.DrawFn) -> dict[str, Any]:
    odd = draw(st.sampled_from([0, 0, 1, 3, 10]))  # in tenths: the share of odd values in this example
    respell = draw(st.sampled_from([0, 0, 1, 3, 10]))  # and of fields under other (or two) spellings
    record_type = _pick(draw, odd, (list(m.RECORD_TYPES), ["vendor", 5]))
    model = m.RECORD_MODELS.get(record_type, m.CustomerRecord)
    record = draw(record_dict(model, odd, respell))
    if draw(st.booleans()):
        record["id"] = _pick(draw, odd, (["7"], [7, "8", None]))
    out = {"event_id": _pick(draw, odd, (["sn-1", "sn-2", "é" * 200], ["", 5, "x" * 201])),
           "record_type": record_type, "record_id": _pick(draw, odd, (["7", "x" * 64], [7, "", "x" * 65])),
           "operation": _pick(draw, odd, (["create", "update", "delete"], ["merge", None])),
           "last_modified": _pick(draw, odd, TIMES), "record": _pick(draw, odd, ([record], [None, [], "x"]))}
    if draw(st.integers(0, 9)) < odd:
        del out[draw(st.sampled_from(sorted(out)))]
    return json.loads(json.dumps(out))


def same(slow: Any, quick: Any) -> bool:
    """Equal values of equal types in every field the pydantic model declares (NaN equals NaN)."""
    if isinstance(slow, BaseModel):
        return all(same(getattr(slow, name), getattr(quick, name)) for name in type(slow).model_fields)
    if isinstance(slow, list):
        return isinstance(quick, list) and len(slow) == len(quick) and all(map(same, slow, quick))
    if isinstance(slow, float) and isinstance(quick, float) and math.isnan(slow):
        return math.isnan(quick)
    return type(slow) is type(quick) and slow == quick


def through_gate(raw: Any) -> intake.Accepted | None:
    typed = intake._gate_one(raw)
    return intake._through_gate(0, raw, typed) if typed is not None else None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_event())
def test_whatever_the_gate_accepts_pydantic_accepts_the_same(raw: dict[str, Any]) -> None:
    quick = through_gate(raw)
    if quick is None:
        return
    slow = intake.validate_event(0, raw, "events[0]")
    assert isinstance(slow, intake.Accepted), slow.reason
    assert (quick.key, quick.last_modified, quick.index) == (slow.key, slow.last_modified, slow.index)
    for name in ("event_id", "record_type", "record_id", "operation", "record"):
        assert getattr(quick.event, name) == getattr(slow.event, name), name
    assert (quick.record is None) == (slow.record is None)
    if slow.record is not None:
        assert same(slow.record, quick.record), (slow.record, quick.record)
        if isinstance(slow.record, m.FulfillmentRecord):
            assert quick.record.status_word == slow.record.status_word
        if isinstance(slow.record, m._WithApply):
            assert same(slow.record.applied, quick.record.applied)


def test_common_rest_events_take_the_gate() -> None:
    """Not vacuous: the shapes NetSuite REST sends (and the tests and bench use) pass the gate."""
    fulfillment = {"tranId": "IF1", "entity": {"id": "7"}, "createdFrom": {"id": "18"}, "shipStatus": {"id": "C"},
                   "package": {"items": [{"packageTrackingNumber": "1Z", "packageWeight": 2}]},
                   "item": {"items": [{"orderLine": 1, "item": {"id": "9"}, "quantity": 3}]}}
    raws = json.loads(json.dumps([
        event("a", "salesorder", "18", "2026-11-20T10:00:00Z", sales_order("18", "7", [("1", 2, 2.5), ("2", 1, 4.0)])),
        event("b", "customer", "7", "2026-11-20T10:00:00.250Z", {**customer("7", "Acme"), "isinactive": None}),
        event("c", "itemfulfillment", "60", "2026-11-20T10:00:00Z", fulfillment),
        event("d", "invoice", "55", "2026-11-20T10:00:00Z", operation="delete"),
    ]))
    del raws[1]["record"]["isinactive"]
    accepted, rejected = intake.validate_events(raws)
    assert not rejected and all(isinstance(a.event, intake.Envelope) for a in accepted)
    assert accepted[2].record.packages[0].weight == 2.0 and accepted[2].record.status_word == "shipped"
    assert accepted[1].key == "2026-11-20T10:00:00.250000Z|0|b" and accepted[1].last_modified == "2026-11-20T10:00:00.250Z"


def test_twins_declare_every_field_and_spelling() -> None:
    """Each model field is an attribute of its twin, read under its first spelling; later spellings are Absent."""
    nested = {"Ref": fast.Ref, "ItemLine": fast.ItemLine, "ApplyLine": fast.ApplyLine, "Package": fast.Package}
    for record_type, (name, twin) in [*fast.TWINS.items(), *((n, (n, t)) for n, t in nested.items())]:
        model = getattr(m, name)
        instance = msgspec.convert({}, twin)
        wire = {f.encode_name: f for f in msgspec.structs.fields(twin)}
        for field_name, info in model.model_fields.items():
            assert hasattr(instance, field_name), (record_type, field_name)
            spellings = _spellings(field_name, info)
            if any(isinstance(s, AliasPath) for s in spellings):
                continue  # sublists: read by properties in the models' alias order (the property test covers them)
            for later in spellings[1:-1]:
                if isinstance(later, str):
                    assert later in wire and wire[later].type is msgspec.UnsetType, (record_type, later)


def _distinct(info: Any, i: int) -> Any:
    """A usual value for the field, different for each i, so the test sees which spelling was read."""
    kind = _kind(info)
    args = getattr(kind, "__args__", ())
    if kind is m._as_ref:
        return {"id": str(i)}
    if kind is m._as_label:
        return f"L{i}"
    if kind is m._as_date:
        return f"2026-11-2{i}"
    item_model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if item_model is not None or kind is m._as_list:
        return {"items": [{"line": i} if item_model is not m.Package and item_model else {"packageTrackingNumber": f"T{i}"}]}
    bases = [getattr(a, "__origin__", a) for a in args]  # Annotated[int, bounds] is an int
    scalar = next(t for t in (bool, int, float, str) if kind is t or t in bases)
    return {bool: i % 2 == 1, int: i + 1, float: i + 0.5, str: f"v{i}"}[scalar]


WRAP = {  # where a nested model sits in a record of some type
    "Ref": ("salesorder", lambda v: {"entity": v}), "ItemLine": ("salesorder", lambda v: {"item": {"items": [v]}}),
    "ApplyLine": ("customerpayment", lambda v: {"apply": {"items": [v]}}),
    "Package": ("itemfulfillment", lambda v: {"packageList": {"packages": [v]}}),
}


def test_every_spelling_and_pair_of_spellings() -> None:
    """Exhaustive over spellings: a record naming a field one or two ways is read alike, or refused by the gate."""
    models = [*((t, getattr(m, n), lambda v: v) for t, (n, _) in fast.TWINS.items()),
              *((t, getattr(m, n), wrap) for n, (t, wrap) in WRAP.items())]
    taken = 0
    for record_type, model, wrap in models:
        for name, info in model.model_fields.items():
            spellings = _spellings(name, info)
            for chosen in [[s] for s in spellings] + [[a, b] for a in spellings for b in spellings if a != b]:
                record: dict[str, Any] = {}
                for i, spelling in enumerate(chosen, start=1):
                    _place(record, spelling, _distinct(info, i), lambda _: False)  # type: ignore[arg-type]
                raw = json.loads(json.dumps(event("sn-1", record_type, "7", "2026-11-20T10:00:00Z", wrap(record))))
                quick = through_gate(raw)
                if quick is None:
                    continue
                taken += 1
                slow = intake.validate_event(0, raw, "events[0]")
                assert isinstance(slow, intake.Accepted), (chosen, slow.reason)
                assert same(slow.record, quick.record), (record_type, chosen, slow.record, quick.record)
    assert taken > 100  # the first spelling of every field, at least
