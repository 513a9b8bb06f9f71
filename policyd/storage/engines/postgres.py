"""PostgreSQL through psycopg 3: a connection that answers the calls the callers make of sqlite3's.

This is the only module that imports psycopg, and it is imported only when a
`postgresql://` URL is opened (`pip install 'policyd[postgres]'`). Statements go
through `pg_sql.translate`; parameters are bound on the client (psycopg's
ClientCursor), so an untyped `?` means what it means to SQLite (`? is null` works).

SQLite's transaction words keep their meaning:

* `BEGIN IMMEDIATE` (SQLite's write lock: reads inside see what the writes are
  checked against) is `BEGIN` plus a transaction-scoped advisory lock on WRITE_LOCK,
  so writers of one database queue up as they do on a SQLite file;
* `BEGIN` (a deferred transaction: one snapshot for its reads) is a REPEATABLE READ one;
* `BEGIN CONCURRENT` (the name SQLite's own branch gives to writers that do not take
  the whole file) is a READ COMMITTED one that holds WRITE_LOCK shared: concurrent
  writers do not wait for each other, their writer locks the rows it works on
  (storage/team_lock.py), and each statement sees what was committed before it, so a
  row's lock, once had, is read with the writes it waited for. A `BEGIN IMMEDIATE`
  (a command's transaction) still runs alone: it waits for them, and they for it.

psycopg's errors are raised as sqlite3's classes (`IntegrityError`, `OperationalError`,
`DatabaseError`), the DB-API vocabulary every caller already catches; the message
names the server and database, never the password. A connection the server dropped
is opened again, once, by the next statement that starts a transaction or reads
outside one: a daemon that lost its database recovers by itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import adapt, pq
from psycopg.conninfo import conninfo_to_dict

from ..errors import StoreError
from . import LockBusy, redact
from .pg_sql import translate

WRITE_LOCK = 0x706F6C6963796400  # "policyd\0": the one write lock of a database (BEGIN IMMEDIATE)
CONNECT_TIMEOUT = 10


class IntegrityError(sqlite3.IntegrityError):
    """A constraint refused the statement (unique, not null, check, an append-only trigger)."""


class OperationalError(sqlite3.OperationalError):
    """The server cannot be used just now (connection lost, shutting down, lock timeout)."""


class DatabaseError(sqlite3.DatabaseError):
    """Any other error the server gave (a bad statement, a bad value)."""


def where(url: str) -> str:
    """`database "x" on host:port as user u`: how messages name a URL's database (no password)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return redact(url)
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    db = info.get("dbname") or info.get("user") or "postgres"
    user = f" as user {info['user']}" if info.get("user") else ""
    return f'PostgreSQL database "{db}" on {host}:{port}{user}'


def explain(url: str, err: BaseException) -> str:
    """What a connection failure means, in words, with what to do (the password never shown)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    text = text.replace(url, redact(url))
    low = text.lower()
    place = where(url)
    if "does not exist" in low and "database" in low:
        return f"{place}: the database does not exist ({text}): create it (`createdb`) or point --db at an existing one"
    if "password" in low or "authentication" in low:
        return f"{place}: the server refused the login ({text}): check the user and password in the URL (or PGPASSWORD)"
    if isinstance(err, psycopg.OperationalError) or "connect" in low:
        return (
            f"{place}: cannot reach the server ({text}): check that PostgreSQL runs there and accepts connections, "
            "and the host and port in the URL; policyd retries on the next request"
        )
    return f"{place}: the database failed ({text})"


def _error(url: str, err: psycopg.Error) -> sqlite3.Error:
    if isinstance(err, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
        return LockBusy(f"{where(url)}: {type(err).__name__}: another writer holds what this one asked for; try again")
    message = explain(url, err)
    if isinstance(err, psycopg.IntegrityError):
        return IntegrityError(message)
    if isinstance(err, psycopg.OperationalError | psycopg.errors.AdminShutdown | psycopg.InterfaceError):
        return OperationalError(message)
    return DatabaseError(message)


class _Number(adapt.Loader):
    """numeric as SQLite gives it: an int when whole (sums of integers), else a float."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


def _args(params: Sequence[Any] | None) -> tuple:
    """sqlite3 stores a bool as 0 or 1; PostgreSQL's integer columns refuse true and false."""
    return tuple(int(p) if isinstance(p, bool) else p for p in (params or ()))


def _raw(url: str) -> psycopg.Connection:
    try:
        conn = psycopg.connect(
            url, autocommit=True, cursor_factory=psycopg.ClientCursor, connect_timeout=CONNECT_TIMEOUT, application_name="policyd"
        )
    except psycopg.Error as err:
        raise StoreError(explain(url, err)) from None
    conn.adapters.register_loader("numeric", _Number)
    return conn


class Connection:
    """A PostgreSQL connection with sqlite3's manners (autocommit until BEGIN; see the module's words)."""

    engine = "postgres"

    def __init__(self, url: str):
        self.url = url
        self.target = redact(url)
        self._conn = _raw(url)
        self.total_changes = 0
        self.closed = False
        self._later: list[str] = []  # SAVEPOINT and RELEASE words, sent with the next statement (one round trip)

    # ------------------------------------------------------------ state
    @property
    def in_transaction(self) -> bool:
        if self._conn.broken or self._conn.closed:
            return False
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def _fresh(self) -> None:
        """Open the connection again when the server dropped it (never inside a transaction)."""
        if (self._conn.broken or self._conn.closed) and not self.closed:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = _raw(self.url)

    # ------------------------------------------------------------ statements
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run one statement (SQLite's words, `?` placeholders); a cursor to fetch from."""
        head = sql.lstrip()[:16].lower()
        if head.startswith(("savepoint", "release")) and self.in_transaction:
            self._later.append(sql.strip())  # answers nothing: it goes ahead of the next statement, in order
            return None
        if head.startswith("rollback") and (self._conn.broken or self._conn.closed):
            return None  # the server ended the transaction with the connection: nothing is left to roll back
        retry = not self.in_transaction and (head.startswith("begin") or head.startswith("select"))
        if retry:
            try:
                self._fresh()
            except StoreError as err:
                raise OperationalError(err.message) from None
        try:
            return self._run(sql, head, params)
        except psycopg.OperationalError as err:
            if not retry or not self._conn.broken:
                raise _error(self.url, err) from None
        try:  # the connection was dropped before this statement did anything: once more, on a new one
            self._fresh()
            return self._run(sql, head, params)
        except StoreError as err:
            raise OperationalError(err.message) from None
        except psycopg.Error as err:
            raise _error(self.url, err) from None

    def _run(self, sql: str, head: str, params: Sequence[Any] | None) -> psycopg.Cursor:
        later, self._later = self._later, []
        try:
            cur = self._conn.cursor()
            if head.startswith("begin"):
                words = sql.split()
                if len(words) > 1 and words[1].lower() in ("immediate", "exclusive"):
                    cur.execute(f"begin; select pg_advisory_xact_lock({WRITE_LOCK})")
                elif len(words) > 1 and words[1].lower() == "concurrent":
                    cur.execute(f"begin isolation level read committed; select pg_advisory_xact_lock_shared({WRITE_LOCK})")
                else:
                    cur.execute("begin isolation level repeatable read")
                return cur
            if later and not head.startswith("rollback"):
                cur.execute("; ".join(later) + "; " + translate(sql), _args(params))
                while cur.nextset():
                    pass  # the statement's own result is the last
            else:  # a full rollback drops the savepoints with the transaction; ROLLBACK TO follows them
                if later and head.startswith("rollback to"):
                    cur.execute("; ".join(later))
                cur.execute(translate(sql), _args(params))
            if cur.rowcount > 0 and head.startswith(("insert", "update", "delete")):
                self.total_changes += cur.rowcount
            return cur
        except psycopg.OperationalError:
            raise
        except psycopg.Error as err:
            raise _error(self.url, err) from None

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        for params in seq:
            self.execute(sql, params)

    def raw_execute(self, sql: str) -> None:
        """A statement as written, for PostgreSQL's own DDL (the functions `pg_sql.FUNCTIONS`, triggers)."""
        try:
            self._conn.execute(sql)
        except psycopg.Error as err:
            raise _error(self.url, err) from None

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self.closed = True
        try:
            self._conn.close()
        except psycopg.Error:
            pass


def connect(url: str) -> Connection:
    """A connection to the database `url` names; StoreError, naming server and database, when it cannot be had."""
    return Connection(url)
