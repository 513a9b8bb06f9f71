"""The changes a client asks for, each run by the writer inside its batch transaction.

Every function takes the batch's `Tx` and returns the answer for the caller, or
raises a domain error (storage/errors.py), which rolls back that operation alone.
Decisions go through the engine's one core (`decide`, `state.apply/close/
reassign/set_away`), the same functions replay uses. `count` adds to the
runtime's event counters (metrics).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine.availability import counted, why_unavailable
from ..engine.codegen import Compiled
from ..engine.decide import decide
from ..engine.picks import Move
from ..engine.quota import won
from ..engine.schema import FieldError, LeadError
from ..engine.state import apply, close, reassign, set_away
from ..lottery.prospect import fingerprint
from ..storage.errors import Conflict, NotFound, NotReady, Refused
from . import rows
from .rows import CLOSED_STATUSES, OPEN_STATUSES
from .sla import deadline
from .writer import Tx

Count = Callable[[str], None]
NO_POLICY = "no policy version is active; publish one and run `policyd activate @N`"


@dataclass(frozen=True)
class Seed:
    """What a decision draws with: the seed, how explanations name it, lottery on, and why not."""

    seed: str
    seed_id: str | None
    lottery: bool
    note: str | None
    kept: bool = True  # False for a period seed: derived from the seed key, never written into a decision row


def lead_differences(stored: dict, sent: dict) -> list[dict]:
    """The fields whose values differ between a stored lead and a retry of it, in field order."""
    names = list(stored) + [k for k in sent if k not in stored]
    return [{"field": k, "stored": stored.get(k), "sent": sent.get(k)} for k in names if stored.get(k) != sent.get(k)]


def assign(
    tx: Tx, raw: Any, actor: str, seed: Callable[[Tx], Seed], count: Count, reroute: bool = False, door: dict | None = None
) -> tuple[dict, bool]:
    """Decide a lead: (row, created); created False when the lead id was decided before with the same lead (idempotent).

    `door` is the front door's step that sent the lead here (`Routed.to_json()`), kept in the row for the explanation.

    The same id with a different lead is a Conflict naming the fields that differ, unless
    `reroute` asks for the lead to be decided again with the new fields (audited)."""
    c = tx.compiled
    if c is None:
        raise NotReady(NO_POLICY)
    existing = None
    if isinstance(raw, dict) and raw.get("id") is not None:
        existing = rows.find(tx.conn, str(raw["id"]))
        if existing is not None and existing.get("team") not in (None, tx.team):
            raise Conflict(
                f"lead {existing['lead_id']} was decided in team {existing['team']}, not {tx.team}: lead ids are unique across "
                f"the teams of a store, so send it to /v1/teams/{existing['team']}/assign, or give this lead a new id",
                lead_id=existing["lead_id"],
                team=existing["team"],
            )
        if existing is not None:
            diff = lead_differences(json.loads(existing["lead"]), raw)
            if not diff:
                count("idempotent_replays")
                return existing, False
            if not reroute:
                count("idempotent_conflicts")
                named = ", ".join(d["field"] for d in diff)
                raise Conflict(
                    f"lead {existing['lead_id']} was decided with other values ({named}); "
                    "send it again with ?reroute=true to decide it again with these (recorded in the audit log)",
                    differences=diff,
                    lead_id=existing["lead_id"],
                )
            if existing["status"] in CLOSED_STATUSES:
                raise Conflict(f"lead {existing['lead_id']} is closed ({existing['status']}); it cannot be routed again")
            if existing["holder"] is not None and existing["status"] in OPEN_STATUSES:
                tx.state = close(tx.state, existing["holder"])  # the holder lets it go; the new decision places it
    s = seed(tx)
    d = decide(c, raw, tx.state, s.seed, lottery=s.lottery, seed_id=s.seed_id, at=tx.now)
    lead_id = d.lead_id
    if lead_id is None:
        raise LeadError([FieldError("id", None, "a lead id", "field id: the daemon needs a lead id (it makes assign idempotent)")])
    snapshot = json.dumps(tx.state.to_json(), separators=(",", ":"))
    prospect = fingerprint(d.lead)
    earlier = rows.earlier_prospect(tx.conn, prospect, lead_id)
    tx.state = apply(tx.state, d, tx.now)
    due = deadline(c, d.tier, tx.now, d.rep) if d.rep is not None else None
    row = {
        "lead_id": lead_id,
        "team": tx.team,
        "version": tx.version,
        "at": tx.now,
        "seed": s.seed if s.kept else None,  # a period seed stays out of the row: explanations derive it by seed_id
        "lottery": int(s.lottery),
        "seed_id": s.seed_id,
        "lottery_note": s.note,
        "lead": json.dumps(raw, separators=(",", ":"), ensure_ascii=False),
        "snapshot": snapshot,
        "rep": d.rep,
        "queue": d.queue,
        "tier": d.tier,
        "by": d.by,
        "holder": d.rep,
        "current_queue": d.queue,
        "status": "assigned" if d.rep else "queued",
        "deadline": due,
        "reassigned": 0,
        "tried": json.dumps([d.rep] if d.rep else []),
        "overridden": 0,
        "override_reason": None,
        "updated_at": tx.now,
        "prospect": prospect,
        "reentry_of": earlier,
        "door": json.dumps(door, separators=(",", ":"), ensure_ascii=False) if door is not None else None,
    }
    record = {
        "lead_id": lead_id,
        "team": tx.team,
        "version": tx.version,
        "rep": d.rep,
        "queue": d.queue,
        "tier": d.tier,
        "by": d.by,
        "deadline": due,
    }
    if door is not None:
        record["door"] = door.get("step")
    if earlier:
        record["reentry_of"] = earlier
        count("reentries")
    if existing is not None:  # an explicit re-route: the row is the new decision, the log keeps both
        row["id"] = existing["id"]
        fields = [k for k in row if k not in ("id", "lead_id")]
        tx.conn.execute(
            "update rt_decisions set " + ", ".join(f"{k} = ?" for k in fields) + " where lead_id = ?",
            (*(row[k] for k in fields), lead_id),
        )
        changed = [x["field"] for x in lead_differences(json.loads(existing["lead"]), raw)]
        tx.log.append(tx.now, "reroute", actor, {**record, "from": existing["holder"], "changed": changed})
        count("reroutes")
        return row, True
    row["id"] = rows.insert(tx.conn, row)
    tx.log.append(tx.now, "assign", actor, record)
    count("assignments")
    if not s.lottery:
        count("lottery_off")
    count(f"by:{d.by}")
    return row, True


def enter_lead(tx: Tx, lead_id: str, team: str | None) -> None:
    """Work in the team a decided lead's row names; a lead of another team than the one asked is refused, naming its team."""
    row = rows.find(tx.conn, lead_id)
    own = row.get("team") if row is not None else None
    if team is not None and own is not None and own != team:
        raise Conflict(f"lead {lead_id} was decided in team {own}, not {team}: send this to /v1/teams/{own}/...", lead_id=lead_id, team=own)
    tx.use(own if own is not None else team)


def enter_rep(tx: Tx, rep: str, team: str | None) -> None:
    """Work in `team`, else in the one team `rep` belongs to (a rep belongs to one team: storage/teams.py)."""
    if team is None:
        owners = [t for t, p in tx.policies.items() if rep in p.compiled.rep_index]
        team = owners[0] if len(owners) == 1 else None
    tx.use(team)


def accept(tx: Tx, lead_id: str, actor: str, rep: str | None) -> dict:
    """The holder accepted the lead: its SLA timer stops. Accepting twice is the same answer."""
    row = rows.need(tx.conn, lead_id)
    if row["status"] == "accepted" and (rep is None or rep == row["holder"]):
        return row
    if row["status"] != "assigned":
        raise Conflict(f"lead {lead_id} cannot be accepted: it is {row['status']}")
    if rep is not None and rep != row["holder"]:
        raise Conflict(f"lead {lead_id} is held by {row['holder']}, not {rep}")
    tx.log.append(tx.now, "accept", actor, {"lead_id": lead_id, "rep": row["holder"]})
    return rows.update(tx.conn, lead_id, tx.now, status="accepted", deadline=None)


def close_lead(tx: Tx, lead_id: str, outcome: str, actor: str, count: Count) -> dict:
    """Close a lead as won or lost; its holder's capacity frees up."""
    if outcome not in CLOSED_STATUSES:
        raise Refused(f"outcome must be won or lost, got {outcome!r}")
    row = rows.need(tx.conn, lead_id)
    if row["status"] in CLOSED_STATUSES:
        raise Conflict(f"lead {lead_id} is already closed ({row['status']})")
    if row["holder"] is not None and row["status"] in OPEN_STATUSES:
        tx.state = close(tx.state, row["holder"])
    if outcome == "won" and tx.compiled is not None and tx.compiled.has_quota:  # attainment moves (engine/quota.py)
        tx.state = won(tx.compiled, tx.state, row["holder"], json.loads(row["lead"]), tx.now)
    tx.log.append(tx.now, "close", actor, {"lead_id": lead_id, "outcome": outcome, "rep": row["holder"]})
    count(f"closed:{outcome}")
    return rows.update(tx.conn, lead_id, tx.now, status=outcome, deadline=None)


def check_rep(tx: Tx, rep: str) -> Compiled:
    """The compiled policy, when `rep` is on its team (NotFound with a suggestion otherwise)."""
    c = tx.compiled
    if c is None:
        raise NotReady(NO_POLICY)
    if rep not in c.rep_index:
        from ..lang.diagnostics import did_you_mean

        guess = did_you_mean(rep, c.rep_names)
        raise NotFound(f"no rep named {rep!r} in version {tx.version}" + (f"; did you mean {guess}?" if guess else ""))
    return c


def override(tx: Tx, lead_id: str, rep: str, reason: str, actor: str, count: Count, approved_by: str | None = None) -> dict:
    """Move a lead to `rep` by hand, with a reason (kept in the row and the audit log, with who approved it when one did)."""
    if not reason.strip():
        raise Refused("an override needs a reason")
    c = check_rep(tx, rep)
    row = rows.need(tx.conn, lead_id)
    if row["status"] in CLOSED_STATUSES:
        raise Conflict(f"lead {lead_id} is closed ({row['status']}); it cannot be moved")
    if row["holder"] == rep:
        raise Conflict(f"lead {lead_id} is already with {rep}")
    busy = why_unavailable(c, tx.state, rep, tx.now)
    if busy is not None:
        raise Conflict(busy)
    holder = row["holder"] if row["status"] in OPEN_STATUSES else None
    tx.state = reassign(tx.state, holder, Move(rep, counted(c, tx.now)), tx.now)
    tried = json.loads(row["tried"]) + [rep]
    record = {"lead_id": lead_id, "from": row["holder"], "to": rep, "reason": reason}
    tx.log.append(tx.now, "override", actor, record | ({"approved_by": approved_by} if approved_by else {}))
    count("overrides")
    return rows.update(
        tx.conn,
        lead_id,
        tx.now,
        holder=rep,
        status="assigned",
        current_queue=None,
        overridden=1,
        override_reason=reason,
        tried=json.dumps(tried),
        deadline=deadline(c, row["tier"], tx.now, rep),
    )


def set_away_until(tx: Tx, rep: str, until: float | None, reason: str, actor: str) -> dict:
    """Mark a rep away until a time (None: back now)."""
    check_rep(tx, rep)
    if until is None:
        tx.state = set_away(tx.state, rep, False)
        tx.conn.execute("delete from rt_away where rep = ?", (rep,))
        tx.away.pop(rep, None)
        tx.log.append(tx.now, "back", actor, {"rep": rep})
        return {"rep": rep, "away": False, "until": None}
    if until <= tx.now:
        raise Refused("until must be in the future")
    tx.state = set_away(tx.state, rep, True)
    tx.conn.execute(
        "insert into rt_away (rep, until, reason, at) values (?, ?, ?, ?)"
        " on conflict (rep) do update set until = excluded.until, reason = excluded.reason, at = excluded.at",
        (rep, until, reason, tx.now),
    )
    tx.away[rep] = (until, reason)
    tx.log.append(tx.now, "away", actor, {"rep": rep, "until": until, "reason": reason})
    return {"rep": rep, "away": True, "until": until, "reason": reason}
