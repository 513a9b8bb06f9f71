"""The model of the team's levers: caps per period, quotas, working hours and named groups.

Split from model.py (which uses them in `Rep` and `Team`) to keep each module short;
callers use them as `model.Cap`, `model.Quota`, `model.Hours`, `model.Group`.
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


@dataclass(frozen=True, slots=True)
class Group:
    """`group closers ann, bob, cy`: reps named together, so `pick shares` can keep a share for them."""

    name: str
    reps: tuple[str, ...]  # in the order written
    span: Span = field(default=NO_SPAN, compare=False)


OTHERS = "others"  # in `pick shares`: every rep in none of the pick's other shares (unless the team names a group `others`)


def share_members(team, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The reps each share of a `pick shares` names, in team order: a group's (all its
    `group` lines), else a level's; `others` (when no group has that name) is every rep in
    none of the other shares. One definition for the checks, the engine and the figures."""
    groups: dict[str, set[str]] = {}
    for g in team.groups:
        groups.setdefault(g.name, set()).update(g.reps)
    out: dict[str, tuple[str, ...]] = {}
    for name in names:
        if name in groups:
            out[name] = tuple(r.name for r in team.reps if r.name in groups[name])
        elif name != OTHERS:
            out[name] = tuple(r.name for r in team.reps if r.level == name)
    if OTHERS in names and OTHERS not in groups:
        named = {n for reps in out.values() for n in reps}
        out[OTHERS] = tuple(r.name for r in team.reps if r.name not in named)
    return {name: out[name] for name in names if name in out}


def share_kind(team, name: str) -> str:
    """`group`, `level` or `others`: what a share's name stands for (for the figures and explanations)."""
    if any(g.name == name for g in team.groups):
        return "group"
    return "others" if name == OTHERS else "level"
