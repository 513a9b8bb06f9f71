"""The model of the team's levers: caps per period, quotas and working hours.

Split from model.py (which uses them in `Rep` and `Team`) to keep each module short;
callers use them as `model.Cap`, `model.Quota`, `model.Hours`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .span import NO_SPAN, Span


@dataclass(frozen=True, slots=True)
class Cap:
    """`cap 60 per month`: at most `limit` assignments per calendar period (day, week, month)."""

    scope: str  # "default", a level, or (on a rep line) the rep's name
    limit: int
    per: str  # day | week | month
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Quota:
    """`quota 50000 per month` (the `value` of won leads) or `quota 6 deals per quarter` (a count)."""

    scope: str  # as a Cap's
    target: int
    deals: bool  # True: won leads are counted; False: their `value` is summed
    per: str  # month | quarter
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Hours:
    """`hours mon-fri 09:00-17:00 in Europe/Berlin`: when a rep takes leads, in their zone."""

    days: tuple[int, ...]  # 0 Monday .. 6 Sunday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, after start
    zone: str  # an IANA time zone name
    text: str  # as written, for explanations: "mon-fri 09:00-17:00 in Europe/Berlin"
    span: Span = field(default=NO_SPAN, compare=False)
