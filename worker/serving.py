"""Run the ASGI app on this event loop with granian's embedded server (default) or uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from typing import Any

from worker.logs import request_id_of, request_id_var

log = logging.getLogger("worker.serve")
# After a stop, requests still in flight get this long to end (as running tiers do: worker/tiers.py), then they
# are cancelled so that the app's own shutdown (writer, SMTP) runs: a slow upload could otherwise hold the
# process for hours, until a supervisor's SIGKILL skipped that shutdown altogether. A second signal cuts at once.
# Nothing acknowledged is lost: a batch commits before its 2xx, so a cut request is one its sender retries.
SHUTDOWN_GRACE_SECONDS = 30.0


class StartupError(Exception):
    """The server never served: the port could not be bound, or the app's lifespan failed (app_error)."""

    def __init__(self, message: str, app_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.app_error = app_error


async def serve(app: Any, host: str, port: int, *, server: str = "granian", stop: asyncio.Event | None = None,
                grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set); the app's lifespan runs inside. Requests in flight at the
    stop get `grace` seconds, or until a second signal, before they are cancelled.

    Raises StartupError, from the cause, when the server cannot start; both servers would otherwise
    report only that the lifespan failed (granian) or log the whole traceback (uvicorn).
    """
    stop = stop or asyncio.Event()
    cut_now = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        (cut_now if stop.is_set() else stop).set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
    lifespan = _Lifespan(app)
    deadline = asyncio.create_task(_cut_after_grace(lifespan, stop, cut_now, grace), name="shutdown-grace")
    try:
        await (_serve_uvicorn if server == "uvicorn" else _serve_granian)(lifespan, host, port, stop)
    except Exception as exc:
        if lifespan.started:
            raise
        if lifespan.error is not None:
            raise StartupError(_one_line(lifespan.error), lifespan.error) from lifespan.error
        if isinstance(exc, StartupError):
            raise
        raise StartupError(f"http://{host}:{port}: {_one_line(exc)}") from exc
    finally:
        deadline.cancel()
        await asyncio.wait({deadline})


async def _cut_after_grace(lifespan: _Lifespan, stop: asyncio.Event, cut_now: asyncio.Event, grace: float) -> None:
    await stop.wait()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(cut_now.wait(), grace)
    lifespan.cut_requests("a second signal" if cut_now.is_set() else f"{grace:g} s after the stop")


class _Lifespan:
    """The app, watching its lifespan (whether startup completed, and the exception when it did not) and the
    requests in flight, which a stop may cut."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.started = False
        self.error: BaseException | None = None
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.cut = False

    def cut_requests(self, why: str) -> None:
        """Cancel the requests in flight, and refuse (503) any that a kept-alive connection still sends."""
        self.cut = True
        if self.in_flight:
            log.warning("stopping: requests still in flight are cancelled",
                        extra={"requests": len(self.in_flight), "why": why})
        for task in list(self.in_flight):
            task.cancel()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            if self.cut:
                await _refuse(send, request_id_of(scope))
                return
            task = asyncio.current_task()  # each request runs in its own task under both servers
            if task is not None:
                self.in_flight.add(task)
            started = False
            rid: str | None = None

            async def watched_receive() -> Any:
                nonlocal rid
                rid = rid or request_id_var.get()  # the id the app's middleware gave this request
                return await receive()

            async def watched_send(message: Any) -> None:
                nonlocal started, rid
                rid = rid or request_id_var.get()
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await self.app(scope, watched_receive, watched_send)
            except asyncio.CancelledError:
                if not self.cut or started or scope["type"] != "http":
                    raise
                # Cut by the stop before answering: the server's own bare 500 would carry no request id and
                # read as our bug; a 503 with Retry-After tells the sender to try again, as a new request would.
                await _refuse(send, rid or request_id_of(scope))
            finally:
                self.in_flight.discard(task)  # type: ignore[arg-type]
            return

        async def watched_send(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.started = True
            elif message["type"] == "lifespan.startup.failed":
                message = {**message, "message": ""}  # the servers would log its traceback; serve() names the cause
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except BaseException as exc:
            if not self.started:
                self.error = _innermost(exc)
            raise


async def _refuse(send: Any, rid: str) -> None:
    """503 problem: the server is stopping; the connection closes, so the retry goes to a server still up."""
    body = json.dumps({"type": "about:blank", "title": "Service Unavailable", "status": 503,
                       "detail": "the server is stopping", "request_id": rid}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", b"5"), (b"connection", b"close"), (b"x-request-id", rid.encode())]})
    await send({"type": "http.response.body", "body": body})


def _innermost(exc: BaseException) -> BaseException:
    # Litestar runs the lifespan in a task group: the cause arrives wrapped in a group of one.
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()  # granian's bind error carries a Rust backtrace after its first line
    return text[0] if text else type(exc).__name__


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), or StartupError naming the address (a port in use is ours to say)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        raise StartupError(f"http://{host}:{port}: {exc.strerror or exc}") from exc
    # Its connections inherit it: asyncio sets TCP_NODELAY only on sockets made with proto IPPROTO_TCP, and
    # create_server's are proto 0, so uvicorn's replies waited out the client's delayed ACK (~40 ms a request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


async def _serve_granian(app: Any, host: str, port: int, stop: asyncio.Event) -> None:
    from granian.constants import Interfaces
    from granian.server.embed import Server

    # Granian binds with SO_REUSEPORT: beside another granian worker on the port it starts all the same, and
    # the kernel splits the traffic between two databases. A plain bind first refuses a port anyone listens on.
    _bind(host, port).close()
    server = Server(app, address=host, port=port, interface=Interfaces.ASGI, log_enabled=False, backlog=1024)
    task = asyncio.create_task(server.serve())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        server.stop()
        await asyncio.wait({task})
    waiter.cancel()
    task.result()


async def _serve_uvicorn(app: Any, host: str, port: int, stop: asyncio.Event) -> None:
    import uvicorn

    # Bound here, before the lifespan: a port in use is an OSError of ours, not uvicorn's log line and exit.
    sock = _bind(host, port)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # we own the signals

    async def run() -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit:  # uvicorn's way of saying the lifespan failed: serve() has the cause
            pass
        finally:
            sock.close()

    task = asyncio.create_task(run())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        server.should_exit = True
        await asyncio.wait({task})
    waiter.cancel()
    task.result()
    if not server.started and not stop.is_set():
        raise StartupError(f"http://{host}:{port}: the server stopped while starting")
