"""SQLite: the database is one file (the embedded default).

Opens the file with the pragmas every user needs (WAL, fsync on every commit, a busy
timeout); `storage.db.connect` then runs the migration chain on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable

from ..errors import StoreError
from ..sqlite_words import explain


def connect(path: str | os.PathLike, migrate: Callable[[sqlite3.Connection], object]) -> sqlite3.Connection:
    """A connection in autocommit mode (callers BEGIN themselves), WAL, fsync on every commit, migrated.

    Usable from any thread (the daemon hands its connections to worker threads).
    A missing file is a new database; an existing file of zero bytes is refused
    (`EmptyDatabase`), never silently made into a new one. StoreError, naming the
    file and what to do, when it cannot be opened, is damaged or is not a database.
    """
    with _opening(path):
        refuse_empty(path)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
        except sqlite3.Error as err:
            raise StoreError(explain(path, err)) from None
        return _set_up(conn, path, migrate)


@contextlib.contextmanager
def _opening(path: str | os.PathLike):
    """Openers of one folder's databases take turns setting up (an OS lock on the folder).

    Two processes creating one file at once can deadlock in SQLite's switch to WAL (a
    lock no busy timeout waits out). Set-up is short (pragmas, pending migrations), the
    kernel drops the lock if a process dies, and reads and writes afterwards do not take it.
    """
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
    except OSError:
        yield  # sqlite3 will say what is wrong with the folder
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _set_up(conn: sqlite3.Connection, path: str | os.PathLike, migrate: Callable[[sqlite3.Connection], object]) -> sqlite3.Connection:
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        migrate(conn)
    except sqlite3.Error as err:
        conn.close()
        raise StoreError(explain(path, err)) from None
    except BaseException:
        conn.close()
        raise
    return conn


class EmptyDatabase(StoreError):
    """A database file of zero bytes: not a new store (that is a missing file), so never initialised."""


def refuse_empty(path: str | os.PathLike, wait: float = 1.0) -> None:
    """Refuse an existing file of zero bytes (a failed copy, a truncation, a full disk, `touch`).

    SQLite writes a new file's first page right after creating it (`connect` sets WAL
    at once), so a zero-byte file is only new for the few milliseconds another opener
    takes to do so: wait that long before refusing. A file whose content is still
    all in its `-wal` is not empty.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            if os.stat(path).st_size > 0:
                return
        except OSError:
            return  # missing (a new database) or unreadable: sqlite3 says which
        try:
            if os.stat(f"{os.fspath(path)}-wal").st_size > 0:
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    raise EmptyDatabase(
        f"{path}: the file is empty (0 bytes), so it is not a policyd database, and policyd will not make it a new one: "
        "if it should hold your data it was truncated (a failed copy, a full disk), so restore it from a backup; "
        "to start a new database instead, delete the empty file (or point --db at a path that does not exist yet)"
    )


def table_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
