"""The weekly distribution meeting: a batch of leads, decided in order, written as a record.

Each lead goes through `Compiled.decide` with the period's seed and the state moves
through `state.apply`, exactly as the daemon would move it: the rules place most
leads, the route's `lottery` step draws the rest. The meeting adds nothing to the
decision; it records every draw (with its Amida ladder) so the result can be
checked by anyone once the seed is revealed.

Leads come from a plain CSV whose header names lead fields (or a --map renames
columns); cells are converted by the policy's lead schema and an empty cell is a
missing value. A bad row is refused with its line and field, and the rest goes on.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compile import Compiled
from .leads import LeadError
from .lottery import RECORD_FORMAT, record_draw
from .state import State, apply

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


class LeadsFileError(ValueError):
    """The leads file as a whole cannot be used (unreadable, no header, unknown columns)."""


@dataclass
class Row:
    line: int
    lead: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)


def _convert(kind: str, name: str, cell: str) -> tuple[Any, str | None]:
    if kind == "int":
        try:
            return int(cell), None
        except ValueError:
            return None, f"field {name}: expected a whole number, got {cell!r}"
    if kind == "number":
        try:
            v = float(cell)
        except ValueError:
            return None, f"field {name}: expected a number, got {cell!r}"
        if v != v or v in (float("inf"), float("-inf")):
            return None, f"field {name}: expected a number, got {cell!r}"
        return v, None
    if kind == "bool":
        low = cell.lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE, None
        return None, f"field {name}: expected true or false, got {cell!r}"
    return cell, None


def load_map(path: str) -> dict[str, str]:
    """A column map: a JSON object of lead field -> CSV column."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise LeadsFileError(f"cannot read map {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise LeadsFileError(f"{path}:{err.lineno}:{err.colno}: map is not valid JSON: {err.msg}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise LeadsFileError(f'{path}: a map is a JSON object of lead field to CSV column name, e.g. {{"employees": "Headcount"}}')
    return data


def read_leads(path: str, c: Compiled, mapping: Mapping[str, str] | None = None) -> list[Row]:
    """Every data row of the CSV as a lead (converted, not yet validated) or its errors."""
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise LeadsFileError(f"cannot read leads {path}: {err.strerror}") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise LeadsFileError(f"{path}: empty file; expected a header row of lead fields") from None
        except UnicodeDecodeError as err:
            raise LeadsFileError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); export the CSV as UTF-8") from None
        except csv.Error as err:
            raise LeadsFileError(f"{path}:1: cannot read the header: {err}") from None
        header = [h.strip() for h in header]
        fields = c.fields
        if mapping:
            unknown = sorted(f for f in mapping if f not in fields)
            if unknown:
                raise LeadsFileError(f"map: {unknown[0]!r} is not a lead field; expected one of {', '.join(fields)}")
            missing = sorted(col for col in mapping.values() if col not in header)
            if missing:
                raise LeadsFileError(f"{path}:1: the map names column {missing[0]!r}, which is not in the header")
            columns = {header.index(col): f for f, col in mapping.items()}
            for i, h in enumerate(header):
                if h in fields and h not in mapping and i not in columns:
                    columns[i] = h
        else:
            unknown = [h for h in header if h not in fields]
            if unknown:
                from .diagnostics import did_you_mean

                guess = did_you_mean(unknown[0], list(fields))
                raise LeadsFileError(
                    f"{path}:1: column {unknown[0]!r} is not a lead field"
                    + (f"; did you mean {guess}?" if guess else f"; expected one of {', '.join(fields)}")
                    + " (or give --map)"
                )
            columns = dict(enumerate(header))
        rows: list[Row] = []
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as err:
                raise LeadsFileError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); export the CSV as UTF-8") from None
            except csv.Error as err:
                rows.append(Row(reader.line_num, None, [f"cannot read the row: {err}"]))
                continue
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                rows.append(Row(line, None, [f"expected {len(header)} cells as in the header, got {len(cells)}"]))
                continue
            lead: dict[str, Any] = {}
            errors = []
            for i, name in columns.items():
                cell = cells[i].strip()
                if cell == "":
                    continue
                value, err = _convert(fields[name].type.kind, name, cell)
                if err:
                    errors.append(err)
                else:
                    lead[name] = value
            rows.append(Row(line, None if errors else lead, errors))
        return rows


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


def file_info(path: str) -> dict:
    data = Path(path).read_bytes()
    return {"name": Path(path).name, "sha256": hashlib.sha256(data).hexdigest()}


def run_meeting(
    c: Compiled, rows: list[Row], state: State, seed: str, period: str, commitment: str, leads_file: dict | None = None
) -> tuple[dict, State]:
    """Decide every lead in order and build the record (without the seed). Returns (record, final state).

    The meeting's clock is the row's line number, so `last` (least-loaded
    tie-breaks) is deterministic.
    """
    leads = []
    refused = []
    start = state
    for row in rows:
        if row.lead is None:
            refused.append({"line": row.line, "errors": row.errors})
            continue
        try:
            d = c.decide(row.lead, state, seed)
        except LeadError as err:
            refused.append({"line": row.line, "errors": [e.message for e in err.errors]})
            continue
        draws = [record_draw(entry[3], period, seed) for entry in d.trace if entry[0] == "lottery"]
        leads.append(
            {
                "line": row.line,
                "lead_id": d.lead_id,
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
