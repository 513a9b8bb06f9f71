"""Load a policy from a path (or text): parse, check, and compile on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..engine.codegen import Compiled, compile_policy
from ..lang import model as m
from ..lang.diagnostics import Diagnostic
from ..lang.parse import load_file, parse_text
from .check import checked


@dataclass
class Loaded:
    """A parsed and checked policy; `compiled` is built the first time it is asked for."""

    policy: m.Policy
    diagnostics: list[Diagnostic]
    label: str = ""
    _compiled: Compiled | None = field(default=None, repr=False)

    @property
    def sources(self) -> dict[str, str]:
        return dict(self.policy.sources)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def compiled(self) -> Compiled:
        if self._compiled is None:
            self._compiled = compile_policy(self.policy)
        return self._compiled


def load_path(path: str | Path) -> Loaded:
    """Parse and check a policy file. Raises PolicyError when it cannot be parsed."""
    policy, problems = load_file(path)
    return _loaded(policy, problems, str(path))


def load_text(text: str, file: str = "<policy>", base_dir: Path | None = None, root: Path | None = None) -> Loaded:
    """Parse and check policy text; `team from` reads inside `root` (default: base_dir's repository)."""
    policy, problems = parse_text(text, file, base_dir, root)
    return _loaded(policy, problems, file)


def _loaded(policy: m.Policy, problems: list[Diagnostic], label: str) -> Loaded:
    """Checked; the policy the analysis compiled is kept, not compiled again on first use."""
    diagnostics, ctx = checked(policy, problems)
    return Loaded(policy, diagnostics, label, ctx.compiled_if_built())
