"""The policies that load a team file: checking a changed team file checks them too (`check --dependents`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..lang.parse import repository_root
from ..storage.refs import _TEAM_FROM

SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox"}


def policy_files(root: Path) -> list[Path]:
    """Every `.policy` file under root, skipping version-control and environment folders."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith("."))
        out.extend(Path(folder) / f for f in sorted(files) if f.endswith(".policy"))
    return out


def loaders(team_files: Iterable[str], root: Path | None = None) -> dict[str, list[str]]:
    """team file (as given) -> the policies under the repository that `team from` it (paths relative to cwd)."""
    wanted = {}
    for name in team_files:
        p = Path(name)
        if p.is_file():
            wanted[p.resolve()] = name
    if not wanted:
        return {}
    base = root if root is not None else repository_root(Path.cwd())
    out: dict[str, list[str]] = {}
    for policy in policy_files(base):
        try:
            text = policy.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for m in _TEAM_FROM.finditer(text):
            target = (policy.parent / m.group(1)).resolve()
            if target in wanted:
                out.setdefault(wanted[target], []).append(_display(policy))
    return out


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
