"""A stop (SIGTERM, SIGINT) ends the in-process cron scheduler at once, not after the last request in flight.

The servers begin the app's lifespan shutdown only when every request has ended, and a slow upload may take
hours (limits.body_min_bytes_per_second); tiers kept firing all that time. worker serve shares its stop event.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import pytest

from tests.helpers import LiveServer, live_server
from worker.env import Env


def scheduler_running(live: LiveServer) -> bool:
    async def look() -> bool:
        return any(task.get_name() == "cron-scheduler" and not task.done() for task in asyncio.all_tasks())

    return bool(live.run(look()))


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_stop_ends_the_scheduler_while_a_request_is_still_in_flight(make_env: Callable[..., Env], server: str) -> None:
    env = make_env(scheduler=True)
    with live_server(env, server=server) as live:
        assert scheduler_running(live)
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            head = "POST /api/ns-webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            sock.sendall(f"{head}Content-Length: 1000\r\n\r\n{{".encode())  # the rest of the body never comes
            time.sleep(0.3)
            live.request_stop()
            deadline = time.monotonic() + 10
            while scheduler_running(live) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not scheduler_running(live)  # before: running until the request ended (the body's timeout here)
