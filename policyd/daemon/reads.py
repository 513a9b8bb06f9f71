"""Read models: what the API and the pages show, read from a reader's own connection.

No writes, no HTTP: plain data (times as epoch seconds) that the web layer shapes.
Fairness figures come from the one fairness module (replay/fairness.py), so the
daemon, replay and the review report the same numbers for the same counts.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..lang.levers import share_members
from ..replay.fairness import spread
from ..replay.levers import caps_of, quota_of, shares_now
from .runtime import Runtime


def history(conn: sqlite3.Connection, lead_id: str) -> list[dict]:
    """The audit records of one lead, oldest first: {seq, at, kind, actor, data}."""
    rows = conn.execute(
        "select seq, at, kind, actor, data from audit where json_extract(data, '$.lead_id') = ? order by seq", (lead_id,)
    ).fetchall()
    return [{"seq": s, "at": at, "kind": k, "actor": a, "data": json.loads(data)} for s, at, k, a, data in rows]


_OF_TEAM = " and (? is null or team = ?)"  # every team's rows when no team is named


def queues(conn: sqlite3.Connection, limit: int = 100, team: str | None = None) -> dict[str, dict]:
    """Leads waiting without a rep (queued by the rules, or escalated by the SLA) of one team (None: all), oldest first, by queue."""
    out: dict[str, dict] = {}
    for queue, n in conn.execute(
        "select current_queue, count(*) from rt_decisions where status in ('queued', 'escalated')" + _OF_TEAM + " group by current_queue"
        " order by current_queue",
        (team, team),
    ).fetchall():
        leads = conn.execute(
            "select lead_id, tier, at from rt_decisions where status in ('queued', 'escalated') and current_queue = ?" + _OF_TEAM + ""
            " order by at, id limit ?",
            (queue, team, team, limit),
        ).fetchall()
        out[queue] = {"count": n, "leads": [{"lead_id": lid, "tier": tier, "at": at} for lid, tier, at in leads]}
    return out


def holder_counts(conn: sqlite3.Connection, names: list[str], since: float, until: float, team: str | None = None) -> dict[str, int]:
    """Leads decided in [since, until) (in `team`) per rep holding them now, every rep of the team included (0 for none)."""
    counts = dict.fromkeys(names, 0)
    for rep, n in conn.execute(
        "select holder, count(*) from rt_decisions where at >= ? and at < ? and holder is not null" + _OF_TEAM + " group by holder",
        (since, until, team, team),
    ):
        counts[rep] = n
    return counts


def fairness(rt: Runtime, conn: sqlite3.Connection, since: float, until: float, team: str | None = None) -> dict[str, Any]:
    """One team's assignments per rep (the rep holding each lead now) in [since, until), with the spread figures of replay/fairness."""
    team, pol, state = rt.team(team)
    names = list(pol.compiled.rep_names) if pol else []
    counts = holder_counts(conn, names, since, until, team)
    total, overridden = conn.execute(
        "select count(*), coalesce(sum(overridden), 0) from rt_decisions where at >= ? and at < ?" + _OF_TEAM, (since, until, team, team)
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
        "shares": shares_now(pol.compiled, state, until) if pol else [],
    }


def reps(rt: Runtime, at: float | None = None, team: str | None = None) -> list[dict]:
    """Each rep of a team's version in force: level, capacity, open leads, load, away until, last assigned, quota and caps at `at`."""
    _, pol, st = rt.team(team)
    if pol is None:
        return []
    c = pol.compiled
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


# ------------------------------------------------------------------ the routing log
HOW = ("rules", "exception", "lottery", "override", "sla", "queue")
_BY_HOW = {"route": "rules", "exception": "exception", "lottery": "lottery", "queue": "queue"}
_HOW_SQL = {
    "rules": "by = 'route'",
    "exception": "by = 'exception'",
    "lottery": "by = 'lottery'",
    "queue": "by = 'queue'",
    "override": "overridden = 1",
    "sla": "(reassigned > 0 or status = 'escalated')",
}


@dataclass(frozen=True)
class LogFilter:
    """What the routing log shows: every field narrows it; `how` is any of HOW (a lead matches one of them)."""

    since: float | None = None
    until: float | None = None
    rep: str | None = None  # decided to, or holding it now
    tier: str | None = None
    how: tuple[str, ...] = ()
    q: str | None = None  # part of the lead id or the company
    team: str | None = None  # decided in this team (None: every team)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _log_where(f: LogFilter) -> tuple[str, list]:
    where, args = ["1 = 1"], []
    if f.since is not None:
        where.append("at >= ?")
        args.append(f.since)
    if f.until is not None:
        where.append("at < ?")
        args.append(f.until)
    if f.rep:
        where.append("(holder = ? or rep = ?)")
        args += [f.rep, f.rep]
    if f.tier:
        where.append("tier = ?")
        args.append(f.tier)
    if f.team:
        where.append("team = ?")
        args.append(f.team)
    if f.how:
        where.append("(" + " or ".join(_HOW_SQL[h] for h in f.how) + ")")
    if f.q:
        where.append("(lead_id like ? escape '\\' or json_extract(lead, '$.company') like ? escape '\\')")
        args += [_like(f.q), _like(f.q)]
    return " and ".join(where), args


def how_decided(row: dict) -> list[str]:
    """How a lead was decided (rules, exception, lottery, queue), then what moved it (override, sla)."""
    out = [_BY_HOW.get(row["by"], row["by"])]
    if row.get("overridden"):
        out.append("override")
    if row.get("reassigned") or row.get("status") == "escalated":
        out.append("sla")
    return out


_LOG_COLUMNS = (
    "lead_id, at, team, version, tier, by, rep, queue, holder, current_queue, status, overridden, reassigned,"
    " json_extract(lead, '$.company') as company"
)


def decisions_log(conn: sqlite3.Connection, f: LogFilter, limit: int = 50, offset: int = 0) -> tuple[int, list[dict]]:
    """(how many match, one page of them newest first) for the routing log."""
    where, args = _log_where(f)
    total = conn.execute(f"select count(*) from rt_decisions where {where}", args).fetchone()[0]
    cur = conn.execute(
        f"select {_LOG_COLUMNS} from rt_decisions where {where} order by at desc, id desc limit ? offset ?", [*args, limit, offset]
    )
    names = [c[0] for c in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(names, r))
        row["how"] = how_decided(row)
        row["company"] = row["company"] if isinstance(row["company"], str) else None
        out.append(row)
    return total, out


# ------------------------------------------------------------------ the audit trail
@dataclass(frozen=True)
class AuditFilter:
    """What the audit page shows; `rep` matches a record naming the rep as holder, from or to."""

    since: float | None = None
    until: float | None = None
    lead: str | None = None
    rep: str | None = None
    actor: str | None = None
    kind: str | None = None
    team: str | None = None  # records of this team: naming it, about its leads, or about its reps (None: every record)
    team_reps: tuple[str, ...] = ()


def audit_kinds(conn: sqlite3.Connection) -> list[str]:
    return [k for (k,) in conn.execute("select distinct kind from audit order by kind")]


def audit_log(conn: sqlite3.Connection, f: AuditFilter, limit: int = 100, offset: int = 0) -> tuple[int, list[dict]]:
    """(how many match, one page of records newest first): {seq, at, kind, actor, data}."""
    where, args = ["1 = 1"], []
    for col, value in (("at >= ?", f.since), ("at < ?", f.until), ("kind = ?", f.kind), ("actor = ?", f.actor)):
        if value is not None and value != "":
            where.append(col)
            args.append(value)
    if f.lead:
        where.append("json_extract(data, '$.lead_id') = ?")
        args.append(f.lead)
    if f.rep:
        where.append("? in (json_extract(data, '$.rep'), json_extract(data, '$.from'), json_extract(data, '$.to'))")
        args.append(f.rep)
    if f.team:
        where.append(
            "(json_extract(data, '$.team') = ? or json_extract(data, '$.lead_id') in (select lead_id from rt_decisions where team = ?)"
            " or json_extract(data, '$.rep') in (select value from json_each(?)))"
        )
        args += [f.team, f.team, json.dumps(list(f.team_reps))]
    sql = " and ".join(where)
    total = conn.execute(f"select count(*) from audit where {sql}", args).fetchone()[0]
    rows = conn.execute(
        f"select seq, at, kind, actor, data from audit where {sql} order by seq desc limit ? offset ?", [*args, limit, offset]
    )
    return total, [{"seq": s, "at": at, "kind": k, "actor": a, "data": json.loads(d)} for s, at, k, a, d in rows]


# ------------------------------------------------------------------ one rep's view
def rep_shares(rt: Runtime, rep: str, at: float, team: str | None = None) -> list[dict]:
    """The shares a rep counts toward at `at`: per `pick shares` route (the figures `fairness`
    gives for the period holding `at`), the share (level, group or others) the rep is in, with
    its target, realized share and how many reps are in it (in `team`; None: the one team served)."""
    _, pol, state = rt.team(team)
    if pol is None:
        return []
    out = []
    for route in shares_now(pol.compiled, state, at):
        members = share_members(pol.compiled.team, tuple(e["share"] for e in route["levels"]))
        for e in route["levels"]:
            if rep in members.get(e["share"], ()):
                head = {k: route[k] for k in ("pipeline", "kind", "name", "per", "period", "counted")}
                out.append(head | e | {"members": len(members[e["share"]])})
    return out


def target_shares(rt: Runtime, team: str | None = None) -> dict[str, float]:
    """Each rep's target share of all the team's leads: an even split. A route's `pick shares`
    targets are per share, not per rep; `rep_shares` gives those."""
    _, pol, _ = rt.team(team)
    names = list(pol.compiled.rep_names) if pol else []
    return {n: 1 / len(names) for n in names} if names else {}


def rep_leads(conn: sqlite3.Connection, rep: str, since: float, until: float) -> list[dict]:
    """Leads decided in [since, until) that were decided to `rep` or that `rep` holds now, newest first (full rows)."""
    cur = conn.execute(
        f"select {_LOG_COLUMNS}, deadline from rt_decisions where at >= ? and at < ? and (holder = ? or rep = ?) order by at desc, id desc",
        (since, until, rep, rep),
    )
    names = [c[0] for c in cur.description]
    out = [dict(zip(names, r)) for r in cur.fetchall()]
    for row in out:
        row["how"] = how_decided(row)
    return out
