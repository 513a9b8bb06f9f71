"""One writer thread, group commit: every change to the database goes through here.

An operation is a function `fn(tx)` queued with `submit`. The writer takes every
operation waiting (up to MAX_BATCH), runs them one after another inside ONE
transaction, each under its own savepoint, and commits the batch -- decision rows,
audit records and the new state -- durably (WAL, synchronous=FULL) before any caller
is answered. An operation that raises is rolled back alone (its savepoint and its
share of the in-memory state); the others commit. While one batch is being fsynced
the next gathers, so the disk's commit rate is shared by many assignments.

On a SQLite file the transaction is `BEGIN IMMEDIATE`, the file's write lock. On a
PostgreSQL database that several daemons share it is `BEGIN CONCURRENT`, which locks
nothing by itself: an operation locks its team's row when it says which team it
works in (`Tx.use`, storage/team_lock.py), so batches of different teams, in
different daemons, run side by side. An operation whose team another writer holds,
when its batch already holds a team, is not left waiting (two daemons could then
wait for each other): it is tried again first in the next batch (`LockBusy`).

A database error (a disk I/O error, a full or read-only disk, a damaged file) is
answered as a StorageFailure in words, never as a bare internal error, and reported
to the writer's `health` (storage/health.py), which the health check shows: the
request changed nothing and may be sent again.

This module knows nothing about leads: the runtime (runtime.py) says what a batch
starts from (`prepare`, `begin`) and what it leaves behind (`finish`, `committed`).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..engine.codegen import Compiled
from ..engine.state import State
from ..lottery.seeds import DrawSeed
from ..storage import audit
from ..storage.engines import LockBusy
from ..storage.errors import StorageFailure
from ..storage.health import StorageHealth
from .policy import Policy, pick_team

log = logging.getLogger(__name__)

MAX_BATCH = 512
MAX_TRIES = 20  # an operation that could not have its team's lock (LockBusy) is tried again, in the next batch, this often


@dataclass
class Op:
    """One queued change: `fn(tx)` runs in the writer thread inside the batch transaction."""

    fn: Callable[[Tx], Any]
    future: Future = field(default_factory=Future)
    tries: int = 0


@dataclass
class Tx:
    """What an operation sees: the connection in a transaction, the teams' working states, the audit log.

    An operation first says which team it decides for (`use`), which locks the team
    for the rest of the batch (`enter`, the first time); `state`, `compiled` and
    `version` are then that team's. The states are replaced, never changed in place,
    so an operation that fails is rolled back by restoring the dict.
    """

    conn: sqlite3.Connection
    log: audit.Appender
    now: float
    policies: dict[str, Policy]  # the teams served in this batch: one set for the whole batch
    states: dict[str, State]
    draw: DrawSeed | None = None  # the period's seed for this batch's decisions (or why there is none)
    away: dict[str, tuple[float, str]] = field(default_factory=dict)  # rep -> (until, reason), changed with the state
    team: str | None = None
    enter: Callable[[Tx, str], None] | None = None  # locks a team and brings its state up to date (runtime.py)
    # the teams this batch holds: team -> (its row's write counter, its state when locked); put back with a savepoint
    locks: dict[str, tuple[int, State]] = field(default_factory=dict)

    def use(self, team: str | None) -> str | None:
        """Decide for `team` (None: the one team served); NotFound or Ambiguous (naming the teams) otherwise."""
        name = pick_team(sorted(self.policies), team)
        if name is not None and name not in self.locks and self.enter is not None:
            self.enter(self, name)
        self.team = name
        return name

    @property
    def state(self) -> State:
        s = self.states.get(self.team or "")
        return s if s is not None else State()

    @state.setter
    def state(self, value: State) -> None:
        self.states = {**self.states, self.team or "": value}

    @property
    def compiled(self) -> Compiled | None:
        p = self.policies.get(self.team) if self.team is not None else None
        return p.compiled if p else None

    @property
    def version(self) -> int | None:
        p = self.policies.get(self.team) if self.team is not None else None
        return p.version if p else None


def settle(fut: Future, result: Any, err: BaseException | None) -> None:
    """Answer a caller; one who gave up (a client that went away) is skipped, the change stays committed."""
    if fut.done():
        return
    try:
        if err is None:
            fut.set_result(result)
        else:
            fut.set_exception(err)
    except Exception:  # cancelled between the check and the set
        pass


def gather(futures: list[Future]) -> Future:
    """One future for several operations' lists: all of them joined in order, or the first failure."""
    out: Future = Future()
    left = [len(futures)]
    guard = threading.Lock()

    def done(_: Future) -> None:
        with guard:
            left[0] -= 1
            if left[0]:
                return
        err = next((f.exception() for f in futures if f.exception() is not None), None)
        if err is not None:
            out.set_exception(err)
        else:
            out.set_result([x for f in futures for x in f.result()])

    for f in futures:
        f.add_done_callback(done)
    return out


class Writer:
    """The queue and the thread; subclasses give `open`, `begin`, `finish` and `committed`."""

    conn: sqlite3.Connection
    clock: Callable[[], float]  # the injected clock: a batch's `now`
    health: StorageHealth  # every write attempted is reported here
    begin_sql = "BEGIN IMMEDIATE"  # the whole database's write lock; a shared database's runtime locks teams instead

    def __init__(self) -> None:
        self._queue: queue.Queue[Op | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._again: list[Op] = []  # operations to try again first, in the next batch (LockBusy)
        self.batches = 0
        self.batch_ops = 0
        self.retries = 0

    # ------------------------------------------------------------------ hooks
    def open(self) -> None:
        """In the writer thread, before the first batch: open `self.conn`, load state."""
        raise NotImplementedError

    def prepare(self, now: float) -> None:
        """Before BEGIN: work that must not hold the write lock (loading a new version, reading seeds)."""

    def begin(self, conn: sqlite3.Connection, log_: audit.Appender, now: float) -> Tx:
        """After BEGIN: the batch's Tx (records written for the batch as a whole go here)."""
        raise NotImplementedError

    def finish(self, tx: Tx) -> None:
        """Before COMMIT: write what the batch changed beyond its rows (the state), then its audit records
        (`tx.log.finish()`, last: it takes the chain's head)."""
        tx.log.finish()

    def committed(self, tx: Tx) -> None:
        """After COMMIT: adopt the batch's state."""

    def close(self) -> None:
        """In the writer thread, after the last batch."""
        self.conn.close()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="policyd-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def pending(self) -> int:
        """Operations waiting for this thread (requests answer 429 beyond the daemon's limit, never queue without end)."""
        return self._queue.qsize()

    def submit(self, fn: Callable[[Tx], Any]) -> Future:
        op = Op(fn)
        self._queue.put(op)
        return op.future

    def call(self, fn: Callable[[Tx], Any]) -> Any:
        """Submit and wait (for the CLI and tests)."""
        return self.submit(fn).result()

    def _run(self) -> None:
        try:
            self.open()
        except BaseException as err:  # reported to start()
            self._start_error = err
            self._ready.set()
            return
        self._ready.set()
        while True:
            ops, self._again = self._again, []
            if not ops:
                op = self._queue.get()
                if op is None:
                    break
                ops = [op]
            stop = False
            while len(ops) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                ops.append(nxt)
            self._batch(ops)
            if stop:
                break
        while self._again:  # asked for before the stop: each is answered (tried again, or refused at MAX_TRIES)
            ops, self._again = self._again, []
            self._batch(ops)
        self.close()

    def _retry(self, op: Op) -> None:
        """Try `op` again, first in the next batch, whose first team lock waits (storage/team_lock.py)."""
        op.tries += 1
        self.retries += 1
        self._again.append(op)

    def _failure(self, err: BaseException) -> BaseException:
        """What a caller hears: a database error as a StorageFailure in words (and the health told), others as they are.
        A team's lock still busy after MAX_TRIES is contention, not a failing database: the health is not told."""
        if isinstance(err, LockBusy):
            return StorageFailure(
                f"the team's lock was busy through {MAX_TRIES} tries (other daemons hold it); nothing was recorded, send it again"
            )
        if isinstance(err, sqlite3.Error):
            return self.health.failed(err)
        return err

    def _batch(self, ops: list[Op]) -> None:
        conn = self.conn
        results: list[tuple[Op, Any, BaseException | None]] = []
        changes = conn.total_changes
        try:
            now = self.clock()
            self.prepare(now)
            conn.execute(self.begin_sql)
            log_ = audit.Appender(conn)
            tx = self.begin(conn, log_, now)
            for op in ops:
                saved = (tx.states, tx.team, dict(tx.away), dict(tx.locks), log_.mark())
                conn.execute("SAVEPOINT op")
                try:
                    r = op.fn(tx)
                    conn.execute("RELEASE op")
                    results.append((op, r, None))
                except BaseException as err:
                    conn.execute("ROLLBACK TO op")  # and the team locks it took: PostgreSQL releases them with it
                    conn.execute("RELEASE op")
                    tx.states, tx.team, tx.away, tx.locks, mark = saved
                    log_.restore(mark)
                    if isinstance(err, LockBusy) and op.tries < MAX_TRIES:
                        self._retry(op)
                    else:
                        results.append((op, None, self._failure(err)))
            self.finish(tx)
            conn.execute("COMMIT")
        except BaseException as err:
            if isinstance(err, LockBusy):  # the whole batch met another writer: nothing was written, all of it again
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._again = []  # this batch's own retries, which are among `ops`
                for op in ops:
                    if op.tries < MAX_TRIES:
                        self._retry(op)
                    else:
                        settle(op.future, None, self._failure(err))
                return
            failure = self._failure(err)
            if failure is err:  # a database error is logged by the health, once, in words
                log.exception("batch of %d failed; rolled back", len(ops))
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for op in ops:
                settle(op.future, None, failure)
            return
        if conn.total_changes != changes and not any(isinstance(e, StorageFailure) for _, _, e in results):
            self.health.ok()
        self.committed(tx)
        self.batches += 1
        self.batch_ops += len(ops)
        for op, r, err in results:
            settle(op.future, r, err)
