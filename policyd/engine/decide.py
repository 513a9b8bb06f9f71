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
from .codegen import ASSIGN, LOTTERY, PICK, PREFER, QUEUE, REQUIRE, Compiled, Pipeline
from .decision import _EMPTY_STATE, UNASSIGNED, Decision
from .draw import lottery as lottery_step
from .precedence import EXCEPTION, NO_ROUTE, ROUTE, grade, next_rule
from .run import Run
from .state import State

_UNASSIGNED = ("queue", UNASSIGNED, None, None, (), None, None)


def decide(
    c: Compiled,
    lead: Any,
    state: State | None = None,
    seed: str = "",
    *,
    lottery: bool = True,
    seed_id: str | None = None,
    trace: bool = False,
) -> Decision:
    """Place one lead. Raises LeadError when the schema refuses it.

    `seed_id` names the seed in the recorded lottery draw (for example the period
    `2026-W48`), so a decision can be published before its seed is revealed; by
    default the seed itself is recorded. `trace=True` records every step
    (engine/trace.py) for an explanation; drivers leave it off.
    """
    L = c.schema.validate(lead)
    st = state if state is not None else _EMPTY_STATE
    total, lines, ti = grade(c, L)
    tr = [ev.Scores(lines, total), ev.Tier(ti)] if trace else None
    run = Run(c, L, st, seed, seed if seed_id is None else seed_id, lottery, tr)
    tier = c.tiers[ti].name if ti is not None else None
    kind, ei, pipe = next_rule(c, L, ti)
    if tr is not None and ti is not None:
        tr.extend(map(ev.ExceptionSkip, range(ei if kind == EXCEPTION else len(c.exceptions))))
    while kind == EXCEPTION:
        if tr is not None:
            tr.append(ev.ExceptionTry(ei))
        out = _run_pipeline(run, pipe)
        if out is not None:
            if out[0] == "goto":
                out = _route_chain(run, out[1], set())
                if out is None:
                    return _finish(run, _UNASSIGNED, total, lines, tier, "queue", None)
            return _finish(run, out, total, lines, tier, "exception", pipe.name)
        after = ei
        kind, ei, pipe = next_rule(c, L, ti, after)
        if tr is not None:
            tr.append(ev.ExceptionFallthrough(after))
            tr.extend(map(ev.ExceptionSkip, range(after + 1, ei if kind == EXCEPTION else len(c.exceptions))))
    if kind == ROUTE:
        out = _route_chain(run, tier, set())
        if out is not None:
            return _finish(run, out, total, lines, tier, "route", None)
    elif tr is not None:
        tr.append(ev.Unassigned("no route for this tier" if kind == NO_ROUTE else f"score {total} is in no tier"))
    return _finish(run, _UNASSIGNED, total, lines, tier, "queue", None)


def rebuild(c: Compiled, d: Decision) -> Decision:
    """The same decision made again from its stored inputs, with the trace on."""
    return decide(c, d.lead, d.state, d.seed, lottery=d.lottery_on, seed_id=d.seed_id, trace=True)


def _route_chain(run: Run, tier: str, seen: set[str]):
    """Run a tier's route, following `otherwise route` (a cycle stops, queued)."""
    c = run.c
    tr = run.trace
    pipe = c.routes.get(tier)
    while pipe is not None:
        seen.add(pipe.key)
        out = _run_pipeline(run, pipe)
        if out is None:
            if tr is not None:
                tr.append(ev.Unassigned("no rep qualified and the route has no `otherwise`"))
            return None
        if out[0] != "goto":
            return out
        nxt = c.routes.get(out[1])
        if nxt is None or nxt.key in seen:
            if tr is not None:
                tr.append(ev.Unassigned(f"`otherwise route {out[1]}` leads back to a route already tried"))
            return None
        if tr is not None:
            tr.append(ev.GotoRoute(pipe.name, out[1]))
        pipe = nxt
    return None


def _finish(run: Run, out: tuple, total: int, lines: tuple, tier: str | None, by: str, exception: str | None) -> Decision:
    kind, target, pipe, lot, cands, pick, updates = out
    names = run.c.rep_names
    if kind == "rep":
        rep, queue = names[target], None
        if lot is not None and lot.winner is not None and by == "route":
            by = "lottery"
    else:
        rep, queue = None, target
        if by == "route":
            by = "queue"
    return Decision(
        run.L,
        run.seed,
        total,
        lines,
        tier,
        rep,
        queue,
        by,
        exception,
        pipe.name if (pipe is not None and pipe.kind == "route") else None,
        lot,
        run.trace,
        tuple(map(names.__getitem__, cands)),
        pick,
        updates or (),
        run.state,
        run.lottery,
        run.seed_id,
    )


def _run_pipeline(run: Run, pipe: Pipeline):
    """Run one route or exception. None: it placed nothing and has no `otherwise`.

    Otherwise a tuple: ("rep", index, pipe, lottery draw, candidates, pick kind,
    updates), ("queue", name, pipe, lottery draw, (), None, None) or ("goto", tier).
    """
    c = run.c
    L, O, Q = run.L, run.O, run.Q
    tr = run.trace
    key = pipe.key
    cands = run.avail
    if tr is not None:
        tr.append(ev.Start(key, tuple(cands)))
    lot = None
    for st in pipe.steps:
        kind = st.kind
        if kind == REQUIRE:
            new = st.fn(L, O, Q, cands)
            if tr is not None:
                tr.append(ev.Require(key, st.index, tuple(cands), tuple(new)))
            cands = new
        elif kind == PREFER:
            chosen = -1
            new = cands
            for oi, fn in enumerate(st.fn):
                kept = fn(L, O, Q, cands)
                if kept:
                    chosen, new = oi, kept
                    break
            if tr is not None:
                tr.append(ev.Prefer(key, st.index, chosen, tuple(cands), tuple(new)))
            cands = new
        elif kind == PICK:
            if not cands:
                break
            r, updates = st.fn(c, O, run.state, run.seed, run.lead_id, key, cands)
            if tr is not None:
                tr.append(ev.Pick(key, st.index, st.arg, tuple(cands), r))
            return ("rep", r, pipe, lot, cands, st.arg, updates)
        elif kind == LOTTERY:
            if not run.lottery:
                if tr is not None:
                    tr.append(ev.LotteryOff(key, st.index))
                continue
            ratio, by_weight = st.arg
            names = c.rep_names
            weights = tuple(c.weights[i] for i in cands) if by_weight else None
            lot, w = lottery_step(run.seed, run.seed_id, run.lead_id, ratio, tuple(names[i] for i in cands), weights)
            if tr is not None:
                tr.append(ev.Lottery(key, st.index, lot))
            if w < 0:
                continue
            return ("rep", cands[w], pipe, lot, cands, "lottery", ())
        elif kind == ASSIGN:
            field_name, fixed = st.arg
            if field_name is not None:
                who = L.get(field_name)
                r = c.rep_index.get(who, -1) if who is not None else -1
            else:
                who, r = c.rep_names[fixed] if fixed >= 0 else None, fixed
            ok = r >= 0 and r in cands
            if tr is not None:
                tr.append(ev.Assign(key, st.index, who, r, ok))
            if ok:
                return ("rep", r, pipe, None, (r,), "assign", ())
            return None
        elif kind == QUEUE:
            if tr is not None:
                tr.append(ev.Queue(key, st.index, st.arg))
            return ("queue", st.arg, pipe, None, (), None, None)
        if not cands:
            break
    if tr is not None:
        tr.append(ev.Empty(key))
    if pipe.otherwise_queue is not None:
        if tr is not None:
            tr.append(ev.OtherwiseQueue(key, pipe.otherwise_queue))
        return ("queue", pipe.otherwise_queue, pipe, lot, (), None, None)
    if pipe.otherwise_route is not None:
        return ("goto", pipe.otherwise_route)
    return None
