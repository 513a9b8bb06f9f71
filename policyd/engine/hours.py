"""Time rules: cap periods, working hours and holidays, and SLA clocks in working time.

The time of a decision is always an argument (epoch seconds): nothing here reads the
wall clock, so replay, the daemon and examples decide the same way at the same time.
A cap period turns over at local midnight of the team's zone (the `hours default`
zone, else UTC); weeks are ISO weeks (Monday first). Working hours and holidays are
read in each rep's own zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..lang import model as m

UNITS = ("day", "week", "month")


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """The zone named (an IANA name such as Europe/Berlin); KeyError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise KeyError(name) from None


def known_zone(name: str) -> bool:
    try:
        zone(name)
    except KeyError:
        return False
    return True


def period_key(unit: str, at: float, tz: tzinfo) -> str:
    """The calendar period holding `at`: `day:2026-12-04`, `week:2026-W49`, `month:2026-12`, `quarter:2026-Q4`."""
    d = datetime.fromtimestamp(at, tz)
    if unit == "day":
        return f"day:{d:%Y-%m-%d}"
    if unit == "week":
        y, w, _ = d.isocalendar()
        return f"week:{y}-W{w:02d}"
    if unit == "quarter":
        return f"quarter:{d.year}-Q{(d.month - 1) // 3 + 1}"
    return f"month:{d:%Y-%m}"


def off_hours(h: m.Hours | None, holidays: frozenset[str], at: float) -> str | None:
    """Why a rep with these hours is not working at `at`, in words; None when they are."""
    if h is None:
        return None
    d = datetime.fromtimestamp(at, zone(h.zone))
    day = d.date().isoformat()
    if day in holidays:
        return f"holiday {day} (in {h.zone})"
    now = d.hour * 60 + d.minute
    if d.weekday() not in h.days or not h.start <= now < h.end:
        return f"outside working hours ({h.text}; it is {d:%a %H:%M} there)"
    return None


def work_deadline(h: m.Hours | None, holidays: frozenset[str], start: float, minutes: float) -> float:
    """`minutes` of the holder's working time after `start` (plain time without hours).

    A 2-hour SLA that starts at 23:00 on a Friday for a rep working mon-fri 09-17
    ends at 11:00 on Monday. Looks at most two years ahead.
    """
    remaining = minutes * 60.0
    if h is None:
        return start + remaining
    tz = zone(h.zone)
    day = datetime.fromtimestamp(start, tz).date()
    for _ in range(732):
        if day.weekday() in h.days and day.isoformat() not in holidays:
            opens = _at(day, h.start, tz)
            closes = _at(day, h.end, tz)
            begin = max(start, opens)
            if begin < closes:
                if closes - begin >= remaining:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
    return start + minutes * 60.0


def _at(day: date, minute: int, tz: tzinfo) -> float:
    return datetime.combine(day, time(minute // 60, minute % 60), tz).timestamp()


def parse_time(text: str) -> float:
    """An ISO 8601 time with an offset or `Z` (`2026-12-04T23:00:00+01:00`) as epoch seconds."""
    try:
        d = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"time {text!r} is not an ISO 8601 time (for example `2026-12-05T10:00:00+01:00`)") from None
    if d.tzinfo is None:
        raise ValueError(f"time {text!r} needs a zone offset (for example `Z` or `+01:00`)")
    return d.timestamp()
