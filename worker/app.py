"""create_app(env): the fetch entry. The lifespan owns the database, the scheduler and the SMTP door."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from handlers import customers, health, ns_webhook, scheduled
from handlers import inbound_email as inbound_email_door
from handlers.smtp import bind_smtp
from worker.intake import pipeline as intake
from worker.body_timeout import body_idle_timeout
from worker.demo import load_demo_if_empty
from worker.env import Env
from worker.logs import ASKED_METHOD, ensure_request_id_header, request_id_middleware
from worker.problems import EXCEPTION_HANDLERS
from worker.tiers import run_scheduler, run_tier
from handlers import proposed_actions, review_api
from handlers.review import review_router, static_file
from handlers.review.headers import security_headers
from handlers.responses import SECURITY_SCHEMES
from handlers.review.web import review_pages_or, template_config
from worker.auth import reviewers

log = logging.getLogger("worker.app")

ROUTES = [
    health.healthz,
    scheduled.trigger_scheduled,
    ns_webhook.ns_webhook,
    inbound_email_door.inbound_email,
    proposed_actions.propose,
    proposed_actions.list_proposed_actions,
    review_api.list_review_items,
    customers.find_customers,
    customers.customer_360,
    review_router,
    static_file,
]


def head_as_get(app: ASGIApp) -> ASGIApp:
    """HEAD answered as the GET it names, without the body: same status and headers (RFC 9110 9.3.2).

    Litestar routes HEAD only to explicit HEAD handlers (405 elsewhere) and its middleware runs after routing,
    so this wraps the app's ASGI handler. The server keeps its own scope (HEAD) and so expects no body either.
    """

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] != "http.response.start":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await app({**scope, "method": "GET", ASKED_METHOD: "HEAD"}, receive, headers_only)  # type: ignore[typeddict-item]

    return handle


def create_app(env: Env) -> Litestar:
    """Build the HTTP app around an env (tests pass their own)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        reviewers(env)  # fails fast on a malformed REVIEW_USERS; in dev prints the `dev` reviewer's password
        stop = asyncio.Event()  # the scheduler's; never the server's own, which a failed startup must not set
        tasks = []
        relay: asyncio.Task[bool] | None = None
        smtp = None
        # Everything opened is closed in `finally`, on a failed startup too: the database's reader threads
        # would otherwise keep the process alive after the server has given up.
        try:
            await env.db.open()
            if env.smtp_port:
                smtp = await bind_smtp(env)  # 127.0.0.1 only: a relay in front terminates public SMTP
            # `worker dev`: a year of demo data into an empty database, then one warm tick so the aging
            # view is populated now rather than at the next quarter hour.
            if env.extras.get("load_demo_data") and await load_demo_if_empty(env):
                await run_tier(env, "warm")
            if smtp is not None:
                await smtp.start_serving()
            if env.scheduler:
                tasks.append(asyncio.create_task(run_scheduler(env, stop), name="cron-scheduler"))
                if (stopping := env.extras.get("stopping")) is not None:
                    # The server's stop (SIGTERM/SIGINT), shared by worker serve: the scheduler stops firing at the
                    # signal, not after the last request in flight, which a slow upload can hold for hours.
                    relay = asyncio.create_task(stopping.wait(), name="scheduler-stop-relay")
                    relay.add_done_callback(lambda _: stop.set())
            yield
        finally:
            stop.set()
            if relay is not None:
                relay.cancel()
            if smtp is not None:
                smtp.close()
            await intake.shutdown(env)  # unfinished mail stays claimed; the hot tier retries it
            for task in tasks:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=35)
            await env.db.close()

    def provide_env() -> Env:
        return env

    app = Litestar(
        route_handlers=ROUTES,
        dependencies={"env": Provide(provide_env, sync_to_thread=False)},
        lifespan=[lifespan],
        # Under /review, an unmatched route (404/405) gets the review error page, not problem JSON.
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: review_pages_or(EXCEPTION_HANDLERS[HTTPException])},
        middleware=[request_id_middleware, body_idle_timeout(env.settings.limits.body_idle_seconds,
                                                                      env.settings.limits.body_min_bytes_per_second)],
        before_send=[ensure_request_id_header, security_headers],
        template_config=template_config(),
        openapi_config=OpenAPIConfig(title="GFS edge worker", version="0.1.0", path="/schema",
                                     components=Components(security_schemes=SECURITY_SCHEMES)),
        request_max_body_size=env.settings.limits.api_body_bytes,
        logging_config=None,  # keep the worker's JSON logging
        debug=False,
    )
    app.asgi_handler = head_as_get(app.asgi_handler)
    return app
