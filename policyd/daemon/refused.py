"""Refused requests (`intake_refused`): nothing a sender posted is lost, even when it is refused.

A CRM never retries a 4xx (HubSpot does not), so a refused lead would be gone. Each
refusal (a bad signature, bad JSON, a payload the mapping cannot read, a lead the
schema refuses, a retry that differs from the stored lead) is stored with its reasons,
the body as it came, the headers a re-check needs and the team its path named (None:
through the front door), listed by the API and the dashboard, and re-submitted by an
admin once the mapping is fixed, into that same team. Writes go through
the writer (as operations); reads use any connection.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..storage.errors import Conflict, NotFound
from .writer import Tx

KINDS = ("signature", "json", "mapping", "schema", "conflict")
KEPT_HEADERS = ("content-type", "x-hubspot-signature-v3", "x-hubspot-request-timestamp", "user-agent")
_COLUMNS = "id, at, source, team, kind, reasons, body, headers, lead_id, status, resolved_at, resolved_by"


def store(
    tx: Tx,
    source: str,
    kind: str,
    reasons: list[dict],
    body: str,
    headers: dict[str, str],
    lead_id: str | None,
    team: str | None = None,
) -> int:
    """Keep one refused request, with the team its path named (None: sent through the front door); returns its id
    (audited, so the log says a request was refused and kept)."""
    cur = tx.conn.execute(
        "insert into intake_refused (at, source, team, kind, reasons, body, headers, lead_id) values (?, ?, ?, ?, ?, ?, ?, ?) returning id",
        (tx.now, source, team, kind, json.dumps(reasons, ensure_ascii=False), body, json.dumps(headers), lead_id),
    )
    rid = int(cur.fetchone()[0])
    entry = {"id": rid, "source": source, "kind": kind, "lead_id": lead_id}
    if team is not None:  # records of refusals through the door read as they always did
        entry["team"] = team
    tx.log.append(tx.now, "refused", f"intake:{source}", entry)
    return rid


def _row(cur: sqlite3.Cursor, r: tuple) -> dict[str, Any]:
    out = dict(zip([c[0] for c in cur.description], r))
    out["reasons"] = json.loads(out["reasons"])
    out["headers"] = json.loads(out["headers"])
    return out


def listing(conn: sqlite3.Connection, status: str | None = "refused", limit: int = 100) -> list[dict]:
    """Refused requests, newest first (`status` None: every one, re-submitted ones too)."""
    where, args = ("where status = ?", (status,)) if status else ("", ())
    cur = conn.execute(f"select {_COLUMNS} from intake_refused {where} order by id desc limit ?", (*args, limit))
    return [_row(cur, r) for r in cur.fetchall()]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Refused requests waiting, by kind (metrics and the dashboard)."""
    return dict(conn.execute("select kind, count(*) from intake_refused where status = 'refused' group by kind").fetchall())


def need(conn: sqlite3.Connection, rid: int) -> dict:
    cur = conn.execute(f"select {_COLUMNS} from intake_refused where id = ?", (rid,))
    r = cur.fetchone()
    if r is None:
        raise NotFound(f"no refused request {rid}")
    return _row(cur, r)


def resolve(tx: Tx, rid: int, lead_id: str, actor: str) -> dict:
    """Mark a refused request re-submitted (decided now as `lead_id`); twice is a conflict."""
    row = need(tx.conn, rid)
    if row["status"] != "refused":
        raise Conflict(f"refused request {rid} was already re-submitted (lead {row['lead_id']})")
    tx.conn.execute(
        "update intake_refused set status = 'resubmitted', lead_id = ?, resolved_at = ?, resolved_by = ? where id = ?",
        (lead_id, tx.now, actor, rid),
    )
    tx.log.append(tx.now, "resubmit", actor, {"id": rid, "lead_id": lead_id})
    return need(tx.conn, rid)


def refuse_again(tx: Tx, rid: int, kind: str, reasons: list[dict]) -> None:
    """A re-submission refused again: the row keeps the newest reasons."""
    tx.conn.execute("update intake_refused set kind = ?, reasons = ? where id = ?", (kind, json.dumps(reasons, ensure_ascii=False), rid))
