"""Hot-tier job: drain the event ledger into the workflows."""

from __future__ import annotations

from datetime import datetime

from worker.env import Env
from worker.flows.registry import WORKFLOWS
from worker.workflow_runner import drain


async def drain_ledger(env: Env, as_of: datetime) -> dict[str, int]:
    """Feed every workflow the events after its cursor (a failure is retried once per tick)."""
    return await drain(env, WORKFLOWS, tick=as_of)
