"""The review's answers to the questions ops ask, from the figures of both runs.

Every tier and score of either policy (a tier only the new policy has is shown, not
dropped), leads per rep old -> new with the change, sorted by the largest change,
totals per level, quota attainment and realized target shares, and whether conversion rises with the score (calibration: flat,
or not monotone, is flagged). Plain data for the templates and the JSON.
"""

from __future__ import annotations

from typing import Any

FLAT = 0.05  # conversion spread across scores below this (5 points) is flat
DIP = 0.05  # a fall of more than this between two scores breaks monotony
MIN_CLOSED = 20  # scores with fewer closed leads are too noisy to judge


def _union(lists: list[list]) -> list:
    out: list = []
    for xs in lists:
        for x in xs:
            if x not in out:
                out.append(x)
    return out


def calibration(conv: dict | None) -> dict[str, Any] | None:
    """Does conversion rise with the score? Judged on scores with enough closed leads."""
    if not conv:
        return None
    pts = [(c["score"], c["rate"]) for c in conv["score"] if c["closed"] >= MIN_CLOSED and c["rate"] is not None]
    if len(pts) < 2:
        return {
            "judged": len(pts),
            "flat": False,
            "monotone": True,
            "note": f"too few scores with {MIN_CLOSED} or more closed leads to judge",
        }
    rates = [r for _, r in pts]
    flat = max(rates) - min(rates) < FLAT
    dips = [(a[0], b[0]) for a, b in zip(pts, pts[1:]) if b[1] < a[1] - DIP]
    notes = []
    if flat:
        notes.append(
            f"flat: every score converts {100 * min(rates):.0f}-{100 * max(rates):.0f}%, so the score does not separate leads that convert"
        )
    if dips:
        notes.append("not monotone: conversion falls from score " + ", ".join(f"{a} to {b}" for a, b in dips))
    return {"judged": len(pts), "flat": flat, "monotone": not dips, "dips": dips, "note": "; ".join(notes) or "rises with the score"}


def ops_figures(report: dict) -> dict[str, Any]:
    """Tiers and scores of both runs, per-rep changes, totals per level, calibration per run."""
    runs = report["runs"]
    tiers = _union([run["tier_rank"] for run in runs])
    tier_rows = [{"tier": t, "counts": [run["tiers"].get(t) if t in run["tiers"] else None for run in runs]} for t in tiers]
    scores = sorted(_union([[c["score"] for c in (run["conversion"] or {}).get("score", [])] for run in runs]))
    score_rows = []
    for s in scores:
        cells = []
        for run in runs:
            hit = next((c for c in (run["conversion"] or {}).get("score", []) if c["score"] == s), None)
            cells.append(hit)
        score_rows.append({"score": s, "runs": cells})
    conv_tiers = _union([[c["tier"] for c in (run["conversion"] or {}).get("tier", [])] for run in runs])
    conv_tier_rows = [
        {"tier": t, "runs": [next((c for c in (run["conversion"] or {}).get("tier", []) if c["tier"] == t), None) for run in runs]}
        for t in conv_tiers
    ]
    changes = []
    for rep in report["reps"]:
        counts = [x["count"] if x else None for x in rep["runs"]]
        pool = [x["lottery_pool"] if x else None for x in rep["runs"]]
        wins = [x["lottery_wins"] if x else None for x in rep["runs"]]
        change = (counts[-1] or 0) - (counts[0] or 0) if len(counts) > 1 else 0
        changes.append(
            {"rep": rep["rep"], "level": rep["level"], "counts": counts, "change": change, "lottery_pool": pool, "lottery_wins": wins}
        )
    changes.sort(key=lambda c: (-abs(c["change"]), c["rep"]))
    for i, c in enumerate(sorted(changes, key=lambda c: c["rep"])):
        c["by_name"] = i  # the page can order the table by name, by old, by new or by change
    for key, k in (("by_old", 0), ("by_new", -1)):
        for i, c in enumerate(sorted(changes, key=lambda c: (-(c["counts"][k] or 0), c["rep"]))):
            c[key] = i
    levels = _union([[r["level"] for r in report["reps"]]])
    level_rows = []
    for lv in levels:
        members = [c for c in changes if c["level"] == lv]
        totals = [sum(c["counts"][k] or 0 for c in members) for k in range(len(runs))]
        level_rows.append({"level": lv, "reps": len(members), "counts": totals, "change": totals[-1] - totals[0]})
    quota = [
        {"rep": rep["rep"], "level": rep["level"], "runs": [x["quota"] if x else None for x in rep["runs"]]}
        for rep in report["reps"]
        if any(x and x.get("quota") for x in rep["runs"])
    ]
    return {
        "quota": quota,  # reps with a quota in either policy: attainment at the end of the history
        "shares": [{"label": run["label"], **s} for run in runs for s in run.get("shares", [])],
        "tiers": tier_rows,
        "scores": score_rows,
        "conversion_tiers": conv_tier_rows,
        "rep_changes": changes,
        "levels": level_rows,
        "calibration": [calibration(run["conversion"]) for run in runs],
        "lottery_reps": any(
            any(c["lottery_pool"]) for c in changes if c["lottery_pool"][0] is not None or c["lottery_pool"][-1] is not None
        ),
    }
