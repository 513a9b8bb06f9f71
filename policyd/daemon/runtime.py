"""The daemon's runtime: state rebuilt from the database, moved by one writer thread.

Every change (assign, accept, close, override, away, SLA step) is an operation
(operations.py, sla.py) queued to the single writer (writer.py), which commits
each batch durably before answering. So a rep is never pushed over capacity, no
decision is lost or duplicated, and an answered request is on disk.

Lottery draws use the committed seed of the decision's period (an ISO week,
`seeds.period_of(now)`), named in the decision by its period, so a daemon decision
can be verified with `policyd lottery verify` once the period is revealed. With no
committed (or an already revealed) seed the lead is still decided, lottery off,
and the decision keeps a note saying why.

Every active policy is a team of its own (daemon/policy.py): its own state, SLA
timers, fairness figures and audit records, in one writer and one file. Each
decision row names its team; an operation says which team it is for (`Tx.use`),
or is answered with the team names when several are served and it names none.

On start each team's state is rebuilt from the database: open counts from the
decisions of that team that hold a rep, away reps from `rt_away`, rotation cursors
and last-assignment times from `rt_team_state` (written in the same transaction as
each batch). A batch locks each team it works in (`_enter`) and reads the team again
when the row's write counter says another daemon or command changed it since.

A runtime holds its database's lease (storage/lease.py) from `start` to `stop`: a
second runtime on the same file, in this process or another, refuses to start
(LeaseHeld, naming the first), since two would each count open leads on their own
and overbook the reps. `health` (storage/health.py) says whether writes reach the disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..engine.codegen import Compiled
from ..engine.decide import decide
from ..engine.decision import Decision
from ..engine.state import State
from ..lottery.seeds import DrawSeed, draw_seed, period_of, seed_for_period
from ..storage import audit, lease, team_lock
from ..storage.db import connect, explain, is_postgres
from ..storage.errors import StoreError
from ..storage.health import StorageHealth
from ..storage.store import Store
from . import approvals, operations, outbox, rows, sla
from .operations import Seed
from .policy import Policy, Versions, pick_team
from .schedule import Scheduler
from .writer import Tx, Writer, gather

__all__ = ["Runtime", "connect", "seed_label"]

log = logging.getLogger(__name__)


def seed_label(seed: str) -> str:
    """How a decision names its lottery seed: the seed's SHA-256 (a commitment), never the seed,
    which would let anyone who reads an explanation compute future draws."""
    return "sha256:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()


class Runtime(Writer):
    """Runtime state and the writer. `start()` opens it; `stop()` drains and closes."""

    def __init__(
        self,
        path: str,
        clock: Callable[[], float] = time.time,
        seed_fn: Callable[[float], str] | None = None,
        loader: Callable[[int], Compiled] | None = None,
    ):
        super().__init__()
        self.path = path
        self.clock = clock
        self.seed_fn = seed_fn
        self.versions = Versions(path, loader)
        self.states: dict[str, State] = {}  # by team, rebuilt from the file as each team is first served
        self._stored: dict[str, dict] = {}  # rt_team_state as read on start
        self.away_until: dict[str, tuple[float, str]] = {}
        self.seed = ""  # the database's own random seed: `pick random` when no period seed is committed
        self._seeds: dict[str, DrawSeed] = {}  # by period; cleared when another connection writes
        self._period_seeds: dict[str, str] = {}  # seeds stored decisions drew with (explanations), by period
        self._warned: set[str] = set()  # notes logged already: once each, however often the cache is cleared
        self.counters: dict[str, float] = {}
        self.health = StorageHealth(path)
        self.lease: lease.Lease | None = None
        self.outbox: outbox.OutboxConfig | None = None  # webhook events, written with each batch (outbox.py)
        self.on_commit: Callable[[], None] | None = None  # wakes the outbox's delivery thread
        self.shared = False  # PostgreSQL: other daemons write too, and teams are locked one by one (see `_enter`)
        self._writes: dict[str, int] = {}  # each team's write counter (storage/team_lock.py) its state is as of

    @property
    def policy(self) -> Policy | None:
        """The one team's policy while exactly one is served (else None: name a team, `team`)."""
        return self.versions.policy

    @property
    def state(self) -> State:
        """The one team's state while exactly one is served."""
        pol = self.policy
        return self.states.get(pol.name, State()) if pol else State()

    def teams(self) -> list[str]:
        """The teams (policy names) served now, sorted."""
        return self.versions.teams()

    def team(self, name: str | None) -> tuple[str | None, Policy | None, State]:
        """(team, policy, state) of the team named, or of the one team served (Ambiguous naming them when several)."""
        t = pick_team(self.teams(), name)
        if t is None:
            return None, None, State()
        return t, self.versions.policies.get(t), self.states.get(t, State())

    def team_of_rep(self, rep: str) -> str | None:
        """The one team served whose version in force has `rep` (a rep belongs to one team), else None."""
        owners = [t for t, p in self.versions.policies.items() if rep in p.compiled.rep_index]
        return owners[0] if len(owners) == 1 else None

    def compiled_for(self, version: int) -> Compiled:
        """The compiled policy of a stored version (cached; versions never change)."""
        return self.versions.compiled_for(version)

    def count(self, name: str, n: float = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    # ------------------------------------------------------------------ the writer's hooks
    def open(self) -> None:
        self.lease = lease.take(self.path)  # LeaseHeld, naming the other daemon, when one serves this file
        try:
            self.conn = connect(self.path)
            self.shared = is_postgres(self.conn)
            self.begin_sql = "BEGIN CONCURRENT" if self.shared else "BEGIN IMMEDIATE"
            self._store = Store(self.path)
            self._load()
            self.scheduler = Scheduler(self._store, self.versions)
            self.scheduler.step(self.clock())  # schedules that fell due while no daemon ran
            self.versions.check(self._store, self.versions.changed(self.conn))
            self._new_teams()
            self.draw_seed(self.clock())
        except BaseException as err:
            self.lease.release()
            if isinstance(err, sqlite3.Error):
                raise StoreError(explain(self.path, err)) from None
            raise
        self.lease.start_heartbeat(self.health.failed, self.health.ok)

    def close(self) -> None:
        try:
            self.conn.close()
            self._store.close()
        finally:
            if self.lease is not None:
                self.lease.release()

    def _load(self) -> None:
        conn = self.conn
        meta = dict(conn.execute("select key, value from rt_meta").fetchall())
        if "seed" not in meta:
            meta["seed"] = secrets.token_hex(16)
            conn.execute("insert into rt_meta (key, value) values ('seed', ?)", (meta["seed"],))
        self.seed = meta["seed"]
        stuck = rows.unreachable(conn)
        if stuck:
            log.warning(
                "%d open lead(s) have ids no URL can name (%s) and hold their reps' places; stop the daemon and run"
                " `policyd lead list --unreachable`, then `policyd lead close ID --outcome won|lost`",
                len(stuck),
                ", ".join(repr(r["lead_id"]) for r in stuck[:5]),
            )
        self._read_state(conn)

    def _read_state(self, conn: sqlite3.Connection) -> None:
        # the counters first: a write after them moves one, so the first batch reads that team again (`_enter`)
        self._writes = dict(conn.execute("select team, writes from rt_team_lock").fetchall())
        self._stored = {t: json.loads(st) for t, st in conn.execute("select team, state from rt_team_state")}
        self.away_until = _away(conn)

    def _new_teams(self) -> None:
        """A state for each team served for the first time: its stored cursors, its open counts from its rows."""
        for team in self.versions.policies:
            if team not in self.states:
                self.states[team] = self._team_state(self.conn, team, self._stored.get(team, {}), self.away_until)

    @staticmethod
    def _team_state(conn: sqlite3.Connection, team: str, stored: dict, away: dict[str, tuple[float, str]]) -> State:
        data = dict(stored)
        data["open"] = dict.fromkeys(data.get("open", {}), 0) | rows.open_counts(conn, team)
        data["away"] = sorted(away)
        return State.from_json(data)

    def _enter(self, tx: Tx, team: str) -> None:
        """Lock `team`'s row for this batch and, when another daemon (or command) changed the team since this
        runtime's state was read, read the team again: its state, its open counts, its reps' away times."""
        conn = tx.conn
        writes = team_lock.lock(conn, team, wait=not tx.locks)
        st = tx.states.get(team)
        if st is None or self._writes.get(team) != writes:
            row = conn.execute("select state from rt_team_state where team = ?", (team,)).fetchone()
            fresh = _away(conn)
            pol = tx.policies.get(team)
            mine = set(pol.compiled.rep_index) if pol is not None else set()
            away = {r: v for r, v in tx.away.items() if r not in mine and r not in fresh} | fresh
            tx.away = away
            st = self._team_state(conn, team, json.loads(row[0]) if row else {}, away)
            tx.states = {**tx.states, team: st}
        tx.locks[team] = (writes, st)

    def prepare(self, now: float) -> None:
        self.scheduler.step(now)  # a schedule due by this batch's `now` is active before it decides (daemon/schedule.py)
        changed = self.versions.changed(self.conn)
        if changed:
            self._seeds.clear()  # a seed may have been committed or revealed (`policyd seed`)
        self.versions.check(self._store, changed)  # before BEGIN: loading a version must not hold the write lock
        self._new_teams()
        self._draw = self.draw_seed(now)

    def begin(self, conn: sqlite3.Connection, log_: audit.Appender, now: float) -> Tx:
        pending = self.versions.pending
        if self.shared and pending:
            pending = self._unlogged(conn, pending)
        for activation in pending:
            log_.append(now, "activate", activation["activated_by"] or "", activation)
        tx = Tx(conn, log_, now, dict(self.versions.policies), dict(self.states), self._draw, dict(self.away_until))
        tx.enter = self._enter
        return tx

    def finish(self, tx: Tx) -> None:
        """The state of each team the batch changed, with its row's counter moved on; then the audit records
        (the chain's head is taken last: storage/audit.py) and the webhook events they make."""
        for team, (writes, base) in list(tx.locks.items()):
            st = tx.states.get(team)
            if st is not base:
                tx.conn.execute(
                    "insert into rt_team_state (team, state, at) values (?, ?, ?)"
                    " on conflict (team) do update set state = excluded.state, at = excluded.at",
                    (team, json.dumps(st.to_json(), separators=(",", ":")), tx.now),
                )
                tx.locks[team] = (team_lock.bump(tx.conn, team, writes), st)
        written = tx.log.finish()
        if self.outbox is not None and written is not None:
            outbox.enqueue(tx.conn, self.outbox, written[0] - 1, tx.now)

    def _unlogged(self, conn: sqlite3.Connection, pending: list[dict]) -> list[dict]:
        """The activations no other daemon has logged yet; marks them logged (in this batch's transaction, which
        holds the mark's row so that two daemons cannot both log one)."""
        conn.execute("insert into rt_meta (key, value) values ('activations_logged', '0') on conflict (key) do nothing")
        row = conn.execute("select value from rt_meta where key = 'activations_logged' for update").fetchone()
        done = int(row[0]) if row else 0
        fresh = [a for a in pending if a["activation"] > done]
        if fresh:
            conn.execute(
                "insert into rt_meta (key, value) values ('activations_logged', ?) on conflict (key) do update set value = excluded.value",
                (str(max(a["activation"] for a in fresh)),),
            )
        return fresh

    def committed(self, tx: Tx) -> None:
        self.versions.pending = []  # recorded (kept for the next batch if this one failed)
        self.states = {k: v for k, v in tx.states.items() if k}
        self.away_until = tx.away
        self._writes.update({team: writes for team, (writes, _) in tx.locks.items()})
        if self.on_commit is not None and tx.log.written is not None:
            self.on_commit()

    # ------------------------------------------------------------------ seeds
    def draw_seed(self, now: float) -> DrawSeed:
        """The period seed for decisions at `now`, cached by period (see seeds.DrawSeed)."""
        period = period_of(now)
        hit = self._seeds.get(period)
        if hit is None:
            hit = self._seeds[period] = draw_seed(self.path, now)
            if hit.note and hit.note not in self._warned:
                self._warned.add(hit.note)
                log.warning("%s", hit.note)
        return hit

    def seed_for(self, tx: Tx) -> Seed:
        """What a decision in this batch draws with.

        The period's committed seed, named by its period (never shown before the
        reveal). Without one the lead is still decided, lottery off, with the
        database's own seed for `pick random`, and the note says why.
        """
        if self.seed_fn is not None:  # an injected seed (tests, embedding): named by its SHA-256
            seed = self.seed_fn(tx.now)
            return Seed(seed, seed_label(seed), True, None)
        draw = tx.draw if tx.draw is not None else self.draw_seed(tx.now)
        if draw.seed is not None:
            return Seed(draw.seed, draw.period, True, None, kept=False)
        return Seed(self.seed, None, False, draw.note)

    def period_seed(self, period: str) -> str:
        """The seed a stored decision of `period` drew with, from the seed key (or the row, once revealed)."""
        hit = self._period_seeds.get(period)
        if hit is None:
            hit = self._period_seeds[period] = seed_for_period(self.path, period, allow_revealed=True)
        return hit

    # ------------------------------------------------------------------ reading (any thread, own connection)
    def row(self, conn: sqlite3.Connection, lead_id: str) -> dict:
        return rows.need(conn, lead_id)

    def redecide(self, row: dict) -> tuple[Compiled, Decision]:
        """Re-run a stored decision from its inputs (same version, lead, state and seed: same answer).

        Compared with the decision as it was made (`rep`, `queue`), never with where
        the lead is now: an override or an SLA move changes the holder, not the decision.
        """
        c = self.compiled_for(row["version"])
        seed = row["seed"] if row["seed"] is not None else self.period_seed(row["seed_id"])
        d = decide(
            c,
            json.loads(row["lead"]),
            State.from_json(json.loads(row["snapshot"])),
            seed,
            lottery=bool(row["lottery"]),
            seed_id=row.get("seed_id") or seed_label(seed),
            at=row["at"],
        )
        if (d.rep, d.queue) != (row["rep"], row["queue"]):
            log.error(
                "decision for %s does not replay: stored %s, replayed %s", row["lead_id"], row["rep"] or row["queue"], d.rep or d.queue
            )
        return c, d

    # ------------------------------------------------------------------ operations (answered once committed)
    def assign(self, raw: Any, actor: str, reroute: bool = False, team: str | None = None, door: dict | None = None) -> Future:
        """Decide a lead in `team` (None: the one team). Result: (row, created) -- created False when the lead id was decided before.

        The same id with a different lead is a Conflict naming the differences, unless `reroute`;
        an id decided in another team is a Conflict naming that team (lead ids are unique across teams).
        `door` is the front door's step that chose `team` (kept in the row)."""

        def op(tx: Tx) -> tuple[dict, bool]:
            tx.use(team)
            return operations.assign(tx, raw, actor, self.seed_for, self.count, reroute, door)

        return self.submit(op)

    def _on_lead(self, lead_id: str, team: str | None, fn: Callable[[Tx], Any]) -> Future:
        """An operation on a decided lead, in the team its row names (a different `team` asked is refused, naming it)."""

        def op(tx: Tx) -> Any:
            operations.enter_lead(tx, lead_id, team)
            return fn(tx)

        return self.submit(op)

    def accept(self, lead_id: str, actor: str, rep: str | None = None, team: str | None = None) -> Future:
        return self._on_lead(lead_id, team, lambda tx: operations.accept(tx, lead_id, actor, rep))

    def close_lead(self, lead_id: str, outcome: str, actor: str, team: str | None = None) -> Future:
        return self._on_lead(lead_id, team, lambda tx: operations.close_lead(tx, lead_id, outcome, actor, self.count))

    def override(self, lead_id: str, rep: str, reason: str, actor: str, team: str | None = None) -> Future:
        """Result: (row, None) once moved, or (row, request) when the policy says a second person approves it first."""
        return self._on_lead(lead_id, team, lambda tx: approvals.override(tx, lead_id, rep, reason, actor, self.count))

    def decide_override(self, approval_id: int, actor: str, approve: bool = True) -> Future:
        """Approve (the lead moves, for its requester) or reject an override held for approval."""
        return self.submit(lambda tx: approvals.decide(tx, approval_id, actor, approve, self.count))

    def set_away(self, rep: str, until: float | None, reason: str, actor: str, team: str | None = None) -> Future:
        """Mark a rep away until a time (None: back now), in the team the rep belongs to (or `team`)."""

        def op(tx: Tx) -> dict:
            operations.enter_rep(tx, rep, team)
            return operations.set_away_until(tx, rep, until, reason, actor)

        return self.submit(op)

    def tick(self, limit: int = 200) -> Future:
        """Bring reps back whose away time is over, and act on SLA deadlines that passed: one operation per team,
        so each holds only its own team's lock. Result: the steps taken, team by team."""
        ops = [self.submit(lambda tx, t=t: sla.tick_team(tx, t, limit, self.redecide, self.count)) for t in self.teams()]
        ops.append(self.submit(sla.tick_loose))
        return gather(ops)

    def refresh(self) -> Future:
        """An empty operation: the batch it runs in picks up new activations. Result: the version of each team."""
        return self.submit(lambda tx: {t: p.version for t, p in tx.policies.items()})


def _away(conn: sqlite3.Connection) -> dict[str, tuple[float, str]]:
    """Who is away, until when and why (`rt_away`), as a runtime keeps it."""
    return {r: (u, why) for r, u, why in conn.execute("select rep, until, reason from rt_away")}
