"""Test-only entry point: `worker cron ...` with a slow job spliced into the warm tier, so a test can kill it mid-run.

Environment: SLOW_JOB_MARKER (a file written when the slow job starts), SLOW_JOB_AT (`before` or `after` the
aging job). The aging job is added to the tier if the job table does not list it yet.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import cron
from cron.aging import refresh_aging
from worker.cli import main


async def slow_job(env: Any, as_of: datetime) -> dict[str, int]:
    """Say we are inside (marker file), then take far longer than any test waits."""
    Path(os.environ["SLOW_JOB_MARKER"]).write_text(str(os.getpid()))
    await asyncio.sleep(600)
    return {"slept": 600}


def splice(jobs: list[tuple[str, Any]], at: str) -> list[tuple[str, Any]]:
    """The warm jobs with the aging job present and the slow job before or after it."""
    if not any(job is refresh_aging for _, job in jobs):
        jobs = [("refresh_aging", refresh_aging), *jobs]
    index = next(i for i, (_, job) in enumerate(jobs) if job is refresh_aging)
    position = index if at == "before" else index + 1
    return [*jobs[:position], ("slow_job", slow_job), *jobs[position:]]


if __name__ == "__main__":
    cron.JOBS["warm"] = splice(list(cron.JOBS["warm"]), os.environ.get("SLOW_JOB_AT", "after"))
    sys.exit(main(sys.argv[1:]))
