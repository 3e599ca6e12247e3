"""Raw bytes to validated CDC events: pure, shared by the webhook, backfill and dead-letter replay.

A body is one event or `{"events": [...]}`. A body that is not JSON (or not one of those shapes) is a
BodyError: the caller keeps it whole. Each event is then validated on its own, so one bad event never
spoils the others; a rejection names the field path and pydantic's message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from worker.cdc.models import RECORD_MODELS, CdcEvent
from worker.cdc.versions import iso_utc, version_key


class BodyError(ValueError):
    """The body as a whole cannot be read as CDC events; the message says why."""


class TooManyEvents(BodyError):
    """The batch holds more events than the configured limit."""


@dataclass(frozen=True)
class Accepted:
    """A valid event with its validated record (None for deletes) and its ordering key."""

    index: int
    event: CdcEvent
    record: BaseModel | None
    key: str
    last_modified: str  # iso_utc text for the columns


@dataclass(frozen=True)
class Rejected:
    """An event that failed validation, kept whole for the dead-letter table."""

    index: int
    event_id: str | None
    reason: str
    payload: str

    def as_reply(self) -> dict[str, Any]:
        """The JSON naming this rejection in a reply."""
        return {"index": self.index, "event_id": self.event_id, "reason": self.reason}


def split_body(body: bytes, *, max_events: int | None = None) -> tuple[list[Any], bool]:
    """The raw events of a body and whether it was a batch; raises BodyError naming the problem."""
    try:
        # RFC 8259: JSON on the wire is UTF-8 (json.loads would also guess UTF-16/32 from bytes).
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BodyError(f"body is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise BodyError(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise BodyError(f"body must be a JSON object (one event or {{\"events\": [...]}}), got {type(data).__name__}")
    if "events" not in data:
        return [data], False
    events = data["events"]
    if not isinstance(events, list):
        raise BodyError(f"events must be a list, got {type(events).__name__}")
    if max_events is not None and len(events) > max_events:
        raise TooManyEvents(f"batch has {len(events)} events; the limit is {max_events} per request")
    return events, True


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


def _event_id(raw: Any) -> str | None:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _dumps(raw: Any) -> str:
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str)


def validate_event(index: int, raw: Any, where: str = "") -> Accepted | Rejected:
    """Validate one raw event; `where` prefixes error locations (e.g. "events[3]" or "line 17")."""
    try:
        event = CdcEvent.model_validate(raw)
    except ValidationError as exc:
        return Rejected(index, _event_id(raw), _describe(where, exc), _dumps(raw))
    record = None
    if event.operation != "delete":
        assert event.record is not None
        try:
            record = RECORD_MODELS[event.record_type].model_validate(event.record)
        except ValidationError as exc:
            return Rejected(index, event.event_id, _describe(f"{where}.record" if where else "record", exc), _dumps(raw))
    return Accepted(index, event, record, version_key(event.last_modified, event.operation, event.event_id),
                    iso_utc(event.last_modified))


def validate_events(raw_events: list[Any], *, batch: bool = True, start: int = 0) -> tuple[list[Accepted], list[Rejected]]:
    """Validate each event of a body; locations read `events[i]....` for batches."""
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for offset, raw in enumerate(raw_events):
        index = start + offset
        outcome = validate_event(index, raw, f"events[{index}]" if batch else "")
        (accepted if isinstance(outcome, Accepted) else rejected).append(outcome)  # type: ignore[arg-type]
    return accepted, rejected
