"""The policy model: frozen dataclasses with source spans.

The parser builds these at once from lark's tree; every later stage (check,
compile, evaluate, explain, diff) works on them and never touches lark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# defined beside the model to keep modules short, and part of it (`model.Span`, `model.Cap`)
from .levers import Cap, Group, Hours, Quota  # noqa: F401
from .span import NO_SPAN, Span  # noqa: F401


# ---------------------------------------------------------------- conditions
@dataclass(frozen=True, slots=True)
class FieldRef:
    """A lead field, or in a rep condition a rep attribute (`load`, `open`, `quota`)."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Num:
    value: float
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Str:
    value: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class SkillRef:
    """`skill(x)`: x is a lead field (its value names the skill) or a skill word."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


Operand = Union[FieldRef, Num, Str, SkillRef]


@dataclass(frozen=True, slots=True)
class Compare:
    left: Operand
    op: str
    right: Operand
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Is:
    """`f is w`, `f is not w`, `f in {..}`, `f not in {..}`: word tests."""

    name: str
    words: tuple[str, ...]
    negated: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class IsSet:
    name: str
    negated: bool  # True for `is missing` / `is not set`
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Speaks:
    """`speaks language` (a lead field) or `speaks "ja"` / `speaks ja` (a literal)."""

    name: str
    literal: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Flag:
    """A bare word: a bool lead field in lead conditions, a level in rep conditions."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Cond, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Cond, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    item: Cond
    span: Span = field(default=NO_SPAN, compare=False)


Cond = Union[Compare, Is, IsSet, Speaks, Flag, And, Or, Not]


# ---------------------------------------------------------------- blocks
@dataclass(frozen=True, slots=True)
class FieldType:
    kind: str  # int | number | text | bool | rep | enum
    words: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "enum":
            return "{" + ", ".join(self.words) + "}"
        return self.kind


@dataclass(frozen=True, slots=True)
class LeadField:
    name: str
    type: FieldType
    optional: bool
    default: object | None
    has_default: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class ScoreLine:
    points: int
    cond: Cond | None  # None for `otherwise`
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Score:
    name: str
    lines: tuple[ScoreLine, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    low: int
    high: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Rep:
    name: str
    level: str
    capacity: int | None  # None: the team default
    weight: float | None  # None: the level's weight (`weight LEVEL N`), else 1
    speaks: tuple[str, ...]
    skills: tuple[tuple[str, int], ...]
    span: Span = field(default=NO_SPAN, compare=False)
    caps: tuple[Cap, ...] = ()
    hours: Hours | None = None  # None: the team's `hours default`, if any
    quota: Quota | None = None  # None: the level's or the team's `quota`, if any


@dataclass(frozen=True, slots=True)
class Team:
    skill_low: int
    skill_high: int
    skill_default: int
    capacity_default: int
    reps: tuple[Rep, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    source: str | None = None  # the `team from` file, when split out
    caps: tuple[Cap, ...] = ()  # `cap default ...` and `cap LEVEL ...`
    hours: Hours | None = None  # `hours default ...`
    holidays: tuple[str, ...] = ()  # ISO dates, in each rep's own zone
    level_weights: tuple[tuple[str, float], ...] = ()
    quotas: tuple[Quota, ...] = ()  # `quota default ...` and `quota LEVEL ...`
    groups: tuple[Group, ...] = ()  # `group NAME REP, ...`, in the order written

    def capacity_of(self, rep: Rep) -> int:
        return rep.capacity if rep.capacity is not None else self.capacity_default

    def weight_of(self, rep: Rep) -> float:
        """The rep's own weight, else its level's, else 1."""
        return rep.weight if rep.weight is not None else dict(self.level_weights).get(rep.level, 1.0)

    def quota_of(self, rep: Rep) -> Quota | None:
        """The rep's own quota, else its level's, else the default (None: no quota)."""
        by = {q.scope: q for q in self.quotas}
        return rep.quota or by.get(rep.level) or by.get("default")

    def hours_of(self, rep: Rep) -> Hours | None:
        return rep.hours if rep.hours is not None else self.hours

    def caps_of(self, rep: Rep) -> tuple[Cap, ...]:
        """One cap per period unit: the rep's own, else its level's, else the default."""
        out: dict[str, Cap] = {}
        for scope in ("default", rep.level):
            for cap in self.caps:
                if cap.scope == scope:
                    out[cap.per] = cap
        for cap in rep.caps:
            out[cap.per] = cap
        return tuple(out[u] for u in ("day", "week", "month") if u in out)

    @property
    def zone(self) -> str:
        """The zone in which cap, share and quota periods turn over: the default hours', else UTC."""
        return self.hours.zone if self.hours is not None else "UTC"


# steps of a pipeline (routes and exceptions)
@dataclass(frozen=True, slots=True)
class Lottery:
    percent: float
    by_weight: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Require:
    cond: Cond
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Prefer:
    options: tuple[Cond, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Pick:
    kind: str  # a name of the engine's pick registry (engine/picks.py): least_loaded, round_robin, ...
    span: Span = field(default=NO_SPAN, compare=False)
    shares: tuple[tuple[str, float], ...] = ()  # `pick shares`: (level, percent) in the order written
    per: str = "month"  # `pick shares`: the period the shares are kept over
    then: str | None = None  # `pick shares`: the pick inside the chosen level (None: least loaded)


@dataclass(frozen=True, slots=True)
class OtherwiseRoute:
    tier: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class OtherwiseQueue:
    queue: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Assign:
    """`assign FIELD` (a rep-typed lead field) or `assign REP`."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class QueueAction:
    queue: str
    span: Span = field(default=NO_SPAN, compare=False)


Step = Union[Lottery, Require, Prefer, Pick, OtherwiseRoute, OtherwiseQueue, Assign, QueueAction]


@dataclass(frozen=True, slots=True)
class Exception_:
    name: str
    why: str
    when: Cond
    steps: tuple[Step, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Route:
    tier: str
    why: str
    steps: tuple[Step, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class SlaRule:
    tier: str
    minutes: int
    reassign: int
    text: str  # as written, e.g. "2h"
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Expect:
    kind: str  # tier | rep | level | queue | exception | lottery | route
    value: str | None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    lead: tuple[tuple[str, object, Span], ...]
    open: tuple[tuple[str, int], ...]
    away: tuple[str, ...]
    quota: tuple[tuple[str, float], ...]
    lottery: bool
    seed: str | None
    expects: tuple[Expect, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    at: str | None = None  # the time of the decision, ISO 8601 as written
    assigned: tuple[tuple[str, int], ...] = ()  # assignments so far in each capped period


@dataclass(frozen=True, slots=True)
class Approve:
    """A header clause naming what needs a second person: `approve versions by another`,
    `approve overrides of lottery|TIER`, `approve overrides over N per week`."""

    kind: str  # versions | overrides_of | overrides_over
    what: str = ""  # overrides_of: `lottery` or a tier name
    limit: int = 0  # overrides_over: overrides per actor allowed in a period before the next needs approval
    per: str = ""  # overrides_over: day | week | month | quarter
    span: Span = field(default=NO_SPAN, compare=False)

    def text(self) -> str:
        if self.kind == "versions":
            return "approve versions by another"
        if self.kind == "overrides_of":
            return f"approve overrides of {self.what}"
        return f"approve overrides over {self.limit} per {self.per}"


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    name: str
    title: str
    owner: str | None
    review: str | None
    span: Span = field(default=NO_SPAN, compare=False)
    approvals: tuple[Approve, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    """A whole policy (its team merged in from `team from`, if split out)."""

    info: PolicyInfo | None
    fields: tuple[LeadField, ...]
    scores: tuple[Score, ...]
    tiers: tuple[Tier, ...]
    team: Team | None
    exceptions: tuple[Exception_, ...]
    routes: tuple[Route, ...]
    sla: tuple[SlaRule, ...]
    examples: tuple[Example, ...]
    file: str
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return self.info.name if self.info else "policy"

    @property
    def is_team_file(self) -> bool:
        """Only a `team { ... }` block: a file that `team from` loads, checked on its own."""
        rest = (self.info, self.fields, self.scores, self.tiers, self.exceptions, self.routes, self.sla, self.examples)
        return self.team is not None and not any(rest)

    def field_named(self, name: str) -> LeadField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def route_for(self, tier: str) -> Route | None:
        for r in self.routes:
            if r.tier == tier:
                return r
        return None

    def source_text(self, file: str) -> str | None:
        for name, text in self.sources:
            if name == file:
                return text
        return None

    def source_line(self, span: Span) -> str:
        text = self.source_text(span.file)
        if text is None or span.line < 1:
            return ""
        lines = text.splitlines()
        return lines[span.line - 1] if span.line <= len(lines) else ""
