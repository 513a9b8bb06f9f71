"""Versioned policy store in SQLite (the only module that imports sqlite-utils).

A version is an immutable bundle: the policy file and its `team from` files,
hashed together. One version is active at a time; every activation is recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .load import Loaded, load_text

DEFAULT_DB = "policyd.db"


def default_db_path() -> str:
    return os.environ.get("POLICYD_DB") or DEFAULT_DB


class StoreError(Exception):
    """A store operation that cannot be done (unknown version, nothing to roll back to)."""


@dataclass(frozen=True)
class Version:
    number: int
    hash: str
    parent: int | None
    author: str
    message: str
    created_at: float
    main_file: str
    files: dict[str, str]

    def load(self) -> Loaded:
        """Parse the stored bundle (team files are read from the bundle, not the disk)."""
        return load_bundle(self.main_file, self.files, label=f"@{self.number}")


def bundle_hash(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode("utf-8") + b"\0" + files[name].encode("utf-8") + b"\0")
    return h.hexdigest()


def load_bundle(main_file: str, files: dict[str, str], label: str = "") -> Loaded:
    """Load a policy whose files are held in memory, by writing nothing to disk."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="policyd-bundle-") as tmp:
        for name, text in files.items():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        loaded = load_text(files[main_file], main_file, Path(tmp) / Path(main_file).parent)
    loaded.label = label or main_file
    return loaded


class Store:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = str(path or default_db_path())
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self._migrate()

    def _migrate(self) -> None:
        if "versions" not in self.db.table_names():
            self.db["versions"].create(
                {
                    "number": int,
                    "hash": str,
                    "parent": int,
                    "author": str,
                    "message": str,
                    "created_at": float,
                    "main_file": str,
                    "files": str,
                },
                pk="number",
                not_null={"hash", "author", "message", "created_at", "main_file", "files"},
            )
        if "activations" not in self.db.table_names():
            self.db["activations"].create(
                {"id": int, "number": int, "by": str, "at": float, "previous": int}, pk="id", foreign_keys=[("number", "versions")]
            )

    def _row_to_version(self, row: dict) -> Version:
        return Version(
            row["number"],
            row["hash"],
            row["parent"],
            row["author"],
            row["message"],
            row["created_at"],
            row["main_file"],
            json.loads(row["files"]),
        )

    def versions(self) -> list[Version]:
        return [self._row_to_version(r) for r in self.db.query("select * from versions order by number desc")]

    def latest(self) -> Version | None:
        rows = list(self.db.query("select * from versions order by number desc limit 1"))
        return self._row_to_version(rows[0]) if rows else None

    def get(self, ref: str | int) -> Version:
        """A version by number (`3`, `@3`) or name (`@active`, `@previous`, `@latest`)."""
        text = str(ref).lstrip("@")
        if text == "active":
            v = self.active()
            if v is None:
                raise StoreError("no version is active yet; run `policyd activate @N`")
            return v
        if text == "previous":
            acts = list(self.db.query("select number from activations order by id desc limit 2"))
            if len(acts) < 2:
                raise StoreError("there is no previously active version")
            return self.get(acts[1]["number"])
        if text == "latest":
            v = self.latest()
            if v is None:
                raise StoreError("the store has no versions yet; run `policyd publish POLICY -m ...`")
            return v
        if not text.isdigit():
            raise StoreError(f"not a version reference: {ref!r} (expected @N, @active, @previous or @latest)")
        rows = list(self.db.query("select * from versions where number = ?", [int(text)]))
        if not rows:
            raise StoreError(f"no version {text} in {self.path}")
        return self._row_to_version(rows[0])

    def active(self) -> Version | None:
        rows = list(self.db.query("select number from activations order by id desc limit 1"))
        return self.get(rows[0]["number"]) if rows else None

    def publish(self, main_file: str, files: dict[str, str], message: str, author: str, now: float | None = None) -> tuple[Version, bool]:
        """Store a bundle as the next version; (version, False) when identical to the latest."""
        digest = bundle_hash(files)
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("select number, hash from versions order by number desc limit 1").fetchone()
            if row is not None and row[1] == digest:
                conn.execute("ROLLBACK")
                return self.get(row[0]), False
            number = (row[0] + 1) if row else 1
            conn.execute(
                "insert into versions (number, hash, parent, author, message, created_at, main_file, files) values (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    digest,
                    row[0] if row else None,
                    author,
                    message,
                    now if now is not None else time.time(),
                    main_file,
                    json.dumps(files, sort_keys=True),
                ),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return self.get(number), True

    def activate(self, ref: str | int, by: str, now: float | None = None) -> Version:
        v = self.get(ref)
        current = self.active()
        with self.db.atomic():
            self.db["activations"].insert(
                {
                    "number": v.number,
                    "by": by,
                    "at": now if now is not None else time.time(),
                    "previous": current.number if current else None,
                }
            )
        return v

    def activations(self) -> list[dict]:
        return list(self.db.query("select * from activations order by id desc"))
