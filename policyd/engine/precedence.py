"""Which rule places a lead: score, then tier, then exceptions before routes. Written once.

1. every score block adds the points of its first matching line; the total falls
   in the first tier, in file order, whose range holds it (none: unassigned);
2. exceptions in file order, before any route: the first whose `when` holds;
3. else the tier's route; a tier without a route leaves the lead unassigned.

`generate` writes these rules as Python source once, for one policy, as the compiled
policy's `score_fn` (each block's line and the total), `first_rule` (the score, the
tier and the first rule to try) and `next_rule` (the rule after an exception that
placed no one). Deciding asks `first_rule`, then `next_rule` while exceptions fall
through, and the impact of a change asks `first_rule` where a lead goes first, so
the two cannot disagree on precedence. Generated rather than looped over because it
runs for every lead: one call instead of one per block and per exception.
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
    `pipes[k]` its pipeline; `lead_expr` writes a lead condition as source over `L`.

    first(L) -> (total, lines, tier index or None, kind, exception index or -1, pipeline or None);
    next(L, tier, after) -> (kind, exception index or -1, pipeline or None), for the
    exceptions after index `after`. kind: EXCEPTION, ROUTE, NO_TIER or NO_ROUTE.
    """
    ns = dict(ns, TIERS=tier_by_total, ROUTES=tuple(route_of_tier), NO_TIER=NO_TIER, NO_ROUTE=NO_ROUTE)
    ns.update(EXCEPTION=EXCEPTION, ROUTE=ROUTE, **{f"EX{k}": pipe for k, pipe in enumerate(pipes)})
    tests = [lead_expr(w) for w in whens]
    body, total, lines = _scoring(scores, lead_expr)
    first = ["def first(L):", *body, f"    total = {total}", f"    lines = {lines}", "    ti = TIERS.get(total)"]
    first += ["    if ti is None:", "        return total, lines, None, NO_TIER, -1, None", *_rules(tests, "total, lines, ti, ", False)]
    after = ["def next(L, ti, after):", "    if ti is None:", "        return NO_TIER, -1, None", *_rules(tests, "", True)]
    score = ["def score(L):", *body, f"    return {total}, {lines}"]
    exec("\n".join(score + first + after), ns)  # noqa: S102 - our own generated source
    return ns["score"], ns["first"], ns["next"]


def _rules(tests: Sequence[str], head: str, guarded: bool) -> list[str]:
    """Source of rules 2 and 3 for a lead of tier `ti` (not None), each answer prefixed by `head`;
    `guarded`: only the exceptions after index `after`."""
    out = []
    for k, test in enumerate(tests):
        out.append(f"    if {f'after < {k} and ' if guarded else ''}{test}:\n        return {head}EXCEPTION, {k}, EX{k}")
    out += ["    route = ROUTES[ti]", "    if route is None:", f"        return {head}NO_ROUTE, -1, None"]
    return out + [f"    return {head}ROUTE, -1, route"]


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
