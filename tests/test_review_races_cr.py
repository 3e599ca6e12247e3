"""Review queue races (audit CR): a bulk triage notice names who triaged first however long the reviewer's name."""

from __future__ import annotations

import pytest

from handlers.review.observations import NOTICE_MAX_BYTES, triage_notice
from worker.decisions import Decision

# --- 3. a bulk triage notice with a long reviewer name -------------------------------------------------------------

def late(obs_id: int, reviewer: str, status: str = "rejected") -> Decision:
    return Decision(False, status, f"observation {obs_id} was already {status.replace('_', ' ')} by {reviewer} at "
                                   "2026-11-25 02:00:07 UTC; nothing changed")


@pytest.mark.parametrize("status", ["rejected", "approved_for_reuse"])
@pytest.mark.parametrize("obs_id", [7, 12345, 9_999_999_999])
def test_a_late_triage_names_who_even_with_a_reviewer_name_of_64_characters(obs_id, status):
    name = "r" * 64
    moved = [Decision(True, "rejected", "observation 6 rejected")]
    for notice in (triage_notice("rejected", moved + [late(obs_id, name, status)]),
                   triage_notice("rejected", moved + [late(obs_id, name, status)] * 3),
                   triage_notice("rejected", [late(obs_id, name, status)])):
        # Was "1 observation(s) rejected; 1 had already been triaged" (or "0 …"), naming neither which nor by whom.
        assert len(notice.encode()) <= NOTICE_MAX_BYTES, notice
        assert f"observation {obs_id} was already {status.replace('_', ' ')} by rrrrrrrrrrrr" in notice, notice
        assert notice.startswith("1 observation(s) rejected; ") or notice.endswith("; nothing changed")


def test_a_sentence_too_long_loses_its_time_then_its_names_tail():
    name = "r" * 64
    assert triage_notice("rejected", [late(12345, name, "approved_for_reuse")]) == (
        f"observation 12345 was already approved for reuse by {name}; nothing changed")
    moved = [Decision(True, "rejected", "observation 6 rejected")]
    assert triage_notice("rejected", moved + [late(12345, name)] * 2) == (
        "1 observation(s) rejected; 2 had already been triaged: observation 12345 was already rejected by "
        f"{name[:46]}… (and 1 more)")
    assert triage_notice("rejected", moved + [late(7, "bob")] * 3, limit=80) == (
        "1 observation(s) rejected; 3 had already been triaged")  # not even the name would be left


def test_a_late_triage_notice_keeps_the_whole_sentence_when_it_fits():
    assert triage_notice("rejected", [late(7, "bob")]) == (
        "observation 7 was already rejected by bob at 2026-11-25 02:00:07 UTC; nothing changed")
