"""The `governance` table's one writer of rows: approvals, held overrides, reviews and schedules.

Each kind keeps its own module (approvals.py, reviews.py, schedule.py); the row they
all add, and the id it gets on either engine, is written here once.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def add_row(
    conn: sqlite3.Connection, kind: str, subject: str, data: dict[str, Any], by: str, at: float, status: str, due: float | None = None
) -> int:
    """Add one row inside the caller's transaction; its id (by RETURNING, which both engines answer)."""
    (rid,) = conn.execute(
        "insert into governance (kind, subject, data, by, at, due, status) values (?, ?, ?, ?, ?, ?, ?) returning id",
        (kind, subject, json.dumps(data), by, at, due, status),
    ).fetchone()
    return rid
