"""The lead space of an analysis: representative lead values, their combinations, full leads.

Below every analysis, so each one enumerates the same values and checks its
counterexample with the same compiled policy (analyze.py says why this is exact).
The analysis proper, `analyze.Analysis`, adds the score table and rep availability.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..engine.codegen import Compiled
from ..engine.decide import decide
from ..engine.schema import LeadError
from ..engine.state import State
from ..lang import model as m
from .context import Context

MAX_ASSIGNMENTS = 20_000  # per enumeration; beyond it the analysis says nothing it cannot show
SEED = "policyd-check"


def _fields_of(c: m.Cond | None) -> set[str]:
    """Lead fields a condition reads (rep attributes, levels and skill words are not fields)."""
    out: set[str] = set()
    if c is None:
        return out
    if isinstance(c, (m.And, m.Or)):
        for i in c.items:
            out |= _fields_of(i)
    elif isinstance(c, m.Not):
        out |= _fields_of(c.item)
    elif isinstance(c, (m.Is, m.IsSet, m.Flag)):
        out.add(c.name)
    elif isinstance(c, m.Speaks):
        if not c.literal:
            out.add(c.name)
    elif isinstance(c, m.Compare):
        for o in (c.left, c.right):
            if isinstance(o, (m.FieldRef, m.SkillRef)):
                out.add(o.name)
    return out


def _walk(c: m.Cond) -> Iterator[m.Cond]:
    yield c
    if isinstance(c, (m.And, m.Or)):
        for i in c.items:
            yield from _walk(i)
    elif isinstance(c, m.Not):
        yield from _walk(c.item)


@dataclass
class LeadSpace:
    """What every analysis shares: the compiled policy and the representative lead values."""

    ctx: Context

    @property
    def policy(self) -> m.Policy:
        return self.ctx.policy

    @property
    def compiled(self) -> Compiled:
        return self.ctx.compiled

    @cached_property
    def conditions(self) -> list[m.Cond]:
        p = self.policy
        out: list[m.Cond] = [line.cond for s in p.scores for line in s.lines if line.cond is not None]
        out += [e.when for e in p.exceptions]
        for pipe in list(p.routes) + list(p.exceptions):
            for st in pipe.steps:
                if isinstance(st, m.Require):
                    out.append(st.cond)
                elif isinstance(st, m.Prefer):
                    out.extend(st.options)
        return out

    @cached_property
    def values(self) -> dict[str, list]:
        """Representative values per lead field: every distinct truth value of every condition."""
        nums: dict[str, set[float]] = {f.name: set() for f in self.policy.fields}
        words: dict[str, set[str]] = {f.name: set() for f in self.policy.fields}
        links: list[tuple[str, str]] = []
        team = self.ctx.team_reps
        languages = {lang for r in team for lang in r.speaks}
        skills = {s for r in team for s, _ in r.skills}
        for cond in self.conditions:
            for c in _walk(cond):
                if isinstance(c, m.Is) and c.name in words:
                    words[c.name] |= set(c.words)
                elif isinstance(c, m.Speaks) and not c.literal and c.name in words:
                    words[c.name] |= languages
                elif isinstance(c, m.Compare):
                    refs = [o.name for o in (c.left, c.right) if isinstance(o, m.FieldRef) and o.name in nums]
                    for o in (c.left, c.right):
                        if isinstance(o, m.Num):
                            for r in refs:
                                nums[r].add(float(o.value))
                        elif isinstance(o, m.Str):
                            for r in refs:
                                words[r].add(o.value)
                        elif isinstance(o, m.SkillRef) and o.name in words:
                            words[o.name] |= skills
                    if len(refs) == 2:
                        links.append((refs[0], refs[1]))
        for _ in range(len(links)):
            for a, b in links:
                merged = nums[a] | nums[b]
                nums[a], nums[b] = set(merged), set(merged)
        linked = {n for pair in links for n in pair}
        for n in linked:  # two fields compared need values on both sides of each other, not only of constants
            base = nums[n] | {0.0}
            nums[n] = base | {x + d for x in base for d in (-1.0, 1.0)}
        return {f.name: self._field_values(f, nums[f.name], words[f.name]) for f in self.policy.fields}

    def _field_values(self, f: m.LeadField, nums: set[float], words: set[str]) -> list:
        kind = f.type.kind
        out: list = []
        if f.has_default and f.default is not None:
            out.append(f.default)
        if kind == "int":
            pts = {0}
            for c in nums:
                lo, hi = math.floor(c), math.ceil(c)
                pts |= {lo - 1, lo, hi, hi + 1}
            out += sorted(pts)
        elif kind == "number":
            cs = sorted(nums)
            pts = {0.0} | {c + d for c in cs for d in (-1.0, 0.0, 1.0)}
            pts |= {(a + b) / 2 for a, b in zip(cs, cs[1:])}
            out += [int(x) if float(x).is_integer() else x for x in sorted(pts)]
        elif kind == "bool":
            out += [False, True]
        elif kind == "enum":
            out += list(f.type.words)
        elif kind == "text":
            fresh = "other"
            while fresh in words:
                fresh += "_"
            out += sorted(words) + [fresh]
        elif kind == "rep":
            names = [r.name for r in self.ctx.team_reps]
            named = [n for n in names if n in words]
            others = [n for n in names if n not in words][:1]
            out += named + others
        if f.optional and not f.has_default:
            out.append(None)
        seen: list = []
        keys: set = set()
        for v in out:  # 1 and 1.0 and True stay apart: each is a value of its own type
            if (type(v), v) not in keys:
                keys.add((type(v), v))
                seen.append(v)
        return seen

    def exact(self, fields: Iterable[str]) -> bool:
        """Whether `assignments(fields)` would be complete: asked first, so a check that needs
        exactness never builds a capped enumeration it would throw away."""
        names = set(fields) & set(self.values)
        return math.prod(len(self.values[n]) for n in names) <= MAX_ASSIGNMENTS if names else True

    def assignments(self, fields: Iterable[str]) -> tuple[list[dict], bool]:
        """Every combination of representative values of `fields` (capped), and whether it is complete.

        The last few enumerations are kept (callers only read them): the checks of a
        policy with many exceptions over the same fields ask for the same one again and
        again, and rebuilding it each time made checking grow with the square of the file.
        """
        names = tuple(sorted(set(fields) & set(self.values)))
        hit = self._enumerations.get(names)
        if hit is not None:
            return hit
        pools = [self.values[n] for n in names]
        size = math.prod(len(p) for p in pools) if pools else 1
        combos = itertools.islice(itertools.product(*pools), MAX_ASSIGNMENTS)
        out = [dict(zip(names, vs)) for vs in combos], size <= MAX_ASSIGNMENTS
        if len(self._enumerations) >= 8:
            self._enumerations.pop(next(iter(self._enumerations)))
        self._enumerations[names] = out
        return out

    @cached_property
    def _enumerations(self) -> dict[tuple[str, ...], tuple[list[dict], bool]]:
        return {}

    def lead_fn(self, c: m.Cond) -> Callable[[dict], bool]:
        """The compiled test of a condition of this policy, built once per condition (by identity:
        the policy holds every condition for as long as the analysis lives)."""
        fn = self._lead_fns.get(id(c))
        if fn is None:
            fn = self._lead_fns[id(c)] = self.compiled._lead_fn(c)
        return fn

    @cached_property
    def _lead_fns(self) -> dict[int, Callable[[dict], bool]]:
        return {}

    # ------------------------------------------------------------ full leads and decisions
    def complete(self, partial: dict) -> dict:
        """A full valid lead: `partial`, then each required field's first representative value."""
        lead: dict = {}
        for f in self.policy.fields:
            if f.name in partial:
                if partial[f.name] is None and not f.has_default:
                    continue  # missing: left out
                lead[f.name] = partial[f.name]
            elif f.has_default or f.optional:
                continue
            elif f.name == "id":
                lead[f.name] = "L-check"
            else:
                lead[f.name] = self.values[f.name][0]
        return lead

    def decide(self, lead: dict):
        return decide(self.compiled, lead, State(), SEED, lottery=False, trace=True)

    def find(self, partials: Iterable[dict], ok: Callable[[Any], bool], limit: int = 400) -> dict | None:
        """The first completed partial lead whose decision passes `ok`; exception fields are varied too."""
        free = sorted({n for e in self.policy.exceptions for n in _fields_of(e.when)})
        tried = 0
        for partial in partials:
            variants, _ = self.assignments([n for n in free if n not in partial])
            for v in [{}] + variants[:50]:
                lead = self.complete({**v, **partial})
                tried += 1
                try:
                    d = self.decide(lead)
                except LeadError:  # a value the schema refuses: try the next one
                    continue
                if ok(d):
                    return lead
                if tried >= limit:
                    return None
        return None

    # ------------------------------------------------------------ scores
    @cached_property
    def score_components(self) -> list[list[int]]:
        """Score blocks grouped by shared fields (blocks in different groups vary independently)."""
        blocks = list(range(len(self.policy.scores)))
        fields = [set().union(*(_fields_of(line.cond) for line in s.lines)) if s.lines else set() for s in self.policy.scores]
        parent = list(blocks)

        def root(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for i in blocks:
            for j in blocks[:i]:
                if fields[i] & fields[j]:
                    parent[root(i)] = root(j)
        groups: dict[int, list[int]] = {}
        for i in blocks:
            groups.setdefault(root(i), []).append(i)
        return list(groups.values())

    @property
    def score_table(self) -> dict:
        """Lines fired, conditions held and reachable totals: computed by `analyze.Analysis`."""
        raise NotImplementedError

    @property
    def reachable(self) -> dict[int, dict]:
        """Each reachable total with an assignment that scores it."""
        return self.score_table["reachable"]

    def tier_of(self, total: int) -> int | None:
        return self.compiled.tier_by_total.get(total)

    def score_partials(self, tier: str) -> list[dict]:
        return [a for t, a in self.reachable.items() if (ti := self.tier_of(t)) is not None and self.policy.tiers[ti].name == tier]
