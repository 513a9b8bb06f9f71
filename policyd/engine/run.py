"""Per-decision scratch shared by the decision steps."""

from __future__ import annotations

from .codegen import Compiled
from .state import State
from .trace import Event


class Run:
    """One decision's inputs, the state read into lists indexed by team order, and the trace (or None)."""

    __slots__ = ("c", "L", "state", "seed", "seed_id", "lottery", "O", "Q", "avail", "trace", "lead_id")

    def __init__(self, c: Compiled, L: dict, state: State, seed: str, seed_id: str, lottery: bool, trace: list[Event] | None):
        self.c = c
        self.L = L
        self.state = state
        self.seed = seed
        self.seed_id = seed_id
        self.lottery = lottery
        self.O, self.avail = c.seat(state.open, state.away)
        sq = state.quota
        self.Q = list(map(sq.get, c.rep_names, c.zeros)) if sq else c.zeros
        self.trace = trace
        lid = L.get("id")
        self.lead_id = "" if lid is None else str(lid)
