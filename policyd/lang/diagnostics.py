"""Diagnostics as data: a stable code, a severity, a span and a message.

Every stage reports problems this way; only the edges (CLI, server) turn them into
text or JSON. The text form is gcc-style: `file:line:col: severity code: message`,
then the source line and a caret.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .model import Span

ERROR = "error"
WARNING = "warning"
NOTE = "note"

_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, NOTE: 2}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: str
    span: Span
    message: str
    hint: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_json(self) -> dict:
        out = {
            "code": self.code,
            "severity": self.severity,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line or self.span.line,
            "end_col": self.span.end_col or self.span.col,
            "message": self.message,
        }
        if self.hint:
            out["hint"] = self.hint
        out.update(self.extra)
        return out


class PolicyError(Exception):
    """Raised when a policy cannot be loaded at all (syntax, missing file)."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = list(diagnostics)
        self.sources = dict(sources or {})
        super().__init__("; ".join(d.message for d in self.diagnostics))


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The nearest known name, for "did you mean" hints."""
    found = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return found[0] if found else None


def sort_key(d: Diagnostic) -> tuple:
    return (d.span.file, d.span.line, d.span.col, _SEVERITY_ORDER.get(d.severity, 3), d.code)


def format_one(d: Diagnostic, sources: dict[str, str]) -> str:
    head = f"{d.span.file}:{d.span.line}:{d.span.col}: {d.severity} {d.code}: {d.message}"
    lines = [head]
    text = sources.get(d.span.file)
    if text is not None and d.span.line >= 1:
        src_lines = text.splitlines()
        if d.span.line <= len(src_lines):
            src = src_lines[d.span.line - 1].rstrip("\n").replace("\t", " ")
            width = 1
            if d.span.end_line == d.span.line and d.span.end_col > d.span.col:
                width = d.span.end_col - d.span.col
            lines.append(f"  {d.span.line:>4} | {src}")
            lines.append("       | " + " " * max(d.span.col - 1, 0) + "^" + "~" * (width - 1))
    if d.hint:
        lines.append(f"  hint: {d.hint}")
    return "\n".join(lines)


def format_all(diags: Sequence[Diagnostic], sources: dict[str, str], limit: int = 50) -> str:
    """gcc-style text, sorted by location, capped with "... and N more"."""
    ordered = sorted(diags, key=sort_key)
    shown = [format_one(d, sources) for d in ordered[:limit]]
    if len(ordered) > limit:
        shown.append(f"... and {len(ordered) - limit} more")
    return "\n".join(shown)


def summary(diags: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diags if d.severity == ERROR)
    warnings = sum(1 for d in diags if d.severity == WARNING)
    notes = sum(1 for d in diags if d.severity == NOTE)
    parts = [f"{errors} error{'s' if errors != 1 else ''}", f"{warnings} warning{'s' if warnings != 1 else ''}"]
    if notes:
        parts.append(f"{notes} note{'s' if notes != 1 else ''}")
    return ", ".join(parts)
