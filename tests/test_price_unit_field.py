"""A price_per_unit finding carries the unit its price is printed per as a field (Finding.unit), which price_units and
the review order page read; the message is for people. Parses stored before (schema 19) take the unit from their
message in migration 20."""

from __future__ import annotations

import json
from datetime import date

from tests.test_po_price_per_pound import BEEF, CHICKEN, _pdf
from worker.db import connect
from worker.migrations import LATEST, apply_schema, findings_given_units
from worker.po.model import Finding, PurchaseOrder
from worker.po.parser import (
    PRICE_PER_UNIT,
    ParseHints,
    parse_purchase_order,
    price_units,
    price_units_in,
)
from worker.po.textlayer import extract_pdf
from worker.po.vision import tool_input_schema

OLD_LB = {"code": PRICE_PER_UNIT, "severity": "info", "line_no": 1,  # as parsed_json stored it up to version 19
          "message": "line 1: unit price '2.46' is per LB, and the line prints no unit for its quantity"}


def _stored(*findings: dict, **extra: object) -> str:
    """A parse as record.py stores it (pydantic's compact JSON) with `findings`."""
    po = PurchaseOrder(po_number="DF-50101", buyer="Driscoll Foods")
    return json.dumps(po.model_dump(mode="json") | {"findings": list(findings)} | extra, separators=(",", ":"))


def test_the_parser_sets_the_unit_on_the_finding() -> None:
    rows = [(*CHICKEN, "20", "$4.55/lb", "91.00"), (*BEEF, "10", "3.89 per kg", "38.90")]
    po = parse_purchase_order(extract_pdf(_pdf("Unit Price", rows, "129.90"), 50), ParseHints(today=date(2026, 3, 21)))
    per_unit = [f for f in po.findings if f.code == PRICE_PER_UNIT]
    assert [(f.line_no, f.unit) for f in per_unit] == [(1, "LB"), (2, "KG")]
    assert price_units(po) == {1: "LB", 2: "KG"}
    stored = json.loads(po.model_dump_json())["findings"]  # as parsed_json keeps it
    assert [f["unit"] for f in stored if f["code"] == PRICE_PER_UNIT] == ["LB", "KG"]
    assert all(f["unit"] is None for f in stored if f["code"] != PRICE_PER_UNIT)


def test_price_units_in_reads_the_field_never_the_message() -> None:
    says_lb = OLD_LB | {"line_no": 2}
    assert price_units_in([OLD_LB | {"unit": "KG"}, says_lb, OLD_LB | {"line_no": 3, "unit": ""},
                           OLD_LB | {"line_no": 4, "unit": 7}]) == {1: "KG"}
    assert price_units(PurchaseOrder(findings=[Finding(**OLD_LB)])) == {}  # a message alone names nothing


def test_the_vision_tool_schema_has_no_findings() -> None:
    schema = tool_input_schema()
    assert "findings" not in schema["properties"] and "Finding" not in json.dumps(schema)


def test_findings_given_units_takes_the_unit_from_an_old_message() -> None:
    kg = OLD_LB | {"line_no": 2, "message": "line 2: unit price '3.89/kg' is per KG, and the line prints no unit"}
    unsaid = OLD_LB | {"line_no": 3, "message": "line 3: a price per something"}
    other = {"code": "unknown_item", "severity": "warning", "line_no": 1, "message": "is per LB, not ours"}
    given = json.loads(findings_given_units(_stored(OLD_LB, kg, unsaid, other)))
    assert given["findings"] == [OLD_LB | {"unit": "LB"}, kg | {"unit": "KG"}, unsaid, other]
    assert given | {"findings": []} == json.loads(_stored())  # the rest as it was
    assert price_units_in(given["findings"]) == {1: "LB", 2: "KG"}


def test_findings_given_units_leaves_what_it_cannot_read_as_it_was() -> None:
    deep = '{"findings": ' + "[" * 100_000 + "]" * 100_000 + "}"
    has_unit = _stored(OLD_LB | {"unit": "KG"})
    unsaid = _stored(OLD_LB | {"message": "price per pound"})
    for text in (None, "", "{not json", '"price_per_unit"', "[1, 2]", '{"findings": "price_per_unit"}', deep,
                 has_unit, unsaid, _stored(OLD_LB | {"message": None}), _stored("price_per_unit", None)):
        assert findings_given_units(text) is text


def test_findings_given_units_keeps_text_sqlite_can_store() -> None:
    text = _stored(OLD_LB, buyer="Café <> Søren").replace("<>", "\\ud800")  # a lone surrogate, escaped in the JSON
    given = findings_given_units(text)
    given.encode()  # UTF-8, as SQLite takes text
    assert json.loads(given)["buyer"] == "Café \ud800 Søren" and json.loads(given)["findings"][0]["unit"] == "LB"
    assert "Søren" in findings_given_units(_stored(OLD_LB, buyer="Søren"))  # written as pydantic writes it


def test_version_20_gives_stored_per_pound_findings_their_unit(tmp_path) -> None:
    conn = connect(tmp_path / "db.sqlite3")
    apply_schema(conn)
    conn.execute("PRAGMA user_version = 19")  # version 20 changes data only: a database at 19 has every column
    unsaid = OLD_LB | {"message": "line 1: price per pound"}
    parses = {"old": _stored(OLD_LB), "unsaid": _stored(unsaid), "broken": '{"findings": [' + json.dumps(OLD_LB),
              "none": _stored(), "empty": None}
    conn.executemany("INSERT INTO review_items (status, po_number, parsed_json, created_at, updated_at) "
                     "VALUES ('pending', ?, ?, 't', 't')", parses.items())
    conn.commit()
    assert apply_schema(conn) == LATEST == 20
    stored = dict(conn.execute("SELECT po_number, parsed_json FROM review_items").fetchall())
    assert json.loads(stored["old"])["findings"] == [OLD_LB | {"unit": "LB"}]
    assert price_units_in(json.loads(stored["old"])["findings"]) == {1: "LB"}
    assert {k: stored[k] for k in ("unsaid", "broken", "none", "empty")} == \
        {k: parses[k] for k in ("unsaid", "broken", "none", "empty")}
