"""The review report: what a policy change would have done to past leads.

`build_report` turns a finished Replay (one policy: a replay report; two: a review)
into plain data; `render_report` renders it as text, Markdown, JSON or one
self-contained HTML page (charts are inline SVG computed here and drawn by the
review.html.j2 template, so the page needs no network and no script).

Moved leads are found by `Moves`, a replay listener that compares the two
decisions of each lead as it streams past and keeps only counters and a small
sample (whose explanations are rendered at once, while the decisions exist).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .fairness import day_label, figures
from .replay import Intake, Replay

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
RUN_COLORS = ("#7f8c9a", "#1f6fb4")


def placed(d) -> str:
    """Where a decision put the lead: the rep's name, or `queue NAME`."""
    return d.rep if d.rep is not None else f"queue {d.queue}"


class Moves:
    """Leads the two policies placed differently: counts, a flip matrix and a sample."""

    def __init__(self, compiled: Sequence, sample: int = 3):
        self.compiled = compiled
        self.limit = sample
        self.count = 0
        self.flips: Counter[tuple[str, str]] = Counter()
        self.causes: Counter[tuple[str, str]] = Counter()
        self.sample: list[dict] = []

    def __call__(self, row, decisions) -> None:
        a, b = decisions[0], decisions[1]
        pa = a.rep if a.rep is not None else "queue " + str(a.queue)
        pb = b.rep if b.rep is not None else "queue " + str(b.queue)
        if pa == pb:
            return
        self.count += 1
        self.flips[(pa, pb)] += 1
        self.causes[(a.by, b.by)] += 1
        if len(self.sample) < self.limit:
            from ..explain.explain import render

            self.sample.append(
                {
                    "lead_id": row.lead_id,
                    "where": row.where,
                    "old": pa,
                    "new": pb,
                    "old_text": render(self.compiled[0], a, "text"),
                    "new_text": render(self.compiled[1], b, "text"),
                }
            )

    def to_data(self, replayed: int, top: int = 15) -> dict[str, Any]:
        flips = [{"from": f, "to": t, "count": n} for (f, t), n in sorted(self.flips.items(), key=lambda kv: (-kv[1], kv[0]))]
        return {
            "count": self.count,
            "share": self.count / replayed if replayed else 0.0,
            "flips": flips,
            "top_flips": flips[:top],
            "more_flips": max(len(flips) - top, 0),
            "causes": [{"old": o, "new": n, "count": c} for (o, n), c in sorted(self.causes.items(), key=lambda kv: (-kv[1], kv[0]))],
            "sample": self.sample,
            "matrix": _matrix(self.flips),
        }


def _matrix(flips: Counter) -> dict[str, Any]:
    """The flip matrix for the HTML report: rows `from`, columns `to`, only labels that moved."""
    froms = sorted({f for f, _ in flips})
    tos = sorted({t for _, t in flips})
    peak = max(flips.values(), default=1)
    rows = []
    for f in froms:
        cells = []
        for t in tos:
            n = flips.get((f, t), 0)
            cells.append({"count": n, "alpha": round(0.1 + 0.9 * n / peak, 2) if n else 0})
        rows.append({"from": f, "cells": cells, "total": sum(c["count"] for c in cells)})
    return {"froms": froms, "tos": tos, "rows": rows}


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
) -> dict[str, Any]:
    """The report as data: every figure the templates show, and the tests assert."""
    runs = []
    for lane, ref in zip(replay.lanes, refs):
        f = figures(lane.tally)
        f["label"] = lane.label
        f["policy"] = _policy_info(lane.label, ref, lane.compiled)
        f["open_at_end"] = sum(lane.state.open.values())
        f["closed"] = lane.closed
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
        "moves": moves.to_data(intake.replayed) if moves is not None else None,
    }
    report["charts"] = charts(report)
    return report


# ---------------------------------------------------------------- charts (SVG geometry)


def _ticks(peak: float, n: int = 4) -> list[float]:
    if peak <= 0:
        return [0.0]
    raw = peak / n
    mag = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    out, v = [0.0], 0.0
    while v < peak - 1e-9:
        v += step
        out.append(v)
    return out


def _num(v: float) -> str:
    return f"{v:g}" if v < 1e6 else f"{v:.3g}"


class _Frame:
    """A chart's plot area and y scale in SVG units: the part every chart shares."""

    def __init__(self, key: str, title: str, width: int, height: int, margins: tuple[int, int, int, int], peak: float):
        self.left, right, self.top, bottom = margins
        self.plot_w, self.plot_h = width - self.left - right, height - self.top - bottom
        self.ticks = _ticks(peak)
        self.scale_max = max(self.ticks[-1], 1)
        self.base = {
            "key": key,
            "title": title,
            "width": width,
            "height": height,
            "left": self.left,
            "top": self.top,
            "plot_w": self.plot_w,
            "plot_h": self.plot_h,
        }

    def height_of(self, v: float) -> float:
        return self.plot_h * v / self.scale_max

    def y(self, v: float) -> float:
        return self.top + self.plot_h - self.height_of(v)

    def finish(self, series: list[dict], **parts: Any) -> dict[str, Any]:
        return {
            **self.base,
            **parts,
            "ticks": [{"y": round(self.y(v), 1), "label": _num(v)} for v in self.ticks],
            "legend": [{"name": s["name"], "color": s["color"]} for s in series],
        }


def _bars_chart(key: str, title: str, labels: list[str], series: list[dict], stacked: bool = False) -> dict[str, Any]:
    """Grouped (or stacked) vertical bars, one group per label; geometry in SVG units."""
    if stacked:
        peak = max((sum(s["values"][i] for s in series) for i in range(len(labels))), default=0)
    else:
        peak = max((v for s in series for v in s["values"]), default=0)
    f = _Frame(key, title, 1160, 320, (48, 10, 48, 110), peak)
    group = f.plot_w / max(len(labels), 1)
    bars = []
    for i in range(len(labels)):
        base = 0.0
        for si, s in enumerate(series):
            v = s["values"][i]
            h = f.height_of(v)
            if stacked:
                x, w = f.left + i * group + group * 0.15, group * 0.7
                y = f.top + f.plot_h - h - base
                base += h
            else:
                w = group * 0.8 / len(series)
                x = f.left + i * group + group * 0.1 + si * w
                y = f.top + f.plot_h - h
            bars.append(
                {
                    "x": round(x, 1),
                    "y": round(y, 1),
                    "w": round(w, 1),
                    "h": round(h, 1),
                    "color": s["color"],
                    "title": f"{labels[i]}, {s['name']}: {_num(v)}",
                }
            )
    labels_at = [{"x": round(f.left + (i + 0.5) * group, 1), "y": f.top + f.plot_h + 8, "text": t} for i, t in enumerate(labels)]
    return f.finish(series, bars=bars, labels=labels_at)


def _lines_chart(key: str, title: str, series: list[dict]) -> dict[str, Any]:
    """Lines over days (x: day index across the union of days)."""
    days = sorted({p[0] for s in series for p in s["points"]})
    pos = {d: i for i, d in enumerate(days)}
    f = _Frame(key, title, 1160, 280, (48, 40, 48, 36), max((p[1] for s in series for p in s["points"]), default=0))
    span = max(len(days) - 1, 1)
    lines = []
    for s in series:
        pts = " ".join(f"{f.left + f.plot_w * pos[d] / span:.1f},{f.y(v):.1f}" for d, v in s["points"])
        lines.append({"name": s["name"], "color": s["color"], "points": pts, "dash": s.get("dash", "")})
    marks = []
    if days:
        step = max(len(days) // 6, 1)
        for i in range(0, len(days), step):
            marks.append({"x": round(f.left + f.plot_w * i / span, 1), "label": days[i]})
    return f.finish(series, lines=lines, xmarks=marks)


def charts(report: dict) -> list[dict]:
    runs = report["runs"]
    reps = report["reps"]
    labels = [r["rep"] for r in reps]
    colors = RUN_COLORS if len(runs) > 1 else RUN_COLORS[1:]
    out = [
        _bars_chart(
            "reps",
            "Leads per rep" + (" (old vs new)" if len(runs) > 1 else ""),
            labels,
            [
                {
                    "name": f"{run['label']} ({run['policy']['name']})",
                    "color": colors[k],
                    "values": [(r["runs"][k] or {}).get("count", 0) for r in reps],
                }
                for k, run in enumerate(runs)
            ],
        )
    ]
    for k, run in enumerate(runs):
        tiers = list(run["tiers"])
        out.append(
            _bars_chart(
                f"tiers-{run['label']}",
                f"Tier mix per rep: {run['label']} ({run['policy']['name']})",
                labels,
                [
                    {
                        "name": t,
                        "color": PALETTE[j % len(PALETTE)],
                        "values": [((r["runs"][k] or {}).get("tiers") or {}).get(t, 0) for r in reps],
                    }
                    for j, t in enumerate(tiers)
                ],
                stacked=True,
            )
        )
    out.append(
        _lines_chart(
            "load",
            "Open leads of the busiest rep (solid) and the least busy rep (dashed), after each day's last lead",
            [
                {"name": f"{run['label']}: busiest", "color": colors[k], "points": [(p["day"], p["max"]) for p in run["load"]]}
                for k, run in enumerate(runs)
            ]
            + [
                {
                    "name": f"{run['label']}: least busy",
                    "color": colors[k],
                    "dash": "5,4",
                    "points": [(p["day"], p["min"]) for p in run["load"]],
                }
                for k, run in enumerate(runs)
            ],
        )
    )
    out.append(
        _lines_chart(
            "open",
            "Open leads of all reps together, after each day's last lead",
            [
                {"name": f"{run['label']}: all reps", "color": colors[k], "points": [(p["day"], p["open"]) for p in run["load"]]}
                for k, run in enumerate(runs)
            ],
        )
    )
    return out


# ---------------------------------------------------------------- rendering


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _f2(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _ratio(v: float | None) -> str:
    return "n/a (a rep got none)" if v is None else f"{v:.2f}"


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
    env.filters.setdefault("money", lambda v: f"{v:,.0f}")
    env.filters.setdefault("thousands", lambda v: f"{v:,}")
    return env.get_template(f"review.{fmt}.j2").render(r=report, side_by_side=side_by_side)


def side_by_side(left: str, right: str, width: int = 78) -> str:
    """Two texts in columns (for the sample of moved leads in the terminal)."""
    a, b = left.rstrip("\n").split("\n"), right.rstrip("\n").split("\n")
    rows = max(len(a), len(b))
    a += [""] * (rows - len(a))
    b += [""] * (rows - len(b))
    return "\n".join(f"{x[:width]:<{width}} | {y}".rstrip() for x, y in zip(a, b))


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
    from .history import History, RejectWriter, default_mapping, load_mapping

    compiled = [c for _, _, c in policies]
    mapping = load_mapping(map_file) if map_file else default_mapping()
    history = History(leads_file, mapping, compiled[0].schema, table=table)
    writer = RejectWriter(rejects_file, history.columns) if rejects_file else None
    try:
        moves = Moves(compiled, sample=sample) if len(compiled) > 1 else None
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
        sorted_input=sort,
    )
