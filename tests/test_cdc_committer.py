"""Group commit: concurrent batches share transactions, each still answered with its own result."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.cdc_support import customer, event
from worker.cdc import committer as committer_module
from worker.cdc.intake import validate_events
from worker.env import Env


def batch(n: int) -> Any:
    accepted, rejected = validate_events([event(f"sn-{n}", "customer", str(n), "2026-11-20T10:00:00Z",
                                                customer(str(n), f"C{n}"))])
    return accepted, rejected


async def test_concurrent_batches_share_transactions(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    groups: list[int] = []
    real = committer_module.apply_group

    def counting(conn: Any, batches: list[Any], *args: Any) -> Any:
        groups.append(len(batches))
        return real(conn, batches, *args)

    monkeypatch.setattr(committer_module, "apply_group", counting)
    committer = committer_module.GroupCommitter(env.db, source="webhook", dead_letter_source="ns-webhook")
    results = await asyncio.gather(*(committer.submit(*batch(n), "2026-11-21T00:00:00Z") for n in range(20)))
    assert [r.applied for r in results] == [1] * 20
    assert sum(groups) == 20 and len(groups) < 20  # coalesced
    rows = await env.db.fetchall("SELECT count(*) FROM customers")
    assert rows[0][0] == 20


async def test_a_failing_batch_does_not_sink_its_group(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    real = committer_module.apply_batch

    def flaky(conn: Any, accepted: list[Any], *args: Any, **kwargs: Any) -> Any:
        result = real(conn, accepted, *args, **kwargs)  # writes, then fails: the savepoint must undo it
        if accepted and accepted[0].event.event_id == "sn-3":
            raise RuntimeError("bug in the apply code")
        return result

    monkeypatch.setattr(committer_module, "apply_batch", flaky)
    committer = committer_module.GroupCommitter(env.db, source="webhook", dead_letter_source="ns-webhook")
    outcomes = await asyncio.gather(*(committer.submit(*batch(n), "2026-11-21T00:00:00Z") for n in range(6)),
                                    return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == ["BatchResult"] * 3 + ["RuntimeError"] + ["BatchResult"] * 2
    ids = [r[0] for r in await env.db.fetchall("SELECT ns_id FROM customers ORDER BY ns_id")]
    assert ids == ["0", "1", "2", "4", "5"]
    receipts = await env.db.fetchall("SELECT event_id FROM webhook_receipts WHERE event_id = 'sn-3'")
    assert receipts == []
    assert json.loads(json.dumps([o.counts() for o in outcomes if not isinstance(o, Exception)]))[0]["applied"] == 1
