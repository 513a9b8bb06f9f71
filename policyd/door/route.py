"""Route one lead through a door: the first send rule whose condition holds names the team.

The door reads only the fields its `lead` block declares (validated by the engine's
lead schema: refused, never repaired); every other field passes through untouched to
the team, whose policy validates the whole lead. A lead no rule sends anywhere is
`Routed(team=None)`: the caller queues it (replay counts it as "not placed").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.codegen import Compiled
from ..engine.schema import FieldError, LeadError
from ..lang import model as m
from ..lang.door import Door


def _reads(c: m.Cond | None) -> set[str]:
    """The lead fields a door condition reads (shown with their values in the explanation)."""
    if c is None:
        return set()
    if isinstance(c, (m.And, m.Or)):
        return set().union(*(_reads(i) for i in c.items))
    if isinstance(c, m.Not):
        return _reads(c.item)
    if isinstance(c, m.Compare):
        return {o.name for o in (c.left, c.right) if isinstance(o, m.FieldRef)}
    name = getattr(c, "name", None)
    return {name} if isinstance(name, str) else set()


@dataclass(frozen=True, slots=True)
class Routed:
    """Where the door sent a lead, and the rule that did it (for the explanation's first step)."""

    door: str
    team: str | None
    rule: int | None  # index of the send rule in the door, None when no rule matched
    line: int
    text: str  # the condition as written, or "otherwise"
    file: str
    values: tuple[tuple[str, Any], ...]  # the door fields the rule read (for `otherwise`: the rules above it), with the lead's values

    def why_otherwise(self) -> str | None:
        """For a lead sent by `otherwise`: the values the rules above it read, none of which held."""
        if self.team is None or self.rule is None or self.text != "otherwise" or not self.values:
            return None
        return "no rule above it held: " + ", ".join(f"{k} = {'missing' if v is None else v}" for k, v in self.values)

    def step(self) -> str:
        """`front door maven, line 3: office is east -> team east`."""
        if self.team is None:
            return f"front door {self.door}: no send rule matched -> not placed"
        return f"front door {self.door}, line {self.line}: {self.text} -> team {self.team}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Routed:
        """The step as `to_json` wrote it (a decision row keeps it for its explanation)."""
        values = data.get("values") or {}
        return cls(
            data["door"],
            data.get("team"),
            data.get("rule"),
            data.get("line", 0),
            data.get("when", ""),
            data.get("file", ""),
            tuple(values.items()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "door": self.door,
            "team": self.team,
            "rule": self.rule,
            "line": self.line,
            "when": self.text,
            "file": self.file,
            "values": {k: v for k, v in self.values},
            "step": self.step(),
        }


class CompiledDoor:
    """A door ready to route: the lead schema of its fields and one compiled test per rule."""

    def __init__(self, door: Door):
        self.door = door
        self.compiled = Compiled(door.as_policy())  # no team, no rules: the schema and the condition compiler
        self.schema = self.compiled.schema
        self.field_names = frozenset(f.name for f in door.fields)
        self.tests: tuple[Callable[[dict], bool], ...] = tuple(
            (lambda L: True) if s.cond is None else self.compiled._lead_fn(s.cond) for s in door.sends
        )
        self.reads = tuple(tuple(sorted(_reads(s.cond))) for s in door.sends)

    @property
    def name(self) -> str:
        return self.door.name

    def door_lead(self, lead: Any) -> dict[str, Any]:
        """The door's fields of a lead, validated (LeadError names every problem)."""
        if not isinstance(lead, Mapping):
            raise LeadError([FieldError("", lead, "an object of field to value", "a lead must be an object of field to value")])
        return self.schema.validate({k: v for k, v in lead.items() if k in self.field_names})


def route(door: CompiledDoor, lead: Any) -> Routed:
    """The team a lead goes to: the first send rule that holds (file order), else none."""
    values = door.door_lead(lead)
    d = door.door
    for i, test in enumerate(door.tests):
        if test(values):
            s = d.sends[i]
            # `otherwise` reads nothing itself: it keeps the fields the rules above it read, to say why none of them held
            names = door.reads[i] if s.cond is not None else sorted({n for r in door.reads[:i] for n in r})
            read = tuple((n, values.get(n)) for n in names)
            return Routed(d.name, s.team, i, s.span.line, s.text, d.file, read)
    return Routed(d.name, None, None, 0, "", d.file, ())


def team_of(door: CompiledDoor, values: dict[str, Any]) -> int | None:
    """The index of the first rule holding for validated door fields (the checks ask this)."""
    for i, test in enumerate(door.tests):
        if test(values):
            return i
    return None
