"""Actions tab: staged proposed actions shown readably (an email as an email), edit, approve, reject."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery

from handlers.review import queries as q
from handlers.review.web import Cursor, RowId, checked_form, redirect_with_notice, render
from worker.auth import Session
from worker.db import MAX_ROWID
from worker.decisions import (
    EDITABLE_FIELDS,
    MAX_EDIT,
    MAX_REASON,
    DecisionError,
    NotFound,
    decide_action,
    edit_action,
    plain_text,
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


@dataclass(frozen=True)
class Refused:
    """An action form the server refused, as posted: shown again so the reviewer's text is not lost."""

    action_id: int
    changes: Mapping[str, str]
    reason: str
    seen: str


def form_values(row: Mapping[str, Any], refused: Refused | None) -> dict[str, Any]:
    """What an action's form shows (pure): its stored text at its version, or for the refused form what was posted.

    When the action changed after the refused form was loaded, the form shows the current text and version
    (approving the posted text would overwrite an edit unseen), and the posted text beside it as `unsaved`.
    """
    editable = row["view"]["editable"]
    values = {"fields": {name: row["payload"][name] for name in editable}, "version": row["updated_at"],
              "reason": "", "unsaved": [], "refused": False}
    if refused is None or refused.action_id != row["id"]:
        return values
    posted = {name: text for name, text in refused.changes.items() if name in editable}
    values.update(reason=refused.reason, refused=True)
    if refused.seen == row["updated_at"]:
        values["fields"].update(posted)
        values["version"] = refused.seen
    else:
        values["unsaved"] = [(name, text) for name, text in posted.items()
                             if plain_text(text) != plain_text(row["payload"][name])]
    return values


def one_action(action_id: int) -> dict[str, Any]:
    """q.ACTIONS parameters for one row, the action `action_id` if it exists (pure; the caller checks the id)."""
    # The newest below id + 1; the largest rowid has no id past it (SQLite would overflow): the newest of all.
    return {"status": "", "kind": "", "customer": "", "cursor": action_id + 1 if action_id < MAX_ROWID else 0,
            "limit": 1}


async def _actions_page(request: Request[Any, Any, Any], env: Env, session: Session, *, status: str = "staged",
                        kind: str = "", customer: str = "", cursor: int = 0, code: int = 200,
                        notice: str | None = None, refused: Refused | None = None) -> Response[Any]:
    params = {"status": status, "kind": kind[:64], "customer": customer.strip()[:32], "cursor": cursor,
              "limit": 30}
    page = await q.rows(env, q.ACTIONS, params)
    if refused is not None and all(row["id"] != refused.action_id for row in page):
        # Not on the first page of staged actions (or no longer staged): shown first, so its text is not lost.
        page[:0] = [row for row in await q.rows(env, q.ACTIONS, one_action(refused.action_id))
                    if row["id"] == refused.action_id]
    for row in page:
        row["payload"] = json.loads(row["payload_json"] or "{}")
        row["view"] = describe_payload(row["kind"], row["payload"])
        row["form"] = form_values(row, refused)
    kinds = [r["kind"] for r in await q.rows(env, q.ACTION_KINDS, ())]
    extra = {"notice": notice} if notice else {}
    return render(request, env, "actions.html", session, code=code, tab="actions", actions=page, kinds=kinds,
                  statuses=STATUSES, status=status, kind=params["kind"], customer=params["customer"],
                  next_cursor=q.next_cursor(page, 30), first_page=not params["cursor"], max_edit=MAX_EDIT,
                  max_reason=MAX_REASON, **extra)


@get("/actions", include_in_schema=False)
async def actions_list(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                       status: FromQuery[str] = "staged", kind: FromQuery[str] = "", customer: FromQuery[str] = "",
                       cursor: Cursor = 0) -> Response[Any]:
    """Proposed actions (staged by default), newest first, 30 a page."""
    if status not in STATUSES:
        raise ValidationException(f"status: must be one of {', '.join(STATUSES)} (got {status!r})")
    return await _actions_page(request, env, session, status=status, kind=kind, customer=customer, cursor=cursor)


@post("/actions/{action_id:int}", include_in_schema=False, status_code=303)
async def action_decide(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                        action_id: RowId) -> Response[Any]:
    """One form per action: op=save (edits only), approve (with edits) or reject (reason required).

    The form carries the version it was loaded at; if the action changed since, nothing is done and the
    reviewer is shown its current text (and their own beside it). Any refusal answers 422 with the form as posted.
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
        # Shown again as posted, like the order form on a validation error: a redirect would reload the stored
        # text and lose the reviewer's rewrite.
        refused = Refused(action_id, changes, str(form.get("reason") or ""), seen)
        return await _actions_page(request, env, session, code=422, notice=f"Action {action_id}: {exc}",
                                   refused=refused)
    anchor = f"#action-{action_id}" if op == "save" or not decision.changed else ""
    return redirect_with_notice(env, f"/review/actions{anchor}", f"Action {action_id}: {decision.message}")
