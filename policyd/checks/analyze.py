"""Exact analysis of a checked policy: gaps, overlaps, dead rules, impossible routes.

Why it can be exact: scores are small integer sums of per-block points, enum fields
are finite word sets, and the team is finite. Every condition compares a field with
constants, so a field only needs a handful of representative values (each constant,
its neighbours, every word, a fresh text, missing for an optional field) to meet
every distinct truth value of every condition. The analysis enumerates those values
(score blocks that share no field are enumerated apart and their totals added as
sets), and evaluates them with the compiled policy itself, so it cannot disagree
with `decide`.

Every claim about leads carries a counterexample: a full valid lead, checked here
with `Compiled.decide` before it is reported, stored in `Diagnostic.extra
["counterexample"]` and shown in the hint. A claim that no lead does something
("can never fire") is only made when the enumeration was complete.

The checks run only on a policy without errors (names and types are sound), from
`check.check_policy`; each is a small named function in `ANALYSES`, in order.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..engine.availability import available
from ..engine.codegen import Compiled, compile_policy
from ..engine.decide import decide
from ..engine.schema import LeadError
from ..engine.state import State
from ..engine.trace import Empty
from ..lang import model as m
from ..lang.diagnostics import ERROR, NOTE, WARNING, Diagnostic
from .context import Context

MAX_ASSIGNMENTS = 20_000  # per enumeration; beyond it the analysis says nothing it cannot show
MAX_CONDITIONAL_STEPS = 5
MAX_SCORE_DIMENSIONS = 10
SEED = "policyd-check"


# ---------------------------------------------------------------- small helpers
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


def _src(policy: m.Policy, span: m.Span) -> str:
    """The text of a span as written (its first line when it spans several)."""
    line = policy.source_line(span)
    if not line:
        return ""
    end = span.end_col - 1 if span.end_line == span.line and span.end_col > span.col else len(line)
    return line[span.col - 1 : end].strip()


def _scores(totals: Iterable[int]) -> str:
    """`13`, `9 and 10`, `1..3 and 13`: a set of totals in words."""
    ts = sorted(set(totals))
    runs: list[str] = []
    i = 0
    while i < len(ts):
        j = i
        while j + 1 < len(ts) and ts[j + 1] == ts[j] + 1:
            j += 1
        if j - i >= 2:
            runs.append(f"{ts[i]}..{ts[j]}")
        else:
            runs.extend(str(t) for t in ts[i : j + 1])
        i = j + 1
    if len(runs) == 1:
        return runs[0]
    return ", ".join(runs[:-1]) + " and " + runs[-1]


def _plural(totals: Iterable[int]) -> str:
    ts = set(totals)
    return ("score " if len(ts) == 1 else "scores ") + _scores(ts)


def _show(lead: dict) -> str:
    return json.dumps(lead, ensure_ascii=False)


def _diag(code: str, severity: str, span: m.Span, message: str, hint: str | None = None, lead: dict | None = None) -> Diagnostic:
    extra = {"counterexample": lead} if lead is not None else {}
    return Diagnostic(code, severity, span, message, hint, extra)


# ---------------------------------------------------------------- the lead space
@dataclass
class Analysis:
    """What every analysis shares: the compiled policy and the representative lead values."""

    ctx: Context

    @property
    def policy(self) -> m.Policy:
        return self.ctx.policy

    @cached_property
    def compiled(self) -> Compiled:
        return compile_policy(self.policy)

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
        for v in out:
            if not any(v == s and type(v) is type(s) for s in seen):
                seen.append(v)
        return seen

    def assignments(self, fields: Iterable[str]) -> tuple[list[dict], bool]:
        """Every combination of representative values of `fields` (capped), and whether it is complete."""
        names = sorted(set(fields) & set(self.values))
        pools = [self.values[n] for n in names]
        size = math.prod(len(p) for p in pools) if pools else 1
        combos = itertools.islice(itertools.product(*pools), MAX_ASSIGNMENTS)
        return [dict(zip(names, vs)) for vs in combos], size <= MAX_ASSIGNMENTS

    def lead_fn(self, c: m.Cond) -> Callable[[dict], bool]:
        return self.compiled._lead_fn(c)

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

    @cached_property
    def score_table(self) -> dict:
        """Per block: the line each assignment fires (first witness per line), per group: totals.

        The line that fires is the compiled scoring's own answer (`score_fn`), so the
        analysis cannot score a lead differently from `decide`.
        """
        c = self.compiled
        blocks = self.policy.scores
        fired: dict[tuple[int, int], dict] = {}  # (block, line) -> first assignment firing it
        holds: dict[tuple[int, int], tuple[dict, int]] = {}  # (block, line) -> assignment where its cond holds, line fired
        earlier: dict[tuple[int, int], set[int]] = {}
        group_totals: list[dict[int, dict]] = []
        exact = True
        base = {f.name: (self.values[f.name] or [None])[0] for f in self.policy.fields}  # other groups' fields: any value
        for group in self.score_components:
            fields = set().union(*(_fields_of(line.cond) for b in group for line in blocks[b].lines))
            assigns, complete = self.assignments(fields)
            exact = exact and complete
            totals: dict[int, dict] = {}
            for a in assigns:
                _, lines = c.score_fn({**base, **a})
                total = 0
                for b in group:
                    line_fired = lines[b]
                    fired.setdefault((b, line_fired), a)
                    if line_fired < 0:
                        continue
                    total += c.score_points[b][line_fired]
                    for li in range(line_fired + 1, len(blocks[b].lines)):
                        if blocks[b].lines[li].cond is not None and c.line_test(b, li)(a):
                            holds.setdefault((b, li), (a, line_fired))
                            earlier.setdefault((b, li), set()).add(line_fired)
                totals.setdefault(total, a)
            group_totals.append(totals)
        reachable: dict[int, dict] = {0: {}}
        for totals in group_totals:
            nxt: dict[int, dict] = {}
            for t0, a0 in reachable.items():
                for t1, a1 in totals.items():
                    nxt.setdefault(t0 + t1, {**a0, **a1})
            reachable = nxt
        return {"fired": fired, "holds": holds, "earlier": earlier, "reachable": dict(sorted(reachable.items())), "exact": exact}

    @property
    def reachable(self) -> dict[int, dict]:
        """Each reachable total with an assignment that scores it."""
        return self.score_table["reachable"]

    def tier_of(self, total: int) -> int | None:
        return self.compiled.tier_by_total.get(total)

    def score_partials(self, tier: str) -> list[dict]:
        return [a for t, a in self.reachable.items() if (ti := self.tier_of(t)) is not None and self.policy.tiers[ti].name == tier]

    # ------------------------------------------------------------ reps
    @cached_property
    def available(self) -> list[int]:
        """The reps available when nobody has an open lead or is away."""
        c = self.compiled
        return available(c, list(c.zeros), frozenset())

    def state_samples(self) -> list[tuple[list, list]]:
        caps = self.compiled.capacity
        return [
            ([0] * len(caps), [0.0] * len(caps)),
            ([max(c - 1, 0) for c in caps], [1.0] * len(caps)),
            ([c // 2 for c in caps], [0.5] * len(caps)),
        ]


Analyzer = Callable[[Analysis], Iterable[Diagnostic]]


# ---------------------------------------------------------------- tiers
def tier_gaps(a: Analysis) -> Iterator[Diagnostic]:
    """A001: reachable totals in no tier (those leads are queued `unassigned`)."""
    if not a.policy.tiers:
        return
    gaps = [t for t in a.reachable if a.tier_of(t) is None]
    if not gaps:
        return
    first = gaps[0]
    lead = a.find([a.reachable[first]], lambda d: d.total == first and d.tier is None and d.queue == "unassigned")
    reach = _scores(a.reachable)
    where = f"this lead scores {first} and is queued `unassigned`: {_show(lead)}" if lead else f"a lead can score {first}"
    yield _diag(
        "A001",
        ERROR,
        a.policy.tiers[0].span,
        f"{_plural(gaps)} can be reached but {'is' if len(gaps) == 1 else 'are'} in no tier",
        f"reachable totals: {reach}; {where}",
        lead,
    )


def tier_overlaps(a: Analysis) -> Iterator[Diagnostic]:
    """A002: reachable totals in two tiers (the first tier in file order takes them)."""
    tiers = a.policy.tiers
    for j, tj in enumerate(tiers):
        for ti in tiers[:j]:
            both = [t for t in a.reachable if ti.low <= t <= ti.high and tj.low <= t <= tj.high]
            if not both:
                continue
            t0 = both[0]
            first = tiers[a.tier_of(t0)].name
            lead = a.find([a.reachable[t0]], lambda d, t0=t0, first=first: d.total == t0 and d.tier == first)
            yield _diag(
                "A002",
                WARNING,
                tj.span,
                f"{_plural(both)} {'is' if len(both) == 1 else 'are'} in both {ti.name} and {tj.name}",
                f"the first tier in file order wins, so such leads go to {first}"
                + (f"; for example this lead scores {t0}: {_show(lead)}" if lead else ""),
                lead,
            )


def tier_unreachable(a: Analysis) -> Iterator[Diagnostic]:
    """A003: a tier no reachable total selects."""
    if not a.score_table["exact"]:
        return
    reach = _scores(a.reachable)
    for ti, t in enumerate(a.policy.tiers):
        if t.low > t.high:
            continue
        inside = [x for x in a.reachable if t.low <= x <= t.high]
        if any(a.tier_of(x) == ti for x in inside):
            continue
        if not inside:
            msg = f"tier `{t.name}` ({t.low}..{t.high}) can never be reached: leads score {reach}"
        else:
            msg = f"tier `{t.name}` is never chosen: its {_plural(inside)} {'is' if len(inside) == 1 else 'are'} taken by earlier tiers"
        yield _diag("A003", WARNING, t.span, msg, "change its range or remove it (and its route)")


# ---------------------------------------------------------------- score lines
def score_dead_lines(a: Analysis) -> Iterator[Diagnostic]:
    """A004: a `when` line that never fires: an earlier line catches every lead it matches, or it never holds."""
    if not a.score_table["exact"]:
        return
    table = a.score_table
    for b, s in enumerate(a.policy.scores):
        for li, line in enumerate(s.lines):
            if line.cond is None or (b, li) in table["fired"]:
                continue
            text = _src(a.policy, line.span) or f"line {li + 1}"
            if (b, li) not in table["holds"]:
                yield _diag("A004", WARNING, line.span, f"`{text}` can never fire: its condition never holds", "remove the line")
                continue
            assign, fired = table["holds"][(b, li)]
            lines = sorted(table["earlier"][(b, li)])
            by = " and ".join(f"line {s.lines[i].span.line} (`{_src(a.policy, s.lines[i].span)}`)" for i in lines)
            fn = a.lead_fn(line.cond)
            lead = a.find([assign], lambda d, b=b, li=li, fn=fn: d.score_lines[b] < li and fn(d.lead))
            hint = "remove it or move it above the line that covers it"
            if lead:
                hint += f"; for example this lead matches it but scores by line {s.lines[fired].span.line}: {_show(lead)}"
            yield _diag(
                "A004",
                WARNING,
                line.span,
                f"`{text}` can never fire: {by} already {'matches' if len(lines) == 1 else 'match'} every lead it would match",
                hint,
                lead,
            )


def score_without_otherwise(a: Analysis) -> Iterator[Diagnostic]:
    """A005: a score block with no `otherwise` line."""
    for b, s in enumerate(a.policy.scores):
        if any(line.cond is None for line in s.lines):
            continue
        partial = a.score_table["fired"].get((b, -1))
        lead = a.find([partial], lambda d, b=b: d.score_lines[b] == -1) if partial is not None else None
        if lead:
            hint = f"add `N otherwise`; this lead matches no line and scores 0 here: {_show(lead)}"
        else:
            hint = "add `N otherwise` so that a lead no line matches does not score 0 silently"
        yield _diag("A005", WARNING, s.span, f"score `{s.name}` has no `otherwise` line", hint, lead)


# ---------------------------------------------------------------- exceptions
def _decisive(e: m.Exception_) -> bool:
    """An exception that places every lead its `when` lets in (it never falls through)."""
    return any(isinstance(s, (m.QueueAction, m.OtherwiseQueue, m.OtherwiseRoute)) for s in e.steps)


def _when_holds(a: Analysis, e: m.Exception_) -> Callable[[dict], bool]:
    return a.lead_fn(e.when)


def exception_never_applies(a: Analysis) -> Iterator[Diagnostic]:
    """A006: an exception whose `when` never holds, or whose leads all go to an earlier exception."""
    excs = a.policy.exceptions
    for i, e in enumerate(excs):
        fn = _when_holds(a, e)
        earlier = [x for x in excs[:i] if _decisive(x)]
        fields = _fields_of(e.when).union(*(_fields_of(x.when) for x in earlier))
        assigns, exact = a.assignments(fields)
        if not exact:
            continue
        hits = [x for x in assigns if fn(x)]
        if not hits:
            yield _diag(
                "A006", WARNING, e.span, f"exception `{e.name}` can never apply: its `when` never holds", "fix or remove the condition"
            )
            continue
        efns = [(x, _when_holds(a, x)) for x in earlier]
        if all(any(f(h) for _, f in efns) for h in hits):
            names = sorted({x.name for h in hits for x, f in efns if f(h)}, key=[x.name for x in excs].index)
            first = names[0]
            partials = [h for h in hits if efns and next(x for x, f in efns if f(h)).name == first]
            lead = a.find(partials, lambda d, fn=fn, first=first: d.exception == first and fn(d.lead))
            shown = " and ".join(f"`{n}`" for n in names)
            hint = f"move it above {shown}, or narrow {'its' if len(names) == 1 else 'their'} `when`"
            if lead:
                hint += f"; for example this lead matches it but is placed by `{first}`: {_show(lead)}"
            yield _diag(
                "A006",
                WARNING,
                e.span,
                f"exception `{e.name}` can never apply: every lead it matches is placed by {' or '.join(f'`{n}`' for n in names)} first",
                hint,
                lead,
            )


def exception_overlaps(a: Analysis) -> Iterator[Diagnostic]:
    """A007: two exceptions that always place their leads, both match a lead, and place it differently.

    Only when both are decisive (`queue`, or an `otherwise`): then the file order silently
    decides between two final rules. An exception that can fall through (`assign`, a
    `require` with no `otherwise`) is written to be tried in order, as is a filter in front
    of one (the reference's `named_account` before `strategic`), so that is not reported.
    """
    excs = a.policy.exceptions
    for j, ej in enumerate(excs):
        fj = _when_holds(a, ej)
        for ei in excs[:j]:
            if not (_decisive(ei) and _decisive(ej)) or ei.steps == ej.steps:
                continue
            fi = _when_holds(a, ei)
            assigns, _ = a.assignments(_fields_of(ei.when) | _fields_of(ej.when))
            both = [x for x in assigns if fi(x) and fj(x)]
            only_j = any(fj(x) and not fi(x) for x in assigns)
            if not both or not only_j:  # not only_j: wholly shadowed, reported as A006
                continue
            lead = a.find(both, lambda d, fj=fj, ei=ei: d.exception == ei.name and fj(d.lead))
            if lead is None:
                continue
            yield _diag(
                "A007",
                WARNING,
                ej.span,
                f"exceptions `{ei.name}` and `{ej.name}` overlap with different outcomes; `{ei.name}` (line {ei.span.line}) takes the leads both match",
                f"narrow one `when` or merge them; for example this lead matches both and is placed by `{ei.name}`: {_show(lead)}",
                lead,
            )


# ---------------------------------------------------------------- routes
def _pipes(p: m.Policy) -> list[tuple[str, str, m.Route | m.Exception_]]:
    return [("route", r.tier, r) for r in p.routes] + [("exception", e.name, e) for e in p.exceptions]


def _rep_fields(steps: Sequence[m.Step]) -> set[str]:
    out: set[str] = set()
    for s in steps:
        if isinstance(s, m.Require):
            out |= _fields_of(s.cond)
    return out


def _lead_field_names(a: Analysis, fields: set[str]) -> set[str]:
    return {f for f in fields if f in a.values}


def _unmeetable(a: Analysis, req: m.Require) -> bool:
    fn = a.compiled.rep_filter(req.cond)
    assigns, exact = a.assignments(_lead_field_names(a, _fields_of(req.cond)))
    if not exact or not a.available:
        return False
    for lead in assigns:
        for O, Q in a.state_samples():
            if fn(lead, O, Q, list(range(len(a.compiled.rep_names)))):
                return False
    return True


def require_unmeetable(a: Analysis) -> Iterator[Diagnostic]:
    """A008: a `require` that no rep in the team meets, for any lead and any load."""
    for kind, name, pipe in _pipes(a.policy):
        for s in pipe.steps:
            if isinstance(s, m.Require) and _unmeetable(a, s):
                text = _src(a.policy, s.span) or "require"
                yield _diag(
                    "A008",
                    ERROR,
                    s.span,
                    f"no rep in the team can meet `{text}` in {kind} `{name}`",
                    "check the skill levels, levels and languages it names against the team",
                )


def route_empty(a: Analysis) -> Iterator[Diagnostic]:
    """A009: a route left with no candidate for some lead even when every rep is available."""
    c = a.compiled
    for route in a.policy.routes:
        reqs = [s for s in route.steps if isinstance(s, m.Require)]
        if not reqs or any(_unmeetable(a, r) for r in reqs) or not a.available:
            continue
        fns = [c.rep_filter(r.cond) for r in reqs]
        O, Q = a.state_samples()[0]
        assigns, _ = a.assignments(_lead_field_names(a, _rep_fields(route.steps)))
        empty = []
        for lead in assigns:
            cands = list(a.available)
            for fn in fns:
                cands = fn(lead, O, Q, cands)
                if not cands:
                    break
            if not cands:
                empty.append(lead)
        if not empty:
            continue
        key = f"route:{route.tier}"
        otherwise = next((s for s in route.steps if isinstance(s, (m.OtherwiseRoute, m.OtherwiseQueue))), None)
        scores = a.score_partials(route.tier)

        def partials(empty=empty, scores=scores):
            for e in empty[:20]:
                for s in scores[:20]:
                    yield {**s, **e}
                    yield {**e, **s}

        def reached(d, route=route, key=key):
            return d.tier == route.tier and d.exception is None and Empty(key) in d.trace

        lost = a.find(partials(), lambda d: reached(d) and d.rep is None and d.queue == "unassigned")
        caught = None if lost or otherwise is None else a.find(partials(), lambda d: reached(d) and d.queue != "unassigned")
        lead = lost or caught
        if lead is None:
            continue
        shown = ", ".join(f"{k} {json.dumps(lead.get(k))}" for k in sorted(_lead_field_names(a, _rep_fields(route.steps))))
        head = f"route `{route.tier}` has no candidate for some leads ({shown}) even when every rep is available"
        if otherwise is None:
            yield _diag(
                "A009",
                ERROR,
                route.span,
                f"{head}; they end `unassigned`",
                f"add `otherwise route TIER` or `otherwise queue NAME`, or loosen the `require`; for example: {_show(lead)}",
                lead,
            )
            continue
        where = f"otherwise route {otherwise.tier}" if isinstance(otherwise, m.OtherwiseRoute) else f"otherwise queue {otherwise.queue}"
        if lost:
            yield _diag(
                "A009",
                ERROR,
                route.span,
                f"{head}; `{where}` does not place them either, so they end `unassigned`",
                f"end the chain with `otherwise queue NAME`; for example: {_show(lead)}",
                lead,
            )
        else:
            yield _diag("A009", NOTE, route.span, f"{head}; `{where}` takes them", f"for example: {_show(lead)}", lead)


def route_cycles(a: Analysis) -> Iterator[Diagnostic]:
    """A010: routes whose `otherwise route` steps lead back to themselves."""
    nxt: dict[str, tuple[str, m.Span]] = {}
    for r in a.policy.routes:
        for s in r.steps:
            if isinstance(s, m.OtherwiseRoute):
                nxt.setdefault(r.tier, (s.tier, s.span))
    reported: set[frozenset] = set()
    for start in [r.tier for r in a.policy.routes]:
        path = [start]
        while path[-1] in nxt:
            target = nxt[path[-1]][0]
            if target in path:
                cycle = path[path.index(target) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    shown = " -> ".join(cycle + [target])
                    yield _diag(
                        "A010",
                        ERROR,
                        nxt[cycle[-1]][1],
                        f"`otherwise route` cycle: {shown}",
                        "a lead no route in the cycle can place ends `unassigned`; end the chain with `otherwise queue NAME`",
                    )
                break
            path.append(target)


def unknown_languages(a: Analysis) -> Iterator[Diagnostic]:
    """A011: a language named literally in `speaks` that no rep speaks (skills and levels: N005, N003)."""
    spoken = {lang for r in a.ctx.team_reps for lang in r.speaks}
    for _kind, _name, pipe in _pipes(a.policy):
        for s in pipe.steps:
            conds = [s.cond] if isinstance(s, m.Require) else list(s.options) if isinstance(s, m.Prefer) else []
            for cond in conds:
                for c in _walk(cond):
                    if isinstance(c, m.Speaks) and (c.literal or c.name not in a.values) and c.name not in spoken:
                        yield _diag(
                            "A011",
                            WARNING,
                            c.span,
                            f"no rep speaks `{c.name}`; languages in the team: {', '.join(sorted(spoken)) or 'none'}",
                            "add it to a rep's `speaks` or fix the word",
                        )


# ---------------------------------------------------------------- complexity
def complexity(a: Analysis) -> Iterator[Diagnostic]:
    """A012, A013: sales-ops rules of thumb; beyond them managers stop applying rules correctly."""
    for kind, name, pipe in _pipes(a.policy):
        n = sum(1 for s in pipe.steps if isinstance(s, (m.Require, m.Prefer)))
        if n > MAX_CONDITIONAL_STEPS:
            yield _diag(
                "A012",
                WARNING,
                pipe.span,
                f"{kind} `{name}` has {n} conditional steps (more than {MAX_CONDITIONAL_STEPS})",
                "merge requirements with `and`, or split the tier",
            )
    scores = a.policy.scores
    if len(scores) > MAX_SCORE_DIMENSIONS:
        yield _diag(
            "A013",
            WARNING,
            scores[MAX_SCORE_DIMENSIONS].span,
            f"{len(scores)} score dimensions (more than {MAX_SCORE_DIMENSIONS})",
            "merge related dimensions; beyond ten, people stop applying the score correctly",
        )


ANALYSES: list[Analyzer] = [
    tier_gaps,
    tier_overlaps,
    tier_unreachable,
    score_dead_lines,
    score_without_otherwise,
    exception_never_applies,
    exception_overlaps,
    require_unmeetable,
    route_empty,
    route_cycles,
    unknown_languages,
    complexity,
]


def analyze(ctx: Context) -> list[Diagnostic]:
    """Every analysis diagnostic for a policy that has no name or type errors."""
    a = Analysis(ctx)
    out: list[Diagnostic] = []
    for check in ANALYSES:
        out.extend(check(a))
    return out


__all__ = ["ANALYSES", "Analysis", "analyze"]
