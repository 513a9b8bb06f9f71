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

    def __init__(self, compiled: Sequence, sample: int = 3, *, seed: str = "policyd", lottery: bool = True):
        self.compiled = compiled
        self.seed = seed
        self.lottery = lottery
        self.limit = sample
        self.count = 0
        self.flips: Counter[tuple[str, str]] = Counter()
        self.causes: Counter[tuple[str, str]] = Counter()
        self.tiers: Counter[tuple[str, str]] = Counter()  # (old tier, new tier) of every lead, moved or not
        self.direct = 0  # moved because the rules treat the lead differently (tier, exception, route or step)
        self.sample: list[dict] = []

    def __call__(self, row, decisions) -> None:
        a, b = decisions[0], decisions[1]
        self.tiers[(a.tier or "(no tier)", b.tier or "(no tier)")] += 1
        pa, pb = placed(a), placed(b)
        if pa == pb:
            return
        self.count += 1
        if self._direct(row, pa, a.state):  # from the state the old policy decided from
            self.direct += 1
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

    def _direct(self, row, old_place: str, old_state) -> bool:
        """Would the new rules move this lead even from the old run's situation? Then the move is
        direct; else it is a knock-on of earlier moves (loads and rotations that differ)."""
        from ..engine.decide import decide

        again = decide(self.compiled[1], row.lead, old_state, self.seed, lottery=self.lottery)
        return placed(again) != old_place

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
            "direct": self.direct,
            "knock_on": self.count - self.direct,
            "tier_flips": _tier_table(self.tiers),
        }


MATRIX_SIDE = 12  # reps (or queues) shown per side of the flip matrix; the rest are summed as "others"
OTHERS = "(others)"


def _matrix(flips: Counter, side: int = MATRIX_SIDE) -> dict[str, Any]:
    """The flip matrix: rows `from`, columns `to`, the busiest `side` of each and the rest as one
    "(others)" line, with row and column totals, so it fits a page whatever the team's size."""
    out_of: Counter = Counter()
    into: Counter = Counter()
    for (f, t), n in flips.items():
        out_of[f] += n
        into[t] += n

    def keep(c: Counter) -> list[str]:
        names = sorted(c, key=lambda k: (-c[k], k))
        return sorted(names[:side]) + ([OTHERS] if len(names) > side else [])

    froms, tos = keep(out_of), keep(into)
    fset, tset = set(froms), set(tos)
    grid: Counter = Counter()
    for (f, t), n in flips.items():
        grid[(f if f in fset else OTHERS, t if t in tset else OTHERS)] += n
    peak = max(grid.values(), default=1)
    rows = []
    for f in froms:
        cells = []
        for t in tos:
            n = grid.get((f, t), 0)
            cells.append({"count": n, "alpha": round(0.1 + 0.9 * n / peak, 2) if n else 0})
        rows.append({"from": f, "cells": cells, "total": sum(c["count"] for c in cells)})
    totals = [sum(r["cells"][j]["count"] for r in rows) for j in range(len(tos))]
    return {"froms": froms, "tos": tos, "rows": rows, "totals": totals, "total": sum(totals), "folded": OTHERS in froms or OTHERS in tos}


def _tier_table(tiers: Counter) -> dict[str, Any]:
    """Old tier x new tier over every lead, with totals: where a renamed or resized tier's leads went."""
    olds = sorted({o for o, _ in tiers})
    news = sorted({n for _, n in tiers})
    rows = [{"old": o, "cells": [tiers.get((o, n), 0) for n in news], "total": sum(tiers.get((o, n), 0) for n in news)} for o in olds]
    return {"news": news, "rows": rows, "totals": [sum(tiers.get((o, n), 0) for o in olds) for n in news], "total": sum(tiers.values())}
