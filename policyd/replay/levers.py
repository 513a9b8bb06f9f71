"""The levers in figures: quota attainment per rep and realized target shares per route.

Both read the engine's own state and the compiled policy, never a second copy of a
rule: attainment is `engine.quota`'s counters (moved by `state.credit` when a lead
closes won), the targets are the bound `pick shares` strategy of each pipeline, and
the realized shares count the `("count", "share:...", level)` updates the strategy
made on the decisions themselves. The daemon's read API shows the same figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ..engine.codegen import Compiled
from ..engine.hours import period_key, zone
from ..engine.picks import Shares, strategy
from ..engine.pipeline import PICK
from ..engine.quota import quota_key
from ..engine.state import State
from ..lang.levers import share_kind


def quota_of(c: Compiled, state: State, rep: str, at: float | None) -> dict[str, Any] | None:
    """A rep's quota now: target, unit (value or deals), period, won in the period, attainment; None without one."""
    i = c.rep_index.get(rep)
    q = c.quotas[i] if i is not None else None
    if q is None:
        return None
    won = state.counts.get(quota_key(c, i, at), {}).get(rep, 0)
    return {
        "target": q.target,
        "unit": "deals" if q.deals else "value",
        "period": q.per,
        "won": won,
        "attainment": won / q.target if q.target else 0.0,
    }


def share_pipelines(c: Compiled) -> list[tuple[str, Shares]]:
    """Each pipeline that picks by `pick shares`, with its strategy as the compiler bound it (targets, period)."""
    pipes = [*c.routes.values(), *c.exceptions]
    out = []
    for p in pipes:
        for st in p.steps:
            if st.kind == PICK and st.arg == "shares":
                out.append((p.key, strategy("shares").bind(st.node)))
    return out


def share_counts(updates: Iterable[tuple]) -> Iterable[tuple[str, str]]:
    """(pipeline key, level) for each share a decision's updates counted."""
    for u in updates:
        if u[0] == "count" and isinstance(u[1], str) and u[1].startswith("share:"):
            yield u[1][len("share:") :].rsplit(":", 2)[0], u[2]


def shares_figures(c: Compiled, counted: Mapping[str, Counter]) -> list[dict[str, Any]]:
    """Per `pick shares` pipeline: per share (level, group or others) its target and the share it got of the leads the pick counted."""
    out = []
    for key, s in share_pipelines(c):
        got = counted.get(key, Counter())
        total = sum(got.values())
        levels = [_entry(c, g, pct, got.get(g, 0), total) for g, pct in s.targets]
        kind, _, name = key.partition(":")
        out.append({"pipeline": key, "kind": kind, "name": name, "per": s.per, "counted": total, "levels": levels})
    return out


def _entry(c: Compiled, g: str, pct: float, count: int, total: int) -> dict[str, Any]:
    """One share's figures: its name (`level` too, as before groups), what it names (level, group or others), target, count, realized."""
    return {
        "level": g,
        "share": g,
        "by": share_kind(c.team, g),
        "target": pct / 100.0,
        "count": count,
        "realized": count / total if total else None,
    }


def caps_of(c: Compiled, state: State, rep: str, at: float) -> dict[str, dict[str, int]] | None:
    """A rep's caps now: per unit its limit and what the current period used (`state.counts`); None without caps."""
    i = c.rep_index.get(rep)
    if i is None or not c.caps[i]:
        return None
    tz = zone(c.zone_name)
    return {unit: {"limit": limit, "used": state.counts.get(period_key(unit, at, tz), {}).get(rep, 0)} for unit, limit in c.caps[i]}


def shares_now(c: Compiled, state: State, at: float) -> list[dict[str, Any]]:
    """Per `pick shares` pipeline: per share (level, group or others) its target and its share so far in the period holding `at` (the engine's counter)."""
    out = []
    for key, s in share_pipelines(c):
        done = state.counts.get(s.counter(c, key, at), {})
        total = sum(done.get(g, 0) for g, _ in s.targets)
        kind, _, name = key.partition(":")
        levels = [_entry(c, g, pct, done.get(g, 0), total) for g, pct in s.targets]
        out.append(
            {
                "pipeline": key,
                "kind": kind,
                "name": name,
                "per": s.per,
                "period": period_key(s.per, at, zone(c.zone_name)),
                "counted": total,
                "levels": levels,
            }
        )
    return out
