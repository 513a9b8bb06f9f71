"""Which rule places a lead: score, then tier, then exceptions before routes. Written once.

`first_rule` scores a lead, finds its tier and the first rule to try; `next_rule`
is the next one after an exception that placed no one. Deciding walks them, and
the impact of a change asks `first_rule` where a lead goes first, so the two
cannot disagree on precedence:

1. every score block adds the points of its first matching line; the total falls
   in the first tier, in file order, whose range holds it (none: unassigned);
2. exceptions in file order, before any route: the first whose `when` holds;
3. else the tier's route; a tier without a route leaves the lead unassigned.
"""

from __future__ import annotations

from .codegen import Compiled, Pipeline

EXCEPTION = "exception"
ROUTE = "route"
NO_TIER = "no tier"  # the total is in no tier: unassigned
NO_ROUTE = "no route"  # the tier has no route: unassigned


def next_rule(c: Compiled, L: dict, tier: int | None, after: int = -1) -> tuple[str, int, Pipeline | None]:
    """The next rule for a lead of tier index `tier`, after exception index `after`.

    Returns (kind, exception index or -1, pipeline): kind is EXCEPTION (the first
    exception after `after` whose `when` holds), ROUTE (the tier's route), NO_TIER
    or NO_ROUTE (the pipeline is then None).
    """
    if tier is None:
        return NO_TIER, -1, None
    exceptions = c.exceptions
    for ei in range(after + 1, len(exceptions)):
        when, pipe = exceptions[ei]
        if when(L):
            return EXCEPTION, ei, pipe
    route = c.route_of_tier[tier]
    return (ROUTE, -1, route) if route is not None else (NO_ROUTE, -1, None)


def first_rule(c: Compiled, L: dict) -> tuple[int, tuple[int, ...], int | None, str, int, Pipeline | None]:
    """(total, each block's matching line, tier index or None, then `next_rule`'s kind, exception index, pipeline)."""
    total, lines = c.score_fn(L)
    tier = c.tier_by_total.get(total)
    kind, ei, pipe = next_rule(c, L, tier)
    return total, lines, tier, kind, ei, pipe
