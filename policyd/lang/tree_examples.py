"""Tree to model: `example` blocks and conditions (shared by scores, exceptions and steps)."""

from __future__ import annotations

from lark import v_args

from . import model as m
from .tree_base import Lit, Text, TreeBase


class ExampleRules(TreeBase):
    """The transformer rules of `example` blocks and of conditions."""

    # examples
    @v_args(meta=True)
    def example_block(self, meta, ch):
        name = ch[0].value
        lead: tuple = ()
        opens: list = []
        away: list = []
        quota: list = []
        lottery = False
        seed = at = None
        assigned: list = []
        expects: list = []
        for c in ch[1:]:
            kind = c[0]
            if kind == "lead":
                lead = c[1]
            elif kind == "open":
                opens.extend(c[1])
            elif kind == "away":
                away.extend(c[1])
            elif kind == "quota":
                quota.extend(c[1])
            elif kind == "state":
                for sk, sv in c[1]:
                    {"open": opens, "away": away, "quota": quota, "assigned": assigned}[sk].extend(sv)
            elif kind == "lottery":
                lottery = c[1]
            elif kind == "seed":
                seed = c[1]
            elif kind == "at":
                at = c[1]
            elif kind == "expect":
                expects.extend(c[1])
        return m.Example(
            name, lead, tuple(opens), tuple(away), tuple(quota), lottery, seed, tuple(expects), self._span(meta), at, tuple(assigned)
        )

    def example_lead(self, ch):
        return ("lead", tuple(ch))

    def lead_value(self, ch):
        lit: Lit = ch[1]
        return (ch[0].value, lit, ch[0].span)

    def example_state(self, ch):
        return ("state", tuple(ch))

    def state_open(self, ch):
        return ("open", tuple(ch))

    def open_count(self, ch):
        return (ch[0].value, self._int(ch[1], "an open count"))

    def state_away(self, ch):
        return ("away", tuple(c.value for c in ch))

    def state_quota(self, ch):
        return ("quota", tuple(ch))

    def quota_value(self, ch):
        return (ch[0].value, float(ch[1].value))

    def state_assigned(self, ch):
        return ("assigned", tuple(ch))

    def example_at(self, ch):
        return ("at", ch[0].value)

    def example_lottery(self, ch):
        return ("lottery", str(ch[0]) == "on")

    def example_seed(self, ch):
        return ("seed", ch[0].value)

    def example_expect(self, ch):
        return ("expect", tuple(ch))

    @v_args(meta=True)
    def expect_tier(self, meta, ch):
        return m.Expect("tier", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_rep(self, meta, ch):
        return m.Expect("rep", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_level(self, meta, ch):
        return m.Expect("level", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_queue(self, meta, ch):
        return m.Expect("queue", ch[0], self._span(meta))

    @v_args(meta=True)
    def expect_exception(self, meta, ch):
        return m.Expect("exception", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_lottery(self, meta, ch):
        return m.Expect("lottery", None, self._span(meta))

    @v_args(meta=True)
    def expect_route(self, meta, ch):
        return m.Expect("route", ch[0].value, self._span(meta))

    # conditions
    @v_args(meta=True)
    def or_(self, meta, ch):
        return ch[0] if len(ch) == 1 else m.Or(tuple(ch), self._span(meta))

    @v_args(meta=True)
    def and_(self, meta, ch):
        return ch[0] if len(ch) == 1 else m.And(tuple(ch), self._span(meta))

    @v_args(meta=True)
    def not_(self, meta, ch):
        return m.Not(ch[0], self._span(meta))

    @v_args(meta=True)
    def compare(self, meta, ch):
        return m.Compare(ch[0], str(ch[1]), ch[2], self._span(meta))

    @v_args(meta=True)
    def is_set(self, meta, ch):
        return m.IsSet(ch[0].value, False, self._span(meta))

    @v_args(meta=True)
    def is_missing(self, meta, ch):
        return m.IsSet(ch[0].value, True, self._span(meta))

    @v_args(meta=True)
    def is_(self, meta, ch):
        return m.Is(ch[0].value, (ch[1].value,), False, self._span(meta))

    @v_args(meta=True)
    def is_not(self, meta, ch):
        return m.Is(ch[0].value, (ch[1].value,), True, self._span(meta))

    @v_args(meta=True)
    def in_(self, meta, ch):
        return m.Is(ch[0].value, tuple(c.value for c in ch[1:]), False, self._span(meta))

    @v_args(meta=True)
    def not_in_(self, meta, ch):
        return m.Is(ch[0].value, tuple(c.value for c in ch[1:]), True, self._span(meta))

    @v_args(meta=True)
    def speaks(self, meta, ch):
        c = ch[0]
        return m.Speaks(c.value, isinstance(c, Text), self._span(meta))

    @v_args(meta=True)
    def flag(self, meta, ch):
        return m.Flag(ch[0].value, self._span(meta))

    def field_ref(self, ch):
        return m.FieldRef(ch[0].value, ch[0].span)

    def num(self, ch):
        return m.Num(ch[0].value, ch[0].span)

    def str_lit(self, ch):
        return m.Str(ch[0].value, ch[0].span)

    @v_args(meta=True)
    def skill_ref(self, meta, ch):
        return m.SkillRef(ch[0].value, self._span(meta))
