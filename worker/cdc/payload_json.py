"""Ledger payload text exactly as ledger.append_event writes it, at msgspec's speed where that is provably equal.

The stdlib encoding (compact separators, ensure_ascii, repr floats, default=str) is the contract. msgspec
writes the same bytes for ASCII strings (except DEL, which the stdlib escapes), ints, bools, None, and
finite floats in [1e-4, 1e16) or zero (where repr uses fixed notation too; outside it repr writes 1e-05 /
1e+16 and msgspec 0.00001 / 1e16, and msgspec writes NaN as null). Anything else takes the stdlib path.
tests/test_cdc_payload_json.py compares the two on random payloads.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

_stdlib = json.JSONEncoder(separators=(",", ":"), default=str).encode
_encode = msgspec.json.Encoder().encode
_PLAIN = frozenset((str, int, bool, type(None)))


def _plain(value: Any) -> bool:
    """True when msgspec's text of value is the stdlib's (strings are checked on the output instead)."""
    cls = value.__class__
    if cls is dict:
        for key, item in value.items():
            if key.__class__ is not str:
                return False
            kind = item.__class__
            if kind is float:  # inline: most of a payload is scalars, and a call per value costs more than the check
                if not (item == 0.0 or 1e-4 <= abs(item) < 1e16):
                    return False
            elif kind not in _PLAIN and not _plain(item):
                return False
        return True
    if cls is float:
        return value == 0.0 or 1e-4 <= abs(value) < 1e16  # False for NaN and infinities too
    if cls in _PLAIN:
        return True
    if cls is list:
        for item in value:
            if not _plain(item):
                return False
        return True
    return False  # dates, tuples, subclasses...: default=str and friends decide


def payload_json(payload: dict[str, Any]) -> str:
    """The compact ASCII JSON text of a ledger payload, identical to ledger.append_event's."""
    if _plain(payload):
        out = _encode(payload)
        if out.isascii() and b"\x7f" not in out:
            return out.decode("ascii")
    return _stdlib(payload)
