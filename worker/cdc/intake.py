"""Raw bytes to validated CDC events: pure, shared by the webhook, backfill and dead-letter replay.

A body is one event or `{"events": [...]}`. A body that is not JSON (or not one of those shapes) is a
BodyError: the caller keeps it whole. Each event is then validated on its own, so one bad event never
spoils the others; a rejection names the field path and pydantic's message.

Speed: the body is decoded by msgspec (the stdlib json only words the error of a body msgspec refuses),
and events in NetSuite REST's usual shape pass a strict msgspec gate (fast.py) in one call per batch;
any event the gate refuses is validated by the pydantic models, which decide and word every rejection.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from pydantic import BaseModel, ValidationError

from worker.cdc import fast
from worker.cdc import models as _models
from worker.cdc.models import RECORD_MODELS, CdcEvent
from worker.cdc.versions import iso_utc, spelled_key, version_key

# last_modified as the gate takes it: UTC with Z, 0-6 fraction digits, year >= 1000 (other years, rare enough,
# take the pydantic path).
_CANONICAL_TIME = re.compile(r"([1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?Z")
_TWIN_OF = {record_type: getattr(_models, name) for record_type, (name, _) in fast.TWINS.items()}
_LINED = (fast.SalesOrderRecord, fast.InvoiceRecord, fast.FulfillmentRecord)
_EVENTS = list[fast.EVENT_UNION]  # type: ignore[name-defined]


class BodyError(ValueError):
    """The body as a whole cannot be read as CDC events; the message says why."""


class TooManyEvents(BodyError):
    """The batch holds more events than the configured limit."""


@dataclass(slots=True)
class Envelope:
    """The envelope fields of an event that passed the fast gate (CdcEvent's, without the parsed time)."""

    event_id: str
    record_type: str
    record_id: str
    operation: str
    record: dict[str, Any] | None  # the record as received (raw_json)


@dataclass(slots=True)
class Accepted:
    """A valid event with its validated record (None for deletes) and its ordering key."""

    index: int
    event: CdcEvent | Envelope
    record: BaseModel | fast.Struct | None  # a pydantic model, or its msgspec twin from the gate
    key: str
    last_modified: str  # iso_utc text for the columns


@dataclass(frozen=True)
class Rejected:
    """An event that failed validation, kept whole for the dead-letter table."""

    index: int
    event_id: str | None
    reason: str
    payload: bytes  # the event as JSON text; a backfill puts the line as read in its place (backfill._prepare_chunk)

    def as_reply(self) -> dict[str, Any]:
        """The JSON naming this rejection in a reply."""
        return {"index": self.index, "event_id": self.event_id, "reason": self.reason}


_ENVELOPE = ("event_id", "record_type", "record_id", "operation", "last_modified", "record")


def split_body(body: bytes, *, max_events: int | None = None) -> tuple[list[Any], bool]:
    """The raw events of a body and whether it was a batch; raises BodyError naming the problem."""
    try:
        data = read_json(body)
    except ValueError as exc:
        raise BodyError(f"body {unreadable(exc)}") from None
    if not isinstance(data, dict):
        raise BodyError(f"body must be a JSON object (one event or {{\"events\": [...]}}), got {type(data).__name__}")
    if "events" not in data:
        return [data], False
    if fields := [key for key in _ENVELOPE if key in data]:  # one event with a stray "events" key, or a mix-up
        raise BodyError(f"body has both \"events\" and an event's {', '.join(fields)}: send one event, or "
                        "{\"events\": [...]}")
    events = data["events"]
    if not isinstance(events, list):
        raise BodyError(f"events must be a list, got {type(events).__name__}")
    if max_events is not None and len(events) > max_events:
        raise TooManyEvents(f"batch has {len(events)} events; the limit is {max_events} per request")
    return events, True


class Unrepresentable(ValueError):
    """Valid JSON syntax that cannot be kept or compared as text: too deep, a huge number, a lone surrogate."""


def read_json(data: bytes) -> Any:
    """UTF-8 JSON bytes as Python values, exactly as json.loads reads them.

    Raises a ValueError when it refuses: UnicodeDecodeError, json.JSONDecodeError, or Unrepresentable
    (`unreadable` words each). Never anything else, so one odd line or body cannot crash its caller.
    """
    try:
        return msgspec.json.decode(data)
    except Exception:  # noqa: BLE001 (refused, e.g. NaN or lone surrogates: the stdlib decides and words the error)
        return _stdlib_json(data)


def _stdlib_json(data: bytes) -> Any:
    # RFC 8259: JSON on the wire is UTF-8 (json.loads would also guess UTF-16/32 from bytes).
    text = data.decode("utf-8")
    try:
        value = json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except (json.JSONDecodeError, Unrepresentable):
        raise
    except RecursionError:
        raise Unrepresentable("is nested too deeply to read") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise Unrepresentable(f"cannot be read: {exc}") from None
    try:  # "\ud800" alone is valid JSON syntax but no text: it could be neither stored nor replayed
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Unrepresentable(f"contains an unpaired surrogate escape (\\u{ord(exc.object[exc.start]):04x}), "
                              "which is not text") from None
    except (RecursionError, ValueError) as exc:
        raise Unrepresentable(f"cannot be kept as JSON: {exc.__class__.__name__}") from None
    return value


def _not_json(constant: str) -> Any:
    # json.loads takes NaN and Infinity by default; RFC 8259 does not, and no amount or raw_json can hold them.
    raise Unrepresentable(f"contains {constant}, which is not a JSON value")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):  # 1e400: json.loads would read infinity
        raise Unrepresentable(f"contains the number {number[:40]}, too large to hold")
    return value


def unreadable(exc: ValueError) -> str:
    """read_json's refusal as the rest of a sentence ("body ...", "line 7 ...")."""
    if isinstance(exc, UnicodeDecodeError):
        return f"is not UTF-8 text: {exc.reason} at byte {exc.start}"
    if isinstance(exc, json.JSONDecodeError):
        return f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    return str(exc)


def _where(prefix: str, loc: tuple[Any, ...]) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(prefix: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False):
        where, message = _where(prefix, tuple(err["loc"])), err["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def event_id_of(raw: Any) -> str | None:
    """A raw event's event_id as text, when it has a usable one."""
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _dumps(raw: Any) -> str:
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str)


def validate_event(index: int, raw: Any, where: str = "") -> Accepted | Rejected:
    """Validate one raw event; `where` prefixes error locations (e.g. "events[3]" or "line 17")."""
    try:
        event = CdcEvent.model_validate(raw)
    except ValidationError as exc:
        return Rejected(index, event_id_of(raw), _describe(where, exc), _dumps(raw).encode())
    record = None
    if event.operation != "delete":
        assert event.record is not None
        try:
            record = RECORD_MODELS[event.record_type].model_validate(event.record)
        except ValidationError as exc:
            return Rejected(index, event.event_id, _describe(f"{where}.record" if where else "record", exc),
                            _dumps(raw).encode())
    return Accepted(index, event, record, version_key(event.last_modified, event.operation, event.event_id),
                    iso_utc(event.last_modified))


def _gate_all(raw_events: list[Any]) -> list[Any]:
    """Each event through the msgspec gate (one call when all pass); None where it refuses one."""
    try:
        return msgspec.convert(raw_events, _EVENTS)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 (some event is not in the common shape: sort them out one by one)
        return [_gate_one(raw) for raw in raw_events]


def _gate_one(raw: Any) -> Any:
    try:
        return msgspec.convert(raw, fast.EVENT_UNION)
    except Exception:  # noqa: BLE001 (refused: the pydantic path decides)
        return None


def _lines_unique(lines: list[Any]) -> bool:
    numbers = {line.line if line.line is not None else pos for pos, line in enumerate(lines, start=1)}
    return len(numbers) == len(lines)


@functools.lru_cache(maxsize=4096)  # a batch's events often share a timestamp
def _canonical_time(text: str) -> tuple[str, str] | None:
    """(the key's instant, column text) of a canonical UTC time; None sends the event the pydantic way."""
    moment = _CANONICAL_TIME.fullmatch(text)
    if moment is None:
        return None
    try:
        datetime.fromisoformat(moment[1])  # a real calendar time (month 13, Feb 30, 24:00 go the slow way)
    except ValueError:
        return None
    fraction = moment[2] or ""
    return f"{moment[1]}.{fraction.ljust(6, '0')}Z", f"{moment[1]}.{fraction[:3].ljust(3, '0')}Z"


def _through_gate(index: int, raw: dict[str, Any], typed: Any) -> Accepted | None:
    """The Accepted the pydantic path would build, or None when that path must decide (and word it)."""
    record_type = raw["record_type"]
    if RECORD_MODELS.get(record_type) is not _TWIN_OF[record_type]:
        return None  # another model is deployed for this type (a fix, or a test): only it may judge
    time = _canonical_time(typed.last_modified)
    if time is None:
        return None
    raw_record = raw.get("record")
    operation = typed.operation
    record = None if operation == "delete" else typed.record
    if operation != "delete" and raw_record is None:
        return None
    if raw_record is not None and "id" in raw_record and str(raw_record["id"]) != typed.record_id:
        return None
    if record is not None and isinstance(record, _LINED) and not _lines_unique(record.lines):
        return None
    return Accepted(index, Envelope(typed.event_id, record_type, typed.record_id, operation, raw_record), record,
                    spelled_key(time[0], operation, typed.event_id), time[1])


def validate_events(raw_events: list[Any], *, batch: bool = True, start: int = 0) -> tuple[list[Accepted], list[Rejected]]:
    """Validate each event of a body; locations read `events[i]....` for batches."""
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for offset, (raw, typed) in enumerate(zip(raw_events, _gate_all(raw_events), strict=True)):
        index = start + offset
        outcome = _through_gate(index, raw, typed) if typed is not None else None
        if outcome is None:
            outcome = validate_event(index, raw, f"events[{index}]" if batch else "")
        (accepted if isinstance(outcome, Accepted) else rejected).append(outcome)  # type: ignore[arg-type]
    return accepted, rejected
