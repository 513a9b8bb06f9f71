"""A replay's own mutable state: the same transitions, in place, and no copy per move.

A State is a value, so each move copies the mappings it writes: two copies per lead
in a replay, a third of its time. A `Ledger` owns its mappings and is moved in
place by the same rules (transitions.py; `state.apply`, `close`, `credit`,
`reassign`, `set_away` and `with_open` take a ledger too and return it). A decision
is still made from a State: `Decision.state` must never change, because explaining a
decision rebuilds it from that state and the daemon stores it. So a decision made
from a ledger keeps a `Pending` snapshot: a position in a segment of the ledger's
journal of undo records, built into a State only when someone reads it, by undoing
the moves made since. Segments are bounded: every `JOURNAL_LIMIT` records the ledger
closes its segment with a copy of the state at its end and starts another. A
segment lives while a snapshot in it does (most are dropped with their decision
before anyone reads them), so memory stays flat, and handing out a snapshot costs
one small object: nothing keeps count of them.
"""

from __future__ import annotations

from .state import State, frozen
from .transitions import Parts, assign, release, undo, writable

_new = object.__new__


class Ledger(Parts):
    """Mutable state for a loop over many leads (a replay lane): decide from it, move it in
    place with `state.apply`/`close` (or its own `apply`/`close`), read a State off it.

    Why: the immutable transitions copy the open counts and times on every move, a third
    of a replay's time. Not a value: never shared between threads, never stored.
    `snapshot()` is the State it holds now; decisions made from it keep their own (`Pending`).
    """

    __slots__ = ("_segment", "_last")

    def __init__(self, state: State | None = None):
        s = state if state is not None else State()
        _fill(self, s)
        seats = s._seats
        self._seats = writable(seats) if seats is not None else None
        self._segment: Segment | None = None  # the journal's open segment (its records are `_journal`)
        self._last: Pending | None = None  # the snapshot handed out last, for a decision made before any move

    def __repr__(self) -> str:
        return f"Ledger({self.snapshot()!r})"

    # the two moves a replay makes per lead, bound straight to the rules (no call in between)
    apply = assign
    close = release

    def snapshot(self) -> State:
        """The State this ledger holds now, as a value of its own (later moves leave it be)."""
        return frozen(_copy(self))

    def pending(self) -> Pending:
        """A snapshot of now built only when read: what a decision made from this ledger keeps."""
        seg = self._segment
        if seg is None:
            seg = self._segment = _new(Segment)
            seg.records, seg.end, seg.ledger = [], None, self
            self._journal = seg.records
        pos = len(seg.records)
        v = self._last
        if v is not None and v.pos == pos and v.segment is seg:  # nothing moved since
            return v
        v = self._last = _new(Pending)  # not `Pending(...)`: one is made per decision, and `__init__` triples its cost
        v.segment, v.pos, v.state = seg, pos, None
        return v

    def _settle(self) -> None:
        """Close the journal's segment: it keeps a copy of the state at its end for the
        snapshots still in it to be built from, and the next snapshot opens a new one."""
        seg = self._segment
        if seg is not None:
            seg.end, seg.ledger = _copy(self), None
        self._segment = self._last = self._journal = None


class Segment:
    """A run of a ledger's undo records, and the state at their end: the ledger itself while
    the segment is open (`ledger`), a copy once closed (`end`)."""

    __slots__ = ("records", "end", "ledger", "__weakref__")

    records: list
    end: Parts | None
    ledger: Ledger | None


class Pending:
    """A ledger's state at one moment, built into a State on first read (`resolve`)."""

    __slots__ = ("segment", "pos", "state")

    segment: Segment | None  # None once built
    pos: int  # how many of the segment's records were written at that moment
    state: State | None

    def resolve(self) -> State:
        seg = self.segment
        if seg is not None:
            work = _copy(seg.ledger if seg.end is None else seg.end)
            records = seg.records
            for k in range(len(records) - 1, self.pos - 1, -1):
                undo(work, records[k])
            self.state = frozen(work)
            self.segment = None
        return self.state


def _copy(p: Parts) -> Parts:
    """Parts of p's own: every mapping copied (counters one level down, as moves write them)."""
    w = _new(Parts)
    _fill(w, p)
    w._seats = None  # read afresh from `open` and `away` by the first decision that needs it
    return w


def _fill(w: Parts, p: Parts | State) -> None:
    """Give `w` copies of p's mappings, the ones moves write (counters one level down), and no journal."""
    w.open = dict(p.open)
    w.away = p.away
    w.last = dict(p.last)
    w.quota = dict(p.quota)
    w.cursors = dict(p.cursors)
    w.wrr = dict(p.wrr)
    w.counts = {k: dict(v) for k, v in p.counts.items()}
    w._journal = None
