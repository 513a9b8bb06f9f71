"""Bearer tokens with roles, stored hashed; they may expire and be revoked.

A token is shown once, when it is created; the database keeps only its sha256, so
a copy of the database (or a log line) never lets anyone in. Roles are ordered:
`rep` (one rep's own page; the token is named after the rep) < `read` (dashboards)
< `assign` (CRM clients: assign, accept, close) < `admin` (overrides, availability,
activation); a role may do what the roles below it do.

A token may carry an expiry (`expires_at`) and may be revoked (`revoked_at`; the row
stays, so the audit log's names keep meaning something). The daemon looks the token
up on every request (`TokenCache.identify`: one indexed read), so a revocation, an
expiry or a deleted row takes effect on the very next request, with no restart and
no cache to outlive it. When each token was last used is written in batches, at
most every `FLUSH_EVERY` seconds, by a short-lived thread on a connection of its own.
The table is made by the migration chain (storage/db.py): pass a `db.connect` connection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import audit
from .db import connect, explain, target_of
from .errors import StorageFailure

log = logging.getLogger(__name__)

ROLES = ("rep", "read", "assign", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}
PREFIX = "pd_"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


class TokenError(ValueError):
    """A token that cannot be created or revoked (unknown role, empty name, no such token, a bad expiry)."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_expiry(text: str, now: float) -> float:
    """When a token expires: a duration from now (`90m`, `12h`, `30d`, `2w`, `1d12h`) or a date or time.

    A date alone is its start, 00:00 UTC (`2026-12-31`); a time without a zone is UTC
    (`2026-12-31T18:00`, `2026-12-31T18:00:00+01:00`). The moment must be in the future.
    """
    s = text.strip()
    compact = s.replace(" ", "")
    if re.fullmatch(r"(?:\d+(?:\.\d+)?[smhdw])+", compact):
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(compact))
        if seconds <= 0:
            raise TokenError(f"--expires {text}: a token must last more than no time at all")
        return now + seconds
    try:
        when = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise TokenError(
            f"--expires {text!r}: expected a duration (90m, 12h, 30d, 2w) or a date or time (2026-12-31, 2026-12-31T18:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    ts = when.timestamp()
    if ts <= now:
        raise TokenError(f"--expires {text}: {utc(ts)} is in the past (now is {utc(now)})")
    return ts


def create(
    conn: sqlite3.Connection,
    name: str,
    role: str,
    now: float | None = None,
    expires_at: float | None = None,
    actor: str | None = None,
) -> str:
    """Store a new token's hash and return the token itself (the only time it is seen).

    With `actor`, a `token_create` audit record is written in the same transaction.
    """
    if role not in _RANK:
        raise TokenError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise TokenError("a token needs a name (who or what uses it)")
    now = time.time() if now is None else now
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "insert into tokens (name, role, hash, created_at, expires_at) values (?, ?, ?, ?, ?)",
            (name, role, digest(token), now, expires_at),
        )
        if actor is not None:
            data = {"name": name, "role": role} | ({"expires_at": expires_at} if expires_at is not None else {})
            _append(conn, now, "token_create", actor, data)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return token


def _append(conn: sqlite3.Connection, now: float, kind: str, actor: str, data: dict) -> None:
    log_ = audit.Appender(conn)
    log_.append(now, kind, actor, data)
    log_.finish()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


_COLUMNS = ("id", "name", "role", "created_at", "expires_at", "revoked_at", "revoked_by", "last_used_at")


def status(t: dict, now: float) -> str:
    """`revoked`, `expired` or `active`."""
    if t["revoked_at"] is not None:
        return "revoked"
    if t["expires_at"] is not None and now >= t["expires_at"]:
        return "expired"
    return "active"


def listing(conn: sqlite3.Connection, now: float | None = None) -> list[dict]:
    """Every token (never the token itself): id, name, role, times, and `status` now."""
    now = time.time() if now is None else now
    rows = conn.execute(f"select {', '.join(_COLUMNS)} from tokens order by id").fetchall()
    out = [dict(zip(_COLUMNS, r)) for r in rows]
    for t in out:
        t["status"] = status(t, now)
    return out


def find(conn: sqlite3.Connection, ref: str) -> list[dict]:
    """Tokens named by `ref`: an id (all digits) or a name."""
    ref = ref.strip()
    where, arg = ("id = ?", int(ref)) if ref.isdigit() else ("name = ?", ref)
    rows = conn.execute(f"select {', '.join(_COLUMNS)} from tokens where {where} order by id", (arg,)).fetchall()
    return [dict(zip(_COLUMNS, r)) for r in rows]


def revoke(conn: sqlite3.Connection, ref: str, by: str, now: float | None = None, every: bool = False) -> tuple[list[dict], list[dict]]:
    """Revoke the token named by `ref` (an id or a name): (revoked now, revoked before).

    A name that several live tokens share is refused unless `every`. The revocation
    and its `token_revoke` audit record commit together; a daemon refuses the token
    from its next request on.
    """
    now = time.time() if now is None else now
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = find(conn, ref)
        if not found:
            what = f"with id {ref.strip()}" if ref.strip().isdigit() else f"named {ref!r}"
            raise TokenError(f"no token {what}; `policyd token list` shows them")
        live = [t for t in found if t["revoked_at"] is None]
        if len(live) > 1 and not every:
            ids = ", ".join(str(t["id"]) for t in live)
            raise TokenError(f"{len(live)} tokens are named {ref!r} (ids {ids}): revoke one by its id, or every one of them with --all")
        for t in live:
            conn.execute("update tokens set revoked_at = ?, revoked_by = ? where id = ? and revoked_at is null", (now, by, t["id"]))
            _append(conn, now, "token_revoke", by, {"id": t["id"], "name": t["name"], "role": t["role"]})
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    for t in live:
        t["revoked_at"], t["revoked_by"] = now, by
    return live, [t for t in found if t not in live]


def _db_file(conn: sqlite3.Connection) -> str:
    return target_of(conn)


class TokenCache:
    """Look a token up on every request: unknown, revoked and expired tokens identify nobody.

    Nothing about a token is kept between requests, so a revocation, an expiry or a
    deleted row counts from the very next request. Uses are remembered in memory and
    written as `last_used_at` at most every FLUSH_EVERY seconds (the first use at once).
    """

    FLUSH_EVERY = 5.0

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float] = time.time):
        self.conn = conn
        self.clock = clock
        self._used: dict[int, float] = {}
        self._lock = threading.Lock()
        self._flushed_at = float("-inf")
        self._flusher: threading.Thread | None = None
        # the flusher thread opens its own connection: it must never touch `conn`, which the
        # request side uses (and closes at shutdown) on its own thread
        self._path: str = _db_file(conn)

    def _row(self, token: str) -> tuple | None:
        try:
            return self.conn.execute(
                "select id, name, role, expires_at, revoked_at from tokens where hash = ?", (digest(token),)
            ).fetchone()
        except sqlite3.Error as err:  # the database is out of reach: the request may be retried (503), never a 500
            raise StorageFailure(f"{explain(self._path, err)}; the token could not be checked, so nothing was done") from None

    def identify(self, token: str | None) -> Identity | None:
        if not token:
            return None
        row = self._row(token)
        if row is None or row[4] is not None:
            return None
        now = self.clock()
        if row[3] is not None and now >= row[3]:
            return None
        self._note_use(row[0], now)
        return Identity(row[1], row[2])

    def refusal(self, token: str | None) -> str | None:
        """Why `identify` refuses this token, in words (None when it does not)."""
        if not token:
            return "missing bearer token"
        row = self.conn.execute("select name, expires_at, revoked_at from tokens where hash = ?", (digest(token),)).fetchone()
        if row is None:
            return "unknown token"
        if row[2] is not None:
            return f"token {row[0]!r} was revoked at {utc(row[2])}"
        if row[1] is not None and self.clock() >= row[1]:
            return f"token {row[0]!r} expired at {utc(row[1])}"
        return None

    # ------------------------------------------------------------------ last used, in batches
    def _note_use(self, token_id: int, now: float) -> None:
        with self._lock:
            if now > self._used.get(token_id, float("-inf")):
                self._used[token_id] = now
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_loop, name="policyd-token-uses", daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        """Write what is noted, at most every FLUSH_EVERY seconds; end when nothing more was noted."""
        while True:
            wait = self._flushed_at + self.FLUSH_EVERY - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._flushed_at = time.monotonic()
            self.flush()
            with self._lock:
                if not self._used:
                    self._flusher = None
                    return

    def flush(self) -> int:
        """Write the uses noted since the last flush; how many tokens. A failure keeps them for the next one."""
        with self._lock:
            used, self._used = self._used, {}
        if not used:
            return 0
        try:
            conn = connect(self._path)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "update tokens set last_used_at = ? where id = ? and (last_used_at is null or last_used_at < ?)",
                    [(t, i, t) for i, t in used.items()],
                )
                conn.execute("COMMIT")
            finally:
                _rollback(conn)
                conn.close()
        except Exception as err:  # noqa: BLE001 -- a failed write of use times must never fail a request
            log.warning("could not record when tokens were last used: %s", getattr(err, "message", err))
            with self._lock:
                for i, t in used.items():
                    self._used[i] = max(t, self._used.get(i, t))
            return 0
        return len(used)
