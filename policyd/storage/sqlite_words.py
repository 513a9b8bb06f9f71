"""What a SQLite error on the database file means, in words, with what to do about it."""

from __future__ import annotations

import os


def explain(path: str | os.PathLike, err: BaseException) -> str:
    """What a SQLite error on the database file means, in words, with what to do about it."""
    text = str(err)
    low = text.lower()
    name = os.path.basename(os.fspath(path))
    if "not a database" in low:
        return (
            f"{path}: not a policyd store ({text}): the file holds something else, or its first page was overwritten; "
            "point --db at the policyd database, or restore this one from a backup"
        )
    if "malformed" in low or "corrupt" in low:
        return (
            f"{path}: the database is damaged ({text}): it was truncated or overwritten in part; restore it from a backup "
            f"(`sqlite3 {path} .recover` may save what is left)"
        )
    if "readonly" in low or "read-only" in low:
        return (
            f"{path}: the database cannot be written ({text}): give this user write access to the file and its directory "
            f"(SQLite also writes {name}-wal and {name}-shm beside it), or mount the disk read-write"
        )
    if "disk is full" in low or "database or disk is full" in low:
        return f"{path}: the disk holding the database is full ({text}): free space on it, then retry"
    if "disk i/o error" in low or "i/o" in low:
        return f"{path}: the disk failed reading or writing the database ({text}): check the disk and its free space, then retry"
    if "unable to open" in low or "cannot open" in low:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.exists(path) and not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
            return (
                f"{path}: cannot open the policy store ({text}): the file or its directory is read-only here, and SQLite "
                f"writes {name}-wal and {name}-shm beside the database even to read it: give this user write access, "
                "or mount the disk read-write"
            )
        return f"{path}: cannot open the policy store ({text}): check that its directory exists and that this user may write there"
    if "locked" in low or "busy" in low:
        return f"{path}: the database stayed locked by another process for 10 s ({text}): retry; if it persists, find what holds it"
    return f"{path}: the database failed ({text})"
