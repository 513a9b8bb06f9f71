"""What every check reads: the policy's names, indexed once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..engine.codegen import Compiled, compile_policy
from ..lang import model as m

REP_ATTRIBUTES = ("load", "open", "quota", "capacity", "weight")
BUILTIN_QUEUES = ("unassigned", "escalated")
NUMERIC = ("int", "number")


@dataclass
class Context:
    policy: m.Policy

    @cached_property
    def compiled(self) -> Compiled:
        """The policy compiled, once: the analysis decides with it, and the load that checked keeps it."""
        return compile_policy(self.policy)

    def compiled_if_built(self) -> Compiled | None:
        """`compiled` when the checks built it (a cached_property keeps its value in the instance's dict), else None."""
        return self.__dict__.get("compiled")

    @cached_property
    def fields(self) -> dict[str, m.LeadField]:
        out: dict[str, m.LeadField] = {}
        for f in self.policy.fields:
            out.setdefault(f.name, f)
        return out

    @cached_property
    def reps(self) -> dict[str, m.Rep]:
        out: dict[str, m.Rep] = {}
        for r in self.team_reps:
            out.setdefault(r.name, r)
        return out

    @cached_property
    def team_reps(self) -> tuple[m.Rep, ...]:
        return self.policy.team.reps if self.policy.team else ()

    @cached_property
    def levels(self) -> set[str]:
        return {r.level for r in self.team_reps}

    @cached_property
    def skills(self) -> set[str]:
        return {s for r in self.team_reps for s, _ in r.skills}

    @cached_property
    def tiers(self) -> dict[str, m.Tier]:
        out: dict[str, m.Tier] = {}
        for t in self.policy.tiers:
            out.setdefault(t.name, t)
        return out

    @cached_property
    def queues(self) -> set[str]:
        out = set(BUILTIN_QUEUES)
        for pipe in list(self.policy.routes) + list(self.policy.exceptions):
            for s in pipe.steps:
                if isinstance(s, m.OtherwiseQueue):
                    out.add(s.queue)
                elif isinstance(s, m.QueueAction):
                    out.add(s.queue)
        return out
