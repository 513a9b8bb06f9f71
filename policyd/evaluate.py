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

import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import compress
from operator import lt
from typing import Any

from .compile import ASSIGN, LOTTERY, PICK, PREFER, QUEUE, REQUIRE, Compiled, Pipeline
from .state import State

UNASSIGNED = "unassigned"
ESCALATED = "escalated"
_EMPTY_STATE = State()


def draw(seed: str, lead_id: str, purpose: str) -> float:
    """A verifiable number in [0, 1): HMAC-SHA256(seed, purpose:lead_id), top 53 bits."""
    mac = hmac.new(seed.encode("utf-8"), f"{purpose}:{lead_id}".encode(), hashlib.sha256).digest()
    return (int.from_bytes(mac[:8], "big") >> 11) / 9007199254740992.0


def draw_index(u: float, weights: list[float] | None, n: int) -> int:
    """Map a draw to a position: uniform over n, or in proportion to weights."""
    if weights is None:
        return min(int(u * n), n - 1)
    total = math.fsum(weights)
    target = u * total
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w
        if target < acc:
            return i
    return n - 1


@dataclass(frozen=True, slots=True)
class LotteryDraw:
    """Everything needed to recompute a lottery decision from the seed."""

    seed_id: str
    lead_id: str
    ratio: float
    entry_draw: float
    entered: bool
    pool: tuple[str, ...] = ()
    weights: tuple[float, ...] | None = None
    winner_draw: float | None = None
    winner: str | None = None

    def to_json(self) -> dict:
        return {
            "seed_id": self.seed_id,
            "lead_id": self.lead_id,
            "ratio": self.ratio,
            "entry_draw": self.entry_draw,
            "entered": self.entered,
            "pool": list(self.pool),
            "weights": list(self.weights) if self.weights is not None else None,
            "winner_draw": self.winner_draw,
            "winner": self.winner,
        }


@dataclass(slots=True)
class Decision:
    """Where a lead went and why. `trace` is data; explain.py renders it.

    Treated as immutable (not frozen only because frozen dataclasses are slow to
    build, and one is built per lead).
    """

    lead: Mapping[str, Any]
    seed: str
    total: int
    score_lines: tuple[int, ...]
    tier: str | None
    rep: str | None
    queue: str | None
    by: str  # exception | route | lottery | queue
    exception: str | None
    route: str | None
    lottery: LotteryDraw | None
    trace: list  # never mutated after the decision is made
    candidates: tuple[str, ...]
    pick: str | None
    updates: tuple = ()
    state: State = field(default=_EMPTY_STATE, repr=False, compare=False)

    @property
    def lead_id(self) -> str | None:
        v = self.lead.get("id")
        return None if v is None else str(v)

    def summary(self) -> dict:
        return {
            "lead_id": self.lead_id,
            "rep": self.rep,
            "queue": self.queue,
            "tier": self.tier,
            "total": self.total,
            "by": self.by,
            "exception": self.exception,
            "route": self.route,
        }


class _Run:
    """Per-decision scratch: the state read into lists indexed by team order."""

    __slots__ = ("c", "L", "state", "seed", "seed_id", "lottery", "O", "Q", "avail", "trace", "lead_id")

    def __init__(self, c: Compiled, L: dict, state: State, seed: str, lottery: bool):
        self.c = c
        self.L = L
        self.state = state
        self.seed = seed
        self.seed_id = seed
        self.lottery = lottery
        names = c.rep_names
        n = len(names)
        so = state.open
        self.O = O = list(map(so.get, names, c.zeros)) if so else [0] * n
        sq = state.quota
        self.Q = list(map(sq.get, names, c.zeros)) if sq else c.zeros
        avail = list(compress(c.indices, map(lt, O, c.capacity)))
        away = state.away
        if away:
            avail = [i for i in avail if names[i] not in away]
        self.avail = avail
        self.trace: list = []
        lid = L.get("id")
        self.lead_id = "" if lid is None else str(lid)


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
    run = _Run(c, L, st, seed, lottery)
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


def _route_chain(run: _Run, tier: str, seen: set[str]):
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


def _finish(run: _Run, out: tuple, total: int, lines: tuple, tier: str | None, by: str, exception: str | None) -> Decision:
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


def _run_pipeline(run: _Run, pipe: Pipeline):
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


def _pick(run: _Run, pipe: Pipeline, kind: str, cands: list[int]) -> tuple[int, tuple]:
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
    cands = [i for i in cands if O[i] < c.capacity[i] and names[i] not in state.away]
    order = []
    while cands:
        i = least_loaded(c, O, state, cands)
        order.append(names[i])
        cands.remove(i)
    return order


Compiled.decide = decide  # type: ignore[attr-defined]  # a method with one call frame less per lead
