"""Semantic diff of two policies: what changed in the rules' own terms.

The model's dataclasses compare without their spans, so two policies that differ
only in layout or comments compare equal block by block and the diff says "no
change in meaning". Each change is one line in words with both values and the line
it is on (the new line; `was line N` for something removed), e.g.

    route high: lottery 30% -> 25% (line 116)
    team: dave added (new, capacity 25)
    tier medium: 7..9 -> 6..9 (line 53)

Order matters where the evaluator says it does: score lines (first match wins),
exceptions (the first that applies decides), the steps of a pipeline and the team
(round robin and tie-breaks follow it). The order of blocks, tiers, routes, fields
and SLA lines does not, so moving them is no change.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Sequence
from typing import Any

from ..lang import model as m
from .change import Change
from .levers import lever_changes
from .wording import (
    cond_text,
    field_type_text,
    num,
    quoted,
    rep_summary,
    score_line_change,
    score_line_text,
    sla_text,
    step_change,
    step_text,
    words,
)


# ---------------------------------------------------------------- the diff
class _Differ:
    def __init__(self, old: m.Policy, new: m.Policy):
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def _file(self, policy: m.Policy, span: m.Span) -> str:
        if not span.file or span.file == policy.file:
            return ""
        return posixpath.basename(span.file.replace("\\", "/"))

    def add(self, area: str, kind: str, subject: str, text: str, span: m.Span | None = None, old_side: bool = False) -> None:
        policy = self.old if old_side else self.new
        line = span.line if span is not None and span.line > 0 else None
        file = self._file(policy, span) if span is not None else ""
        self.changes.append(Change(area, kind, subject, text, line, file, old_side))

    def added_removed(self, area: str, subject: str, old: dict, new: dict, added, removed) -> list[tuple[str, Any, Any]]:
        """Report names only in `new` (text `added(name, item)`) and only in `old` (`removed(name, item)`).

        Returns (name, old item, new item) for the names in both whose items differ, in `new`'s order.
        """
        for name, x in new.items():
            if name not in old:
                self.add(area, "added", subject, added(name, x), x.span)
        for name, x in old.items():
            if name not in new:
                self.add(area, "removed", subject, removed(name, x), x.span, old_side=True)
        return [(name, old[name], y) for name, y in new.items() if name in old and old[name] != y]

    def run(self) -> list[Change]:
        self.info()
        self.fields()
        self.scores()
        self.tiers()
        self.team()
        self.exceptions()
        self.routes()
        self.sla()
        self.examples()
        return self.changes

    # identity ---------------------------------------------------
    def info(self) -> None:
        a, b = self.old.info, self.new.info
        if a == b:
            return
        span = b.span if b else None
        for attr in ("name", "title", "owner", "review"):
            va, vb = getattr(a, attr, None), getattr(b, attr, None)
            if va != vb:
                show = (lambda v: v or "none") if attr in ("name", "review") else quoted
                self.add("policy", "changed", "policy", f"{attr} {show(va)} -> {show(vb)}", span)
        was = {x.text(): x for x in getattr(a, "approvals", ())}
        now = {x.text(): x for x in getattr(b, "approvals", ())}
        for text in sorted(set(now) - set(was)):
            self.add("policy", "added", "policy", f"`{text}` added", now[text].span)
        for text in sorted(set(was) - set(now)):
            self.add("policy", "removed", "policy", f"`{text}` removed", was[text].span, old_side=True)

    # lead schema ------------------------------------------------
    def fields(self) -> None:
        old = {f.name: f for f in self.old.fields}
        new = {f.name: f for f in self.new.fields}
        changed = self.added_removed(
            "lead",
            "lead",
            old,
            new,
            lambda name, f: f"field {name} added ({field_type_text(f)})",
            lambda name, f: f"field {name} removed (was {field_type_text(f)})",
        )
        for name, a, b in changed:
            if a.type.kind == "enum" and b.type.kind == "enum" and a.type != b.type:
                gained = [w for w in b.type.words if w not in a.type.words]
                lost = [w for w in a.type.words if w not in b.type.words]
                parts = []
                if gained:
                    parts.append(f"words added: {words(gained)}")
                if lost:
                    parts.append(f"words removed: {words(lost)}")
                if not parts:
                    parts.append(f"words reordered: {{{words(a.type.words)}}} -> {{{words(b.type.words)}}}")
                self.add("lead", "changed", "lead", f"{name} " + "; ".join(parts), b.span)
            elif a.type != b.type:
                self.add("lead", "changed", "lead", f"{name} type {a.type} -> {b.type}", b.span)
            if a.optional != b.optional:
                text = "now optional (may be missing)" if b.optional else "now required (was optional)"
                self.add("lead", "changed", "lead", f"{name} {text}", b.span)
            if (a.has_default, a.default) != (b.has_default, b.default):
                da = quoted(a.default) if a.has_default else "none"
                db = quoted(b.default) if b.has_default else "none"
                self.add("lead", "changed", "lead", f"{name} default {da} -> {db}", b.span)

    # scores -----------------------------------------------------
    def scores(self) -> None:
        old = {s.name: s for s in self.old.scores}
        new = {s.name: s for s in self.new.scores}
        changed = self.added_removed(
            "score",
            "scores",
            old,
            new,
            lambda name, s: f"{name} added ({'; '.join(score_line_text(x) for x in s.lines)})",
            lambda name, s: f"{name} removed",
        )
        for name, a, b in changed:
            self.score_lines(name, a, b)

    def score_lines(self, name: str, a: m.Score, b: m.Score) -> None:
        subject = f"score {name}"
        ka = [cond_text(x.cond) for x in a.lines]
        kb = [cond_text(x.cond) for x in b.lines]
        if sorted(ka) == sorted(kb) and ka != kb:
            self.add(
                "score", "reordered", subject, f"order of lines changed (first match wins): {'; '.join(ka)} -> {'; '.join(kb)}", b.span
            )
            by_key = {k: x for k, x in zip(ka, a.lines)}
            for k, y in zip(kb, b.lines):
                self.score_points(subject, by_key[k], y)
            return
        sm = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op == "equal":
                for x, y in zip(a.lines[i1:i2], b.lines[j1:j2]):
                    self.score_points(subject, x, y)
                continue
            xs, ys = list(a.lines[i1:i2]), list(b.lines[j1:j2])
            pairs = list(zip(xs, ys)) if op == "replace" else []
            for x, y in pairs:
                self.add("score", "changed", subject, score_line_change(x, y), y.span)
            for x in xs[len(pairs) :]:
                self.add("score", "removed", subject, f"line removed: {score_line_text(x)}", x.span, old_side=True)
            for y in ys[len(pairs) :]:
                self.add("score", "added", subject, f"new line: {score_line_text(y)}", y.span)

    def score_points(self, subject: str, x: m.ScoreLine, y: m.ScoreLine) -> None:
        """The same condition on both sides: only its points can have changed."""
        if x.points != y.points:
            self.add("score", "changed", subject, f"{x.points} -> {score_line_text(y)}", y.span)

    # tiers ------------------------------------------------------
    def tiers(self) -> None:
        old = {t.name: t for t in self.old.tiers}
        new = {t.name: t for t in self.new.tiers}
        for name, t in new.items():
            a = old.get(name)
            if a is None:
                self.add("tiers", "added", "tiers", f"{name} added ({t.low}..{t.high})", t.span)
            elif a != t:
                self.add("tiers", "changed", f"tier {name}", f"{a.low}..{a.high} -> {t.low}..{t.high}", t.span)
        for name, t in old.items():
            if name not in new:
                self.add("tiers", "removed", "tiers", f"{name} removed (was {t.low}..{t.high})", t.span, old_side=True)

    # team -------------------------------------------------------
    def team(self) -> None:
        a, b = self.old.team, self.new.team
        if a == b:
            return
        empty = m.Team(1, 3, 1, 25, ())
        a, b = a or empty, b or empty
        span = b.span
        if (a.skill_low, a.skill_high) != (b.skill_low, b.skill_high):
            self.add("team", "changed", "team", f"skill scale {a.skill_low}..{a.skill_high} -> {b.skill_low}..{b.skill_high}", span)
        if a.skill_default != b.skill_default:
            self.add(
                "team", "changed", "team", f"default skill {a.skill_default} -> {b.skill_default} (for skills a rep does not list)", span
            )
        if a.capacity_default != b.capacity_default:
            users = [r.name for r in b.reps if r.capacity is None]
            who = words(users) if len(users) <= 4 else f"{len(users)} reps without a capacity of their own"
            self.add("team", "changed", "team", f"default capacity {a.capacity_default} -> {b.capacity_default} (applies to {who})", span)
        old = {r.name: r for r in a.reps}
        new = {r.name: r for r in b.reps}
        changed = self.added_removed(
            "team",
            "team",
            old,
            new,
            lambda name, r: f"{name} added ({rep_summary(b, r)})",
            lambda name, r: f"{name} removed (was {rep_summary(a, r)})",
        )
        for name, x, y in changed:
            if x.level != y.level:
                self.add("team", "changed", "team", f"{name} level {x.level} -> {y.level}", y.span)
            if x.capacity != y.capacity:
                ca = str(x.capacity) if x.capacity is not None else f"default ({a.capacity_default})"
                cb = str(y.capacity) if y.capacity is not None else f"default ({b.capacity_default})"
                self.add("team", "changed", "team", f"{name} capacity {ca} -> {cb}", y.span)
            if a.weight_of(x) != b.weight_of(y):
                self.add("team", "changed", "team", f"{name} weight {num(a.weight_of(x))} -> {num(b.weight_of(y))}", y.span)
            if x.speaks != y.speaks:
                self.add("team", "changed", "team", f"{name} languages {words(x.speaks)} -> {words(y.speaks)}", y.span)
            sx, sy = dict(x.skills), dict(y.skills)
            for skill, v in sy.items():
                if skill not in sx:
                    self.add("team", "changed", "team", f"{name} skill {skill} added ({v})", y.span)
                elif sx[skill] != v:
                    self.add("team", "changed", "team", f"{name} skill {skill} {sx[skill]} -> {v}", y.span)
            for skill, v in sx.items():
                if skill not in sy:
                    self.add("team", "changed", "team", f"{name} skill {skill} removed (was {v})", y.span)
        for text, where in lever_changes(a, b):
            self.add("team", "changed", "team", text, where)
        common_a, common_b = _common_order(old, new)
        if common_a != common_b:
            before, after = _changed_window(common_a, common_b)
            self.add(
                "team",
                "reordered",
                "team",
                f"order of reps changed (round robin and ties follow it): {words(before)} -> {words(after)}",
                span,
            )

    # exceptions and routes --------------------------------------
    def exceptions(self) -> None:
        old = {e.name: e for e in self.old.exceptions}
        new = {e.name: e for e in self.new.exceptions}
        changed = self.added_removed(
            "exception",
            "exceptions",
            old,
            new,
            lambda name, e: f"{name} added ({'; '.join([f'when {cond_text(e.when)}'] + [step_text(s) for s in e.steps])})",
            lambda name, e: f"{name} removed",
        )
        common_a, common_b = _common_order(old, new)
        if common_a != common_b:
            self.add(
                "exception",
                "reordered",
                "exceptions",
                f"order changed (the first that applies decides): {words(common_a)} -> {words(common_b)}",
                new[common_b[0]].span,
            )
        for name, x, y in changed:
            subject = f"exception {name}"
            if x.why != y.why:
                self.add("exception", "changed", subject, f"reason {quoted(x.why)} -> {quoted(y.why)}", y.span)
            if x.when != y.when:
                self.add("exception", "changed", subject, f"when {cond_text(x.when)} -> when {cond_text(y.when)}", y.when.span)
            self.steps("exception", subject, x.steps, y.steps, y.span)

    def routes(self) -> None:
        old = {r.tier: r for r in self.old.routes}
        new = {r.tier: r for r in self.new.routes}
        changed = self.added_removed(
            "route",
            "routes",
            old,
            new,
            lambda name, r: f"{name} added ({'; '.join(step_text(s) for s in r.steps) or 'no steps (pick least loaded)'})",
            lambda name, r: f"{name} removed",
        )
        for name, x, y in changed:
            subject = f"route {name}"
            if x.why != y.why:
                self.add("route", "changed", subject, f"reason {quoted(x.why)} -> {quoted(y.why)}", y.span)
            self.steps("route", subject, x.steps, y.steps, y.span)

    def steps(self, area: str, subject: str, xs: Sequence[m.Step], ys: Sequence[m.Step], block: m.Span) -> None:
        if xs == ys:
            return
        ta = [step_text(s) for s in xs]
        tb = [step_text(s) for s in ys]
        if sorted(ta) == sorted(tb):
            before, after = _changed_window(ta, tb)
            self.add(area, "reordered", subject, f"steps reordered: {'; '.join(before)} -> {'; '.join(after)}", block)
            return
        ka = [_step_kind(s) for s in xs]
        kb = [_step_kind(s) for s in ys]
        sm = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
        for _op, i1, i2, j1, j2 in sm.get_opcodes():
            sa, sb = list(xs[i1:i2]), list(ys[j1:j2])
            removed, added = [], []
            for k in range(max(len(sa), len(sb))):
                x = sa[k] if k < len(sa) else None
                y = sb[k] if k < len(sb) else None
                if x is not None and y is not None and _step_kind(x) == _step_kind(y):
                    if x != y:
                        self.add(area, "changed", subject, step_change(x, y), y.span)
                    continue
                if x is not None:
                    removed.append(x)
                if y is not None:
                    added.append(y)
            for x in removed:
                self.add(area, "removed", subject, f"step removed: {step_text(x)}", x.span, old_side=True)
            for y in added:
                self.add(area, "added", subject, f"step added: {step_text(y)}", y.span)

    # sla and examples -------------------------------------------
    def sla(self) -> None:
        old = {s.tier: s for s in self.old.sla}
        new = {s.tier: s for s in self.new.sla}
        for name, s in new.items():
            x = old.get(name)
            if x is None:
                self.add("sla", "added", "sla", f"{name} added ({sla_text(s)})", s.span)
                continue
            if x.minutes != s.minutes:
                self.add("sla", "changed", f"sla {name}", f"respond within {x.text} -> {s.text}", s.span)
            if x.reassign != s.reassign:
                self.add("sla", "changed", f"sla {name}", f"reassign at most {x.reassign} -> {s.reassign} times", s.span)
        for name, s in old.items():
            if name not in new:
                self.add("sla", "removed", "sla", f"{name} removed (was {sla_text(s)})", s.span, old_side=True)

    def examples(self) -> None:
        old = {e.name: e for e in self.old.examples}
        new = {e.name: e for e in self.new.examples}
        for name, e in new.items():
            if name not in old:
                self.add("example", "added", "example", f'"{name}" added', e.span)
            elif _example_key(old[name]) != _example_key(e):
                self.add("example", "changed", "example", f'"{name}" changed', e.span)
        for name, e in old.items():
            if name not in new:
                self.add("example", "removed", "example", f'"{name}" removed', e.span, old_side=True)


def _example_key(e: m.Example) -> tuple:
    """An example without its spans (lead values carry theirs in plain tuples)."""
    return (e.lead and tuple((k, v) for k, v, _span in e.lead), e.open, e.away, e.quota, e.lottery, e.seed, e.expects)


def _step_kind(s: m.Step) -> str:
    """Steps that can stand for one another: `otherwise route` and `otherwise queue` are one kind."""
    return "otherwise" if isinstance(s, (m.OtherwiseRoute, m.OtherwiseQueue)) else type(s).__name__


def _common_order(old: dict, new: dict) -> tuple[list[str], list[str]]:
    """The names on both sides, in the old order and in the new: a reorder is where they differ."""
    return [n for n in old if n in new], [n for n in new if n in old]


def _changed_window(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """The part of two orderings that differs (common head and tail dropped)."""
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    return a[i : len(a) - j], b[i : len(b) - j]


def diff_policies(old: m.Policy, new: m.Policy) -> list[Change]:
    """Every change in meaning from `old` to `new`, in the order of the policy's blocks."""
    return _Differ(old, new).run()


def diff_fields_and_examples(old: m.Policy, new: m.Policy) -> list[Change]:
    """Only the lead fields and the examples: what a front door shares with a policy (changes/door_diff.py)."""
    d = _Differ(old, new)
    d.fields()
    d.examples()
    return d.changes
