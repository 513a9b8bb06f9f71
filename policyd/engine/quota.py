"""Live quota attainment: won leads count toward their holder's quota for the period.

A team's `quota` (per month or quarter, a sum of the won leads' `value` or a count of
deals) makes `quota` in conditions the rep's attainment now: won in the current period
/ target, from the counters `state.counts["won:UNIT:PERIOD"]`, moved only by
`state.credit` when a lead closes won (the daemon's close, replay's history outcomes).
A new period starts from zero. Reps without a quota read the state's `quota` as before.
Periods turn over in the team's zone, as caps do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .hours import period_key, zone
from .roster import Roster
from .state import State, credit


def quota_key(r: Roster, i: int, at: float | None) -> str:
    q = r.quotas[i]
    label = period_key(q.per, at, zone(r.zone_name)).split(":", 1)[1] if at is not None else "any"
    return f"won:{q.per}:{label}"


def attainment(r: Roster, state: State, at: float | None) -> list[float]:
    """Each rep's quota attainment at `at`, in team order (the `quota` a condition reads)."""
    out = []
    sq, counts, names = state.quota, state.counts, r.rep_names
    for i, q in enumerate(r.quotas):
        if q is None:
            out.append(sq.get(names[i], 0))
        else:
            won = counts.get(quota_key(r, i, at), {}).get(names[i], 0)
            out.append(won / q.target if q.target else 0.0)
    return out


def won(r: Roster, state: State, rep: str | None, lead: Mapping[str, Any], at: float | None) -> State:
    """The state after `rep`'s lead closed won at `at`: its value (or one deal) toward the quota."""
    i = r.rep_index.get(rep) if rep is not None else None
    if i is None or r.quotas[i] is None:
        return state
    q = r.quotas[i]
    value = lead.get("value") if isinstance(lead, Mapping) else None
    amount = 1 if q.deals else round(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    return credit(state, quota_key(r, i, at), rep, amount)
