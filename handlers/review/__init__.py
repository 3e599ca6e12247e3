"""The review-queue pages (SPEC 7): a Router under /review whose pages require a signed-in reviewer."""

from __future__ import annotations

from litestar import Router, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File

from handlers.review import actions, login, observations, orders
from handlers.review.web import PAGE_EXCEPTION_HANDLERS, STATIC, page_session

review_router = Router(
    path="/review",
    route_handlers=[
        login.login_page, login.login_submit, login.logout,
        orders.orders_list, orders.order_detail, orders.order_approve, orders.order_reject, orders.order_pdf,
        orders.order_email,
        actions.actions_list, actions.action_card, actions.action_decide,
        observations.observations_list, observations.observations_triage,
    ],
    dependencies={"session": Provide(page_session)},
    exception_handlers=PAGE_EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    include_in_schema=False,
)
# Served by name from the files static/ holds at startup: a request path never reaches the file system, so a
# name it refuses (a NUL byte, 300 characters, review.css/x) is a 404 like any unknown name, never a 500.
STATIC_FILES = {path.name: path for path in STATIC.iterdir() if path.is_file()}


@get("/static/{name:str}", name="static", include_in_schema=False, sync_to_thread=False)
def static_file(name: FromPath[str]) -> File:
    """A file of static/ (the review pages' stylesheet); HEAD as GET (worker/app.py)."""
    if (path := STATIC_FILES.get(name)) is None:
        raise NotFoundException("no such static file")
    return File(path, filename=name, content_disposition_type="inline")
