"""Deciding one lead: the pipeline of a route or exception, driven in precedence order.

1. The lead is validated by the schema (refused, never repaired).
2. The score, the tier and which rule comes next are precedence.py's: exceptions in
   file order before any route, then the tier's route.
3. An exception whose `when` holds runs its pipeline; `assign FIELD` places the lead
   with that rep when the rep is available, else the exception does not apply and
   the next one is tried. An exception whose pipeline ends with no candidate and no
   `otherwise` also falls through. The first exception that places the lead decides.
4. A route starts from the available reps (availability.py); `lottery P%` may draw
   the rep at once (skipping the remaining filters); `require` filters; `prefer A,
   then B` keeps the first non-empty option; `pick` chooses one (picks.py). When no
   candidate is left the lead follows `otherwise route T` (that tier's route, fresh
   from the available reps) or `otherwise queue Q`; without either it is queued as
   `unassigned`. No lead is dropped.

The decision is a pure function of (compiled policy, lead, state, seed, lottery on
or off): every draw is HMAC-SHA256 of the seed and the lead id, and every
tie-break is total. So the fast path records no trace, and `rebuild` makes the
same decision again with the trace on when someone asks why.
"""

from __future__ import annotations

from typing import Any

from . import trace as ev
from .codegen import Compiled, Pipeline
from .decision import _EMPTY_STATE, UNASSIGNED, Decision
from .precedence import EXCEPTION, NO_ROUTE, ROUTE
from .state import State

_UNASSIGNED = ("queue", UNASSIGNED, None, (), None, None)


def decide(
    c: Compiled,
    lead: Any,
    state: State | None = None,
    seed: str = "",
    *,
    lottery: bool = True,
    seed_id: str | None = None,
    trace: bool = False,
    at: float | None = None,
) -> Decision:
    """Place one lead. Raises LeadError when the schema refuses it.

    `seed_id` names the seed in the recorded lottery draw (for example the period
    `2026-W48`), so a decision can be published before its seed is revealed; by
    default the seed itself is recorded. `trace=True` records every step
    (engine/trace.py) for an explanation; drivers leave it off. `at` is the time of the
    decision (epoch seconds): caps per period and working hours are read at it, and
    without it they are not applied (the analysis reasons about the rules alone).
    """
    return decide_positional(c, lead, state, seed, lottery, seed_id, trace, at)


def decide_positional(
    c: Compiled, lead: Any, state: State | None, seed: str, lottery: bool, seed_id: str | None, trace: bool, at: float | None
) -> Decision:
    """`decide` with every argument in place: `Policy.decide` calls it once per lead, and
    passing eight arguments by keyword costs a measurable share of a fast decision."""
    L = c.schema.fast(lead)
    if L is None:  # unusual input: the full validation, which words every refusal
        L = c.schema.validate(lead)
    st = state if state is not None else _EMPTY_STATE
    total, lines, ti, kind, ei, pipe = c.first_rule(L)
    tr = [ev.Scores(lines, total, ti)] if trace else None
    lid = L.get("id")
    args = (
        L,
        st,
        seed,
        seed if seed_id is None else seed_id,
        lid if lid.__class__ is str else "" if lid is None else str(lid),
        lottery,
        at,
        tr,
    )
    tier = c.tier_names[ti] if ti is not None else None
    if kind == ROUTE and tr is None:  # most leads: no exception applies, the tier's route places them
        out = pipe.run(*args)
        if out is None or out[0] == "goto":
            out, pipe = _follow(c, pipe, out, args)
        return _finish(c, args, out, pipe, total, lines, tier, "route", None)
    if tr is not None and ti is not None:
        _skipped(tr, 0, ei if kind == EXCEPTION else len(c.exceptions))
    while kind == EXCEPTION:
        if tr is not None:
            tr.append(ev.ExceptionTry(ei))
        out = (pipe.run if tr is None else pipe.run_traced)(*args)
        if out is not None:
            placed_by = pipe
            if out[0] == "goto":
                route = c.routes.get(out[1])
                out, placed_by = _follow(c, route, (route.run if tr is None else route.run_traced)(*args), args)
            return _finish(c, args, out, placed_by, total, lines, tier, "exception", pipe.name)
        after = ei
        kind, ei, pipe = c.next_rule(L, ti, after)
        if tr is not None:
            tr.append(ev.ExceptionFallthrough(after))
            _skipped(tr, after + 1, ei if kind == EXCEPTION else len(c.exceptions))
    if kind == ROUTE:
        out, placed_by = _follow(c, pipe, (pipe.run if tr is None else pipe.run_traced)(*args), args)
        return _finish(c, args, out, placed_by, total, lines, tier, "route", None)
    if tr is not None:
        tr.append(ev.Unassigned("no route for this tier" if kind == NO_ROUTE else f"score {total} is in no tier"))
    return _finish(c, args, None, None, total, lines, tier, "queue", None)


def rebuild(c: Compiled, d: Decision) -> Decision:
    """The same decision made again from its stored inputs, with the trace on."""
    return decide(c, d.lead, d.state, d.seed, lottery=d.lottery_on, seed_id=d.seed_id, trace=True, at=d.at)


_SKIPS: dict[tuple[int, int], ev.ExceptionSkip] = {}  # events are values: one per span of skipped exceptions


def _skipped(tr: list, start: int, stop: int) -> None:
    if stop > start:
        e = _SKIPS.get((start, stop))
        if e is None:
            e = _SKIPS[start, stop] = ev.ExceptionSkip(tuple(range(start, stop)))
        tr.append(e)


def _follow(c: Compiled, pipe: Pipeline, out: tuple | None, args: tuple) -> tuple[tuple | None, Pipeline | None]:
    """After a route ran: follow `otherwise route` (a cycle stops, unassigned). (outcome or None, last route)."""
    if out is not None and out[0] != "goto":
        return out, pipe
    tr = args[-1]
    seen = set()
    while True:
        seen.add(pipe.key)
        if out is None:
            if tr is not None:
                tr.append(ev.Unassigned("no rep qualified and the route has no `otherwise`"))
            return None, pipe
        if out[0] != "goto":
            return out, pipe
        nxt = c.routes.get(out[1])
        if nxt is None or nxt.key in seen:
            if tr is not None:
                tr.append(ev.Unassigned(f"`otherwise route {out[1]}` leads back to a route already tried"))
            return None, pipe
        if tr is not None:
            tr.append(ev.GotoRoute(pipe.name, out[1]))
        pipe = nxt
        out = (pipe.run if tr is None else pipe.run_traced)(*args)


def _finish(
    c: Compiled, args: tuple, out: tuple, pipe, total: int, lines: tuple, tier: str | None, by: str, exception: str | None
) -> Decision:
    """The Decision; `out` None: unassigned (by "queue", no route or exception named)."""
    if out is None:
        out, pipe, by, exception = _UNASSIGNED, None, "queue", None
    kind, target, lot, cands, pick, updates = out
    L, state, seed, seed_id, _, lottery, at, tr = args
    names = c.rep_names
    if kind == "rep":
        rep, queue = names[target], None
        if lot is not None and lot.winner is not None and by == "route":
            by = "lottery"
    else:
        rep, queue = None, target
        if by == "route":
            by = "queue"
    route = pipe.name if (pipe is not None and pipe.kind == "route") else None
    return Decision(
        L,
        seed,
        total,
        lines,
        tier,
        rep,
        queue,
        by,
        exception,
        route,
        lot,
        tr,
        cands,
        pick,
        updates or (),
        state if state.__class__ is State else state.pending(),  # a ledger moves on: keep this moment
        lottery,
        seed_id,
        names,
        at,
    )
