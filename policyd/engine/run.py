"""Per-decision scratch shared by the decision steps and the pick strategies."""

from __future__ import annotations

from .availability import available, open_counts
from .codegen import Compiled
from .state import State


class Run:
    """Per-decision scratch: the state read into lists indexed by team order."""

    __slots__ = ("c", "L", "state", "seed", "seed_id", "lottery", "O", "Q", "avail", "trace", "lead_id")

    def __init__(self, c: Compiled, L: dict, state: State, seed: str, lottery: bool):
        self.c = c
        self.L = L
        self.state = state
        self.seed = seed
        self.seed_id = seed
        self.lottery = lottery
        self.O = O = open_counts(c, state)
        sq = state.quota
        self.Q = list(map(sq.get, c.rep_names, c.zeros)) if sq else c.zeros
        self.avail = available(c, O, state.away)
        self.trace: list = []
        lid = L.get("id")
        self.lead_id = "" if lid is None else str(lid)
