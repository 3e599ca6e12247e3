"""Observations tab: reflexion_log rows needing review; approve for reuse or reject, one at a time or in bulk."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery

from handlers.review import queries as q
from handlers.review.web import (
    NOTICE_MAX_BYTES,
    STALE_TOKEN,
    Cursor,
    posted_form,
    redirect_with_notice,
    render,
)
from worker.auth import Session
from worker.db import MAX_ROWID
from worker.decisions import (
    NOTHING_CHANGED,
    TRIAGE,
    Decision,
    NotFound,
    triage_observations,
)
from worker.env import Env, iso

STATUSES = ("needs_review", "approved_for_reuse", "rejected", "expired")
MAX_BULK = 200
NOTHING_TICKED = "Nothing was triaged: tick the observations first, then choose approve for reuse or reject."


class NothingTicked(ValidationException):
    """The bulk buttons were pressed with no observation ticked: the page is shown again, not an error."""


@get("/observations", include_in_schema=False)
async def observations_list(request: Request[Any, Any, Any], env: NamedDependency[Env],
                            session: NamedDependency[Session], status: FromQuery[str] = "needs_review",
                            cursor: Cursor = 0) -> Response[Any]:
    """Observations with a status (needs_review by default), newest first, 50 a page."""
    if status not in STATUSES:
        raise ValidationException(f"status: must be one of {', '.join(STATUSES)} (got {status!r})")
    return await _observations_page(request, env, session, status=status, cursor=cursor)


async def _observations_page(request: Request[Any, Any, Any], env: Env, session: Session, *, status: str,
                             cursor: int, code: int = 200, notice: str | None = None,
                             ticked: list[int] | None = None) -> Response[Any]:
    page = await q.rows(env, q.OBSERVATIONS, {"status": status, "cursor": cursor, "limit": q.PAGE_SIZE})
    next_cursor = q.next_cursor(page, q.PAGE_SIZE)  # of the page as listed, before ticked rows are put in front
    if ticked:
        # A ticked row moved off this page (newer ones pushed it down) is shown first, so the selection is whole.
        listed = {row["id"] for row in page}
        page[:0] = [row for row in await q.rows(env, q.TICKED_OBSERVATIONS, (json.dumps(ticked),))
                    if row["id"] not in listed]
        shown = {row["id"] for row in page}
        if gone := [f"#{i}" for i in ticked if i not in shown]:  # triaged since (or no such row): not shown
            named = ", ".join(gone[:10]) + (" …" if len(gone) > 10 else "")
            notice = " ".join(filter(None, [notice, f"Also ticked, no longer awaiting review: {named}."]))
    for row in page:
        row["tags"] = json.loads(row["tags_json"] or "[]")
    extra = {"notice": notice} if notice else {}
    return render(request, env, "observations.html", session, code=code, tab="observations", observations=page,
                  status=status, statuses=STATUSES, next_cursor=next_cursor, first_page=not cursor, cursor=cursor,
                  ticked=set(ticked or ()), **extra)


def selection(form: Any) -> tuple[list[int], str]:
    """(ids, decision) from the bulk form: a row button `row=ID:decision`, or checked `id`s plus `op`."""
    row = str(form.get("row") or "")
    if row:
        obs_id, _, decision = row.partition(":")
        field, ids = "row", [obs_id]
    else:
        field, ids, decision = "id", form.getall("id", []), str(form.get("op") or "")
    if decision not in TRIAGE:
        raise ValidationException("choose approve for reuse or reject")
    if not ids:
        raise NothingTicked("select at least one observation")
    if len(ids) > MAX_BULK:
        raise ValidationException(f"select between 1 and {MAX_BULK} observations")
    return [_observation_id(field, str(i)) for i in ids], decision


def _observation_id(field: str, text: str) -> int:
    # ASCII digits within SQLite's integers: "²" passes isdigit() but not int(), 2^63 overflows sqlite3.
    if text.isascii() and text.isdecimal() and len(text) <= len(str(MAX_ROWID)) and int(text) <= MAX_ROWID:
        return int(text)
    shown = text if len(text) <= 24 else f"{text[:24]}…"
    raise ValidationException(f"{field}: {shown!r} is not an observation id (a whole number up to {MAX_ROWID})")


def ticked_ids(form: Any) -> list[int]:
    """The ids a bulk form had ticked, as far as they are ids (pure; a refused form is only shown again)."""
    ids = []
    for text in form.getall("id", [])[:MAX_BULK]:
        try:
            ids.append(_observation_id("id", str(text)))
        except ValidationException:
            continue
    return list(dict.fromkeys(ids))


def form_cursor(form: Any) -> int:
    """The page the bulk form was on (its hidden cursor), the first page when it names none we can read (pure)."""
    text = str(form.get("cursor") or "0")
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= len(str(MAX_ROWID)) and int(text) <= MAX_ROWID else 0


def list_url(cursor: int) -> str:
    """The needs-review page a bulk form was on (pure): the only status with forms, so the cursor is its filter."""
    return f"/review/observations?cursor={cursor}" if cursor else "/review/observations"


@post("/observations", include_in_schema=False, status_code=303)
async def observations_triage(request: Request[Any, Any, Any], env: NamedDependency[Env],
                              session: NamedDependency[Session]) -> Response[Any]:
    """Triage the selected observations (already-triaged ones are left as they are and reported).

    A form loaded under an earlier sign-in (its token not this session's) is shown again as posted, its ticks kept,
    with 422 and nothing triaged, as the other review forms are (web.posted_form).
    """
    form, current = await posted_form(request, session)
    if not current:
        ticked = ticked_ids(form)
        return await _observations_page(request, env, session, status="needs_review", cursor=form_cursor(form),
                                        code=422, notice=STALE_TOKEN, ticked=ticked)
    try:
        ids, decision = selection(form)
    except NothingTicked:  # the page again with a notice, on the page it was on; a 400 page led away from it
        return await _observations_page(request, env, session, status="needs_review", cursor=form_cursor(form),
                                        code=422, notice=NOTHING_TICKED)
    try:
        results = await env.db.write(triage_observations, ids, session.reviewer, decision, iso(env.clock()))
    except NotFound as exc:
        raise NotFoundException(str(exc)) from None
    return redirect_with_notice(request, env, list_url(form_cursor(form)), triage_notice(decision, results))


# The time decisions._already ends a sentence with (" at 2026-11-25 02:00:07 UTC"), dropped first when it is too long.
TRIAGED_AT = re.compile(r" at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")
ELLIPSIS = "…"
NAME_KEPT = 12  # characters of a name cut short: fewer would name no one a reader recognizes


def triage_notice(decision: str, results: list[Decision], limit: int = NOTICE_MAX_BYTES) -> str:
    """What a triage did (pure): how many it moved and, for each of the others, who triaged it first and when, in
    whole sentences, as many as fit the notice's `limit` bytes. When it moved none, it answers as a single row's
    double submit does ("observation 2 was already rejected by bob at …; nothing changed")."""
    changed = sum(r.changed for r in results)
    done = f"{changed} observation(s) {decision.replace('_', ' ')}"
    already = [r.message.removesuffix(NOTHING_CHANGED) for r in results if not r.changed]  # decisions._already's
    if not already:
        return done
    head = f"{done}; {len(already)} had already been triaged: " if changed else ""
    end = "" if changed else NOTHING_CHANGED
    for shown in range(len(already), 0, -1):
        more = f" (and {len(already) - shown} more)" if shown < len(already) else ""
        text = f"{head}{'; '.join(already[:shown])}{more}{end}"
        if len(text.encode()) <= limit:
            return text
    # Not even one whole sentence fits (a long name, a long id): the first one shortened, its time dropped, then its
    # name's tail, rather than naming no one.
    more = f" (and {len(already) - 1} more)" if len(already) > 1 else ""
    room = limit - len(f"{head}{more}{end}".encode())
    if first := _shortened(already[0], room):
        return f"{head}{first}{more}{end}"
    return f"{done}; {len(already)} had already been triaged"


def _shortened(sentence: str, room: int) -> str | None:
    """A decisions._already sentence in `room` bytes (pure): without its time, then with its name's tail cut ("…");
    None when not even NAME_KEPT characters of the name (all of a shorter one) would be left."""
    untimed = TRIAGED_AT.sub("", sentence)
    if len(untimed.encode()) <= room:
        return untimed
    if (by := untimed.find(" by ")) < 0:
        return None
    name = untimed[by + len(" by "):]
    cut = untimed.encode()[:max(room - len(ELLIPSIS.encode()), 0)].decode(errors="ignore")
    return f"{cut}{ELLIPSIS}" if len(cut) - by - len(" by ") >= min(len(name), NAME_KEPT) else None
