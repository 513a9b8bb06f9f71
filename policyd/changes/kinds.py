"""Lead kinds: each field a condition reads, split into the classes no condition can tell apart.

Below every impact figure, so routes and eligibility enumerate the same kinds and
build the same representative leads for both policies (see impact.py for why the
enumeration is exact).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..lang import model as m

MAX_KINDS = 200_000
MISSING = None
OTHER = "\x00other"  # a text value no condition names


@dataclass(frozen=True)
class Dim:
    """One field (or rep attribute) split into classes, each with a representative value."""

    name: str
    kind: str  # enum | bool | rep | text | int | number | runtime
    values: tuple[Any, ...]
    bounds: tuple[Any, ...] = ()  # numeric: (lo, lo_incl, hi, hi_incl) per class, None for infinite


# ---------------------------------------------------------------- what conditions read
@dataclass
class _Uses:
    fields: dict[str, None] = field(default_factory=dict)  # ordered set
    thresholds: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # field -> (op, value), field on the left
    words: dict[str, set[str]] = field(default_factory=dict)
    speaks: set[str] = field(default_factory=set)  # fields used as `speaks FIELD`
    skill_fields: set[str] = field(default_factory=set)  # fields used as `skill(FIELD)`
    runtime: dict[str, None] = field(default_factory=dict)
    field_vs_field: set[str] = field(default_factory=set)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _walk(c: m.Cond, fields: set[str], rep_ctx: bool, u: _Uses) -> None:
    if isinstance(c, (m.And, m.Or)):
        for i in c.items:
            _walk(i, fields, rep_ctx, u)
    elif isinstance(c, m.Not):
        _walk(c.item, fields, rep_ctx, u)
    elif isinstance(c, (m.Is, m.IsSet)):
        if c.name in fields:
            u.fields[c.name] = None
            if isinstance(c, m.Is):
                u.words.setdefault(c.name, set()).update(c.words)
    elif isinstance(c, m.Flag):
        if c.name in fields:
            u.fields[c.name] = None
    elif isinstance(c, m.Speaks):
        if not c.literal and c.name in fields:
            u.fields[c.name] = None
            u.speaks.add(c.name)
    elif isinstance(c, m.Compare):
        sides = [c.left, c.right]
        names = [_operand_field(o, fields, rep_ctx, u) for o in sides]
        for i, name in enumerate(names):
            if name is None:
                continue
            other = sides[1 - i]
            op = c.op if i == 0 else _FLIP[c.op]
            if isinstance(other, m.Num):
                u.thresholds.setdefault(name, []).append((op, float(other.value)))
            elif isinstance(other, m.Str):
                u.words.setdefault(name, set()).add(other.value)
            elif names[1 - i] is not None:
                u.field_vs_field.add(name)


def _operand_field(o: m.Operand, fields: set[str], rep_ctx: bool, u: _Uses) -> str | None:
    if isinstance(o, m.SkillRef):
        if o.name in fields:
            u.fields[o.name] = None
            u.skill_fields.add(o.name)
        return None  # the skill level itself is the rep's, not the lead's
    if isinstance(o, m.FieldRef):
        if o.name in fields:
            u.fields[o.name] = None
            return o.name
        if rep_ctx and o.name in ("load", "open", "quota"):
            u.runtime[o.name] = None
            return o.name
    return None


# ---------------------------------------------------------------- classes
def _field_def(name: str, old: m.Policy, new: m.Policy) -> tuple[m.LeadField | None, bool]:
    """The field's declaration (the new one first) and whether either policy lets it be missing."""
    a, b = old.field_named(name), new.field_named(name)
    may_miss = any(f is not None and f.optional and not f.has_default for f in (a, b))
    return (b or a), may_miss


def _numeric_classes(name: str, kind: str, ths: Iterable[tuple[str, float]]) -> Dim:
    values: list[Any] = []
    bounds: list[tuple] = []
    ths = list(ths)
    if kind == "int" and all(float(t).is_integer() for _, t in ths):
        cuts: set[int] = set()
        for op, t in ths:
            t = int(t)
            if op in ("<", ">="):
                cuts.add(t)
            elif op in ("<=", ">"):
                cuts.add(t + 1)
            else:
                cuts.update((t, t + 1))
        cs = sorted(cuts)
        if not cs:
            return Dim(name, "int", (0,), ((None, False, None, False),))
        values.append(cs[0] - 1)
        bounds.append((None, False, cs[0] - 1, True))
        for i, c in enumerate(cs):
            hi = cs[i + 1] - 1 if i + 1 < len(cs) else None
            values.append(c)
            bounds.append((c, True, hi, hi is not None))
        return Dim(name, "int", tuple(values), tuple(bounds))
    ts = sorted({t for _, t in ths})
    if not ts:
        return Dim(name, kind, (0.0,), ((None, False, None, False),))
    values.append(ts[0] - 1)
    bounds.append((None, False, ts[0], False))
    for i, t in enumerate(ts):
        values.append(t)
        bounds.append((t, True, t, True))
        nxt = ts[i + 1] if i + 1 < len(ts) else None
        values.append((t + nxt) / 2 if nxt is not None else t + 1)
        bounds.append((t, False, nxt, False))
    return Dim(name, "number" if kind != "runtime" else "runtime", tuple(values), tuple(bounds))


def _dims(u: _Uses, old: m.Policy, new: m.Policy) -> list[Dim]:
    dims: list[Dim] = []
    teams = [p.team for p in (old, new) if p.team is not None]
    for name in u.fields:
        f, may_miss = _field_def(name, old, new)
        kind = f.type.kind if f is not None else "text"
        if kind in ("int", "number"):
            d = _numeric_classes(name, kind, u.thresholds.get(name, []))
            values, bounds = list(d.values), list(d.bounds)
        else:
            bounds = []
            if kind == "enum":
                words: dict[str, None] = {}
                for p in (old, new):
                    g = p.field_named(name)
                    if g is not None and g.type.kind == "enum":
                        words.update(dict.fromkeys(g.type.words))
                values = list(words)
            elif kind == "bool":
                values = [True, False]
            else:  # text or rep: the words conditions name, the team's words, and one more
                extra: dict[str, None] = dict.fromkeys(sorted(u.words.get(name, ())))
                if name in u.speaks:
                    for t in teams:
                        for r in t.reps:
                            extra.update(dict.fromkeys(r.speaks))
                if name in u.skill_fields:
                    for t in teams:
                        for r in t.reps:
                            extra.update(dict.fromkeys(k for k, _ in r.skills))
                values = list(extra) + [OTHER]
        if may_miss:
            values.append(MISSING)
            if bounds:
                bounds.append(None)
        dims.append(Dim(name, kind, tuple(values), tuple(bounds)))
    for name in u.runtime:
        dims.append(_numeric_classes(name, "runtime", u.thresholds.get(name, [])))
    return dims


def _product(dims: Sequence[Dim]) -> Iterable[tuple[int, ...]] | None:
    size = math.prod(len(d.values) for d in dims)
    if size > MAX_KINDS:
        return None
    return itertools.product(*[range(len(d.values)) for d in dims])


def _lead(policy: m.Policy, dims: Sequence[Dim], kind: tuple[int, ...]) -> tuple[dict, str | None]:
    """A representative lead for one kind, and why this policy would refuse it (if it would)."""
    lead: dict[str, Any] = {f.name: None for f in policy.fields}
    for d, i in zip(dims, kind):
        if d.kind == "runtime":
            continue
        v = d.values[i]
        f = policy.field_named(d.name)
        if f is None:
            continue
        if v is None and not f.optional:
            return lead, f"{d.name} missing"
        if v is not None and f.type.kind == "enum" and v not in f.type.words:
            return lead, f"{d.name} {v}"
        lead[d.name] = v
    return lead, None
