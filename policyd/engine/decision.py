"""What a decision is: the value every driver stores, explains and verifies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .state import State

UNASSIGNED = "unassigned"
ESCALATED = "escalated"
_EMPTY_STATE = State()


@dataclass(frozen=True, slots=True)
class LotteryDraw:
    """Everything needed to recompute a lottery decision from the seed."""

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


@dataclass(slots=True)
class Decision:
    """Where a lead went and why. `trace` is data; explain.py renders it.

    Treated as immutable (not frozen only because frozen dataclasses are slow to
    build, and one is built per lead).
    """

    lead: Mapping[str, Any]
    seed: str
    total: int
    score_lines: tuple[int, ...]
    tier: str | None
    rep: str | None
    queue: str | None
    by: str  # exception | route | lottery | queue
    exception: str | None
    route: str | None
    lottery: LotteryDraw | None
    trace: list  # never mutated after the decision is made
    candidates: tuple[str, ...]
    pick: str | None
    updates: tuple = ()
    state: State = field(default=_EMPTY_STATE, repr=False, compare=False)

    @property
    def lead_id(self) -> str | None:
        v = self.lead.get("id")
        return None if v is None else str(v)

    def summary(self) -> dict:
        return {
            "lead_id": self.lead_id,
            "rep": self.rep,
            "queue": self.queue,
            "tier": self.tier,
            "total": self.total,
            "by": self.by,
            "exception": self.exception,
            "route": self.route,
        }
