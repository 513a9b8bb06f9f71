"""Impact of a policy change, from the rules alone (no lead data needed).

A lead matters to the rules only through the fields its conditions read, and each
field splits into finitely many classes that no condition can tell apart: the words
of an enum, true/false, missing or not, and for numbers the intervals between the
thresholds the conditions compare against (`employees >= 1000` splits at 1000).
Rep attributes from runtime state (`load`, `open`, `quota`) split the same way.
Enumerating every combination of classes ("lead kinds") and running both compiled
policies on one representative of each is therefore exact, not a sample:

- tier moves: each total score in either policy's range, old tier -> new tier;
- route changes: each lead kind, where it goes first (an exception whose `when`
  holds, else its tier's route) before and after;
- eligibility: for each route and exception with `require`/`prefer`, each rep's
  standing (not eligible / eligible / preferred) for each lead kind.

Kinds with the same before -> after are merged back into short descriptions
("industry finance, employees >= 5000") by joining classes that differ in one
field only. Where a field is compared with another field the classes cannot be
made exact; the impact says so in its notes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine.codegen import Compiled
from ..engine.precedence import EXCEPTION, NO_TIER, ROUTE, first_rule
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


@dataclass(frozen=True)
class TierMove:
    low: int
    high: int
    old: str
    new: str

    def __str__(self) -> str:
        totals = f"total {self.low}" if self.low == self.high else f"totals {self.low}..{self.high}"
        return f"{totals}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class RouteChange:
    old: str
    new: str
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.old} -> {self.new} for {_kinds_text(self.kinds)}"


@dataclass(frozen=True)
class EligibilityChange:
    pipeline: str  # "route high" / "exception strategic"
    rep: str
    old: str
    new: str
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.pipeline}: {self.rep} {self.old} -> {self.new} ({_kinds_text(self.kinds)})"


@dataclass
class Impact:
    tier_moves: list[TierMove] = field(default_factory=list)
    routing: list[RouteChange] = field(default_factory=list)
    eligibility: list[EligibilityChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.tier_moves or self.routing or self.eligibility)

    def to_json(self) -> dict[str, Any]:
        return {
            "tier_moves": [{"low": t.low, "high": t.high, "old": t.old, "new": t.new, "summary": str(t)} for t in self.tier_moves],
            "routing": [{"old": r.old, "new": r.new, "kinds": list(r.kinds), "summary": str(r)} for r in self.routing],
            "eligibility": [
                {"pipeline": e.pipeline, "rep": e.rep, "old": e.old, "new": e.new, "kinds": list(e.kinds), "summary": str(e)}
                for e in self.eligibility
            ],
            "notes": list(self.notes),
        }


def _kinds_text(kinds: Sequence[str]) -> str:
    if len(kinds) <= 6:
        return "; ".join(kinds)
    return "; ".join(kinds[:6]) + f"; and {len(kinds) - 6} more kinds of lead"


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


# ---------------------------------------------------------------- describing sets of kinds
def _label(d: Dim, idx: frozenset[int]) -> str:
    if d.bounds:
        parts = []
        numeric = sorted(i for i in idx if d.values[i] is not None)
        runs: list[list[int]] = []
        for i in numeric:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            lo, lo_incl = d.bounds[run[0]][0], d.bounds[run[0]][1]
            hi, hi_incl = d.bounds[run[-1]][2], d.bounds[run[-1]][3]
            parts.append(_range_text(d, lo, lo_incl, hi, hi_incl))
        if any(d.values[i] is None for i in idx):
            parts.append(f"{d.name} missing")
        return " or ".join(parts)
    vals = [d.values[i] for i in sorted(idx)]
    left_out = [d.values[i] for i in range(len(d.values)) if i not in idx]
    if d.kind == "enum" and len(left_out) <= 2 and len(vals) > 2 * len(left_out) and None not in left_out:
        return f"{d.name} other than " + " or ".join(str(v) for v in left_out)
    if d.kind == "bool":
        return " or ".join(f"{d.name} missing" if v is None else (d.name if v else f"not {d.name}") for v in vals)
    words = []
    for v in vals:
        if v is None:
            words.append("missing")
        elif v == OTHER:
            named = any(x not in (None, OTHER) for x in d.values)
            words.append(("another rep" if named else "set") if d.kind == "rep" else "any other value")
        else:
            words.append(str(v))
    return f"{d.name} " + " or ".join(words)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _range_text(d: Dim, lo, lo_incl, hi, hi_incl) -> str:
    n = d.name
    if d.kind == "int":
        if lo is None and hi is None:
            return f"any {n}"
        if lo is None:
            return f"{n} < {_fmt(hi + 1)}"
        if hi is None:
            return f"{n} >= {_fmt(lo)}"
        if lo == hi:
            return f"{n} = {_fmt(lo)}"
        return f"{n} {_fmt(lo)}..{_fmt(hi)}"
    if lo is None and hi is None:
        return f"any {n}"
    if lo is None:
        return f"{n} {'<=' if hi_incl else '<'} {_fmt(hi)}"
    if hi is None:
        return f"{n} {'>=' if lo_incl else '>'} {_fmt(lo)}"
    if lo == hi:
        return f"{n} = {_fmt(lo)}"
    return f"{_fmt(lo)} {'<=' if lo_incl else '<'} {n} {'<=' if hi_incl else '<'} {_fmt(hi)}"


def describe(dims: Sequence[Dim], kinds: Iterable[tuple[int, ...]]) -> tuple[str, ...]:
    """Merge kinds into cubes (sets per field) and say each in words; sorted, stable."""
    cubes = {tuple(frozenset([i]) for i in k) for k in kinds}
    changed = True
    while changed:
        changed = False
        for d in range(len(dims)):
            groups: dict[tuple, set[int]] = {}
            for c in cubes:
                key = c[:d] + c[d + 1 :]
                groups.setdefault(key, set()).update(c[d])
            if len(groups) < len(cubes):
                cubes = {key[:d] + (frozenset(vals),) + key[d:] for key, vals in groups.items()}
                changed = True
    out = []
    for c in sorted(cubes, key=lambda c: [sorted(s) for s in c]):
        parts = [_label(d, s) for d, s in zip(dims, c) if len(s) < len(d.values)]
        out.append(", ".join(parts) if parts else "every lead")
    return tuple(out)


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


# ---------------------------------------------------------------- the three impacts
def tier_moves(old: Compiled, new: Compiled) -> list[TierMove]:
    def name(c: Compiled, total: int) -> str:
        lo, hi = c.score_range()
        if not lo <= total <= hi:
            return "out of range"
        ti = c.tier_by_total.get(total)
        return c.tiers[ti].name if ti is not None else "no tier"

    lo = min(old.score_range()[0], new.score_range()[0])
    hi = max(old.score_range()[1], new.score_range()[1])
    moves: list[TierMove] = []
    for total in range(lo, hi + 1):
        a, b = name(old, total), name(new, total)
        if a == b:
            continue
        if moves and moves[-1].high == total - 1 and (moves[-1].old, moves[-1].new) == (a, b):
            moves[-1] = TierMove(moves[-1].low, total, a, b)
        else:
            moves.append(TierMove(total, total, a, b))
    return moves


def _destination(c: Compiled, lead: dict) -> str:
    """Where a lead goes first, by the engine's precedence (exceptions before routes)."""
    total, _, ti, kind, _, pipe = first_rule(c, lead)
    if kind == NO_TIER:
        return f"unassigned (total {total} is in no tier)"
    if kind == EXCEPTION:
        return f"exception {pipe.name}"
    tier = c.tiers[ti].name
    return f"route {tier}" if kind == ROUTE else f"unassigned (no route for {tier})"


def routing(old: Compiled, new: Compiled, notes: list[str]) -> list[RouteChange]:
    u = _Uses()
    for p in (old.policy, new.policy):
        names = {f.name for f in p.fields}
        for s in p.scores:
            for line in s.lines:
                if line.cond is not None:
                    _walk(line.cond, names, False, u)
        for e in p.exceptions:
            _walk(e.when, names, False, u)
    for f in new.policy.fields:  # a word added to or dropped from a field turns leads away or in
        g = old.policy.field_named(f.name)
        if f.type.kind == "enum" and g is not None and g.type.kind == "enum" and set(f.type.words) != set(g.type.words):
            u.fields[f.name] = None
    dims = _dims(u, old.policy, new.policy)
    kinds = _product(dims)
    if kinds is None:
        notes.append(f"route changes not computed: more than {MAX_KINDS} kinds of lead")
        return []
    if u.field_vs_field:
        notes.append(f"fields compared with each other ({', '.join(sorted(u.field_vs_field))}) are split only at written thresholds")
    groups: dict[tuple[str, str], list[tuple[int, ...]]] = {}
    for kind in kinds:
        dest = []
        for c in (old, new):
            lead, refused = _lead(c.policy, dims, kind)
            dest.append(f"refused ({refused} is not allowed)" if refused else _destination(c, lead))
        if dest[0] != dest[1]:
            groups.setdefault((dest[0], dest[1]), []).append(kind)
    return [RouteChange(a, b, describe(dims, ks)) for (a, b), ks in sorted(groups.items())]


def _pipelines(p: m.Policy) -> dict[str, tuple[m.Step, ...]]:
    out = {f"exception {e.name}": e.steps for e in p.exceptions}
    out.update({f"route {r.tier}": r.steps for r in p.routes})
    return out


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


class _Standing:
    """A rep's standing in one pipeline of one policy, as a function of a lead kind."""

    def __init__(self, c: Compiled, steps: tuple[m.Step, ...] | None):
        self.c = c
        self.present = steps is not None
        steps = steps or ()
        self.requires = [c.rep_test(s.cond) for s in steps if isinstance(s, m.Require)]
        prefer = next((s for s in steps if isinstance(s, m.Prefer)), None)
        self.prefer = [c.rep_test(o) for o in prefer.options] if prefer else []

    def __call__(self, rep: str, lead: dict, runtime: dict[str, float]) -> str:
        c = self.c
        if not self.present:
            return "(not in this policy)"
        r = c.rep_index.get(rep)
        if r is None:
            return "not on the team"
        n = len(c.rep_names)
        if "load" in runtime:
            opens = [runtime["load"] * cap for cap in c.capacity]
        else:
            opens = [runtime.get("open", 0)] * n
        quota = [runtime.get("quota", 0.0)] * n
        if not all(t(lead, opens, quota, r) for t in self.requires):
            return "not eligible"
        if not self.prefer:
            return "eligible"
        for k, t in enumerate(self.prefer):
            if t(lead, opens, quota, r):
                return "eligible, preferred" if k == 0 else f"eligible, {_ordinal(k + 1)} choice"
        return "eligible, not preferred"


def eligibility(old: Compiled, new: Compiled, notes: list[str]) -> list[EligibilityChange]:
    out: list[EligibilityChange] = []
    po, pn = _pipelines(old.policy), _pipelines(new.policy)
    reps = list(dict.fromkeys(list(old.rep_names) + list(new.rep_names)))
    for key in list(dict.fromkeys(list(po) + list(pn))):
        conds: list[tuple[m.Policy, m.Cond]] = []
        for p, steps in ((old.policy, po.get(key, ())), (new.policy, pn.get(key, ()))):
            for s in steps:
                if isinstance(s, m.Require):
                    conds.append((p, s.cond))
                elif isinstance(s, m.Prefer):
                    conds.extend((p, o) for o in s.options)
        if not conds:
            continue
        u = _Uses()
        for p, cond in conds:
            _walk(cond, {f.name for f in p.fields}, True, u)
        dims = _dims(u, old.policy, new.policy)
        kinds = _product(dims)
        if kinds is None:
            notes.append(f"{key}: eligibility not computed: more than {MAX_KINDS} kinds of lead")
            continue
        kinds = list(kinds)
        so, sn = _Standing(old, po.get(key)), _Standing(new, pn.get(key))
        for rep in reps:
            groups: dict[tuple[str, str], list[tuple[int, ...]]] = {}
            for kind in kinds:
                runtime = {d.name: d.values[i] for d, i in zip(dims, kind) if d.kind == "runtime"}
                la, ra = _lead(old.policy, dims, kind)
                lb, rb = _lead(new.policy, dims, kind)
                if ra or rb:
                    continue  # a lead one side refuses: the route changes say so
                a, b = so(rep, la, runtime), sn(rep, lb, runtime)
                if a != b:
                    groups.setdefault((a, b), []).append(kind)
            for (a, b), ks in sorted(groups.items()):
                if a == "not on the team" and b == "not eligible" or a == "not eligible" and b == "not on the team":
                    continue  # joining or leaving without ever qualifying changes nothing here
                out.append(EligibilityChange(key, rep, a, b, describe(dims, ks)))
    return out


def impact(old: Compiled, new: Compiled) -> Impact:
    """Everything a change does to where leads go, computed from the two policies."""
    notes: list[str] = []
    return Impact(tier_moves(old, new), routing(old, new, notes), eligibility(old, new, notes), notes)
