"""The rules that move runtime state, written once, on parts that are moved in place.

`state.apply`, `close`, `credit`, `reassign`, `set_away` and `with_open` on an
immutable State copy the parts a move writes into `Parts` and run these; a `Ledger`
(ledger.py) is `Parts` that a replay owns, moved here without a copy. So a replay
on a ledger and the daemon on States move state by the same code, not by two
copies that agree.

While a ledger has decisions that may still read the state they were made from,
each write also records the value it replaced in `_journal`, so that state can be
rebuilt later (ledger.py) instead of copied on every move.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Protocol

from .roster import rank

# undo records a ledger keeps before it settles its pending snapshots: short enough that the
# records die young (a longer journal lives into the collector's older generations and costs
# a replay more in collections than settling more often does)
JOURNAL_LIMIT = 1024


class Placement(Protocol):
    """What a transition needs of a decision: who got the lead, and the cursor moves."""

    rep: str | None
    updates: tuple


class Parts:
    """A state's parts while a transition writes them (names as on State).

    `_seats` is the team-ordered reading (see `State._seats`) with its open counts and
    ranks as lists written in place; `_journal` is None, or the undo records of a ledger.
    """

    __slots__ = ("open", "away", "last", "quota", "cursors", "wrr", "counts", "_seats", "_journal")

    open: dict[str, int]
    away: frozenset[str]
    last: dict[str, float]
    quota: Any
    cursors: dict[str, str]
    wrr: dict[str, Any]
    counts: dict[str, dict[str, int]]
    _seats: Any
    _journal: list | None

    def _settle(self) -> None:
        """A ledger bounds its journal here; plain parts keep none."""


def assign(p: Parts, decision: Placement, at: float) -> Parts:
    """A decision takes effect at `at`: one more open lead for its rep, its last assignment
    at `at`, and its rotation and counter updates. The only assign rule."""
    rep = decision.rep
    if rep is None:
        return p
    opens, last, j = p.open, p.last, p._journal
    was = opens.get(rep)
    if j is not None:
        if len(j) >= JOURNAL_LIMIT:
            p._settle()
        j = p._journal
        if j is not None:
            j.append(("assign", rep, was, last.get(rep)))  # one record for both: one per lead
    n = opens[rep] = 1 if was is None else was + 1
    last[rep] = at
    for kind, key, value in decision.updates:
        if kind == "cursor":
            cursors = p.cursors
            if j is not None:
                j.append(("cursors", key, cursors.get(key)))
            cursors[key] = value
        elif kind == "wrr":
            wrr = p.wrr
            if j is not None:
                j.append(("wrr", key, wrr.get(key)))
            wrr[key] = value
        elif kind == "count":
            count(p, key, rep if value is None else value, 1)
            j = p._journal  # the count may have closed the journal's segment
    seats = p._seats
    if seats is not None:
        p._seats = _moved(seats, p.away, rep, n, at)
    return p


def release(p: Parts, rep: str) -> Parts:
    """A rep's lead is closed (won, lost or reassigned away): one fewer open, never below 0."""
    opens = p.open
    n = opens.get(rep, 0)
    if n <= 0:
        return p
    j = p._journal
    if j is not None:
        if len(j) >= JOURNAL_LIMIT:
            p._settle()
        j = p._journal
        if j is not None:
            j.append(("open", rep, n))
    opens[rep] = n - 1
    seats = p._seats
    if seats is not None:
        p._seats = _moved(seats, p.away, rep, n - 1, None)
    return p


def count(p: Parts, key: str, name: str, amount: int = 1) -> Parts:
    """`amount` more for `name` (a rep, or a level for shares) in counter `key`, `FAMILY:PERIOD`
    (`month:2026-12`, `share:route:high:month:2026-12`); an earlier period of the family is dropped."""
    family = key.rsplit(":", 1)[0]
    counts, j = p.counts, p._journal
    if j is not None and len(j) >= JOURNAL_LIMIT:
        p._settle()
        j = p._journal
    for old in [k for k in counts if k != key and k.rsplit(":", 1)[0] == family]:
        if j is not None:
            j.append(("counts", old, counts[old]))
        del counts[old]
    inner = counts.get(key)
    if inner is None:
        if j is not None:
            j.append(("counts", key, None))
        inner = counts[key] = {}
    was = inner.get(name)
    if j is not None:
        j.append(("count", (key, name), was))
    inner[name] = amount if was is None else was + amount
    return p


def turn_away(p: Parts, rep: str, away: bool) -> Parts:
    """A rep goes away (gets no leads) or comes back."""
    if p._journal is not None:
        p._journal.append(("away", None, p.away))
    p.away = (p.away | {rep}) if away else (p.away - {rep})
    p._seats = None  # read afresh by the next decision
    return p


def set_open(p: Parts, counts: dict[str, int]) -> Parts:
    """Open counts set outright (a state read from elsewhere)."""
    opens, j = p.open, p._journal
    for rep, n in counts.items():
        if j is not None:
            j.append(("open", rep, opens.get(rep)))
        opens[rep] = n
    p._seats = None
    return p


def writable(seats: tuple) -> tuple:
    """A team-ordered reading whose open counts and ranks are lists of its own, for moves to write in place."""
    return (seats[0], list(seats[1]), seats[2], list(seats[3]))


def _moved(seats: tuple, away: frozenset[str], rep: str, n: int, last: float | None) -> tuple:
    """The team-ordered reading with `rep`'s open count now `n` (and its last assignment
    `last`, None: unchanged), its lists written in place; `rep` joins or leaves the
    available reps only when it crosses its capacity."""
    r, O, A, K = seats
    i = r.rep_index.get(rep)
    if i is None:  # not in this team: the reading never looks at it
        return seats
    cap = r.capacity[i]
    was = O[i] < cap
    O[i] = n
    K[i] = rank(cap, n, K[i][2] if last is None else last, i)
    if was != (n < cap) and rep not in away:
        k = bisect_left(A, i)  # A is in team order
        A = A[:k] + (i,) + A[k:] if n < cap else A[:k] + A[k + 1 :]
        if len(A) == len(r.indices):
            A = r.indices  # the whole team: rep filters know this tuple and answer it at once
        return r, O, A, K
    return seats


def undo(p: Parts, record: tuple) -> None:
    """Put back the value one journal record replaced (ledger.py rebuilds older states so)."""
    if record[0] == "assign":  # (part, rep, open count, last assignment)
        _, rep, was, last = record
        _put(p.open, rep, was)
        _put(p.last, rep, last)
        return
    part, key, old = record
    if part == "count":
        outer, name = key
        target = p.counts[outer]
        key = name
    elif part == "away":
        p.away = old
        return
    else:
        target = getattr(p, part)
        if part == "counts" and old is not None:
            old = dict(old)
    _put(target, key, old)


def _put(target: dict, key: Any, old: Any) -> None:
    if old is None:  # there was none
        target.pop(key, None)
    else:
        target[key] = old
