"""The tree with every token and comment kept, for the formatter (lark's tree, without lark)."""

from __future__ import annotations

import threading
from functools import lru_cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from .diagnostics import PolicyError
from .grammar import make_parser
from .syntax_errors import syntax_diagnostic


class LayoutTok:
    """One token as written: its terminal type, text, position and the rule it sits in."""

    __slots__ = ("type", "value", "line", "col", "end_line", "end_col", "rule")

    def __init__(self, type: str, value: str, line: int, col: int, end_line: int, end_col: int, rule: str):
        self.type, self.value, self.line, self.col = type, value, line, col
        self.end_line, self.end_col, self.rule = end_line, end_col, rule

    def __repr__(self) -> str:
        return f"LayoutTok({self.type}, {self.value!r}, {self.line}:{self.col}, {self.rule})"


class LayoutNode:
    """A grammar rule as written, every keyword kept (lark's tree, without lark)."""

    __slots__ = ("rule", "children")

    def __init__(self, rule: str, children: list):
        self.rule, self.children = rule, children

    def tokens(self) -> list[LayoutTok]:
        out: list[LayoutTok] = []
        for c in self.children:
            out.extend(c.tokens() if isinstance(c, LayoutNode) else [c])
        return out


@lru_cache(maxsize=1)
def _layout_parser() -> Lark:
    return make_parser(keep_all_tokens=True, lexer_callbacks={"COMMENT": _COMMENTS.append})


_COMMENTS: list[Token] = []  # filled by the lexer callback; one layout parse at a time
_LAYOUT_LOCK = threading.Lock()


def layout(text: str, file: str = "<policy>", start: str = "start") -> tuple[LayoutNode, list[LayoutTok]]:
    """The tree with every token kept, and the comments (each with its line and column).

    Additive to `parse_text`: the formatter needs keywords and comments, which the model
    drops. Raises PolicyError for a syntax error, as `parse_text` does.
    """
    parser = _layout_parser()
    with _LAYOUT_LOCK:
        _COMMENTS.clear()
        try:
            tree = parser.parse(text, start=start)
        except UnexpectedInput as err:
            raise PolicyError([syntax_diagnostic(err, text, file)], {file: text}) from None
        finally:
            found = list(_COMMENTS)
            _COMMENTS.clear()
    comments = [LayoutTok("COMMENT", str(t).rstrip(), t.line, t.column, t.end_line, t.end_column, "") for t in found]
    return _to_layout(tree), comments


def _to_layout(tree: Tree) -> LayoutNode:
    kids: list = []
    for c in tree.children:
        if isinstance(c, Tree):
            kids.append(_to_layout(c))
        else:
            kids.append(LayoutTok(c.type, str(c), c.line, c.column, c.end_line, c.end_column, str(tree.data)))
    return LayoutNode(str(tree.data), kids)
