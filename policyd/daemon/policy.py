"""Which policy version decides: compiled versions, activations picked up, activation asked for.

The store's activation log says what is active. A store may hold several policies
(storage/store.py), each with its own active version; a daemon serves one of them:
the one named (`policyd serve --policy NAME`), else the only one active, and it
refuses to start when several are active and none is named. The writer looks once per batch
(`Versions.check`): `PRAGMA data_version` changes only when another connection
commits, so the common case (no activation) costs one pragma. A version that
cannot be loaded is logged and the one in force stays; `activate` refuses such a
version before it is ever made active.

A newly activated version is compiled on a thread of its own, never by the writer:
compiling a large policy takes seconds, and the writer keeps deciding with the
version in force until the new one is ready, then switches between two batches
(each decision records the version that made it). Only the first version a daemon
serves is compiled before it starts, since there is nothing to serve before it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..engine.codegen import Compiled
from ..storage.errors import Unusable
from ..storage.store import Store

log = logging.getLogger(__name__)


class UnusableVersion(Unusable):
    """A stored version with errors: it cannot be served, so it is not activated."""


@dataclass(frozen=True)
class Policy:
    """The active version and its compiled policy, swapped as one value."""

    version: int
    activation: int
    compiled: Compiled


class SeveralActive(Unusable):
    """Several policies are active in the store and the daemon was not told which to serve."""


def served_policy(store: Store, name: str | None) -> str | None:
    """The policy a daemon serves: `name` (which must be in the store), else the one active policy (None if none is)."""
    if name is not None:
        if name not in store.policies():
            raise SeveralActive(f"no policy {name!r} in {store.path} (it holds {', '.join(store.policies()) or 'no versions yet'})")
        return name
    active = sorted(store.active_versions())
    if len(active) > 1:
        raise SeveralActive(
            f"policies {', '.join(active)} are all active in {store.path}: "
            f"say which one this daemon serves with --policy NAME, e.g. `policyd serve --policy {active[0]}`"
        )
    return active[0] if active else None


class Versions:
    """Compiled versions by number (cached: versions never change) and the activation in force."""

    def __init__(self, path: str, loader: Callable[[int], Compiled] | None = None, name: str | None = None):
        self.path = path
        self.name = name  # the policy served; None: the store's one active policy, fixed once found
        self._loader = loader
        self._cache: dict[int, Compiled] = {}
        self._lock = threading.Lock()
        self.policy: Policy | None = None
        self.pending: dict | None = None  # the activation to record in the audit log with the next batch
        self._data_version: int | None = None
        self._compiling: dict[int, threading.Thread] = {}  # versions being compiled away from the writer
        self._failed: dict[int, str] = {}  # versions that could not be compiled, and why
        self._waiting: int | None = None  # the activated version being compiled away from the writer
        self._reported: set[int] = set()  # versions whose failure was logged
        self._started = False  # the first check (at start) has run
        self._several_logged = False
        self._serving: str | None = None  # the policy of the version in force

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
        dv = conn.execute("PRAGMA data_version").fetchone()[0]
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

    def compiling(self) -> list[int]:
        """Versions being compiled right now (health and tests ask)."""
        with self._lock:
            return sorted(self._compiling)

    def _served(self, store: Store) -> str | None:
        """The policy to serve now: the one named, else the one active (kept once served when another becomes active)."""
        started, self._started = self._started, True
        if self.name is not None:
            return served_policy(store, self.name) if not started else self.name
        try:
            return served_policy(store, None)
        except SeveralActive as err:
            if self._serving is not None:
                return self._serving
            if not started:  # refuse to start rather than guess
                raise
            if not self._several_logged:
                self._several_logged = True
                log.error("%s; serving nothing until restarted with --policy", err)
            return None

    def check(self, store: Store, changed: bool) -> None:
        """Switch to the newest activation if there is one this daemon does not serve yet, once it is compiled."""
        waiting = self._waiting
        if not changed and self.policy is not None and waiting is None:
            return
        name = self._served(store)
        if name is None:
            return
        acts = store.activations(name)
        if not acts:
            return
        latest = acts[0]
        current = self.policy
        if current is not None and current.activation == latest["id"]:
            self._waiting = None
            return
        number = latest["number"]
        with self._lock:
            compiled, failed = self._cache.get(number), self._failed.get(number)
        if compiled is None and failed is None:
            if current is not None:  # keep deciding with the version in force; switch once compiled
                self._waiting = number
                self._compile_away(number)
                return
            try:
                compiled = self.compiled_for(number)  # the first version: nothing to serve before it
            except Exception as err:
                failed = str(err)
        if failed is not None:
            if number not in self._reported:
                self._reported.add(number)
                log.error("cannot load version %s: %s; still serving %s", number, failed, current.version if current else "nothing")
            self._waiting = None  # looked at again when the store changes (a later activation)
            return
        self._waiting = None
        self.policy = Policy(number, latest["id"], compiled)
        self._serving = name
        self.pending = {
            "version": latest["number"],
            "activation": latest["id"],
            "activated_by": latest["by"],
            "activated_at": latest["at"],
        }
        log.info("serving version %s", latest["number"])


def activate(versions: Versions, ref: str | int, by: str) -> int:
    """Make a stored version active (UnknownVersion, UnusableVersion when it cannot be); its number.

    The version is compiled first, so one that does not load is never made active.
    The writer picks the activation up with its next batch (`Runtime.refresh`).
    """
    store = Store(versions.path)
    try:
        v = store.get(ref)
        versions.compiled_for(v.number)
        store.activate(v.number, by)
        return v.number
    finally:
        store.close()
