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

SCHEMES = ("postgresql://", "postgres://")


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
