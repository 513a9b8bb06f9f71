"""Checks of a front door: names and types, coverage, shadowed rules, and the teams it names.

The door's conditions are checked by the same walks as a policy's (`conditions.py`),
and its lead space is the same enumeration (`leadspace.py`): one representative value
for every distinct truth value of every condition. Routing each combination with the
door's own evaluator (`door.route`) gives exact answers with a real lead:

- D002 (error): a lead no rule sends anywhere (the door has no `otherwise`);
- D003 (warning): a rule that never applies, because it can never hold or because
  rules above it take every lead it would;
- D004 (error): a team no policy given with the door is named (checked together);
- D005 (error): a door field a team's `lead` block lacks or types otherwise, so the
  team would refuse the leads the door sends it;
- D006 (warning): a team given with the door that no rule sends leads to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..door.route import CompiledDoor, team_of
from ..engine.schema import LeadError
from ..lang import model as m
from ..lang.diagnostics import ERROR, WARNING, Diagnostic, did_you_mean
from ..lang.door import Door, load_door_file, parse_door_text
from .conditions import _lead_cond
from .context import Context
from .findings import _diag, _show
from .leadspace import LeadSpace
from .structure import check_schema


class DoorSpace(LeadSpace):
    """The lead space of a door: its fields, the values its send conditions distinguish."""

    def __init__(self, ctx: Context, door: Door):
        super().__init__(ctx)
        self.door = door

    @cached_property
    def conditions(self) -> list[m.Cond]:
        return [s.cond for s in self.door.sends if s.cond is not None]


def _team_name(p: m.Policy) -> str:
    """A team's name at the door: its `policy NAME`, else the file's stem."""
    return p.info.name if p.info else Path(p.file).stem


def check_door(door: Door, teams: Sequence[m.Policy] | None = None) -> list[Diagnostic]:
    """Every diagnostic of a door; with `teams`, also the names and fields it shares with them."""
    ctx = Context(door.as_policy())
    out: list[Diagnostic] = list(check_schema(ctx))
    if not door.sends:
        out.append(
            Diagnostic("D002", ERROR, door.span, f"door {door.name} has no `send` rule: it places no lead", "add `send TEAM otherwise`")
        )
    for s in door.sends:
        if s.cond is not None:
            out.extend(_lead_cond(ctx, s.cond, "a door"))
    if not any(d.is_error for d in out) and door.sends:
        out.extend(_coverage(door, ctx))
    if teams is not None:
        out.extend(_teams(door, teams))
    return out


def _coverage(door: Door, ctx: Context) -> Iterator[Diagnostic]:
    space = DoorSpace(ctx, door)
    cdoor = CompiledDoor(door)
    reads = sorted({n for r in cdoor.reads for n in r})
    combos, exact = space.assignments(reads)
    first_lead: dict[int, dict] = {}
    holds: dict[int, dict] = {}
    uncovered: dict | None = None
    for partial in combos:
        lead = space.complete(partial)
        try:
            values = cdoor.door_lead(lead)
        except LeadError:
            continue
        i = team_of(cdoor, values)
        if i is None:
            uncovered = uncovered or lead
        else:
            first_lead.setdefault(i, lead)
        for j, test in enumerate(cdoor.tests):
            if j not in holds and test(values):
                holds[j] = lead
    if uncovered is not None:
        yield _diag(
            "D002",
            ERROR,
            door.span,
            f"door {door.name} sends some leads to no team",
            f"add `send TEAM otherwise`, or a rule for them; this lead matches no rule: {_show(uncovered)}",
            uncovered,
        )
    if not exact:
        return  # a claim that a rule never applies needs the whole enumeration
    for i, s in enumerate(door.sends):
        if i in first_lead:
            continue
        if i not in holds:
            yield _diag(
                "D003",
                WARNING,
                s.span,
                f"`send {s.team} when {s.text}` can never hold: no lead matches it",
                "remove it or fix the condition",
            )
            continue
        lead = holds[i]
        j = team_of(cdoor, cdoor.door_lead(lead))
        above = door.sends[j]
        yield _diag(
            "D003",
            WARNING,
            s.span,
            f"`send {s.team} {'otherwise' if s.cond is None else 'when ' + s.text}` is shadowed: rules above it take every lead it would",
            f"a lead it matches goes to team {above.team} by line {above.span.line} first: {_show(lead)}; move it up or remove it",
            lead,
        )


def _teams(door: Door, teams: Sequence[m.Policy]) -> Iterator[Diagnostic]:
    by_name = {_team_name(p): p for p in teams}
    sent = set(door.teams)
    for s in door.sends:
        if s.team not in by_name:
            guess = did_you_mean(s.team, by_name)
            hint = f"did you mean `{guess}`?" if guess else f"the teams checked with it: {', '.join(sorted(by_name)) or 'none'}"
            yield Diagnostic("D004", ERROR, s.span, f"no team policy is named `{s.team}`", hint)
    for name, p in by_name.items():
        if name not in sent:
            yield Diagnostic(
                "D006", WARNING, door.span, f"door {door.name} sends no lead to team {name} ({p.file})", f"add `send {name} when ...`"
            )
            continue
        yield from _fields(door, name, p)


def _fields(door: Door, team: str, p: m.Policy) -> Iterator[Diagnostic]:
    for f in door.fields:
        g = p.field_named(f.name)
        where = f"team {team}'s lead block ({p.file})"
        if g is None:
            yield Diagnostic(
                "D005",
                ERROR,
                f.span,
                f"{where} has no field `{f.name}`: the team would refuse every lead the door sends it",
                f"declare `{f.name} {f.type}` there too",
            )
        elif f.type.kind != g.type.kind:
            yield Diagnostic(
                "D005", ERROR, f.span, f"field `{f.name}` is {f.type} here but {g.type} in {where}", "declare it with one type in both"
            )
        elif f.type.kind == "enum" and not set(f.type.words) <= set(g.type.words):
            missing = ", ".join(w for w in f.type.words if w not in g.type.words)
            yield Diagnostic(
                "D005",
                ERROR,
                f.span,
                f"field `{f.name}` allows {missing} here but not in {where}",
                f"add {missing} to the team's set, or drop it here",
            )
        elif (f.optional or f.has_default) and not (g.optional or g.has_default):
            yield Diagnostic(
                "D005",
                WARNING,
                f.span,
                f"field `{f.name}` may be left out here but {where} requires it",
                "make it required here, or optional there",
            )


@dataclass
class LoadedDoor:
    """A parsed and checked door; `compiled` routes leads."""

    door: Door
    diagnostics: list[Diagnostic]
    teams: dict[str, m.Policy] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def sources(self) -> dict[str, str]:
        return dict(self.door.sources)

    @cached_property
    def compiled(self) -> CompiledDoor:
        return CompiledDoor(self.door)


def load_door(path: str | Path, teams: Iterable[m.Policy] | None = None) -> LoadedDoor:
    """Parse and check a door file (with its teams when given); PolicyError when it does not parse."""
    door, problems = load_door_file(path)
    return _loaded(door, problems, teams)


def load_door_text(text: str, file: str = "<door>", teams: Iterable[m.Policy] | None = None) -> LoadedDoor:
    door, problems = parse_door_text(text, file)
    return _loaded(door, problems, teams)


def _loaded(door: Door, problems: list[Diagnostic], teams: Iterable[m.Policy] | None) -> LoadedDoor:
    team_list = list(teams) if teams is not None else None
    diags = problems + ([] if any(d.is_error for d in problems) else check_door(door, team_list))
    return LoadedDoor(door, diags, {_team_name(p): p for p in team_list or ()})
