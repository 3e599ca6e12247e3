"""`--as-of` (and the dev endpoint's `as_of`): the instant a tier runs as of, read in the company's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from worker.env import iso

_DAY = timedelta(days=1)
# Warm and cold jobs look back from as-of (retention windows, workflows.history_days up to 36,500 days): an
# earlier as-of would take them below year 1 (an OverflowError, a failed run). 1900 leaves them over 1,800 years.
EARLIEST = date(1900, 1, 1)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant a company date begins: its midnight in `tz`."""
    return datetime.combine(day, time(), tz).astimezone(UTC)


def parse_as_of(text: str, tz: tzinfo) -> datetime:
    """The UTC instant an --as-of value names: a date alone is its midnight in `tz`, a naive time is in `tz`."""
    # In the company's zone, not UTC: as-of dates are company calendar dates (SPEC 3.4), and UTC midnight
    # is the previous day anywhere west of Greenwich. Midnight rather than noon keeps today's date usable.
    try:
        moment = datetime.combine(date.fromisoformat(text), time())
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO-8601 datetime: {text!r}") from None
    # On datetime's last day, an offset (or the zone) can push the instant out of its range
    # (9999-12-31T23:00-06:00 is in year 10000): refused whatever the zone, so the CLI's syntax check (in
    # UTC) and the run (in TIMEZONE) agree, and a usage error rather than an OverflowError. So are dates
    # before EARLIEST, whose look-backs would overflow in the jobs.
    if moment.date() < EARLIEST or moment.date() == date.max:
        raise ValueError(f"out of range: {text!r} (a date from {EARLIEST} to {date.max - _DAY})")
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)
    except OverflowError:  # not expected after the check above (offsets are under a day); still a usage error
        raise ValueError(f"out of range: {text!r}") from None


def check_as_of(text: str, moment: datetime, now: datetime, name: str = "--as-of") -> str | None:
    """Why a run may not be made as of `moment`, or None: a future run would write ahead of the real ticks."""
    if moment <= now:
        return None
    return (f"{name} {text} ({iso(moment)}) is later than now ({iso(now)}): a run in the future would write "
            "aging snapshots, events and proposals ahead of the real ticks, and aging would stand still until then")
