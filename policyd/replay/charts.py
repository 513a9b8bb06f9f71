"""The review's charts as SVG geometry: bars per rep, tier mix, open leads over days.

Computed here, drawn by the HTML template, so the page needs no network and no
script; the geometry is plain data the tests can check.
"""

from __future__ import annotations

from typing import Any

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
# tiers, hottest first: red through amber to blues (a tier's colour is the same in both runs)
HOT_TO_COLD = ("#c0392b", "#e67e22", "#f1c40f", "#8fbcd4", "#3f7fb5", "#1f3f73", "#6b7785")


def tier_colors(tiers: list[str]) -> dict[str, str]:
    """Colours by heat: the first (hottest) tier red, the last blue, whatever the count."""
    n = len(tiers)
    if n <= 3:
        picks = {1: (0,), 2: (0, 4), 3: (0, 2, 4)}.get(n, ())
        return {t: HOT_TO_COLD[i] for t, i in zip(tiers, picks)}
    return {t: HOT_TO_COLD[round(i * 5 / (n - 1))] if i < n else HOT_TO_COLD[-1] for i, t in enumerate(tiers)}


RUN_COLORS = ("#7f8c9a", "#1f6fb4")


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
    """Every chart of a report, in page order: leads per rep, tier mix per run, load and open leads over days."""
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
    heat = tier_colors([t["tier"] for t in report["ops"]["tiers"]]) if "ops" in report else {}
    for k, run in enumerate(runs):
        tiers = list(run["tier_rank"])
        out.append(
            _bars_chart(
                f"tiers-{run['label']}",
                f"Tier mix per rep: {run['label']} ({run['policy']['name']})",
                labels,
                [
                    {
                        "name": t,
                        "color": heat.get(t, PALETTE[j % len(PALETTE)]),
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
    cal = report.get("ops", {}).get("calibration") or []
    if any(c is not None for c in cal):
        flags = "; ".join(f"{run['label']}: {c['note']}" for run, c in zip(runs, cal) if c is not None)
        out.append(
            _lines_chart(
                "calibration",
                f"Conversion (%) by score: {flags}",
                [
                    {
                        "name": f"{run['label']}: won / closed",
                        "color": colors[k],
                        "points": [(c["score"], round(100 * c["rate"], 1)) for c in run["conversion"]["score"] if c["rate"] is not None],
                    }
                    for k, run in enumerate(runs)
                    if run["conversion"]
                ],
            )
        )
    return out
