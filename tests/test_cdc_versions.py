"""Version keys (pure): event ids in natural order, one-to-one, and keys stored before version 7 respelled."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from worker.cdc.versions import natural_id, respelled_key, version_key

MINUTE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_sequence_numbers_sort_by_number_and_padded_ones_as_before() -> None:
    ids = ["sn-10000000", "sn-9", "sn-10", "sn-0010", "sn-0009", "sn-8812345", "sn-09", "a", "a1", "ab", ""]
    assert sorted(ids, key=natural_id) == ["", "a", "a1", "ab", "sn-9", "sn-09", "sn-0009", "sn-10", "sn-0010",
                                           "sn-8812345", "sn-10000000"]
    assert version_key(MINUTE, "update", "sn-9") < version_key(MINUTE, "update", "sn-10")
    assert version_key(MINUTE, "update", "sn-10") < version_key(MINUTE, "delete", "sn-9")  # a delete still wins


def test_other_scripts_digits_are_letters_here() -> None:
    assert natural_id("sn-\u0669") == "sn-\u0669"  # ARABIC-INDIC NINE: no number to compare


def test_different_ids_never_share_a_spelling() -> None:
    spelled: dict[str, str] = {}
    for size in range(6):
        for chars in itertools.product("0179a-", repeat=size):
            event_id = "".join(chars)
            assert spelled.setdefault(natural_id(event_id), event_id) == event_id


@given(st.integers(0, 10**30), st.integers(0, 10**30), st.sampled_from(["sn-", "", "evt_"]))
def test_numbers_compare_as_numbers(a: int, b: int, prefix: str) -> None:
    assert (natural_id(f"{prefix}{a}") < natural_id(f"{prefix}{b}")) == (a < b)


def test_keys_stored_before_version_7_are_respelled_once() -> None:
    old = "2026-11-20T10:00:00.000000Z|1|sn-9"
    assert respelled_key(old) == version_key(MINUTE, "delete", "sn-9") == "2026-11-20T10:00:00.000000Z|1|sn-0019000"
    assert respelled_key("2026-11-20T10:00:00.000000Z|0|") == "2026-11-20T10:00:00.000000Z|0|"  # legacy_key
    assert respelled_key("") == "" and respelled_key(None) is None
    assert respelled_key("2026-11-20T10:00:00.000000Z|0|a|b7") == "2026-11-20T10:00:00.000000Z|0|a|b0017000"
