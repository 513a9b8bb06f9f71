"""What a decision is: the value every driver stores, explains and verifies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .draw import LotteryDraw
from .state import State
from .trace import Event

UNASSIGNED = "unassigned"
ESCALATED = "escalated"
_EMPTY_STATE = State()

__all__ = ["ESCALATED", "UNASSIGNED", "Decision", "LotteryDraw"]


@dataclass(slots=True)
class Decision:
    """Where a lead went and why.

    It keeps its inputs (`lead`, `state`, `seed`, `lottery_on`, `seed_id`), so the
    same decision can be made again with the trace on to explain it. Made from a
    ledger, it keeps the ledger's snapshot of that moment, built when `state` is read. `trace` is
    None on the fast path, else the typed events (engine/trace.py).

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
    trace: list[Event] | None  # never mutated after the decision is made
    picked_from: Sequence[int]  # the candidates of the placing step, as team indices (see `candidates`)
    pick: str | None
    updates: tuple = ()
    # the state it was made from: a State, or a ledger's Pending snapshot until first read (`state`)
    _state: Any = field(default=_EMPTY_STATE, repr=False, compare=False)
    lottery_on: bool = field(default=True, compare=False)
    seed_id: str | None = field(default=None, compare=False)
    team: tuple[str, ...] = field(default=(), repr=False, compare=False)  # rep names in team order
    at: float | None = field(default=None, compare=False)  # the time of the decision (epoch seconds)

    @property
    def state(self) -> State:
        """The State the decision was made from; never changes (a ledger's is built on first read)."""
        s = self._state
        if s.__class__ is not State:
            s = self._state = s.resolve()
        return s

    @property
    def candidates(self) -> tuple[str, ...]:
        """The reps the placing step chose among (named only when asked: most decisions never are)."""
        names = self.team
        return tuple([names[i] for i in self.picked_from])

    @property
    def lead_id(self) -> str | None:
        v = self.lead.get("id")
        return None if v is None else str(v)

    @property
    def pipeline(self) -> str | None:
        """The key of the pipeline that placed the lead (`route:T` or `exception:E`), for rotations."""
        if self.route is not None:
            return f"route:{self.route}"
        if self.exception is not None:
            return f"exception:{self.exception}"
        return None

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
