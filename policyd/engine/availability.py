"""Who can take a lead right now: not away and under capacity. Written once.

Every driver asks here (deciding, SLA reassignment, overrides, explanations, the
analysis), so "available" cannot mean two things.
"""

from __future__ import annotations

from itertools import compress
from operator import lt

from .codegen import Compiled
from .state import State


def open_counts(c: Compiled, state: State) -> list[int]:
    """Open leads per rep, in team order."""
    so = state.open
    return list(map(so.get, c.rep_names, c.zeros)) if so else [0] * len(c.rep_names)


def available(c: Compiled, opens: list[int], away: frozenset[str]) -> list[int]:
    """Indices of reps under capacity and not away, in team order."""
    avail = list(compress(c.indices, map(lt, opens, c.capacity)))
    if away:
        names = c.rep_names
        avail = [i for i in avail if names[i] not in away]
    return avail


def why_unavailable(c: Compiled, state: State, rep: str) -> str | None:
    """None when `rep` can take a lead; else the reason in words."""
    i = c.rep_index.get(rep)
    if i is None:
        return f"{rep} is not on the team"
    if rep in state.away:
        return f"{rep} is away"
    n = state.open.get(rep, 0)
    if n >= c.capacity[i]:
        return f"{rep} is at capacity ({n}/{c.capacity[i]})"
    return None
