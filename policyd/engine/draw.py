"""Verifiable draws: every random choice is HMAC-SHA256 of a seed and the lead id.

Anyone holding the revealed seed recomputes the same numbers, so a lottery or a
random pick can be checked after the fact and cannot be steered before it.
"""

from __future__ import annotations

import hashlib
import hmac
import math


def draw(seed: str, lead_id: str, purpose: str) -> float:
    """A verifiable number in [0, 1): HMAC-SHA256(seed, purpose:lead_id), top 53 bits."""
    mac = hmac.new(seed.encode("utf-8"), f"{purpose}:{lead_id}".encode(), hashlib.sha256).digest()
    return (int.from_bytes(mac[:8], "big") >> 11) / 9007199254740992.0


def draw_index(u: float, weights: list[float] | None, n: int) -> int:
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
