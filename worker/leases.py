"""Leases in `cron_leases`: a key (a tier, or `workflow:NAME`) belongs to one holder until released or expired.

A crashed holder lets go by itself when its lease expires. A live one renews the lease from a heartbeat
while its work runs, and stops the work when a renewal finds the lease taken over (LeaseLost). The
writes that let go of a lease are retried while the database is busy, since until one lands the lease
blocks its tier or workflow.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from worker.db import DatabaseUnavailable
from worker.env import Env, iso

log = logging.getLogger("worker.cron")
T = TypeVar("T")

ACQUIRE_LEASE = """
INSERT INTO cron_leases (tier, holder, acquired_at, expires_at) VALUES (:tier, :holder, :now, :expires)
ON CONFLICT (tier) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at
WHERE cron_leases.expires_at <= :now OR cron_leases.holder = :holder
"""
LEASE_HOLDER = "SELECT holder FROM cron_leases WHERE tier = ?"
RENEW_LEASE = "UPDATE cron_leases SET expires_at = ? WHERE tier = ? AND holder = ?"
RELEASE_LEASE = "DELETE FROM cron_leases WHERE tier = ? AND holder = ?"

HEARTBEATS_PER_LEASE = 3  # renewals per lease period: two may come late before the lease lapses
RETRY_FIRST_DELAY, RETRY_MAX_DELAY = 0.5, 30.0  # seconds between tries of a write that lets go of a lease


class LeaseLost(Exception):
    """The lease is no longer this holder's: it expired and another run or the hot tier took it."""


def new_holder() -> str:
    """A lease holder id unique to this process and call."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(conn: sqlite3.Connection, key: str, holder: str, now: datetime, ttl: int) -> bool:
    """Take the lease `key` for ttl seconds if it is free, expired or already this holder's; True if now held."""
    params = {"tier": key, "holder": holder, "now": iso(now), "expires": iso(now + timedelta(seconds=ttl))}
    conn.execute(ACQUIRE_LEASE, params)
    return conn.execute(LEASE_HOLDER, (key,)).fetchone()[0] == holder


def release(conn: sqlite3.Connection, key: str, holder: str) -> None:
    """Let go of the lease (nothing when another holder has it by now)."""
    conn.execute(RELEASE_LEASE, (key, holder))


def renew(conn: sqlite3.Connection, key: str, holder: str, expires: datetime) -> bool:
    """Move the lease's expiry; False when it is no longer this holder's."""
    return conn.execute(RENEW_LEASE, (iso(expires), key, holder)).rowcount == 1


async def hold_lease(env: Env, key: str, ttl: int, work: Coroutine[Any, Any, T]) -> T | None:
    """Await work holding the lease `key`, renewed while it runs; None, work not run, when another holder has it.

    Raises LeaseLost (work stopped) when a renewal finds the lease taken over. `key` must not be a tier name.
    """
    holder = new_holder()

    async def let_go(got: bool) -> None:
        if got:
            await write_until_done(env, ttl, {"lease": key}, release, key, holder)

    try:
        got = await acquire(env, let_go, take_lease, key, holder, env.clock(), ttl)
    except BaseException:
        work.close()
        raise
    if not got:
        work.close()
        return None
    try:
        return await holding_lease(env, key, holder, ttl, work)
    finally:
        await asyncio.shield(write_until_done(env, ttl, {"lease": key}, release, key, holder))


async def acquire(env: Env, let_go: Callable[[T], Awaitable[None]], fn: Callable[..., T], *args: Any) -> T:
    """env.db.write(fn, *args) for a write that takes a lease; if cancelled meanwhile, let_go(its result).

    Cancelling the await does not stop the write: on the write thread (waiting for another process's lock,
    say) it commits anyway, and the lease it took would block its tier or workflow until it expires. So a
    cancellation waits for the write to land, and only then passes on, after let_go undid what it took.
    """
    write = asyncio.ensure_future(env.db.write(fn, *args))
    try:
        return await asyncio.shield(write)
    except asyncio.CancelledError:
        await asyncio.shield(_let_go_once_written(write, let_go))
        raise


async def _let_go_once_written(write: asyncio.Future[T], let_go: Callable[[T], Awaitable[None]]) -> None:
    try:
        result = await write
    except Exception:  # the write failed and rolled back: it took nothing
        return
    await let_go(result)


async def write_until_done(env: Env, ttl: int, about: dict[str, object], fn: Callable[..., object],
                           *args: Any) -> None:
    """env.db.write(fn, *args), retried with backoff while the database is busy, for at most ttl seconds.

    For the writes that let go of a lease: until one lands, the lease blocks its tier or workflow. After
    ttl the lease has expired anyway (and the hot tier marks the run abandoned), so giving up then costs nothing.
    """
    deadline, delay = time.monotonic() + ttl, RETRY_FIRST_DELAY
    while True:
        try:
            await env.db.write(fn, *args)
            return
        except DatabaseUnavailable as exc:
            if time.monotonic() + delay > deadline:
                log.error("cron could not let go of a lease; it expires by itself", extra={**about, "error": str(exc)})
                return
            log.warning("cron could not let go of a lease yet; retrying", extra={**about, "error": str(exc)})
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_DELAY)


async def holding_lease(env: Env, key: str, holder: str, ttl: int, work: Coroutine[Any, Any, T]) -> T:
    """Await work while a heartbeat renews the lease; if a renewal finds it lost, stop work, raise LeaseLost."""
    work_task = asyncio.ensure_future(work)
    beating = asyncio.create_task(_heartbeat(env, key, holder, ttl))
    try:
        await asyncio.wait({work_task, beating}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        beating.cancel()
        work_task.cancel()
        await asyncio.wait({work_task, beating})  # the work has stopped before the holder lets go of the lease
    if not beating.cancelled():
        beating.result()  # raises LeaseLost (the heartbeat only ends by raising)
    return work_task.result()


async def _heartbeat(env: Env, key: str, holder: str, ttl: int) -> None:
    while True:
        await asyncio.sleep(ttl / HEARTBEATS_PER_LEASE)
        await renew_lease(env, key, holder, ttl)


async def renew_lease(env: Env, key: str, holder: str, ttl: int, **about: object) -> None:
    """Push the lease's expiry to now + ttl, or raise LeaseLost when it is no longer this holder's.

    A busy database is only logged: the heartbeat's next beat comes before the lease lapses.
    """
    try:
        renewed = await env.db.write(renew, key, holder, env.clock() + timedelta(seconds=ttl))
    except DatabaseUnavailable:
        log.warning("cron lease renewal failed; the next beat retries", extra={"tier": key, **about})
        return
    if not renewed:
        raise LeaseLost(f"the {key} lease expired and another run or expire_stale_leases took it; the run stopped")
