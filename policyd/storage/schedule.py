"""Activations at a set time: a set of versions scheduled now, made active exactly when it falls due.

Why: a new version should go live on Monday 09:00, not when someone happens to run
`policyd activate`. A schedule is a row of the `governance` table (migration m017),
so it survives a restart; it is checked when it is made (every refusal an activation
would give, `teams.check_set`) and again when it falls due, when the daemon makes it
active through the one activation (`teams.activate_set`, dated at the due time, the
row marked done in the same transaction). A set (`inbound@3 emea@2`) switches
together, as an activation of a set does. Each schedule, its cancellation and its
outcome are audit records.
"""

from __future__ import annotations

import json
import time

from . import audit
from .db import write_lock
from .errors import Conflict, DomainError, NotFound, Refused
from .governance_table import add_row
from .store import Store, Version
from .teams import activate_set, check_set


def _row(r: tuple) -> dict:
    i, data, by, at, due, status, dby, dat = r
    return {"id": i, **json.loads(data), "by": by, "at": at, "due": due, "status": status, "decided_by": dby, "decided_at": dat}


_COLS = "id, data, by, at, due, status, decided_by, decided_at"


def schedule(store: Store, refs: list[str | int], due: float, by: str, now: float | None = None) -> dict:
    """Schedule the set `refs` to become active at `due` (checked now, as an activation would be); the row."""
    now = time.time() if now is None else now
    if due <= now:
        raise Refused(
            f"the time to activate at must be in the future (it is {audit_time(due)}; now is {audit_time(now)}); activate now with `policyd activate`"
        )
    with write_lock(store.db.conn) as conn:
        chosen = check_set(store, refs)
        versions = [{"policy": v.policy, "number": v.number, "ref": store.ref_of(v)} for v in chosen]
        data = {"versions": versions}
        sid = add_row(conn, "schedule", " ".join(x["ref"] for x in versions), data, by, now, "pending", due)
        log = audit.Appender(conn)
        log.append(now, "schedule", by, {"schedule": sid, "due": due, **data})
        log.finish()
    return get(store, sid)


def audit_time(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def get(store: Store, schedule_id: int) -> dict:
    row = store.db.conn.execute(f"select {_COLS} from governance where kind = 'schedule' and id = ?", (schedule_id,)).fetchone()
    if row is None:
        raise NotFound(f"no scheduled activation has id {schedule_id}; `policyd schedule` lists them")
    return _row(row)


def listing(store: Store, every: bool = False) -> list[dict]:
    """Scheduled activations, soonest first: the pending ones (every one with `every`)."""
    where = "" if every else " and status = 'pending'"
    rows = store.db.conn.execute(f"select {_COLS} from governance where kind = 'schedule'{where} order by due, id").fetchall()
    return [_row(r) for r in rows]


def cancel(store: Store, schedule_id: int, by: str, now: float | None = None) -> dict:
    """Cancel a pending schedule (audited); Conflict when it ran or was cancelled already."""
    now = time.time() if now is None else now
    with write_lock(store.db.conn) as conn:
        s = get(store, schedule_id)
        if s["status"] != "pending":
            raise Conflict(f"scheduled activation {schedule_id} is {s['status']} already; nothing to cancel")
        _decide(conn, schedule_id, "cancelled", by, now, {})
    return get(store, schedule_id)


def _decide(conn, schedule_id: int, status: str, by: str, now: float, extra: dict) -> None:
    conn.execute("update governance set status = ?, decided_by = ?, decided_at = ? where id = ?", (status, by, now, schedule_id))
    log = audit.Appender(conn)
    log.append(now, f"schedule_{status}", by, {"schedule": schedule_id, **extra})
    log.finish()


def due(store: Store, now: float) -> list[dict]:
    """Pending schedules whose time has come by `now`, oldest due first."""
    rows = store.db.conn.execute(
        f"select {_COLS} from governance where kind = 'schedule' and status = 'pending' and due <= ? order by due, id", (now,)
    ).fetchall()
    return [_row(r) for r in rows]


def run(store: Store, s: dict, now: float) -> tuple[list[Version], str | None]:
    """Make a due schedule active, dated at its due time, marked done in the same transaction; (versions, why not).

    A schedule the activation now refuses (an approval withdrawn, a rep now on another
    team) is marked failed with the reason, in words, and changes nothing else."""
    numbers = [x["number"] for x in s["versions"]]

    def done(chosen: list[Version]) -> None:
        _decide(store.db.conn, s["id"], "done", s["by"], now, {"due": s["due"], "versions": numbers})

    try:
        return activate_set(store, numbers, s["by"], now=s["due"], then=done), None
    except DomainError as err:
        fail(store, s, now, err.message)
        return [], err.message


def fail(store: Store, s: dict, now: float, why: str) -> None:
    """Mark a due schedule failed, with the reason in words (audited); nothing becomes active."""
    with write_lock(store.db.conn) as conn:
        _decide(conn, s["id"], "failed", s["by"], now, {"due": s["due"], "versions": [x["number"] for x in s["versions"]], "error": why})


def version_as_of(store: Store, policy: str, when: float) -> Version:
    """The version of `policy` active at `when`: from the activation log, or a pending schedule due by then."""
    rows = store.db.conn.execute("select number, at from activations where policy = ? and at <= ? order by id", (policy, when)).fetchall()
    best: tuple[float, int] | None = (rows[-1][1], rows[-1][0]) if rows else None
    for s in listing(store):
        if s["due"] <= when:
            for x in s["versions"]:
                if x["policy"] == policy and (best is None or s["due"] >= best[0]):
                    best = (s["due"], x["number"])
    if best is None:
        raise NotFound(f"no version of {policy} was active, or is scheduled to be, at {audit_time(when)}")
    return store.get(best[1])
