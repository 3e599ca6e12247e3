"""Actions tab: staged proposed actions shown readably (an email as an email), edit, approve, reject."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery
from litestar.response import Redirect

from handlers.review import queries as q
from handlers.review.action_kinds import kind_filter, kind_options
from handlers.review.approved import action_url
from handlers.review.payload_text import describe_payload
from handlers.review.web import (
    STALE_TOKEN,
    Cursor,
    RowId,
    posted_form,
    redirect_with_notice,
    render,
)
from worker.auth import Session
from worker.db import MAX_ROWID
from worker.decisions import (
    EDITABLE_FIELDS,
    MAX_EDIT,
    MAX_REASON,
    DecisionError,
    DuplicateOrder,
    NotFound,
    decide_action,
    edit_action,
    plain_text,
)
from worker.env import Env, iso
from worker.pricing import standard_program
from worker.quote_checks import PriceRules
from worker.workflow_runner import history_cutoff

STATUSES = ("staged", "approved", "rejected", "executed")
PAGE = 30  # actions a page
# The statuses each decision leaves an action in (an approved action is executed later, still the same decision).
DECIDED = {"approve": ("approved", "executed"), "reject": ("rejected",)}
NAMES_SHOWN = 5  # customers named when a customer filter that is not an id matches nothing


def price_rules(env: Env) -> PriceRules:
    """What a price review is judged by on approval, as its workflow judges it (quote_review.handle; a drain running
    now judges history by history_cutoff, as is_old_change does)."""
    today = env.clock().astimezone(env.settings.timezone).date().isoformat()
    return PriceRules(standard_program(env.settings), env.settings.pricing.tolerance_pct, today, history_cutoff(env),
                      env.settings.workflows.history_days)


def list_params(filters: Mapping[str, Any], known: Iterable[str], limit: int = PAGE) -> dict[str, Any]:
    """q.ACTIONS parameters for the list's filters and page (pure)."""
    return {"status": filters["status"], "kinds": json.dumps(kind_filter(filters["kind"], known)[1]),
            "customer": filters["customer"], "cursor": filters["cursor"], "limit": limit}


@dataclass(frozen=True)
class Refused:
    """An action form the server refused, as posted: shown again so the reviewer's text is not lost."""

    action_id: int
    changes: Mapping[str, str]
    reason: str
    seen: str
    offer_duplicate: tuple[str, ...] = ()  # refused as existing already: the copies "approve anyway" would cover
    error: str = ""  # why the decision was refused, shown on the card (beside its field when it is about one)


def refused_field(message: str, editable: Iterable[str]) -> str | None:
    """The form field a refusal's message is about (pure): the reason, an editable field, or None for the action.

    worker.decisions words each field's refusal after it ("a reason is required to reject", "subject must be one
    line", "body cannot be empty"), so the card can print it beside that field and focus it.
    """
    if message.startswith(("a reason ", "the reason ")):
        return "reason"
    return next((name for name in editable if message.startswith(f"{name} ")), None)


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
    values.update(reason=refused.reason, refused=True, error=refused.error,
                  error_field=refused_field(refused.error, editable) if refused.error else None)
    closed = row.get("status", "staged") != "staged"
    if refused.seen == row["updated_at"] and not closed:
        values["fields"].update(posted)
        values["version"] = refused.seen
        if refused.offer_duplicate:  # the copies the notice names; a changed or closed action is reviewed again
            values["offer_duplicate"] = refused.offer_duplicate
    else:
        values["unsaved"] = [(name, text) for name, text in posted.items()
                             if plain_text(text) != plain_text(row["payload"][name])]
        # A closed action's form has no reason field: a reason typed for it is kept beside it too.
        if closed and plain_text(refused.reason) not in ("", row["decision_reason"] or ""):
            values["unsaved"].append(("reason", refused.reason))
    return values


def double_submit(row: Mapping[str, Any], decided_version: str | None, reviewer: str, op: str, refused: Refused) -> bool:
    """Whether a form posted for a closed action is this reviewer's own decision sent again (pure).

    Only then is "already decided" news and nothing of theirs lost: the action is closed by them with the same
    decision, from the version their form shows, with the text they posted. Anything else (closed by someone
    else, by a workflow, or from an older page) is a refusal that shows who, when and why, and keeps their text.
    """
    if row["decided_by"] != reviewer or row["status"] not in DECIDED.get(op, ()):
        return False
    if not refused.seen or refused.seen != decided_version:
        return False
    if op == "reject":  # a rejection keeps no edits: only its reason is the reviewer's
        return plain_text(refused.reason) == (row["decision_reason"] or "")
    payload = json.loads(row["payload_json"] or "{}")
    return all(plain_text(text) == plain_text(payload[name]) for name, text in refused.changes.items()
               if isinstance(payload.get(name), str))


def closed_notice(row: Mapping[str, Any]) -> str:
    """Why a form for an action closed since it was loaded did nothing (pure): who closed it, when and why."""
    who = f" by {row['decided_by']}" if row["decided_by"] else ""
    at = row["decided_at"] or row["updated_at"]
    why = f": {row['decision_reason']}" if row["decision_reason"] else ""
    return (f"{row['status']}{who} at {at[:19].replace('T', ' ')} UTC, before your form was sent{why}. "
            "Nothing was saved or decided; your text is kept on its card, not saved")


def page_filters(form: Mapping[str, Any]) -> dict[str, Any]:
    """The list filters and page a form was posted from (its hidden fields), checked as the list's query is."""
    status = str(form.get("status") or "staged")
    if status not in STATUSES:
        raise ValidationException(f"status: must be one of {', '.join(STATUSES)} (got {status!r})")
    cursor = str(form.get("cursor") or "0")
    if not cursor.isascii() or not cursor.isdigit() or int(cursor) > MAX_ROWID:
        raise ValidationException(f"cursor: must be a row id (got {cursor[:32]!r})")
    return {"status": status, "kind": str(form.get("kind") or "")[:64],
            "customer": str(form.get("customer") or "").strip()[:32], "cursor": int(cursor)}


def page_url(filters: Mapping[str, Any], anchor: int | None = None) -> str:
    """The list page of these filters (defaults left out), at action `anchor`'s card if given (pure)."""
    query = {name: filters[name] for name, default in (("status", "staged"), ("kind", ""), ("customer", ""),
                                                       ("cursor", 0)) if filters[name] != default}
    url = "/review/actions" + (f"?{urlencode(query)}" if query else "")
    return url if anchor is None else f"{url}#action-{anchor}"


def one_action(action_id: int) -> dict[str, Any]:
    """q.ACTIONS parameters for one row, the action `action_id` if it exists (pure; the caller checks the id)."""
    # The newest below id + 1; the largest rowid has no id past it (SQLite would overflow): the newest of all.
    return {"status": "", "kinds": "[]", "customer": "", "cursor": action_id + 1 if action_id < MAX_ROWID else 0,
            "limit": 1}


async def _actions_page(request: Request[Any, Any, Any], env: Env, session: Session, *, status: str = "staged",
                        kind: str = "", customer: str = "", cursor: int = 0, code: int = 200,
                        notice: str | None = None, refused: Refused | None = None) -> Response[Any]:
    known = await _known_kinds(env)
    # As asked (a raw kind stays one in links and forms); the menu and the empty message name its label.
    filters = {"status": status, "kind": kind[:64], "customer": customer.strip()[:32], "cursor": cursor}
    group = kind_filter(filters["kind"], known)[0]
    page = await q.rows(env, q.ACTIONS, list_params(filters, known))
    next_cursor = q.next_cursor(page, PAGE)  # of the page as listed, before a refused action is put in front
    if refused is not None and all(row["id"] != refused.action_id for row in page):
        # Not on this page (or no longer listed: closed, or outside the filters): shown first, so its text is not lost.
        page[:0] = [row for row in await q.rows(env, q.ACTIONS, one_action(refused.action_id))
                    if row["id"] == refused.action_id]
    for row in page:
        row["payload"] = json.loads(row["payload_json"] or "{}")
        row["view"] = describe_payload(row["kind"], row["payload"])
        row["form"] = form_values(row, refused)
    # A name typed for an id matches nothing: the page says the filter takes an id and names the customers meant.
    named = (await _customers_named(env, filters["customer"])
             if not page and filters["customer"] and not filters["customer"].isdecimal() else None)
    extra = {"notice": notice} if notice else {}
    return render(request, env, "actions.html", session, code=code, tab="actions", actions=page,
                  kinds=kind_options(known, group), statuses=STATUSES, status=status, kind=filters["kind"],
                  kind_label=group, customer=filters["customer"], named=named, cursor=cursor,
                  next_cursor=next_cursor, first_page=not cursor, max_edit=MAX_EDIT, max_reason=MAX_REASON, **extra)


async def _known_kinds(env: Env) -> list[str]:
    return [r["kind"] for r in await q.rows(env, q.ACTION_KINDS, ())]


async def _customers_named(env: Env, text: str) -> list[dict[str, Any]]:
    # Imported here: handlers.customers imports handlers.review_api, which imports this package.
    from handlers.customers import search

    return await search(env, text, NAMES_SHOWN)


@get("/actions", include_in_schema=False)
async def actions_list(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                       status: FromQuery[str] = "staged", kind: FromQuery[str] = "", customer: FromQuery[str] = "",
                       cursor: Cursor = 0) -> Response[Any]:
    """Proposed actions (staged by default), newest first, 30 a page."""
    if status not in STATUSES:
        raise ValidationException(f"status: must be one of {', '.join(STATUSES)} (got {status!r})")
    return await _actions_page(request, env, session, status=status, kind=kind, customer=customer, cursor=cursor)


@get("/actions/{action_id:int}", include_in_schema=False)
async def action_card(env: NamedDependency[Env], session: NamedDependency[Session], action_id: RowId) -> Redirect:
    """A link to one action: a 303 to its card on the Actions tab, in its status's list (a form shown again as
    posted leaves this address in the bar, so a reload lands on the card too); 404 for an action that is none."""
    found = await q.rows(env, q.ACTION_STATUS, (action_id,))
    if not found:
        raise NotFoundException(f"proposed action {action_id} does not exist")
    return Redirect(action_url(action_id, found[0]["status"]), status_code=303)


async def _action_now(env: Env, action_id: int) -> dict[str, Any] | None:
    found = await q.rows(env, q.ACTIONS, one_action(action_id))
    return found[0] if found and found[0]["id"] == action_id else None


@post("/actions/{action_id:int}", include_in_schema=False, status_code=303)
async def action_decide(request: Request[Any, Any, Any], env: NamedDependency[Env], session: NamedDependency[Session],
                        action_id: RowId) -> Response[Any]:
    """One form per action: op=save (edits only), approve (with edits) or reject (reason required).

    The form carries the version it was loaded at; if the action changed since (edited, or closed by someone
    else or a workflow), nothing is done and the reviewer is shown it as it is now, who changed it, and their own
    text beside it. Any refusal answers 422 with the form as posted, on the list page (filters, page) it came from,
    as does a form loaded under an earlier sign-in (its token not this session's; nothing is done). A Save sent
    again whose text this reviewer's own save made the current version redirects ("already saved; nothing changed").
    """
    form, current = await posted_form(request, session)
    filters = page_filters(form)
    op = str(form.get("op") or "")
    changes = {name: str(form.get(name)) for name in EDITABLE_FIELDS if form.get(name) is not None}
    seen = str(form.get("version") or "")  # the action's updated_at when the page was rendered
    refused = Refused(action_id, changes, str(form.get("reason") or ""), seen)
    if not current:  # loaded under an earlier sign-in: shown again as posted, nothing done
        return await _actions_page(request, env, session, code=422, notice=f"Action {action_id}: {STALE_TOKEN}",
                                   refused=refused, **filters)
    now = iso(env.clock())
    try:
        if op == "save":
            decision = await env.db.write(edit_action, action_id, session.reviewer, changes, now, seen=seen)
        elif op in ("approve", "reject"):
            # "Approve anyway" consents to the copies the refusal showed (their keys, posted beside the box) only.
            shown = str(form.get("duplicate_of") or "").split() if form.get("approve_duplicate") == "1" else []
            decision = await env.db.write(decide_action, action_id, session.reviewer, op == "approve", now, seen=seen,
                                          reason=refused.reason, changes=changes, approve_anyway=frozenset(shown),
                                          standard_terms=env.settings.programs["standard"].payment_terms_days,
                                          price_rules=price_rules(env))
        else:
            raise ValidationException("op: must be save, approve or reject")
    except NotFound as exc:
        raise NotFoundException(str(exc)) from None
    except DecisionError as exc:
        # Shown again as posted, like the order form on a validation error: a redirect would reload the stored
        # text and lose the reviewer's rewrite. A copy refused as existing already is offered "approve anyway".
        refused = replace(refused, error=str(exc))
        if isinstance(exc, DuplicateOrder):
            refused = replace(refused, offer_duplicate=exc.copies)
        return await _actions_page(request, env, session, code=422, notice=f"Action {action_id}: {exc}",
                                   refused=refused, **filters)
    if not decision.changed and decision.status != "staged" and (action := await _action_now(env, action_id)):
        # Closed before this form was sent. A decided row changes no more, so reading it after the write is safe.
        decided = await env.db.fetchone(q.DECIDED_VERSION, {"id": action_id, "entity": str(action_id),
                                                            "decided_at": action["decided_at"] or ""})
        if not double_submit(action, decided[0] if decided else None, session.reviewer, op, refused):
            return await _actions_page(request, env, session, code=422, refused=refused, **filters,
                                       notice=f"Action {action_id}: {closed_notice(action)}")
    # Back to the page the form was on, at the action's card if that page still lists it (an approved one has left).
    listed = {row["id"] for row in await q.rows(env, q.ACTIONS, list_params(filters, await _known_kinds(env)))}
    return redirect_with_notice(request, env, page_url(filters, action_id if action_id in listed else None),
                                f"Action {action_id}: {decision.message}")
