"""What an explanation shows of the policy and the reps: source text, values, failed terms.

Nothing here decides anything: a rep's values (skills, load, level) are read from
the policy and the state the decision saw, and whether a term holds is asked of
the compiled condition itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..engine.availability import open_counts
from ..engine.codegen import Compiled
from ..engine.decision import Decision
from ..engine.hours import zone
from ..engine.quota import attainment
from ..lang import model as m


def source(policy: m.Policy, span: m.Span) -> str:
    """The exact text a span covers (its first line when it spans several)."""
    text = policy.source_text(span.file)
    if text is None or span.line < 1:
        return ""
    lines = text.splitlines()
    if span.line > len(lines):
        return ""
    line = lines[span.line - 1]
    if span.end_line == span.line and span.end_col > span.col:
        return line[span.col - 1 : span.end_col - 1].strip()
    return line[span.col - 1 :].split("#", 1)[0].strip() if span.col >= 1 else line.strip()


def fmt(v: Any) -> str:
    if v is None:
        return "missing"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    return str(v)


def _cond_fields(c: m.Cond | None) -> list[str]:
    """Lead fields a condition reads, in order of appearance."""
    out: list[str] = []

    def walk(x):
        if isinstance(x, (m.And, m.Or)):
            for i in x.items:
                walk(i)
        elif isinstance(x, m.Not):
            walk(x.item)
        elif isinstance(x, (m.Is, m.IsSet, m.Flag)):
            out.append(x.name)
        elif isinstance(x, m.Speaks) and not x.literal:
            out.append(x.name)
        elif isinstance(x, m.Compare):
            for o in (x.left, x.right):
                if isinstance(o, (m.FieldRef, m.SkillRef)):
                    out.append(o.name)

    if c is not None:
        walk(c)
    return list(dict.fromkeys(out))


def lead_values(c: Compiled, cond: m.Cond | None, lead: dict) -> list[dict]:
    """The lead's values a condition read: `value` as the lead holds it (typed, null when missing), `text` as shown."""
    return [{"field": f, "value": lead.get(f), "text": fmt(lead.get(f))} for f in _cond_fields(cond) if f in c.fields]


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _atoms(c: m.Cond) -> list[m.Cond]:
    if isinstance(c, (m.And, m.Or)):
        return [a for i in c.items for a in _atoms(i)]
    if isinstance(c, m.Not):
        return _atoms(c.item)
    return [c]


class RepView:
    """What the decision saw of one rep: level, skills, load, languages."""

    def __init__(self, c: Compiled, d: Decision):
        self.c = c
        self.d = d
        self.O = open_counts(c, d.state)
        self.Q = attainment(c, d.state, d.at) if c.has_quota else [d.state.quota.get(n, 0.0) for n in c.rep_names]

    def open(self, i: int) -> int:
        return self.O[i]

    def load(self, i: int) -> str:
        cap = self.c.capacity[i]
        o = self.O[i]
        return f"{o}/{cap} = {o / cap:.2f}" if cap else f"{o}/0"

    def _operand(self, o: m.Operand, i: int) -> tuple[str, str, bool]:
        """(label, value, is about the rep) for one side of a comparison."""
        c, lead = self.c, self.d.lead
        if isinstance(o, m.SkillRef):
            skill = lead.get(o.name) if o.name in c.fields else o.name
            if skill is None:
                return f"skill({o.name})", f"unknown ({o.name} is missing)", True
            return f"skill({skill})", str(c.skills[i].get(skill, c.skill_default)), True
        if isinstance(o, m.FieldRef) and o.name not in c.fields:
            value = {
                "load": self.load(i),
                "open": str(self.O[i]),
                "quota": fmt(self.Q[i]),
                "capacity": str(c.capacity[i]),
                "weight": fmt(c.weights[i]),
            }.get(o.name, "?")
            return o.name, value, True
        if isinstance(o, m.FieldRef):
            return o.name, fmt(lead.get(o.name)), False
        return fmt(o.value), fmt(o.value), False

    def _atom(self, a: m.Cond, i: int) -> str:
        c, lead = self.c, self.d.lead
        if isinstance(a, m.Compare):
            ll, lv, lrep = self._operand(a.left, i)
            rl, rv, rrep = self._operand(a.right, i)
            if lrep and not rrep:
                return f"{ll} = {lv}, needs {a.op} {rv}"
            if rrep and not lrep:
                return f"{rl} = {rv}, needs {_FLIP[a.op]} {lv}"
            return f"{ll} = {lv}, {rl} = {rv}, needs {ll} {a.op} {rl}"
        if isinstance(a, m.Flag):
            if a.name in c.fields and a.name not in c.levels:
                return f"{a.name} = {fmt(lead.get(a.name))}"
            return f"level {c.levels[i]}, needs {a.name}"
        if isinstance(a, m.Speaks):
            lang = lead.get(a.name) if (not a.literal and a.name in c.fields) else a.name
            spoken = ", ".join(sorted(c.speaks[i])) or "no language listed"
            return f"speaks {spoken}, needs {fmt(lang)}"
        if isinstance(a, m.Is) and a.name == "level" and "level" not in c.fields:
            return f"level {c.levels[i]}, needs {' or '.join(a.words)}"
        if isinstance(a, m.Is) and a.name == "rep" and "rep" not in c.fields:
            return f"rep {c.rep_names[i]}, needs {' or '.join(a.words)}"
        if isinstance(a, (m.Is, m.IsSet)):
            return f"{a.name} = {fmt(lead.get(a.name))}"
        return "does not match"

    def describe(self, cond: m.Cond, i: int) -> str:
        """Why a rep fails a condition: its value for each term that is false."""
        L = self.d.lead
        atoms = _atoms(cond)
        failing = [a for a in atoms if not self.c.rep_test(a)(L, self.O, self.Q, i)]
        shown = failing if (failing and not isinstance(cond, m.Not)) else atoms
        return "; ".join(dict.fromkeys(self._atom(a, i) for a in shown))


def when(c: Compiled, at: float | None) -> str:
    """` at Tue 2026-12-01 10:00 Europe/Berlin`: the time a team with caps or hours was read at."""
    if at is None or not c.timed:
        return ""
    return f" at {datetime.fromtimestamp(at, zone(c.zone_name)):%a %Y-%m-%d %H:%M} {c.zone_name}"
