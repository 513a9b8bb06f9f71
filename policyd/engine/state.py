"""Runtime state as a value, and the transitions on it.

State is immutable: a decision reads one State, and `apply` returns the next. The
CLI, replay and the daemon all move state with these functions and no others, so a
replay behaves exactly as the daemon would have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class State:
    """Open leads, availability and rotation cursors, keyed by rep name.

    `open` counts a rep's open leads; `away` reps get nothing; `last` is when each
    rep was last assigned (for least-loaded tie-breaks); `quota` is attainment 0..1;
    `cursors` holds, per route, the rep its round robin picked last; `wrr` holds the
    smooth weighted round-robin current weights per route; `counts` holds assignments per
    cap period (`"month:2026-12"` -> rep -> n): only the current period of each unit is
    kept, so a period boundary resets the counts.
    """

    open: Mapping[str, int] = field(default_factory=dict)
    away: frozenset[str] = frozenset()
    last: Mapping[str, float] = field(default_factory=dict)
    quota: Mapping[str, float] = field(default_factory=dict)
    cursors: Mapping[str, str] = field(default_factory=dict)
    wrr: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # `open` and `away` read in one team's order, (roster, open counts, available): filled by
    # the first decision that reads this state (availability.py) and carried by each
    # transition moved by one rep, so a replay reads no name-keyed count per decision.
    # Not part of the value: never compared, printed or passed to `replace` (which drops it).
    _seats: Any = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "open": dict(sorted(self.open.items())),
            "away": sorted(self.away),
            "last": dict(sorted(self.last.items())),
            "quota": dict(sorted(self.quota.items())),
            "cursors": dict(sorted(self.cursors.items())),
            "wrr": {k: dict(sorted(v.items())) for k, v in sorted(self.wrr.items())},
            **({"counts": {k: dict(sorted(v.items())) for k, v in sorted(self.counts.items())}} if self.counts else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """Build a State from JSON; raises StateError naming the bad part."""
        if not isinstance(data, Mapping):
            raise StateError("state must be a JSON object")
        known = {"open", "away", "last", "quota", "cursors", "wrr", "counts"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StateError(f"unknown state key {unknown[0]!r}; expected one of {', '.join(sorted(known))}")
        opens = _mapping(data.get("open", {}), "open", int)
        for rep, n in opens.items():
            if n < 0:
                raise StateError(f"open.{rep}: open count must be 0 or more, got {n}")
        away = data.get("away", [])
        if not isinstance(away, list) or not all(isinstance(a, str) for a in away):
            raise StateError("away: expected a list of rep names")
        return cls(
            open=MappingProxyType(opens),
            away=frozenset(away),
            last=MappingProxyType(_mapping(data.get("last", {}), "last", float)),
            quota=MappingProxyType(_mapping(data.get("quota", {}), "quota", float)),
            cursors=MappingProxyType(_mapping(data.get("cursors", {}), "cursors", str)),
            wrr=MappingProxyType(
                {k: MappingProxyType(_mapping(v, f"wrr.{k}", float)) for k, v in _mapping(data.get("wrr", {}), "wrr", dict).items()}
            ),
            counts=MappingProxyType(
                {k: MappingProxyType(_mapping(v, f"counts.{k}", int)) for k, v in _mapping(data.get("counts", {}), "counts", dict).items()}
            ),
        )

    @classmethod
    def load(cls, path: str) -> State:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as err:
            raise StateError(f"cannot read state file {path}: {err.strerror}") from None
        except json.JSONDecodeError as err:
            raise StateError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
        return cls.from_json(data)


class Placement(Protocol):
    """What a transition needs of a decision: who got the lead, and the cursor moves."""

    rep: str | None
    updates: tuple


class StateError(ValueError):
    """A state file or value that cannot be used."""


def _mapping(value: Any, where: str, kind: type) -> dict:
    if not isinstance(value, Mapping):
        raise StateError(f"{where}: expected an object of rep name to value")
    out = {}
    for k, v in value.items():
        if kind is float and isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
        elif kind is int and isinstance(v, int) and not isinstance(v, bool):
            out[k] = v
        elif kind in (str, dict) and isinstance(v, kind):
            out[k] = v
        else:
            expected = {int: "a whole number", float: "a number", str: "a rep name", dict: "an object"}[kind]
            raise StateError(f"{where}.{k}: expected {expected}, got {json.dumps(v)}")
    return out


_new = object.__new__
_SETTERS = tuple(State.__dict__[name].__set__ for name in ("open", "away", "last", "quota", "cursors", "wrr", "counts", "_seats"))
keep_seats = _SETTERS[-1]  # availability.py stores a state's team-ordered reading here


def _state(opens, away, last, quota, cursors, wrr, counts, seats=None) -> State:
    """A State from parts already checked, written through its slots: the frozen
    `__init__` costs a call of `object.__setattr__` per field, and replay makes two
    transitions per lead. Still frozen: nothing can assign to it afterwards."""
    st = _new(State)
    s_open, s_away, s_last, s_quota, s_cursors, s_wrr, s_counts, s_seats = _SETTERS
    s_open(st, opens)
    s_away(st, away)
    s_last(st, last)
    s_quota(st, quota)
    s_cursors(st, cursors)
    s_wrr(st, wrr)
    s_counts(st, counts)
    s_seats(st, seats)
    return st


def _moved(seats: tuple | None, away: frozenset[str], rep: str, n: int) -> tuple | None:
    """A team-ordered reading (see `State._seats`) with `rep`'s open count now `n`: one
    element of the counts changes, and `rep` joins or leaves the available reps."""
    if seats is None:
        return None
    r, O, A = seats
    i = r.rep_index.get(rep)
    if i is None:  # not in this team: the reading never looks at it
        return seats
    O = list(O)  # one element changes: a copy and a store beat slicing around it
    O[i] = n
    O = tuple(O)
    now = n < r.capacity[i] and rep not in away
    if now != (i in A):
        A = tuple(sorted((*A, i))) if now else tuple([j for j in A if j != i])
    return r, O, A


def apply(state: State, decision: Placement, at: float) -> State:
    """The state after a decision takes effect at time `at` (the only assign transition)."""
    rep = decision.rep
    if rep is None:
        return state
    opens = dict(state.open)
    n = opens[rep] = opens.get(rep, 0) + 1
    last = dict(state.last)
    last[rep] = at
    cursors = state.cursors
    wrr = state.wrr
    counts = state.counts
    for kind, key, value in decision.updates:
        if kind == "cursor":
            cursors = dict(cursors)
            cursors[key] = value
        elif kind == "wrr":
            wrr = dict(wrr)
            wrr[key] = value
        elif kind == "count":
            counts = _count(counts, key, rep if value is None else value)
    return _state(opens, state.away, last, state.quota, cursors, wrr, counts, _moved(state._seats, state.away, rep, n))


def credit(state: State, key: str, rep: str, amount: int) -> State:
    """`amount` more toward `rep`'s counter `key` (a won lead toward a quota: engine/quota.py
    says which key and how much); an earlier period of the same counter is dropped."""
    if amount == 0:
        return state
    counts = _count(state.counts, key, rep, amount)
    return _state(state.open, state.away, state.last, state.quota, state.cursors, state.wrr, counts, state._seats)


def _count(counts: Mapping[str, Mapping[str, int]], key: str, name: str, amount: int = 1) -> dict:
    """One more for `name` (a rep, or a level for shares) in counter `key`, `FAMILY:PERIOD`
    (`month:2026-12`, `share:route:high:month:2026-12`); an earlier period of the family is dropped."""
    family = key.rsplit(":", 1)[0]
    out = {k: v for k, v in counts.items() if k == key or k.rsplit(":", 1)[0] != family}
    inner = dict(out.get(key, {}))
    inner[name] = inner.get(name, 0) + amount
    out[key] = inner
    return out


def close(state: State, rep: str) -> State:
    """A rep's lead is closed (won, lost or reassigned away): one fewer open."""
    n = state.open.get(rep, 0)
    if n <= 0:
        return state
    opens = dict(state.open)
    opens[rep] = n - 1
    seats = _moved(state._seats, state.away, rep, n - 1)
    return _state(opens, state.away, state.last, state.quota, state.cursors, state.wrr, state.counts, seats)


def reassign(state: State, old: str | None, new: Placement, at: float) -> State:
    """A lead moves on: `old` (if any) lets it go, `new.rep` takes it. The one move transition.

    The SLA and overrides both move leads through here, so a move counts the same
    whoever makes it: one fewer open for the old holder, one more for the new, and
    the new placement's rotation updates.
    """
    if old is not None:
        state = close(state, old)
    return apply(state, new, at)


def set_away(state: State, rep: str, away: bool) -> State:
    """A rep goes away (gets no leads) or comes back."""
    return replace(state, away=(state.away | {rep}) if away else (state.away - {rep}))


def with_open(state: State, counts: Mapping[str, int]) -> State:
    opens = dict(state.open)
    opens.update(counts)
    return replace(state, open=opens)
