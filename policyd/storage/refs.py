"""Policy references: a file path, a stored version or a git revision.

Every command that takes a policy takes a ref, so a reviewer can write
`policyd diff @active main:policies/inbound.policy` or `policyd check HEAD~1:p.policy`:

    policies/inbound.policy         a file (its `team from` files beside it)
    @3  @active  @previous  @latest a version in the store (--db / POLICYD_DB)
    inbound@3  inbound@active       a version of one policy, in a store of several
    main:policies/inbound.policy    a git revision, read with `git show` itself;
                                    its `team from` files come from the same revision

A path that exists wins over the other readings, so a file whose name holds a colon
still works. A ref that is none of these gets an error naming what was tried.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..checks.load import Loaded, load_path
from .db import exists as dbfile_exists
from .engines import redact
from .store import Store, StoreError, bundle_of, default_db_path, load_bundle

TRIED = "not a file, a stored version (@N, @active, @previous, @latest) or a git revision (REV:PATH)"
_NAMED_VERSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*@(?:[0-9]+|active|previous|latest)$")

# `team from "x"` at the start of a statement; strings cannot span lines, comments start with #
_TEAM_FROM = re.compile(r'^[^#"\n]*?\bteam\s+from\s+"((?:[^"\\\n]|\\.)*)"', re.MULTILINE)


class RefError(Exception):
    """A ref that names no policy; the message says what was tried."""


@dataclass(frozen=True)
class Bundle:
    """A policy's files as text: what `publish` stores and what `diff` compares."""

    main_file: str
    files: dict[str, str]
    label: str
    kind: str  # file | version | git


def kind_of(ref: str) -> str:
    """`version`, `file` or `git` (a path that exists is a file even with a colon in it)."""
    if ref.startswith("@"):
        return "version"
    if os.path.exists(ref):
        return "file"
    if _NAMED_VERSION.match(ref):
        return "version"
    if ":" not in ref:
        return "file"
    return "git"


def open_store(db: str | None, ref: str = "") -> Store:
    """The store at `db`, which must exist already: reading a ref never creates one."""
    path = db or default_db_path()
    if not dbfile_exists(path):
        where = f"{ref}: " if ref else ""
        raise RefError(f"{where}no policy store at {redact(path)} (publish first, or point --db / POLICYD_DB at one)")
    try:
        return Store(path)
    except StoreError as err:
        raise RefError(f"{ref}: {err}" if ref else str(err)) from None


def load_ref(ref: str, db: str | None = None) -> Loaded:
    """Parse and check the policy a ref names; `Loaded.label` says which it was.

    Raises RefError for a ref that names nothing and PolicyError for a policy that
    cannot be parsed.
    """
    kind = kind_of(ref)
    if kind == "file":
        if not os.path.exists(ref):
            raise RefError(f"{ref}: no such policy: {TRIED}")
        if os.path.isdir(ref):
            raise RefError(f"{ref}: is a directory, not a policy file")
        return load_path(ref)
    if kind == "git":
        return _git_load(ref)
    bundle = read_bundle(ref, db)
    return load_bundle(bundle.main_file, bundle.files, label=bundle.label)


def read_bundle(ref: str, db: str | None = None) -> Bundle:
    """The files of the policy a ref names, without checking them."""
    kind = kind_of(ref)
    if kind == "version":
        store = open_store(db, ref)
        try:
            v = store.get(ref)
            label = store.ref_of(v)
        except StoreError as err:
            raise RefError(f"{ref}: {err}") from None
        finally:
            store.close()
        return Bundle(v.main_file, dict(v.files), label, "version")
    if kind == "git":
        return _git_bundle(ref)
    loaded = load_ref(ref, db)
    main_file, files = bundle_of(loaded)
    return Bundle(main_file, files, ref, "file")


# ---------------------------------------------------------------- git
def _git_show(rev: str, path: str, ref: str) -> str:
    try:
        proc = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, timeout=30, check=False)
    except FileNotFoundError:
        raise RefError(f"{ref}: not a file, and git is not installed to read it as a revision") from None
    except subprocess.TimeoutExpired:
        raise RefError(f"{ref}: `git show {rev}:{path}` took longer than 30 s") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = msg[0].removeprefix("fatal: ") if msg else f"git exited with {proc.returncode}"
        raise RefError(f"{ref}: not a file, and git cannot read {path} at {rev}: {reason}")
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise RefError(f"{ref}: {path} at {rev} is not UTF-8 text") from None


def _git_prefix() -> str:
    """The current directory relative to the repository root (for `./` paths)."""
    proc = subprocess.run(["git", "rev-parse", "--show-prefix"], capture_output=True, timeout=30, check=False)
    return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""


def _git_files(ref: str) -> tuple[str, dict[str, str]]:
    """(path, {repository path: text}) for REV:PATH and the `team from` file beside it."""
    rev, _, path = ref.partition(":")
    if not rev or not path:
        raise RefError(f"{ref}: no such policy: {TRIED}")
    if path.startswith("./") or path.startswith("../"):
        path = posixpath.normpath(posixpath.join(_git_prefix(), path))
    files = {path: _git_show(rev, path, ref)}
    for rel in _TEAM_FROM.findall(files[path])[:1]:
        team_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), rel))
        if team_path.startswith("../") or team_path.startswith("/"):
            raise RefError(f"{ref}: its team file {rel!r} lies outside the repository")
        files[team_path] = _git_show(rev, team_path, ref)
    return path, files


def _git_load(ref: str) -> Loaded:
    """Load with repository paths, so diagnostics name the files as the repository does."""
    path, files = _git_files(ref)
    return load_bundle(path, files, label=ref)


def _git_bundle(ref: str) -> Bundle:
    loaded = _git_load(ref)
    main_file, files = bundle_of(loaded)
    return Bundle(main_file, files, ref, "git")


def display_name(path: str | Path) -> str:
    """A file name for messages: bundles live in temporary directories, so show only the name."""
    return posixpath.basename(str(path).replace(os.sep, "/"))
