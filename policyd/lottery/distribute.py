"""The weekly distribution meeting: a batch of leads, decided in order, written as a record.

Each lead goes through `Compiled.decide` with the period's seed and the state moves
through `state.apply`, exactly as the daemon would move it: the rules place most
leads, the route's `lottery` step draws the rest. The meeting adds nothing to the
decision; it records every draw (with its Amida ladder) so the result can be
checked by anyone once the seed is revealed.

Leads are read by the one lead-history reader (history.py): a CSV whose header
names lead fields, or any source a replay mapping (--map, TOML) describes, with an
optional arrival window (--since/--until) to pick one week out of an export.
Cells are converted to the policy's schema types and an empty cell is a missing
value. A bad row is refused with its line and field, and the rest goes on.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.codegen import Compiled
from ..engine.decide import decide
from ..engine.schema import LeadError
from ..engine.state import State, apply
from ..engine.trace import Lottery
from ..lang.diagnostics import did_you_mean
from ..replay.history import History
from ..replay.mapping import default_mapping, load_mapping
from ..replay.records import HistoryError, MappingError, Reject
from .prospect import fingerprint
from .record import RECORD_FORMAT, record_draw
from .seeds import day_text, period_end, period_of, period_start


class LeadsFileError(ValueError):
    """The leads file as a whole cannot be used (unreadable, no header, unknown columns, a bad map)."""


@dataclass
class Row:
    line: int
    lead: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)


@dataclass
class Leads:
    """The meeting's rows, and what a time window left out (counted, never silently)."""

    rows: list[Row]
    outside: int = 0  # rows that arrived outside [since, until)
    undated: int = 0  # rows without an arrival time, when a window was asked for
    dated: bool = False  # the file gives arrival times (so the period's week is the window)
    window: tuple[float | None, float | None] = (None, None)  # the arrival window the rows were kept by


def _line(where: str) -> int:
    """`line 17` / `rowid 17` (history.py's `where`) -> 17."""
    return int(where.rsplit(" ", 1)[-1])


def period_window(period: str, dated: bool, since: float | None, until: float | None, now: float) -> tuple[float | None, float | None]:
    """The arrival window a meeting of `period` draws from, or LeadsFileError when the period is not the leads'.

    The period names the seed, so a meeting that could pick its period could pick
    among several winner sets for the same leads. Leads with arrival times are
    drawn in the period they arrived in (the window is that week; a narrower
    --since/--until must stay inside it); leads without are drawn in the week the
    meeting is held. Either way the period must have begun.
    """
    start, end = period_start(period), period_end(period)
    if start > now:
        raise LeadsFileError(
            f"{period} has not begun (it begins {day_text(start)}): a meeting draws the leads of a period during or after it"
        )
    if not dated:
        if since is not None or until is not None:
            raise LeadsFileError("--since/--until need each lead's arrival time")
        if period_of(now) != period:
            raise LeadsFileError(
                f"these leads have no arrival times, so they are drawn in the week the meeting is held ({period_of(now)}), not {period};"
                " give each lead its arrival time (an `arrival` column, or the map's history.arrival) to hold a meeting for another week"
            )
        return None, None
    for name, t in (("--since", since), ("--until", until)):
        if t is not None and not start <= t <= end:
            raise LeadsFileError(
                f"{name} {day_text(t)} is outside {period} ({day_text(start)} to {day_text(end)}): a meeting draws its own week's leads"
            )
    return (since if since is not None else start), (until if until is not None else end)


def read_leads(
    path: str,
    c: Compiled,
    map_file: str | None = None,
    *,
    since: float | None = None,
    until: float | None = None,
    period: str | None = None,
    now: float | None = None,
) -> Leads:
    """The leads of a file through the lead-history reader (history.py), as the meeting's rows.

    With `map_file` (the TOML mapping `replay` uses) the rows are mapped as in a
    replay: joins, value maps, derived fields. Without it the CSV header names lead
    fields (and optionally `arrival`); any other column stops the run before a lead
    is drawn, since a misspelt column would silently leave its field empty. `since`
    and `until` (epoch seconds, until excluded) keep the rows that arrived in that
    window. A row that cannot be mapped is refused with its line and field. With
    `period` (a meeting) the window is the period's own (`period_window`, at `now`).
    """
    mapping = load_mapping(map_file) if map_file else default_mapping()
    window = since is not None or until is not None
    try:
        history = History(path, mapping, c.schema, arrival_optional=True)
        if not map_file:
            _check_header(path, history.columns or [], c)
        if period is not None and (history.has_arrival or not window):
            since, until = period_window(period, history.has_arrival, since, until, time.time() if now is None else now)
            window = since is not None or until is not None
        if window and not history.has_arrival:
            raise LeadsFileError(
                f"{path}:1: --since/--until need each lead's arrival time, and there is no column {mapping.arrival!r}"
                + (" (the map's history.arrival)" if map_file else "; add one, or give --map naming it")
            )
        leads = Leads([], dated=history.has_arrival, window=(since, until))
        for item in history:
            if isinstance(item, Reject):
                if window and item.field == mapping.arrival:
                    leads.undated += 1
                    continue
                leads.rows.append(Row(_line(item.where), None, [f"field {item.field}: {item.reason}" if item.field else item.reason]))
            elif window and not ((since is None or item.arrival >= since) and (until is None or item.arrival < until)):
                leads.outside += 1
            else:
                leads.rows.append(Row(_line(item.where), item.lead))
    except (MappingError, HistoryError) as err:
        raise LeadsFileError(str(err)) from None
    if period is not None and leads.dated and not leads.rows and leads.outside:
        raise LeadsFileError(
            f"none of the {leads.outside} leads arrived in {period} ({day_text(period_start(period))} to"
            f" {day_text(period_end(period))}): a meeting draws its own week's leads"
        )
    return leads


def refuse_drawn_elsewhere(db_path: str | None, period: str, rows: list[Row]) -> None:
    """LeadsFileError when a lead of this meeting is in a record of another period (`archive.drawn_elsewhere`)."""
    from .archive import drawn_elsewhere
    from .record import RecordError

    ids = [r.lead["id"] for r in rows if r.lead is not None and r.lead.get("id") is not None]
    try:
        elsewhere = drawn_elsewhere(db_path, period, ids)
    except RecordError as err:
        raise LeadsFileError(str(err)) from None
    if elsewhere:
        lead_id, (other, rid) = next(iter(elsewhere.items()))
        raise LeadsFileError(
            f"{len(elsewhere)} of these leads were drawn in another period already (lead {lead_id} in {other}, record"
            f" {rid[:16]}...): a lead is drawn in one period only, so that no one can choose among several periods' winners"
        )


def _check_header(path: str, header: list[str], c: Compiled) -> None:
    fields = c.fields
    unknown = [h for h in header if h not in fields and h != "arrival"]
    if unknown:
        guess = did_you_mean(unknown[0], list(fields))
        raise LeadsFileError(
            f"{path}:1: column {unknown[0]!r} is not a lead field"
            + (f"; did you mean {guess}?" if guess else f"; expected one of {', '.join(fields)}")
            + " (or give --map)"
        )


def policy_info(c: Compiled) -> dict:
    """The policy as the record names it: name, file and the SHA-256 of each source file.

    Plain file hashes (`sha256sum inbound.policy`), the main file first and then a
    `team from` file, so anyone can check which policy ran without policyd.
    """
    p = c.policy
    sources = [{"file": Path(name).name, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()} for name, text in p.sources]
    if not sources:
        sources = [{"file": Path(p.file).name, "sha256": hashlib.sha256((p.source_text(p.file) or "").encode("utf-8")).hexdigest()}]
    return {"name": p.name, "file": sources[0]["file"], "sha256": sources[0]["sha256"], "sources": sources}


def file_info(path: str, since: float | None = None, until: float | None = None) -> dict:
    """The leads file as the record names it: its name, SHA-256 and, when one was given, the arrival window."""
    data = Path(path).read_bytes()
    out: dict[str, Any] = {"name": Path(path).name, "sha256": hashlib.sha256(data).hexdigest()}
    if since is not None or until is not None:
        out["window"] = {"since": _iso(since), "until": _iso(until)}
    return out


def _iso(t: float | None) -> str | None:
    from datetime import UTC, datetime

    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def run_meeting(
    c: Compiled, rows: list[Row], state: State, seed: str, period: str, commitment: str, leads_file: dict | None = None
) -> tuple[dict, State]:
    """Decide every lead in order and build the record (without the seed). Returns (record, final state).

    The meeting's clock is the row's line number, so `last` (least-loaded
    tie-breaks) is deterministic.
    """
    leads = []
    refused = []
    seen: dict[str, str] = {}  # prospect fingerprint -> the first lead id it came under
    start = state
    for row in rows:
        if row.lead is None:
            refused.append({"line": row.line, "errors": row.errors})
            continue
        try:
            d = decide(c, row.lead, state, seed, trace=True)
        except LeadError as err:
            refused.append({"line": row.line, "errors": [e.message for e in err.errors]})
            continue
        draws = [record_draw(e.draw, period, seed) for e in d.trace if isinstance(e, Lottery)]
        prospect = fingerprint(d.lead)
        again = seen.setdefault(prospect, d.lead_id)
        leads.append(
            {
                "line": row.line,
                "lead_id": d.lead_id,
                "same_prospect_as": again if again != d.lead_id else None,
                "lead": dict(d.lead),
                "outcome": {
                    "rep": d.rep,
                    "queue": d.queue,
                    "tier": d.tier,
                    "total": d.total,
                    "by": d.by,
                    "route": d.route,
                    "exception": d.exception,
                },
                "draws": draws,
            }
        )
        state = apply(state, d, float(row.line))
    by = [x["outcome"]["by"] for x in leads]
    record = {
        "format": RECORD_FORMAT,
        "period": period,
        "commitment": commitment,
        "policy": policy_info(c),
        "leads_file": leads_file,
        "state_before": start.to_json(),
        "state_after": state.to_json(),
        "leads": leads,
        "refused": refused,
        "totals": {
            "leads": len(leads) + len(refused),
            "by_lottery": by.count("lottery"),
            "by_rules": sum(1 for b in by if b in ("route", "exception")),
            "queued": by.count("queue"),
            "refused": len(refused),
            "lottery_steps": sum(len(x["draws"]) for x in leads),
            "same_prospect": sum(1 for x in leads if x["same_prospect_as"]),
        },
    }
    return record, state


def replay_record(record: dict, c: Compiled, seed: str) -> list[tuple[str, str, bool, str]]:
    """Re-run the record's leads through the policy from its starting state: (subject, what, ok, detail) checks.

    This catches what recomputing draws alone cannot: a pool edited without moving
    the winner, or a lead that should have reached the lottery and was recorded
    as placed by the rules.
    """
    checks: list[tuple[str, str, bool, str]] = []
    info = policy_info(c)
    recorded = (record.get("policy") or {}).get("sources")
    want = [x.get("sha256") for x in recorded] if isinstance(recorded, list) and all(isinstance(x, dict) for x in recorded) else None
    have = [x["sha256"] for x in info["sources"]]
    same = want == have
    checks.append(
        (
            "record",
            "policy",
            same,
            "the same policy source"
            if same
            else "the record was made with policy files sha256 "
            + (", ".join(f"{h[:16]}..." for h in want) if want else "(not recorded)")
            + ", this policy's are "
            + ", ".join(f"{h[:16]}..." for h in have),
        )
    )
    try:
        state = State.from_json(record.get("state_before") or {})
        rows = [Row(int(x["line"]), dict(x["lead"])) for x in record.get("leads", [])]
    except (KeyError, TypeError, ValueError) as err:
        checks.append(("record", "replay", False, f"the record's leads or state cannot be replayed: {err}"))
        return checks
    again, _ = run_meeting(c, rows, state, seed, record.get("period", ""), record.get("commitment", ""))
    got = {x["line"]: x for x in again["leads"]}
    for x in record.get("leads", []):
        y = got.get(x["line"])
        lid = str(x.get("lead_id"))
        if y is None:
            checks.append((lid, "replay", False, "the policy refuses this lead now"))
            continue
        diffs = [
            f"{k} recorded {x['outcome'].get(k)}, replayed {y['outcome'][k]}"
            for k in y["outcome"]
            if x["outcome"].get(k) != y["outcome"][k]
        ]
        if x.get("draws") != y["draws"]:
            rec_pools = [d.get("pool") for d in x.get("draws", [])]
            new_pools = [d["pool"] for d in y["draws"]]
            if rec_pools != new_pools:
                diffs.append(f"lottery pool recorded {rec_pools}, replayed {new_pools}")
            else:
                diffs.append("lottery draws differ")
        if diffs:
            checks.append((lid, "replay", False, "; ".join(diffs)))
    if all(ok for _, _, ok, _ in checks):
        checks.append(("record", "replay", True, f"the policy places all {len(got)} leads the same way, with the same pools"))
    return checks


def summary_lines(record: dict) -> list[str]:
    """One line per decided lead, as the meeting reads them out: line, lead, tier, who, how."""
    out = []
    for lead in record["leads"]:
        o = lead["outcome"]
        how = {"lottery": "lottery", "exception": f"exception {o['exception']}", "route": f"route {o['route']}"}.get(o["by"], "queued")
        out.append(f"{lead['line']:>4}  {lead['lead_id']:<10} {o['tier'] or '-':<7} {o['rep'] or 'queue ' + str(o['queue']):<12} {how}")
    return out


def draw_lines(record: dict) -> list[str]:
    """One line per lottery step: the entry draw against the ratio, then the winner and the ladder's end."""
    out = []
    for lead in record["leads"]:
        for d in lead["draws"]:
            head = f"{lead['lead_id']:<10} entry {d['entry_draw']:.6f} {'<' if d['entered'] else '>='} {d['ratio']:.2f}"
            if d["entered"]:
                lad = d["ladder"]
                head += (
                    f"  winner {d['winner_draw']:.6f} -> {d['winner']} (position {lad['start'] + 1} of {len(d['pool'])}),"
                    f" {len(lad['rungs'])} rungs, marker under leg {lad['end'] + 1}"
                )
            out.append(head)
    return out
