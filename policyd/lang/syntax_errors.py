"""Syntax errors in words: the line, what was expected ("a name", "`}`"), never lark's
terminal names. Common slips (an unclosed brace, a misspelt keyword) get a tailored
message with a hint.
"""

from __future__ import annotations

import re

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import model as m
from .diagnostics import ERROR, Diagnostic, did_you_mean
from .grammar import parser as _parser

_TOKEN_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a quoted text ("...")',
    "DURATION": "a duration such as 2h, 30m or 1d",
    "COMPARE": "a comparison (<, <=, >, >=, ==, !=)",
    "PERIOD_UNIT": "months, weeks or days",
    "TIMES": "times",
    "ONOFF": "on or off",
    "INT_T": "int",
    "NUMBER_T": "number",
    "TEXT_T": "text",
    "BOOL_T": "bool",
    "REP_T": "rep",
    "$END": "the end of the file",
}

_BLOCK_KEYWORDS = ["policy", "lead", "score", "tiers", "team", "exception", "route", "sla", "example"]


def _terminal_words(parser: Lark) -> dict[str, str]:
    words: dict[str, str] = {}
    for t in parser.terminals:
        if t.name in _TOKEN_WORDS:
            words[t.name] = _TOKEN_WORDS[t.name]
        elif t.pattern.type == "str":
            words[t.name] = f"`{t.pattern.value}`"
        else:
            words[t.name] = t.name.lower()
    words.update({k: v for k, v in _TOKEN_WORDS.items() if k not in words})
    return words


def _keywords(parser: Lark) -> dict[str, str]:
    """Keyword terminals (plain words) by terminal name."""
    out = {}
    for t in parser.terminals:
        if t.pattern.type == "str" and re.fullmatch(r"[a-z_]+", t.pattern.value):
            out[t.name] = t.pattern.value
    return out


def _expected_words(parser: Lark, expected: set[str]) -> list[str]:
    words = _terminal_words(parser)
    out = sorted({words.get(e, e.lower()) for e in expected})
    return out


def _join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) > 8:
        return ", ".join(items[:8]) + ", ..."
    return ", ".join(items[:-1]) + " or " + items[-1]


def _unclosed_brace(text: str) -> int | None:
    """Line of the last `{` left open, ignoring strings and comments."""
    stack: list[int] = []
    line = 1
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif c == "{":
            stack.append(line)
        elif c == "}" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


def _last_line(text: str) -> tuple[int, int]:
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


def syntax_diagnostic(err: UnexpectedInput, text: str, file: str) -> Diagnostic:
    """The diagnostic for lark's syntax error `err` in `text`, worded for a person."""
    parser = _parser()
    if isinstance(err, UnexpectedCharacters):
        ch = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        span = m.Span(file, err.line, err.column, err.line, err.column + 1)
        if ch == '"':
            return Diagnostic("P002", ERROR, span, "a quoted text is not closed on its line", 'close it with `"`')
        allowed = _expected_words(parser, set(err.allowed or ()))
        msg = f"unexpected character `{ch}`"
        if allowed:
            msg += f"; expected {_join_words(allowed)}"
        return Diagnostic("P002", ERROR, span, msg)

    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        line, col = _last_line(text)
        open_line = _unclosed_brace(text)
        span = m.Span(file, line, col)
        if open_line is not None:
            return Diagnostic(
                "P004",
                ERROR,
                span,
                f"the file ended inside a block: the `{{` on line {open_line} is never closed",
                "add the missing `}` at the end of that block",
            )
        expected = _expected_words(parser, set(getattr(err, "expected", ()) or ()))
        return Diagnostic("P003", ERROR, span, f"the file ended too early; expected {_join_words(expected)}")

    assert isinstance(err, UnexpectedToken)
    tok: Token = err.token
    value = str(tok)
    span = m.Span(file, tok.line or 1, tok.column or 1, tok.end_line or tok.line or 1, tok.end_column or (tok.column or 1) + 1)
    expected_terms = set(err.expected or ())
    keywords = _keywords(parser)
    expected_kw = [keywords[e] for e in expected_terms if e in keywords]
    expected = _expected_words(parser, expected_terms)

    if tok.type == "NAME" and expected_kw:
        guess = did_you_mean(value, expected_kw)
        if guess:
            return Diagnostic("P005", ERROR, span, f"unknown word `{value}`; did you mean `{guess}`?", f"write `{guess}`")
    if tok.type == "NAME" and "NAME" not in expected_terms:
        guess = did_you_mean(value, _BLOCK_KEYWORDS)
        if guess and "RBRACE" not in expected_terms:
            return Diagnostic("P005", ERROR, span, f"unknown word `{value}`; did you mean `{guess}`?", f"write `{guess}`")
    if value in _BLOCK_KEYWORDS and "RBRACE" in expected_terms:
        open_line = _unclosed_brace(text[: _offset(text, span.line, span.col)])
        where = f" opened on line {open_line}" if open_line else ""
        return Diagnostic(
            "P004",
            ERROR,
            span,
            f"`{value}` starts a new block, but the block{where} is not closed",
            "add the missing `}` before this line",
        )
    shown = value if len(value) <= 30 else value[:27] + "..."
    return Diagnostic("P001", ERROR, span, f"unexpected `{shown}`; expected {_join_words(expected)}")


def _offset(text: str, line: int, col: int) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1]) + col - 1
