"""Eligibility changes: each rep's standing in each route and exception, per lead kind.

Its own module because it reads the rep side of the rules (`require`, `prefer`,
runtime load and quota), which route changes do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.codegen import Compiled
from ..lang import model as m
from .kinds import MAX_KINDS, _dims, _lead, _product, _Uses, _walk
from .kinds_text import _kinds_text, describe


@dataclass(frozen=True)
class EligibilityChange:
    pipeline: str  # "route high" / "exception strategic"
    rep: str
    old: str
    new: str
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.pipeline}: {self.rep} {self.old} -> {self.new} ({_kinds_text(self.kinds)})"


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
