"""Decision rows (`rt_decisions`): what was decided, and where the lead is now.

`rep` and `queue` are the decision as made, never changed afterwards (the replay
check re-runs the decision and compares against them). `holder`, `current_queue`
and `status` say where the lead is now, after accepts, overrides and SLA moves.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..engine.schema import addressable_id
from ..storage.errors import NotFound

OPEN_STATUSES = ("assigned", "accepted")
CLOSED_STATUSES = ("won", "lost")


def find(conn: sqlite3.Connection, lead_id: str) -> dict | None:
    cur = conn.execute("select * from rt_decisions where lead_id = ?", (lead_id,))
    r = cur.fetchone()
    return None if r is None else dict(zip([c[0] for c in cur.description], r))


def need(conn: sqlite3.Connection, lead_id: str) -> dict:
    """The row of a decided lead, or NotFound."""
    row = find(conn, lead_id)
    if row is None:
        raise NotFound(f"no decision for lead {lead_id!r}")
    return row


def insert(conn: sqlite3.Connection, row: dict) -> int:
    cur = conn.execute(
        "insert into rt_decisions (" + ", ".join(row) + ") values (" + ", ".join("?" * len(row)) + ") returning id",
        tuple(row.values()),
    )
    return int(cur.fetchone()[0])


def update(conn: sqlite3.Connection, lead_id: str, now: float, **values: Any) -> dict:
    """Move a lead (holder, current_queue, status, deadline...); the decision columns are never passed here."""
    if {"rep", "queue"} & set(values):
        raise ValueError("a decision's rep and queue are what was decided; move the holder and current_queue")
    values["updated_at"] = now
    conn.execute(
        "update rt_decisions set " + ", ".join(f"{k} = ?" for k in values) + " where lead_id = ?",
        (*values.values(), lead_id),
    )
    return need(conn, lead_id)


def earlier_prospect(conn: sqlite3.Connection, prospect: str, lead_id: str) -> str | None:
    """The latest other lead decided for this prospect, or None."""
    r = conn.execute(
        "select lead_id from rt_decisions where prospect = ? and lead_id != ? order by id desc limit 1", (prospect, lead_id)
    ).fetchone()
    return None if r is None else r[0]


def reentries(conn: sqlite3.Connection, since: float, limit: int = 50) -> list[dict]:
    """Leads decided since `since` that re-enter an earlier prospect, newest first, with what became of the earlier ones."""
    cur = conn.execute(
        "select d.lead_id, d.at, d.rep, d.queue, d.by, d.reentry_of,"
        " (select count(*) from rt_decisions e where e.prospect = d.prospect and e.id < d.id) as earlier,"
        " (select json_group_array(e.lead_id || ':' || e.status) from rt_decisions e"
        "   where e.prospect = d.prospect and e.id < d.id) as before"
        " from rt_decisions d where d.reentry_of is not null and d.at >= ? order by d.id desc limit ?",
        (since, limit),
    )
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def unreachable(conn: sqlite3.Connection) -> list[dict]:
    """Open leads whose id no URL can name (decided before ids had a safe alphabet): they hold a place for ever."""
    cur = conn.execute("select lead_id, status, holder from rt_decisions where status in ('assigned', 'accepted', 'queued', 'escalated')")
    return [{"lead_id": r[0], "status": r[1], "holder": r[2]} for r in cur if not addressable_id(r[0])]


def open_counts(conn: sqlite3.Connection, team: str | None = None) -> dict[str, int]:
    """Open leads per holder (of one team's decisions, with `team`), from the rows (the state is rebuilt from these on start)."""
    return dict(
        conn.execute(
            "select holder, count(*) from rt_decisions where holder is not null and status in ('assigned', 'accepted')"
            " and (? is null or team = ?) group by holder",
            (team, team),
        ).fetchall()
    )


def due(conn: sqlite3.Connection, now: float, limit: int, teams: list[str] | None = None) -> list[tuple[str, str | None]]:
    """(lead id, team) of leads whose SLA deadline has passed (of the teams given), oldest deadline first."""
    among = "" if teams is None else " and team in (" + ", ".join("?" * len(teams)) + ")"
    return [
        (r[0], r[1])
        for r in conn.execute(
            "select lead_id, team from rt_decisions where deadline is not null and deadline <= ? and status = 'assigned'"
            + among
            + " order by deadline, id limit ?",
            (now, *(teams or ()), limit),
        )
    ]
