"""Approving a price review (`review_quote_pricing`) once NetSuite changed its order: whether its workflow will take
the draft back, and the refusal that says what changed (pure text helpers beside one read of the mirror).

worker/decisions.py refuses the approval with this text; quote_review (worker/flows/quote_review.py) is the judge:
its fingerprint, its proposal, its history cutoff. The flows are imported where used: they are not the review
queue's weight.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from worker.config import Pricing, Program, Workflows
from worker.env import parse_iso
from worker.pricing import ProgramTerms, price_text

# Once NetSuite changed the order so that its workflow will not keep a price review's draft as it stands (what
# its fingerprint judges changed and the review would propose otherwise: a line repriced, removed or added off
# program, its currency, customer, date, payment or freight terms; quote_review.redrawn_for): it redraws the draft
# from the order as it is (or withdraws it) at the order's next update in the hot drain.
QUOTE_NEXT = ("Reject it, or leave it: the workflow redraws it from the order's prices now (or withdraws it) when "
              "it next runs")
# ... but not when it reviews no update of the order: one NetSuite last changed longer ago than [workflows]
# history_days (quote_review.old_change_at), or whose review runs were pruned (review_order has no review to
# compare with): refused all the same, and said so, as the draft would otherwise wait for a redraw that never comes.
QUOTE_OLD = ("Reject it and review the order by hand: NetSuite last changed it at {when}, more than {days} days ago "
             "([workflows] history_days), and the workflow does not review a change that old, so it will not redraw "
             "this draft")
QUOTE_PRUNED = ("Reject it and review the order by hand: the runs of this review were pruned ([retention] "
                "workflow_run_log_days), so the workflow does not review the order again")
# An order the mirror holds with no lines at all (NetSuite sent none yet; a sales order always has one): nothing to
# hold a price review's quoted lines to, as the workflow waits for them (worker/flows/order_lines.py).
ORDER_HAS_LINES = "SELECT 1 FROM transaction_lines WHERE transaction_id = ? LIMIT 1"
# A customer's name for a refusal that says the order moved to it (a live customer's; else its id is said).
CUSTOMER_NAME = "SELECT company_name FROM customers WHERE ns_id = ? AND deleted_at IS NULL"


@dataclass(frozen=True)
class PriceRules:
    """What a price review judges an order by besides the order, as quote_review.handle passes them: the standard
    program (a customer without one's), the tolerance (%), and today in the company's timezone (a dateless order's
    date); and `history_from`: changes before it are history, which the workflow does not review again
    (workflow_runner.history_cutoff, [workflows] history_days; None: no change is)."""

    standard: ProgramTerms
    tolerance_pct: float
    today: str
    history_from: datetime | None = None
    history_days: int | None = None

    @classmethod
    def default(cls, now: str) -> PriceRules:
        """The rules of settings that configure none ([programs.standard], [pricing] and [workflows] defaults) on
        `now`'s date."""
        days, moment = Workflows().history_days, parse_iso(now)
        return cls(ProgramTerms.from_config(Program()), Pricing().tolerance_pct, now[:10],
                   moment - timedelta(days=days) if moment else None, days)


def lines_not_as_quoted(drafted: Iterable[Any], lines: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The draft's findings (a price review's payload `lines`) the order no longer quotes as drafted (pure): the same
    item at the same rate in the same unit, as quote_review.fingerprint judges them (as_judged: line numbers,
    quantities and order are not judged), each of the order's `lines` (quote_review.LINES rows) answering for one
    finding at most."""
    # Imported here: the flows are not the review queue's weight.
    from worker.flows.quote_review import as_judged

    return _unmatched(drafted, [as_judged(item, units, rate) for _, item, _, _, units, rate, _ in lines
                                if item and rate is not None])


def _judged(found: Any) -> tuple[str, str, float] | None:
    """A drafted finding's item, unit and rate as quote_review.as_judged has them; None for no finding."""
    from worker.flows.quote_review import as_judged

    if not isinstance(found, dict) or not isinstance(found.get("quoted"), (int, float)):
        return None  # not a finding as quote_review drafts them: nothing to hold it to
    return as_judged(found.get("item_id"), found.get("units"), found["quoted"])


def _unmatched(findings: Iterable[Any], judged: Iterable[tuple[str, str, float] | None]) -> list[dict[str, Any]]:
    left, unmatched = [j for j in judged if j is not None], []
    for found in findings:
        if (key := _judged(found)) is None:
            continue
        if key in left:
            left.remove(key)
        else:
            unmatched.append(found)
    return unmatched


def findings_added(drafted: Iterable[Any], proposed: Iterable[Any]) -> list[dict[str, Any]]:
    """The findings a review of the order now proposes (`proposed`) that its draft's (`drafted`) do not name (pure)."""
    return _unmatched(proposed, map(_judged, drafted))


def quoted_text(gone: list[dict[str, Any]]) -> str:
    """A price review's findings as a refusal names them (pure): three named, then how many more."""
    shown = "; ".join(f"{f.get('item_name') or f.get('item_id')} at {price_text(f['quoted'])}"
                      f"{' ' + f['units'] if f.get('units') else ''} (line {f.get('line')})" for f in gone[:3])
    return shown + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")


# How a refusal says a changed part of an order's fingerprint: its phrase, the word for no value, and whether a
# number is days (payment terms).
PARTS_SAID = {"tran_date": ("is now dated", "no date", False), "currency": ("is now in", "no stated currency", False),
              "terms": ("now has payment terms of", "none stated", True),
              "freight_terms": ("now has freight terms", "none stated", False),
              "booked_from": ("now has externalId", "none", False)}


def _shown(value: Any, none: str, days: bool = False) -> str:
    return none if value is None else f"{value} days" if days and isinstance(value, int) else str(value)


def recounted(drafted: Mapping[str, Any], proposed: Mapping[str, Any]) -> list[str]:
    """What a review of the order now counts otherwise than its draft did (`drafted`, `proposed`: their payloads),
    when its lines changed but no finding did (pure): the priced lines it checks, the assembly items with no price."""
    said, before, now = [], drafted.get("lines_checked"), proposed.get("lines_checked")
    if isinstance(now, int) and before != now:
        said.append(f"now has {now} priced line(s) to check (was {_shown(before, 'not counted')})")
    before, now = (sorted(map(str, p.get("unpriced_assembly_items") or [])) for p in (drafted, proposed))
    if before != now:
        said.append(f"now has {len(now)} assembly item(s) with no price on file (was {len(before)})")
    return said


def order_changes_text(changed: Mapping[str, tuple[Any, Any]], gone: list[dict[str, Any]],
                       added: Sequence[dict[str, Any]] = (), customers: Mapping[str, str] | None = None,
                       counted: Sequence[str] = ()) -> str:
    """What of an order changed since its price review was drafted (quote_review.redrawn_for's parts: before, now),
    as a reviewer reads it after "Sales order SO-1 " (pure); `gone`: the drafted findings it no longer quotes,
    `added`: the ones a review now would name besides, `customers`: names by id, `counted`: what the review counts
    otherwise (recounted), said of the lines only when nothing else changed."""
    names = customers or {}
    said = []
    for part, (before, now) in changed.items():
        if part == "customer_id":
            said.append(f"is now for {names.get(now) or f'customer {now}'} (was "
                        f"{names.get(before) or f'customer {before}'})")
        elif part in PARTS_SAID:
            phrase, none, days = PARTS_SAID[part]
            said.append(f"{phrase} {_shown(now, none, days)} (was {_shown(before, none, days)})")
        elif part == "lines":
            lines = ([f"no longer quotes {quoted_text(gone)}"] if gone else []) + (
                [f"now has {quoted_text(added)} to review"] if added else [])
            # No finding gone or added: a line within program added, removed or repriced, which is news only when
            # nothing else changed (the refusal names what did); then what the review counts otherwise, if anything.
            if not lines and len(changed) == 1:
                lines = list(counted) or ["has its lines changed so that the review now notes them otherwise"]
            said += lines
    return ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1] if said else "changed"


def quote_not_as_drafted(conn: sqlite3.Connection, payload: dict[str, Any], rules: PriceRules) -> str | None:
    """Why approving a price review (its `payload`) is refused, or None: the order changed since the review was drawn
    so that its workflow will take the draft back (a rate, a line, the currency, customer, date or terms:
    quote_review's own judgment, redrawn_for): approving would settle a review of an order that no longer is, and
    keep that approval after the redraw (it takes back staged drafts only)."""
    from worker.flows.quote_review import LINES, last_review, redrawn_for

    so_id = str(payload.get("sales_order_id") or "")
    if conn.execute(ORDER_HAS_LINES, (so_id,)).fetchone() is None:
        return None
    gone = lines_not_as_quoted(payload.get("lines") or [], conn.execute(LINES, (so_id,)).fetchall())
    last = last_review(conn, so_id)
    if last is None or not last.get("fingerprint"):
        # Its runs pruned, or drawn before fingerprints were kept: nothing to judge the order's change by but the
        # draft's own quoted lines.
        changed, proposed = ({"lines": (None, None)} if gone else {}), {}
    else:
        changed, proposed = redrawn_for(conn, so_id, last, rules.standard, rules.tolerance_pct, rules.today)
    if not changed:
        return None
    named = payload.get("tran_id") or so_id
    # A line repriced is named once, by the rate it no longer has; the findings named besides are other items'.
    repriced = {str(f.get("item_id")) for f in gone}
    added = [f for f in findings_added(payload.get("lines") or [], proposed.get("lines") or [])
             if str(f.get("item_id")) not in repriced]
    after = _quote_next(conn, so_id, last, rules)
    if list(changed) == ["lines"] and gone and not added:
        return (f"Sales order {named} no longer quotes {quoted_text(gone)} since this price review was drafted: "
                f"approving it would settle prices the order no longer has. {after}")
    ids = [str(v) for part, pair in changed.items() if part == "customer_id" for v in pair if v is not None]
    customers = {i: row[0] for i in ids if (row := conn.execute(CUSTOMER_NAME, (i,)).fetchone()) and row[0]}
    said = order_changes_text(changed, gone, added, customers, recounted(payload, proposed))
    return (f"Sales order {named} {said} since this price review was drafted: approving it would settle prices "
            f"judged for the order as it was. {after}")


def _quote_next(conn: sqlite3.Connection, so_id: str, last: dict[str, Any] | None, rules: PriceRules) -> str:
    """What becomes of a price review's draft refused for its order's change: redrawn at the order's next update,
    unless the workflow reviews no update of it (its runs pruned, or its last change history)."""
    from worker.flows.quote_review import old_change_at
    from worker.flows.withdrawals import for_people

    if last is None:
        return QUOTE_PRUNED
    if rules.history_from is not None and (when := old_change_at(conn, so_id, rules.history_from)):
        return QUOTE_OLD.format(when=for_people(when), days=rules.history_days)
    return QUOTE_NEXT
