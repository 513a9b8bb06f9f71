"""Checks on caps, working hours, holidays, level weights and the skills a rep lists.

Caps, hours and holidays are values the parser cannot judge (a zone name, a date, a
level); a skill a rep lists that no rule can ever read is almost always a typo
(`skills enterprize 3` while the rules say `enterprise`), so it is a warning with a
"did you mean" (`policyd check --strict` fails on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from zoneinfo import available_timezones

from ..engine.hours import known_zone, parse_time
from ..lang import model as m
from ..lang.diagnostics import Diagnostic
from ..lang.levers import OTHERS, share_kind, share_members
from .context import Context
from .emit import _err, _mean, _warn
from .leadspace import _walk


def check_levers(ctx: Context) -> Iterator[Diagnostic]:
    team = ctx.policy.team
    if team is None:
        return
    caps = list(team.caps) + [c for r in team.reps for c in r.caps]
    for cap in caps:
        if cap.limit < 1:
            yield _err(
                "T015",
                cap.span,
                f"`cap {cap.limit} per {cap.per}`: a cap must be at least 1",
                "remove the cap, or give a rep no leads with `capacity 0`",
            )
        if cap.scope != "default" and cap.scope not in ctx.reps and cap.scope not in ctx.levels:
            yield _warn("N011", cap.span, f"`cap {cap.scope}`: no rep has level `{cap.scope}`", _mean(cap.scope, ctx.levels | {"default"}))
    for cap in caps:
        if cap.per not in ("day", "week", "month"):
            yield _err("T015", cap.span, f"`cap {cap.limit} per {cap.per}`: a cap is per day, week or month")
    yield from _quotas(ctx, team)
    for level, weight in team.level_weights:
        if level not in ctx.levels:
            yield _warn("N011", team.span, f"`weight {level}`: no rep has level `{level}`", _mean(level, ctx.levels))
        if weight <= 0:
            yield _err("T011", team.span, f"level `{level}`: weight must be above 0, got {weight:g}")
    for h in [team.hours] + [r.hours for r in team.reps]:
        if h is not None:
            yield from _hours(h)
    for day in team.holidays:
        try:
            date.fromisoformat(day)
        except ValueError:
            yield _err("T017", team.span, f"holiday `{day}` is not a calendar date", "write it as YYYY-MM-DD, for example 2026-12-25")
    for ex in ctx.policy.examples:
        if ex.at is not None:
            try:
                parse_time(ex.at)
            except ValueError as err:
                yield _err(
                    "T018", ex.span, f"example `{ex.name}`: `at {ex.at!r}` is not a time: {err}", 'write it as "2026-12-04T23:00:00+01:00"'
                )


def _quotas(ctx: Context, team: m.Team) -> Iterator[Diagnostic]:
    value = ctx.fields.get("value")
    for q in list(team.quotas) + [r.quota for r in team.reps if r.quota is not None]:
        what = f"`quota {q.target}{' deals' if q.deals else ''} per {q.per}`"
        if q.target < 1 or q.per not in ("month", "quarter"):
            yield _err("T020", q.span, f"{what}: a quota is at least 1, per month or quarter")
        if q.scope != "default" and q.scope not in ctx.reps and q.scope not in ctx.levels:
            yield _warn("N011", q.span, f"`quota {q.scope}`: no rep has level `{q.scope}`", _mean(q.scope, ctx.levels | {"default"}))
        if not q.deals and (value is None or value.type.kind not in ("int", "number")):
            yield _err(
                "T020",
                q.span,
                f"{what} sums the `value` of won leads, but the lead has no number field `value`",
                f"add `value number = 0` to the lead block, or count deals: `quota {q.target} deals per {q.per}`",
            )


def check_shares(ctx: Context) -> Iterator[Diagnostic]:
    """`pick shares`: names that exist, shares that add up to 100% and split the candidates, and a plain pick inside."""
    groups = {g.name for g in ctx.policy.team.groups} if ctx.policy.team else set()
    for pipe in list(ctx.policy.routes) + list(ctx.policy.exceptions):
        for s in pipe.steps:
            if not (isinstance(s, m.Pick) and s.kind == "shares"):
                continue
            total = sum(p for _, p in s.shares)
            if abs(total - 100) > 1e-9 or any(p <= 0 for _, p in s.shares):
                yield _err("T019", s.span, f"`pick shares`: the shares add up to {total:g}%, not 100% (each above 0%)")
            for name, _ in s.shares:
                if name not in ctx.levels and name not in groups and name != OTHERS:
                    yield _warn(
                        "N011",
                        s.span,
                        f"`pick shares`: no rep has level `{name}`, and no group is named `{name}`",
                        _mean(name, ctx.levels | groups),
                    )
            if ctx.policy.team is not None:
                yield from _partition(ctx.policy.team, s)
            if s.then == "shares":
                yield _err(
                    "S007",
                    s.span,
                    "`pick shares ... then shares`: the pick inside a share is least loaded, round robin, weighted or random",
                )
            if s.then == "random" and "id" not in ctx.fields:
                yield _err(
                    "N010",
                    s.span,
                    "`pick shares ... then random` draws from the lead's `id`, but the lead has no `id` field",
                    "add `id text` to the lead block",
                )


def _partition(team: m.Team, s: m.Pick) -> Iterator[Diagnostic]:
    """The shares of one pick must split the team: a rep in two shares would count twice (T021, an error);
    a rep in none gets the route's leads only when no share has a candidate (N013, a warning)."""
    names = tuple(n for n, _ in s.shares)
    members = share_members(team, names)
    first: dict[str, str] = {}
    for name in names:
        for rep in members.get(name, ()):
            if rep in first and first[rep] != name:
                yield _err(
                    "T021",
                    s.span,
                    f"`pick shares`: rep `{rep}` is in both {_what(team, first[rep])} and {_what(team, name)}, so a lead for {rep} would count toward two shares",
                    f"the shares must split the reps: take `{rep}` out of one of them",
                )
            first.setdefault(rep, name)
    if OTHERS in members and not members[OTHERS]:
        yield _warn("N013", s.span, "`pick shares`: `others` holds no rep (every rep is in another share), so its share is never given")
    left = [r.name for r in team.reps if r.name not in first]
    if left and any(members.values()):
        shown = ", ".join(f"`{n}`" for n in left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
        yield _warn(
            "N013",
            s.span,
            f"`pick shares`: {shown} {'is' if len(left) == 1 else 'are'} in no share, so {'gets' if len(left) == 1 else 'get'} these leads only when no share has a candidate",
            f"add `{left[0]}` to a group, or give the rest a share: `others N%`",
        )


def _what(team: m.Team, name: str) -> str:
    kind = share_kind(team, name)
    return "`others`" if kind == "others" else f"{kind} `{name}`"


def check_groups(ctx: Context) -> Iterator[Diagnostic]:
    """`group NAME REP, ...`: reps of the team, each once, under a name no level and no other group has."""
    team = ctx.policy.team
    if team is None:
        return
    seen: dict[str, m.Group] = {}
    for g in team.groups:
        if g.name in seen:
            yield _err(
                "N007",
                g.span,
                f"duplicate group `{g.name}` (first declared on line {seen[g.name].span.line})",
                "list every rep of a group on one line",
            )
        seen.setdefault(g.name, g)
        if g.name in ctx.levels:
            yield _err(
                "N007", g.span, f"group `{g.name}` has the name of a level, so `pick shares {g.name}` could mean either", "rename the group"
            )
        listed: set[str] = set()
        for rep in g.reps:
            if rep not in ctx.reps:
                yield _err("N002", g.span, f"group `{g.name}` names unknown rep `{rep}`", _mean(rep, ctx.reps))
            elif rep in listed:
                yield _err("N007", g.span, f"group `{g.name}` lists rep `{rep}` twice")
            listed.add(rep)


def _hours(h: m.Hours) -> Iterator[Diagnostic]:
    if not known_zone(h.zone):
        yield _err(
            "T016",
            h.span,
            f"unknown time zone `{h.zone}`",
            _mean(h.zone, available_timezones()) or "use an IANA name such as Europe/Berlin",
        )
    bad = [t for t in (h.start, h.end) if t > 24 * 60 or t % 60 >= 60]
    if bad or h.end <= h.start:
        yield _err("T016", h.span, f"`hours {h.text}`: the working time must end after it starts, within 00:00-24:00")


def check_skill_typos(ctx: Context) -> Iterator[Diagnostic]:
    """N012: a skill on a rep that no `skill(...)` can read (a skill word or a field's words)
    and that is spelt like one that can. A spare skill unlike any the rules read is left alone."""
    reach: set[str] = set()
    for pipe in list(ctx.policy.routes) + list(ctx.policy.exceptions):
        for s in pipe.steps:
            conds = [s.cond] if isinstance(s, m.Require) else list(s.options) if isinstance(s, m.Prefer) else []
            for cond in conds:
                for c in _walk(cond):
                    for o in (c.left, c.right) if isinstance(c, m.Compare) else ():
                        if isinstance(o, m.SkillRef):
                            f = ctx.fields.get(o.name)
                            if f is None:
                                reach.add(o.name)
                            elif f.type.kind == "enum":
                                reach.update(f.type.words)
                            else:
                                return  # a text field can name any skill: every skill is reachable
    if not reach:
        return
    for r in ctx.team_reps:
        for skill, value in r.skills:
            hint = _mean(skill, reach) if skill not in reach else None
            if hint is not None:  # unread and close to a word the rules read: a typo, not a spare skill
                yield _warn(
                    "N012", r.span, f"rep `{r.name}` lists skill `{skill}` ({value}), which no rule and no field value can reach", hint
                )
