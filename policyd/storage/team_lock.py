"""The team's row: what serialises one team's decisions across daemons, and tells a daemon its state is stale.

Each team has a row in `rt_team_lock` (made on first use). A write batch locks the
row of each team it works in before it reads that team's state (PostgreSQL:
`SELECT ... FOR UPDATE`, which PostgreSQL-compatible distributed engines also
support; SQLite's write transaction already holds the whole file), and bumps its
`writes` counter when it changed the team's state. So decisions of one team queue
for the row, decisions of different teams do not wait for each other, and a daemon
whose counter for a team differs from the row's reloads that team before deciding.

Only the first lock of a batch waits. Later ones ask `NOWAIT`: a batch that already
holds a team never waits for another, so two daemons can never wait for each other
(no deadlock); the operation that could not have its team is tried again, first in
the next batch (daemon/writer.py).
"""

from __future__ import annotations

import sqlite3

from .db import is_postgres


def lock(conn: sqlite3.Connection, team: str, wait: bool) -> int:
    """Lock `team`'s row until COMMIT; its `writes` counter. Raises engines' LockBusy when `wait` is False and
    another transaction holds it."""
    sql = "select writes from rt_team_lock where team = ?"
    if is_postgres(conn):
        sql += " for update" if wait else " for update nowait"
    row = conn.execute(sql, (team,)).fetchone()
    if row is None:
        conn.execute("insert into rt_team_lock (team, writes) values (?, 0) on conflict (team) do nothing", (team,))
        row = conn.execute(sql, (team,)).fetchone()
    return row[0]


def bump(conn: sqlite3.Connection, team: str, writes: int) -> int:
    """The team's state changed in this transaction (which holds its row): the next counter, written."""
    conn.execute("update rt_team_lock set writes = ? where team = ?", (writes + 1, team))
    return writes + 1
