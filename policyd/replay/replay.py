"""Replay past leads through one or more policies, as the daemon would have placed them.

Leads are taken in arrival order. Before each lead, the leads due to close by its
arrival are closed (a heap of pending closes: a lead closes at its recorded close
time, or `hold` days after it arrived, or stays open); then every policy decides
the lead from its own state, and the decision takes effect through
`policyd.state.apply`. State moves only through `state.apply` and `state.close`, the
transitions the daemon uses, so a replay is what the daemon would have done. Each
lane moves a `Ledger` (the same transitions, in place, with no copy per move) and
holds the State it ends with once the run is over; each decision still keeps the
State it was made from.

The history is streamed: a source in arrival order is read one row at a time and
nothing per lead is kept (the tallies count). A source out of order stops the
replay with the row that broke the order, unless `sort=True`, which reads the
mapped rows into memory and sorts them by arrival (stable: ties keep source
order). SQLite sources are read `ORDER BY` the arrival column, so they are in
order already.

Several policies replayed together see the same leads, seed and close times; a
lead the schema of any of them refuses is rejected for all, so their figures
compare like with like.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ..engine.availability import available, open_counts
from ..engine.codegen import Compiled
from ..engine.decide import decide_positional
from ..engine.ledger import Ledger
from ..engine.quota import won
from ..engine.schema import LeadError
from ..engine.state import State, apply, close
from .fairness import DAY, Tally
from .history import History
from .records import HistoryRow, Reject
from .spill import Spill


class OrderError(ValueError):
    """The history is not in arrival order (and `sort` was not asked for)."""


@dataclass
class Lane:
    """One policy's run: its state, its pending closes and its tally."""

    label: str
    compiled: Compiled
    state: State  # a Ledger while `run` moves it
    tally: Tally
    pending: list = field(default_factory=list)  # heap of (close time, sequence, rep)
    closed: int = 0
    saturated: int = 0  # leads queued while every rep was at capacity (or away)
    saturated_first: float | None = None


@dataclass
class Intake:
    """What happened to the rows: nothing is dropped without being counted here."""

    read: int = 0
    replayed: int = 0
    rejected: int = 0
    by_field: Counter = field(default_factory=Counter)
    first: list = field(default_factory=list)  # the first rejects' messages, for the summary


Listener = Callable[[HistoryRow, Sequence], None]


def ordered(rows: Iterable[HistoryRow | Reject], *, sort: bool, clock: tuple[float, float] | None = None) -> Iterator[HistoryRow | Reject]:
    """Rows in arrival order: checked as they stream, or sorted through a spill file when `sort`
    (rejects come first, as they are read). With `clock` (start, spacing), `arrival` holds
    an order key and the k-th row in order arrives at start + k x spacing (a synthetic clock)."""
    if clock is not None:
        start, step = clock
        k = 0
        for r in ordered(rows, sort=sort):
            if isinstance(r, HistoryRow):
                r.arrival = start + k * step
                k += 1
            yield r
        return
    if sort:
        with Spill() as spill:
            for r in rows:
                if isinstance(r, Reject):
                    yield r
                else:
                    spill.add(r.arrival, r)
            yield from spill
        return
    last, last_t = None, 0.0  # the time is kept apart: a synthetic clock rewrites `arrival` downstream
    for r in rows:
        if isinstance(r, HistoryRow):
            if last is not None and r.arrival < last_t:
                raise OrderError(
                    f"{r.where} (row {r.row}) arrived before {last.where} (row {last.row}): the history is not in arrival order; "
                    "pass --sort to sort it first (on disk, in bounded memory)"
                )
            last, last_t = r, r.arrival
        yield r


class Replay:
    """Drive policies over a history. `run` returns the Intake; the lanes hold the figures."""

    def __init__(
        self,
        policies: Sequence[tuple[str, Compiled]],
        *,
        seed: str = "policyd",
        hold_days: float | None = None,
        state: State | None = None,
        lottery: bool = True,
        listener: Listener | None = None,
        on_reject: Callable[[Reject], None] | None = None,
        keep_first: int = 10,
    ):
        start = state if state is not None else State()
        self.lanes = [Lane(label, c, start, Tally(c)) for label, c in policies]
        self.seed = seed
        self.hold = hold_days * DAY if hold_days is not None else None
        self.lottery = lottery
        self.listener = listener
        self.on_reject = on_reject
        self.keep_first = keep_first
        self.intake = Intake()
        self.file = ""
        self.first_arrival: float | None = None
        self.last_arrival: float | None = None

    def _reject(self, r: Reject) -> None:
        it = self.intake
        it.rejected += 1
        for f in r.fields:
            it.by_field[f or "(row)"] += 1
        if len(it.first) < self.keep_first:
            it.first.append(r.message(self.file))
        if self.on_reject is not None:
            self.on_reject(r)

    def run(
        self, history: History | Iterable, *, sort: bool = False, file: str = "", progress: Callable[[int], None] | None = None
    ) -> Intake:
        """Replay every row. `progress(n)` is called every 1,000 rows read."""
        self.file = file or getattr(history, "name", "")
        for lane in self.lanes:
            lane.state = Ledger(lane.state)
        try:
            return self._run(history, sort, progress)
        finally:
            for lane in self.lanes:
                lane.state = lane.state.snapshot()

    def _run(self, history: History | Iterable, sort: bool, progress: Callable[[int], None] | None) -> Intake:
        lanes = self.lanes
        seed, lottery, hold, listener = self.seed, self.lottery, self.hold, self.listener
        it = self.intake
        seq = 0
        sort = sort or getattr(history, "needs_sort", False)
        for item in ordered(history, sort=sort, clock=getattr(history, "clock", None)):
            it.read += 1
            if progress is not None and it.read % 1000 == 0:
                progress(1000)
            if isinstance(item, Reject):
                self._reject(item)
                continue
            t = item.arrival
            decisions = []
            refused = None
            for lane in lanes:
                pending = lane.pending
                if pending and pending[0][0] <= t:
                    st = lane.state
                    while pending and pending[0][0] <= t:
                        entry = heapq.heappop(pending)
                        st = close(st, entry[2])
                        if len(entry) > 3:  # won, for a team with quotas: attainment moves at the close
                            st = won(lane.compiled, st, entry[2], entry[3], entry[0])
                        lane.closed += 1
                    lane.state = st
                try:
                    decisions.append(decide_positional(lane.compiled, item.lead, lane.state, seed, lottery, None, False, t))
                except LeadError as err:
                    refused = (lane, err)
                    break
            if refused is not None:
                lane, err = refused
                prefix = f"refused by {lane.label}: " if len(lanes) > 1 else ""
                first = err.errors[0]
                every = (
                    tuple((e.field, prefix + e.message.removeprefix(f"field {e.field}: ")) for e in err.errors)
                    if len(err.errors) > 1
                    else ()
                )
                reason = prefix + "; ".join(e.message for e in err.errors)
                self._reject(Reject(item.row, item.where, first.field, reason, item.source, every))
                continue
            if self.first_arrival is None:
                self.first_arrival = t
            self.last_arrival = t
            it.replayed += 1
            end = item.closed_at if item.closed_at is not None else (t + hold if hold is not None else None)
            for lane, d in zip(lanes, decisions):
                rep = d.rep
                if rep is not None:
                    lane.state = apply(lane.state, d, t)
                    if end is not None:
                        seq += 1
                        if item.outcome == "won" and lane.compiled.has_quota:
                            heapq.heappush(lane.pending, (end, seq, rep, item.lead))
                        else:
                            heapq.heappush(lane.pending, (end, seq, rep))
                elif not available(lane.compiled, open_counts(lane.compiled, lane.state), lane.state.away):
                    lane.saturated += 1
                    if lane.saturated_first is None:
                        lane.saturated_first = t
                lane.tally.add(item, d, lane.state)
            if listener is not None:
                listener(item, decisions)
        if progress is not None:
            progress(it.read % 1000)
        for lane in lanes:
            lane.tally.finish()
        return it
