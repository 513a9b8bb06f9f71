"""The database engines behind `storage.db.connect`: SQLite (a file, the default) and PostgreSQL (a URL).

`connect(target)` takes a path or a `postgresql://` URL. Both answer the same
DB-API calls (`execute`, `executemany`, `fetchone`, `in_transaction`, `total_changes`)
and raise the same error classes (sqlite3's, which psycopg's errors are raised as),
so the callers above the seam are written once. psycopg is imported only by
`engines.postgres`, and only when a URL is opened.
"""

from __future__ import annotations

import os
import re
import sqlite3
from typing import Any

from ..sqlite_words import explain as explain_file
from . import pg_schema
from . import sqlite as sqlite_engine

SCHEMES = ("postgresql://", "postgres://")


class LockBusy(sqlite3.OperationalError):
    """A lock another transaction holds, asked for without waiting, or a deadlock the server broke: nothing was
    changed, and the same work can be tried again at once (only PostgreSQL raises it)."""


def is_url(target: str | os.PathLike | None) -> bool:
    """Whether `target` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and target.lower().startswith(SCHEMES)


def redact(target: str | os.PathLike) -> str:
    """The target as it may be printed: a URL without its password."""
    text = os.fspath(target)
    if not is_url(text):
        return text
    text = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", text)
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", text)


def is_postgres(conn: Any) -> bool:
    """Whether a connection (or a migration's `db`) is PostgreSQL's."""
    return getattr(conn, "engine", None) == "postgres" or isinstance(conn, pg_schema.Database)


def explain(target: str | os.PathLike, err: BaseException) -> str:
    """A database error in words, naming the file (or the server and database, without the password) and what to do."""
    if is_url(target):
        return str(err) if redact(target) in str(err) or "PostgreSQL" in str(err) else f"{redact(target)}: the database failed ({err})"
    return explain_file(target, err)


def table_names(conn: Any) -> set[str]:
    """The tables the database holds."""
    return set(pg_schema.table_names(conn) if is_postgres(conn) else sqlite_engine.table_names(conn))


def data_version(conn: Any) -> Any:
    """A value that changes when another connection commits (SQLite's data_version; on PostgreSQL, the sizes of the
    rows other writers make that a daemon must notice: the activation log, the seeds, and the governance rows, whose
    pending ones a schedule's cancel or an approval changes without adding a row)."""
    if is_postgres(conn):
        return conn.execute(
            "select (select coalesce(max(id), 0) from activations), (select count(*) from lottery_seeds),"
            " (select coalesce(max(id), 0) from governance), (select count(*) from governance where status = 'pending')"
        ).fetchone()
    return conn.execute("PRAGMA data_version").fetchone()[0]


def exists(target: str | os.PathLike) -> bool:
    """Whether the database is there to read: a file that exists (a URL: the server says so on connecting)."""
    return is_url(target) or os.path.exists(target)


def target_of(conn: Any) -> str:
    """The file (or the URL) a connection is open on: what opens another connection to the same database."""
    if is_postgres(conn):
        return conn.url
    return next(r[2] for r in conn.execute("pragma database_list").fetchall() if r[1] == "main")
