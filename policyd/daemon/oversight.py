"""Who overrides whom: overrides per actor, per rep who gained or lost a lead, per tier, and each actor's rule compliance.

Why: an override is the one way a person puts their judgement above the rules; a
manager reviewing the week needs to see whose judgement it was and whom it moved
leads from and to. Read from the audit log (every override is a record there, with
its actor; `operations.override`), the tier from the decision's row. An actor's
rule compliance is the share of the leads they placed in the window that the rules
placed: assignments sent (`assign`, `reroute` records) over those plus their overrides.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any


def _ranked(counts: Counter, key: str) -> list[dict]:
    """Largest first, then by name (a stable order for pages and tests)."""
    return [{key: k, "overrides": n} for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


def overrides(conn: sqlite3.Connection, since: float, until: float, team: str | None = None) -> dict[str, Any]:
    """The overrides made in [since, until) (of `team`'s leads; every team's with None), broken down four ways."""
    rows = conn.execute(
        "select a.actor, json_extract(a.data, '$.from'), json_extract(a.data, '$.to'), d.tier from audit a"
        " left join rt_decisions d on d.lead_id = json_extract(a.data, '$.lead_id')"
        " where a.kind = 'override' and a.at >= ? and a.at < ? and (? is null or d.team = ?)",
        (since, until, team, team),
    ).fetchall()
    placed = conn.execute(
        "select a.actor, count(*) from audit a left join rt_decisions d on d.lead_id = json_extract(a.data, '$.lead_id')"
        " where a.kind in ('assign', 'reroute') and a.at >= ? and a.at < ? and (? is null or d.team = ?) group by a.actor",
        (since, until, team, team),
    ).fetchall()
    by_actor, gained, lost, tiers = Counter(), Counter(), Counter(), Counter()
    for actor, frm, to, tier in rows:
        by_actor[actor] += 1
        gained[to] += 1
        if frm is not None:
            lost[frm] += 1
        tiers[tier or "none"] += 1
    by_rules = dict(placed)
    actors = sorted(set(by_actor) | set(by_rules), key=lambda a: (-by_actor[a], a))
    compliance = []
    for a in actors:
        n, o = by_rules.get(a, 0), by_actor[a]
        compliance.append({"actor": a, "placed_by_rules": n, "overrides": o, "rule_compliance": n / (n + o) if n + o else None})
    reps = sorted(set(gained) | set(lost), key=lambda r: (-gained[r] - lost[r], r))
    return {
        "total": len(rows),
        "per_rep": [{"rep": r, "gained": gained[r], "lost": lost[r]} for r in reps],
        "by_actor": compliance,
        "gained": [{"rep": x["rep"], "leads": x["overrides"]} for x in _ranked(gained, "rep")],
        "lost": [{"rep": x["rep"], "leads": x["overrides"]} for x in _ranked(lost, "rep")],
        "by_tier": _ranked(tiers, "tier"),
    }
