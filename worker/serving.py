"""Run the ASGI app on this event loop with granian's embedded server (default) or uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

log = logging.getLogger("worker.serve")


async def serve(app: Any, host: str, port: int, *, server: str = "granian", stop: asyncio.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set); the app's lifespan runs inside."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    if server == "uvicorn":
        await _serve_uvicorn(app, host, port, stop)
    else:
        await _serve_granian(app, host, port, stop)


async def _serve_granian(app: Any, host: str, port: int, stop: asyncio.Event) -> None:
    from granian.constants import Interfaces
    from granian.server.embed import Server

    server = Server(app, address=host, port=port, interface=Interfaces.ASGI, log_enabled=False, backlog=1024)
    task = asyncio.create_task(server.serve())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        server.stop()
        await task
    waiter.cancel()
    task.result()


async def _serve_uvicorn(app: Any, host: str, port: int, stop: asyncio.Event) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # we own the signals
    task = asyncio.create_task(server.serve())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        server.should_exit = True
        await task
    waiter.cancel()
    task.result()
