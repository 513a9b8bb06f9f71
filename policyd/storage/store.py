"""Versioned policy store in SQLite.

A version is an immutable bundle: the policy file and its `team from` files,
hashed together. One version is active at a time; every activation (and
rollback) is recorded with who and when, so the log answers "what was live
when". The file is opened through `db.database`, which applies the one migration
chain (storage/db.py); its triggers make versions and the activation log
append-only at the database level, not just by convention in this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import time
from dataclasses import dataclass
from pathlib import Path

from ..checks.load import Loaded, load_text
from ..lang import model as m
from ..lang.diagnostics import ERROR, Diagnostic, PolicyError
from ..lang.model import Span
from . import db as dbfile
from .errors import NotFound, Refused, StoreError

DEFAULT_DB = "policyd.db"


def default_db_path() -> str:
    return os.environ.get("POLICYD_DB") or DEFAULT_DB


__all__ = ["StoreError", "Store", "Version", "Activation", "UnknownVersion", "BadReference"]


class UnknownVersion(NotFound, StoreError):
    """No such version, or no active/previous/latest one yet."""


class BadReference(Refused, StoreError):
    """A version reference that is not @N or a name."""


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

    @property
    def short_hash(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True)
class Activation:
    """One row of the activation log: `number` became active, by whom, when."""

    id: int
    number: int
    by: str
    at: float
    previous: int | None
    action: str  # activate | rollback


def bundle_hash(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode("utf-8") + b"\0" + files[name].encode("utf-8") + b"\0")
    return h.hexdigest()


def load_bundle(main_file: str, files: dict[str, str], label: str = "") -> Loaded:
    """Load a policy whose files are held in memory (written to a private temporary directory)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="policyd-bundle-") as tmp:
        for name, text in files.items():
            path = (Path(tmp) / name).resolve()
            if not path.is_relative_to(Path(tmp).resolve()):  # a bundle names files inside itself, never beyond
                raise PolicyError([Diagnostic("P012", ERROR, Span(main_file, 0, 0), f"the bundle names a file outside itself: {name!r}")])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        prefixes = tuple(dict.fromkeys(str(p).replace(os.sep, "/").rstrip("/") + "/" for p in (Path(tmp), Path(tmp).resolve())))

        def rename(file: str) -> str:
            file = file.replace(os.sep, "/")
            for prefix in prefixes:
                if file.startswith(prefix):
                    return file[len(prefix) :]
            return file

        try:
            loaded = load_text(files[main_file], main_file, Path(tmp) / Path(main_file).parent, root=Path(tmp))
        except PolicyError as err:
            raise PolicyError(_respan(list(err.diagnostics), rename), {rename(k): v for k, v in (err.sources or {}).items()}) from None
    # the temporary directory is gone: name the team file as the bundle does, everywhere
    loaded = Loaded(_respan(loaded.policy, rename), _respan(loaded.diagnostics, rename), label or main_file)
    return loaded


def _respan(obj, rename):
    """A copy of a model object (or diagnostics) with every span's file renamed."""
    if isinstance(obj, Span):
        return dataclasses.replace(obj, file=rename(obj.file))
    if isinstance(obj, tuple):
        return tuple(_respan(x, rename) for x in obj)
    if isinstance(obj, list):
        return [_respan(x, rename) for x in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            new = _respan(value, rename)
            if new is not value:
                changes[f.name] = new
        if isinstance(obj, m.Policy):
            changes["file"] = rename(obj.file)
            changes["sources"] = tuple((rename(n), t) for n, t in obj.sources)
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj


def bundle_of(loaded: Loaded) -> tuple[str, dict[str, str]]:
    """The bundle (main file name, {name: text}) of a loaded policy, exactly as it was checked."""
    policy = loaded.policy
    sources = list(policy.sources)
    team = policy.team
    team_file = (team.source, sources[1][1]) if team is not None and team.source and len(sources) > 1 else None
    return make_bundle(policy.file, sources[0][1], team_file)


def make_bundle(main_path: str, main_text: str, team: tuple[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """Name a bundle's files relative to the policy's own directory.

    So the same content hashes the same wherever it was published from (a file, a
    git revision): `policies/inbound.policy` with `team from "team.policy"` becomes
    `inbound.policy` and `team.policy`. A team file above the policy's directory
    keeps its place by moving the policy down (`d0/inbound.policy`, `team.policy`).
    """
    main_name = posixpath.basename(main_path.replace(os.sep, "/")) or "policy.policy"
    if team is None:
        return main_name, {main_name: main_text}
    rel = posixpath.normpath(team[0])
    depth = rel.count("../") if rel.startswith("../") else 0
    if depth:
        main_name = posixpath.join(*[f"d{i}" for i in range(depth)], main_name)
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(main_name), team[0]))
    return main_name, {main_name: main_text, rel: team[1]}


# ---------------------------------------------------------------- the store
class Store:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = str(path or default_db_path())
        self.db = dbfile.database(self.path)  # StoreError when the file cannot be used

    def close(self) -> None:
        self.db.close()

    def applied_migrations(self) -> list[str]:
        return dbfile.applied(self.db.conn)

    # ------------------------------------------------------------ reading
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
        """Every version, newest first."""
        return [self._row_to_version(r) for r in self.db.query("select * from versions order by number desc")]

    def latest(self) -> Version | None:
        rows = list(self.db.query("select * from versions order by number desc limit 1"))
        return self._row_to_version(rows[0]) if rows else None

    def find_hash(self, digest: str) -> Version | None:
        """The oldest version with this content, if any."""
        rows = list(self.db.query("select * from versions where hash = ? order by number limit 1", [digest]))
        return self._row_to_version(rows[0]) if rows else None

    def get(self, ref: str | int) -> Version:
        """A version by number (`3`, `@3`) or name (`@active`, `@previous`, `@latest`)."""
        text = str(ref).strip().lstrip("@")
        if text == "active":
            v = self.active()
            if v is None:
                raise UnknownVersion(f"no version is active yet in {self.path}; run `policyd activate @N`")
            return v
        if text == "previous":
            stack = self._active_stack()
            if len(stack) < 2:
                raise UnknownVersion(f"there is no previously active version in {self.path}")
            return self.get(stack[-2])
        if text == "latest":
            v = self.latest()
            if v is None:
                raise UnknownVersion(f"the store {self.path} has no versions yet; run `policyd publish POLICY -m ...`")
            return v
        if not text.isdigit():
            raise BadReference(f"not a version reference: {ref!r} (expected @N, @active, @previous or @latest)")
        rows = list(self.db.query("select * from versions where number = ?", [int(text)]))
        if not rows:
            latest = self.latest()
            known = f"versions are @1..@{latest.number}" if latest else "it has no versions yet"
            raise UnknownVersion(f"no version {int(text)} in {self.path} ({known})")
        return self._row_to_version(rows[0])

    def activations(self) -> list[dict]:
        """The activation log, newest first (plain rows, for the daemon and the CLI)."""
        return list(self.db.query("select * from activations order by id desc"))

    def activation_log(self) -> list[Activation]:
        return [
            Activation(r["id"], r["number"], r["by"], r["at"], r["previous"], r.get("action") or "activate") for r in self.activations()
        ]

    def _active_stack(self) -> list[int]:
        """Versions made active in turn, with rolled-back activations popped off.

        activate 1, 2, 3 then rollback gives [1, 2]: 2 is active, 1 is previous, and a
        second rollback goes back to 1 (not forth to 3).
        """
        stack: list[int] = []
        for r in self.db.query("select number, action from activations order by id"):
            if r.get("action") == "rollback" and stack:
                stack.pop()
                if not stack or stack[-1] != r["number"]:
                    stack.append(r["number"])
            else:
                stack.append(r["number"])
        return stack

    def active(self) -> Version | None:
        rows = list(self.db.query("select number from activations order by id desc limit 1"))
        return self.get(rows[0]["number"]) if rows else None

    # ------------------------------------------------------------ writing
    def publish(self, main_file: str, files: dict[str, str], message: str, author: str, now: float | None = None) -> tuple[Version, bool]:
        """Store a bundle as the next version; (latest, False) when identical to the latest.

        The number is chosen under SQLite's write lock (BEGIN IMMEDIATE), so concurrent
        publishers queue up: each gets the next number, none is lost.
        """
        if main_file not in files:
            raise BadReference(f"the bundle has no file {main_file!r}")
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
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return self.get(number), True

    def _record(self, number: int, by: str, now: float | None, action: str) -> None:
        conn = self.db.conn
        current = conn.execute("select number from activations order by id desc limit 1").fetchone()
        conn.execute(
            "insert into activations (number, by, at, previous, action) values (?, ?, ?, ?, ?)",
            (number, by, now if now is not None else time.time(), current[0] if current else None, action),
        )

    def activate(self, ref: str | int, by: str, now: float | None = None) -> Version:
        """Make a version the active one and log it. Activating the active version logs nothing."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            v = self.get(ref)
            current = self.active()
            if current is None or current.number != v.number:
                self._record(v.number, by, now, "activate")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return v

    def rollback(self, by: str, now: float | None = None) -> tuple[Version, Version]:
        """Go back to the previously active version; returns (from, to)."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = self.active()
            if current is None:
                raise UnknownVersion(f"no version is active yet in {self.path}; nothing to roll back")
            target = self.get("@previous")
            self._record(target.number, by, now, "rollback")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return current, target
