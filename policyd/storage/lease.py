"""One daemon per SQLite file: an OS lock on a file beside it, and a row that names the holder.

(On PostgreSQL the lease excludes nobody: several daemons serve one database, each
write transaction under the database's write lock; see `_acquire_on_server`.)

Two daemons on one file would each keep their own open counts and together overbook
every rep, so a daemon holds an exclusive lease on its database for as long as it
runs, and a second one refuses to start, naming the first.

The lease is two things:

* the lock: `flock(LOCK_EX)` on `<db>-lock`, a file beside the database. The kernel
  drops the lock when the process ends, however it ends (`kill -9` too), so a dead
  daemon never blocks a restart. The lock file is never deleted: deleting it would
  let a second daemon lock a new file while the first still holds the old one.
* the row `daemon_lease` (one row): pid, host, start time, address and a heartbeat
  written every HEARTBEAT_EVERY seconds, to name the holder in the refusal, and to
  catch what a lock cannot: a daemon on another host (locks may not reach across a
  network filesystem) or a lock file replaced while its daemon runs. A lock taken
  over a row whose heartbeat is STALE_AFTER seconds old, or whose process is gone,
  replaces the row (and says so in the log).

CLI commands that read, or write through the store (publish, activate, tokens,
seeds, audit), take no lease and keep working while a daemon runs.

`policyd serve` takes the lease before it listens (`reserve`), so a second daemon
stops before it binds a port; the runtime it starts in the same process takes that
lease over (`take`) instead of locking again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .db import connect
from .engines import is_url, redact
from .errors import StoreError

log = logging.getLogger(__name__)

SUFFIX = "-lock"
HEARTBEAT_EVERY = 5.0
STALE_AFTER = 30.0
LEASE_KEY = 0x706F6C6963796402  # PostgreSQL: the advisory lock that stands for the lock file
_COLUMNS = "nonce, pid, host, started_at, address, heartbeat_at"


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def lock_path(path: str | os.PathLike) -> str:
    return f"{os.fspath(path)}{SUFFIX}"


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a database's lease."""

    pid: int
    host: str
    started_at: float
    address: str | None
    heartbeat_at: float | None

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        out = f"pid {self.pid} on host {self.host}"
        if self.address:
            out += f", at {self.address}"
        out += f", since {_utc(self.started_at)}"
        if self.heartbeat_at is not None:
            out += f" (last heartbeat {max(0, round(now - self.heartbeat_at))} s ago)"
        return out

    def to_json(self) -> dict:
        return {
            "pid": self.pid,
            "host": self.host,
            "started_at": self.started_at,
            "address": self.address,
            "heartbeat_at": self.heartbeat_at,
        }


class LeaseHeld(StoreError):
    """Another daemon serves this database; `holder` names it when it can be read."""

    def __init__(self, message: str, holder: Holder | None):
        super().__init__(message)
        self.holder = holder


def _pid_alive(pid: int) -> bool:
    """Whether a process of this host runs `pid` (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


class Lease:
    """A database's lease, held by this process until `release` (or until it ends)."""

    def __init__(self, path: str, fd: int, address: str | None, clock: Callable[[], float] = time.time):
        self.path = path
        self.lock_path = lock_path(path)
        self.fd: int | None = fd
        self.clock = clock
        self.nonce = secrets.token_hex(8)
        self.holder = Holder(os.getpid(), socket.gethostname(), clock(), address, clock())
        self.took_over: Holder | None = None  # the holder before us, when it died without releasing
        self.lost: str | None = None  # set when another process took the row while we held the lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self.shared = False  # PostgreSQL: many daemons serve one database, so the lease excludes nobody (see `acquire`)
        self._on_error: Callable[[BaseException], None] = lambda err: None
        self._on_ok: Callable[[], None] = lambda: None

    @property
    def held(self) -> bool:
        return self.fd is not None

    # ------------------------------------------------------------------ the row
    def _claim_row(self) -> None:
        conn = connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                prev = _read_row(conn)
                if prev is not None:
                    reason = _alive_elsewhere(prev, self.clock())
                    if reason:
                        raise LeaseHeld(_held_message(self.path, prev, reason), prev)
                    self.took_over = prev
                h = self.holder
                conn.execute(
                    f"insert into daemon_lease (id, {_COLUMNS}) values (1, ?, ?, ?, ?, ?, ?) on conflict (id) do update set "
                    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", ")),
                    (self.nonce, h.pid, h.host, h.started_at, h.address, h.heartbeat_at),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()
        self._write_lock_file()
        if self.took_over is not None and self.took_over.pid != os.getpid():
            log.info("%s: %s", self.path, self.took_over_text())

    def took_over_text(self) -> str:
        prev = self.took_over
        return f"took over the lease of a daemon that stopped without releasing it: {prev.describe()}" if prev else ""

    def _write_lock_file(self) -> None:
        """The holder, also in the lock file: named even when the database cannot be read."""
        if self.fd is None or self.shared:
            return
        data = json.dumps(self.holder.to_json()).encode("utf-8")
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, data, 0)
        except OSError as err:  # the row names the holder too
            log.warning("%s: cannot write the holder into the lock file (%s)", self.lock_path, err.strerror)

    # ------------------------------------------------------------------ the heartbeat
    def start_heartbeat(self, on_error: Callable[[BaseException], None], on_ok: Callable[[], None]) -> None:
        """Write the heartbeat every HEARTBEAT_EVERY seconds; a failed write is reported to `on_error`."""
        self._on_error, self._on_ok = on_error, on_ok
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat_loop, name="policyd-lease", daemon=True)
            self._thread.start()

    def _beat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            self.beat()

    def beat(self) -> bool:
        """Write the heartbeat once; False when it could not be written."""
        if self.fd is None:
            return False
        now = self.clock()
        try:
            if self._conn is None:
                self._conn = connect(self.path)
            if self.shared:  # no row to keep: the beat says whether the server answers
                self._conn.execute("select 1").fetchone()
                self._on_ok()
                return True
            cur = self._conn.execute(
                "update daemon_lease set heartbeat_at = ?, address = ? where id = 1 and nonce = ?", (now, self.holder.address, self.nonce)
            )
            if cur.rowcount == 0:
                other = _read_row(self._conn)
                self.lost = f"another process took this database's lease row: {other.describe() if other else 'the row is gone'}"
                log.error("%s: %s; two daemons may be serving it", self.path, self.lost)
        except (sqlite3.Error, StoreError) as err:
            self._on_error(err)
            return False
        self._on_ok()
        return True

    # ------------------------------------------------------------------ the end
    def release(self) -> None:
        """Drop the row and the lock (idempotent)."""
        if self.fd is None:
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self.shared:
            self.fd = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._unreserve()
            return
        try:
            conn = self._conn or connect(self.path)
            try:
                conn.execute("delete from daemon_lease where id = 1 and nonce = ?", (self.nonce,))
            finally:
                conn.close()
                self._conn = None
        except (sqlite3.Error, StoreError) as err:  # the lock still goes; a stale row is taken over by the next daemon
            log.warning("%s: could not remove the lease row (%s)", self.path, getattr(err, "message", err))
        fd, self.fd = self.fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        self._unreserve()

    def _unreserve(self) -> None:
        with _guard:
            if _reserved.get(_key(self.path)) is self:
                del _reserved[_key(self.path)]


def _read_row(conn: sqlite3.Connection) -> Holder | None:
    row = conn.execute(f"select {_COLUMNS} from daemon_lease where id = 1").fetchone()
    return None if row is None else Holder(row[1], row[2], row[3], row[4], row[5])


def _alive_elsewhere(prev: Holder, now: float) -> str | None:
    """Why a row must be respected although its lock was free (None: its holder is gone)."""
    if prev.heartbeat_at is None or now - prev.heartbeat_at >= STALE_AFTER:
        return None
    if prev.host != socket.gethostname():
        return (
            f"it runs on another host, where this host's file lock does not reach; if that daemon is gone, "
            f"its lease lapses {round(STALE_AFTER)} s after its last heartbeat"
        )
    if prev.pid != os.getpid() and _pid_alive(prev.pid):
        return "its process is still running although its lock file was free (was the lock file deleted or replaced?)"
    return None


def _held_message(path: str, holder: Holder | None, why: str | None = None) -> str:
    who = holder.describe() if holder is not None else "a process whose details cannot be read"
    stop = f"stop it first (kill {holder.pid} on {holder.host})" if holder is not None else "stop it first"
    return (
        f"{redact(path)} is already served by another daemon: {who}"
        + (f"; {why}" if why else "")
        + f". Two daemons on one database would each count open leads on their own and overbook the reps: {stop}, "
        "or serve another database with --db"
    )


def _holder_from_lock_file(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(int(data["pid"]), str(data["host"]), float(data["started_at"]), data.get("address"), data.get("heartbeat_at"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _current_holder(path: str, fd: int) -> Holder | None:
    try:
        conn = connect(path)
        try:
            holder = _read_row(conn)
        finally:
            conn.close()
    except (sqlite3.Error, StoreError):
        holder = None
    return holder or _holder_from_lock_file(fd)


def acquire(path: str | os.PathLike, address: str | None = None, clock: Callable[[], float] = time.time) -> Lease:
    """Take the lease of `path`; LeaseHeld, naming the holder, when another daemon has it."""
    path = os.fspath(path)
    if is_url(path):
        return _acquire_on_server(path, address, clock)
    lp = lock_path(path)
    try:
        fd = os.open(lp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise StoreError(
            f"{lp}: cannot open the daemon's lock file beside the database ({err.strerror}): "
            "the daemon needs write access to the database's directory"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _current_holder(path, fd)
        os.close(fd)
        raise LeaseHeld(_held_message(path, holder), holder) from None
    except OSError as err:
        os.close(fd)
        raise StoreError(f"{lp}: cannot lock the database's lock file ({err.strerror}): keep the database on a local disk") from None
    lease = Lease(path, fd, address, clock)
    try:
        lease._claim_row()
    except BaseException:
        lease.fd = None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    return lease


def _acquire_on_server(url: str, address: str | None, clock: Callable[[], float]) -> Lease:
    """On PostgreSQL any number of daemons serve one database: each write transaction takes the database's
    write lock and reloads what another daemon changed (daemon/runtime.py), so none can overbook a rep.
    The lease excludes nobody; taking it checks that the server answers, and its beat keeps asking."""
    connect(url).close()
    lease = Lease(url, -1, address, clock)
    lease.shared = True
    return lease


# ---------------------------------------------------------------- handing the lease to the runtime
_reserved: dict[str, Lease] = {}
_guard = threading.Lock()


def _key(path: str | os.PathLike) -> str:
    return os.fspath(path) if is_url(path) else os.path.realpath(os.fspath(path))


def reserve(path: str | os.PathLike, address: str | None = None) -> Lease:
    """Take the lease for the runtime this process starts next on `path` (see `take`)."""
    lease = acquire(path, address)
    with _guard:
        _reserved[_key(path)] = lease
    return lease


def take(path: str | os.PathLike) -> Lease:
    """The lease reserved for `path` by this process, or a new one (LeaseHeld when another daemon has it)."""
    with _guard:
        lease = _reserved.pop(_key(path), None)
    if lease is not None and lease.held:
        return lease
    return acquire(path)


def holder(path: str | os.PathLike) -> Holder | None:
    """Who holds the lease of `path` now, or None when no daemon does (the lock is free)."""
    lp = lock_path(path)
    if not os.path.exists(lp):
        return None
    try:
        fd = os.open(lp, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _current_holder(os.fspath(path), fd) or Holder(0, "?", 0.0, None, None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
