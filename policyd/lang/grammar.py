"""The grammar and the parsers built from it: the one place a lark parser is made."""

from __future__ import annotations

from functools import lru_cache

from lark import Lark


def grammar_text() -> str:
    """The grammar: package data beside this module, so the wheel and the source tree agree."""
    from importlib import resources

    return resources.files("policyd.lang").joinpath("policy.lark").read_text(encoding="utf-8")


def make_parser(**options) -> Lark:
    """The one way a parser is built from the grammar; callers add their options."""
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, start=["start", "team_file"], maybe_placeholders=False, **options)


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The shared parser for `parse_text` and for wording syntax errors (built once, on first use)."""
    return make_parser(cache=True)


def build_parser(strict: bool = False) -> Lark:
    """A fresh parser; tests use strict=True to catch grammar conflicts."""
    return make_parser(strict=strict)
