"""A route or exception compiled into one generated Python function: its steps, in order.

The semantics of a pipeline, written once (the generator below is their only form):

- it starts from the available reps (availability.py's seat of the state);
- `lottery P%` draws (draw.lottery): a winner places the lead at once, skipping the
  remaining steps; switched off, the step is skipped;
- `require` keeps the candidates that meet it; `prefer A, then B` keeps the first
  option that keeps anyone (none does: all are kept);
- `pick` asks its strategy (picks.py) for one rep; `assign` places the lead with the
  named rep when that rep is available, else the pipeline does not apply (None);
  `queue Q` parks it;
- with no candidate left: `otherwise queue Q`, `otherwise route T` ("goto"), or None.

Generated rather than interpreted because it runs for every lead: the steps become
straight-line code with no dispatch on the step kind. Each pipeline is generated
twice from one template: without the trace (the fast path) and with it.

Each function takes (L, state, seed, seed_id, lead_id, lottery, at, tr) and returns
("rep", index, lottery draw or None, candidates, pick kind, updates),
("queue", name, lottery draw or None, (), None, None), ("goto", tier) or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import trace as ev
from .draw import lottery as lottery_step

# step kinds, as compiled by codegen
LOTTERY, REQUIRE, PREFER, PICK, ASSIGN, QUEUE = range(6)

PipelineFn = Callable[..., Any]
T = "\x00"  # marks a trace-only line: kept (unguarded) in the traced variant, dropped in the other


def generate(
    key: str, steps: Sequence[Any], otherwise_route: str | None, otherwise_queue: str | None, tables: dict[str, Any]
) -> tuple[PipelineFn, PipelineFn]:
    """The functions for one pipeline, without and with the trace (same code, same answers).

    `steps` are codegen's CSteps (`reads`: which of the state's team lists the step
    reads, "O" open counts, "Q" quota); `tables` holds the team tables and state
    readers the code refers to (R, NM, W, RI, SEATED, AVAIL, BLOCKER, QUOTA, ZQ).
    """
    ns: dict[str, Any] = dict(tables)
    ns.update(
        KEY=key,
        LOTTERY=lottery_step,
        START=ev.Start,
        REQ=ev.Require,
        PREF=ev.Prefer,
        PICKED=ev.Pick,
        LOT=ev.Lottery,
        LOTOFF=ev.LotteryOff,
        ASSIGNED=ev.Assign,
        QUEUED=ev.Queue,
        EMPTY=ev.Empty,
        OQUEUE=ev.OtherwiseQueue,
    )
    reads = set().union(*(st.reads for st in steps))
    body = ["lot = None"]
    # caps and working hours: generated only for a team that has them (others pay nothing)
    timed = "GATE" in ns
    gated = "GATE(R, state, at, {})" if timed else "{}"
    if any(st.kind in (ASSIGN, QUEUE) for st in steps):
        # a placing exception reads no candidate list: `assign` asks availability about its one rep
        body += [T + f"tr.append(START(KEY, tuple({gated.format('AVAIL(state.open, state.away)')})))"]
    else:
        # the state's team-ordered reading (availability.seated_of), kept on it for this team
        body += [
            "t = state._seats",
            "if t is not None and t[0] is R:",
            "    O = t[1]; cands = t[2]",
            "else:",
            "    O, cands = SEATED(state)",
        ]
        if timed:
            body.append("cands = GATE(R, state, at, cands)")
        if "Q" in reads and "LIVEQ" in ns:  # quotas in the team: attainment from the won counters, at `at`
            body += ["Q = LIVEQ(R, state, at)"]
        elif "Q" in reads:
            body += ["sq = state.quota", "Q = QUOTA(sq) if sq else ZQ"]
        else:
            body.append("Q = ZQ")
        body += [
            T + "tc = tuple(cands)  # the candidates as the trace records them, converted once per change",
            T + "tr.append(START(KEY, tc))",
        ]
    body.append("while True:  # one pass; `break`: no candidate left")
    for k, st in enumerate(steps):
        body += [f"    # step {st.index}"] + [f"    {line}" for line in _step(k, st, ns)]
    body += ["    break", T + "tr.append(EMPTY(KEY))"]
    if otherwise_queue is not None:
        ns["OTHERWISE_QUEUE"] = otherwise_queue
        body += [T + "tr.append(OQUEUE(KEY, OTHERWISE_QUEUE))", "return ('queue', OTHERWISE_QUEUE, lot, (), None, None)"]
    elif otherwise_route is not None:
        ns["OTHERWISE_ROUTE"] = otherwise_route
        body.append("return ('goto', OTHERWISE_ROUTE)")
    else:
        body.append("return None")
    return _function("run", body, ns, traced=False), _function("run_traced", body, ns, traced=True)


def _function(name: str, body: list[str], ns: dict[str, Any], traced: bool) -> PipelineFn:
    lines = [f"def {name}(L, state, seed, seed_id, lead_id, lottery, at, tr):"]
    for line in body:
        code = line.lstrip(" ")
        if code.startswith(T):
            if not traced:
                continue
            line = line[: len(line) - len(code)] + code[1:]
        lines.append("    " + line)
    exec("\n".join(lines), ns)  # noqa: S102 - our own generated source
    return ns[name]


def _step(k: int, st: Any, ns: dict[str, Any]) -> list[str]:
    """The source of step k (its constants go into `ns` under names ending in k)."""
    i = st.index
    count = " + COUNT(R, at)" if "COUNT" in ns else ""  # cap counters, only for a team with caps
    if st.kind == REQUIRE:
        ns[f"F{k}"] = st.fn
        return [
            f"new = F{k}(L, O, Q, cands)",
            T + "tn = tuple(new)",
            T + f"tr.append(REQ(KEY, {i}, tc, tn))",
            T + "tc = tn",
            "cands = new",
            "if not cands:",
            "    break",
        ]
    if st.kind == PREFER:
        src = []
        for oi, fn in enumerate(st.fn):
            ns[f"F{k}_{oi}"] = fn
            call = f"new = F{k}_{oi}(L, O, Q, cands); chosen = {oi}"
            src += [call] if oi == 0 else ["if not new:", f"    {call}"]
        return src + [
            "if not new:",
            "    new = cands; chosen = -1",
            T + "tn = tuple(new)",
            T + f"tr.append(PREF(KEY, {i}, chosen, tc, tn))",
            T + "tc = tn",
            "cands = new",
            "if not cands:",
            "    break",
        ]
    if st.kind == PICK:
        ns[f"CHOOSE{k}"], ns[f"KIND{k}"] = st.fn, st.arg
        return [
            "if not cands:",
            "    break",
            f"r, updates = CHOOSE{k}(R, O, state, seed, lead_id, KEY, cands{', at' if 'T' in st.reads else ''})",
            T + f"tr.append(PICKED(KEY, {i}, KIND{k}, tc, r))",
            f"return ('rep', r, lot, cands, KIND{k}, updates{count})",
        ]
    if st.kind == LOTTERY:
        ratio, by_weight = st.arg
        ns[f"RATIO{k}"] = ratio
        weights = "tuple([W[i] for i in cands])" if by_weight else "None"
        return [
            "if lottery:",
            f"    lot, w = LOTTERY(seed, seed_id, lead_id, RATIO{k}, tuple([NM[i] for i in cands]), {weights})",
            T + f"    tr.append(LOT(KEY, {i}, lot))",
            "    if w >= 0:",
            f"        return ('rep', cands[w], lot, cands, 'lottery', (){count})",
            T + "else:",
            T + f"    tr.append(LOTOFF(KEY, {i}))",
        ]
    if st.kind == ASSIGN:
        field_name, fixed = st.arg
        if field_name is not None:
            ns[f"FIELD{k}"] = field_name
            who = [f"who = L[FIELD{k}]", "r = RI.get(who, -1) if who is not None else -1"]
        else:
            ns[f"WHO{k}"] = ns["NM"][fixed] if fixed >= 0 else None
            who = [f"who = WHO{k}", f"r = {fixed}"]
        return who + [
            "ok = r >= 0 and BLOCKER(R, state, r, at) is None",
            T + f"tr.append(ASSIGNED(KEY, {i}, who, r, ok))",
            "if ok:",
            f"    return ('rep', r, None, (r,), 'assign', (){count})",
            "return None",
        ]
    if st.kind == QUEUE:
        ns[f"QNAME{k}"] = st.arg
        return [T + f"tr.append(QUEUED(KEY, {i}, QNAME{k}))", f"return ('queue', QNAME{k}, None, (), None, None)"]
    raise ValueError(f"not a pipeline step: {st!r}")
