"""Versioned policy store in SQLite.

A version is an immutable bundle: the policy file and its `team from` files,
hashed together. Every activation (and rollback) is recorded with who and
when, so the log answers "what was live when".

Versions are filed under their policy's name (the `policy NAME` header, else the
file's stem: storage/names.py), and each name has its own active version, its own
`@previous` and its own activation log: `inbound@active`, `emea@previous`. Version
numbers stay global, one line for the whole store: every decision, audit record and
runtime row names the version that made it by number alone, and a number must keep
meaning one bundle. So `@7` is never ambiguous, and `emea@7` is refused unless 7 is
an emea version. A store holding one name behaves as before: `@active` is that
policy's; with several names a bare `@active`, `@previous` or `@latest` is refused
with the names listed. The file is opened through `db.database`, which applies the one migration
chain (storage/db.py); its triggers make versions and the activation log
append-only at the database level, not just by convention in this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..checks.load import Loaded, load_text
from ..lang import model as m
from ..lang.diagnostics import ERROR, Diagnostic, PolicyError
from ..lang.model import Span
from . import db as dbfile
from .engines import redact
from .errors import NotFound, Refused, StoreError
from .names import policy_name

_REF = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_.-]*)@|@)?(\d+|active|previous|latest)$")

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
    policy: str = ""

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
    policy: str = ""


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
            row.get("policy") or "",
        )

    def policies(self) -> list[str]:
        """The policy names the store holds versions of, sorted."""
        return [r["policy"] for r in self.db.query("select distinct policy from versions order by policy")]

    def ref_of(self, v: Version) -> str:
        """How a version is named: `@3` while the store holds one policy, `inbound@3` once it holds several."""
        return f"{v.policy}@{v.number}" if len(self.policies()) > 1 else f"@{v.number}"

    def _one_policy(self, what: str) -> str | None:
        """The store's one policy name (None when empty); BadReference listing them when there are several."""
        names = self.policies()
        if len(names) > 1:
            raise BadReference(f"the store holds policies {', '.join(names)}: name one, e.g. {names[-1]}@{what}")
        return names[0] if names else None

    def _named(self, policy: str) -> str:
        names = self.policies()
        if policy not in names:
            raise UnknownVersion(f"no policy {policy!r} in {redact(self.path)} (it holds {', '.join(names) or 'no versions yet'})")
        return policy

    def versions(self, policy: str | None = None) -> list[Version]:
        """Every version (of one policy, with `policy`), newest first."""
        if policy is None:
            rows = self.db.query("select * from versions order by number desc")
        else:
            rows = self.db.query("select * from versions where policy = ? order by number desc", [self._named(policy)])
        return [self._row_to_version(r) for r in rows]

    def latest(self, policy: str | None = None) -> Version | None:
        """The newest version (of one policy, with `policy`)."""
        where, args = ("where policy = ?", [policy]) if policy is not None else ("", [])
        rows = list(self.db.query(f"select * from versions {where} order by number desc limit 1", args))
        return self._row_to_version(rows[0]) if rows else None

    def find_hash(self, digest: str) -> Version | None:
        """The oldest version with this content, if any."""
        rows = list(self.db.query("select * from versions where hash = ? order by number limit 1", [digest]))
        return self._row_to_version(rows[0]) if rows else None

    def get(self, ref: str | int) -> Version:
        """A version by number (`3`, `@3`, `inbound@3`) or name (`@active`, `inbound@previous`, `@latest`)."""
        found = _REF.match(str(ref).strip())
        if found is None:
            raise BadReference(f"not a version reference: {ref!r} (expected @N, @active, @previous or @latest)")
        name, text = found.groups()
        policy = self._named(name) if name else None
        at = f"{name}@" if name else "@"
        if text in ("active", "previous", "latest"):
            policy = policy if policy is not None else self._one_policy(text)
        if text == "active":
            v = self.active(policy) if policy is not None else None
            if v is None:
                raise UnknownVersion(
                    f"no version {'of ' + policy + ' ' if name else ''}is active yet in {redact(self.path)}; run `policyd activate {at}N`"
                )
            return v
        if text == "previous":
            stack = self._active_stack(policy) if policy is not None else []
            if len(stack) < 2:
                raise UnknownVersion(f"there is no previously active version {'of ' + policy + ' ' if name else ''}in {redact(self.path)}")
            return self.get(stack[-2])
        if text == "latest":
            v = self.latest(policy) if policy is not None else None
            if v is None:
                raise UnknownVersion(f"the store {redact(self.path)} has no versions yet; run `policyd publish POLICY -m ...`")
            return v
        rows = list(self.db.query("select * from versions where number = ?", [int(text)]))
        if not rows or (policy is not None and rows[0]["policy"] != policy):
            latest = self.latest(policy)
            if policy is not None:
                known = f"its versions are {', '.join(f'{policy}@{v.number}' for v in reversed(self.versions(policy)))}"
            else:
                known = f"versions are @1..@{latest.number}" if latest else "it has no versions yet"
            raise UnknownVersion(f"no version {name + '@' if name else ''}{int(text)} in {redact(self.path)} ({known})")
        return self._row_to_version(rows[0])

    def activations(self, policy: str | None = None) -> list[dict]:
        """The activation log (of one policy, with `policy`), newest first (plain rows, for the daemon and the CLI)."""
        if policy is None:
            return list(self.db.query("select * from activations order by id desc"))
        return list(self.db.query("select * from activations where policy = ? order by id desc", [policy]))

    def activation_log(self, policy: str | None = None) -> list[Activation]:
        return [
            Activation(r["id"], r["number"], r["by"], r["at"], r["previous"], r.get("action") or "activate", r.get("policy") or "")
            for r in self.activations(policy)
        ]

    def _active_stack(self, policy: str) -> list[int]:
        """A policy's versions made active in turn, with rolled-back activations popped off.

        activate 1, 2, 3 then rollback gives [1, 2]: 2 is active, 1 is previous, and a
        second rollback goes back to 1 (not forth to 3).
        """
        stack: list[int] = []
        for r in self.db.query("select number, action from activations where policy = ? order by id", [policy]):
            if r.get("action") == "rollback" and stack:
                stack.pop()
                if not stack or stack[-1] != r["number"]:
                    stack.append(r["number"])
            else:
                stack.append(r["number"])
        return stack

    def active(self, policy: str | None = None) -> Version | None:
        """The active version of `policy` (of the store's one policy without it; BadReference when it holds several)."""
        if policy is None:
            policy = self._one_policy("active")
            if policy is None:
                return None
        rows = list(self.db.query("select number from activations where policy = ? order by id desc limit 1", [policy]))
        return self.get(rows[0]["number"]) if rows else None

    def active_versions(self) -> dict[str, Version]:
        """The active version of each policy that has one, by name."""
        out = {}
        for name in self.policies():
            v = self.active(name)
            if v is not None:
                out[name] = v
        return out

    # ------------------------------------------------------------ writing
    def publish(self, main_file: str, files: dict[str, str], message: str, author: str, now: float | None = None) -> tuple[Version, bool]:
        """Store a bundle as the next version; (latest, False) when identical to its policy's latest.

        The number is chosen under SQLite's write lock (BEGIN IMMEDIATE), so concurrent
        publishers queue up: each gets the next number, none is lost.
        """
        if main_file not in files:
            raise BadReference(f"the bundle has no file {main_file!r}")
        digest = bundle_hash(files)
        name = policy_name(main_file, files[main_file])
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("select number, hash from versions where policy = ? order by number desc limit 1", (name,)).fetchone()
            if row is not None and row[1] == digest:
                conn.execute("ROLLBACK")
                return self.get(row[0]), False
            top = conn.execute("select max(number) from versions").fetchone()[0]
            number = (top or 0) + 1
            conn.execute(
                "insert into versions (number, hash, parent, author, message, created_at, main_file, files, policy)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    digest,
                    row[0] if row else None,
                    author,
                    message,
                    now if now is not None else time.time(),
                    main_file,
                    json.dumps(files, sort_keys=True),
                    name,
                ),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return self.get(number), True

    def _record(self, v: Version, by: str, now: float | None, action: str) -> None:
        conn = self.db.conn
        current = conn.execute("select number from activations where policy = ? order by id desc limit 1", (v.policy,)).fetchone()
        conn.execute(
            "insert into activations (number, by, at, previous, action, policy) values (?, ?, ?, ?, ?, ?)",
            (v.number, by, now if now is not None else time.time(), current[0] if current else None, action, v.policy),
        )

    def activate(self, ref: str | int, by: str, now: float | None = None) -> Version:
        """Make a version the active one and log it. Activating the active version logs nothing."""
        with dbfile.write_lock(self.db.conn):
            v = self.get(ref)
            self.make_active(v, by, now)
        return v

    def make_active(self, v: Version, by: str, now: float | None) -> None:
        """Log `v`'s activation unless it is the active version already (inside a write_lock)."""
        current = self.active(v.policy)
        if current is None or current.number != v.number:
            self._record(v, by, now, "activate")

    def rollback(
        self, by: str, now: float | None = None, policy: str | None = None, check: Callable[[Version], None] | None = None
    ) -> tuple[Version, Version]:
        """Go back to the previously active version (of `policy`, which a store of several needs); returns (from, to).

        `check(target)` runs inside the transaction and may refuse the target (storage/teams.py: a rep belongs to one team)."""
        with dbfile.write_lock(self.db.conn):
            name = self._named(policy) if policy is not None else self._one_policy("previous")
            current = self.active(name) if name is not None else None
            if current is None:
                raise UnknownVersion(
                    f"no version {'of ' + name + ' ' if policy else ''}is active yet in {redact(self.path)}; nothing to roll back"
                )
            target = self.get(f"{name}@previous" if policy else "@previous")
            if check is not None:
                check(target)
            self._record(target, by, now, "rollback")
        return current, target
