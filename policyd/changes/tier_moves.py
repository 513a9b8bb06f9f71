"""Tier moves: for each total score either policy can reach, its tier before and after.

Its own module because it needs no lead kinds: totals are enumerated directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.codegen import Compiled


@dataclass(frozen=True)
class TierMove:
    low: int
    high: int
    old: str
    new: str

    def __str__(self) -> str:
        totals = f"total {self.low}" if self.low == self.high else f"totals {self.low}..{self.high}"
        return f"{totals}: {self.old} -> {self.new}"


def tier_moves(old: Compiled, new: Compiled) -> list[TierMove]:
    def name(c: Compiled, total: int) -> str:
        lo, hi = c.score_range()
        if not lo <= total <= hi:
            return "out of range"
        ti = c.tier_by_total.get(total)
        return c.tiers[ti].name if ti is not None else "no tier"

    lo = min(old.score_range()[0], new.score_range()[0])
    hi = max(old.score_range()[1], new.score_range()[1])
    moves: list[TierMove] = []
    for total in range(lo, hi + 1):
        a, b = name(old, total), name(new, total)
        if a == b:
            continue
        if moves and moves[-1].high == total - 1 and (moves[-1].old, moves[-1].new) == (a, b):
            moves[-1] = TierMove(moves[-1].low, total, a, b)
        else:
            moves.append(TierMove(total, total, a, b))
    return moves
