"""Reference files (SPEC 10) parsed into validated rows: pure, no database.

Each CSV row is a pydantic model; a bad row becomes a RowError naming the file, the line and the reason.
`name_synonyms.json` becomes rows too (kind, normalized, synonym, customer_id), located by the line of the
entry in the file, so the importer treats all five files alike.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from worker.names import normalize_name
from worker.pricing import unit_code

MAX_FILE_BYTES = 20_000_000  # a curated list, not a data dump: refuse anything bigger before parsing
# Each item's own unit (spec_items.uom as a code) by item_id: a pricing row without a uom is priced in it.
ItemUnits = Mapping[str, str]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    # The required columns of some valid row: a rejected row's key columns are validated one at a time against it.
    EXAMPLE: ClassVar[dict[str, str]] = {}
    # How the lookups compare a column (codes ignoring case, units by their code): rows equal under these are
    # duplicates, or a lookup would pick one of them at random.
    COMPARED: ClassVar[dict[str, Callable[[str], str]]] = {}
    # Columns the lookups read as unique besides the file's key (an item's code).
    UNIQUE: ClassVar[tuple[tuple[str, ...], ...]] = ()


def _flag(value: Any) -> Any:
    # Spreadsheets write booleans many ways; anything else is an error, never a silent False.
    text = str(value).strip().lower() if value is not None else ""
    table = {"": False, "0": False, "false": False, "no": False, "n": False, "f": False,
             "1": True, "true": True, "yes": True, "y": True, "t": True}
    if text not in table:
        raise ValueError(f"expected true/false, yes/no or 1/0, got {value!r}")
    return table[text]


def _blank_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class CustomerProgramRow(_Row):
    EXAMPLE = {"customer_id": "1", "program": "standard", "markup_pct": "0"}
    customer_id: str = Field(min_length=1)
    program: str = Field(min_length=1)
    markup_pct: float = Field(ge=-100, le=1000)
    freight_terms: str | None = None
    payment_terms_days: int | None = Field(None, ge=0, le=365)
    usda_eligible: bool = False

    check_blanks = field_validator("freight_terms", "payment_terms_days", mode="before")(_blank_none)
    check_flags = field_validator("usda_eligible", mode="before")(_flag)


class SpecItemRow(_Row):
    EXAMPLE = {"item_id": "1", "item_code": "X"}
    COMPARED = {"item_code": str.upper}
    UNIQUE = (("item_code",),)
    item_id: str = Field(min_length=1)
    item_code: str = Field(min_length=1)
    description: str | None = None
    uom: str | None = None
    is_assembly: bool = False
    pack_size: str | None = None

    check_blanks = field_validator("description", "uom", "pack_size", mode="before")(_blank_none)
    check_flags = field_validator("is_assembly", mode="before")(_flag)


class PricingRow(_Row):
    EXAMPLE = {"item_id": "1", "unit_price": "0"}
    COMPARED = {"uom": unit_code}
    item_id: str = Field(min_length=1)
    customer_id: str = ""  # '' = list price
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    uom: str = ""
    effective_from: date | None = None  # None = open-ended, stored as ''
    effective_to: date | None = None

    check_blanks = field_validator("effective_from", "effective_to", mode="before")(_blank_none)

    @model_validator(mode="after")
    def _ordered(self) -> PricingRow:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError(f"effective_to {self.effective_to} is before effective_from {self.effective_from}")
        return self


class XrefRow(_Row):
    EXAMPLE = {"customer_id": "1", "customer_item_code": "X", "item_id": "1"}
    COMPARED = {"customer_item_code": str.upper}
    customer_id: str = Field(min_length=1)
    customer_item_code: str = Field(min_length=1)
    item_id: str = Field(min_length=1)


class SynonymsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: dict[str, list[str]] = {}
    brand_prefixes: dict[str, str] = {}


@dataclass(frozen=True)
class RowError:
    """One rejected row: where and why."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass
class Parsed:
    """A file's valid rows as column dicts, its errors, and what we could read of the rejected rows' keys."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    fatal: bool = False  # the file as a whole is unusable (size, encoding, header, JSON syntax)
    # Rejected keys grouped by which key columns could be read (mask), holding the values of those columns as
    # the lookups compare them (compared_key): a rejected 'ab-7' may be meant to update the table's 'AB-7'.
    rejected_keys: dict[tuple[bool, ...], set[tuple[str, ...]]] = field(default_factory=dict)

    def reject_key(self, key: tuple[str | None, ...]) -> None:
        """Remember a rejected row's key; None marks a column we could not read, which matches any value."""
        mask = tuple(value is not None for value in key)
        self.rejected_keys.setdefault(mask, set()).add(tuple(value for value in key if value is not None))

    def may_mean(self, key: tuple[str, ...]) -> bool:
        """True when some rejected row may have been meant to write the row with this key (as lookups compare it)."""
        return any(tuple(v for v, known in zip(key, mask, strict=True) if known) in values
                   for mask, values in self.rejected_keys.items())


def describe(exc: ValidationError) -> str:
    """A ValidationError as 'column: problem (got value)' clauses."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "row"
        message = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        # value_error messages already quote the value; missing fields and whole objects have none to show
        quiet = err["type"] in ("missing", "value_error") or isinstance(got, (dict, list))
        shown = "" if quiet else f" (got {got!r})"
        parts.append(f"{where}: {message}{shown}")
    return "; ".join(parts)


def _decode(name: str, data: bytes, parsed: Parsed) -> str | None:
    if len(data) > MAX_FILE_BYTES:
        parsed.errors.append(RowError(name, None, f"file is {len(data)} bytes, over the {MAX_FILE_BYTES} limit"))
    else:
        try:
            return data.decode("utf-8-sig")  # Excel writes a BOM
        except UnicodeDecodeError as exc:
            line = exc.object[:exc.start].count(b"\n") + 1  # the line an editor shows the bad byte on
            parsed.errors.append(RowError(name, line, f"not UTF-8 text: {exc}"))
    parsed.fatal = True
    return None


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    # Dates as ISO text ('' = open-ended), decimals as floats: the form the tables hold.
    row = {c: ("" if v is None and c in ("effective_from", "effective_to") else v) for c, v in row.items()}
    return {c: (v.isoformat() if isinstance(v, date) else float(v) if isinstance(v, Decimal) else v)
            for c, v in row.items()}


def _rejected_key(model: type[_Row], raw: dict[str, Any], key: tuple[str, ...]) -> tuple[str | None, ...]:
    # Each key column in its stored form when it is valid on its own (so '2026-01-01T00:00' finds '2026-01-01'),
    # None when the column itself is bad: the row it was meant to update may have any value there.
    def column(name: str) -> str | None:
        try:
            row = model.model_validate(model.EXAMPLE | {c: raw[c] for c in (name,) if c in raw})
        except ValidationError:
            return None
        return str(_stored(row.model_dump())[name])
    return tuple(column(name) for name in key)


def parse_csv(name: str, data: bytes, model: type[_Row], key: tuple[str, ...],
              units: ItemUnits | None = None) -> Parsed:
    """Validate every row of a reference CSV; a key given again (as lookups compare it) is an error there.

    `units` are the items' own units, which a blank uom in the key compares as (see compared_key).
    """
    parsed = Parsed()
    text = _decode(name, data, parsed)
    if text is None:
        return parsed
    records = _records(name, text, parsed)
    expected = list(model.model_fields)
    header = [h.strip() for h in next(records, (1, []))[1]]
    if parsed.fatal:
        return parsed
    # Every column SPEC 10 lists, optional ones too: a file without customer_id or effective_to would load its
    # contract prices as open-ended list prices, without a word.
    missing = [c for c in expected if c not in header]
    unknown = [c for c in header if c not in expected]
    if missing or unknown or len(set(header)) != len(header):
        problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else []) + (
            ["a column is named twice"] if len(set(header)) != len(header) else [])
        parsed.errors.append(RowError(name, 1, f"bad header ({'; '.join(problems)}); expected {','.join(expected)}"))
        parsed.fatal = True
        return parsed
    seen: dict[tuple[str, ...], dict[tuple[str, ...], tuple[int, tuple[str, ...]]]] = {}
    for line, fields in records:
        if not any(f.strip() for f in fields):
            continue  # a blank line, or the empty row a spreadsheet leaves (",,,,,")
        if len(fields) != len(header):
            problem = (f"{len(fields) - len(header)} more field(s) than the header has" if len(fields) > len(header)
                       else f"too few fields: missing {', '.join(header[len(fields):])}")
            parsed.errors.append(RowError(name, line, problem))
            # A comma too many or too few shifts the columns, so no field is surely the one it sits under:
            # this line may mean any row (a cut-off last line of a truncated export, typically).
            parsed.reject_key((None,) * len(key))
            continue
        raw = dict(zip(header, fields, strict=True))
        try:
            row = _stored(model.model_validate(raw).model_dump())
        except ValidationError as exc:
            parsed.errors.append(RowError(name, line, describe(exc)))
            parsed.reject_key(compared_key(model.COMPARED, key, _rejected_key(model, raw, key), units))
            continue
        if duplicate := _duplicate(model, key, row, line, seen, units):
            parsed.errors.append(RowError(name, line, duplicate))
            # Valid but refused: the row it names (a code typed as another item's, say) is meant, not gone.
            parsed.reject_key(compared_key(model.COMPARED, key, tuple(str(row[c]) for c in key), units))
            continue
        parsed.rows.append(row)
    return parsed


def _records(name: str, text: str, parsed: Parsed) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on; a record the csv module cannot split makes the file fatal."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1  # line_num is the last line read: a quoted record may span several
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A quote that never closes swallows the rest of the file (up to the csv module's field limit):
            # nothing after it can be told apart, so the file is refused, even with partial.
            parsed.errors.append(RowError(name, line, f"cannot split into fields from this line on: {exc} "
                                                      "(a quote opened here that never closes?)"))
            parsed.fatal = True
            return
        yield line, fields


def compared_key(compared: Mapping[str, Callable[[str], str]], columns: tuple[str, ...],
                 values: tuple[str | None, ...], units: ItemUnits | None = None) -> tuple[str | None, ...]:
    """A key as the lookups compare it (a row model's COMPARED: codes ignoring case, units by their code);
    None stays None.

    Given the items' units, a blank uom beside an item_id is that item's own unit, as the price lookup reads it
    (so '501,,45,,' repeats '501,,40,CS,' when 501 is sold per CS). It stays blank for an item of unknown unit,
    where the lookup reads it as a price in any unit that has none of its own; and a blank uom of an unreadable
    item_id may be any unit (None).
    """
    folded = [None if v is None else compared.get(c, str)(v) for c, v in zip(columns, values, strict=True)]
    if units is not None and "uom" in columns and "item_id" in columns:
        at, item = columns.index("uom"), folded[columns.index("item_id")]
        if folded[at] == "":
            folded[at] = None if item is None else units.get(item, "")
    return tuple(folded)


def _duplicate(model: type[_Row], key: tuple[str, ...], row: dict[str, Any], line: int,
               seen: dict[tuple[str, ...], dict[tuple[str, ...], tuple[int, tuple[str, ...]]]],
               units: ItemUnits | None = None) -> str | None:
    """Why the row repeats an earlier line's key or unique columns as the lookups compare them; None if new."""
    found = []
    for columns in (key, *model.UNIQUE):
        written = tuple(str(row[c]) for c in columns)
        compared = compared_key(model.COMPARED, columns, written, units)
        if earlier := seen.get(columns, {}).get(compared):
            first, spelled = earlier
            read = "" if spelled == written else f", which lookups read as line {first}'s {', '.join(spelled)}"
            if read and "uom" in columns and "" in (row["uom"], spelled[columns.index("uom")]):
                unit = compared[columns.index("uom")]
                read += f": a blank uom is the item's own unit, {unit} in spec_items"
            return f"duplicate of line {first} ({', '.join(columns)} = {', '.join(written)}{read})"
        found.append((columns, compared, written))
    for columns, compared, written in found:  # remembered only once the row is accepted
        seen.setdefault(columns, {})[compared] = (line, written)
    return None


def _line_of(text: str, needle: str) -> int | None:
    at = text.find(json.dumps(needle))
    return text.count("\n", 0, at) + 1 if at >= 0 else None


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?')


class _Lines:
    """The line of every string in a valid JSON text, keys apart from values, found in one pass.

    Each occurrence is handed out once, in file order, so a name given twice is located at each of its
    lines; escapes are decoded, so 'Café' is found however the file writes it.
    """

    def __init__(self, text: str) -> None:
        self._found: dict[tuple[bool, str], deque[int]] = defaultdict(deque)
        line, at = 1, 0
        for match in _JSON_STRING.finditer(text):  # in valid JSON every '"' outside a string opens one
            line += text.count("\n", at, match.start())
            at = match.start()
            literal = match.group(0)[:-len(match.group(1))] if match.group(1) else match.group(0)
            self._found[(match.group(1) is not None, json.loads(literal))].append(line)

    def take(self, value: str, *, key: bool) -> int | None:
        """The line of the next unclaimed occurrence of this string (an object key or a value)."""
        lines = self._found.get((key, value))
        return lines.popleft() if lines else None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise _DuplicateKey(next(key for n, key in enumerate(keys) if key in keys[:n]))
    return dict(pairs)


def _duplicate_key(name: str, text: str) -> RowError | None:
    """A key named twice in one JSON object: JSON keeps only the last, so the first entry would be lost unseen."""
    try:
        json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as dup:
        # Located by its spelling as a key; a key written with other escapes is still named, without a line.
        spelled = "|".join(re.escape(json.dumps(dup.key, ensure_ascii=escaped)) for escaped in (False, True))
        lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(rf"(?:{spelled})\s*:", text)]
        where = f" (lines {lines[0]} and {lines[1]})" if len(lines) > 1 else ""
        return RowError(name, lines[1] if len(lines) > 1 else None,
                        f"key {dup.key!r} is given twice in one object{where}: JSON keeps only the last, "
                        "so the first would be lost; merge them into one entry")
    return None


def parse_synonyms(name: str, data: bytes) -> Parsed:
    """name_synonyms.json as name_synonyms rows; one normalized name may mean one customer only."""
    parsed = Parsed()
    text = _decode(name, data, parsed)
    if text is None:
        return parsed
    try:
        model = SynonymsFile.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            detail = str(first.get("ctx", {}).get("error", ""))
            at = re.search(r"line (\d+)", detail)
            parsed.errors.append(RowError(name, int(at.group(1)) if at else None, f"not valid JSON: {detail}"))
        else:
            line = _line_of(text, str(first["loc"][-1])) if first["loc"] else None
            parsed.errors.append(RowError(name, line, describe(exc)))
        parsed.fatal = True
        return parsed
    if duplicate := _duplicate_key(name, text):
        parsed.errors.append(duplicate)
        parsed.fatal = True  # which entry was meant is unknowable: nothing of the file loads, even with partial
        return parsed
    entries = [("customer", synonym, str(cid).strip()) for cid, names in model.customers.items() for synonym in names]
    entries += [("brand_prefix", brand, str(cid).strip()) for brand, cid in model.brand_prefixes.items()]
    owner: dict[tuple[str, str], tuple[str, int | None]] = {}
    lines = _Lines(text)
    for kind, synonym, customer_id in entries:
        line = lines.take(synonym, key=kind == "brand_prefix")  # brands are keys, customers' names values
        normalized = normalize_name(synonym)
        if not customer_id or not normalized:
            what = "customer id is empty" if not customer_id else f"{synonym!r} normalizes to nothing"
            parsed.errors.append(RowError(name, line, f"{kind} {synonym!r}: {what}"))
            if normalized:
                parsed.reject_key((kind, normalized))
            continue
        previous = owner.get((kind, normalized))
        if previous and previous[0] != customer_id:
            parsed.errors.append(RowError(name, line, f"{kind} {synonym!r} means {normalized!r}, already given to "
                                                      f"customer {previous[0]} (line {previous[1]})"))
            parsed.reject_key((kind, normalized))
            continue
        if previous:
            continue  # the same name spelled twice for the same customer: harmless
        owner[(kind, normalized)] = (customer_id, line)
        parsed.rows.append({"kind": kind, "normalized": normalized, "synonym": synonym.strip(),
                            "customer_id": customer_id})
    return parsed
