"""Response-time promises: a lead not accepted in time moves on, then escalates.

A decision's deadline is stored in its row (`rt_decisions.deadline`), so timers
survive a restart: the clock loop only asks the database which deadlines have
passed. A missed deadline hands the lead to the decision's next candidate
(`picks.next_holder`, never a rep who already had it) until the tier's `reassign
at most N times` is used up or nobody is left; then the lead waits in the
`escalated` queue. Every step is an audit record. The clock is injected
(`Runtime(clock=...)`), so tests move time instead of waiting.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future

from ..engine.codegen import Compiled
from ..engine.decision import ESCALATED, Decision
from ..engine.hours import work_deadline
from ..engine.picks import next_holder
from ..engine.state import close, reassign, set_away
from ..storage.errors import StorageFailure
from . import rows
from .writer import Tx

log = logging.getLogger(__name__)

Redecide = Callable[[dict], tuple[Compiled, Decision]]


def deadline(c: Compiled, tier: str | None, at: float, holder: str | None = None) -> float | None:
    """When a lead of this tier must be accepted by, or None when the tier has no SLA.

    The clock counts the holder's working hours (`hours` in the team): a 2h SLA given
    at 23:00 on a Friday to a rep working mon-fri 09:00-17:00 ends at 11:00 on Monday.
    """
    rule = c.sla.get(tier) if tier is not None else None
    if rule is None:
        return None
    i = c.rep_index.get(holder) if holder is not None else None
    return work_deadline(c.hours[i] if i is not None else None, c.holidays, at, rule.minutes)


def tick_team(tx: Tx, team: str, limit: int, redecide: Redecide, count: Callable[[str], None]) -> list[dict]:
    """In one team, under its lock (Tx.use): bring reps back whose away time is over, and act on the SLA
    deadlines that passed, each read again under the lock. With several daemons on one database the first to
    hold the team acts, and the others then find nothing due: every step runs once."""
    pol = tx.policies.get(team)
    if pol is None:  # no longer served (the tick was asked for before an activation)
        return []
    reps = pol.compiled.rep_index
    if not any(rep in reps and until <= tx.now for rep, (until, _) in tx.away.items()) and not rows.due(tx.conn, tx.now, 1, [team]):
        return []  # nothing due: the team's lock is left to its decisions
    tx.use(team)  # each team's SLA moves its own leads, within its own state
    steps: list[dict] = []
    for rep, (until, _) in sorted(tx.away.items()):
        if rep in reps and until <= tx.now:
            tx.state = set_away(tx.state, rep, False)
            steps += _back(tx, rep, until)
    for lead_id, _ in rows.due(tx.conn, tx.now, limit, [team]):
        done = step(tx, lead_id, redecide, count)
        if done is not None:
            steps.append(done)
    return steps


def tick_loose(tx: Tx) -> list[dict]:
    """Reps away in no team served (dropped from the policy meanwhile): only their away time ends."""
    steps: list[dict] = []
    for rep, (until, _) in sorted(tx.away.items()):
        if until <= tx.now and not any(rep in p.compiled.rep_index for p in tx.policies.values()):
            steps += _back(tx, rep, until)
    return steps


def _back(tx: Tx, rep: str, until: float) -> list[dict]:
    """The rep's away time is over: its row goes (once: another daemon that got there first leaves none)."""
    del tx.away[rep]
    if tx.conn.execute("delete from rt_away where rep = ?", (rep,)).rowcount == 0:
        return []
    tx.log.append(tx.now, "back", "clock", {"rep": rep, "until": until})
    return [{"kind": "back", "rep": rep}]


def step(tx: Tx, lead_id: str, redecide: Redecide, count: Callable[[str], None]) -> dict | None:
    """Act on one missed deadline: hand the lead to the next candidate, or escalate it. None: it is no longer due
    (accepted, closed or moved meanwhile)."""
    row = rows.need(tx.conn, lead_id)
    if row["status"] != "assigned" or row["deadline"] is None or row["deadline"] > tx.now:
        return None
    c, d = redecide(row)
    rule = c.sla.get(row["tier"])
    tried = json.loads(row["tried"])
    old = row["holder"]
    allowed = rule is not None and row["reassigned"] < rule.reassign
    attempt = row["reassigned"] + 1
    move = next_holder(c, close(tx.state, old), d, tried, attempt, tx.now) if allowed else None
    if move is not None:
        nxt = move.rep
        tx.state = reassign(tx.state, old, move, tx.now)
        tx.log.append(tx.now, "sla_reassign", "sla", {"lead_id": lead_id, "from": old, "to": nxt, "attempt": attempt, "tier": row["tier"]})
        count("sla_reassignments")
        rows.update(
            tx.conn,
            lead_id,
            tx.now,
            holder=nxt,
            reassigned=attempt,
            tried=json.dumps(tried + [nxt]),
            deadline=deadline(c, row["tier"], tx.now, nxt),
        )
        return {"kind": "reassign", "lead_id": lead_id, "from": old, "to": nxt, "attempt": attempt}
    why = (
        "no other candidate is available" if allowed else f"not accepted after {row['reassigned']} reassignment(s), the most the SLA allows"
    )
    tx.log.append(tx.now, "sla_escalate", "sla", {"lead_id": lead_id, "from": old, "tier": row["tier"], "why": why})
    tx.state = close(tx.state, old)
    count("escalations")
    rows.update(tx.conn, lead_id, tx.now, holder=None, status="escalated", current_queue=ESCALATED, deadline=None)
    return {"kind": "escalate", "lead_id": lead_id, "from": old, "why": why}


async def run_loop(tick_now: Callable[[], Future], interval: float) -> None:
    """Every `interval` seconds: expire away times, act on missed deadlines, pick up activations."""
    while True:
        await asyncio.sleep(interval)
        try:
            steps = await asyncio.wrap_future(tick_now())
        except asyncio.CancelledError:
            raise
        except StorageFailure:  # the storage health logged it, in words, once
            continue
        except Exception:  # keep the loop alive; the writer logged the cause
            log.exception("SLA tick failed")
            continue
        for s in steps:
            log.info("sla: %s", s)
