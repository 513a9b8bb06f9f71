"""The review report: what a policy change would have done to past leads.

`build_report` turns a finished Replay (one policy: a replay report; two: a review)
into plain data; `render_report` renders it as text, Markdown, JSON or one
self-contained HTML page; `run_report` is the one call for the CLI and tests. The
charts (charts.py) and the moved leads (moves.py, a replay listener) have their own
modules.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .charts import charts
from .fairness import day_label, figures
from .levers import quota_of
from .moves import Moves
from .ops import ops_figures
from .replay import Intake, Replay
from .warnings import check_state_reps, setup_warnings


def _policy_info(label: str, ref: str, c) -> dict[str, Any]:
    p = c.policy
    return {"label": label, "ref": ref, "name": p.name, "title": (p.info.title if p.info and p.info.title else p.name)}


def build_report(
    replay: Replay,
    intake: Intake,
    *,
    refs: Sequence[str],
    leads_file: str,
    mapping_file: str | None,
    notes: Counter | None = None,
    moves: Moves | None = None,
    sorted_input: bool = False,
    history=None,
) -> dict[str, Any]:
    """The report as data: every figure the templates show, and the tests assert."""
    runs = []
    for lane, ref in zip(replay.lanes, refs):
        f = figures(lane.tally)
        f["label"] = lane.label
        f["policy"] = _policy_info(lane.label, ref, lane.compiled)
        f["open_at_end"] = sum(lane.state.open.values())
        f["closed"] = lane.closed
        for rep in f["reps"]:  # attainment at the last lead's arrival, from the state the replay moved
            rep["quota"] = quota_of(lane.compiled, lane.state, rep["rep"], replay.last_arrival)
        runs.append(f)
    names: list[str] = []
    for lane in replay.lanes:
        names += [n for n in lane.compiled.rep_names if n not in names]
    reps = []
    for n in names:
        per = [next((r for r in run["reps"] if r["rep"] == n), None) for run in runs]
        level = next(r["level"] for r in per if r is not None)
        reps.append({"rep": n, "level": level, "runs": per})
    span = None
    if replay.first_arrival is not None:
        span = {"from": day_label(replay.first_arrival), "to": day_label(replay.last_arrival)}
    report = {
        "kind": "review" if len(runs) > 1 else "replay",
        "policies": [r["policy"] for r in runs],
        "input": {
            "leads": Path(leads_file).name,
            "mapping": Path(mapping_file).name if mapping_file else None,
            "read": intake.read,
            "replayed": intake.replayed,
            "rejected": intake.rejected,
            "rejected_by_field": dict(sorted(intake.by_field.items())),
            "first_rejects": list(intake.first),
            "notes": [{"text": k, "count": v} for k, v in sorted((notes or {}).items())],
            "seed": replay.seed,
            "hold_days": replay.hold / 86400.0 if replay.hold is not None else None,
            "sorted": sorted_input,
            "span": span,
        },
        "runs": runs,
        "reps": reps,
        "unknown_reps": runs[0]["agreement"]["unknown"] if runs else {},
        "quota": {
            "at": day_label(replay.last_arrival) if replay.last_arrival is not None else None,
            "any": any(x is not None and x["quota"] is not None for rep in reps for x in rep["runs"]),
        },
        "moves": moves.to_data(intake.replayed) if moves is not None else None,
        "warnings": setup_warnings(replay, intake, history),
    }
    report["ops"] = ops_figures(report)
    report["charts"] = charts(report)
    return report


# ---------------------------------------------------------------- rendering


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _f2(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _ratio(v: float | None) -> str:
    return "n/a (a rep got none)" if v is None else f"{v:.2f}"


def _quota(q: dict | None) -> str:
    """`96,000 / 150,000 = 64.0% this month`, `3 / 6 deals = 50.0% this quarter`; `-` without a quota."""
    if q is None:
        return "-"
    unit = " deals" if q["unit"] == "deals" else ""
    return f"{q['won']:,} / {q['target']:,}{unit} = {_pct(q['attainment'])} this {q['period']}"


def _share(lv: dict) -> str:
    """`veteran 49.1% (target 50%)`, `group closers 58.0% (target 60%)`: the share a level or group got of the leads the pick counted."""
    name = f"group {lv['level']}" if lv.get("by") == "group" else lv["level"]
    return f"{name} {_pct(lv['realized'])} (target {100 * lv['target']:g}%)"


def render_report(report: dict, fmt: str = "text") -> str:
    """The report as text (terminal), md (a pull-request comment), json or html (one page)."""
    if fmt == "json":
        data = {k: v for k, v in report.items() if k != "charts"}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    from ..render.jinja import environment

    env = environment()
    env.filters.setdefault("pct", _pct)
    env.filters.setdefault("f2", _f2)
    env.filters.setdefault("ratio", _ratio)
    env.filters.setdefault("quota", _quota)
    env.filters.setdefault("share", _share)
    env.filters.setdefault("money", lambda v: f"{v:,.0f}")
    env.filters.setdefault("thousands", lambda v: f"{v:,}")
    return env.get_template(f"review.{fmt}.j2").render(r=report, side_by_side=side_by_side)


def side_by_side(left: str, right: str, width: int = 78) -> str:
    """Two texts in columns (for the sample of moved leads in the terminal); long lines wrap, never cut."""
    import textwrap

    def lines(text: str) -> list[str]:
        out: list[str] = []
        for line in text.rstrip("\n").split("\n"):
            indent = len(line) - len(line.lstrip(" "))
            out += textwrap.wrap(line, width, subsequent_indent=" " * (indent + 2), break_on_hyphens=False) or [""]
        return out

    a, b = lines(left), lines(right)
    rows = max(len(a), len(b))
    a += [""] * (rows - len(a))
    b += [""] * (rows - len(b))
    return "\n".join(f"{x:<{width}} | {y}".rstrip() for x, y in zip(a, b))


# ---------------------------------------------------------------- one call for the CLI and tests


def run_report(
    policies: Sequence[tuple[str, str, Any]],
    leads_file: str,
    map_file: str | None = None,
    *,
    seed: str = "policyd",
    hold_days: float | None = None,
    state=None,
    lottery: bool = True,
    sort: bool = False,
    sample: int = 2,
    table: str | None = None,
    rejects_file: str | None = None,
    progress=None,
) -> dict[str, Any]:
    """Replay (label, ref, compiled) policies over a history and build the report.

    `progress(total)` may return a context manager yielding an `update(n)` callable
    (a progress bar); it is asked for only when the history's size is known.
    Raises MappingError, HistoryError or OrderError for input that cannot be used.
    """
    from .history import History
    from .mapping import default_mapping, load_mapping
    from .rejects import RejectWriter

    compiled = [c for _, _, c in policies]
    check_state_reps(state, policies)
    mapping = load_mapping(map_file) if map_file else default_mapping()
    history = History(leads_file, mapping, compiled[0].schema, table=table)
    writer = RejectWriter(rejects_file, history.columns) if rejects_file else None
    try:
        moves = Moves(compiled, sample=sample, seed=seed, lottery=lottery) if len(compiled) > 1 else None
        replay = Replay(
            [(label, c) for label, _, c in policies],
            seed=seed,
            hold_days=hold_days,
            state=state,
            lottery=lottery,
            listener=moves,
            on_reject=writer.write if writer else None,
        )
        bar = progress(history.size_hint()) if progress is not None else None
        if bar is not None:
            with bar as update:
                intake = replay.run(history, sort=sort, progress=update)
        else:
            intake = replay.run(history, sort=sort)
    finally:
        if writer is not None:
            writer.close()
    return build_report(
        replay,
        intake,
        refs=[ref for _, ref, _ in policies],
        leads_file=leads_file,
        mapping_file=map_file,
        notes=history.notes,
        moves=moves,
        sorted_input=sort or history.needs_sort,
        history=history,
    )
