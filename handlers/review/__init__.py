"""The review-queue pages (SPEC 7): a Router under /review whose pages require a signed-in reviewer."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from handlers.review import actions, login, observations, orders
from handlers.review.web import PAGE_EXCEPTION_HANDLERS, STATIC, page_session

review_router = Router(
    path="/review",
    route_handlers=[
        login.login_page, login.login_submit, login.logout,
        orders.orders_list, orders.order_detail, orders.order_approve, orders.order_reject, orders.order_pdf,
        orders.order_email,
        actions.actions_list, actions.action_decide,
        observations.observations_list, observations.observations_triage,
    ],
    dependencies={"session": Provide(page_session)},
    exception_handlers=PAGE_EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    include_in_schema=False,
)
static_router = create_static_files_router(path="/static", directories=[STATIC], name="static",
                                           include_in_schema=False)
