"""What every part of the tree-to-model transformer shares: spans, number tokens, values.

The transformer is split by the blocks it builds (tree_blocks, tree_examples); this
base turns tokens into values and collects the problems found on the way.
"""

from __future__ import annotations

import re

from lark import Token, Transformer

from . import model as m
from .diagnostics import ERROR, Diagnostic
from .numbers import NumberError, number_value


class Name:
    """A name as written, with its span."""

    __slots__ = ("value", "span")

    def __init__(self, value, span: m.Span):
        self.value, self.span = value, span


class Number(Name):
    pass


class Text(Name):
    pass


class Lit:
    """A literal as written: its value and whether it was a word, number or text."""

    __slots__ = ("value", "kind", "span")

    def __init__(self, value, kind: str, span: m.Span):
        self.value, self.kind, self.span = value, kind, span

    def __repr__(self) -> str:
        return f"Lit({self.value!r}, {self.kind})"


class TreeBase(Transformer):
    """Spans, whole numbers and the problem list; nothing after the transformer touches lark."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file
        self.problems: list[Diagnostic] = []

    def _span(self, meta) -> m.Span:
        if getattr(meta, "empty", True):
            return m.Span(self.file, 0, 0)
        return m.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> m.Span:
        return m.Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def _value(self, text: str, span: m.Span) -> int | float:
        """The number written, or 0 with a diagnostic when it is outside the language's numbers."""
        try:
            return number_value(text)
        except NumberError as err:
            self.problems.append(Diagnostic(err.code, ERROR, span, err.message, err.hint))
            return 0

    def _int(self, tok: Token, what: str) -> int:
        """A whole number in range; a decimal here is P007 (its range is then beside the point)."""
        text, span = str(tok), self._tok_span(tok)
        if not re.fullmatch(r"-?\d+", text):
            self.problems.append(Diagnostic("P007", ERROR, span, f"{what} must be a whole number, not `{text}`"))
            try:
                return int(number_value(text))
            except NumberError:
                return 0
        return int(self._value(text, span))

    # tokens
    def name(self, children):
        tok = children[0]
        return Name(str(tok), self._tok_span(tok))

    def number(self, children):
        tok = children[0]
        return Number(self._value(str(tok), self._tok_span(tok)), self._tok_span(tok))

    def STRING(self, tok):
        raw = str(tok)[1:-1]
        return Text(re.sub(r"\\(.)", r"\1", raw), self._tok_span(tok))
