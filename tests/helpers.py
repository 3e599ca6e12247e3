"""Test support: run the real app on a real port in a background thread; sign webhook bodies."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from worker.app import create_app
from worker.env import Env
from worker.seaweed import free_port
from worker.serving import SHUTDOWN_GRACE_SECONDS, serve


def wait_for(probe: Callable[[], Any], timeout: float = 60, interval: float = 0.05) -> Any:
    """Poll until probe() returns something truthy; the value, or AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def needs(available: bool, what: str, *, installed_by_ci: bool = True) -> None:
    """Skip a test whose machine lacks `what` (Chromium, a tool, root); under CI fail instead: .ci/run installs
    all of it, so a skip there would be a test passing without having run. The shared corpora live outside the
    repository (installed_by_ci=False): without them the test skips, and .ci/run says so in its output."""
    if available:
        return
    if installed_by_ci and os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{what}: CI must run this test", pytrace=False)
    pytest.skip(what)


TEST_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TEST_INTAKE_TOKEN = "test-intake-token"
TEST_REVIEWER = ("mike", "correct horse battery staple")


class LiveServer:
    """The app served over real HTTP by the production serving code, on its own event loop thread."""

    def __init__(self, env: Env, *, server: str = "uvicorn", grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        self.env = env
        self._grace = grace
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = server
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="live-server", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = self.env.extras["stopping"] = asyncio.Event()  # as worker serve shares it (cli.py)
            await serve(create_app(self.env), "127.0.0.1", self.port, server=self._server, stop=self._stop,
                        grace=self._grace)

        try:
            self._loop.run_until_complete(main())
        except BaseException as exc:  # surfaced by start()/stop()
            self._error = exc

    def start(self, timeout: float = 30) -> LiveServer:
        """Start serving and wait until the app answers at all (the lifespan has run)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._error is not None:
                raise RuntimeError("live server failed to start") from self._error
            try:
                # Not /healthz: with a dependency down it rightly takes seconds. The router's own 404
                # proves the server is up and the lifespan (database open) has completed.
                httpx.get(self.url + "/__live", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError("live server did not start")

    def run(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the server's event loop (e.g. a direct env.db call) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def request_stop(self) -> None:
        """What SIGTERM does to `worker serve`: stop, without waiting for requests in flight to end."""
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def stopped(self, timeout: float) -> bool:
        """Whether serving has ended (serve() returned, the app's shutdown done), waiting up to `timeout`."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving; the app's lifespan closes the database."""
        self.request_stop()
        self._thread.join(30)
        if self._error is not None:
            raise self._error


@contextmanager
def live_server(env: Env, **kwargs: Any) -> Iterator[LiveServer]:
    """Context manager around LiveServer."""
    server = LiveServer(env, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
