"""The one JSON shape of a decision, shared by `policyd assign --format json` and the API.

Both answer `{"decision": DECISION, "explanation": EXPLANATION}` (the API adds
`history`); DECISION is built here, so `.decision.rep` and `.decision.tier` (a tier
name) mean the same thing from either side (docs/schemas/decision.schema.json).
"""

from __future__ import annotations

from typing import Any

from ..engine.codegen import Compiled
from ..engine.decision import Decision


def decision_fields(
    lead_id: str | None,
    *,
    rep: str | None,
    queue: str | None,
    status: str,
    decided: dict[str, Any],
    seed_id: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """Where the lead is (`rep`, `queue`, `status`) and what was decided (`decided`, `tier`, `by`, `total`, ...).

    `decided` holds rep, queue, tier, by, and, where known, total, route and exception;
    `extra` carries what only a driver knows (the daemon: version, at, deadline, ...).
    """
    return {
        "lead_id": lead_id,
        "rep": rep,
        "status": status,
        "queue": queue,
        "decided": decided,
        "tier": decided.get("tier"),
        "by": decided.get("by"),
        "seed_id": seed_id,
        **extra,
    }


def decided_of(d: Decision) -> dict[str, Any]:
    return {"rep": d.rep, "queue": d.queue, "tier": d.tier, "by": d.by, "total": d.total, "route": d.route, "exception": d.exception}


def decision_json(d: Decision) -> dict[str, Any]:
    """A decision just made (nobody has moved the lead since)."""
    seed_id = d.seed_id if d.seed_id is not None else (d.lottery.seed_id if d.lottery is not None else None)
    return decision_fields(
        d.lead_id, rep=d.rep, queue=d.queue, status="assigned" if d.rep else "queued", decided=decided_of(d), seed_id=seed_id
    )


def document(c: Compiled, d: Decision, why_not: str | None = None, notes=()) -> dict[str, Any]:
    """What `policyd assign --format json` prints: the decision and its explanation."""
    from .explain import explain

    return {"decision": decision_json(d), "explanation": explain(c, d, why_not, notes)}
