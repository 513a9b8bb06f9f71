"""Running a policy's `example` blocks: each from fresh state plus its own `state`."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.availability import period_keys
from ..engine.codegen import Compiled
from ..engine.decide import decide
from ..engine.hours import parse_time
from ..engine.quota import quota_key
from ..engine.schema import LeadError
from ..engine.state import State

DEFAULT_EXAMPLE_SEED = "example"


@dataclass(frozen=True)
class ExampleResult:
    name: str
    line: int
    ok: bool
    problems: tuple[str, ...]
    explanation: str


def run_examples(c: Compiled) -> list[ExampleResult]:
    from .explain import render

    out = []
    for ex in c.policy.examples:
        lead = {k: v for k, v, _ in ex.lead}
        at = parse_time(ex.at) if ex.at is not None else None
        state = State(open=dict(ex.open), away=frozenset(ex.away), quota=dict(ex.quota), counts=example_counts(c, ex, at))
        try:
            d = decide(c, lead, state, ex.seed or DEFAULT_EXAMPLE_SEED, lottery=ex.lottery, trace=True, at=at)
        except LeadError as err:
            out.append(ExampleResult(ex.name, ex.span.line, False, tuple(f"lead refused: {e.message}" for e in err.errors), ""))
            continue
        problems = []
        for e in ex.expects:
            got = _actual(c, d, e.kind)
            want = e.value if e.kind != "lottery" else True
            if got != want:
                problems.append(f"expected {_label(e.kind, want)}, got {_label(e.kind, got)} (line {e.span.line})")
        out.append(ExampleResult(ex.name, ex.span.line, not problems, tuple(problems), render(c, d, "text")))
    return out


def example_counts(c: Compiled, ex, at: float | None) -> dict:
    """`state { assigned ann 40 }`: ann's assignments so far in each capped period at the example's time."""
    out: dict = {key: dict(ex.assigned) for key in period_keys(c, at)} if ex.assigned and at is not None else {}
    for rep, x in ex.quota:  # `quota REP X` of a rep with a team quota: X of the target won this period
        i = c.rep_index.get(rep)
        if i is not None and c.quotas[i] is not None:
            out.setdefault(quota_key(c, i, at), {})[rep] = round(x * c.quotas[i].target)
    return out


def _actual(c: Compiled, d, kind: str):
    if kind == "tier":
        return d.tier
    if kind == "rep":
        return d.rep
    if kind == "level":
        return c.levels[c.rep_index[d.rep]] if d.rep else None
    if kind == "queue":
        return d.queue
    if kind == "exception":
        return d.exception
    if kind == "lottery":
        return bool(d.lottery and d.lottery.entered)
    if kind == "route":
        return d.route
    raise ValueError(kind)


def _label(kind: str, value) -> str:
    if kind == "lottery":
        return "a lottery draw" if value else "no lottery draw"
    if value is None:
        return f"no {kind}"
    if kind == "exception":
        return f"by exception {value}"
    return f"{kind} {value}"
