"""Impact of a policy change, from the rules alone (no lead data needed).

A lead matters to the rules only through the fields its conditions read, and each
field splits into finitely many classes that no condition can tell apart: the words
of an enum, true/false, missing or not, and for numbers the intervals between the
thresholds the conditions compare against (`employees >= 1000` splits at 1000).
Rep attributes from runtime state (`load`, `open`, `quota`) split the same way.
Enumerating every combination of classes ("lead kinds") and running both compiled
policies on one representative of each is therefore exact, not a sample:

- tier moves: each total score in either policy's range, old tier -> new tier;
- route changes: each lead kind, where it goes first (an exception whose `when`
  holds, else its tier's route) before and after;
- eligibility: for each route and exception with `require`/`prefer`, each rep's
  standing (not eligible / eligible / preferred) for each lead kind.

Kinds with the same before -> after are merged back into short descriptions
("industry finance, employees >= 5000") by joining classes that differ in one
field only. Where a field is compared with another field the classes cannot be
made exact; the impact says so in its notes.

The lead kinds live in kinds.py and their words in kinds_text.py; tier moves and
eligibility in tier_moves.py and eligibility.py. This module enumerates route
changes and puts the three together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.codegen import Compiled
from ..engine.precedence import EXCEPTION, NO_TIER, ROUTE
from .eligibility import EligibilityChange, eligibility
from .kinds import MAX_KINDS, _dims, _lead, _product, _Uses, _walk
from .kinds_text import _kinds_text, describe
from .levers import lever_notes
from .tier_moves import TierMove, tier_moves


@dataclass(frozen=True)
class RouteChange:
    old: str
    new: str
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.old} -> {self.new} for {_kinds_text(self.kinds)}"


@dataclass
class Impact:
    tier_moves: list[TierMove] = field(default_factory=list)
    routing: list[RouteChange] = field(default_factory=list)
    eligibility: list[EligibilityChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.tier_moves or self.routing or self.eligibility)

    def to_json(self) -> dict[str, Any]:
        return {
            "tier_moves": [{"low": t.low, "high": t.high, "old": t.old, "new": t.new, "summary": str(t)} for t in self.tier_moves],
            "routing": [{"old": r.old, "new": r.new, "kinds": list(r.kinds), "summary": str(r)} for r in self.routing],
            "eligibility": [
                {"pipeline": e.pipeline, "rep": e.rep, "old": e.old, "new": e.new, "kinds": list(e.kinds), "summary": str(e)}
                for e in self.eligibility
            ],
            "notes": list(self.notes),
        }


def _destination(c: Compiled, lead: dict) -> str:
    """Where a lead goes first, by the engine's precedence (exceptions before routes)."""
    total, _, ti, kind, _, pipe = c.first_rule(lead)
    if kind == NO_TIER:
        return f"unassigned (total {total} is in no tier)"
    if kind == EXCEPTION:
        return f"exception {pipe.name}"
    tier = c.tiers[ti].name
    return f"route {tier}" if kind == ROUTE else f"unassigned (no route for {tier})"


def routing(old: Compiled, new: Compiled, notes: list[str]) -> list[RouteChange]:
    u = _Uses()
    for p in (old.policy, new.policy):
        names = {f.name for f in p.fields}
        for s in p.scores:
            for line in s.lines:
                if line.cond is not None:
                    _walk(line.cond, names, False, u)
        for e in p.exceptions:
            _walk(e.when, names, False, u)
    for f in new.policy.fields:  # a word added to or dropped from a field turns leads away or in
        g = old.policy.field_named(f.name)
        if f.type.kind == "enum" and g is not None and g.type.kind == "enum" and set(f.type.words) != set(g.type.words):
            u.fields[f.name] = None
    dims = _dims(u, old.policy, new.policy)
    kinds = _product(dims)
    if kinds is None:
        notes.append(f"route changes not computed: more than {MAX_KINDS} kinds of lead")
        return []
    if u.field_vs_field:
        notes.append(f"fields compared with each other ({', '.join(sorted(u.field_vs_field))}) are split only at written thresholds")
    groups: dict[tuple[str, str], list[tuple[int, ...]]] = {}
    for kind in kinds:
        dest = []
        for c in (old, new):
            lead, refused = _lead(c.policy, dims, kind)
            dest.append(f"refused ({refused} is not allowed)" if refused else _destination(c, lead))
        if dest[0] != dest[1]:
            groups.setdefault((dest[0], dest[1]), []).append(kind)
    return [RouteChange(a, b, describe(dims, ks)) for (a, b), ks in sorted(groups.items())]


def impact(old: Compiled, new: Compiled) -> Impact:
    """Everything a change does to where leads go, computed from the two policies."""
    notes: list[str] = lever_notes(old.policy.team, new.policy.team)
    return Impact(tier_moves(old, new), routing(old, new, notes), eligibility(old, new, notes), notes)
