"""How hold-out layouts print values: numbers in US/European style, dates in a dozen customs."""
from __future__ import annotations

from datetime import date
from decimal import Decimal


def num(v: Decimal, *, comma: bool = False, places: int = 2, sym: str = "", thousands: bool = True) -> str:
    """Format a number as '1,234.50' (US) or '1.234,50' (comma=True), with an optional currency prefix."""
    neg = v < 0
    s = f"{abs(v):,.{places}f}" if thousands else f"{abs(v):.{places}f}"
    if comma:
        s = s.replace(",", "_").replace(".", ",").replace("_", ".")
    return ("-" if neg else "") + sym + s


def qty(v: Decimal, *, comma: bool = False) -> str:
    """A quantity without trailing zeros ('12', '2.5' or '2,5')."""
    s = f"{v.normalize():f}"
    return s.replace(".", ",") if comma else s


_MON = "January February March April May June July August September October November December".split()


def day(d: date | None, style: str) -> str:
    """Format a date in one of the styles customers print."""
    if d is None:
        return ""
    return {
        "us": f"{d.month:02d}/{d.day:02d}/{d.year}",
        "us_short": f"{d.month}/{d.day}/{d.year % 100:02d}",
        "iso": d.isoformat(),
        "long": f"{_MON[d.month - 1]} {d.day}, {d.year}",
        "abbr": f"{_MON[d.month - 1][:3]} {d.day}, {d.year}",
        "dmy_abbr": f"{d.day:02d}-{_MON[d.month - 1][:3].upper()}-{d.year}",
        "uk": f"{d.day:02d}/{d.month:02d}/{d.year}",
        "uk_long": f"{d.day} {_MON[d.month - 1]} {d.year}",
        "dots": f"{d.day:02d}.{d.month:02d}.{d.year}",
    }[style]


UNIT_WORDS = {"CS": "Case", "EA": "Each", "LB": "Lb", "BX": "Box", "BG": "Bag"}
