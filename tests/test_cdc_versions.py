"""Version keys (pure): event ids in natural order, one-to-one, keys stored before version 7 respelled; stale sublists."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from worker.cdc.versions import (
    APPLIED,
    STALE,
    Held,
    Step,
    natural_id,
    plan_record,
    respelled_key,
    version_key,
)

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


def step(index: int, minute: int, *, lines: bool = False, delete: bool = False) -> Step:
    """An event of a sales order (one sublist: its lines) at 15:<minute>."""
    moment = datetime(2026, 11, 2, 15, minute, tzinfo=UTC)
    return Step(index, version_key(moment, "delete" if delete else "update", f"ev-{index}"), delete,
                f"2026-11-02T15:{minute:02d}:00.000Z", (lines,))


def test_a_stale_event_whose_lines_win_gets_a_ledger_entry_of_its_own() -> None:
    # the newer header (lines left out) first, the older event that carried the lines second
    plan = plan_record(Held(), [step(0, 10), step(1, 5, lines=True)])
    assert plan.outcomes == {0: APPLIED, 1: STALE}
    assert plan.ledger == [(0, "created"), (1, "sublists")] and plan.sublists_won == {1: (0,)}
    assert plan.data_from == 0 and plan.sublists_from == {0: 1}


def test_lines_that_lose_or_come_with_the_newest_event_are_no_separate_news() -> None:
    assert plan_record(Held(), [step(0, 5, lines=True), step(1, 10)]).ledger == [(0, "created"), (1, "updated")]
    later = plan_record(Held(), [step(0, 10, lines=True), step(1, 5, lines=True)])  # older lines lose
    assert later.ledger == [(0, "created")] and later.sublists_won == {}


def test_lines_of_a_deleted_record_are_kept_quietly() -> None:
    # the tombstone keeps the newest rows NetSuite sent, but a deleted order's lines are nobody's news
    plan = plan_record(Held(), [step(0, 10, delete=True), step(1, 5, lines=True)])
    assert plan.ledger == [] and plan.sublists_from == {0: 1} and plan.outcomes == {0: APPLIED, 1: STALE}
