"""Leads two policies placed differently, found while the replay streams past.

A replay listener that keeps only counters and a small sample, so a review of a long
history holds no decisions; the sample's explanations are rendered at once, while
the decisions still exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


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
        pa, pb = placed(a), placed(b)
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
