"""Which rule places a lead: score, then tier, then exceptions before routes. Written once.

1. every score block adds the points of its first matching line; the total falls
   in the first tier, in file order, whose range holds it (none: unassigned);
2. exceptions in file order, before any route: the first whose `when` holds;
3. else the tier's route; a tier without a route leaves the lead unassigned.

`generate` writes these rules as Python source once, for one policy: `score` (each
block's line and the total), `first` (the score, the tier and the first rule to
try) and `next` (the rule after an exception that placed no one). Deciding walks
`first_rule` then `next_rule`, and the impact of a change asks `first_rule` where a
lead goes first, so the two cannot disagree on precedence. Generated rather than
looped over because it runs for every lead: one call instead of one per block
and per exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..lang import model as m

EXCEPTION = "exception"
ROUTE = "route"
NO_TIER = "no tier"  # the total is in no tier: unassigned
NO_ROUTE = "no route"  # the tier has no route: unassigned

Rule = tuple[str, int, Any]  # (kind, exception index or -1, pipeline or None)


def generate(
    scores: Sequence[m.Score],
    whens: Sequence[m.Cond],
    pipes: Sequence[Any],
    tier_by_total: Any,
    route_of_tier: Sequence[Any],
    lead_expr: Callable[[m.Cond], str],
    ns: dict[str, Any],
) -> tuple[Callable, Callable, Callable]:
    """(score, first, next) for one policy: `whens[k]` is exception k's condition and
    `pipes[k]` its pipeline; `lead_expr` writes a lead condition as source over `L`."""
    ns = dict(ns, TIERS=tier_by_total, ROUTES=tuple(route_of_tier), NO_TIER=NO_TIER, NO_ROUTE=NO_ROUTE)
    ns.update(EXCEPTION=EXCEPTION, ROUTE=ROUTE)
    body, total, lines = _scoring(scores, lead_expr)
    for k, pipe in enumerate(pipes):
        ns[f"EX{k}"] = pipe
    whens_src = [lead_expr(w) for w in whens]
    first = ["def first(L):", *body, f"    total = {total}", f"    lines = {lines}", "    ti = TIERS.get(total)"]
    first += ["    if ti is None:", "        return total, lines, None, NO_TIER, -1, None"]
    first += [f"    if {w}:\n        return total, lines, ti, EXCEPTION, {k}, EX{k}" for k, w in enumerate(whens_src)]
    first += ["    route = ROUTES[ti]", "    if route is None:", "        return total, lines, ti, NO_ROUTE, -1, None"]
    first += ["    return total, lines, ti, ROUTE, -1, route"]
    after = ["def next(L, ti, after):", "    if ti is None:", "        return NO_TIER, -1, None"]
    after += [f"    if after < {k} and {w}:\n        return EXCEPTION, {k}, EX{k}" for k, w in enumerate(whens_src)]
    after += ["    route = ROUTES[ti]", "    return (ROUTE, -1, route) if route is not None else (NO_ROUTE, -1, None)"]
    score = ["def score(L):", *body, f"    return {total}, {lines}"]
    exec("\n".join(score + first + after), ns)  # noqa: S102 - our own generated source
    return ns["score"], ns["first"], ns["next"]


def _scoring(scores: Sequence[m.Score], lead_expr: Callable[[m.Cond], str]) -> tuple[list[str], str, str]:
    """Source lines setting `s<k>` (block k's matching line, -1: none) and `p<k>` (its points),
    with the total's and the lines' expressions."""
    body = []
    for si, s in enumerate(scores):
        first = True
        fallback = -1
        for li, line in enumerate(s.lines):
            if line.cond is None:
                fallback = li
                break
            body.append(f"    {'if' if first else 'elif'} {lead_expr(line.cond)}: s{si} = {li}; p{si} = {line.points}")
            first = False
        points = s.lines[fallback].points if fallback != -1 else 0
        body.append(f"    {'' if first else 'else: '}s{si} = {fallback}; p{si} = {points}")
    total = " + ".join(f"p{si}" for si in range(len(scores))) or "0"
    lines = "(" + "".join(f"s{si}, " for si in range(len(scores))) + ")"
    return body, total, lines


def next_rule(c: Any, L: dict, tier: int | None, after: int = -1) -> Rule:
    """The next rule for a lead of tier index `tier`, after exception index `after`.

    Returns (kind, exception index or -1, pipeline): kind is EXCEPTION (the first
    exception after `after` whose `when` holds), ROUTE (the tier's route), NO_TIER
    or NO_ROUTE (the pipeline is then None).
    """
    return c.next_rule(L, tier, after)


def first_rule(c: Any, L: dict) -> tuple[int, tuple[int, ...], int | None, str, int, Any]:
    """(total, each block's matching line, tier index or None, then `next_rule`'s kind, exception index, pipeline)."""
    return c.first_rule(L)
