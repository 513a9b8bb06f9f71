"""Runtime state as a value, and the transitions on it.

State is immutable: a decision reads one State, and `apply` returns the next. The
CLI, replay and the daemon all move state with these functions and no others, so a
replay behaves exactly as the daemon would have. The rules themselves are written
once, in transitions.py: each function here copies what its rule writes and runs it,
or, given a `Ledger` (ledger.py, a replay's own mutable state), runs it in place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .transitions import Parts, Placement, assign, count, release, set_open, turn_away, writable

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
    # `open` and `away` read in one team's order, (roster, open counts, available, each rep's
    # rank in least loaded's order, roster.rank): filled by
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
_keep = _SETTERS[-1]


def keep_seats(state: Any, seats: tuple) -> None:
    """Keep a state's team-ordered reading on it (availability.py builds it); a ledger's
    open counts and ranks are written in place, so it keeps them as lists of its own."""
    if state.__class__ is State:
        _keep(state, seats)
    else:
        state._seats = writable(seats)


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


# ---------------------------------------------------------------- the transitions
# Each copies the parts its rule writes and runs the rule (transitions.py) on the copy;
# given a Ledger instead of a State, each runs the same rule on the ledger, in place,
# and returns it.
_WRITES = {"cursor": "cursors", "wrr": "wrr", "count": "counts"}


def _parts(state: State, writes: tuple[str, ...], seats: bool) -> Parts:
    """`state`'s parts with those in `writes` copied (the rest shared: nothing writes them);
    with `seats`, its team-ordered reading too, its open counts and ranks as lists to write."""
    p = _new(Parts)
    p.open = dict(state.open) if "open" in writes else state.open
    p.last = dict(state.last) if "last" in writes else state.last
    p.quota = state.quota
    p.cursors = dict(state.cursors) if "cursors" in writes else state.cursors
    p.wrr = dict(state.wrr) if "wrr" in writes else state.wrr
    c = state.counts
    p.counts = {k: dict(v) for k, v in c.items()} if "counts" in writes else c
    p.away = state.away
    s = state._seats
    p._seats = writable(s) if (seats and s is not None) else s
    p._journal = None
    return p


def frozen(p: Parts) -> State:
    """The State of moved parts (which are then its own: nothing writes them again)."""
    s = p._seats
    if s is not None and s[1].__class__ is list:
        s = (s[0], tuple(s[1]), s[2], tuple(s[3]))
    return _state(p.open, p.away, p.last, p.quota, p.cursors, p.wrr, p.counts, s)


def apply(state: State, decision: Placement, at: float) -> State:
    """The state after a decision takes effect at time `at` (the only assign transition)."""
    if state.__class__ is not State:
        return assign(state, decision, at)  # a Ledger: moved in place
    if decision.rep is None:
        return state
    writes = ("open", "last", *[_WRITES.get(u[0], "") for u in decision.updates])
    return frozen(assign(_parts(state, writes, True), decision, at))


def credit(state: State, key: str, rep: str, amount: int) -> State:
    """`amount` more toward `rep`'s counter `key` (a won lead toward a quota: engine/quota.py
    says which key and how much); an earlier period of the same counter is dropped."""
    if amount == 0:
        return state
    if state.__class__ is not State:
        return count(state, key, rep, amount)
    return frozen(count(_parts(state, ("counts",), False), key, rep, amount))


def close(state: State, rep: str) -> State:
    """A rep's lead is closed (won, lost or reassigned away): one fewer open."""
    if state.__class__ is not State:
        return release(state, rep)
    if state.open.get(rep, 0) <= 0:
        return state
    return frozen(release(_parts(state, ("open",), True), rep))


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
    if state.__class__ is not State:
        return turn_away(state, rep, away)
    return frozen(turn_away(_parts(state, (), False), rep, away))


def with_open(state: State, counts: Mapping[str, int]) -> State:
    if state.__class__ is not State:
        return set_open(state, dict(counts))
    return frozen(set_open(_parts(state, ("open",), False), dict(counts)))
