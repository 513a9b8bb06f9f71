"""What the audit log says the decisions are, checked against the decisions table.

The chain proves the records were not changed; this proves the tables the daemon
works from were not changed behind the log. Every change to a lead is an audit
record written in the same transaction as the row (daemon/operations.py, sla.py),
so folding a lead's records in order gives what its row must hold now:

    assign        rep, queue, tier, version, by as decided; holder = rep,
                  current_queue = queue, status assigned (a rep) or queued
    accept        status accepted
    close         status won or lost
    override      holder = to, status assigned, no queue
    sla_reassign  holder = to
    sla_escalate  no holder, status escalated, queue escalated

and away/back records give who is away until when (`rt_away`). A row that differs
(who holds a lead edited), a row without its assign record, or an assign record
whose row is gone, is a problem named in words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ESCALATED = "escalated"  # engine.decision.ESCALATED: the queue of leads the SLA gave up on
LEAD_KINDS = ("assign", "accept", "close", "override", "sla_reassign", "sla_escalate", "reroute")
DECIDED = ("rep", "queue", "tier", "version", "by")  # what was decided: never changed afterwards
NOW = ("holder", "current_queue", "status")  # where the lead is now
COLUMNS = ("lead_id", *DECIDED, *NOW)


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


def _show(value: Any) -> str:
    return "nobody" if value is None else json.dumps(value) if not isinstance(value, str) else value


def implied(rows: list[dict]) -> tuple[dict[str, dict], dict[str, float], list[Problem]]:
    """(lead id -> what its row must hold, rep -> away until, problems in the records themselves)."""
    leads: dict[str, dict] = {}
    away: dict[str, float] = {}
    problems: list[Problem] = []
    for r in rows:
        kind, data, seq = r["kind"], r["data"], r["seq"]
        if not isinstance(data, dict):
            continue  # an edited record: the chain check names it
        if kind == "away" and isinstance(data.get("rep"), str):
            away[data["rep"]] = data.get("until")
            continue
        if kind == "back" and isinstance(data.get("rep"), str):
            away.pop(data["rep"], None)
            continue
        if kind not in LEAD_KINDS:
            continue
        lead_id = data.get("lead_id")
        if kind == "assign":
            if lead_id in leads:
                problems.append(Problem(seq, f"record {seq} assigns lead {lead_id} a second time (record {leads[lead_id]['seqs'][0]} did)"))
                continue
            rep = data.get("rep")
            leads[lead_id] = {k: data.get(k) for k in DECIDED} | {
                "holder": rep,
                "current_queue": data.get("queue"),
                "status": "assigned" if rep else "queued",
                "seqs": [seq],
            }
            continue
        e = leads.get(lead_id)
        if e is None:
            problems.append(Problem(seq, f"record {seq} ({kind}) is about lead {lead_id}, but no record before it assigns that lead"))
            continue
        e["seqs"].append(seq)
        if kind == "accept":
            e["status"] = "accepted"
        elif kind == "close":
            e["status"] = data.get("outcome")
        elif kind == "override":
            e.update(holder=data.get("to"), status="assigned", current_queue=None)
        elif kind == "sla_reassign":
            e["holder"] = data.get("to")
        elif kind == "sla_escalate":
            e.update(holder=None, status=ESCALATED, current_queue=ESCALATED)
        elif kind == "reroute":  # decided again with new fields, on the caller's explicit request
            rep = data.get("rep")
            e.update({k: data.get(k) for k in DECIDED}, holder=rep, current_queue=data.get("queue"), status="assigned" if rep else "queued")
    return leads, away, problems


def _records(seqs: list[int]) -> str:
    return f"record {seqs[0]}" if len(seqs) == 1 else f"records {', '.join(map(str, seqs))}"


def cross_check(rows: list[dict], decisions: list[dict] | None, away_rows: list[tuple] | None) -> list[Problem]:
    """Problems between the log's records and the decisions and away tables (None: that table is missing)."""
    leads, away, problems = implied(rows)
    if decisions is None:
        if leads:
            problems.append(Problem(0, f"the decisions table is missing (dropped?), but the audit log assigns {len(leads)} leads"))
        return problems
    seen: set[str] = set()
    for row in decisions:
        lead_id = row["lead_id"]
        seen.add(lead_id)
        e = leads.get(lead_id)
        if e is None:
            problems.append(
                Problem(
                    0,
                    f"lead {lead_id} has a decision (held by {_show(row['holder'])}, {row['status']}) but no assign record in the "
                    "audit log: the row was added behind the log, or its records were deleted",
                )
            )
            continue
        wrong = [k for k in (*DECIDED, *NOW) if row.get(k) != e.get(k)]
        if wrong:
            said = ", ".join(f"{k} {_show(row.get(k))}" for k in wrong)
            meant = ", ".join(f"{k} {_show(e.get(k))}" for k in wrong)
            what = "the decision as made was edited" if set(wrong) & set(DECIDED) else "the row was edited behind the log"
            problems.append(
                Problem(
                    e["seqs"][-1],
                    f"lead {lead_id}: the decisions table says {said}, but the audit log ({_records(e['seqs'])}) says {meant}: {what}",
                )
            )
    for lead_id, e in leads.items():
        if lead_id not in seen:
            problems.append(
                Problem(e["seqs"][0], f"lead {lead_id} was assigned in record {e['seqs'][0]}, but its decision row is missing (deleted?)")
            )
    if away_rows is not None:
        have = {rep: until for rep, until in away_rows}
        for rep in sorted(set(have) | set(away)):
            if have.get(rep) != away.get(rep):
                table = f"away until {have[rep]}" if rep in have else "not away"
                log = f"away until {away[rep]}" if rep in away else "not away"
                problems.append(Problem(0, f"rep {rep}: the away table says {table}, but the audit log says {log}: the table was edited"))
    return problems


def read_tables(conn, tables: set[str]) -> tuple[list[dict] | None, list[tuple] | None]:
    """The decisions (the columns the log determines) and the away rows; None for a table that is missing."""
    decisions = None
    if "rt_decisions" in tables:
        quoted = ", ".join(f'"{c}"' for c in COLUMNS)
        decisions = [dict(zip(COLUMNS, r)) for r in conn.execute(f"select {quoted} from rt_decisions order by id")]
    away = list(conn.execute("select rep, until from rt_away")) if "rt_away" in tables else None
    return decisions, away
