"""The manager's week: the figures of the weekly meeting, per rep and per level, read from the decision rows.

A lead counts in the week it was decided (`at`), for the rep holding it now, as the
dashboard and /v1/fairness count it. Response time runs from the decision to the
accept record of the audit log; conversion is won / (won + lost) of the week's
leads; rule compliance is the share of decisions not overridden (by the rep they
were decided to). CV and Gini come from the one fairness module.
"""

from __future__ import annotations

import sqlite3
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from ..replay.fairness import spread
from .runtime import Runtime

WEEK = 7 * 86400


def week_start(t: float) -> float:
    """Monday 00:00 UTC of the ISO week holding `t`."""
    dt = datetime.fromtimestamp(t, UTC)
    return (dt - timedelta(days=dt.weekday())).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def week_label(t: float) -> str:
    y, w, _ = datetime.fromtimestamp(t, UTC).isocalendar()
    return f"{y}-W{w:02d}"


def parse_week(text: str) -> float | None:
    """Monday 00:00 UTC of an ISO week written `2026-W48`; None when it is not one."""
    try:
        return datetime.strptime(text.strip() + "-1", "%G-W%V-%u").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


_OF_TEAM = " and (? is null or team = ?)"  # every team's rows when no team is named


def _rows(conn: sqlite3.Connection, since: float, until: float, team: str | None) -> list[tuple]:
    return conn.execute(
        "select lead_id, at, rep, holder, status, overridden from rt_decisions where at >= ? and at < ?" + _OF_TEAM,
        (since, until, team, team),
    ).fetchall()


def _accepts(conn: sqlite3.Connection, since: float, until: float, team: str | None) -> list[tuple[str, float]]:
    """(rep who accepted, seconds from the decision to the first accept) for the window's leads."""
    first: dict[str, tuple[str, float]] = {}
    for lead_id, rep, seconds in conn.execute(
        "select d.lead_id, json_extract(a.data, '$.rep'), a.at - d.at from rt_decisions d join audit a"
        " on a.kind = 'accept' and json_extract(a.data, '$.lead_id') = d.lead_id"
        " where d.at >= ? and d.at < ? and (? is null or d.team = ?) order by a.at, a.seq",
        (since, until, team, team),
    ):
        first.setdefault(lead_id, (rep, seconds))
    return list(first.values())


def _group(names: list[str], rows: list[tuple], accepts: list[tuple[str, float]]) -> dict[str, dict]:
    out = {n: {"leads": 0, "won": 0, "lost": 0, "decided": 0, "overridden": 0, "response": []} for n in names}
    for _lead, _at, rep, holder, status, overridden in rows:
        if holder in out:
            out[holder]["leads"] += 1
            if status in ("won", "lost"):
                out[holder][status] += 1
        if rep in out:
            out[rep]["decided"] += 1
            out[rep]["overridden"] += int(bool(overridden))
    for rep, seconds in accepts:
        if rep in out:
            out[rep]["response"].append(float(seconds))
    return out


def _figures(g: dict) -> dict[str, Any]:
    return {
        "leads": g["leads"],
        "accepted": len(g["response"]),
        "response_median_s": _median(g["response"]),
        "won": g["won"],
        "lost": g["lost"],
        "conversion": _ratio(g["won"], g["won"] + g["lost"]),
        "decided": g["decided"],
        "overridden": g["overridden"],
        "rule_compliance": _ratio(g["decided"] - g["overridden"], g["decided"]),
    }


def figures(rt: Runtime, conn: sqlite3.Connection, since: float, until: float, team: str | None = None) -> dict[str, Any]:
    """One team's figures of the week (None: the one team served): per rep, per level (in team order), and for the
    team with CV and Gini across reps."""
    team, pol, _ = rt.team(team)
    names = list(pol.compiled.rep_names) if pol else []
    levels = list(pol.compiled.levels) if pol else []
    rows, accepts = _rows(conn, since, until, team), _accepts(conn, since, until, team)
    g = _group(names, rows, accepts)
    per_level: dict[str, dict] = {}
    for name, level in zip(names, levels):
        lv = per_level.setdefault(level, {"leads": 0, "won": 0, "lost": 0, "decided": 0, "overridden": 0, "response": [], "reps": 0})
        lv["reps"] += 1
        for k in ("leads", "won", "lost", "decided", "overridden"):
            lv[k] += g[name][k]
        lv["response"] += g[name]["response"]
    fig = spread([float(g[n]["leads"]) for n in names])
    overridden = sum(int(bool(r[5])) for r in rows)
    won = sum(1 for r in rows if r[4] == "won")
    lost = sum(1 for r in rows if r[4] == "lost")
    figs = {
        "decisions": len(rows),
        "leads": sum(g[n]["leads"] for n in names),
        "accepted": len(accepts),
        "response_median_s": _median([float(s) for _, s in accepts]),
        "won": won,
        "lost": lost,
        "conversion": _ratio(won, won + lost),
        "overridden": overridden,
        "rule_compliance": _ratio(len(rows) - overridden, len(rows)),
        "cv": fig["cv"],
        "gini": fig["gini"],
    }
    return {
        "since": since,
        "until": until,
        "week": week_label(since),
        "team_name": team,
        "team": figs,
        "reps": [{"rep": n, "level": lv, **_figures(g[n])} for n, lv in zip(names, levels)],
        "levels": [{"level": k, "reps": v["reps"], **_figures(v)} for k, v in per_level.items()],
    }


def trend(rt: Runtime, conn: sqlite3.Connection, start: float, weeks: int = 12, team: str | None = None) -> list[dict]:
    """The team figures of the `weeks` weeks ending with the one starting at `start`, oldest first."""
    out = []
    for k in range(weeks - 1, -1, -1):
        s = start - k * WEEK
        out.append({"week": week_label(s), "since": s, **figures(rt, conn, s, s + WEEK, team)["team"]})
    return out


def activations(conn: sqlite3.Connection, team: str | None = None) -> list[dict]:
    """The activation log (of one team's policy; None: every policy), newest first: {number, at, by, action}."""
    rows = conn.execute(
        'select number, at, "by", action from activations where (? is null or policy = ?) order by id desc', (team, team)
    ).fetchall()
    return [{"number": n, "at": at, "by": by, "action": action} for n, at, by, action in rows]


def around(rt: Runtime, conn: sqlite3.Connection, at: float, days: float = 7, team: str | None = None) -> dict[str, Any]:
    """Team figures in the `days` before a policy activation at `at`, and in the `days` from it."""
    span = days * 86400
    return {
        "at": at,
        "days": days,
        "before": figures(rt, conn, at - span, at, team)["team"],
        "after": figures(rt, conn, at, at + span, team)["team"],
    }
