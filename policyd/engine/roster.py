"""The team as the engine reads it: per-rep tables indexed by team order.

Split from the compiled policy so the rules that only need the team (availability,
the pick strategies) sit below the compiler and the compiler can ask them.
"""

from __future__ import annotations

import math

from ..lang import model as m

DEFAULT_TEAM = m.Team(1, 3, 1, 25, ())
NEVER = -math.inf  # the last assignment of a rep never assigned: longer ago than any


def rank(cap: int, n: int, last: float, i: int) -> tuple[float, int, float, int]:
    """Where rep `i` stands in least loaded's order, lowest first: load (open / capacity,
    1.0 at capacity 0), then fewer open, then longest since its last assignment, then
    team order. The one statement of that order: the state's team-ordered reading keeps
    each rep's rank as moves change it, so a pick is one `min` (picks.py explains it)."""
    return (n / cap if cap else 1.0, n, last, i)


class Roster:
    """Rep names, levels, capacities, weights, languages and skills, in team order."""

    def __init__(self, team: m.Team | None):
        team = team or DEFAULT_TEAM
        self.team = team
        self.rep_names: tuple[str, ...] = tuple(r.name for r in team.reps)
        self.rep_index = {n: i for i, n in enumerate(self.rep_names)}
        self.indices = tuple(range(len(self.rep_names)))
        self.zeros = [0] * len(self.rep_names)
        self.levels = tuple(r.level for r in team.reps)
        self.capacity = tuple(team.capacity_of(r) for r in team.reps)
        self.weights = tuple(float(team.weight_of(r)) for r in team.reps)
        self.speaks = tuple(frozenset(r.speaks) for r in team.reps)
        self.skills = tuple(dict(r.skills) for r in team.reps)
        self.skill_default = team.skill_default
        # caps and working hours (engine/hours.py reads these; `timed` False: no time rule at all)
        self.caps = tuple(tuple((c.per, c.limit) for c in team.caps_of(r)) for r in team.reps)
        self.hours = tuple(team.hours_of(r) for r in team.reps)
        self.holidays = frozenset(team.holidays)
        self.zone_name = team.zone
        used = {unit for caps in self.caps for unit, _ in caps}
        self.cap_units = tuple(u for u in ("day", "week", "month") if u in used)
        self.timed = bool(self.cap_units) or any(h is not None for h in self.hours)
        self.quotas = tuple(team.quota_of(r) for r in team.reps)  # None: the rep's quota comes from the state
        self.has_quota = any(q is not None for q in self.quotas)
