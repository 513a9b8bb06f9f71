"""Bearer tokens with roles, stored hashed.

A token is shown once, when it is created; the database keeps only its sha256, so
a copy of the database (or a log line) never lets anyone in. Roles are ordered:
`read` (dashboards) < `assign` (CRM clients: assign, accept, close) < `admin`
(overrides, availability, activation); a role may do what the roles below it do.
The table is made by the migration chain (storage/db.py): pass a `db.connect` connection.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass

ROLES = ("read", "assign", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}
PREFIX = "pd_"


class TokenError(ValueError):
    """A token that cannot be created (unknown role, empty name)."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(conn: sqlite3.Connection, name: str, role: str, now: float | None = None) -> str:
    """Store a new token's hash and return the token itself (the only time it is seen)."""
    if role not in _RANK:
        raise TokenError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise TokenError("a token needs a name (who or what uses it)")
    token = PREFIX + secrets.token_urlsafe(32)
    with conn:
        conn.execute(
            "insert into tokens (name, role, hash, created_at) values (?, ?, ?, ?)",
            (name, role, digest(token), time.time() if now is None else now),
        )
    return token


def listing(conn: sqlite3.Connection) -> list[dict]:
    rows = conn.execute("select id, name, role, created_at from tokens order by id").fetchall()
    return [{"id": r[0], "name": r[1], "role": r[2], "created_at": r[3]} for r in rows]


class TokenCache:
    """Look tokens up by hash; known ones are cached, unknown ones re-read (a token may be created while serving)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._known: dict[str, Identity] = {}

    def identify(self, token: str | None) -> Identity | None:
        if not token:
            return None
        h = digest(token)
        who = self._known.get(h)
        if who is None:
            row = self.conn.execute("select name, role from tokens where hash = ?", (h,)).fetchone()
            if row is None:
                return None
            who = self._known[h] = Identity(row[0], row[1])
        return who
