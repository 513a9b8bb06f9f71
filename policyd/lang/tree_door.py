"""Tree to model for the front door: the `door` block, its send rules and `expect team`.

Split from `door.py` so the policy builder (`parse.Build`) can mix these rules in
without importing the door's parser (no import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lark import v_args

from . import model as m
from .span import NO_SPAN, Span
from .tree_base import TreeBase


@dataclass(frozen=True, slots=True)
class Send:
    """`send TEAM when COND` (cond None: `send TEAM otherwise`)."""

    team: str
    cond: m.Cond | None
    span: Span = field(default=NO_SPAN, compare=False)
    text: str = field(default="", compare=False)  # the condition as written, for explanations


@dataclass(frozen=True, slots=True)
class DoorBlock:
    name: str
    title: str | None
    sends: tuple[Send, ...]
    span: Span = field(default=NO_SPAN, compare=False)


class DoorRules(TreeBase):
    """Transformer rules of the door block and of `expect team` (mixed into the policy builder)."""

    @v_args(meta=True)
    def door_block(self, meta, ch):
        title = ch[1].value if len(ch) > 1 and not isinstance(ch[1], Send) else None
        sends = tuple(c for c in ch if isinstance(c, Send))
        return DoorBlock(ch[0].value, title, sends, self._span(meta))

    @v_args(meta=True)
    def send_when(self, meta, ch):
        return Send(ch[0].value, ch[1], self._span(meta))

    @v_args(meta=True)
    def send_otherwise(self, meta, ch):
        return Send(ch[0].value, None, self._span(meta))

    @v_args(meta=True)
    def expect_team(self, meta, ch):
        return m.Expect("team", ch[0].value, self._span(meta))
