"""Overrides the policy says a second person must approve: held as requests, applied when approved.

Why: `approve overrides of lottery` and `approve overrides over 3 per week` (the
policy's header, docs/governance.md) make a lone admin's override a request. The
request waits in the `governance` table (storage/approvals.py) with an audit record;
a second person's approval runs the one override transition (`operations.override`)
for the requester, in the same batch transaction, so the lead moves exactly as a
plain override would, and the override's audit record names who approved it.
"""

from __future__ import annotations

import datetime as dt

from ..storage import approvals as store_approvals
from ..storage.errors import Refused
from . import operations, rows
from .operations import Count
from .writer import Tx


def period_start(now: float, per: str) -> float:
    """The start (UTC) of the calendar day, ISO week, month or quarter holding `now`."""
    t = dt.datetime.fromtimestamp(now, dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if per == "week":
        t -= dt.timedelta(days=t.weekday())
    elif per == "month":
        t = t.replace(day=1)
    elif per == "quarter":
        t = t.replace(day=1, month=(t.month - 1) // 3 * 3 + 1)
    return t.timestamp()


def overrides_by(tx: Tx, actor: str, since: float) -> int:
    """Overrides `actor` made (or asked for and had approved) since `since`, from the audit log."""
    logged = tx.conn.execute("select count(*) from audit where kind = 'override' and actor = ? and at >= ?", (actor, since)).fetchone()[0]
    return logged + tx.log.count("override", actor, since)  # and this batch's, written at its end


def rule_for(tx: Tx, row: dict, actor: str) -> str | None:
    """The header clause that makes this override need approval, in words, or None (tx is in the lead's team)."""
    c = tx.compiled
    info = c.policy.info if c is not None else None
    for a in info.approvals if info is not None else ():
        if a.kind == "overrides_of" and ((a.what == "lottery" and row["by"] == "lottery") or a.what == row["tier"]):
            what = "the lottery drew it" if a.what == "lottery" else f"it is a {a.what} lead"
            return f"`{a.text()}`: {what}"
        if a.kind == "overrides_over":
            made = overrides_by(tx, actor, period_start(tx.now, a.per))
            if made >= a.limit:
                return f"`{a.text()}`: {actor} has made {made} override{'s' if made != 1 else ''} this {a.per}"
    return None


def override(tx: Tx, lead_id: str, rep: str, reason: str, actor: str, count: Count) -> tuple[dict, dict | None]:
    """An override, or its request when the policy says it needs approval: (decision row, pending request or None)."""
    if not reason.strip():
        raise Refused("an override needs a reason")
    row = rows.need(tx.conn, lead_id)
    rule = rule_for(tx, row, actor)
    if rule is None:
        return operations.override(tx, lead_id, rep, reason, actor, count), None
    _would_move(tx, lead_id, rep, reason, actor)
    request = {"lead_id": lead_id, "team": tx.team, "rep": rep, "reason": reason}
    count("overrides_requested")
    return row, store_approvals.request_override(tx.conn, tx.log, tx.now, actor, request, rule)


def _would_move(tx: Tx, lead_id: str, rep: str, reason: str, actor: str) -> None:
    """Refuse now, in the override's own words, a request the override itself would refuse (a closed lead, a full rep).

    The one override operation is run and undone (a savepoint; the batch's state and audit head put back), so the
    request is checked by the same rules that will move the lead once it is approved."""
    saved = (tx.states, dict(tx.away), dict(tx.locks), tx.log.mark())
    tx.conn.execute("SAVEPOINT held_override")
    try:
        operations.override(tx, lead_id, rep, reason, actor, lambda name: None)
    finally:
        tx.conn.execute("ROLLBACK TO held_override")
        tx.conn.execute("RELEASE held_override")
        tx.states, tx.away, tx.locks, mark = saved
        tx.log.restore(mark)


def decide(tx: Tx, approval_id: int, actor: str, approve: bool, count: Count) -> dict:
    """Approve (the override is made, for its requester) or reject a held override; the request, decided."""
    req = store_approvals.decide_override(tx.conn, tx.log, tx.now, approval_id, actor, approve)
    out = {**req, "status": "approved" if approve else "rejected", "decided_by": actor, "decided_at": tx.now}
    if approve:
        operations.enter_lead(tx, req["lead_id"], req.get("team"))
        out["decision"] = operations.override(tx, req["lead_id"], req["rep"], req["reason"], req["by"], count, approved_by=actor)
    return out
