"""Fairness figures of a replay, gathered as the leads stream past.

A `Tally` keeps counters only (per rep, per tier, per queue, per day), never the
decisions, so memory stays flat in the number of leads. `figures` turns it into
plain data for the report templates. The inequality measures are the usual ones:

- coefficient of variation: population standard deviation / mean of the counts;
- Gini: mean absolute difference between all pairs / (2 x mean), 0 = equal;
- max/min ratio: largest count / smallest (None when some rep got none).

They are computed over every rep of the team, so a rep who got nothing counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..engine.codegen import Compiled
from ..engine.ledger import Ledger, Pending
from ..engine.state import State
from .levers import share_counts, shares_figures

DAY = 86400.0
LOAD_POINTS = 1000  # load-over-time points kept: between 1,000 and 2,000 whatever the span


def cv(xs: Sequence[float]) -> float:
    """Coefficient of variation (population standard deviation / mean); 0 when the mean is 0."""
    n = len(xs)
    if n == 0:
        return 0.0
    mean = math.fsum(xs) / n
    if mean == 0:
        return 0.0
    var = math.fsum((x - mean) ** 2 for x in xs) / n
    return math.sqrt(var) / mean


def gini(xs: Sequence[float]) -> float:
    """Gini coefficient: sum over all pairs |xi - xj| / (2 n^2 mean); 0 when all equal or all 0."""
    n = len(xs)
    total = math.fsum(xs)
    if n == 0 or total == 0:
        return 0.0
    ys = sorted(xs)
    weighted = math.fsum((i + 1) * y for i, y in enumerate(ys))
    return (2 * weighted) / (n * total) - (n + 1) / n


def max_min(xs: Sequence[float]) -> float | None:
    """Largest / smallest count; None when the smallest is 0 (someone got nothing) or there are none."""
    if not xs or min(xs) == 0:
        return None
    return max(xs) / min(xs)


def spread(xs: Sequence[float]) -> dict[str, Any]:
    return {"cv": cv(xs), "gini": gini(xs), "max_min": max_min(xs), "max": max(xs, default=0), "min": min(xs, default=0)}


def day_label(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


class Tally:
    """One policy's replay, counted: fed every decision with the state after it."""

    def __init__(self, c: Compiled):
        self.c = c
        names = c.rep_names
        self.index = dict(c.rep_index)
        self.tier_names = [t.name for t in c.tiers]
        self.tier_index = {t: i for i, t in enumerate(self.tier_names)}
        # the top tier: the one whose range reaches highest
        self.top = max(range(len(c.tiers)), key=lambda i: (c.tiers[i].high, -i)) if c.tiers else -1
        nt = len(self.tier_names)
        self.n = 0
        self.count = [0] * len(names)
        self.by_tier = [[0] * nt for _ in names]
        self.value = [0.0] * len(names)
        self.peak = [0] * len(names)
        self.tiers = [0] * nt
        self.no_tier = 0
        self.queues: Counter[str] = Counter()
        self.by: Counter[str] = Counter()
        self.exceptions: Counter[str] = Counter()
        self.lottery: dict[str, list] = {}  # route -> [draws, entered, ratio]
        self.lot_pool = [0] * len(names)  # lottery draws the rep was in the pool of
        self.lot_wins = [0] * len(names)  # ... and won
        self.with_assignee = 0
        self.agree = 0
        self.unknown: Counter[str] = Counter()
        self.conv_tier: dict[str, list[int]] = {}
        self.conv_score: dict[int, list[int]] = {}
        self.outcomes = 0
        self.shares: dict[str, Counter] = {}  # pipeline key -> level -> leads `pick shares` counted
        self.load: list[tuple[int, int, int, int]] = []  # (day, open in total, most and fewest open of one rep) at each day's end
        self._day: int | None = None
        self._state: State | Pending | None = None  # after the day's last decision so far
        self._bucket: tuple | None = None
        self._in_bucket = 0
        self._stride = 1  # days per load point

    def add(self, row, d, state: State) -> None:
        """Count one decision; `state` is the state after it was applied."""
        self.n += 1
        day = int(row.arrival // DAY)
        if day != self._day:
            if self._day is not None:
                self._sample(self._day, self._state)
            self._day = day
        self._state = state.pending() if isinstance(state, Ledger) else state  # a ledger moves on: keep this moment
        ti = self.tier_index.get(d.tier, -1) if d.tier is not None else -1
        if ti >= 0:
            self.tiers[ti] += 1
        else:
            self.no_tier += 1
        self.by[d.by] += 1
        if d.exception is not None:
            self.exceptions[d.exception] += 1
        rep = d.rep
        if rep is not None:
            r = self.index[rep]
            self.count[r] += 1
            if ti >= 0:
                self.by_tier[r][ti] += 1
            if row.value is not None:
                self.value[r] += row.value
            o = state.open.get(rep, 0)
            if o > self.peak[r]:
                self.peak[r] = o
        else:
            self.queues[d.queue] += 1
        if d.updates:
            for key, level in share_counts(d.updates):
                self.shares.setdefault(key, Counter())[level] += 1
        lot = d.lottery
        if lot is not None:
            key = d.route or d.exception or "?"
            slot = self.lottery.get(key)
            if slot is None:
                slot = self.lottery[key] = [0, 0, lot.ratio]
            slot[0] += 1
            if lot.entered:
                slot[1] += 1
                idx = self.index
                for name in lot.pool:
                    j = idx.get(name)
                    if j is not None:
                        self.lot_pool[j] += 1
                if lot.winner is not None and lot.winner in idx:
                    self.lot_wins[idx[lot.winner]] += 1
        a = row.assignee
        if a is not None:
            if a in self.index:
                self.with_assignee += 1
                if a == rep:
                    self.agree += 1
            else:
                self.unknown[a] += 1
        if row.outcome is not None:
            self.outcomes += 1
            won = 1 if row.outcome == "won" else 0
            key_t = d.tier if d.tier is not None else "(no tier)"
            ct = self.conv_tier.get(key_t)
            if ct is None:
                ct = self.conv_tier[key_t] = [0, 0]
            ct[0] += 1
            ct[1] += won
            cs = self.conv_score.get(d.total)
            if cs is None:
                cs = self.conv_score[d.total] = [0, 0]
            cs[0] += 1
            cs[1] += won

    def _sample(self, day: int, state: State | Pending | None) -> None:
        """One point per day; past LOAD_POINTS points, days are merged in pairs (memory stays bounded)."""
        if isinstance(state, Pending):
            state = state.resolve()
        o = state.open if state is not None else {}
        opens = [o.get(n, 0) for n in self.c.rep_names]
        point = (day, sum(opens), max(opens, default=0), min(opens, default=0))
        b = self._bucket
        self._bucket = point if b is None else _merge(b, point)
        self._in_bucket += 1
        if self._in_bucket >= self._stride:
            self.load.append(self._bucket)
            self._bucket, self._in_bucket = None, 0
            if len(self.load) >= 2 * LOAD_POINTS:
                ld = self.load
                self.load = [_merge(ld[i], ld[i + 1]) for i in range(0, len(ld) - 1, 2)]
                self._stride *= 2

    def finish(self) -> None:
        if self._day is not None:
            self._sample(self._day, self._state)
            self._day = None
        if self._bucket is not None:
            self.load.append(self._bucket)
            self._bucket, self._in_bucket = None, 0


def _merge(a: tuple, b: tuple) -> tuple:
    """Two load points as one: the later day and total, the larger peak, the smaller low."""
    return (b[0], b[1], max(a[2], b[2]), min(a[3], b[3]))


def _rate(closed: int, won: int) -> float | None:
    return won / closed if closed else None


def figures(t: Tally) -> dict[str, Any]:
    """A tally as plain data: what the report templates show and the tests assert."""
    c = t.c
    names = c.rep_names
    top = t.tier_names[t.top] if t.top >= 0 else None
    top_total = sum(row[t.top] for row in t.by_tier) if t.top >= 0 else 0
    reps = []
    for i, name in enumerate(names):
        tiers = {tn: t.by_tier[i][j] for j, tn in enumerate(t.tier_names)}
        reps.append(
            {
                "rep": name,
                "level": c.levels[i],
                "count": t.count[i],
                "tiers": tiers,
                "top": tiers.get(top, 0) if top else 0,
                "top_share": (tiers.get(top, 0) / top_total) if top and top_total else 0.0,
                "value": t.value[i],
                "peak_open": t.peak[i],
                "capacity": c.capacity[i],
                "peak_load": (t.peak[i] / c.capacity[i]) if c.capacity[i] else None,
                "lottery_pool": t.lot_pool[i],
                "lottery_wins": t.lot_wins[i],
            }
        )
    counts = [float(x) for x in t.count]
    tops = [float(r["top"]) for r in reps]
    lottery = [
        {"route": k, "draws": v[0], "entered": v[1], "realized": v[1] / v[0] if v[0] else 0.0, "target": v[2]}
        for k, v in sorted(t.lottery.items())
    ]
    conv = None
    if t.outcomes:
        order = {n: i for i, n in enumerate(t.tier_names)}
        conv = {
            "closed": t.outcomes,
            "tier": [
                {"tier": k, "closed": v[0], "won": v[1], "rate": _rate(*v)}
                for k, v in sorted(t.conv_tier.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
            ],
            "score": [{"score": k, "closed": v[0], "won": v[1], "rate": _rate(*v)} for k, v in sorted(t.conv_score.items())],
        }
    assigned = sum(t.count)
    return {
        "leads": t.n,
        "assigned": assigned,
        "queued": sum(t.queues.values()),
        "queues": dict(sorted(t.queues.items())),
        "by": {k: t.by[k] for k in ("route", "lottery", "exception", "queue") if t.by.get(k)},
        "exceptions": dict(sorted(t.exceptions.items())),
        "tiers": {tn: t.tiers[j] for j, tn in enumerate(t.tier_names)},
        # hottest first: by the top of each tier's score range (a colour scale reads hot to cold)
        "tier_rank": [c.tiers[j].name for j in sorted(range(len(c.tiers)), key=lambda j: (-c.tiers[j].high, j))],
        "no_tier": t.no_tier,
        "top_tier": top,
        "top_total": top_total,
        "reps": reps,
        "fairness": {"all": spread(counts), "top": spread(tops)},
        "lottery": lottery,
        "shares": shares_figures(c, t.shares),
        "agreement": {
            "with_assignee": t.with_assignee,
            "same": t.agree,
            "share": (t.agree / t.with_assignee) if t.with_assignee else None,
            "unknown": dict(sorted(t.unknown.items())),
        },
        "conversion": conv,
        "load": [{"day": day_label(d * DAY), "open": o, "max": hi, "min": lo} for d, o, hi, lo in t.load],
    }
