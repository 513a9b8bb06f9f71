"""A replay's own mutable state: the same transitions, in place, and no copy per move.

A State is a value, so each move copies the mappings it writes: two copies per lead
in a replay, a third of its time. A `Ledger` owns its mappings and is moved in
place by the same rules (transitions.py; `state.apply`, `close`, `credit`,
`reassign`, `set_away` and `with_open` take a ledger too and return it). A decision
is still made from a State: `Decision.state` must never change, because explaining a
decision rebuilds it from that state and the daemon stores it. So a decision made
from a ledger keeps a `Pending` snapshot: the ledger's position in its journal of
undo records, built into a State only when someone reads it, by undoing the moves
made since. The journal is bounded: every `JOURNAL_LIMIT` records the ledger builds
the States of the snapshots still held (most are dropped with their decision before
anyone reads them) and starts afresh, so memory stays flat.
"""

from __future__ import annotations

from weakref import ref

from .state import State, frozen
from .transitions import Parts, assign, release, undo

_new = object.__new__


class Ledger(Parts):
    """Mutable state for a loop over many leads (a replay lane): decide from it, move it in
    place with `state.apply`/`close` (or its own `apply`/`close`), read a State off it.

    Why: the immutable transitions copy the open counts and times on every move, a third
    of a replay's time. Not a value: never shared between threads, never stored.
    `snapshot()` is the State it holds now; decisions made from it keep their own (`Pending`).
    """

    __slots__ = ("_views",)

    def __init__(self, state: State | None = None):
        s = state if state is not None else State()
        _fill(self, s)
        seats = s._seats
        self._seats = (seats[0], list(seats[1]), seats[2], list(seats[3])) if seats is not None else None
        self._views: list = []  # weak references to the snapshots handed out, oldest first

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
        j = self._journal
        if j is None:
            j = self._journal = []
        views = self._views
        if views:
            v = views[-1]()
            if v is not None and v.ledger is self and v.pos == len(j):  # nothing moved since
                return v
        v = _new(Pending)  # not `Pending(...)`: one is made per decision, and `__init__` triples its cost
        v.ledger, v.pos, v.state = self, len(j), None
        views.append(ref(v))
        return v

    def _at(self, pos: int) -> State:
        """The State this ledger held at journal position `pos`: a copy, the later moves undone."""
        work = _copy(self)
        j = self._journal or ()
        for k in range(len(j) - 1, pos - 1, -1):
            undo(work, j[k])
        return frozen(work)

    def _settle(self) -> None:
        """Build the States of the snapshots still held, in one pass back through the journal,
        then drop the journal: nothing can ask for an older state any more."""
        live = [v for r in self._views if (v := r()) is not None and v.ledger is not None]
        if live:
            work = _copy(self)
            j = self._journal or ()
            k = len(j)
            for v in reversed(live):
                while k > v.pos:
                    k -= 1
                    undo(work, j[k])
                v.state = frozen(_copy(work))
                v.ledger = None
        self._journal = None
        self._views = []


class Pending:
    """A ledger's state at one moment, built into a State on first read (`resolve`)."""

    __slots__ = ("ledger", "pos", "state", "__weakref__")

    ledger: Ledger | None  # None once built
    pos: int  # the length of the ledger's journal at that moment
    state: State | None

    def resolve(self) -> State:
        led = self.ledger
        if led is not None:
            self.state = led._at(self.pos)
            self.ledger = None
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
