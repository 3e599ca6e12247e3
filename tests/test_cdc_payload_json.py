"""payload_json: the same text as ledger.append_event's stdlib encoding, whatever the payload holds."""

from __future__ import annotations

import json
import random
from datetime import date

from worker.cdc.payload_json import payload_json

STDLIB = json.JSONEncoder(separators=(",", ":"), default=str).encode
AWKWARD = [None, True, False, 0, -5, 2**70, 0.0, -0.0, 1e-5, 1e-4, 9.999e-5, 1e16, 9e15, 1e22, float("nan"),
           float("inf"), float("-inf"), 300.0, 0.1 + 0.2, "plain", "é", "日本", "\x7f", "\x00\x1f\"\\\n\t", "</>",
           "1e5", date(2026, 11, 20), (1, 2), [1, "x", {"a": 1.5e-7}], {"nested": [None, 12.5]}]


def test_matches_the_stdlib_on_awkward_values() -> None:
    for value in AWKWARD:
        assert payload_json({"v": value}) == STDLIB({"v": value}), value


def test_matches_the_stdlib_on_random_payloads() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        payload = {f"k{j}": rng.choice([*AWKWARD, rng.uniform(-1e6, 1e6), 10 ** rng.uniform(-6, 18),
                                        "".join(chr(rng.randrange(0, 300)) for _ in range(3))])
                   for j in range(rng.randint(0, 6))}
        assert payload_json(payload) == STDLIB(payload), payload


def test_common_payload_takes_msgspec_and_is_valid_json() -> None:
    payload = {"record_id": "so1", "total": 300.0, "status": None, "applied": [{"amount": 12.5, "type": "Invoice"}]}
    assert json.loads(payload_json(payload)) == payload
