"""When the dispute workflow redrafts a credit memo: on the first event that finds its apply list, and on the
first that finds a total (or currency) its drafts do not state.

NetSuite REST leaves a memo's apply list out unless it was expanded; the mirror keeps that apart from
"applied to nothing" (`credit_memo.cdc_apply_version` '' while no event has carried it, NULL: written with
the data, worker/cdc/versions.py). The rule is order_lines.py's for an order's lines, with one difference:
a memo is drafted at once without its apply list (the run's output says `apply_pending`), because the
draft is useful without it and a memo whose list never comes must not go undrafted. The first event handled
once the list is known, after runs that all waited, redrafts; later events are not its business.

A memo edited in NetSuite to another total after drafting ($300 to $250) would otherwise keep a confirmation
stating the old figure, which approval refuses (worker/memo_checks.py). Whichever event first finds a draft
stating another total than the mirror's memo (memo_change, the check approval makes) redrafts: at once while
a draft nobody touched still states it, and once only while just drafts a person kept do (the run's
`retotalled` names the total reported, so later updates do not name them again).

A redraft replaces only drafts nobody touched (the runner's test, worker/workflow_runner.py REDRAFT: still
staged, updated_at still created_at); a draft a person edited or decided is left as it is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.memo_checks import MEMO_NOW, MemoChange, memo_change

APPLY_STATE = "SELECT deleted_at, cdc_apply_version FROM credit_memo WHERE ns_id = ?"
# The memo's drafts, by their unique dedupe keys, with the memo as each states it (what memo_change compares).
DRAFTS = """
SELECT kind, status, status = 'staged' AND updated_at = created_at, decided_by,
       coalesce(json_extract(payload_json, '$.apply_pending'), 0), json_extract(payload_json, '$.customer_id'),
       json_extract(payload_json, '$.amount'), json_extract(payload_json, '$.currency')
FROM proposed_actions WHERE dedupe_key IN (SELECT value FROM json_each(?))
"""
# 1 when every concluded run on the memo drafted without its apply list, 0 once one had it (order_lines.WAITED).
# Not indexed by memo: read only for a memo whose confirmation draft still lacks its apply list, which after
# the first arrival means a person had edited or decided it.
WAITED = """
SELECT min(coalesce(json_extract(output_json, '$.apply_pending'), 0)) FROM workflow_run_log
WHERE workflow = ? AND json_extract(output_json, '$.credit_memo_id') = ? AND status = 'ok'
"""
# A concluded run on the memo that already reported this total (`retotalled` in its output): a draft a person
# kept at the old figure is named once (index workflow_run_log_memo).
RETOTALLED = """
SELECT 1 FROM workflow_run_log
WHERE workflow = ? AND json_extract(output_json, '$.credit_memo_id') = ? AND status = 'ok'
  AND json_extract(output_json, '$.retotalled') = ?
LIMIT 1
"""
REDRAFTED = "redrafted"


@dataclass(frozen=True)
class Draft:
    """One of the memo's proposals as the arrival of its apply list finds it."""

    kind: str
    status: str
    untouched: bool
    decided_by: str | None
    apply_pending: bool
    drafted: Mapping[str, Any]  # the memo as the draft states it: customer_id, amount, currency

    def left_as(self) -> str | None:
        """How a person left it (None when nobody touched it: it is redrafted)."""
        if self.untouched:
            return None
        if self.status == "staged":
            return "edited by a reviewer"
        return self.status + (f" by {self.decided_by}" if self.decided_by else "")


def memo_drafts(conn: sqlite3.Connection, memo_id: str, kinds: list[str]) -> dict[str, Draft]:
    """The memo's drafts of these kinds (dedupe key `kind:memo_id`), by kind, whatever their status."""
    keys = json.dumps([f"{kind}:{memo_id}" for kind in kinds])
    return {r[0]: Draft(r[0], r[1], bool(r[2]), r[3], bool(r[4]), {"customer_id": r[5], "amount": r[6],
                                                                 "currency": r[7]})
            for r in conn.execute(DRAFTS, (keys,))}


def arrival(conn: sqlite3.Connection, workflow: str, memo_id: str, kinds: list[str],
            gated_by: str) -> dict[str, Draft] | None:
    """The memo's drafts (by kind) when this event is the one its apply list arrives with, else None.

    `kinds` are the workflow's proposal kinds (dedupe key `kind:memo_id`); `gated_by` is the one whose
    draft says whether the apply list was known (the customer-facing one).
    """
    state = conn.execute(APPLY_STATE, (memo_id,)).fetchone()
    if state is None or state[0] or state[1] == "":
        return None  # gone, deleted, or still without its apply list: nothing new to draft from
    drafts = memo_drafts(conn, memo_id, kinds)
    gate = drafts.get(gated_by)
    if gate is None or not gate.apply_pending:
        return None  # nothing drafted (the memo was deleted first, or the run gave up), or drafted with the list
    return drafts if conn.execute(WAITED, (workflow, memo_id)).fetchone()[0] == 1 else None


def outcomes(drafts: dict[str, Draft], kinds: list[str]) -> dict[str, str]:
    """What a redraft does to each kind: 'redrafted', or how a person left it."""
    return {kind: (drafts[kind].left_as() if kind in drafts else None) or REDRAFTED for kind in kinds}


def new_total(conn: sqlite3.Connection, workflow: str, memo_id: str, kinds: list[str],
              stated_by: str) -> tuple[dict[str, Draft], MemoChange] | None:
    """The memo's drafts (by kind) and how its total changed, when this event is the one to redraft for a total
    (or currency) its drafts do not state, else None.

    Only such a change counts (memo_change's `withdrawn` False): a deleted, voided or moved memo is withdrawn,
    not redrafted. The change named is the one `stated_by`'s draft shows (the customer-facing one), else the
    first other kind's. News while a draft nobody touched states another total (the redraft replaces it), else
    until a run has reported this total.
    """
    now = conn.execute(MEMO_NOW, (memo_id,)).fetchone()
    if now is None:
        return None
    drafts = memo_drafts(conn, memo_id, kinds)
    changed = {kind: change for kind in [stated_by, *kinds] if kind in drafts
               and (change := memo_change(drafts[kind].drafted, tuple(now))) and not change.withdrawn}
    if not changed:
        return None
    change = next(iter(changed.values()))
    if any(drafts[kind].untouched for kind in changed):
        return drafts, change
    return None if conn.execute(RETOTALLED, (workflow, memo_id, change.now)).fetchone() else (drafts, change)
