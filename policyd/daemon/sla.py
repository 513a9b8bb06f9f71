"""Response-time promises: a lead not accepted in time moves on, then escalates.

A decision's deadline is stored in its row (`rt_decisions.deadline`), so timers
survive a restart: the clock loop only asks the database which deadlines have
passed. A missed deadline hands the lead to the decision's next candidate
(`evaluate.rank`, never a rep who already had it) until the tier's `reassign at
most N times` is used up or nobody is left; then the lead is queued `escalated`.
Every step is an audit record. The clock is injected (`Runtime(clock=...)`), so
tests move time instead of waiting.
"""

from __future__ import annotations

from ..engine.codegen import Compiled


def deadline(c: Compiled, tier: str | None, at: float) -> float | None:
    """When a lead of this tier must be accepted by, or None when the tier has no SLA."""
    rule = c.sla.get(tier) if tier is not None else None
    return None if rule is None else at + rule.minutes * 60.0
