"""Pick strategies: how a route chooses one rep among its candidates."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from .availability import available
from .codegen import Compiled, Pipeline
from .decision import Decision
from .draw import draw, draw_index
from .run import Run
from .state import State


def pick(run: Run, pipe: Pipeline, kind: str, cands: list[int]) -> tuple[int, tuple]:
    c = run.c
    if kind == "least_loaded":
        return least_loaded(c, run.O, run.state, cands), ()
    if kind == "round_robin":
        last = run.state.cursors.get(pipe.key)
        pos = c.rep_index.get(last, -1) if last is not None else -1
        r = next((i for i in cands if i > pos), cands[0])
        return r, (("cursor", pipe.key, c.rep_names[r]),)
    if kind == "weighted":
        current = run.state.wrr.get(pipe.key, {})
        names = c.rep_names
        cw = {names[i]: current.get(names[i], 0.0) + c.weights[i] for i in cands}
        total = math.fsum(c.weights[i] for i in cands)
        best = max(cands, key=lambda i: (cw[names[i]], -i))
        new = dict(current)
        new.update(cw)
        new[names[best]] -= total
        return best, (("wrr", pipe.key, new),)
    if kind == "random":
        u = draw(run.seed, run.lead_id, f"pick:{pipe.key}")
        return cands[draw_index(u, None, len(cands))], ()
    raise ValueError(f"unknown pick {kind}")


def least_loaded(c: Compiled, O: list[int], state: State, cands: list[int]) -> int:
    """Lowest load; ties: fewer open, then longest since last assignment, then team order.

    Staged rather than one `min` over a tuple key: most picks are settled by load
    alone, and this runs once per lead. `cands` is always in team order.
    """
    cap = c.capacity
    loads = [O[i] / cap[i] if cap[i] else 1.0 for i in cands]
    low = min(loads)
    tied = [i for i, x in zip(cands, loads) if x == low]
    if len(tied) == 1:
        return tied[0]
    fewest = min(O[i] for i in tied)
    tied = [i for i in tied if O[i] == fewest]
    if len(tied) == 1:
        return tied[0]
    last = state.last
    if not last:
        return tied[0]
    names = c.rep_names
    ninf = -math.inf
    times = [last.get(names[i], ninf) for i in tied]
    oldest = min(times)
    return tied[times.index(oldest)]


def rank(c: Compiled, state: State, decision: Decision, exclude: set[str]) -> list[str]:
    """The decision's other candidates in the order its pick would take them (for SLA reassignment)."""
    names = c.rep_names
    O = [state.open.get(n, 0) for n in names]
    cands = [c.rep_index[n] for n in decision.candidates if n in c.rep_index and n not in exclude]
    free = set(available(c, O, state.away))
    cands = [i for i in cands if i in free]
    order = []
    while cands:
        i = least_loaded(c, O, state, cands)
        order.append(names[i])
        cands.remove(i)
    return order


@dataclass(frozen=True, slots=True)
class Move:
    """Where a lead goes next: the rep, and the rotation updates that placement makes."""

    rep: str
    updates: tuple = ()


def next_holder(c: Compiled, state: State, decision: Decision, tried: Collection[str], attempt: int) -> Move | None:
    """Who takes a lead its holder let go (SLA), in the order the decision's pick takes them.

    `tried` are the reps who already had it; `attempt` counts moves (1 for the first),
    so a verifiable draw can differ per move. None: nobody is left.
    """
    order = rank(c, state, decision, set(tried))
    return Move(order[0]) if order else None
