"""Actions tab: staged proposed actions shown readably (an email as an email), edit, approve, reject."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery

from handlers.review import queries as q
from handlers.review.web import Cursor, RowId, checked_form, redirect_with_notice, render
from worker.auth import Session
from worker.decisions import (
    EDITABLE_FIELDS,
    DecisionError,
    NotFound,
    decide_action,
    edit_action,
)
from worker.env import Env, iso

STATUSES = ("staged", "approved", "rejected", "executed")
EMAIL_HEADERS = ("to", "cc", "bcc", "reply_to")
# The API stages collection_email / call_task, the workflows send_collection_email / schedule_collection_call /
# send_dispute_confirmation: one label for each pair, so a reviewer sees one kind of thing under one name.
LABELS = {"create_sales_order": "Sales order for NetSuite", "collection_email": "Collection email",
          "send_collection_email": "Collection email", "call_task": "Call task",
          "schedule_collection_call": "Call task", "service_hold": "Service hold",
          "dispute_confirmation": "Dispute confirmation", "send_dispute_confirmation": "Dispute confirmation",
          "create_customer": "New customer", "pricing_review": "Pricing review"}


def _show(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "" if value is None else str(value)


def describe_payload(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Split a payload for display (pure): email headers, editable text fields, and everything else."""
    is_email = isinstance(payload.get("subject"), str) and isinstance(payload.get("body"), str)
    headers = [(k.replace("_", "-").title(), _show(payload[k])) for k in EMAIL_HEADERS if is_email and k in payload]
    editable = [name for name in EDITABLE_FIELDS if isinstance(payload.get(name), str)]
    shown = set(editable) | ({k for k in EMAIL_HEADERS if k in payload} if is_email else set())
    other = [(k.replace("_", " "), _show(v)) for k, v in payload.items() if k not in shown]
    return {"label": LABELS.get(kind, kind.replace("_", " ").capitalize()), "is_email": is_email,
            "headers": headers, "editable": editable, "fields": other}


@get("/actions", include_in_schema=False)
async def actions_list(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                       status: FromQuery[str] = "staged", kind: FromQuery[str] = "", customer: FromQuery[str] = "",
                       cursor: Cursor = 0) -> Response[Any]:
    """Proposed actions (staged by default), newest first, 30 a page."""
    if status not in STATUSES:
        raise ValidationException(f"status: must be one of {', '.join(STATUSES)} (got {status!r})")
    params = {"status": status, "kind": kind[:64], "customer": customer.strip()[:32], "cursor": cursor,
              "limit": 30}
    page = await q.rows(env, q.ACTIONS, params)
    for row in page:
        row["payload"] = json.loads(row["payload_json"] or "{}")
        row["view"] = describe_payload(row["kind"], row["payload"])
    kinds = [r["kind"] for r in await q.rows(env, q.ACTION_KINDS, ())]
    return render(request, env, "actions.html", session, tab="actions", actions=page, kinds=kinds, statuses=STATUSES,
                  status=status, kind=params["kind"], customer=params["customer"],
                  next_cursor=q.next_cursor(page, 30), first_page=not params["cursor"])


@post("/actions/{action_id:int}", include_in_schema=False, status_code=303)
async def action_decide(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                        action_id: RowId) -> Response[Any]:
    """One form per action: op=save (edits only), approve (with edits) or reject (reason required).

    The form carries the version it was loaded at; if the action changed since, nothing is done and the
    reviewer is sent back to its current text.
    """
    form = await checked_form(request, session)
    op = str(form.get("op") or "")
    changes = {name: str(form.get(name)) for name in EDITABLE_FIELDS if form.get(name) is not None}
    seen = str(form.get("version") or "")  # the action's updated_at when the page was rendered
    now = iso(env.clock())
    try:
        if op == "save":
            decision = await env.db.write(edit_action, action_id, session.reviewer, changes, now, seen=seen)
        elif op in ("approve", "reject"):
            decision = await env.db.write(decide_action, action_id, session.reviewer, op == "approve", now, seen=seen,
                                          reason=str(form.get("reason") or ""), changes=changes)
        else:
            raise ValidationException("op: must be save, approve or reject")
    except NotFound as exc:
        raise NotFoundException(str(exc)) from None
    except DecisionError as exc:
        return redirect_with_notice(env, f"/review/actions#action-{action_id}", f"Action {action_id}: {exc}")
    anchor = f"#action-{action_id}" if op == "save" or not decision.changed else ""
    return redirect_with_notice(env, f"/review/actions{anchor}", f"Action {action_id}: {decision.message}")
