"""Replay one history through a front door and several teams: per-team and organisation figures.

The door splits the leads (`door.route.route`, the one door evaluator); each team then
replays its own leads with its own state, through the same `Replay` and transitions
as a one-team replay, and its figures are the same `build_report` data. The
organisation's figures pool every team's reps: counts per rep, CV and Gini over all
of them, the lottery's share of all leads, the leads per team and the leads the door
could not place (no rule matched, or a door field refused). The leads are read once,
in arrival order, and held per team while the teams replay (a history of a few
hundred thousand rows fits in memory; a larger one should be split by period).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..door.route import CompiledDoor, route
from ..engine.codegen import Compiled
from ..engine.schema import LeadError, LeadSchema
from .fairness import spread
from .records import HistoryRow, Reject
from .replay import Replay, ordered
from .review import build_report


def union_schema(door: CompiledDoor, teams: Sequence[Compiled]) -> LeadSchema:
    """The history's schema: every team's fields (the first team's declaration wins), then the door's."""
    fields: dict[str, Any] = {}
    for c in teams:
        for f in c.policy.fields:
            fields.setdefault(f.name, f)
    for f in door.door.fields:
        fields.setdefault(f.name, f)
    names = [n for c in teams for n in c.rep_names]
    return LeadSchema(tuple(fields.values()), names)


def run_org(
    door: CompiledDoor,
    teams: Sequence[tuple[str, str, Compiled]],
    leads_file: str,
    map_file: str | None = None,
    *,
    seed: str = "policyd",
    hold_days: float | None = None,
    lottery: bool = True,
    sort: bool = False,
    table: str | None = None,
) -> dict[str, Any]:
    """Route every lead through the door, replay each team on its own leads, and report.

    `teams` is (team name, ref, compiled policy); a lead sent to a team not given is
    counted as not placed. Raises MappingError, HistoryError or OrderError for input
    that cannot be used, as `run_report` does.
    """
    from .history import History
    from .mapping import default_mapping, load_mapping

    mapping = load_mapping(map_file) if map_file else default_mapping()
    history = History(leads_file, mapping, union_schema(door, [c for _, _, c in teams]), table=table)
    rows: dict[str, list] = {name: [] for name, _, _ in teams}
    unplaced: Counter = Counter()
    unplaced_first: list[str] = []
    read = rejected = 0
    routed_by: Counter = Counter()
    for item in ordered(history, sort=sort or history.needs_sort, clock=getattr(history, "clock", None)):
        read += 1
        if isinstance(item, Reject):
            rejected += 1
            continue
        reason = None
        try:
            r = route(door, item.lead)
        except LeadError as err:
            reason = "refused by the door: " + "; ".join(e.message for e in err.errors)
        else:
            if r.team is None:
                reason = "no send rule matched"
            elif r.team not in rows:
                reason = f"sent to team {r.team}, which was not given"
            else:
                rows[r.team].append(item)
                routed_by[(r.team, r.line)] += 1
        if reason is not None:
            unplaced[reason] += 1
            if len(unplaced_first) < 10:
                unplaced_first.append(f"{item.where}: {reason}")
    reports = []
    for name, ref, c in teams:
        replay = Replay([(name, c)], seed=seed, hold_days=hold_days, lottery=lottery)
        intake = replay.run(_rows(rows[name]), file=leads_file)
        rep = build_report(replay, intake, refs=[ref], leads_file=leads_file, mapping_file=map_file)
        reports.append({"team": name, "ref": ref, "leads": len(rows[name]), "report": rep})
    return {
        "kind": "org",
        "door": {
            "name": door.name,
            "file": door.door.file,
            "rules": [
                {"line": s.span.line, "team": s.team, "when": s.text, "leads": routed_by[(s.team, s.span.line)]} for s in door.door.sends
            ],
        },
        "input": {"leads": Path(leads_file).name, "mapping": Path(map_file).name if map_file else None, "read": read, "rejected": rejected},
        "teams": reports,
        "org": org_figures(reports, sum(unplaced.values())),
        "unplaced": {"count": sum(unplaced.values()), "reasons": dict(sorted(unplaced.items())), "first": unplaced_first},
    }


def _rows(items: list[HistoryRow]):
    """A team's leads, fresh per replay (a HistoryRow's arrival is read, never moved)."""
    yield from items


def org_figures(reports: Sequence[dict], unplaced: int) -> dict[str, Any]:
    """Organisation-wide figures pooled over every team's reps (each rep in one team)."""
    reps = []
    per_team = []
    lottery = assigned = leads = queued = 0
    for t in reports:
        run = t["report"]["runs"][0]
        for r in run["reps"]:
            reps.append({"team": t["team"], "rep": r["rep"], "level": r["level"], "count": r["count"]})
        team_lottery = run["by"].get("lottery", 0)
        counts = [float(r["count"]) for r in run["reps"]]
        per_team.append(
            {
                "team": t["team"],
                "leads": run["leads"],
                "assigned": run["assigned"],
                "queued": run["queued"],
                "reps": len(run["reps"]),
                "per_rep": (run["assigned"] / len(run["reps"])) if run["reps"] else None,
                "lottery": team_lottery,
                "lottery_share": team_lottery / run["leads"] if run["leads"] else 0.0,
                "fairness": spread(counts),
            }
        )
        lottery += team_lottery
        assigned += run["assigned"]
        leads += run["leads"]
        queued += run["queued"]
    total = leads + unplaced
    return {
        "leads": total,
        "placed": leads,
        "unplaced": unplaced,
        "assigned": assigned,
        "queued": queued,
        "lottery": lottery,
        "lottery_share": lottery / leads if leads else 0.0,
        "teams": per_team,
        "reps": reps,
        "fairness": spread([float(r["count"]) for r in reps]),
    }


def render_org(report: dict[str, Any], fmt: str = "text") -> str:
    """The organisation report as text, md, json (without the per-team charts) or one HTML page."""
    from .review import _f2, _pct, _ratio

    if fmt == "json":
        import json

        data = dict(report)
        data["teams"] = [{**t, "report": {k: v for k, v in t["report"].items() if k != "charts"}} for t in report["teams"]]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    from ..render.jinja import environment

    env = environment()
    for name, fn in (("pct", _pct), ("f2", _f2), ("ratio", _ratio), ("thousands", lambda v: f"{v:,}")):
        env.filters.setdefault(name, fn)
    return env.get_template(f"org.{fmt}.j2").render(r=report)
