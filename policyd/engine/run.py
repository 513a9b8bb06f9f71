"""Per-decision scratch shared by the decision steps and the pick strategies."""

from __future__ import annotations

from itertools import compress
from operator import lt

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
        names = c.rep_names
        n = len(names)
        so = state.open
        self.O = O = list(map(so.get, names, c.zeros)) if so else [0] * n
        sq = state.quota
        self.Q = list(map(sq.get, names, c.zeros)) if sq else c.zeros
        avail = list(compress(c.indices, map(lt, O, c.capacity)))
        away = state.away
        if away:
            avail = [i for i in avail if names[i] not in away]
        self.avail = avail
        self.trace: list = []
        lid = L.get("id")
        self.lead_id = "" if lid is None else str(lid)
