"""The policy model printed back in the language's own words, for the diff's lines.

A change reads best in the terms the author wrote (`when seats >= 10`, `pick round
robin`), so the diff prints conditions, steps, fields and reps back from the model
rather than quoting source text, which would carry layout and comments.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..engine.picks import PICKS
from ..lang import model as m


# ---------------------------------------------------------------- the model
def num(v: float | int) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def operand_text(o: m.Operand) -> str:
    if isinstance(o, m.Num):
        return num(o.value)
    if isinstance(o, m.Str):
        return '"' + o.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(o, m.SkillRef):
        return f"skill({o.name})"
    return o.name


def cond_text(c: m.Cond | None) -> str:
    """A condition as the policy language writes it (parentheses only where needed)."""
    if c is None:
        return "otherwise"
    if isinstance(c, m.Compare):
        return f"{operand_text(c.left)} {c.op} {operand_text(c.right)}"
    if isinstance(c, m.Is):
        if len(c.words) == 1:
            return f"{c.name} is {'not ' if c.negated else ''}{c.words[0]}"
        return f"{c.name} {'not in' if c.negated else 'in'} {{{', '.join(c.words)}}}"
    if isinstance(c, m.IsSet):
        return f"{c.name} is {'missing' if c.negated else 'set'}"
    if isinstance(c, m.Speaks):
        return f'speaks "{c.name}"' if c.literal else f"speaks {c.name}"
    if isinstance(c, m.Flag):
        return c.name
    if isinstance(c, m.Not):
        inner = cond_text(c.item)
        return f"not ({inner})" if isinstance(c.item, (m.And, m.Or)) else f"not {inner}"
    if isinstance(c, m.And):
        return " and ".join(f"({cond_text(i)})" if isinstance(i, m.Or) else cond_text(i) for i in c.items)
    if isinstance(c, m.Or):
        return " or ".join(cond_text(i) for i in c.items)
    raise TypeError(f"not a condition: {c!r}")


def pick_name(kind: str) -> str:
    """`round_robin` -> `round robin`: a pick as the policy writes it, from the engine's registry."""
    s = PICKS.get(kind)
    return s.words if s is not None else kind


def options_text(options: Sequence[m.Cond]) -> str:
    """`prefer`'s options in order, as the policy writes them."""
    return ", then ".join(cond_text(o) for o in options)


def pick_text(s: m.Pick) -> str:
    """`shares veteran 50%, new 50% per month then least loaded`, or the pick's words."""
    if s.kind != "shares":
        return pick_name(s.kind)
    shares = ", ".join(f"{g} {num(p)}%" for g, p in s.shares)
    return f"shares {shares} per {s.per} then {pick_name(s.then or 'least_loaded')}"


def step_text(s: m.Step) -> str:
    if isinstance(s, m.Lottery):
        return f"lottery {num(s.percent)}% among available reps" + (" by weight" if s.by_weight else "")
    if isinstance(s, m.Require):
        return f"require {cond_text(s.cond)}"
    if isinstance(s, m.Prefer):
        return "prefer " + options_text(s.options)
    if isinstance(s, m.Pick):
        return f"pick {pick_text(s)}"
    if isinstance(s, m.OtherwiseRoute):
        return f"otherwise route {s.tier}"
    if isinstance(s, m.OtherwiseQueue):
        return f"otherwise queue {s.queue}"
    if isinstance(s, m.Assign):
        return f"assign {s.name}"
    if isinstance(s, m.QueueAction):
        return f"queue {s.queue}"
    raise TypeError(f"not a step: {s!r}")


def field_type_text(f: m.LeadField) -> str:
    out = str(f.type) + ("?" if f.optional else "")
    if f.has_default:
        d = f.default
        shown = '"' + d + '"' if isinstance(d, str) and f.type.kind == "text" else ("true" if d is True else "false" if d is False else d)
        out += f" = {shown}"
    return out


def points(n: int) -> str:
    return f"{n} point{'s' if abs(n) != 1 else ''}"


def words(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def quoted(v: object) -> str:
    if v is None:
        return "none"
    if isinstance(v, str):
        return '"' + v + '"'
    if v is True or v is False:
        return "true" if v else "false"
    return num(v) if isinstance(v, (int, float)) else str(v)


def when(c: m.Cond | None) -> str:
    return "otherwise" if c is None else f"when {cond_text(c)}"


def score_line_text(line: m.ScoreLine) -> str:
    """`3 points when seats >= 10`: a score line as it reads in a change."""
    return f"{points(line.points)} {when(line.cond)}"


# ---------------------------------------------------------------- one change in words


def score_line_change(x: m.ScoreLine, y: m.ScoreLine) -> str:
    """A changed line: a moved threshold reads as such, anything else as old -> new."""
    cx, cy = x.cond, y.cond
    if (
        isinstance(cx, m.Compare)
        and isinstance(cy, m.Compare)
        and (cx.left, cx.op) == (cy.left, cy.op)
        and isinstance(cx.right, m.Num)
        and isinstance(cy.right, m.Num)
    ):
        text = f"threshold {cond_text(cx)} -> {cond_text(cy)}"
        if x.points != y.points:
            return f"{text}, {x.points} -> {points(y.points)}"
        return f"{text} ({points(y.points)})"
    if x.points != y.points:
        return f"{score_line_text(x)} -> {score_line_text(y)}"
    return f"{when(cx)} -> {when(cy)} ({points(y.points)})"


def step_change(x: m.Step, y: m.Step) -> str:
    """A step changed in place (same kind): only what differs, old -> new."""
    if isinstance(x, m.Lottery) and isinstance(y, m.Lottery):
        parts = []
        if x.percent != y.percent:
            parts.append(f"lottery {num(x.percent)}% -> {num(y.percent)}%")
        if x.by_weight != y.by_weight:
            parts.append("lottery now drawn by weight" if y.by_weight else "lottery no longer drawn by weight (uniform)")
        return "; ".join(parts)
    if isinstance(x, m.Require) and isinstance(y, m.Require):
        return f"require {cond_text(x.cond)} -> {cond_text(y.cond)}"
    if isinstance(x, m.Prefer) and isinstance(y, m.Prefer):
        return f"{step_text(x)} -> {options_text(y.options)}"
    if isinstance(x, m.Pick) and isinstance(y, m.Pick):
        return f"pick {pick_text(x)} -> {pick_text(y)}"
    if isinstance(x, m.OtherwiseRoute) and isinstance(y, m.OtherwiseRoute):
        return f"otherwise route {x.tier} -> {y.tier}"
    if isinstance(x, m.OtherwiseQueue) and isinstance(y, m.OtherwiseQueue):
        return f"otherwise queue {x.queue} -> {y.queue}"
    if isinstance(x, m.Assign) and isinstance(y, m.Assign):
        return f"assign {x.name} -> {y.name}"
    if isinstance(x, m.QueueAction) and isinstance(y, m.QueueAction):
        return f"queue {x.queue} -> {y.queue}"
    return f"{step_text(x)} -> {step_text(y)}"


def sla_text(s: m.SlaRule) -> str:
    """An SLA line as it reads when added or removed."""
    out = f"respond within {s.text}"
    if s.reassign:
        out += f", reassign at most {s.reassign} time{'s' if s.reassign != 1 else ''}"
    return out


def rep_summary(team: m.Team, r: m.Rep) -> str:
    """A rep's figures as they read when the rep is added or removed."""
    parts = [r.level, f"capacity {team.capacity_of(r)}"]
    if team.weight_of(r) != 1:
        parts.append(f"weight {num(team.weight_of(r))}")
    if r.speaks:
        parts.append(f"speaks {', '.join(r.speaks)}")
    if r.skills:
        parts.append("skills " + ", ".join(f"{k} {v}" for k, v in r.skills))
    return ", ".join(parts)
