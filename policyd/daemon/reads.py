"""Read models: what the API and the pages show, read from a reader's own connection.

No writes, no HTTP: plain data (times as epoch seconds) that the web layer shapes.
Fairness figures come from the one fairness module (replay/fairness.py), so the
daemon, replay and the review report the same numbers for the same counts.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..replay.fairness import spread
from ..replay.levers import caps_of, quota_of, shares_now
from .runtime import Runtime


def history(conn: sqlite3.Connection, lead_id: str) -> list[dict]:
    """The audit records of one lead, oldest first: {seq, at, kind, actor, data}."""
    rows = conn.execute(
        "select seq, at, kind, actor, data from audit where json_extract(data, '$.lead_id') = ? order by seq", (lead_id,)
    ).fetchall()
    return [{"seq": s, "at": at, "kind": k, "actor": a, "data": json.loads(data)} for s, at, k, a, data in rows]


def queues(conn: sqlite3.Connection, limit: int = 100) -> dict[str, dict]:
    """Leads waiting without a rep (queued by the rules, or escalated by the SLA), oldest first, by queue."""
    out: dict[str, dict] = {}
    for queue, n in conn.execute(
        "select current_queue, count(*) from rt_decisions where status in ('queued', 'escalated') group by current_queue order by current_queue"
    ).fetchall():
        leads = conn.execute(
            "select lead_id, tier, at from rt_decisions where status in ('queued', 'escalated') and current_queue = ? order by at, id limit ?",
            (queue, limit),
        ).fetchall()
        out[queue] = {"count": n, "leads": [{"lead_id": lid, "tier": tier, "at": at} for lid, tier, at in leads]}
    return out


def holder_counts(conn: sqlite3.Connection, names: list[str], since: float, until: float) -> dict[str, int]:
    """Leads decided in [since, until) per rep holding them now, every rep of the team included (0 for none)."""
    counts = dict.fromkeys(names, 0)
    for rep, n in conn.execute(
        "select holder, count(*) from rt_decisions where at >= ? and at < ? and holder is not null group by holder", (since, until)
    ):
        counts[rep] = n
    return counts


def fairness(rt: Runtime, conn: sqlite3.Connection, since: float, until: float) -> dict[str, Any]:
    """Assignments per rep (the rep holding each lead now) in [since, until), with the spread figures of replay/fairness."""
    pol = rt.policy
    names = list(pol.compiled.rep_names) if pol else []
    counts = holder_counts(conn, names, since, until)
    total, overridden = conn.execute(
        "select count(*), coalesce(sum(overridden), 0) from rt_decisions where at >= ? and at < ?", (since, until)
    ).fetchone()
    fig = spread([float(counts[n]) for n in counts])
    return {
        "since": since,
        "until": until,
        "decisions": total,
        "assigned": sum(counts.values()),
        "counts": counts,
        "cv": fig["cv"],
        "gini": fig["gini"],
        "max": int(fig["max"]),
        "min": int(fig["min"]),
        "max_min_ratio": fig["max_min"],
        "overrides": overridden,
        "rule_compliance": (total - overridden) / total if total else None,
        # per `pick shares` route: the engine's own counter for the period holding `until`, as it stands now
        "shares": shares_now(pol.compiled, rt.state, until) if pol else [],
    }


def reps(rt: Runtime, at: float | None = None) -> list[dict]:
    """Each rep of the version in force: level, capacity, open leads, load, away until, last assigned, quota and caps at `at` (now)."""
    pol = rt.policy
    if pol is None:
        return []
    c, st = pol.compiled, rt.state
    at = rt.clock() if at is None else at
    away = dict(rt.away_until)
    out = []
    for i, name in enumerate(c.rep_names):
        n = st.open.get(name, 0)
        until = away.get(name)
        out.append(
            {
                "rep": name,
                "level": c.levels[i],
                "capacity": c.capacity[i],
                "open": n,
                "load": round(n / c.capacity[i], 4) if c.capacity[i] else None,
                "away": name in st.away,
                "away_until": until[0] if until else None,
                "away_reason": until[1] if until else None,
                "last_assigned": st.last.get(name),
                "quota": quota_of(c, st, name, at),
                "caps": caps_of(c, st, name, at),
            }
        )
    return out
