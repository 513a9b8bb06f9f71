"""Four eyes: a version approved by someone other than its publisher, an override waiting for a second person.

Why: an admin token could activate a version, or move a lead, alone and at once. A
policy's header says what needs a second person (`approve versions by another`,
`approve overrides of lottery`, `approve overrides over 3 per week`), reviewed in git
like the rest of the policy. Approvals live in the `governance` table (migration
m017) and each is an audit record, written in the same transaction.

A version needs approval when it states `approve versions by another`, or when the
version active for its policy does: dropping the clause is itself a change a second
person sees. Activation (storage/teams.py `activate_set`, the one place versions
become active, scheduled ones included) refuses such a version until it is approved.
Rolling back is not refused: it returns to a version that was live.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable

from ..lang import model as m
from ..lang.diagnostics import PolicyError
from . import audit
from .db import write_lock
from .doors import is_door_version
from .errors import Conflict, NotFound, Refused
from .governance_table import add_row
from .store import Store, Version


class NeedsApproval(Conflict):
    """A change the policy says a second person must approve first."""


class SelfApproval(Refused):
    """An approval by the person whose change it is: four eyes means two people."""


_RULES: dict[str, tuple[m.Approve, ...]] = {}  # by bundle hash: a stored version never changes, so neither do its clauses


def rules(v: Version | None) -> tuple[m.Approve, ...]:
    """The `approve ...` clauses of a stored version's header (none for a door or a version that does not load)."""
    if v is None or is_door_version(v):
        return ()
    if v.hash not in _RULES:
        try:
            info = v.load().policy.info
        except PolicyError:
            info = None
        _RULES[v.hash] = info.approvals if info is not None else ()
    return _RULES[v.hash]


def requires_version_approval(store: Store, v: Version) -> m.Approve | None:
    """The clause that makes `v` need an approval (its own, else the active version's), or None."""
    active = store.active(v.policy) if v.policy in store.policies() else None
    for source in (v, active):
        for a in rules(source):
            if a.kind == "versions":
                return a
    return None


def approval_of(conn: sqlite3.Connection, number: int) -> dict | None:
    """The approval of version `number`, if any: {by, at, publisher}."""
    row = conn.execute(
        "select by, at, data from governance where kind = 'version' and subject = ? and status = 'approved' order by id limit 1",
        (str(number),),
    ).fetchone()
    return None if row is None else {"by": row[0], "at": row[1], **json.loads(row[2])}


def check_activation(store: Store, versions: Iterable[Version]) -> None:
    """Refuse (NeedsApproval, saying how to approve) any version that needs an approval it does not have."""
    for v in versions:
        clause = requires_version_approval(store, v)
        if clause is not None and approval_of(store.db.conn, v.number) is None:
            ref = store.ref_of(v)
            raise NeedsApproval(
                f"{ref} needs approval by someone other than its publisher {v.author} before it can be activated "
                f"(the policy says `{clause.text()}`): run `policyd approve {ref} --by NAME`",
                version=v.number,
                publisher=v.author,
            )


def approve_version(store: Store, ref: str | int, by: str, now: float | None = None, note: str = "") -> tuple[Version, dict, bool]:
    """Record `by`'s approval of a version (and its audit record); (version, approval, recorded now).

    Refused when `by` published it (SelfApproval) or when it needs no approval; a second
    approval of an approved version records nothing and answers the first.
    """
    if not by.strip():
        raise Refused("an approval needs the name of who approves (--by NAME)")
    now = time.time() if now is None else now
    with write_lock(store.db.conn) as conn:
        v = store.get(ref)
        if by == v.author:
            raise SelfApproval(
                f"{by} published {store.ref_of(v)}, so {by} cannot approve it: a version is approved by someone other than its publisher",
                version=v.number,
                publisher=v.author,
            )
        if requires_version_approval(store, v) is None:
            raise Refused(f"{store.ref_of(v)} needs no approval: neither it nor the active version says `approve versions by another`")
        earlier = approval_of(conn, v.number)
        if earlier is not None:
            return v, earlier, False
        data = {"policy": v.policy, "publisher": v.author} | ({"note": note} if note else {})
        add_row(conn, "version", str(v.number), data, by, now, "approved")
        log = audit.Appender(conn)
        log.append(now, "approve_version", by, {"version": v.number, **data})
        log.finish()
    return v, {"by": by, "at": now, **data}, True


def pending_versions(store: Store) -> list[dict]:
    """Versions newer than their policy's active one that need an approval they lack, newest first."""
    out = []
    active = store.active_versions()
    for v in store.versions():
        cur = active.get(v.policy)
        if cur is not None and v.number <= cur.number:
            continue
        clause = requires_version_approval(store, v)
        if clause is not None and approval_of(store.db.conn, v.number) is None:
            out.append(
                {
                    "kind": "version",
                    "ref": store.ref_of(v),
                    "version": v.number,
                    "policy": v.policy,
                    "publisher": v.author,
                    "at": v.created_at,
                    "rule": f"`{clause.text()}`",
                    "message": v.message,
                }
            )
    return out


# ---------------------------------------------------------------- overrides waiting for a second person
def request_override(conn: sqlite3.Connection, log: audit.Appender, now: float, by: str, request: dict, rule: str) -> dict:
    """Keep an override that needs approval (inside the caller's transaction), with its audit record; the pending row."""
    data = {**request, "rule": rule}
    aid = add_row(conn, "override", request["lead_id"], data, by, now, "pending")
    log.append(now, "override_request", by, {"approval": aid, **data})
    return {"id": aid, "kind": "override", "status": "pending", "by": by, "at": now, **data}


def override_request(conn: sqlite3.Connection, approval_id: int) -> dict:
    """A stored override request by id (NotFound naming it)."""
    row = conn.execute(
        "select id, data, by, at, status, decided_by, decided_at from governance where kind = 'override' and id = ?", (approval_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no override waiting for approval has id {approval_id}; `policyd approvals` lists them")
    i, data, by, at, status, dby, dat = row
    return {"id": i, "kind": "override", **json.loads(data), "by": by, "at": at, "status": status, "decided_by": dby, "decided_at": dat}


def decide_override(conn: sqlite3.Connection, log: audit.Appender, now: float, approval_id: int, by: str, approve: bool) -> dict:
    """Approve or reject a pending override (inside the caller's transaction); the request as it was. The caller moves the lead."""
    req = override_request(conn, approval_id)
    if req["status"] != "pending":
        raise Conflict(f"override request {approval_id} is {req['status']} already (by {req['decided_by']})")
    if approve and by == req["by"]:
        raise SelfApproval(f"{by} asked for override {approval_id}, so {by} cannot approve it: a second person approves an override")
    status = "approved" if approve else "rejected"
    conn.execute("update governance set status = ?, decided_by = ?, decided_at = ? where id = ?", (status, by, now, approval_id))
    kind = "override_approve" if approve else "override_reject"
    log.append(now, kind, by, {"approval": approval_id, "lead_id": req["lead_id"], "requested_by": req["by"]})
    return req


def pending_overrides(conn: sqlite3.Connection) -> list[dict]:
    """Overrides waiting for a second person, oldest first."""
    rows = conn.execute("select id from governance where kind = 'override' and status = 'pending' order by id").fetchall()
    return [override_request(conn, r[0]) for r in rows]
