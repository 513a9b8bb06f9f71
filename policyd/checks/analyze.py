"""Exact analysis of a checked policy: gaps, overlaps, dead rules, impossible routes.

Why it can be exact: scores are small integer sums of per-block points, enum fields
are finite word sets, and the team is finite. Every condition compares a field with
constants, so a field only needs a handful of representative values (each constant,
its neighbours, every word, a fresh text, missing for an optional field) to meet
every distinct truth value of every condition. The analysis enumerates those values
(score blocks that share no field are enumerated apart and their totals added as
sets), and evaluates them with the compiled policy itself, so it cannot disagree
with `decide`.

Every claim about leads carries a counterexample: a full valid lead, checked here
with `Compiled.decide` before it is reported, stored in `Diagnostic.extra
["counterexample"]` and shown in the hint. A claim that no lead does something
("can never fire") is only made when the enumeration was complete.

The checks run only on a policy without errors (names and types are sound), from
`check.check_policy`; each is a small named function in `ANALYSES`, in order.

The lead space (representative values, full leads, `find`) is in leadspace.py and
the wording of findings in findings.py; the analyses are grouped by topic in
scoring.py (A001-A005), exceptions.py (A006, A007), routing.py (A010, A011) and
complexity.py (A012, A013). This module holds the score table, rep availability
and the route analyses that read it (A008, A009), and runs them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property

from ..engine.availability import available
from ..engine.trace import Empty
from ..lang import model as m
from ..lang.diagnostics import ERROR, NOTE, Diagnostic
from .complexity import complexity
from .context import Context
from .exceptions import exception_never_applies, exception_overlaps
from .findings import _diag, _show, _src
from .leadspace import LeadSpace, _fields_of
from .routing import _pipes, route_cycles, unknown_languages
from .scoring import score_dead_lines, score_without_otherwise, tier_gaps, tier_overlaps, tier_unreachable


class Analysis(LeadSpace):
    """The lead space with its score table and the reps available to take leads."""

    # ------------------------------------------------------------ scores
    @cached_property
    def score_table(self) -> dict:
        """Per block: the line each assignment fires (first witness per line), per group: totals.

        The line that fires is the compiled scoring's own answer (`score_fn`), so the
        analysis cannot score a lead differently from `decide`.
        """
        c = self.compiled
        blocks = self.policy.scores
        fired: dict[tuple[int, int], dict] = {}  # (block, line) -> first assignment firing it
        holds: dict[tuple[int, int], tuple[dict, int]] = {}  # (block, line) -> assignment where its cond holds, line fired
        earlier: dict[tuple[int, int], set[int]] = {}
        group_totals: list[dict[int, dict]] = []
        exact = True
        base = {f.name: (self.values[f.name] or [None])[0] for f in self.policy.fields}  # other groups' fields: any value
        for group in self.score_components:
            fields = set().union(*(_fields_of(line.cond) for b in group for line in blocks[b].lines))
            assigns, complete = self.assignments(fields)
            exact = exact and complete
            totals: dict[int, dict] = {}
            for a in assigns:
                _, lines = c.score_fn({**base, **a})
                total = 0
                for b in group:
                    line_fired = lines[b]
                    fired.setdefault((b, line_fired), a)
                    if line_fired < 0:
                        continue
                    total += c.score_points[b][line_fired]
                    for li in range(line_fired + 1, len(blocks[b].lines)):
                        if blocks[b].lines[li].cond is not None and c.line_test(b, li)(a):
                            holds.setdefault((b, li), (a, line_fired))
                            earlier.setdefault((b, li), set()).add(line_fired)
                totals.setdefault(total, a)
            group_totals.append(totals)
        reachable: dict[int, dict] = {0: {}}
        for totals in group_totals:
            nxt: dict[int, dict] = {}
            for t0, a0 in reachable.items():
                for t1, a1 in totals.items():
                    nxt.setdefault(t0 + t1, {**a0, **a1})
            reachable = nxt
        return {"fired": fired, "holds": holds, "earlier": earlier, "reachable": dict(sorted(reachable.items())), "exact": exact}

    # ------------------------------------------------------------ reps
    @cached_property
    def available(self) -> list[int]:
        """The reps available when nobody has an open lead or is away."""
        c = self.compiled
        return available(c, list(c.zeros), frozenset())

    def state_samples(self) -> list[tuple[list, list]]:
        caps = self.compiled.capacity
        return [
            ([0] * len(caps), [0.0] * len(caps)),
            ([max(c - 1, 0) for c in caps], [1.0] * len(caps)),
            ([c // 2 for c in caps], [0.5] * len(caps)),
        ]


Analyzer = Callable[[Analysis], Iterable[Diagnostic]]


def _rep_fields(steps: Sequence[m.Step]) -> set[str]:
    out: set[str] = set()
    for s in steps:
        if isinstance(s, m.Require):
            out |= _fields_of(s.cond)
    return out


def _lead_field_names(a: Analysis, fields: set[str]) -> set[str]:
    return {f for f in fields if f in a.values}


def _unmeetable(a: Analysis, req: m.Require) -> bool:
    fn = a.compiled.rep_filter(req.cond)
    assigns, exact = a.assignments(_lead_field_names(a, _fields_of(req.cond)))
    if not exact or not a.available:
        return False
    for lead in assigns:
        for O, Q in a.state_samples():
            if fn(lead, O, Q, list(range(len(a.compiled.rep_names)))):
                return False
    return True


def require_unmeetable(a: Analysis) -> Iterator[Diagnostic]:
    """A008: a `require` that no rep in the team meets, for any lead and any load."""
    for kind, name, pipe in _pipes(a.policy):
        for s in pipe.steps:
            if isinstance(s, m.Require) and _unmeetable(a, s):
                text = _src(a.policy, s.span) or "require"
                yield _diag(
                    "A008",
                    ERROR,
                    s.span,
                    f"no rep in the team can meet `{text}` in {kind} `{name}`",
                    "check the skill levels, levels and languages it names against the team",
                )


def route_empty(a: Analysis) -> Iterator[Diagnostic]:
    """A009: a route left with no candidate for some lead even when every rep is available."""
    c = a.compiled
    for route in a.policy.routes:
        reqs = [s for s in route.steps if isinstance(s, m.Require)]
        if not reqs or any(_unmeetable(a, r) for r in reqs) or not a.available:
            continue
        fns = [c.rep_filter(r.cond) for r in reqs]
        O, Q = a.state_samples()[0]
        assigns, _ = a.assignments(_lead_field_names(a, _rep_fields(route.steps)))
        empty = []
        for lead in assigns:
            cands = list(a.available)
            for fn in fns:
                cands = fn(lead, O, Q, cands)
                if not cands:
                    break
            if not cands:
                empty.append(lead)
        if not empty:
            continue
        key = f"route:{route.tier}"
        otherwise = next((s for s in route.steps if isinstance(s, (m.OtherwiseRoute, m.OtherwiseQueue))), None)
        scores = a.score_partials(route.tier)

        def partials(empty=empty, scores=scores):
            for e in empty[:20]:
                for s in scores[:20]:
                    yield {**s, **e}
                    yield {**e, **s}

        def reached(d, route=route, key=key):
            return d.tier == route.tier and d.exception is None and Empty(key) in d.trace

        lost = a.find(partials(), lambda d: reached(d) and d.rep is None and d.queue == "unassigned")
        caught = None if lost or otherwise is None else a.find(partials(), lambda d: reached(d) and d.queue != "unassigned")
        lead = lost or caught
        if lead is None:
            continue
        shown = ", ".join(f"{k} {json.dumps(lead.get(k))}" for k in sorted(_lead_field_names(a, _rep_fields(route.steps))))
        head = f"route `{route.tier}` has no candidate for some leads ({shown}) even when every rep is available"
        if otherwise is None:
            yield _diag(
                "A009",
                ERROR,
                route.span,
                f"{head}; they end `unassigned`",
                f"add `otherwise route TIER` or `otherwise queue NAME`, or loosen the `require`; for example: {_show(lead)}",
                lead,
            )
            continue
        where = f"otherwise route {otherwise.tier}" if isinstance(otherwise, m.OtherwiseRoute) else f"otherwise queue {otherwise.queue}"
        if lost:
            yield _diag(
                "A009",
                ERROR,
                route.span,
                f"{head}; `{where}` does not place them either, so they end `unassigned`",
                f"end the chain with `otherwise queue NAME`; for example: {_show(lead)}",
                lead,
            )
        else:
            yield _diag("A009", NOTE, route.span, f"{head}; `{where}` takes them", f"for example: {_show(lead)}", lead)


ANALYSES: list[Analyzer] = [
    tier_gaps,
    tier_overlaps,
    tier_unreachable,
    score_dead_lines,
    score_without_otherwise,
    exception_never_applies,
    exception_overlaps,
    require_unmeetable,
    route_empty,
    route_cycles,
    unknown_languages,
    complexity,
]


def analyze(ctx: Context) -> list[Diagnostic]:
    """Every analysis diagnostic for a policy that has no name or type errors."""
    a = Analysis(ctx)
    out: list[Diagnostic] = []
    for check in ANALYSES:
        out.extend(check(a))
    return out


__all__ = ["ANALYSES", "Analysis", "analyze"]
