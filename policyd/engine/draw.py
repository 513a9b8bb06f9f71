"""Verifiable draws: every random choice is HMAC-SHA256 of a seed and the lead id.

Anyone holding the revealed seed recomputes the same numbers, so a lottery or a
random pick can be checked after the fact and cannot be steered before it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple


def draw(seed: str, lead_id: str, purpose: str) -> float:
    """A verifiable number in [0, 1): HMAC-SHA256(seed, purpose:lead_id), top 53 bits."""
    h = _keyed(seed).copy()
    h.update(f"{purpose}:{lead_id}".encode())
    return (int.from_bytes(h.digest()[:8], "big") >> 11) / 9007199254740992.0


@lru_cache(maxsize=64)
def _keyed(seed: str) -> hmac.HMAC:
    """The HMAC keyed by `seed`, to copy per draw: keying costs a third of a draw, and a
    run draws with one seed (a period's) for every lead."""
    return hmac.new(seed.encode("utf-8"), digestmod=hashlib.sha256)


def draw_index(u: float, weights: Sequence[float] | None, n: int) -> int:
    """Map a draw to a position: uniform over n, or in proportion to weights."""
    if weights is None:
        return min(int(u * n), n - 1)
    total = math.fsum(weights)
    target = u * total
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w
        if target < acc:
            return i
    return n - 1


class LotteryDraw(NamedTuple):
    """Everything needed to recompute a lottery decision from the seed.

    A named tuple rather than a frozen dataclass: one is built for every lead that
    meets a lottery step, and a tuple is built several times faster.
    """

    seed_id: str
    lead_id: str
    ratio: float
    entry_draw: float
    entered: bool
    pool: tuple[str, ...] = ()
    weights: tuple[float, ...] | None = None
    winner_draw: float | None = None
    winner: str | None = None

    def to_json(self) -> dict:
        return {
            "seed_id": self.seed_id,
            "lead_id": self.lead_id,
            "ratio": self.ratio,
            "entry_draw": self.entry_draw,
            "entered": self.entered,
            "pool": list(self.pool),
            "weights": list(self.weights) if self.weights is not None else None,
            "winner_draw": self.winner_draw,
            "winner": self.winner,
        }


def lottery(
    seed: str, seed_id: str, lead_id: str, ratio: float, pool: tuple[str, ...], weights: tuple[float, ...] | None
) -> tuple[LotteryDraw, int]:
    """One lottery step, the one way it is drawn: the record and the winner's position (-1: not entered).

    The lead enters when `draw("entry") < ratio` and the pool is not empty; the winner
    is `draw_index(draw("winner"), weights, len(pool))`. Deciding and verifying a
    meeting record both call this, so they cannot draw differently.
    """
    u = draw(seed, lead_id, "entry")
    if u >= ratio or not pool:
        return LotteryDraw(seed_id, lead_id, ratio, u, False, pool), -1
    v = draw(seed, lead_id, "winner")
    i = draw_index(v, weights, len(pool))
    return LotteryDraw(seed_id, lead_id, ratio, u, True, pool, weights, v, pool[i]), i
