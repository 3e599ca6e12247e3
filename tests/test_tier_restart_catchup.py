"""A worker down at the nightly tick (deploy, crash, reboot) fires that tick once when its scheduler starts."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

import cron
from worker import tiers
from worker.env import iso
from worker.leases import take_lease

CRONS = {"* * * * *": "hot", "*/15 * * * *": "warm", "0 3 * * *": "cold"}
NIGHT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def sched_env(env, monkeypatch):
    """The env with the three default crons and tiers whose jobs do nothing (the scheduler is under test)."""
    for tier in CRONS.values():
        monkeypatch.setitem(cron.JOBS, tier, [])
    triggers = env.settings.triggers.model_copy(update={"crons": list(CRONS), "tiers": CRONS})
    env.settings = env.settings.model_copy(update={"triggers": triggers})
    return env


def running_clock(start: datetime) -> Callable[[], datetime]:
    """A wall clock reading `start` now and running at real speed."""
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


async def earlier_run(env, tier, scheduled_at, status="ok"):
    """A cron_runs row as a previous process left it."""
    at = iso(scheduled_at)
    await env.db.write(lambda c: c.execute(tiers.INSERT_RUN, (tier, None, at, at, status, "old", at, None)))


async def runs(env):
    return [tuple(r) for r in await env.db.fetchall("SELECT tier, scheduled_at, status FROM cron_runs ORDER BY id")]


async def schedule_until(env, start, done: str):
    """Run the real scheduler from `start` until a finished row matches `done` (SQL condition), at most ~5 s."""
    env.clock = running_clock(start)
    stop = asyncio.Event()
    scheduler = asyncio.create_task(tiers.run_scheduler(env, stop))
    try:
        for _ in range(250):
            if await env.db.fetchone(f"SELECT 1 FROM cron_runs WHERE status <> 'running' AND {done}"):
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await scheduler


async def test_a_restart_past_the_nightly_tick_fires_it_once(sched_env):
    """The old process ran until 02:59, the new one starts at 03:00:02: the cold tier runs as of 03:00. Hot and
    warm missed 03:00 too but are left to their next tick (minutes away): a catch-up of theirs, started before
    the cold one finished, would be recorded by then."""
    env = sched_env
    await earlier_run(env, "cold", NIGHT - timedelta(days=1))
    await earlier_run(env, "warm", NIGHT - timedelta(minutes=15))
    await earlier_run(env, "hot", NIGHT - timedelta(minutes=1))
    await schedule_until(env, NIGHT + timedelta(seconds=2), "tier = 'cold' AND id > 3")
    assert await runs(env) == [
        ("cold", "2026-11-30T03:00:00.000Z", "ok"),
        ("warm", "2026-12-01T02:45:00.000Z", "ok"),
        ("hot", "2026-12-01T02:59:00.000Z", "ok"),
        ("cold", "2026-12-01T03:00:00.000Z", "ok"),
    ]


async def test_nights_missed_are_fired_once_as_of_the_latest(sched_env):
    """Down three nights: one run, as of the last of them (as after a wall clock jump)."""
    env = sched_env
    await earlier_run(env, "cold", NIGHT - timedelta(days=3))
    await schedule_until(env, NIGHT + timedelta(hours=5), "tier = 'cold' AND id > 1")
    assert await runs(env) == [("cold", "2026-11-28T03:00:00.000Z", "ok"), ("cold", "2026-12-01T03:00:00.000Z", "ok")]


async def test_a_missed_tick_waits_for_a_worker_cron_holding_the_tier(sched_env, monkeypatch):
    """While another holder has the tier's lease the catch-up does not fire (it would only be `skipped`: it used to
    be, and the night was lost if that holder then died); a later look, once the lease is gone and no run finished
    for the tick, fires it."""
    monkeypatch.setattr(tiers, "CATCH_UP_RECHECK", timedelta(seconds=0.2))
    env = sched_env
    await earlier_run(env, "cold", NIGHT - timedelta(days=1))
    start = NIGHT + timedelta(minutes=10)
    await env.db.write(take_lease, "cold", "worker-cron", start, 1)
    await schedule_until(env, start, "tier = 'cold' AND id > 1")
    assert (await runs(env))[1:] == [("cold", "2026-12-01T03:00:00.000Z", "ok")]
    started = (await env.db.fetchone("SELECT started_at FROM cron_runs WHERE id = 2"))[0]
    assert started >= iso(start + timedelta(seconds=1)), "fired only once the holder's lease had expired"


async def test_the_first_night_of_a_deployment_is_caught_up_too(sched_env):
    """Deployed at 01:00 (hot and warm ran, cold never had its night), down at 02:59, back at 03:00:02: the cold
    tier runs as of 03:00, as it would for a deployment with nights behind it."""
    env = sched_env
    await earlier_run(env, "hot", NIGHT - timedelta(hours=2))
    await earlier_run(env, "warm", NIGHT - timedelta(minutes=15))
    await schedule_until(env, NIGHT + timedelta(seconds=2), "tier = 'cold'")
    assert (await runs(env))[2:] == [("cold", "2026-12-01T03:00:00.000Z", "ok")]


@pytest.mark.parametrize("earlier", [
    [],  # a fresh database (first deployment, `worker dev`, a test server): no tier fires at start
    [("warm", NIGHT + timedelta(minutes=15), "ok")],  # deployed after the night's tick: nothing of it was missed
    [("cold", NIGHT, "failed")],  # the tick has its run, whatever its status
    [("cold", NIGHT - timedelta(days=1), "ok"), ("cold", NIGHT + timedelta(hours=6), "ok")],  # `worker cron` since
], ids=["fresh-database", "deployed-after-the-tick", "tick-already-run", "run-by-hand-since"])
async def test_nothing_is_fired_at_start_when_no_tick_was_missed(sched_env, earlier):
    """Started at 12:00:59.9 the scheduler fires hot at 12:01; a cold catch-up, started before it, would show."""
    env = sched_env
    for tier, at, status in earlier:
        await earlier_run(env, tier, at, status)
    await schedule_until(env, NIGHT.replace(hour=12, second=59, microsecond=900000), "tier = 'hot'")
    assert (await runs(env))[len(earlier):] == [("hot", "2026-12-01T12:01:00.000Z", "ok")]


def test_which_crons_catch_up_and_as_of_which_tick():
    assert tiers.catch_up_tick("0 3 * * *", NIGHT) == NIGHT  # a tick at the very moment of start counts
    assert tiers.catch_up_tick("0 3 * * *", NIGHT - timedelta(seconds=1)) == NIGHT - timedelta(days=1)
    assert tiers.catch_up_tick("* * * * *", NIGHT) is None
    assert tiers.catch_up_tick("*/15 * * * *", NIGHT) is None
    assert tiers.catch_up_tick("0 * * * *", NIGHT) is None  # hourly: the next tick stands in
    assert not tiers.tick_missed(NIGHT, None, False)  # no tier ran before the tick: a first start
    assert tiers.tick_missed(NIGHT, None, True)  # another tier ran before it: the first night was missed
    assert tiers.tick_missed(NIGHT, iso(NIGHT - timedelta(days=1)), False)
    assert not tiers.tick_missed(NIGHT, iso(NIGHT), True)
