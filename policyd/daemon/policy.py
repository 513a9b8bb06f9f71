"""Which policy version decides: compiled versions, activations picked up, activation asked for.

The store's activation log says what is active. A store may hold several policies
(storage/store.py), each with its own active version; a daemon serves every active
policy, each as a team of its own (or only the one named by `policyd serve --policy
NAME`). The writer looks once per batch
(`Versions.check`): `PRAGMA data_version` changes only when another connection
commits, so the common case (no activation) costs one pragma. A version that
cannot be loaded is logged and the one in force stays; `activate` refuses such a
version before it is ever made active.

A newly activated version is compiled on a thread of its own, never by the writer:
compiling a large policy takes seconds, and the writer keeps deciding with the
version in force until the new one is ready, then switches between two batches
(each decision records the team and version that made it). Versions activated
together switch together: no batch decides with a mix of old and new. Only the first version a daemon
serves is compiled before it starts, since there is nothing to serve before it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..door.route import CompiledDoor
from ..engine.codegen import Compiled
from ..storage.db import data_version
from ..storage.doors import is_door_version, load_stored_door
from ..storage.engines import redact
from ..storage.errors import Conflict, NotFound, Unusable
from ..storage.store import Store
from ..storage.teams import activate_set, latest_activations

log = logging.getLogger(__name__)


class UnusableVersion(Unusable):
    """A stored version with errors: it cannot be served, so it is not activated."""


@dataclass(frozen=True)
class Policy:
    """The active version of one team (policy name) and its compiled policy, swapped as one value."""

    version: int
    activation: int
    compiled: Compiled
    name: str = ""


@dataclass(frozen=True)
class ActiveDoor:
    """The active front door: its version, activation and compiled door (routes `POST /v1/assign`)."""

    version: int
    activation: int
    compiled: CompiledDoor
    name: str = ""


class SeveralActive(Unusable):
    """The daemon was told to serve a policy the store does not hold."""


def served_policy(store: Store, name: str) -> str:
    """The policy named by `policyd serve --policy NAME`, which must be in the store."""
    if name not in store.policies():
        raise SeveralActive(f"no policy {name!r} in {redact(store.path)} (it holds {', '.join(store.policies()) or 'no versions yet'})")
    return name


class Ambiguous(Conflict):
    """A call that names no team, to a daemon serving several: it says which teams there are."""


def pick_team(teams: list[str], name: str | None) -> str | None:
    """The team a call is for: `name` (which must be served), else the one team served (None when none is)."""
    if name is not None:
        if name not in teams:
            raise NotFound(f"no team {name!r} is served here (teams: {', '.join(teams) or 'none: no version is active'})", teams=teams)
        return name
    if len(teams) > 1:
        raise Ambiguous(
            f"this daemon serves several teams ({', '.join(teams)}): name one in the path, e.g. /v1/teams/{teams[0]}/...",
            teams=teams,
        )
    return teams[0] if teams else None


class Versions:
    """Compiled versions by number (cached: versions never change) and the activations in force, one per team."""

    def __init__(self, path: str, loader: Callable[[int], Compiled] | None = None, name: str | None = None):
        self.path = path
        self.name = name  # the one policy served (`--policy NAME`); None: every active policy, each a team
        self._loader = loader
        self._cache: dict[int, Compiled] = {}
        self._lock = threading.Lock()
        self.policies: dict[str, Policy] = {}  # by team; replaced as a whole, between two batches
        self.pending: list[dict] = []  # activations to record in the audit log with the next batch
        self._data_version: int | None = None
        self._compiling: dict[int, threading.Thread] = {}  # versions being compiled away from the writer
        self._failed: dict[int, str] = {}  # versions that could not be compiled, and why
        self._waiting: set[int] = set()  # activated versions being compiled away from the writer
        self._reported: set[int] = set()  # versions whose failure was logged
        self._started = False  # the first check (at start) has run
        self.door: ActiveDoor | None = None  # the front door (the door activated last), never a team
        self._doors: dict[int, bool] = {}  # whether a stored version is a door (versions never change)
        self._doors_failed: set[int] = set()  # door versions with errors: logged once, never served

    @property
    def policy(self) -> Policy | None:
        """The one team's policy when exactly one is served (what single-team callers read), else None."""
        pols = self.policies
        return next(iter(pols.values())) if len(pols) == 1 else None

    def teams(self) -> list[str]:
        """The teams (policy names) served now, sorted."""
        return sorted(self.policies)

    def compiled_for(self, version: int) -> Compiled:
        """The compiled policy of a stored version; UnusableVersion when it has errors."""
        with self._lock:
            c = self._cache.get(version)
        if c is None:
            c = self._load(version)
            with self._lock:
                self._cache[version] = c
        return c

    def _load(self, version: int) -> Compiled:
        if self._loader is not None:
            return self._loader(version)
        store = Store(self.path)
        try:
            loaded = store.get(version).load()
        finally:
            store.close()
        if loaded.errors:
            raise UnusableVersion(f"version {version} has errors and cannot be served; run `policyd check` on it")
        return loaded.compiled

    def changed(self, conn: sqlite3.Connection) -> bool:
        """Whether another connection committed since the last look (seeds or an activation may be new)."""
        dv = data_version(conn)
        if dv == self._data_version:
            return False
        self._data_version = dv
        return True

    def _compile_away(self, version: int) -> None:
        """Compile `version` on its own thread (once); `check` switches when it is in the cache."""
        with self._lock:
            if version in self._cache or version in self._compiling or version in self._failed:
                return

            def run() -> None:
                try:
                    self.compiled_for(version)
                except Exception as err:
                    with self._lock:
                        self._failed[version] = str(err)
                finally:
                    with self._lock:
                        self._compiling.pop(version, None)

            t = self._compiling[version] = threading.Thread(target=run, name=f"policyd-compile-{version}", daemon=True)
        t.start()

    def warm(self, version: int) -> None:
        """Compile a version ahead of its scheduled activation, away from the writer (daemon/schedule.py)."""
        self._compile_away(version)

    def compiling(self) -> list[int]:
        """Versions being compiled right now (health and tests ask)."""
        with self._lock:
            return sorted(self._compiling)

    def check(self, store: Store, changed: bool) -> None:
        """Switch to the newest activations this daemon does not serve yet, all teams at once, once all are compiled.

        The activation log is read in one statement, so a set activated in one
        transaction (`policyd activate inbound@3 emea@2`) is seen whole; the teams
        switch together, between two batches, so no decision sees a mix.
        """
        if not changed and self.policies and not self._waiting:
            return
        started, self._started = self._started, True
        if self.name is not None and not started:
            served_policy(store, self.name)  # refuse to start on a name the store does not hold
        latest = latest_activations(store)
        door = self._take_door(store, latest)  # doors out of `latest`: they are not teams
        if self.name is not None:
            latest = {k: v for k, v in latest.items() if k == self.name}
        current = self.policies
        target = {k: a for k, a in latest.items() if k not in current or current[k].activation != a["id"]}
        if not target:
            self._waiting = set()
            self._switch_door(store, door)
            return
        compiled: dict[str, Compiled] = {}
        missing: list[int] = []
        for name, a in target.items():
            number = a["number"]
            with self._lock:
                c, failed = self._cache.get(number), self._failed.get(number)
            if c is None and failed is None:
                if current:  # keep deciding with the versions in force; switch once every one is compiled
                    missing.append(number)
                    continue
                try:
                    c = self.compiled_for(number)  # the first versions: nothing to serve before them
                except Exception as err:
                    failed = str(err)
            if failed is not None:
                if number not in self._reported:
                    self._reported.add(number)
                    was = current.get(name)
                    log.error("cannot load version %s: %s; %s still serves %s", number, failed, name, was.version if was else "nothing")
                continue
            compiled[name] = c
        if missing:
            self._waiting = set(missing)
            for number in missing:
                self._compile_away(number)
            return
        self._waiting = set()
        self._switch_door(store, door)
        if not compiled:
            return
        new = dict(current)
        for name, c in compiled.items():
            a = target[name]
            new[name] = Policy(a["number"], a["id"], c, name)
            self.pending.append(
                {"version": a["number"], "activation": a["id"], "activated_by": a["by"], "activated_at": a["at"], "team": name}
            )
            log.info("%s: serving version %s", name, a["number"])
        self.policies = new

    def _take_door(self, store: Store, latest: dict[str, dict]) -> dict | None:
        """Remove the doors' activations from `latest`; the newest of them (the active door), if any."""
        doors = []
        for name, a in list(latest.items()):
            n = a["number"]
            if n not in self._doors:
                self._doors[n] = is_door_version(store.get(n))
            if self._doors[n]:
                doors.append(latest.pop(name))
        return None if self.name is not None else max(doors, key=lambda a: a["id"], default=None)

    def _switch_door(self, store: Store, a: dict | None) -> None:
        """Serve the door activated last (checked with the teams when it was activated), or none."""
        if a is None:
            self.door = None
            return
        if (self.door is not None and self.door.activation == a["id"]) or a["number"] in self._doors_failed:
            return
        loaded = load_stored_door(store.get(a["number"]))
        if loaded.errors:
            self._doors_failed.add(a["number"])
            log.error("cannot load door version %s: %s", a["number"], loaded.errors[0].message)
            return
        self.door = ActiveDoor(a["number"], a["id"], loaded.compiled, a["policy"])
        log.info("front door: serving %s version %s", a["policy"], a["number"])


def activate(versions: Versions, refs: list[str | int], by: str) -> list[int]:
    """Make stored versions active, all in one transaction (UnknownVersion, UnusableVersion, RepInTwoTeams); their numbers.

    Each version is compiled first, so one that does not load is never made active.
    The writer picks the activations up with its next batch (`Runtime.refresh`).
    """
    store = Store(versions.path)
    try:
        chosen = [store.get(r) for r in refs]
        for v in chosen:
            if not is_door_version(v):  # a door is checked with the teams by activate_set
                versions.compiled_for(v.number)
        return [v.number for v in activate_set(store, [v.number for v in chosen], by)]
    finally:
        store.close()
