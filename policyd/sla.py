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

import asyncio
import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from .compile import Compiled
from .evaluate import ESCALATED, rank
from .state import apply, close

if TYPE_CHECKING:
    from .runtime import Runtime, Tx

log = logging.getLogger("policyd.sla")


def deadline(c: Compiled, tier: str | None, at: float) -> float | None:
    """When a lead of this tier must be accepted by, or None when the tier has no SLA."""
    rule = c.sla.get(tier) if tier is not None else None
    return None if rule is None else at + rule.minutes * 60.0


def step(rt: Runtime, tx: Tx, lead_id: str) -> dict:
    """Act on one missed deadline (inside the writer's transaction)."""
    row = rt.need_row(tx, lead_id)
    c, d = rt.redecide(row)
    rule = c.sla.get(row["tier"])
    tried = json.loads(row["tried"])
    old = row["holder"]
    tx.state = close(tx.state, old)
    allowed = rule is not None and row["reassigned"] < rule.reassign
    nxt = None
    if allowed:
        order = rank(c, tx.state, d, set(tried))
        nxt = order[0] if order else None
    if nxt is not None:
        tx.state = apply(tx.state, replace(d, rep=nxt, updates=()), tx.now)
        attempt = row["reassigned"] + 1
        tx.log.append(tx.now, "sla_reassign", "sla", {"lead_id": lead_id, "from": old, "to": nxt, "attempt": attempt, "tier": row["tier"]})
        rt.count("sla_reassignments")
        rt.update_row(
            tx, lead_id, holder=nxt, reassigned=attempt, tried=json.dumps(tried + [nxt]), deadline=deadline(c, row["tier"], tx.now)
        )
        return {"kind": "reassign", "lead_id": lead_id, "from": old, "to": nxt, "attempt": attempt}
    why = (
        "no other candidate is available" if allowed else f"not accepted after {row['reassigned']} reassignment(s), the most the SLA allows"
    )
    tx.log.append(tx.now, "sla_escalate", "sla", {"lead_id": lead_id, "from": old, "tier": row["tier"], "why": why})
    rt.count("escalations")
    rt.update_row(tx, lead_id, holder=None, status="escalated", queue=ESCALATED, deadline=None)
    return {"kind": "escalate", "lead_id": lead_id, "from": old, "why": why}


async def run_loop(rt: Runtime, interval: float) -> None:
    """Every `interval` seconds: expire away times, act on missed deadlines, pick up activations."""
    while True:
        await asyncio.sleep(interval)
        try:
            steps = await asyncio.wrap_future(rt.tick())
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the writer logged the cause
            log.exception("SLA tick failed")
            continue
        for s in steps:
            log.info("sla: %s", s)
