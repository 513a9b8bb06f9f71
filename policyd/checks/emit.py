"""Shorthands every check uses to state a finding: a coded error or warning, a did-you-mean hint.

One place, so every check words its hints alike. Underscored because they are the
checks' own shorthand, not part of the package's API.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..lang import model as m
from ..lang.diagnostics import ERROR, WARNING, Diagnostic, did_you_mean


def _err(code: str, span: m.Span, msg: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, ERROR, span, msg, hint)


def _warn(code: str, span: m.Span, msg: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, WARNING, span, msg, hint)


def _mean(word: str, names: Iterable[str]) -> str | None:
    guess = did_you_mean(word, names)
    return f"did you mean `{guess}`?" if guess else None
