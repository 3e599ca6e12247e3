"""`--as-of` (and the dev endpoint's `as_of`): the instant a tier runs as of, read in the company's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from worker.env import iso


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant a company date begins: its midnight in `tz`."""
    return datetime.combine(day, time(), tz).astimezone(UTC)


def parse_as_of(text: str, tz: tzinfo) -> datetime:
    """The UTC instant an --as-of value names: a date alone is its midnight in `tz`, a naive time is in `tz`."""
    # In the company's zone, not UTC: as-of dates are company calendar dates (SPEC 3.4), and UTC midnight
    # is the previous day anywhere west of Greenwich. Midnight rather than noon keeps today's date usable.
    try:
        return local_midnight(date.fromisoformat(text), tz)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 datetime: {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)


def check_as_of(text: str, moment: datetime, now: datetime, name: str = "--as-of") -> str | None:
    """Why a run may not be made as of `moment`, or None: a future run would write ahead of the real ticks."""
    if moment <= now:
        return None
    return (f"{name} {text} ({iso(moment)}) is later than now ({iso(now)}): a run in the future would write "
            "aging snapshots, events and proposals ahead of the real ticks, and aging would stand still until then")
