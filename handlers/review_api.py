"""GET /api/review-items: the review queue as JSON, for scripts and chat tools (bearer or review session)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery, QueryParameter

from handlers.responses import BAD_REQUEST, BEARER_OR_SESSION, UNAUTHORIZED, UNAVAILABLE, int_query, problems
from handlers.review import queries as q
from handlers.review.approved import approved_currency
from worker.auth import COOKIE, bearer_ok, current_session
from worker.db import MAX_ROWID
from worker.env import Env
from worker.intake.lines import currency_text

# A status filter ("": every status); Litestar refuses any other value with a 400 naming the parameter, and the
# schema lists the choices.
ReviewStatus = Literal["", "pending", "needs_manual", "approved", "rejected"]
# The errors of the JSON read routes (their parameters, api_caller, the database).
READ_ERRORS = problems({400: BAD_REQUEST, 401: UNAUTHORIZED, 503: UNAVAILABLE})
CURSOR = int_query(0, MAX_ROWID, description="the next_cursor of the previous page")


async def api_caller(request: Request[Any, Any, Any], env: Env) -> str:
    """Who is asking: 'api' for a valid bearer INTAKE_TOKEN, else the signed-in reviewer; 401 otherwise."""
    if bearer_ok(env, request.headers.get("authorization")):
        return "api"
    session = await current_session(env, request.cookies.get(COOKIE))
    if session is None:
        raise NotAuthorizedException("sign in to /review or send Authorization: Bearer <INTAKE_TOKEN>",
                                     headers={"WWW-Authenticate": 'Bearer realm="gfs-worker"'})
    return session.reviewer


# Columns read to build the answer, not given as they are.
INTERNAL_COLUMNS = ("flags_json", "parsed_json", "payload_currency_json", "customer_currency_json")


def _approved_currency(row: dict[str, Any]) -> str | None:
    """The approved order's currency as its page names it (approved_currency); None for an item not approved."""
    if row["action_id"] is None:
        return None
    payload = {} if row["payload_currency_json"] is None else {"currency": json.loads(row["payload_currency_json"])}
    return approved_currency(payload, currency_text(row["customer_currency_json"]))


def _item(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in INTERNAL_COLUMNS}
    out["approved_currency"] = _approved_currency(row)
    out["flags"] = json.loads(row["flags_json"] or "[]")
    try:
        out["parsed"] = json.loads(row["parsed_json"]) if row["parsed_json"] else None
    except ValueError:
        out["parsed"] = None
    out["url"] = f"/review/orders/{row['id']}"
    return out


@get("/api/review-items", summary="Review items (purchase orders awaiting or past review)", tags=["review"],
     responses=READ_ERRORS, security=BEARER_OR_SESSION)
async def list_review_items(
    request: Request[Any, Any, Any], env: NamedDependency[Env],
    status: Annotated[ReviewStatus, QueryParameter(description="empty: every status")] = "",
    customer_id: FromQuery[str] = "",
    limit: Annotated[int, int_query(1, 200)] = 50,
    cursor: Annotated[int, CURSOR] = 0,
) -> dict[str, Any]:
    """Newest first; filter by status and customer_id; page with cursor (keyset on id)."""
    await api_caller(request, env)
    params = {"status": status, "customer": customer_id[:32], "cursor": cursor, "limit": limit}
    page = await q.rows(env, q.REVIEW_ITEMS_API, params)
    return {"items": [_item(r) for r in page], "next_cursor": q.next_cursor(page, limit)}
