"""Analyses of routes that need no rep availability: `otherwise route` cycles, unknown languages (A010, A011).

The routes' availability analyses (A008, A009) stay in analyze.py with the
availability they read; `_pipes` lists every pipeline for both.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..lang import model as m
from ..lang.diagnostics import ERROR, WARNING, Diagnostic
from .findings import _diag
from .leadspace import LeadSpace, _walk


def _pipes(p: m.Policy) -> list[tuple[str, str, m.Route | m.Exception_]]:
    return [("route", r.tier, r) for r in p.routes] + [("exception", e.name, e) for e in p.exceptions]


def route_cycles(a: LeadSpace) -> Iterator[Diagnostic]:
    """A010: routes whose `otherwise route` steps lead back to themselves."""
    nxt: dict[str, tuple[str, m.Span]] = {}
    for r in a.policy.routes:
        for s in r.steps:
            if isinstance(s, m.OtherwiseRoute):
                nxt.setdefault(r.tier, (s.tier, s.span))
    reported: set[frozenset] = set()
    for start in [r.tier for r in a.policy.routes]:
        path = [start]
        while path[-1] in nxt:
            target = nxt[path[-1]][0]
            if target in path:
                cycle = path[path.index(target) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    shown = " -> ".join(cycle + [target])
                    yield _diag(
                        "A010",
                        ERROR,
                        nxt[cycle[-1]][1],
                        f"`otherwise route` cycle: {shown}",
                        "a lead no route in the cycle can place ends `unassigned`; end the chain with `otherwise queue NAME`",
                    )
                break
            path.append(target)


def unknown_languages(a: LeadSpace) -> Iterator[Diagnostic]:
    """A011: a language named literally in `speaks` that no rep speaks (skills and levels: N005, N003)."""
    spoken = {lang for r in a.ctx.team_reps for lang in r.speaks}
    for _kind, _name, pipe in _pipes(a.policy):
        for s in pipe.steps:
            conds = [s.cond] if isinstance(s, m.Require) else list(s.options) if isinstance(s, m.Prefer) else []
            for cond in conds:
                for c in _walk(cond):
                    if isinstance(c, m.Speaks) and (c.literal or c.name not in a.values) and c.name not in spoken:
                        yield _diag(
                            "A011",
                            WARNING,
                            c.span,
                            f"no rep speaks `{c.name}`; languages in the team: {', '.join(sorted(spoken)) or 'none'}",
                            "add it to a rep's `speaks` or fix the word",
                        )
