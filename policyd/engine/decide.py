"""Deciding one lead: the precedence rules, written once.

1. The lead is validated by the schema (refused, never repaired).
2. Every score block adds the points of its first matching line; the total picks
   the tier (the first tier in file order whose range holds it).
3. Exceptions are tried in file order before any route. An exception whose `when`
   holds runs its pipeline; `assign FIELD` places the lead with that rep when the rep
   is available, else the exception does not apply and the next one is tried. An
   exception whose pipeline ends with no candidate and no `otherwise` also falls
   through. The first exception that places the lead decides.
4. Otherwise the tier's route runs: start from the available reps (not away, under
   capacity); `lottery P%` may draw the rep at once (skipping the remaining
   filters); `require` filters; `prefer A, then B` keeps the first non-empty
   option; `pick` chooses one. When no candidate is left the lead follows
   `otherwise route T` (that tier's route, fresh from the available reps) or
   `otherwise queue Q`; without either it is queued as `unassigned`.
5. A lead scoring outside every tier is queued as `unassigned`. No lead is dropped.

The decision is a pure function of (compiled policy, lead, state, seed): every draw
is HMAC-SHA256 of the seed and the lead id, and every tie-break is total.
"""

from __future__ import annotations

from typing import Any

from .codegen import ASSIGN, LOTTERY, PICK, PREFER, QUEUE, REQUIRE, Compiled, Pipeline
from .decision import _EMPTY_STATE, UNASSIGNED, Decision, LotteryDraw
from .draw import draw, draw_index
from .picks import pick as _pick
from .run import Run
from .state import State


def decide(
    c: Compiled, lead: Any, state: State | None = None, seed: str = "", *, lottery: bool = True, seed_id: str | None = None
) -> Decision:
    """Place one lead. Raises LeadError when the schema refuses it.

    `seed_id` names the seed in the recorded lottery draw (for example the period
    `2026-W48`), so a decision can be published before its seed is revealed; by
    default the seed itself is recorded.
    """
    L = c.schema.validate(lead)
    st = state if state is not None else _EMPTY_STATE
    run = Run(c, L, st, seed, lottery)
    if seed_id is not None:
        run.seed_id = seed_id
    trace = run.trace
    total, lines = c.score_fn(L)
    trace.append(("scores", lines, total))
    ti = c.tier_by_total.get(total)
    tier = c.tiers[ti].name if ti is not None else None
    trace.append(("tier", ti))

    if tier is not None:
        for ei, (when, pipe) in enumerate(c.exceptions):
            if not when(L):
                trace.append(("exception_skip", ei))
                continue
            trace.append(("exception_try", ei))
            out = _run_pipeline(run, pipe)
            if out is None:
                trace.append(("exception_fallthrough", ei))
                continue
            if out[0] == "goto":
                out = _route_chain(run, out[1], {pipe.name})
                if out is None:
                    break
            return _finish(run, out, total, lines, tier, "exception", pipe.name)
        else:
            if tier in c.routes:
                out = _route_chain(run, tier, set())
                if out is not None:
                    return _finish(run, out, total, lines, tier, "route", None)
            else:
                trace.append(("unassigned", "no route for this tier"))
    else:
        trace.append(("unassigned", f"score {total} is in no tier"))
    return _finish(run, ("queue", UNASSIGNED, None, None, (), None, None), total, lines, tier, "queue", None)


def _route_chain(run: Run, tier: str, seen: set[str]):
    """Run a tier's route, following `otherwise route` (a cycle stops, queued)."""
    c = run.c
    pipe = c.routes.get(tier)
    while pipe is not None:
        seen.add(pipe.key)
        out = _run_pipeline(run, pipe)
        if out is None:
            run.trace.append(("unassigned", "no rep qualified and the route has no `otherwise`"))
            return None
        if out[0] != "goto":
            return out
        nxt = c.routes.get(out[1])
        if nxt is None or nxt.key in seen:
            run.trace.append(("unassigned", f"`otherwise route {out[1]}` leads back to a route already tried"))
            return None
        run.trace.append(("goto_route", pipe.name, out[1]))
        pipe = nxt
    return None


def _finish(run: Run, out: tuple, total: int, lines: tuple, tier: str | None, by: str, exception: str | None) -> Decision:
    kind, target, pipe, lot, cands, pick, updates = out
    names = run.c.rep_names
    if kind == "rep":
        rep, queue = names[target], None
        if lot is not None and lot.winner is not None:
            by = "lottery" if by == "route" else by
    else:
        rep, queue = None, target
        by = "queue" if by == "route" else by
    return Decision(
        lead=run.L,
        seed=run.seed,
        total=total,
        score_lines=lines,
        tier=tier,
        rep=rep,
        queue=queue,
        by=by,
        exception=exception,
        route=pipe.name if (pipe is not None and pipe.kind == "route") else None,
        lottery=lot,
        trace=run.trace,
        candidates=tuple(map(names.__getitem__, cands)),
        pick=pick,
        updates=updates or (),
        state=run.state,
    )


def _run_pipeline(run: Run, pipe: Pipeline):
    """Run one route or exception. None: it placed nothing and has no `otherwise`."""
    c = run.c
    L, O, Q = run.L, run.O, run.Q
    trace = run.trace
    cands = run.avail
    trace.append(("start", pipe.key, cands))
    lot = None
    for st in pipe.steps:
        kind = st.kind
        if kind == REQUIRE:
            new = st.fn(L, O, Q, cands)
            trace.append(("require", pipe.key, st.index, cands, new))
            cands = new
        elif kind == PREFER:
            chosen = -1
            new = cands
            for oi, fn in enumerate(st.fn):
                kept = fn(L, O, Q, cands)
                if kept:
                    chosen, new = oi, kept
                    break
            trace.append(("prefer", pipe.key, st.index, chosen, cands, new))
            cands = new
        elif kind == PICK:
            if not cands:
                break
            r, updates = _pick(run, pipe, st.arg, cands)
            trace.append(("pick", pipe.key, st.index, st.arg, cands, r))
            return ("rep", r, pipe, lot, cands, st.arg, updates)
        elif kind == LOTTERY:
            ratio, by_weight = st.arg
            if not run.lottery:
                trace.append(("lottery_off", pipe.key, st.index))
                continue
            u = draw(run.seed, run.lead_id, "entry")
            if u >= ratio or not cands:
                lot = LotteryDraw(run.seed_id, run.lead_id, ratio, u, False, tuple(map(c.rep_names.__getitem__, cands)))
                trace.append(("lottery", pipe.key, st.index, lot))
                continue
            weights = [c.weights[i] for i in cands] if by_weight else None
            v = draw(run.seed, run.lead_id, "winner")
            r = cands[draw_index(v, weights, len(cands))]
            lot = LotteryDraw(
                run.seed_id,
                run.lead_id,
                ratio,
                u,
                True,
                tuple(c.rep_names[i] for i in cands),
                tuple(weights) if weights is not None else None,
                v,
                c.rep_names[r],
            )
            trace.append(("lottery", pipe.key, st.index, lot))
            return ("rep", r, pipe, lot, cands, "lottery", ())
        elif kind == ASSIGN:
            field_name, fixed = st.arg
            if field_name is not None:
                who = L.get(field_name)
                r = c.rep_index.get(who, -1) if who is not None else -1
            else:
                who, r = c.rep_names[fixed] if fixed >= 0 else None, fixed
            ok = r >= 0 and r in cands
            trace.append(("assign", pipe.key, st.index, who, r, ok))
            if ok:
                return ("rep", r, pipe, None, (r,), "assign", ())
            return None
        elif kind == QUEUE:
            trace.append(("queue", pipe.key, st.index, st.arg))
            return ("queue", st.arg, pipe, None, (), None, None)
        if not cands:
            break
    trace.append(("empty", pipe.key))
    if pipe.otherwise_queue is not None:
        trace.append(("otherwise_queue", pipe.key, pipe.otherwise_queue))
        return ("queue", pipe.otherwise_queue, pipe, lot, (), None, None)
    if pipe.otherwise_route is not None:
        return ("goto", pipe.otherwise_route)
    return None
