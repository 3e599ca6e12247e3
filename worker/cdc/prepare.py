"""A validated CDC event as the rows it would write: pure, so it can run in another process.

Everything the mirror, the ledger and shipping_events need from an event's record is computed here,
before the write transaction looks at what the database holds. Which of these rows are written
(applied, stale, duplicate) is decided later by apply.py. A `Prepared` carries plain values only, so a
backfill can prepare in one process and apply in another (`encode_chunk` / `decode_chunk`).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from worker.cdc.intake import Accepted, Rejected
from worker.cdc.mirror import MIRRORS, dumps
from worker.cdc.payload_json import payload_json
from worker.cdc.versions import key_time

Row = tuple[Any, ...]


class Prepared(msgspec.Struct, array_like=True, gc=False, frozen=True):
    """One accepted event and what it would write."""

    index: int  # position in the batch
    event_id: str
    record_type: str
    record_id: str
    operation: str
    key: str  # version key (versions.version_key)
    last_modified: str  # column text
    row: Row | None  # the header's ns_id and data columns, raw_json last; None for a delete
    children: tuple[list[Row] | None, ...]  # per Mirror.children, its rows as inserted (parent id first); None: not given
    payload: str | None  # ledger payload text (a delete's names the customer the row held: apply builds it)
    status_word: str | None  # a fulfillment's shipStatus in one spelling


def prepare(acc: Accepted) -> Prepared:
    """The rows an accepted event would write."""
    ev = acc.event
    record = acc.record
    if record is None:
        return Prepared(acc.index, ev.event_id, ev.record_type, ev.record_id, ev.operation, acc.key,
                        acc.last_modified, None, (), None, None)
    mirror = MIRRORS[ev.record_type]
    raw = ev.record or {}
    payload = _payload_head(ev.record_id, ev.event_id, ev.operation, acc.last_modified,
                            mirror.customer(ev.record_id, record)) | mirror.payload(record)
    return Prepared(acc.index, ev.event_id, ev.record_type, ev.record_id, ev.operation, acc.key, acc.last_modified,
                    (ev.record_id, *mirror.row(record), dumps(raw)),
                    tuple([(ev.record_id, *row) for row in child.rows(record, raw)] if child.given(record) else None
                          for child in mirror.children),
                    payload_json(payload), getattr(record, "status_word", None))


def envelope_json(prepared: Prepared) -> str:
    """The event as JSON again (its record as applied), for a dead letter that a replay can read."""
    # The key's time, not the column text: cut to milliseconds, a replay would order below the event it was.
    event: dict[str, Any] = {"event_id": prepared.event_id, "record_type": prepared.record_type,
                             "record_id": prepared.record_id, "operation": prepared.operation,
                             "last_modified": key_time(prepared.key)}
    if prepared.row is not None:
        event["record"] = msgspec.json.decode(prepared.row[-1])
    return json.dumps(event)


def delete_payload(prepared: Prepared, customer: str | None) -> str:
    """The ledger payload of a delete: the record's customer is the one its row held."""
    return payload_json(_payload_head(prepared.record_id, prepared.event_id, prepared.operation,
                                      prepared.last_modified, customer))


def sublists_payload(prepared: Prepared, customer: str | None, sublists: list[str], keys: tuple[str, ...]) -> str:
    """The ledger payload of a stale event whose sublists won: its rows are news, its header is not.

    Names the tables written and keeps only the event payload's fields that describe those rows; the customer
    is the one the record's row holds."""
    described = msgspec.json.decode(prepared.payload) if prepared.payload is not None else {}
    return payload_json(_payload_head(prepared.record_id, prepared.event_id, prepared.operation,
                                      prepared.last_modified, customer)
                        | {"sublists": sublists} | {key: described.get(key) for key in keys})


def _payload_head(record_id: str, event_id: str, operation: str, last_modified: str,
                  customer: str | None) -> dict[str, Any]:
    """The fields every CDC ledger payload starts with, in one order, so every path writes the same text."""
    return {"record_id": record_id, "event_id": event_id, "operation": operation, "last_modified": last_modified,
            "customer_id": customer}


class Chunk(msgspec.Struct, array_like=True, gc=False):
    """A backfill chunk on its way from the reading process to the writing one."""

    prepared: list[Prepared]
    rejected: list[Rejected]
    position: int  # the progress bar's position after this chunk (bytes read)
    origin: tuple[int, int]  # where its reading began: (byte offset, line number), to find a refused event's line


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Chunk)


def encode_chunk(prepared: list[Prepared], rejected: list[Rejected], position: int, origin: tuple[int, int]) -> bytes:
    """A chunk as bytes for a pipe."""
    return _encoder.encode(Chunk(prepared, rejected, position, origin))


def decode_chunk(data: bytes | memoryview) -> tuple[list[Prepared], list[Rejected], int, tuple[int, int]]:
    """encode_chunk's inverse."""
    chunk = _decoder.decode(data)
    return chunk.prepared, chunk.rejected, chunk.position, chunk.origin
