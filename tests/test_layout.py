"""The layout shows the pipeline: stage packages, imports only point down, no cycles.

Read from the source with `ast`, so a new module or import is held to the same rules
the day it is written (docs/architecture.md explains the order).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "policyd"

# Bottom first: a stage may import its own package and any stage listed before it.
STAGES = (
    "lang",
    "render",
    "engine",
    "door",
    "checks",
    "explain",
    "changes",
    "replay",
    "storage",
    "lottery",
    "daemon",
    "web",
    "report",
    "lsp",
    "cli",
)
MAX_LINES = 420


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that `name` imports, type-checking-only imports included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                mod = ".".join(anchor + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("policyd"):
                continue
            for alias in node.names:
                full = f"{mod}.{alias.name}"
                found.add(full if full in known else mod)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("policyd"):
                    found.add(alias.name)
    return {m for m in found if m in known and m != name}


def stage_of(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # policyd itself: the public API, above every stage
    return STAGES.index(parts[1]) if parts[1] in STAGES else len(STAGES)


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def test_every_module_lives_in_a_stage_package():
    loose = [m for m in modules() if m.count(".") == 1 and m not in ("policyd.__main__",) and m.split(".")[1] not in STAGES]
    assert loose == [], "put each module in the package of its stage (docs/architecture.md)"


def test_imports_only_point_down_the_pipeline():
    upward = []
    for src, targets in graph().items():
        s = stage_of(src)
        if s is None or src == "policyd.__main__":
            continue
        for t in targets:
            ts = stage_of(t)
            if ts is None or ts > s:
                upward.append(f"{src} -> {t}")
    assert upward == []


def test_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for t in sorted(g[node]):
            if state.get(t) == 1:
                cycles.append(path[path.index(t) :] + [t] if t in path else [node, t])
            elif t not in state:
                visit(t, path + [t])
        state[node] = 2

    for n in sorted(g):
        if n not in state:
            visit(n, [n])
    assert cycles == []


def test_modules_do_one_job():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split modules over {MAX_LINES} lines"


def test_every_module_imports_on_its_own_and_binds_nothing_on_the_way():
    """Import each module alone in a fresh process: no import-order trap, no patched classes."""
    names = sorted(n for n in modules() if n != "policyd.__main__")
    code = (
        "import importlib, sys\n"
        "from policyd.engine.codegen import Compiled\n"
        "before = set(vars(Compiled))\n"
        f"for n in {names!r}:\n"
        "    importlib.import_module(n)\n"
        "extra = set(vars(Compiled)) - before\n"
        "assert not extra, f'bound onto Compiled at import time: {sorted(extra)}'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
