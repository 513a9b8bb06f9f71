"""The daemon's runtime state in SQLite, moved by one writer thread.

Every change (assign, accept, close, override, away, SLA step) is an *operation*
queued to a single writer thread. The writer takes every operation waiting,
runs them one after another against an in-memory `State` (through the same
`Compiled.decide` and `state.apply/close/set_away` as replay), and commits the
whole batch -- decision rows, audit records and the new state -- in ONE durable
transaction (WAL, synchronous=FULL). Only then are the callers answered. So:

- a rep is never pushed over capacity and no decision is lost or duplicated
  (one writer, decisions strictly in order);
- an answered request is on disk (the fsync happened before the answer);
- while one batch is being fsynced the next one gathers (group commit), so the
  commit rate of the disk is shared by many assignments.

Lottery draws use the committed seed of the decision's period (an ISO week,
`seeds.period_of(now)`), named in the decision by its period, so a daemon decision
can be verified with `policyd lottery verify` once the period is revealed. With no
committed (or an already revealed) seed the lead is still decided, lottery off,
and the decision keeps a note saying why.

On start the state is rebuilt from the database: open counts from the decisions
that hold a rep, away reps from `rt_away`, rotation cursors and last-assignment
times from `rt_state` (written in the same transaction as each batch).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..engine.availability import why_unavailable
from ..engine.codegen import Compiled
from ..engine.decide import decide
from ..engine.decision import ESCALATED, Decision
from ..engine.picks import Move, next_holder
from ..engine.schema import FieldError, LeadError
from ..engine.state import State, apply, close, reassign, set_away
from ..lottery.seeds import DrawSeed, draw_seed, period_of
from ..storage import audit
from . import sla

log = logging.getLogger(__name__)

MAX_BATCH = 512
OPEN_STATUSES = ("assigned", "accepted")
CLOSED_STATUSES = ("won", "lost")

SCHEMA = """
create table if not exists rt_decisions (
  id integer primary key,
  lead_id text not null unique,
  version integer not null,
  at real not null,
  seed text not null,
  lottery integer not null,
  seed_id text,
  lottery_note text,
  lead text not null,
  snapshot text not null,
  rep text,
  queue text,
  tier text,
  by text not null,
  holder text,
  status text not null,
  deadline real,
  reassigned integer not null default 0,
  tried text not null,
  overridden integer not null default 0,
  override_reason text,
  updated_at real not null
);
create index if not exists rt_decisions_deadline on rt_decisions(deadline) where deadline is not null;
create index if not exists rt_decisions_at on rt_decisions(at);
create table if not exists rt_state (id integer primary key check (id = 1), state text not null, at real not null);
create table if not exists rt_away (rep text primary key, until real not null, reason text not null, at real not null);
create table if not exists rt_meta (key text primary key, value text not null);
create index if not exists audit_lead on audit(json_extract(data, '$.lead_id'));
"""


class Refused(Exception):
    """A request the runtime refuses; `status` is the HTTP status the server answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(Refused):
    status = 404
    code = "not_found"


class Conflict(Refused):
    status = 409
    code = "conflict"


class NotReady(Refused):
    status = 503
    code = "no_active_version"


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (we BEGIN ourselves), WAL, fsync on every commit."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    audit.ensure_schema(conn)
    conn.executescript(SCHEMA)
    have = {r[1] for r in conn.execute("pragma table_info(rt_decisions)")}
    for column in ("seed_id", "lottery_note"):  # databases made before decisions named their period seed
        if column not in have:
            conn.execute(f"alter table rt_decisions add column {column} text")


@dataclass
class Op:
    """One queued change: `fn(tx)` runs in the writer thread inside the batch transaction."""

    fn: Callable[[Tx], Any]
    future: Future = field(default_factory=Future)


@dataclass
class Tx:
    """What an operation sees: the connection in a transaction, the working state, the audit log."""

    conn: sqlite3.Connection
    state: State
    log: audit.Appender
    now: float
    compiled: Compiled | None
    version: int | None
    draw: DrawSeed | None = None  # the period's seed for this batch's decisions (or why there is none)


@dataclass
class Policy:
    """The active version and its compiled policy, swapped as one value."""

    version: int
    activation: int
    compiled: Compiled


def seed_label(seed: str) -> str:
    """How a decision names its lottery seed: the seed's SHA-256 (a commitment), never the seed,
    which would let anyone who reads an explanation compute future draws."""
    return "sha256:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _settle(fut: Future, result: Any, err: BaseException | None) -> None:
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


class Runtime:
    """Runtime state and the writer. `start()` opens it; `stop()` drains and closes."""

    def __init__(
        self,
        path: str,
        clock: Callable[[], float] = time.time,
        seed_fn: Callable[[float], str] | None = None,
        loader: Callable[[int], Compiled] | None = None,
    ):
        self.path = path
        self.clock = clock
        self.seed_fn = seed_fn
        self._loader = loader
        self._queue: queue.Queue[Op | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._compiled_cache: dict[int, Compiled] = {}
        self._cache_lock = threading.Lock()
        self.policy: Policy | None = None
        self.state = State()
        self.away_until: dict[str, tuple[float, str]] = {}
        self.seed = ""  # the database's own random seed: `pick random` when no period seed is committed
        self._seeds: dict[str, DrawSeed] = {}  # by period; cleared when another connection writes
        self.counters: dict[str, float] = {}
        self.batches = 0
        self.batch_ops = 0

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

    def submit(self, fn: Callable[[Tx], Any]) -> Future:
        op = Op(fn)
        self._queue.put(op)
        return op.future

    def call(self, fn: Callable[[Tx], Any]) -> Any:
        """Submit and wait (for CLI and tests)."""
        return self.submit(fn).result()

    # ------------------------------------------------------------------ policy versions
    def compiled_for(self, version: int) -> Compiled:
        """The compiled policy of a stored version (cached; versions never change)."""
        with self._cache_lock:
            c = self._compiled_cache.get(version)
        if c is None:
            c = self._load_version(version)
            with self._cache_lock:
                self._compiled_cache[version] = c
        return c

    def _load_version(self, version: int) -> Compiled:
        if self._loader is not None:
            return self._loader(version)
        from ..storage.store import Store

        store = Store(self.path)
        try:
            loaded = store.get(version).load()
        finally:
            store.close()
        if loaded.errors:
            raise NotReady(f"version {version} has errors and cannot be served; run `policyd check` on it")
        return loaded.compiled

    def _check_activation(self) -> None:
        """Switch to the newest activation if another connection wrote since the last look.

        `PRAGMA data_version` changes only when another connection commits, so the
        common case (no activation) costs one pragma per batch; then the store's
        public `activations()` says which version is active. A version that cannot
        be loaded is logged and the one in force stays.
        """
        dv = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if dv == self._data_version and self.policy is not None:
            return
        if dv != self._data_version:
            self._seeds.clear()  # a seed may have been committed or revealed (`policyd seed`)
        self._data_version = dv
        acts = self._store.activations()
        if not acts:
            return
        latest = acts[0]
        current = self.policy
        if current is not None and current.activation == latest["id"]:
            return
        try:
            compiled = self.compiled_for(latest["number"])
        except Exception as err:
            log.error("cannot load version %s: %s; still serving %s", latest["number"], err, current.version if current else "nothing")
            return
        self.policy = Policy(latest["number"], latest["id"], compiled)
        self._pending_activation = {
            "version": latest["number"],
            "activation": latest["id"],
            "activated_by": latest["by"],
            "activated_at": latest["at"],
        }
        log.info("serving version %s", latest["number"])

    # ------------------------------------------------------------------ the writer
    def _run(self) -> None:
        try:
            self.conn = connect(self.path)
            ensure_schema(self.conn)
            from ..storage.store import Store

            self._store = Store(self.path)  # also creates the versions and activations tables of a new file
            self._pending_activation = None
            self._data_version = None
            self._load()
            self._check_activation()
            self.draw_seed(self.clock())  # creates the seeds table now, not inside a batch's transaction
        except BaseException as err:  # reported to start()
            self._start_error = err
            self._ready.set()
            return
        self._ready.set()
        while True:
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
        self.conn.close()

    def _load(self) -> None:
        conn = self.conn
        meta = dict(conn.execute("select key, value from rt_meta").fetchall())
        if "seed" not in meta:
            meta["seed"] = secrets.token_hex(16)
            conn.execute("insert into rt_meta (key, value) values ('seed', ?)", (meta["seed"],))
        self.seed = meta["seed"]
        row = conn.execute("select state from rt_state where id = 1").fetchone()
        data = json.loads(row[0]) if row else {}
        data["open"] = dict.fromkeys(data.get("open", {}), 0) | {
            r: n
            for r, n in conn.execute(
                "select holder, count(*) from rt_decisions where holder is not null and status in ('assigned', 'accepted') group by holder"
            )
        }
        self.away_until = {r: (u, why) for r, u, why in conn.execute("select rep, until, reason from rt_away")}
        data["away"] = sorted(self.away_until)
        self.state = State.from_json(data)

    def _batch(self, ops: list[Op]) -> None:
        conn = self.conn
        results: list[tuple[Op, Any, BaseException | None]] = []
        try:
            now = self.clock()
            self._check_activation()  # before BEGIN: loading a new version must not hold the write lock
            draw = self.draw_seed(now)  # likewise: reading the seeds table opens the store
            conn.execute("BEGIN IMMEDIATE")
            log_ = audit.Appender(conn)
            activation = self._pending_activation
            if activation is not None:
                log_.append(now, "activate", activation["activated_by"] or "", activation)
            pol = self.policy
            tx = Tx(conn, self.state, log_, now, pol.compiled if pol else None, pol.version if pol else None, draw)
            away_before = dict(self.away_until)
            for op in ops:
                saved = (tx.state, log_.seq, log_.hash, log_.dirty, dict(self.away_until))
                conn.execute("SAVEPOINT op")
                try:
                    r = op.fn(tx)
                    conn.execute("RELEASE op")
                    results.append((op, r, None))
                except BaseException as err:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    tx.state, log_.seq, log_.hash, log_.dirty, self.away_until = saved
                    results.append((op, None, err))
            if tx.state is not self.state:
                conn.execute(
                    "insert or replace into rt_state (id, state, at) values (1, ?, ?)",
                    (json.dumps(tx.state.to_json(), separators=(",", ":")), now),
                )
            log_.finish()
            conn.execute("COMMIT")
            if activation is not None:
                self._pending_activation = None  # recorded (kept for the next batch if this one failed)
        except BaseException as err:
            log.exception("batch of %d failed; rolled back", len(ops))
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self.away_until = away_before if "away_before" in locals() else self.away_until
            for op in ops:
                _settle(op.future, None, err)
            return
        self.state = tx.state
        self.batches += 1
        self.batch_ops += len(ops)
        for op, r, err in results:
            _settle(op.future, r, err)

    def draw_seed(self, now: float) -> DrawSeed:
        """The period seed for decisions at `now`, cached by period (see seeds.DrawSeed)."""
        period = period_of(now)
        hit = self._seeds.get(period)
        if hit is None:
            hit = self._seeds[period] = draw_seed(self.path, now)
            if hit.note:
                log.warning("%s", hit.note)
        return hit

    def _seed_for(self, tx: Tx) -> tuple[str, str | None, bool, str | None]:
        """(seed, seed_id, lottery on, note) for a decision in this batch.

        The period's committed seed, named by its period (never shown before the
        reveal). Without one the lead is still decided, lottery off, with the
        database's own seed for `pick random`, and the note says why.
        """
        if self.seed_fn is not None:  # an injected seed (tests, embedding): named by its SHA-256
            seed = self.seed_fn(tx.now)
            return seed, seed_label(seed), True, None
        draw = tx.draw if tx.draw is not None else self.draw_seed(tx.now)
        if draw.seed is not None:
            return draw.seed, draw.period, True, None
        return self.seed, None, False, draw.note

    def count(self, name: str, n: float = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    # ------------------------------------------------------------------ reading (any thread, own connection)
    def row(self, conn: sqlite3.Connection, lead_id: str) -> dict:
        cur = conn.execute("select * from rt_decisions where lead_id = ?", (lead_id,))
        r = cur.fetchone()
        if r is None:
            raise NotFound(f"no decision for lead {lead_id!r}")
        return dict(zip([c[0] for c in cur.description], r))

    def redecide(self, row: dict) -> tuple[Compiled, Decision]:
        """Re-run a stored decision from its inputs (same version, lead, state and seed: same answer)."""
        c = self.compiled_for(row["version"])
        d = decide(
            c,
            json.loads(row["lead"]),
            State.from_json(json.loads(row["snapshot"])),
            row["seed"],
            lottery=bool(row["lottery"]),
            seed_id=row.get("seed_id") or seed_label(row["seed"]),
        )
        if d.rep != row["rep"] or d.queue != row["queue"]:
            log.error(
                "decision for %s does not replay: stored %s, replayed %s", row["lead_id"], row["rep"] or row["queue"], d.rep or d.queue
            )
        return c, d

    # ------------------------------------------------------------------ operations (run in the writer)
    def assign(self, raw: Any, actor: str) -> Future:
        """Decide a lead. Result: (row, created) -- created False when the lead id was decided before."""
        return self.submit(lambda tx: self._assign(tx, raw, actor))

    def _assign(self, tx: Tx, raw: Any, actor: str) -> tuple[dict, bool]:
        c = tx.compiled
        if c is None:
            raise NotReady("no policy version is active; publish one and run `policyd activate @N`")
        if isinstance(raw, dict) and raw.get("id") is not None:
            existing = self.find_row(tx, str(raw["id"]))
            if existing is not None:
                self.count("idempotent_replays")
                return existing, False
        seed, seed_id, lottery, note = self._seed_for(tx)
        d = decide(c, raw, tx.state, seed, lottery=lottery, seed_id=seed_id)
        lead_id = d.lead_id
        if lead_id is None:
            raise LeadError([FieldError("id", None, "a lead id", "field id: the daemon needs a lead id (it makes assign idempotent)")])
        snapshot = json.dumps(tx.state.to_json(), separators=(",", ":"))
        tx.state = apply(tx.state, d, tx.now)
        deadline = sla.deadline(c, d.tier, tx.now) if d.rep is not None else None
        row = {
            "lead_id": lead_id,
            "version": tx.version,
            "at": tx.now,
            "seed": seed,  # stays in the database: explanations name it by seed_id
            "lottery": int(lottery),
            "seed_id": seed_id,
            "lottery_note": note,
            "lead": json.dumps(raw, separators=(",", ":"), ensure_ascii=False),
            "snapshot": snapshot,
            "rep": d.rep,
            "queue": d.queue,
            "tier": d.tier,
            "by": d.by,
            "holder": d.rep,
            "status": "assigned" if d.rep else "queued",
            "deadline": deadline,
            "reassigned": 0,
            "tried": json.dumps([d.rep] if d.rep else []),
            "overridden": 0,
            "override_reason": None,
            "updated_at": tx.now,
        }
        cur = tx.conn.execute(
            "insert into rt_decisions (" + ", ".join(row) + ") values (" + ", ".join("?" * len(row)) + ")",
            tuple(row.values()),
        )
        row["id"] = cur.lastrowid
        tx.log.append(
            tx.now,
            "assign",
            actor,
            {"lead_id": lead_id, "version": tx.version, "rep": d.rep, "queue": d.queue, "tier": d.tier, "by": d.by, "deadline": deadline},
        )
        self.count("assignments")
        if not lottery:
            self.count("lottery_off")
        self.count(f"by:{d.by}")
        return row, True

    def find_row(self, tx: Tx, lead_id: str) -> dict | None:
        cur = tx.conn.execute("select * from rt_decisions where lead_id = ?", (lead_id,))
        r = cur.fetchone()
        return None if r is None else dict(zip([c[0] for c in cur.description], r))

    def need_row(self, tx: Tx, lead_id: str) -> dict:
        row = self.find_row(tx, lead_id)
        if row is None:
            raise NotFound(f"no decision for lead {lead_id!r}")
        return row

    def update_row(self, tx: Tx, lead_id: str, **values: Any) -> dict:
        values["updated_at"] = tx.now
        tx.conn.execute(
            "update rt_decisions set " + ", ".join(f"{k} = ?" for k in values) + " where lead_id = ?",
            (*values.values(), lead_id),
        )
        return self.need_row(tx, lead_id)

    def accept(self, lead_id: str, actor: str, rep: str | None = None) -> Future:
        def op(tx: Tx) -> dict:
            row = self.need_row(tx, lead_id)
            if row["status"] == "accepted" and (rep is None or rep == row["holder"]):
                return row
            if row["status"] != "assigned":
                raise Conflict(f"lead {lead_id} cannot be accepted: it is {row['status']}")
            if rep is not None and rep != row["holder"]:
                raise Conflict(f"lead {lead_id} is held by {row['holder']}, not {rep}")
            tx.log.append(tx.now, "accept", actor, {"lead_id": lead_id, "rep": row["holder"]})
            return self.update_row(tx, lead_id, status="accepted", deadline=None)

        return self.submit(op)

    def close_lead(self, lead_id: str, outcome: str, actor: str) -> Future:
        def op(tx: Tx) -> dict:
            if outcome not in CLOSED_STATUSES:
                raise Refused(f"outcome must be won or lost, got {outcome!r}")
            row = self.need_row(tx, lead_id)
            if row["status"] in CLOSED_STATUSES:
                raise Conflict(f"lead {lead_id} is already closed ({row['status']})")
            if row["holder"] is not None and row["status"] in OPEN_STATUSES:
                tx.state = close(tx.state, row["holder"])
            tx.log.append(tx.now, "close", actor, {"lead_id": lead_id, "outcome": outcome, "rep": row["holder"]})
            self.count(f"closed:{outcome}")
            return self.update_row(tx, lead_id, status=outcome, deadline=None)

        return self.submit(op)

    def _check_rep(self, tx: Tx, rep: str) -> Compiled:
        c = tx.compiled
        if c is None:
            raise NotReady("no policy version is active; publish one and run `policyd activate @N`")
        if rep not in c.rep_index:
            from ..lang.diagnostics import did_you_mean

            guess = did_you_mean(rep, c.rep_names)
            raise NotFound(f"no rep named {rep!r} in version {tx.version}" + (f"; did you mean {guess}?" if guess else ""))
        return c

    def override(self, lead_id: str, rep: str, reason: str, actor: str) -> Future:
        def op(tx: Tx) -> dict:
            if not reason.strip():
                raise Refused("an override needs a reason")
            c = self._check_rep(tx, rep)
            row = self.need_row(tx, lead_id)
            if row["status"] in CLOSED_STATUSES:
                raise Conflict(f"lead {lead_id} is closed ({row['status']}); it cannot be moved")
            if row["holder"] == rep:
                raise Conflict(f"lead {lead_id} is already with {rep}")
            busy = why_unavailable(c, tx.state, rep)
            if busy is not None:
                raise Conflict(busy)
            holder = row["holder"] if row["status"] in OPEN_STATUSES else None
            tx.state = reassign(tx.state, holder, Move(rep), tx.now)
            tried = json.loads(row["tried"]) + [rep]
            tx.log.append(tx.now, "override", actor, {"lead_id": lead_id, "from": row["holder"], "to": rep, "reason": reason})
            self.count("overrides")
            return self.update_row(
                tx,
                lead_id,
                holder=rep,
                status="assigned",
                queue=None,
                overridden=1,
                override_reason=reason,
                tried=json.dumps(tried),
                deadline=sla.deadline(c, row["tier"], tx.now),
            )

        return self.submit(op)

    def set_away(self, rep: str, until: float | None, reason: str, actor: str) -> Future:
        """Mark a rep away until a time (None: back now)."""

        def op(tx: Tx) -> dict:
            self._check_rep(tx, rep)
            if until is None:
                tx.state = set_away(tx.state, rep, False)
                tx.conn.execute("delete from rt_away where rep = ?", (rep,))
                self.away_until.pop(rep, None)
                tx.log.append(tx.now, "back", actor, {"rep": rep})
                return {"rep": rep, "away": False, "until": None}
            if until <= tx.now:
                raise Refused("until must be in the future")
            tx.state = set_away(tx.state, rep, True)
            tx.conn.execute("insert or replace into rt_away (rep, until, reason, at) values (?, ?, ?, ?)", (rep, until, reason, tx.now))
            self.away_until[rep] = (until, reason)
            tx.log.append(tx.now, "away", actor, {"rep": rep, "until": until, "reason": reason})
            return {"rep": rep, "away": True, "until": until, "reason": reason}

        return self.submit(op)

    # ------------------------------------------------------------------ clock-driven steps (sla.py schedules them)
    def tick(self, limit: int = 200) -> Future:
        """Bring reps back whose away time is over, and act on SLA deadlines that passed."""

        def op(tx: Tx) -> list[dict]:
            steps: list[dict] = []
            for rep, (until, _) in sorted(self.away_until.items()):
                if until <= tx.now:
                    tx.state = set_away(tx.state, rep, False)
                    tx.conn.execute("delete from rt_away where rep = ?", (rep,))
                    del self.away_until[rep]
                    tx.log.append(tx.now, "back", "clock", {"rep": rep, "until": until})
                    steps.append({"kind": "back", "rep": rep})
            due = tx.conn.execute(
                "select lead_id from rt_decisions where deadline is not null and deadline <= ? and status = 'assigned' order by deadline, id limit ?",
                (tx.now, limit),
            ).fetchall()
            for (lead_id,) in due:
                steps.append(self._sla_step(tx, lead_id))
            return steps

        return self.submit(op)

    def refresh(self) -> Future:
        """An empty operation: the batch it runs in picks up a new activation."""
        return self.submit(lambda tx: tx.version)

    def _sla_step(self, tx: Tx, lead_id: str) -> dict:
        """Act on one missed deadline (inside the writer's transaction)."""
        row = self.need_row(tx, lead_id)
        c, d = self.redecide(row)
        rule = c.sla.get(row["tier"])
        tried = json.loads(row["tried"])
        old = row["holder"]
        allowed = rule is not None and row["reassigned"] < rule.reassign
        attempt = row["reassigned"] + 1
        move = next_holder(c, close(tx.state, old), d, tried, attempt) if allowed else None
        nxt = move.rep if move is not None else None
        if move is not None:
            tx.state = reassign(tx.state, old, move, tx.now)
            tx.log.append(
                tx.now, "sla_reassign", "sla", {"lead_id": lead_id, "from": old, "to": nxt, "attempt": attempt, "tier": row["tier"]}
            )
            self.count("sla_reassignments")
            self.update_row(
                tx, lead_id, holder=nxt, reassigned=attempt, tried=json.dumps(tried + [nxt]), deadline=sla.deadline(c, row["tier"], tx.now)
            )
            return {"kind": "reassign", "lead_id": lead_id, "from": old, "to": nxt, "attempt": attempt}
        why = (
            "no other candidate is available"
            if allowed
            else f"not accepted after {row['reassigned']} reassignment(s), the most the SLA allows"
        )
        tx.log.append(tx.now, "sla_escalate", "sla", {"lead_id": lead_id, "from": old, "tier": row["tier"], "why": why})
        tx.state = close(tx.state, old)
        self.count("escalations")
        self.update_row(tx, lead_id, holder=None, status="escalated", queue=ESCALATED, deadline=None)
        return {"kind": "escalate", "lead_id": lead_id, "from": old, "why": why}


async def run_sla_loop(rt: Runtime, interval: float) -> None:
    """Every `interval` seconds: expire away times, act on missed deadlines, pick up activations."""
    while True:
        await asyncio.sleep(interval)
        try:
            steps = await asyncio.wrap_future(rt.tick())
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the loop alive; the writer logged the cause
            log.exception("SLA tick failed")
            continue
        for s in steps:
            log.info("sla: %s", s)
